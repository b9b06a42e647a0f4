/*
 * Which vCPU a shared physical CPU runs next (el2/sched_policy.c): the two policies of
 * `bulkhead,schedule` (include/bulkhead/config.h) as pure functions of the CPU's vCPUs and the
 * counter, so that el2/sched.c only applies the answer. Host-tested.
 */
#ifndef BULKHEAD_SCHED_POLICY_H
#define BULKHEAD_SCHED_POLICY_H

#include "config.h"

/* A CPU's policy in counter ticks. */
struct sched_table {
    enum sched_policy policy;
    uint64_t slice;      /* SCHED_PRIORITY: a turn among equals */
    uint64_t frame;      /* SCHED_PARTITION: the major frame ... */
    uint64_t epoch;      /* ... whose first one began at this counter value */
    unsigned nr_windows; /* sorted, disjoint, inside the frame */
    struct {
        uint64_t start, len;
        int vm;
    } windows[SCHED_MAX_WINDOWS];
};

/* One vCPU of the CPU as the policy sees it. */
struct sched_entity {
    unsigned priority;
    int vm;             /* index of its VM: partition windows name VMs */
    bool runnable;      /* it has something to do (a blocked vCPU with nothing to take has not) */
    uint64_t queued_at; /* when it last gave up the CPU or was woken: the earliest goes first */
};

struct sched_choice {
    int next;         /* index of the entity to run, -1: none (the CPU idles) */
    uint64_t revisit; /* counter value at which to choose again (a turn or window ends);
                         UINT64_MAX: only an event (a wake-up, a block) changes the answer */
};

/* Converts a CPU's configuration to ticks of a freq Hz counter, its frame starting at epoch. */
void sched_table_init(struct sched_table *t, const struct cpu_schedule *cs, uint64_t freq,
                      uint64_t epoch);

/* The window that holds counter value now (its index), or -1 in a gap; *until is when that
 * window (or gap) ends. */
int sched_window_at(const struct sched_table *t, uint64_t now, uint64_t *until);

/*
 * Chooses among e[0..n). current is the entity running now (-1: none) and turn_end when its
 * turn ends (ignored without current): it keeps the CPU while it is runnable, allowed, of the
 * highest priority runnable, and its turn lasts or no equal competes. Otherwise the allowed
 * runnable entity of highest priority that has waited longest runs. Allowed: under
 * SCHED_PARTITION, of the VM owning the window at now; under SCHED_PRIORITY, any.
 */
struct sched_choice sched_choose(const struct sched_table *t, const struct sched_entity *e,
                                 unsigned n, int current, uint64_t turn_end, uint64_t now);

#endif
