/*
 * Exceptions delivered to a guest's EL1 as the hardware would deliver them: the syndrome and
 * return state go to the guest's own EL1 registers (live in the CPU, since each physical CPU runs
 * one vCPU), and the vCPU resumes at its vector.
 */
#include "bulkhead/inject.h"

#include "arch/sysreg.h"
#include "bulkhead/esr.h"
#include "bulkhead/vcpu.h"

#define VECTOR_CURRENT_SP0 0x000
#define VECTOR_CURRENT_SPX 0x200
#define VECTOR_LOWER_A64 0x400
#define VECTOR_LOWER_A32 0x600

static bool from_el0(const struct vcpu *vcpu)
{
    return (vcpu->regs.spsr & SPSR_MODE_MASK) == SPSR_MODE_EL0T || (vcpu->regs.spsr & SPSR_AARCH32);
}

static uint64_t vector_offset(const struct vcpu *vcpu)
{
    if (vcpu->regs.spsr & SPSR_AARCH32) {
        return VECTOR_LOWER_A32;
    }
    switch (vcpu->regs.spsr & SPSR_MODE_MASK) {
    case SPSR_MODE_EL1T: return VECTOR_CURRENT_SP0;
    case SPSR_MODE_EL1H: return VECTOR_CURRENT_SPX;
    default: return VECTOR_LOWER_A64;
    }
}

static void inject_sync(struct vcpu *vcpu, uint64_t esr, uint64_t far, bool set_far)
{
    /* Faulting at the very vector the previous injection sent it to: its handler never runs. */
    if (vcpu->regs.elr == vcpu->injected_vector) {
        vcpu->vector_faults++;
    } else {
        vcpu->vector_faults = 0;
    }
    write_elr_el1(vcpu->regs.elr);
    write_spsr_el1(vcpu->regs.spsr);
    write_esr_el1(esr);
    if (set_far) {
        write_far_el1(far);
    }
    vcpu->regs.elr = read_vbar_el1() + vector_offset(vcpu);
    vcpu->injected_vector = vcpu->regs.elr;
    /* Exception entry to EL1h with all of DAIF masked. */
    vcpu->regs.spsr = SPSR_DAIF | SPSR_MODE_EL1H;
}

bool inject_vector_broken(const struct vcpu *vcpu)
{
    return vcpu->vector_faults >= INJECT_VECTOR_FAULTS;
}

void inject_undef(struct vcpu *vcpu)
{
    inject_sync(vcpu, ((uint64_t)EC_UNKNOWN << 26) | ESR_IL, 0, false);
}

void inject_dabt(struct vcpu *vcpu, uint64_t far, bool write)
{
    unsigned ec = from_el0(vcpu) ? EC_DABT_LOW : EC_DABT_CUR;
    uint64_t wnr = write ? ESR_DABT_WNR : 0;

    inject_sync(vcpu, ((uint64_t)ec << 26) | ESR_IL | wnr | FSC_SYNC_EXTERNAL, far, true);
}

void inject_brk(struct vcpu *vcpu, uint64_t esr)
{
    /* EC 0x3c from any EL, the immediate in the ISS: what EL1 would have got itself. */
    inject_sync(vcpu, ((uint64_t)EC_BRK64 << 26) | ESR_IL | ESR_ISS(esr), 0, false);
}

void inject_iabt(struct vcpu *vcpu, uint64_t far)
{
    unsigned ec = from_el0(vcpu) ? EC_IABT_LOW : EC_IABT_CUR;
    inject_sync(vcpu, ((uint64_t)ec << 26) | ESR_IL | FSC_SYNC_EXTERNAL, far, true);
}
