/* The shared CPUs' two policies, as pure functions (include/bulkhead/sched_policy.h). */
#include "bulkhead/sched_policy.h"

static uint64_t us_to_ticks(uint64_t us, uint64_t freq)
{
    /* us below 2^32 and freq below 2^32: the product fits. */
    return us * freq / 1000000;
}

void sched_table_init(struct sched_table *t, const struct cpu_schedule *cs, uint64_t freq,
                      uint64_t epoch)
{
    *t = (struct sched_table){
        .policy = cs->policy,
        .slice = us_to_ticks(cs->slice_us ? cs->slice_us : SCHED_DEFAULT_SLICE_US, freq),
        .frame = us_to_ticks(cs->frame_us, freq),
        .epoch = epoch,
        .nr_windows = MIN(cs->nr_windows, (unsigned)SCHED_MAX_WINDOWS),
    };
    for (unsigned i = 0; i < t->nr_windows; i++) {
        t->windows[i].start = us_to_ticks(cs->windows[i].start_us, freq);
        t->windows[i].len = us_to_ticks(cs->windows[i].len_us, freq);
        t->windows[i].vm = cs->windows[i].vm;
    }
    if (t->policy == SCHED_PARTITION && !t->frame) {
        t->policy = SCHED_PRIORITY; /* sched_parse refuses it; never divide by it */
    }
}

int sched_window_at(const struct sched_table *t, uint64_t now, uint64_t *until)
{
    uint64_t pos = now > t->epoch ? (now - t->epoch) % t->frame : 0;
    uint64_t next_start = t->frame;

    for (unsigned i = 0; i < t->nr_windows; i++) {
        uint64_t start = t->windows[i].start, end = start + t->windows[i].len;
        if (pos >= start && pos < end) {
            *until = now + (end - pos);
            return (int)i;
        }
        if (start > pos && start < next_start) {
            next_start = start;
        }
    }
    *until = now + (next_start - pos);
    return -1;
}

/* Whether e may run now: any VM may under the priority policy (owner -2), only the window's
 * owner under a partition table (-1: an idle window, none). */
static bool allowed(const struct sched_entity *e, int owner)
{
    return e->runnable && (owner == -2 || e->vm == owner);
}

/* The allowed entity of highest priority that has waited longest, skipping skip; -1 if none. */
static int longest_waiting(const struct sched_entity *e, unsigned n, int owner, int skip)
{
    int best = -1;

    for (unsigned i = 0; i < n; i++) {
        if ((int)i == skip || !allowed(&e[i], owner)) {
            continue;
        }
        if (best < 0 || e[i].priority > e[best].priority ||
            (e[i].priority == e[best].priority && e[i].queued_at < e[best].queued_at)) {
            best = (int)i;
        }
    }
    return best;
}

/* Whether another allowed entity has c's priority: then c's turn must end. */
static bool has_equal(const struct sched_entity *e, unsigned n, int owner, int c)
{
    for (unsigned i = 0; i < n; i++) {
        if ((int)i != c && allowed(&e[i], owner) && e[i].priority == e[c].priority) {
            return true;
        }
    }
    return false;
}

struct sched_choice sched_choose(const struct sched_table *t, const struct sched_entity *e,
                                 unsigned n, int current, uint64_t turn_end, uint64_t now)
{
    struct sched_choice c = {.next = -1, .revisit = UINT64_MAX};
    uint64_t window_until = UINT64_MAX;
    int owner = -2;

    if (t->policy == SCHED_PARTITION) {
        int w = sched_window_at(t, now, &window_until);
        owner = w < 0 ? -1 : t->windows[w].vm;
    }
    int other = longest_waiting(e, n, owner, current);
    bool current_may = current >= 0 && allowed(&e[current], owner) &&
                       (other < 0 || e[current].priority >= e[other].priority);
    if (current_may && (now < turn_end || other < 0 || e[other].priority < e[current].priority)) {
        c.next = current;
        c.revisit = has_equal(e, n, owner, current) ? turn_end : UINT64_MAX;
    } else if (other >= 0) {
        c.next = other;
        c.revisit = has_equal(e, n, owner, other) ? now + t->slice : UINT64_MAX;
    }
    c.revisit = MIN(c.revisit, window_until);
    return c;
}
