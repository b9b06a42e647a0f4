/*
 * Guest timers. The virtual timer (CNTV_*) belongs to the guest outright: each physical CPU runs
 * one vCPU, so its registers stay live and its interrupt is hardware-linked to the guest's.
 * The EL1 physical timer (CNTP_*) is trapped and emulated on EL2's own physical timer (CNTHP_*).
 * The emulation's arithmetic is pure and host-tested.
 */
#ifndef BULKHEAD_VTIMER_H
#define BULKHEAD_VTIMER_H

#include "types.h"

#define CNT_CTL_ENABLE BIT(0)
#define CNT_CTL_IMASK BIT(1)
#define CNT_CTL_ISTATUS BIT(2)

struct ptimer {
    uint64_t cval;
    uint32_t ctl; /* ENABLE and IMASK as the guest wrote them */
};

/* The timer condition and the interrupt line, at counter value now. */
bool ptimer_fired(const struct ptimer *t, uint64_t now);
bool ptimer_line(const struct ptimer *t, uint64_t now);

/* Register views at counter value now (TVAL is a signed 32-bit downcounter). */
uint64_t ptimer_read_ctl(const struct ptimer *t, uint64_t now);
uint64_t ptimer_read_tval(const struct ptimer *t, uint64_t now);
void ptimer_write_ctl(struct ptimer *t, uint64_t val);
void ptimer_write_tval(struct ptimer *t, uint64_t val, uint64_t now);

struct vcpu;
/* Hypervisor side (vtimer/vtimer_hw.c). */
bool vtimer_handle_sysreg(struct vcpu *vcpu, uint32_t encoding, bool read, uint64_t *val);
void vtimer_ptimer_sync(struct vcpu *vcpu); /* reprograms CNTHP and the guest's line */

#endif
