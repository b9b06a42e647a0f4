/*
 * The BCM2835 power-management watchdog: see include/bulkhead/bcm2835_wdt.h. Its registers are
 * plain 32-bit words at the base it is given, so host tests hand it memory of their own.
 */
#include "bulkhead/bcm2835_wdt.h"

#include "bulkhead/fdt_read.h"

#define PM_RSTC_WRCFG_CLR 0xffffffcfu
#define PM_RSTC_WRCFG_FULL_RESET 0x20u
#define PM_RSTS_PARTITION_CLR 0xfffffaaau
#define PM_WDOG_TICKS 10u /* ticks of 16 us: soon, but after the writes below have landed */
#define PM_PARTITION_BITS 6

int bcm2835_wdt_find(const void *fdt, struct mem_range *pm)
{
    static const char *const compats[] = {"brcm,bcm2835-pm-wdt", "brcm,bcm2835-pm",
                                          "brcm,bcm2711-pm"};

    for (unsigned i = 0; i < ARRAY_SIZE(compats); i++) {
        for (int node = fdt_node_offset_by_compatible(fdt, -1, compats[i]); node >= 0;
             node = fdt_node_offset_by_compatible(fdt, node, compats[i])) {
            if (!config_node_enabled(fdt, node)) {
                continue;
            }
            int n = config_read_reg(fdt, node, pm, 1);
            if (n > 0 && pm->size >= BCM2835_PM_WDOG + 4) {
                return 1;
            }
            if (n >= 0) {
                config_node_err(fdt, node, "no reg that holds PM_WDOG: cannot reset the machine");
            }
            return -1;
        }
    }
    return 0;
}

uint32_t bcm2835_wdt_rsts(uint32_t rsts, unsigned partition)
{
    uint32_t field = 0;

    for (unsigned bit = 0; bit < PM_PARTITION_BITS; bit++) {
        field |= ((partition >> bit) & 1u) << (2 * bit);
    }
    return (rsts & PM_RSTS_PARTITION_CLR) | field;
}

static inline uint32_t reg_read(paddr_t base, unsigned off)
{
    return ((volatile uint32_t *)(uintptr_t)base)[off / 4];
}

static inline void reg_write(paddr_t base, unsigned off, uint32_t v)
{
    ((volatile uint32_t *)(uintptr_t)base)[off / 4] = v;
}

void bcm2835_wdt_restart(paddr_t base, unsigned partition)
{
    /* The password is never read back: each value read is stripped of it before the write. */
    uint32_t rsts = bcm2835_wdt_rsts(reg_read(base, BCM2835_PM_RSTS), partition);
    reg_write(base, BCM2835_PM_RSTS, BCM2835_PM_PASSWORD | (rsts & ~0xff000000u));
    reg_write(base, BCM2835_PM_WDOG, BCM2835_PM_PASSWORD | PM_WDOG_TICKS);
    uint32_t rstc =
        (reg_read(base, BCM2835_PM_RSTC) & PM_RSTC_WRCFG_CLR) | PM_RSTC_WRCFG_FULL_RESET;
    reg_write(base, BCM2835_PM_RSTC, BCM2835_PM_PASSWORD | (rstc & ~0xff000000u));
}
