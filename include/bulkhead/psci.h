/* SMCCC calls from guests (el2/psci.c): PSCI for the VM's own vCPUs and power, SMCCC's
 * architecture service, Bulkhead's vendor calls. */
#ifndef BULKHEAD_PSCI_H
#define BULKHEAD_PSCI_H

#include "types.h"

struct vcpu;

/* The call in vcpu's x0..x3 (HVC #0 or a trapped SMC); the result goes to x0..x3. Returns false
 * if the vCPU must not be resumed (it was turned off, or its VM stopped or reset). */
bool smccc_handle(struct vcpu *vcpu);

#endif
