/* Calls to the board's firmware: PSCI over SMC, for CPU bring-up and machine power-off; on a
 * board without PSCI (the Raspberry Pi), its power-management watchdog for reset and power-off. */
#include "bulkhead/firmware.h"

#include "arch/sysreg.h"
#include "bulkhead/bcm2835_wdt.h"
#include "bulkhead/boot.h"
#include "bulkhead/console.h"
#include "bulkhead/hvcall.h"
#include "bulkhead/mm.h"
#include "bulkhead/printk.h"

/* How long a watchdog reset is given before the hypervisor gives up on it: its 10 ticks are
 * 150 us. */
#define WDT_GRACE_MS 100

static paddr_t bcm2835_pm; /* the BCM2835 PM block, mapped; 0: none */

int64_t firmware_psci(enum psci_conduit conduit, uint32_t fid, uint64_t a1, uint64_t a2,
                      uint64_t a3)
{
    register uint64_t x0 __asm__("x0") = fid;
    register uint64_t x1 __asm__("x1") = a1;
    register uint64_t x2 __asm__("x2") = a2;
    register uint64_t x3 __asm__("x3") = a3;

    /* An HVC conduit at EL2 would call ourselves: only SMC reaches firmware from here. */
    if (conduit != PSCI_CONDUIT_SMC) {
        return PSCI_RET_NOT_SUPPORTED;
    }
    __asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
    return (int64_t)x0;
}

void firmware_init(const void *fdt)
{
    struct mem_range pm;

    /* Only a board whose firmware cannot reset it needs the PM block, and looking for it walks
     * the whole tree once per compatible: a million instructions of boot on QEMU virt. */
    if (board.psci == PSCI_CONDUIT_SMC) {
        return;
    }
    if (bcm2835_wdt_find(fdt, &pm) == 1 &&
        mmu_map_device(ALIGN_DOWN(pm.base, PAGE_SIZE),
                       ALIGN_UP(pm.size + (pm.base & (PAGE_SIZE - 1)), PAGE_SIZE)) == 0) {
        bcm2835_pm = pm.base;
    }
}

/* Resets the chip through the PM watchdog, the firmware then booting partition (0: again, 63:
 * halted). Returns only if the board has no such block or it did not reset. */
static void bcm2835_restart(unsigned partition)
{
    if (!bcm2835_pm) {
        return;
    }
    console_drain(); /* the line that says so */
    bcm2835_wdt_restart(bcm2835_pm, partition);
    uint64_t end = read_cntpct_el0() + read_cntfrq_el0() / 1000 * WDT_GRACE_MS;
    while (read_cntpct_el0() < end) {
    }
    printk("bulkhead: the BCM2835 watchdog at 0x%lx did not reset the machine\n", bcm2835_pm);
}

void machine_reset(void)
{
    console_drain();
    firmware_psci(board.psci, PSCI_0_2_FN_SYSTEM_RESET, 0, 0, 0);
    if (bcm2835_pm) {
        printk("bulkhead: resetting the machine through the BCM2835 watchdog\n");
        bcm2835_restart(BCM2835_PARTITION_BOOT);
    }
    printk("bulkhead: firmware cannot reset the machine: powering off\n");
    machine_power_off();
}

void machine_power_off(void)
{
    console_drain();
    firmware_psci(board.psci, PSCI_0_2_FN_SYSTEM_OFF, 0, 0, 0);
    if (bcm2835_pm) {
        /* As Linux powers a Pi off: a reset into the partition its firmware takes as "halt". */
        printk("bulkhead: powering off through the BCM2835 watchdog (the firmware halts)\n");
        bcm2835_restart(BCM2835_PARTITION_HALT);
    }
    printk("bulkhead: firmware cannot power off: halted (quit QEMU with Ctrl-A X)\n");
    for (;;) {
        wfi();
    }
}
