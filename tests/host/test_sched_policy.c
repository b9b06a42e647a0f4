/*
 * el2/sched_policy.c: who a shared CPU runs next.
 *   - priority: the highest runnable priority runs; among equals, the one that has waited longest,
 *     each for a turn of one slice; the running one keeps the CPU while its turn lasts, or for
 *     as long as no equal competes, and a higher one preempts it at once;
 *   - partition: only the owner of the window at the time runs (by the same rule among its
 *     vCPUs); an idle window, a gap, or an owner with nothing to do leaves the CPU idle; the
 *     answer is revisited when the window ends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bulkhead/sched_policy.h"

#define FREQ 1000000 /* a 1 MHz counter: ticks are microseconds */

static struct sched_table priority_table(uint32_t slice_us)
{
    struct cpu_schedule cs = {.policy = SCHED_PRIORITY, .slice_us = slice_us};
    struct sched_table t;

    sched_table_init(&t, &cs, FREQ, 0);
    return t;
}

/* Windows of 10 ms in a 40 ms frame: VM 0 at 0, VM 1 at 10, idle 20..30 (a gap), VM 0 at 30. */
static struct sched_table partition_table(uint64_t epoch)
{
    struct cpu_schedule cs = {
        .policy = SCHED_PARTITION,
        .frame_us = 40000,
        .nr_windows = 3,
        .windows = {{0, 10000, 0}, {10000, 10000, 1}, {30000, 10000, 0}},
    };
    struct sched_table t;

    sched_table_init(&t, &cs, FREQ, epoch);
    return t;
}

static struct sched_entity entity(unsigned priority, int vm, bool runnable, uint64_t queued_at)
{
    return (struct sched_entity){
        .priority = priority, .vm = vm, .runnable = runnable, .queued_at = queued_at};
}

static void test_slice_converts_to_ticks_and_defaults(void **state)
{
    (void)state;
    assert_int_equal(priority_table(5000).slice, 5000);
    assert_int_equal(priority_table(0).slice, SCHED_DEFAULT_SLICE_US);
    struct cpu_schedule cs = {.policy = SCHED_PRIORITY, .slice_us = 1000};
    struct sched_table t;
    sched_table_init(&t, &cs, 62500000, 0); /* QEMU virt's 62.5 MHz counter */
    assert_int_equal(t.slice, 62500);
}

static void test_nothing_runnable_idles(void **state)
{
    struct sched_table t = priority_table(1000);
    struct sched_entity e[2] = {entity(0, 0, false, 0), entity(0, 1, false, 0)};

    (void)state;
    struct sched_choice c = sched_choose(&t, e, 2, -1, 0, 100);
    assert_int_equal(c.next, -1);
    assert_int_equal(c.revisit, UINT64_MAX);
}

static void test_alone_runs_without_a_turn_end(void **state)
{
    struct sched_table t = priority_table(1000);
    struct sched_entity e[2] = {entity(0, 0, true, 0), entity(0, 1, false, 0)};

    (void)state;
    struct sched_choice c = sched_choose(&t, e, 2, 0, 500, 10000);
    assert_int_equal(c.next, 0); /* turn long over, but nobody competes */
    assert_int_equal(c.revisit, UINT64_MAX);
}

static void test_equals_take_turns(void **state)
{
    struct sched_table t = priority_table(1000);
    struct sched_entity e[3] = {entity(1, 0, true, 0), entity(1, 1, true, 50),
                                entity(1, 2, true, 20)};

    (void)state;
    /* 0 runs, its turn ends at 1000: it keeps the CPU until then. */
    struct sched_choice c = sched_choose(&t, e, 3, 0, 1000, 400);
    assert_int_equal(c.next, 0);
    assert_int_equal(c.revisit, 1000);
    /* Turn over: the one that has waited longest (2, queued at 20) runs for a slice. */
    c = sched_choose(&t, e, 3, 0, 1000, 1000);
    assert_int_equal(c.next, 2);
    assert_int_equal(c.revisit, 2000);
}

static void test_higher_priority_preempts_at_once(void **state)
{
    struct sched_table t = priority_table(1000);
    struct sched_entity e[2] = {entity(1, 0, true, 0), entity(5, 1, true, 900)};

    (void)state;
    struct sched_choice c = sched_choose(&t, e, 2, 0, 100000, 950);
    assert_int_equal(c.next, 1);
    assert_int_equal(c.revisit, UINT64_MAX); /* no equal: no turn to end */
}

static void test_lower_priority_waits_for_the_higher_to_block(void **state)
{
    struct sched_table t = priority_table(1000);
    struct sched_entity e[2] = {entity(5, 0, true, 0), entity(1, 1, true, 0)};

    (void)state;
    struct sched_choice c = sched_choose(&t, e, 2, 0, 1000, 5000);
    assert_int_equal(c.next, 0);
    assert_int_equal(c.revisit, UINT64_MAX);
    e[0].runnable = false; /* it waits for an interrupt */
    c = sched_choose(&t, e, 2, 0, 1000, 5000);
    assert_int_equal(c.next, 1);
}

static void test_current_not_runnable_gives_way(void **state)
{
    struct sched_table t = priority_table(1000);
    struct sched_entity e[2] = {entity(0, 0, false, 0), entity(0, 1, true, 10)};

    (void)state;
    struct sched_choice c = sched_choose(&t, e, 2, 0, 1000, 10);
    assert_int_equal(c.next, 1);
}

static void test_window_lookup(void **state)
{
    struct sched_table t = partition_table(1000);
    uint64_t until;

    (void)state;
    assert_int_equal(sched_window_at(&t, 1000, &until), 0);
    assert_int_equal(until, 11000);
    assert_int_equal(sched_window_at(&t, 1000 + 15000, &until), 1);
    assert_int_equal(until, 21000);
    assert_int_equal(sched_window_at(&t, 1000 + 25000, &until), -1); /* the gap */
    assert_int_equal(until, 31000);
    assert_int_equal(sched_window_at(&t, 1000 + 39999, &until), 2);
    assert_int_equal(until, 41000);
    /* The next frame repeats the first. */
    assert_int_equal(sched_window_at(&t, 1000 + 40000 + 12000, &until), 1);
    assert_int_equal(until, 61000);
}

static void test_only_the_window_owner_runs(void **state)
{
    struct sched_table t = partition_table(0);
    struct sched_entity e[2] = {entity(0, 0, true, 0), entity(9, 1, true, 0)};

    (void)state;
    /* VM 0's window: VM 1's higher priority does not matter. */
    struct sched_choice c = sched_choose(&t, e, 2, 1, 100000, 5000);
    assert_int_equal(c.next, 0);
    assert_int_equal(c.revisit, 10000);
    /* VM 1's window. */
    c = sched_choose(&t, e, 2, 0, 100000, 12000);
    assert_int_equal(c.next, 1);
    assert_int_equal(c.revisit, 20000);
    /* The gap: nobody, until VM 0's second window. */
    c = sched_choose(&t, e, 2, 1, 100000, 25000);
    assert_int_equal(c.next, -1);
    assert_int_equal(c.revisit, 30000);
}

static void test_owner_with_nothing_to_do_leaves_the_cpu_idle(void **state)
{
    struct sched_table t = partition_table(0);
    struct sched_entity e[2] = {entity(0, 0, false, 0), entity(0, 1, true, 0)};

    (void)state;
    struct sched_choice c = sched_choose(&t, e, 2, 1, 100000, 5000);
    assert_int_equal(c.next, -1); /* VM 1 does not borrow VM 0's window */
    assert_int_equal(c.revisit, 10000);
}

static void test_equals_take_turns_inside_a_window(void **state)
{
    struct sched_table t = partition_table(0);
    struct cpu_schedule cs = {.policy = SCHED_PARTITION,
                              .slice_us = 2000,
                              .frame_us = 40000,
                              .nr_windows = 1,
                              .windows = {{0, 10000, 0}}};
    struct sched_entity e[2] = {entity(0, 0, true, 0), entity(0, 0, true, 5)};

    (void)state;
    sched_table_init(&t, &cs, FREQ, 0);
    struct sched_choice c = sched_choose(&t, e, 2, 0, 2000, 2000);
    assert_int_equal(c.next, 1);
    assert_int_equal(c.revisit, 4000);
    c = sched_choose(&t, e, 2, 1, 9000, 8500);
    assert_int_equal(c.revisit, 9000);
    c = sched_choose(&t, e, 2, 1, 12000, 8500);
    assert_int_equal(c.revisit, 10000); /* the window ends first */
}

static void test_partition_without_frame_falls_back_to_priority(void **state)
{
    struct cpu_schedule cs = {.policy = SCHED_PARTITION, .frame_us = 0};
    struct sched_table t;

    (void)state;
    sched_table_init(&t, &cs, FREQ, 0);
    assert_int_equal(t.policy, SCHED_PRIORITY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slice_converts_to_ticks_and_defaults),
        cmocka_unit_test(test_nothing_runnable_idles),
        cmocka_unit_test(test_alone_runs_without_a_turn_end),
        cmocka_unit_test(test_equals_take_turns),
        cmocka_unit_test(test_higher_priority_preempts_at_once),
        cmocka_unit_test(test_lower_priority_waits_for_the_higher_to_block),
        cmocka_unit_test(test_current_not_runnable_gives_way),
        cmocka_unit_test(test_window_lookup),
        cmocka_unit_test(test_only_the_window_owner_runs),
        cmocka_unit_test(test_owner_with_nothing_to_do_leaves_the_cpu_idle),
        cmocka_unit_test(test_equals_take_turns_inside_a_window),
        cmocka_unit_test(test_partition_without_frame_falls_back_to_priority),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
