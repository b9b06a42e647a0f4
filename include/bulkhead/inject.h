/* Exceptions delivered to a guest's EL1 as the hardware would deliver them (el2/inject.c). */
#ifndef BULKHEAD_INJECT_H
#define BULKHEAD_INJECT_H

#include "types.h"

struct vcpu;

void inject_undef(struct vcpu *vcpu);
/* A synchronous external abort on a data access to far. */
void inject_dabt(struct vcpu *vcpu, uint64_t far, bool write);
/* A synchronous external abort on an instruction fetch from far. */
void inject_iabt(struct vcpu *vcpu, uint64_t far);
/* A BRK the guest executed that EL2 took (MDCR_EL2.TDE, while the gdb stub is attached) and that
 * is not the debugger's: the same exception, syndrome and all, to the guest's own EL1. */
void inject_brk(struct vcpu *vcpu, uint64_t esr);
/* This many injections in a row each found the vCPU faulting at the vector the one before sent
 * it to: its exception vector cannot run (no table there, a garbage or truncated kernel), and
 * nothing it will ever do changes that. */
#define INJECT_VECTOR_FAULTS 3
bool inject_vector_broken(const struct vcpu *vcpu);

#endif
