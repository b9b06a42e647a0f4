/* irqtest: mode=isolation, two VMs' interrupts side by side. */
#include "irqtest.h"

#define ISO_SGI_ROUNDS 100
#define ISO_V_PERIOD_MS 2 /* CPU 0's virtual timer */
#define ISO_V_COUNT 100
#define ISO_P_PERIOD_MS 3 /* CPU 1's physical timer */
#define ISO_P_COUNT 60

/* What one VM uses: its SGIs (CPU 0 to 1, 1 to 0, 0 to itself) and where its UART's interrupt
 * goes, how many times. */
struct iso {
    unsigned s01, s10, s00;
    unsigned spi_cpu, spi_rounds;
};

/* Handlers, routing, and the two periodic timers: CPU 0's virtual, CPU 1's physical. */
static void start(const struct iso *v)
{
    stats_clear();
    actions[guest.vtimer_intid] = actions[guest.ptimer_intid] = timer_action;
    actions[guest.uart_intid] = uart_tx_mask_action;
    gic_enable(guest.vtimer_intid, true);
    gic_enable(guest.ptimer_intid, true);
    mmio_write32(guest.uart + PL011_IMSC, 0);
    gic_set_level(guest.uart_intid, true);
    gic_route_spi(guest.uart_intid, v->spi_cpu);
    gic_enable(guest.uart_intid, true);
    if (!remote(1, CMD_TIMER_PERIODIC, PTIMER, ISO_P_PERIOD_MS, ISO_P_COUNT)) {
        fail("isolation_timer", "CPU 1 does not answer");
    }
    timer_periodic(VTIMER, ISO_V_PERIOD_MS, ISO_V_COUNT);
}

/* Round r (from 0) of the three SGIs, each waited for. False (and FAIL) if one did not come. */
static bool sgi_round(const struct iso *v, unsigned r)
{
    gic_send_sgi(v->s01, 1);
    bool ok = wait_count(&stats[1].count[v->s01], r + 1, WAIT_MS);
    ok = ok && remote(1, CMD_SEND_SGI, v->s10, 0, 0);
    ok = ok && wait_count(&stats[0].count[v->s10], r + 1, WAIT_MS);
    gic_send_sgi(v->s00, 0);
    ok = ok && wait_count(&stats[0].count[v->s00], r + 1, WAIT_MS);
    if (!ok) {
        fail("isolation_sgi",
             "round %u: CPU 1 took SGI %u %u times, CPU 0 SGI %u %u times "
             "and SGI %u %u times; expected %u each",
             r + 1, v->s01, stats[1].count[v->s01], v->s10, stats[0].count[v->s10], v->s00,
             stats[0].count[v->s00], r + 1);
    }
    return ok;
}

/* Unmask n (from 1) of the UART's TX interrupt, waited for. False (and FAIL) if it did not
 * come. */
static bool spi_unmask(const struct iso *v, unsigned n)
{
    uart_tx_unmask();
    if (!wait_count(&stats[v->spi_cpu].count[guest.uart_intid], n, WAIT_MS)) {
        fail("isolation_spi", "unmask %u: INTID %u not taken by CPU %u within %u ms", n,
             guest.uart_intid, v->spi_cpu, WAIT_MS);
        return false;
    }
    return true;
}

/* Each CPU took exactly the SGIs this VM sent, and nothing this VM did not cause. */
static void verdict_sgi(const struct iso *v)
{
    const unsigned ok0[] = {v->s10, v->s00, guest.vtimer_intid, guest.uart_intid};
    const unsigned ok1[] = {v->s01, guest.ptimer_intid, guest.uart_intid};
    char buf0[200], buf1[200];

    unexpected(0, ok0, ARRAY_SIZE(ok0), buf0, sizeof(buf0));
    unexpected(1, ok1, ARRAY_SIZE(ok1), buf1, sizeof(buf1));
    if (stats[1].count[v->s01] != ISO_SGI_ROUNDS || stats[0].count[v->s10] != ISO_SGI_ROUNDS ||
        stats[0].count[v->s00] != ISO_SGI_ROUNDS || stats[0].count[v->s01] ||
        stats[1].count[v->s10] || stats[1].count[v->s00]) {
        fail("isolation_sgi",
             "SGI %u: CPU 1 took it %u times, CPU 0 %u; SGI %u: CPU 0 %u, "
             "CPU 1 %u; SGI %u: CPU 0 %u, CPU 1 %u; expected %u on the target, 0 elsewhere",
             v->s01, stats[1].count[v->s01], stats[0].count[v->s01], v->s10, stats[0].count[v->s10],
             stats[1].count[v->s10], v->s00, stats[0].count[v->s00], stats[1].count[v->s00],
             ISO_SGI_ROUNDS);
    } else if (buf0[0] || buf1[0]) {
        fail("isolation_sgi", "interrupts this VM did not cause: CPU 0: %s; CPU 1: %s",
             buf0[0] ? buf0 : "none", buf1[0] ? buf1 : "none");
    } else {
        pass("isolation_sgi");
    }
}

/* Each timer interrupted as often as programmed, only the CPU that programmed it. */
static void verdict_timer(void)
{
    const volatile uint32_t *c0 = stats[0].count, *c1 = stats[1].count;
    unsigned vt = guest.vtimer_intid, pt = guest.ptimer_intid;

    if (c0[vt] != ISO_V_COUNT || c1[pt] != ISO_P_COUNT || c1[vt] || c0[pt]) {
        fail("isolation_timer",
             "CPU 0's vtimer (INTID %u) %u interrupts, CPU 1's ptimer (INTID "
             "%u) %u; expected %u and %u; CPU 1 took INTID %u %u times, CPU 0 INTID %u %u times",
             vt, c0[vt], pt, c1[pt], ISO_V_COUNT, ISO_P_COUNT, vt, c1[vt], pt, c0[pt]);
    } else {
        pass("isolation_timer");
    }
}

/* The UART's interrupt reached only the CPU it was routed to, once per unmask. */
static void verdict_spi(const struct iso *v)
{
    unsigned intid = guest.uart_intid, other_cpu = 1 - v->spi_cpu;
    uint32_t to = stats[v->spi_cpu].count[intid], other = stats[other_cpu].count[intid];

    if (to != v->spi_rounds || other) {
        fail("isolation_spi",
             "INTID %u: CPU %u took it %u times, CPU %u %u times; expected %u "
             "and 0",
             intid, v->spi_cpu, to, other_cpu, other, v->spi_rounds);
    } else {
        pass("isolation_spi");
    }
}

/*
 * Two VMs run this at once, vm=0 and vm=1, each on 2 vCPUs. VM K uses its own SGIs,
 * 1+7K .. 3+7K, and checks that every SGI it takes is one it sent, as many times as it sent it
 * (isolation_sgi); that its timers interrupt exactly as often as it programmed them, on the
 * CPU that programmed them (isolation_timer); and that its UART's TX interrupt reaches the CPU
 * it routed it to (vm0: CPU 1, vm1: CPU 0) exactly as often as it unmasked it (isolation_spi).
 * All three run concurrently, for about ISO_V_COUNT * ISO_V_PERIOD_MS ms.
 */
void isolation(void)
{
    unsigned vm = (unsigned)bootarg_ul("vm", 0) & 1;
    struct iso v = {
        .s01 = 1 + 7 * vm,
        .s10 = 2 + 7 * vm,
        .s00 = 3 + 7 * vm,
        .spi_cpu = vm == 0 ? 1 : 0,
        .spi_rounds = vm == 0 ? 20 : 15,
    };
    bool sgi_ok = true, spi_ok = true;
    unsigned spi_done = 0;

    printf("isolation: vm=%u: SGIs %u (CPU 0 to 1), %u (1 to 0), %u (0 to 0); UART interrupt "
           "to CPU %u\n",
           vm, v.s01, v.s10, v.s00, v.spi_cpu);
    start(&v);
    for (unsigned r = 0; r < ISO_SGI_ROUNDS && sgi_ok; r++) {
        sgi_ok = sgi_round(&v, r);
        /* The UART's interrupt, every few rounds, while SGIs and timers go on. */
        if (spi_done < v.spi_rounds && r % 4 == 0 && spi_ok) {
            spi_ok = spi_unmask(&v, ++spi_done);
        }
    }
    while (spi_ok && spi_done < v.spi_rounds) {
        spi_ok = spi_unmask(&v, ++spi_done);
    }
    /* Let the timers run out. */
    wait_count(&stats[0].count[guest.vtimer_intid], ISO_V_COUNT,
               ISO_V_COUNT * ISO_V_PERIOD_MS + WAIT_MS);
    wait_count(&stats[1].count[guest.ptimer_intid], ISO_P_COUNT,
               ISO_P_COUNT * ISO_P_PERIOD_MS + WAIT_MS);
    spin_ms(5 * SETTLE_MS);
    mmio_write32(guest.uart + PL011_IMSC, 0);

    if (sgi_ok) {
        verdict_sgi(&v);
    }
    verdict_timer();
    if (spi_ok) {
        verdict_spi(&v);
    }
    timer_ctl(VTIMER, 0);
}
