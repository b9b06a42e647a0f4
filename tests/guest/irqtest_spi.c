/* irqtest: an SPI (the UART's TX interrupt) routed to either CPU (spi_routing). */
#include "irqtest.h"

void uart_tx_unmask(void)
{
    mmio_write32(guest.uart + PL011_IMSC, mmio_read32(guest.uart + PL011_IMSC) | PL011_TXIM);
}

void uart_tx_mask_action(unsigned cpu, unsigned intid)
{
    (void)cpu;
    (void)intid;
    mmio_write32(guest.uart + PL011_IMSC, mmio_read32(guest.uart + PL011_IMSC) & ~PL011_TXIM);
}

/* Unmasks the UART's TX interrupt (level: up as long as the TX FIFO is empty and TXIM is set;
 * the handler masks it again) and waits for CPU `to` to take it. Checks that only it did. */
static bool spi_round(const char *name, unsigned to, unsigned other)
{
    unsigned intid = guest.uart_intid;
    char buf[160];

    stats_clear();
    gic_route_spi(intid, to);
    uint64_t route = gic_spi_route(intid);
    uart_tx_unmask();
    if (!wait_count(&stats[to].count[intid], 1, WAIT_MS)) {
        uint32_t ris = mmio_read32(guest.uart + PL011_RIS);
        uint32_t mis = mmio_read32(guest.uart + PL011_MIS);
        bool pend = gic_pending(intid);
        mmio_write32(guest.uart + PL011_IMSC, 0);
        fail(name,
             "routed to CPU %u (%s=0x%lx), INTID %u not taken by it within %u ms; CPU %u "
             "took it %u times (UARTRIS=0x%x UARTMIS=0x%x, %spending)",
             to, gic.version == 2 ? "ITARGETSR" : "IROUTER", (unsigned long)route, intid, WAIT_MS,
             other, stats[other].count[intid], ris, mis, pend ? "" : "not ");
        return false;
    }
    spin_ms(SETTLE_MS);
    const unsigned ok[] = {intid};
    if (stats[to].count[intid] != 1 || stats[other].count[intid]) {
        fail(name,
             "routed to CPU %u (%s=0x%lx): INTID %u taken %u times by CPU %u, %u times "
             "by CPU %u; expected once by CPU %u",
             to, gic.version == 2 ? "ITARGETSR" : "IROUTER", (unsigned long)route, intid,
             stats[to].count[intid], to, stats[other].count[intid], other, to);
        return false;
    }
    if (*unexpected(to, ok, 1, buf, sizeof(buf))) {
        fail(name, "routed to CPU %u: unexpected interrupts on it: %s", to, buf);
        return false;
    }
    if (*unexpected(other, NULL, 0, buf, sizeof(buf))) {
        fail(name, "routed to CPU %u: unexpected interrupts on CPU %u: %s", to, other, buf);
        return false;
    }
    if (mmio_read32(guest.uart + PL011_IMSC) & PL011_TXIM) {
        fail(name, "the handler's write to UARTIMSC did not stick");
        return false;
    }
    return true;
}

/*
 * spi_routing: the PL011's TX interrupt (SPI, INTID 33 on QEMU virt), routed to CPU 1 by
 * ITARGETSR (GICv2) / IROUTER (GICv3), is taken once by CPU 1 and never by CPU 0; re-routed to
 * CPU 0, the other way round.
 */
void check_spi_routing(void)
{
    const char *name = "spi_routing";
    unsigned intid = guest.uart_intid;

    mmio_write32(guest.uart + PL011_IMSC, 0);
    actions[intid] = uart_tx_mask_action;
    gic_set_level(intid, true);
    gic_set_priority(intid, GIC_PRIO_DEFAULT);
    gic_enable(intid, true);
    if (spi_round(name, 1, 0) && spi_round(name, 0, 1)) {
        pass(name);
    }
    mmio_write32(guest.uart + PL011_IMSC, 0);
    gic_enable(intid, false);
    gic_route_spi(intid, 0);
    actions[intid] = NULL;
}
