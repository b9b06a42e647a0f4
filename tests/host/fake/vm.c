/* bulkhead/vm.h's life-cycle calls, recorded, for tests of the files that make them. */
#include "bulkhead/vm.h"
#include "fake/fake.h"

void vm_stop(struct vm *vm, struct vcpu *vcpu, const char *reason, uint64_t esr, uint64_t far)
{
    fake.vm_stop++;
    fake.vm = vm;
    fake.vcpu = vcpu;
    fake.stop_reason = reason;
    fake.stop_esr = esr;
    fake.stop_far = far;
}

void vm_power_off(struct vm *vm)
{
    fake.vm_power_off++;
    fake.vm = vm;
}

void vm_reset(struct vm *vm, const struct vcpu *caller)
{
    fake.vm_reset++;
    fake.vm = vm;
    fake.vcpu = caller;
}

bool vm_ram_fault(struct vcpu *vcpu, ipa_t ipa, uint64_t esr)
{
    fake.vm_ram_fault++;
    fake.vm = vcpu->vm;
    fake.vcpu = vcpu;
    fake.ram_fault_ipa = ipa;
    fake.ram_fault_esr = esr;
    return fake.ram_fault_answer;
}

/* Recorded as the VM and vCPU of the last call (fake.h has no counter of its own for it): a test
 * that saw no vm_stop, vm_reset or vm_ram_fault knows the vCPU in fake.vcpu came from here. */
void vm_cpu_off(struct vcpu *vcpu)
{
    fake.vm = vcpu->vm;
    fake.vcpu = vcpu;
}

/* No device deadline here: EL2's timer only reprograms the emulated one. */
void vm_hyp_timer(struct vcpu *vcpu)
{
    (void)vcpu;
    fake.ptimer_sync++;
}
