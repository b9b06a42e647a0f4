/*
 * Fakes of what el2/ files call in other modules, for host tests that link one el2 file at a
 * time with exactly the fakes it needs (TEST_<name>_SRCS in tests/host/host.mk). Each fake file
 * stands for one module's interface:
 *
 *   arch.c   arch/sysreg.h's shadow registers (fake_sysreg), bulkhead/cpu.h's pcpus, and this
 *            file's bookkeeping
 *   sched.c  bulkhead/sched.h: wake, kick, block, and pcpu_schedule(), which does not return
 *   vm.c     bulkhead/vm.h's life-cycle calls (for tests of psci.c and traps.c)
 *   monitor.c bulkhead/monitor.h's hypercall entry (tests of psci.c and traps.c): counts the
 *            calls in fake_monitor_hvc and answers NOT_SUPPORTED
 *   hw.c     what touches hardware elsewhere: the board, the physical GIC, the timer's EL2 side,
 *            ID-register reads, stage 2's creation, firmware power-off, the UART's input
 *
 * Fakes only record what they were asked (in `fake`) and answer what a test put there. Tests call
 * fake_reset() before each case: it zeroes `fake` and `fake_sysreg`.
 */
#ifndef HOST_FAKE_H
#define HOST_FAKE_H

#include <setjmp.h>

#include "arch/sysreg.h"
#include "bulkhead/vm.h"

#define FAKE_MAX_IAR 32

struct fake_state {
    /* bulkhead/sched.h */
    unsigned vcpu_wake, vcpu_kick, vcpu_block, vcpu_hold, pcpu_schedule;
    const struct vcpu *woken, *kicked, *blocked, *held; /* the last of each */

    /* bulkhead/vm.h (fake/vm.c) */
    unsigned vm_stop, vm_power_off, vm_reset, vm_ram_fault;
    struct vm *vm;           /* the VM of the last of those calls */
    const struct vcpu *vcpu; /* its vCPU argument (vm_stop, vm_reset, vm_ram_fault) */
    const char *stop_reason;
    uint64_t stop_esr, stop_far;
    ipa_t ram_fault_ipa;
    uint64_t ram_fault_esr;
    bool ram_fault_answer; /* what vm_ram_fault() returns: "it was RAM, retry" */

    /* bulkhead/gic.h: gic_ack() hands out iar[] in order, then GIC_SPURIOUS. */
    uint32_t iar[FAKE_MAX_IAR];
    unsigned nr_iar, acked, eoi, deactivate, clear_active, vcpu_reset, sgis;
    unsigned last_deactivated, last_cleared;
    struct lr_state lrs[VGIC_MAX_LRS];
    /* gic_spi_*(): the SPI last touched and what was done to it. */
    unsigned spi_intid, spi_pcpu, spi_quiesced, spi_pended;
    bool spi_edge, spi_enabled;

    /* The timer's EL2 side, ID registers, UART input, firmware */
    unsigned vtimer_reset, vtimer_resample, ptimer_sync, console_receive, machine_power_off,
        machine_reset;

    /* stage 2 (s2_create): tables come from a fixed pool; the next allocation fails when
     * tables_fail is set. */
    unsigned tables_used, s2_invalidate;
    bool tables_fail;

    /* Where a fake that does not return goes back to (FAKE_CATCH_NORETURN). */
    jmp_buf *catch_noreturn;
};

extern struct fake_state fake;

void fake_reset(void);

/* Called by the fakes of functions that do not return: jumps back to the FAKE_CATCH_NORETURN
 * around the call, or fails the test if there is none. */
void fake_noreturn(const char *what) NORETURN;

/* Runs stmt; true if it ended in a fake that does not return (pcpu_schedule(),
 * machine_power_off()), false if it completed. */
#define FAKE_CATCH_NORETURN(stmt)                                                                  \
    ({                                                                                             \
        jmp_buf jb_;                                                                               \
        volatile bool caught_ = false;                                                             \
        fake.catch_noreturn = &jb_;                                                                \
        if (setjmp(jb_) == 0) {                                                                    \
            stmt;                                                                                  \
        } else {                                                                                   \
            caught_ = true;                                                                        \
        }                                                                                          \
        fake.catch_noreturn = NULL;                                                                \
        caught_;                                                                                   \
    })

#endif
