/* A vCPU's start on its physical CPU: EL1 as after a reset, and EL2's controls for the guest. */
#include "bulkhead/vcpu.h"

#include "arch/sysreg.h"
#include "bulkhead/cpu.h"
#include "bulkhead/gdbstub.h"
#include "bulkhead/gic.h"
#include "bulkhead/string.h"
#include "bulkhead/vm.h"

_Static_assert(offsetof(struct vcpu, regs) == 0, "exit path saves into vcpu->regs");
_Static_assert(offsetof(struct guest_regs, x[0]) == REGS_X(0), "REGS_X");
_Static_assert(offsetof(struct guest_regs, elr) == REGS_ELR, "REGS_ELR");
_Static_assert(offsetof(struct guest_regs, spsr) == REGS_SPSR, "REGS_SPSR");

static void reset_el1_state(void)
{
    write_sctlr_el1(SCTLR_EL1_RESET);
    write_tcr_el1(0);
    write_ttbr0_el1(0);
    write_ttbr1_el1(0);
    write_mair_el1(0);
    write_amair_el1(0);
    write_vbar_el1(0);
    write_cpacr_el1(0);
    write_contextidr_el1(0);
    write_tpidr_el1(0);
    write_tpidr_el0(0);
    write_tpidrro_el0(0);
    write_sp_el1(0);
    write_sp_el0(0);
    write_elr_el1(0);
    write_spsr_el1(0);
    write_esr_el1(0);
    write_far_el1(0);
    write_afsr0_el1(0);
    write_afsr1_el1(0);
    write_par_el1(0);
    write_cntkctl_el1(0);
    write_cntv_ctl_el0(0);
    write_cntp_ctl_el0(0);
    write_mdscr_el1(0);
}

/* No HCR_EL2.FB or BSU: a vCPU never moves to another CPU, so its TLB maintenance and barriers
 * need not be made broadcast (which costs every CPU of the machine, not only the VM's). */
#define HCR_GUEST                                                                                  \
    (HCR_VM | HCR_SWIO | HCR_FMO | HCR_IMO | HCR_AMO | HCR_TWI | HCR_TSC | HCR_TIDCP | HCR_TSW |   \
     HCR_RW | HCR_TLOR | HCR_APK | HCR_API | HCR_TID3)

/* On a shared CPU WFE traps too: a guest spinning for a lock another vCPU of the CPU holds
 * gives up its turn (el2/traps.c) instead of spinning out its slice. */
static uint64_t hcr_guest(void)
{
    return HCR_GUEST | (this_pcpu()->shared ? HCR_TWE : 0);
}

/* Traps what the ID registers hide (include/bulkhead/idregs.h): SVE and SME stay trapped by
 * CPTR_EL2_GUEST; trace always, the activity monitors where they exist. */
static uint64_t cptr_guest(void)
{
    uint64_t amu = BITS(read_id_aa64pfr0_el1(), 47, 44);
    return CPTR_EL2_GUEST | CPTR_TTA | (amu ? CPTR_TAM : 0);
}

/* The PMU, the statistical profiling unit and trace filtering belong to EL2: guest accesses trap.
 * HPMN keeps its reset value (all counters), which only EL2 can use. */
static uint64_t mdcr_guest(void)
{
    uint64_t hpmn = BITS(read_mdcr_el2(), 4, 0);
    return hpmn | MDCR_TPMCR | MDCR_TPM | MDCR_TPMS | MDCR_TTRF;
}

void vcpu_load(struct vcpu *vcpu)
{
    struct vm *vm = vcpu->vm;

    memset(&vcpu->regs, 0, sizeof(vcpu->regs));
    vcpu->injected_vector = 0;
    vcpu->vector_faults = 0;
    vcpu->regs.x[0] = vcpu->context_id;
    vcpu->regs.elr = vcpu->entry;
    vcpu->regs.spsr = SPSR_DAIF | SPSR_MODE_EL1H;

    reset_el1_state();
    write_vpidr_el2(read_midr_el1());
    write_vmpidr_el2(BIT(31) | vcpu->index);
    write_vttbr_el2(vm->vttbr);
    write_hcr_el2(hcr_guest());
    write_cptr_el2(cptr_guest());
    write_mdcr_el2(mdcr_guest() | gdbstub_mdcr(vm));
    write_cntvoff_el2(0);
    /* The physical counter is the guest's; its physical timer is emulated (vtimer/). */
    write_cnthctl_el2(CNTHCTL_EL1PCTEN);
    vtimer_ptimer_reset(&vcpu->timer); /* CNTHP keeps serving the VM's device deadline */
    gic_vcpu_reset();
    /* A virtual timer interrupt left active by the vCPU's previous life would never fire again. */
    gic_clear_active(vtimer_virq());
    isb();
    /* A new VMID's or a reset VM's stale translations must not survive. */
    tlbi_vmalls12e1();
    dsb_nsh();
    isb();
    __atomic_store_n(&vcpu->state, VCPU_ON, __ATOMIC_RELEASE);
}

_Static_assert(offsetof(struct fpsimd_state, fpsr) == 512, "el2/switch.S: fpsimd_save");
_Static_assert(offsetof(struct hyp_thread, sp) == 96, "el2/switch.S: hyp_thread_switch");

/* Its virtual timer's interrupt, as the guest holds it: active in the guest means active in the
 * GIC too (a hardware link), which must not follow the CPU to the next vCPU. */
static bool timer_irq_phys_active(const struct vcpu *vcpu)
{
    return vcpu->vgic.private_irqs[vtimer_virq()].phys_active;
}

void vcpu_context_save(struct vcpu *vcpu)
{
    struct vcpu_el1 *s = &vcpu->ctx.el1;

    s->cntv_ctl = read_cntv_ctl_el0();
    s->cntv_cval = read_cntv_cval_el0();
    s->cntvoff = read_cntvoff_el2();
    /* Stopped: it must not fire for the next vCPU (el2/sched.c watches it meanwhile). */
    write_cntv_ctl_el0(0);
    s->sctlr = read_sctlr_el1();
    s->tcr = read_tcr_el1();
    s->ttbr0 = read_ttbr0_el1();
    s->ttbr1 = read_ttbr1_el1();
    s->mair = read_mair_el1();
    s->amair = read_amair_el1();
    s->vbar = read_vbar_el1();
    s->cpacr = read_cpacr_el1();
    s->contextidr = read_contextidr_el1();
    s->tpidr_el1 = read_tpidr_el1();
    s->tpidr_el0 = read_tpidr_el0();
    s->tpidrro_el0 = read_tpidrro_el0();
    s->sp_el1 = read_sp_el1();
    s->sp_el0 = read_sp_el0();
    s->elr_el1 = read_elr_el1();
    s->spsr_el1 = read_spsr_el1();
    s->esr = read_esr_el1();
    s->far = read_far_el1();
    s->afsr0 = read_afsr0_el1();
    s->afsr1 = read_afsr1_el1();
    s->par = read_par_el1();
    s->cntkctl = read_cntkctl_el1();
    s->mdscr = read_mdscr_el1();
    s->csselr = read_csselr_el1();
    s->vmpidr = read_vmpidr_el2();
    s->mdcr = read_mdcr_el2();
    fpsimd_save(&vcpu->ctx.fp);
    gic_vcpu_if_save(&vcpu->ctx.gic);
    if (timer_irq_phys_active(vcpu)) {
        gic_clear_active(vtimer_virq());
    }
}

void vcpu_context_restore(struct vcpu *vcpu)
{
    const struct vcpu_el1 *s = &vcpu->ctx.el1;

    write_sctlr_el1(s->sctlr);
    write_tcr_el1(s->tcr);
    write_ttbr0_el1(s->ttbr0);
    write_ttbr1_el1(s->ttbr1);
    write_mair_el1(s->mair);
    write_amair_el1(s->amair);
    write_vbar_el1(s->vbar);
    write_cpacr_el1(s->cpacr);
    write_contextidr_el1(s->contextidr);
    write_tpidr_el1(s->tpidr_el1);
    write_tpidr_el0(s->tpidr_el0);
    write_tpidrro_el0(s->tpidrro_el0);
    write_sp_el1(s->sp_el1);
    write_sp_el0(s->sp_el0);
    write_elr_el1(s->elr_el1);
    write_spsr_el1(s->spsr_el1);
    write_esr_el1(s->esr);
    write_far_el1(s->far);
    write_afsr0_el1(s->afsr0);
    write_afsr1_el1(s->afsr1);
    write_par_el1(s->par);
    write_cntkctl_el1(s->cntkctl);
    write_mdscr_el1(s->mdscr);
    write_csselr_el1(s->csselr);
    write_vmpidr_el2(s->vmpidr);
    write_mdcr_el2(s->mdcr);
    /* Its VM's VMID tags the TLB entries: nothing to invalidate between VMs. */
    write_vttbr_el2(vcpu->vm->vttbr);
    fpsimd_restore(&vcpu->ctx.fp);
    gic_vcpu_if_restore(&vcpu->ctx.gic);
    if (timer_irq_phys_active(vcpu)) {
        gic_set_active(vtimer_virq());
    }
    /* The list registers are empty (vgic_sync empties them at every exit), the maintenance
     * requests the other vCPU's: the next flush writes all it needs. */
    vcpu->vgic.must_flush = true;
    vcpu->vgic.maint_known = false;
    write_cntvoff_el2(s->cntvoff);
    write_cntv_cval_el0(s->cntv_cval);
    write_cntv_ctl_el0(s->cntv_ctl);
    isb();
}

uint64_t vcpu_saved_timer_deadline(const struct vcpu *vcpu)
{
    const struct vcpu_el1 *s = &vcpu->ctx.el1;

    if ((s->cntv_ctl & (CNT_CTL_ENABLE | CNT_CTL_IMASK)) != CNT_CTL_ENABLE) {
        return UINT64_MAX;
    }
    /* The virtual count is the physical one less CNTVOFF. */
    return s->cntv_cval + s->cntvoff;
}

void vcpu_arrive(struct vcpu *vcpu)
{
    write_vpidr_el2(read_midr_el1());
    write_hcr_el2(hcr_guest());
    write_cptr_el2(cptr_guest());
    write_cnthctl_el2(CNTHCTL_EL1PCTEN);
    /* This CPU's interface may never have served a guest: enabled, emptied, then the vCPU's. */
    gic_vcpu_reset();
    vcpu_context_restore(vcpu);
    /* Its emulated physical timer and its VM's device deadline now run on this CPU's CNTHP. */
    vtimer_ptimer_sync(&vcpu->timer);
    /* The guest's local TLB maintenance reached only its old CPU: nothing stale may be used. */
    tlbi_vmalls12e1();
    dsb_nsh();
    isb();
}
