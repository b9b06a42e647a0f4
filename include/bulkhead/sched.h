/*
 * What each physical CPU runs (el2/sched.c): the vCPU pinned to it, once started, and nothing
 * else. A CPU with nothing to run sleeps; starting a vCPU (VM start, reset, PSCI CPU_ON) wakes
 * its CPU.
 */
#ifndef BULKHEAD_SCHED_H
#define BULKHEAD_SCHED_H

#include "types.h"

struct vcpu;

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
