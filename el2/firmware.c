/* Calls to the board's firmware: PSCI over SMC, for CPU bring-up and machine power-off. */
#include "bulkhead/firmware.h"

#include "arch/sysreg.h"
#include "bulkhead/boot.h"
#include "bulkhead/hvcall.h"
#include "bulkhead/printk.h"

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

void machine_reset(void)
{
    firmware_psci(board.psci, PSCI_0_2_FN_SYSTEM_RESET, 0, 0, 0);
    printk("bulkhead: firmware cannot reset the machine: powering off\n");
    machine_power_off();
}

void machine_power_off(void)
{
    firmware_psci(board.psci, PSCI_0_2_FN_SYSTEM_OFF, 0, 0, 0);
    printk("bulkhead: firmware cannot power off: halted (quit QEMU with Ctrl-A X)\n");
    for (;;) {
        wfi();
    }
}
