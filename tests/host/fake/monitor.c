/* bulkhead/monitor.h's hypercall entry, recorded, for tests of the files that dispatch to it. */
#include "bulkhead/monitor.h"
#include "bulkhead/hvcall.h"
#include "fake/fake.h"

unsigned fake_monitor_hvc;

bool monitor_hvc(struct vcpu *vcpu)
{
    fake_monitor_hvc++;
    vcpu->regs.x[0] = SMCCC_RET_NOT_SUPPORTED;
    return true;
}
