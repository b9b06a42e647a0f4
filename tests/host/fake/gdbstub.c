/*
 * Fake of bulkhead/gdbstub.h's hypervisor side (el2/gdbstub.c), for the tests that link traps.c
 * and vcpu.c: no VM is debugged, so no interrupt is the stub's, no vCPU gets MDCR_EL2.TDE, and a
 * debug exception is what traps.c does with any exit it cannot handle.
 */
#include "bulkhead/gdbstub.h"
#include "bulkhead/vm.h"

bool gdbstub_owns_irq(unsigned intid)
{
    (void)intid;
    return false;
}

void gdbstub_receive(void)
{
}

uint64_t gdbstub_mdcr(const struct vm *vm)
{
    (void)vm;
    return 0;
}

bool gdbstub_debug_exit(struct vcpu *vcpu, uint64_t esr)
{
    vm_stop(vcpu->vm, vcpu, "debug exception", esr, 0);
    return false;
}
