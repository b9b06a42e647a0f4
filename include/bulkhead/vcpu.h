/*
 * A vCPU (el2/vcpu.c). Each belongs to one physical CPU. A CPU with one vCPU runs nothing else:
 * the vCPU's EL1 state lives in the CPU's registers and is only reset, never switched. A CPU
 * shared by several (el2/sched.c) saves the state of the one it leaves into its struct
 * vcpu_context and restores that of the one it takes up.
 */
#ifndef BULKHEAD_VCPU_H
#define BULKHEAD_VCPU_H

#include "asm.h"
#include "gic.h"
#include "mmio.h"
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
struct vcpu;

/* What a vCPU leaves in a shared CPU's registers besides its general registers. */
struct vcpu_el1 {
    uint64_t sctlr, tcr, ttbr0, ttbr1, mair, amair, vbar, cpacr, contextidr;
    uint64_t tpidr_el1, tpidr_el0, tpidrro_el0, sp_el1, sp_el0, elr_el1, spsr_el1;
    uint64_t esr, far, afsr0, afsr1, par, cntkctl, mdscr, csselr;
    uint64_t vmpidr, mdcr;
    uint64_t cntv_ctl, cntv_cval, cntvoff; /* its virtual timer, stopped while it is away */
};

struct fpsimd_state {
    uint64_t q[64]; /* V0..V31 */
    uint64_t fpsr, fpcr;
} __attribute__((aligned(16)));

/* The EL2 side of a vCPU on a shared CPU: each has its own hypervisor stack, on which it is
 * suspended where it gave up the CPU (el2/switch.S saves the callee-saved registers). */
struct hyp_thread {
    uint64_t x19_x30[12];
    uint64_t sp;
};

struct vcpu_context {
    struct vcpu_el1 el1;
    struct fpsimd_state fp;
    struct gic_vcpu_if gic;
    struct hyp_thread thread;
    uint64_t stack_top;
    /* Whether it has something to do, asked by its CPU's scheduler while another vCPU runs:
     * set where it gave up the CPU (el2/sched.c). */
    bool (*ready)(struct vcpu *vcpu);
    uint64_t queued_at; /* CNTPCT when it last gave up the CPU: the earliest goes first */
    uint64_t switches_in;
};

struct vcpu {
    struct guest_regs regs; /* first: the exit path saves straight into it */
    struct vm *vm;
    unsigned index; /* within the VM; also the guest's MPIDR Aff0 */
    unsigned pcpu;
    volatile enum vcpu_state state;
    const struct mmio_region *mmio_last; /* the device its last trapped access reached */
    volatile bool loaded;  /* its physical CPU is running it (in the guest or on its behalf) */
    volatile bool waiting; /* in WFI or CPU_SUSPEND (vcpu_block) */
    volatile bool held;    /* its VM is paused and it waits for the resume (vcpu_hold) */
    /* Work another CPU asked of this vCPU's CPU while it is held (vcpu_call_held): the vCPU's
     * EL1 state lives in that CPU's registers, so only that CPU can read or change it. */
    struct vcpu_call *volatile call;
    uint64_t entry, context_id; /* for the next start */
    /* vm_move: the CPU it is to go to at its next exit (-1: none); once there, its EL1 state
     * comes back from ctx (moved_live) instead of a reset. */
    volatile int move_to;
    bool moved_live;
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
    struct vcpu_context ctx; /* used only on a CPU shared by several vCPUs */
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

/* A CPU shared by several vCPUs changes vCPU: what the leaving one left in the CPU's registers is
 * saved into its ctx, and the arriving one's restored (its timer, GIC interface, FP/SIMD, EL1
 * and stage-2 registers). The general registers are in regs already. */
void vcpu_context_save(struct vcpu *vcpu);
void vcpu_context_restore(struct vcpu *vcpu);
/* Its first entry on the CPU it was moved to (el2/sched.c): EL2's controls for the guest and
 * the context vcpu_context_save() kept, as it was on its old CPU. */
void vcpu_arrive(struct vcpu *vcpu);
/* The counter value at which its saved virtual timer fires; UINT64_MAX if it is off or
 * masked. Only meaningful while the vCPU is away from its CPU. */
uint64_t vcpu_saved_timer_deadline(const struct vcpu *vcpu);

/* el2/switch.S. */
void fpsimd_save(struct fpsimd_state *s);
void fpsimd_restore(const struct fpsimd_state *s);
/* Suspends the calling hypervisor thread into from and resumes to; returns when another switch
 * resumes from. A thread that never ran starts in hyp_thread_start. */
void hyp_thread_switch(struct hyp_thread *from, const struct hyp_thread *to);
void hyp_thread_start(void);

/* el2/vectors.S: restores the guest's registers and returns to it. */
void guest_enter(struct vcpu *vcpu) NORETURN;

#endif
