/*
 * A vCPU (el2/vcpu.c). Each is pinned to one physical CPU, which runs nothing else: its EL1
 * state therefore lives in the CPU's registers and is only reset, never switched.
 */
#ifndef BULKHEAD_VCPU_H
#define BULKHEAD_VCPU_H

#include "asm.h"
#include "vgic.h"
#include "vtimer.h"

struct guest_regs {
    uint64_t x[31];
    uint64_t elr;
    uint64_t spsr;
};

enum vcpu_state {
    VCPU_OFF,
    VCPU_ON_PENDING, /* CPU_ON or VM start asked; its physical CPU will pick it up */
    VCPU_ON,
};

struct vm;

struct vcpu {
    struct guest_regs regs; /* first: the exit path saves straight into it */
    struct vm *vm;
    unsigned index; /* within the VM; also the guest's MPIDR Aff0 */
    unsigned pcpu;
    volatile enum vcpu_state state;
    volatile bool loaded;  /* its physical CPU is running it (in the guest or on its behalf) */
    volatile bool waiting; /* in WFI or CPU_SUSPEND (vcpu_block) */
    volatile bool held;    /* its VM is paused and it waits for the resume (vcpu_hold) */
    /* Work another CPU asked of this vCPU's CPU while it is held (vcpu_call_held): the vCPU's
     * EL1 state lives in that CPU's registers, so only that CPU can read or change it. */
    struct vcpu_call *volatile call;
    uint64_t entry, context_id; /* for the next start */
    struct vgic_cpu vgic;
    struct vtimer timer;
    /* Where the last exception injected sent it, and how many injections in a row found it
     * faulting right there: a vector that faults itself means a guest that cannot go on. */
    uint64_t injected_vector;
    unsigned vector_faults;
    /* Exits since boot by ESR_EL2.EC, and by physical interrupt: the console monitor's figures
     * (el2/monitor.c sorts them into classes). One increment per exit on the hot path, read
     * unlocked from other CPUs. */
    uint64_t exits_ec[64];
    uint64_t exits_irq;
};

/* A function run on a held vCPU's own CPU, with its EL1 state live. */
struct vcpu_call {
    void (*fn)(struct vcpu *vcpu, void *arg);
    void *arg;
    volatile bool done;
};

/* Makes the calling CPU ready to run vcpu from its entry point, with EL1 as after a reset. */
void vcpu_load(struct vcpu *vcpu);
/* vcpu_should_run() is inline in vm.h, which has struct vm: every exit asks it. */

/* el2/vectors.S: restores the guest's registers and returns to it. */
void guest_enter(struct vcpu *vcpu) NORETURN;

#endif
