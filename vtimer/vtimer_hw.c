/* The trapped EL1 physical timer, backed by EL2's physical timer (CNTHP) on the vCPU's CPU. */
#include "arch/sysreg.h"
#include "bulkhead/cpu.h"
#include "bulkhead/esr.h"
#include "bulkhead/sched.h"
#include "bulkhead/vtimer.h"

#define ENC_CNTP_TVAL SYSREG_ENC(3, 3, 14, 2, 0)
#define ENC_CNTP_CTL SYSREG_ENC(3, 3, 14, 2, 1)
#define ENC_CNTP_CVAL SYSREG_ENC(3, 3, 14, 2, 2)

void vtimer_init_vcpu(struct vtimer *t, struct vgic_dist *vgic, unsigned vcpu)
{
    *t = (struct vtimer){
        .vgic = vgic, .vcpu = vcpu, .virq = vgic_get_irq(vgic, vcpu, vtimer_virq())};
}

void vtimer_reset(struct vtimer *t)
{
    t->ptimer = (struct ptimer){0};
    vgic_link_hw(t->vgic, t->vcpu, vtimer_virq(), vtimer_virq(), !vtimer_hw_deactivation());
}

void vtimer_resample_line(struct vtimer *t, const struct vgic_hw_ops *hw)
{
    uint64_t ctl = read_cntv_ctl_el0();
    uint64_t asserted = CNT_CTL_ENABLE | CNT_CTL_ISTATUS;

    if ((ctl & (asserted | CNT_CTL_IMASK)) != asserted) {
        vgic_retract_linked(t->vgic, t->vcpu, vtimer_virq(), hw);
    }
}

uint64_t vtimer_ptimer_deadline(const struct vtimer *vt, uint64_t now)
{
    const struct ptimer *t = &vt->ptimer;
    uint64_t deadline =
        vt->hyp_deadline ? __atomic_load_n(vt->hyp_deadline, __ATOMIC_ACQUIRE) : UINT64_MAX;

    /* Armed only while a future expiry matters; once the line is up, the guest's own register
     * writes (trapped) are what can lower it. */
    if ((t->ctl & CNT_CTL_ENABLE) && !(t->ctl & CNT_CTL_IMASK) && !ptimer_line(t, now)) {
        deadline = MIN(deadline, t->cval);
    }
    return deadline;
}

void vtimer_ptimer_sync(struct vtimer *vt)
{
    uint64_t now = read_cntpct_el0();

    vgic_set_line(vt->vgic, vt->vcpu, ptimer_virq(), ptimer_line(&vt->ptimer, now));
    if (this_pcpu()->shared) {
        sched_hyp_timer_changed(); /* CNTHP serves every vCPU of the CPU */
        return;
    }
    vtimer_program_hyp(vtimer_ptimer_deadline(vt, now));
}

void vtimer_program_hyp(uint64_t deadline)
{
    if (deadline != UINT64_MAX) {
        write_cnthp_cval_el2(deadline);
        write_cnthp_ctl_el2(CNT_CTL_ENABLE);
    } else {
        write_cnthp_ctl_el2(0);
    }
    isb();
}

void vtimer_ptimer_reset(struct vtimer *vt)
{
    vt->ptimer = (struct ptimer){0};
    vtimer_ptimer_sync(vt);
}

bool vtimer_handle_sysreg(struct vtimer *vt, uint32_t encoding, bool read, uint64_t *val)
{
    struct ptimer *t = &vt->ptimer;
    uint64_t now = read_cntpct_el0();

    switch (encoding) {
    case ENC_CNTP_TVAL:
        if (read) {
            *val = ptimer_read_tval(t, now);
        } else {
            ptimer_write_tval(t, *val, now);
        }
        break;
    case ENC_CNTP_CTL:
        if (read) {
            *val = ptimer_read_ctl(t, now);
        } else {
            ptimer_write_ctl(t, *val);
        }
        break;
    case ENC_CNTP_CVAL:
        if (read) {
            *val = t->cval;
        } else {
            t->cval = *val;
        }
        break;
    default: return false;
    }
    if (!read) {
        vtimer_ptimer_sync(vt);
    }
    return true;
}
