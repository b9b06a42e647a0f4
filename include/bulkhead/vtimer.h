/*
 * Guest timers. The virtual timer (CNTV_*) belongs to the guest outright: each physical CPU runs
 * one vCPU, so its registers stay live and its interrupt is hardware-linked to the guest's.
 * The EL1 physical timer (CNTP_*) is trapped and emulated on EL2's own physical timer (CNTHP_*).
 * The emulation's arithmetic is pure and host-tested.
 */
#ifndef BULKHEAD_VTIMER_H
#define BULKHEAD_VTIMER_H

#include "vgic.h"

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

/* The guest's timer interrupts, as the board's DT numbers its PPIs (a guest sees the numbers
 * it expects). Set once at boot, before any VM is created. */
/* hw_deactivation: the guest's EOI of the virtual timer interrupt may deactivate the physical
 * one in hardware (else the hypervisor does it, told by an EOI maintenance interrupt). */
void vtimer_init(unsigned virt_ppi, unsigned phys_ppi, bool hw_deactivation);
/* INTID of the virtual timer: asked on every physical interrupt, so read inline. */
extern unsigned vtimer_virt_intid;
static inline unsigned vtimer_virq(void)
{
    return vtimer_virt_intid;
}
unsigned ptimer_virq(void); /* INTID of the EL1 physical timer */
bool vtimer_hw_deactivation(void);

/* One vCPU's timers: the emulated physical timer and where its interrupt goes. */
struct vtimer {
    struct ptimer ptimer;
    struct vgic_dist *vgic;
    unsigned vcpu;     /* index of the vCPU in its VM */
    struct virq *virq; /* the virtual timer's interrupt, in the vCPU's vGIC state */
    /* A deadline of the hypervisor's own on this CPU that CNTHP must also meet (the VM's
     * devices' deadline, on its vCPU 0: el2/vm.c), read atomically; NULL or UINT64_MAX: none.
     * resync: another CPU moved it, and the kick that brought it here asks for a reprogram. */
    const uint64_t *hyp_deadline;
    volatile bool resync;
};

/* Hypervisor side (vtimer/vtimer_hw.c), on the vCPU's own physical CPU. */
/* After vgic_cpu_init() of the vCPU and vtimer_init(). */
void vtimer_init_vcpu(struct vtimer *t, struct vgic_dist *vgic, unsigned vcpu);
/* At the vCPU's (re)start: the physical timer off, the virtual timer's interrupt
 * hardware-linked (the vGIC must have been reset first). */
void vtimer_reset(struct vtimer *t);
/* A trapped CNTP_* access; false if encoding is not one. */
bool vtimer_handle_sysreg(struct vtimer *t, uint32_t encoding, bool read, uint64_t *val);
/* The physical virtual-timer interrupt of the vCPU's CPU fired (acknowledged, its priority
 * dropped): the guest's is pending, linked to it (vgic_inject_linked_private()). */
static inline void vtimer_fired(struct vtimer *t)
{
    vgic_inject_linked_private(t->vgic, t->vcpu, t->virq);
}
/* After an exit's vgic_sync: a virtual timer interrupt the guest has not taken is withdrawn if
 * the timer no longer asserts it (the guest disabled, masked or reprogrammed it meanwhile), as
 * a level-sensitive line requires. Only one injected from the physical interrupt, whose
 * physical interrupt is still active, can be in that state: most exits, the timer's own
 * included, find it is not (the guest completed it, or none was injected), told inline
 * without the lock; the vGIC rechecks under it. */
void vtimer_resample_line(struct vtimer *t, const struct vgic_hw_ops *hw);
static inline void vtimer_resample(struct vtimer *t, const struct vgic_hw_ops *hw)
{
    if (__atomic_load_n(&t->virq->phys_active, __ATOMIC_RELAXED)) {
        vtimer_resample_line(t, hw);
    }
}
/* Reprograms CNTHP and the guest's line: after a CNTP_* write and when CNTHP fires. CNTHP is
 * set for the earlier of the emulated timer's expiry and *hyp_deadline. */
void vtimer_ptimer_sync(struct vtimer *t);
/* EL2's physical timer (CNTHP) of the calling CPU set for deadline (UINT64_MAX: off). */
void vtimer_program_hyp(uint64_t deadline);
/* The earliest of the emulated physical timer's next expiry and *hyp_deadline, at counter
 * value now; UINT64_MAX: none. */
uint64_t vtimer_ptimer_deadline(const struct vtimer *vt, uint64_t now);
/* The vCPU starts from its reset: its emulated physical timer is off (CNTHP then serves only
 * *hyp_deadline). */
void vtimer_ptimer_reset(struct vtimer *t);

#endif
