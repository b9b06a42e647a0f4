/* Guest exits (el2/traps.c): dispatch on ESR_EL2.EC, and the physical interrupts. */
#ifndef BULKHEAD_TRAPS_H
#define BULKHEAD_TRAPS_H

#include "types.h"

struct vcpu;
struct vm;

/* Called by el2/vectors.S with the exit's kind (EXIT_* in asm.h); returns the vCPU to enter. */
struct vcpu *guest_exit(struct vcpu *vcpu, unsigned kind);
/* guest_exit() of the frequent kinds on a pinned CPU, the kind known at compile time. */
struct vcpu *guest_exit_sync(struct vcpu *vcpu);
struct vcpu *guest_exit_irq(struct vcpu *vcpu);
/* The same on a CPU several vCPUs share: the exit ends by asking its policy (el2/sched.c). */
struct vcpu *guest_exit_shared(struct vcpu *vcpu, unsigned kind);
/* Takes the physical interrupts pending on this CPU; current is the vCPU it runs, or NULL. */
void handle_physical_irqs(struct vcpu *current);
/* Whether a fault of vm's guest (a CPU fault, or its misuse of a device) may be said on the
 * console now: the VM's report budget, kept across its resets. Counts the fault either way. */
bool guest_report_allowed(struct vm *vm);

#endif
