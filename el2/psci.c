/*
 * SMCCC calls from guests: PSCI 1.1 for the VM's own vCPUs and power state, the SMCCC
 * architecture service, and Bulkhead's vendor calls. Nothing here reaches firmware: a VM's
 * SYSTEM_OFF and SYSTEM_RESET act on that VM only.
 */
#include "bulkhead/psci.h"

#include "arch/mpidr.h"
#include "bulkhead/hvcall.h"
#include "bulkhead/monitor.h"
#include "bulkhead/sched.h"
#include "bulkhead/shmem.h"
#include "bulkhead/vm.h"

#define AFFINITY_ON 0
#define AFFINITY_OFF 1
#define AFFINITY_ON_PENDING 2
#define MIGRATE_TYPE_NOT_PRESENT 2

/* Exactly the IDs smccc_handle() answers: only three of these functions have an SMC64 form. */
static bool is_psci_implemented(uint32_t fid)
{
    switch (fid) {
    case PSCI_0_2_FN_PSCI_VERSION:
    case PSCI_0_2_FN_CPU_SUSPEND:
    case PSCI_0_2_FN_CPU_SUSPEND | PSCI_FN64_BIT:
    case PSCI_0_2_FN_CPU_OFF:
    case PSCI_0_2_FN_CPU_ON:
    case PSCI_0_2_FN_CPU_ON | PSCI_FN64_BIT:
    case PSCI_0_2_FN_AFFINITY_INFO:
    case PSCI_0_2_FN_AFFINITY_INFO | PSCI_FN64_BIT:
    case PSCI_0_2_FN_MIGRATE_INFO_TYPE:
    case PSCI_0_2_FN_SYSTEM_OFF:
    case PSCI_0_2_FN_SYSTEM_RESET:
    case PSCI_1_0_FN_PSCI_FEATURES:
    case SMCCC_VERSION: return true;
    default: return false;
    }
}

static struct vcpu *vcpu_by_mpidr(struct vm *vm, uint64_t mpidr)
{
    mpidr &= MPIDR_AFF_MASK;
    /* Our guests' MPIDRs are their vCPU index in Aff0. */
    if (mpidr >= vm->cfg.nr_vcpus) {
        return NULL;
    }
    return &vm->vcpus[mpidr];
}

static int64_t psci_cpu_on(struct vcpu *caller, uint64_t target, uint64_t entry, uint64_t ctx)
{
    struct vm *vm = caller->vm;
    struct vcpu *v = vcpu_by_mpidr(vm, target);
    int64_t ret = PSCI_RET_SUCCESS;

    if (!v) {
        return PSCI_RET_INVALID_PARAMS;
    }
    spin_lock(&vm->lock);
    if (v->state == VCPU_ON) {
        ret = PSCI_RET_ALREADY_ON;
    } else if (v->state == VCPU_ON_PENDING) {
        ret = PSCI_RET_ON_PENDING;
    } else {
        v->entry = entry;
        v->context_id = ctx;
        __atomic_store_n(&v->state, VCPU_ON_PENDING, __ATOMIC_RELEASE);
    }
    spin_unlock(&vm->lock);
    if (ret == PSCI_RET_SUCCESS) {
        vcpu_wake(v);
    }
    return ret;
}

static int64_t psci_affinity_info(struct vcpu *caller, uint64_t target, uint64_t level)
{
    struct vcpu *v = vcpu_by_mpidr(caller->vm, target);

    if (!v || level != 0) {
        return PSCI_RET_INVALID_PARAMS;
    }
    switch (v->state) {
    case VCPU_ON: return AFFINITY_ON;
    case VCPU_ON_PENDING: return AFFINITY_ON_PENDING;
    case VCPU_OFF:
    default: return AFFINITY_OFF;
    }
}

static void vendor_uid(struct vcpu *vcpu)
{
    /* "Bulkhead" as an SMCCC UID: four 32-bit words. */
    vcpu->regs.x[0] = 0x6b6c7542; /* "Bulk" */
    vcpu->regs.x[1] = 0x64616568; /* "head" */
    vcpu->regs.x[2] = 0x00000001;
    vcpu->regs.x[3] = 0x00000000;
}

bool smccc_handle(struct vcpu *vcpu)
{
    uint64_t *x = vcpu->regs.x;
    uint32_t fid = (uint32_t)x[0];
    int64_t ret = PSCI_RET_NOT_SUPPORTED;

    switch (fid) {
    case BH_HVC_NULL: ret = 0; break;
    case BH_HVC_BOOT_COUNT: ret = (int64_t)vcpu->vm->boot_count; break;
    case BH_HVC_CALL_COUNT: ret = 2; break;
    case BH_HVC_UID: vendor_uid(vcpu); return true;
    case BH_HVC_DOORBELL_RING: ret = doorbell_hvc_ring(&vcpu->vm->io, x[1], x[2]); break;
    case BH_HVC_DOORBELL_ACK: ret = doorbell_hvc_ack(&vcpu->vm->io, x[1]); break;
    case SMCCC_VERSION: ret = SMCCC_VERSION_1_1; break;
    case SMCCC_ARCH_FEATURES: ret = x[1] == SMCCC_VERSION ? 0 : PSCI_RET_NOT_SUPPORTED; break;
    case PSCI_0_2_FN_PSCI_VERSION: ret = PSCI_VERSION_1_1; break;
    case PSCI_1_0_FN_PSCI_FEATURES:
        ret = is_psci_implemented((uint32_t)x[1]) ? 0 : PSCI_RET_NOT_SUPPORTED;
        break;
    case PSCI_0_2_FN_MIGRATE_INFO_TYPE: ret = MIGRATE_TYPE_NOT_PRESENT; break;
    case PSCI_0_2_FN_CPU_SUSPEND:
    case PSCI_0_2_FN_CPU_SUSPEND | PSCI_FN64_BIT:
        /* Every state is treated as standby, which PSCI allows: the vCPU waits like a WFI until
         * it has an interrupt to take, and returns with its context kept. */
        vcpu_block(vcpu);
        ret = PSCI_RET_SUCCESS;
        break;
    case PSCI_0_2_FN_CPU_ON:
    case PSCI_0_2_FN_CPU_ON | PSCI_FN64_BIT: ret = psci_cpu_on(vcpu, x[1], x[2], x[3]); break;
    case PSCI_0_2_FN_AFFINITY_INFO:
    case PSCI_0_2_FN_AFFINITY_INFO | PSCI_FN64_BIT:
        ret = psci_affinity_info(vcpu, x[1], x[2]);
        break;
    case PSCI_0_2_FN_CPU_OFF: vm_cpu_off(vcpu); return false;
    case PSCI_0_2_FN_SYSTEM_OFF: vm_power_off(vcpu->vm); return false;
    case PSCI_0_2_FN_SYSTEM_RESET: vm_reset(vcpu->vm, vcpu); return false;
    default:
        if (BH_HVC_IS_MONITOR(fid)) {
            return monitor_hvc(vcpu); /* privileged VMs only: it checks */
        }
        break;
    }
    x[0] = (uint64_t)ret;
    return true;
}
