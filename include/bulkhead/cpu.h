/*
 * Physical CPUs as the hypervisor sees them (el2/cpu.c): each has a struct pcpu, found through
 * TPIDR_EL2, and its own stack.
 */
#ifndef BULKHEAD_CPU_H
#define BULKHEAD_CPU_H

#include "asm.h"
#include "config.h"

struct vcpu;

struct pcpu {
    struct vcpu *vcpu;  /* PCPU_VCPU: the vCPU this CPU runs, or NULL */
    uint64_t stack_top; /* PCPU_STACK_TOP */
    unsigned index;
    volatile bool online;
    bool shared; /* several vCPUs take turns on it (el2/sched.c) */
    /* Time asleep in WFI (CNTPCT ticks) for the monitor's `load`, and when the current sleep
     * began (0: awake): written by this CPU, read by any. */
    uint64_t idle_ticks;
    uint64_t idle_since;
};

extern struct pcpu pcpus[MAX_CPUS];
extern uint8_t cpu_stacks[MAX_CPUS][CPU_STACK_SIZE];

#ifndef BULKHEAD_HOST
static inline struct pcpu *this_pcpu(void)
{
    struct pcpu *p;
    __asm__ volatile("mrs %0, tpidr_el2" : "=r"(p));
    return p;
}
#else
struct pcpu *this_pcpu(void); /* the host tests' fake */
#endif

/* Makes the calling CPU physical CPU index: its struct pcpu, vectors, and EL2 controls as they
 * must be while no guest runs. */
void cpu_init(unsigned index);

/* el2/vectors.S: EL2's exception table (VBAR_EL2), and that of a CPU shared by vCPUs. */
extern char el2_vectors[];
extern char el2_vectors_shared[];

/* el2/head.S: runs fn(arg) on a fresh stack, dropping whatever the CPU was doing. */
void run_on_stack(uint64_t stack_top, void (*fn)(void *), void *arg) NORETURN;

#endif
