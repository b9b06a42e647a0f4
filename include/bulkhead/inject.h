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

#endif
