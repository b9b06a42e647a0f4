/* Guest exits (el2/traps.c): dispatch on ESR_EL2.EC, and the physical interrupts. */
#ifndef BULKHEAD_TRAPS_H
#define BULKHEAD_TRAPS_H

#include "types.h"

struct vcpu;

/* Called by el2/vectors.S with the exit's kind (EXIT_* in asm.h); returns the vCPU to enter. */
struct vcpu *guest_exit(struct vcpu *vcpu, unsigned kind);
/* Takes the physical interrupts pending on this CPU; current is the vCPU it runs, or NULL. */
void handle_physical_irqs(struct vcpu *current);

#endif
