/*
 * What each physical CPU runs (el2/sched.c): its vCPU, once started, and nothing else; or, on a
 * CPU several vCPUs share, each in turn as the CPU's policy says (`bulkhead,schedule`). A CPU
 * with nothing to run sleeps; starting a vCPU (VM start, reset, PSCI CPU_ON) wakes its CPU.
 */
#ifndef BULKHEAD_SCHED_H
#define BULKHEAD_SCHED_H

#include "config.h"
#include "types.h"

struct vcpu;
struct vm;
struct cpu_schedule;

/* vCPUs on shared CPUs, all CPUs together: each has a thread, whose EL2 stack sched_configure()
 * takes from the hypervisor's memory (include/bulkhead/mm.h) for every vCPU, this many at most. */
#define SCHED_MAX_THREADS 16u

/* At VM creation: v runs on CPU v->pcpu (a CPU given a second vCPU becomes shared). */
void sched_add_vcpu(struct vcpu *v);
/* Once every VM is created: each CPU's policy (config/sched_config.c); takes the threads' stacks
 * and gives the vCPUs of shared CPUs their threads. */
void sched_configure(const struct cpu_schedule cfg[MAX_CPUS]);
/* On each CPU before its first pcpu_schedule(): a shared CPU takes up its first vCPU's thread
 * and the exception vectors that end exits in sched_preempt(). */
void sched_start_cpu(void);
/* The end of an exit on a shared CPU: another vCPU runs first if the policy says so. */
void sched_preempt(struct vcpu *self);
/* The running vCPU of a shared CPU gives up the rest of its turn (a WFE: it waits for another
 * vCPU, perhaps of this CPU): its equals run first at the end of this exit. */
void sched_end_turn(void);
/* A busy wait's turn (for another CPU, or a vCPU of this one): lets any other vCPU of this CPU
 * with something to do run first. A pause instruction on a CPU that is not shared. */
void sched_relax(void);
/* EL2's timer fired on a shared CPU: every vCPU's emulated timer and device deadline served,
 * the timer programmed again; sched_hyp_timer_changed() only programs it. */
void sched_hyp_timer(void);
void sched_hyp_timer_changed(void);
/* Whether vm's vCPUs may go to cpus[i] (one per vCPU): each to an idle CPU, or to one shared
 * (several vCPUs, or a bulkhead,schedule node) whose table, if it is a partition one, has a
 * window for vm. If not, why says why. */
bool sched_move_check(const struct vm *vm, const uint8_t *cpus, char *why, size_t len);
/* On v's CPU, where v waits (held by vm_move's pause, or off): v leaves this CPU for
 * v->move_to, its EL1 state with it; this CPU goes on with its other vCPUs, or idles. */
void sched_move_self(struct vcpu *v) NORETURN;
/* vCPU switches made on cpu since boot (the monitor's and the benchmark's figure). */
uint64_t sched_switches(unsigned cpu);
/* el2/switch.S enters a shared CPU's vCPU thread here, the first time it runs. */
void sched_vcpu_thread(struct vcpu *v) NORETURN;

/* Drops what the calling CPU was doing and goes back to waiting for its vCPU. */
void pcpu_schedule(void) NORETURN;
/* Tells vCPU v's physical CPU that v has become ready to start. */
void vcpu_wake(const struct vcpu *v);
/* Asks the physical CPU running v to look at it again (new interrupt, stop, reset). */
void vcpu_kick(const struct vcpu *v);
/* WFI, CPU_SUSPEND: waits on this CPU until vcpu has an interrupt to take or must stop. */
void vcpu_block(struct vcpu *vcpu);
/* Its VM is paused: waits on this CPU, serving vcpu_call_held() requests, until the VM is
 * resumed or must stop. The vCPU then goes on where it was. */
void vcpu_hold(struct vcpu *vcpu);
/* Runs fn(vcpu, arg) on the CPU of vcpu, which must be held (vcpu->held), and returns once it
 * ran; false, and nothing ran, if it is not held or stops being held first. Called on the
 * vCPU's own CPU (an interrupt taken while it is held), fn runs at once. */
bool vcpu_call_held(struct vcpu *vcpu, void (*fn)(struct vcpu *vcpu, void *arg), void *arg);

#endif
