/* sched_parse(): /chosen's bulkhead,schedule nodes, both policies, their defaults and each
 * mistake named with its node, the CPUs of a refused node left to the default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "bulkhead/config.h"
#include "support/capture.h"
#include "support/dtb_file.h"

#define SLACK 4096
#define NR_VMS 4 /* a, b, c, d of sched.dts */

static struct board board;
static struct vm_config vms[MAX_VMS];
static const struct vm_config *running[MAX_VMS];
static unsigned nr_running;
static struct cpu_schedule out[MAX_CPUS];
static void *fdt;
static const struct module_limits limits = {.hyp = {0x40200000, 0x2fb000},
                                            .dtb = {0x7fe00000, 0x100000}};

/* sched.dts with its VMs parsed, as el2/main.c has them before it reads the schedules. */
static int setup(void **state)
{
    struct vm_defaults defaults = {0};
    (void)state;

    fdt = dtb_load("sched", SLACK);
    assert_int_equal(fdt_open_into(fdt, fdt, (int)fdt_totalsize(fdt) + SLACK), 0);
    assert_int_equal(board_parse(fdt, &board), 0);
    nr_running = vmcfg_parse(fdt, &board, &defaults, &limits, vms);
    assert_int_equal(nr_running, NR_VMS);
    for (unsigned i = 0; i < nr_running; i++) {
        running[i] = &vms[i];
    }
    memset(out, 0xa5, sizeof(out)); /* whatever sched_parse does not set shows */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(fdt);
    return 0;
}

static int parse(void)
{
    capture_reset();
    return sched_parse(fdt, &board, running, nr_running, out);
}

static int node(const char *path)
{
    int off = fdt_path_offset(fdt, path);

    assert_true(off >= 0);
    return off;
}

static uint32_t phandle(const char *path)
{
    uint32_t p = fdt_get_phandle(fdt, node(path));

    assert_true(p != 0);
    return p;
}

/* bulkhead,windows of a node: n triplets <owner start len>, owners as paths ("" for idle). */
struct win {
    const char *owner;
    uint32_t start, len;
};

static void set_windows(const char *path, const struct win *w, unsigned n)
{
    fdt32_t cells[3 * (SCHED_MAX_WINDOWS + 1)];

    assert_true(n <= SCHED_MAX_WINDOWS + 1);
    for (unsigned i = 0; i < n; i++) {
        cells[3 * i] = cpu_to_fdt32(w[i].owner[0] ? phandle(w[i].owner) : 0);
        cells[3 * i + 1] = cpu_to_fdt32(w[i].start);
        cells[3 * i + 2] = cpu_to_fdt32(w[i].len);
    }
    assert_int_equal(fdt_setprop(fdt, node(path), "bulkhead,windows", cells, 12 * (int)n), 0);
}

static void set_u32(const char *path, const char *prop, uint32_t v)
{
    assert_int_equal(fdt_setprop_u32(fdt, node(path), prop, v), 0);
}

static void assert_default(unsigned cpu)
{
    assert_int_equal(out[cpu].policy, SCHED_PRIORITY);
    assert_int_equal(out[cpu].slice_us, SCHED_DEFAULT_SLICE_US);
    assert_int_equal(out[cpu].nr_windows, 0);
}

static void assert_window(unsigned cpu, unsigned i, int vm, uint32_t start, uint32_t len)
{
    assert_int_equal(out[cpu].windows[i].vm, vm);
    assert_int_equal(out[cpu].windows[i].start_us, start);
    assert_int_equal(out[cpu].windows[i].len_us, len);
}

/* One node refused with `line` (the whole error line), the others' CPUs as in the tree. */
static void assert_refused(const char *line)
{
    assert_int_equal(parse(), 1);
    if (!capture_contains(line)) {
        fail_msg("missing: %s\nprinted:\n%s", line, capture_text());
    }
    assert_int_equal(capture_count("error:"), 1);
}

/* The tree as written: both policies, windows sorted by start, the idle one kept. */
static void test_good_tree(void **state)
{
    (void)state;
    assert_int_equal(parse(), 0);
    assert_string_equal(capture_text(), "");

    /* One priority node for two CPUs. */
    for (unsigned cpu = 0; cpu <= 2; cpu += 2) {
        assert_int_equal(out[cpu].policy, SCHED_PRIORITY);
        assert_int_equal(out[cpu].slice_us, 5000);
        assert_int_equal(out[cpu].nr_windows, 0);
    }
    assert_int_equal(out[1].policy, SCHED_PARTITION);
    assert_int_equal(out[1].frame_us, 20000);
    assert_int_equal(out[1].nr_windows, 3);
    assert_window(1, 0, 0, 0, 8000);     /* a */
    assert_window(1, 1, 1, 10000, 5000); /* b */
    assert_window(1, 2, -1, 15000, 5000);

    /* A Xen domain owns a window as ours do. */
    assert_int_equal(out[3].policy, SCHED_PARTITION);
    assert_int_equal(out[3].frame_us, 2000);
    assert_int_equal(out[3].nr_windows, 2);
    assert_window(3, 0, 2, 0, 1000);    /* c */
    assert_window(3, 1, 3, 1000, 1000); /* d */

    /* The CPUs the board does not have: the default too. */
    for (unsigned cpu = board.nr_cpus; cpu < MAX_CPUS; cpu++) {
        assert_default(cpu);
    }
}

/* No node: every CPU gets the priority policy and the default slice. No "policy": priority. */
static void test_defaults(void **state)
{
    (void)state;
    assert_int_equal(fdt_del_node(fdt, node("/chosen/part1")), 0);
    assert_int_equal(fdt_delprop(fdt, node("/chosen/prio"), "bulkhead,time-slice-us"), 0);
    assert_int_equal(parse(), 0);
    assert_default(0);
    assert_default(1);
    assert_default(2);
    assert_int_equal(out[3].policy, SCHED_PARTITION);

    assert_int_equal(fdt_setprop_string(fdt, node("/chosen/prio"), "bulkhead,policy", "priority"),
                     0);
    set_u32("/chosen/prio", "bulkhead,time-slice-us", 100); /* the shortest */
    assert_int_equal(parse(), 0);
    assert_int_equal(out[0].slice_us, 100);
    assert_int_equal(out[2].slice_us, 100);

    /* A disabled node is not read. */
    assert_int_equal(fdt_setprop_string(fdt, node("/chosen/prio"), "status", "disabled"), 0);
    assert_int_equal(parse(), 0);
    assert_default(0);

    /* Nor is there anything to read without /chosen. */
    assert_int_equal(fdt_del_node(fdt, node("/chosen")), 0);
    assert_int_equal(parse(), 0);
    assert_default(3);
}

static void test_slice_too_short(void **state)
{
    (void)state;
    set_u32("/chosen/prio", "bulkhead,time-slice-us", 99);
    assert_refused("error: /chosen/prio: bulkhead,time-slice-us is 99: at least 100 us\n");
    assert_default(0);
    assert_default(2);
    assert_int_equal(out[1].policy, SCHED_PARTITION); /* the others are kept */
}

static void test_unknown_policy(void **state)
{
    (void)state;
    assert_int_equal(
        fdt_setprop_string(fdt, node("/chosen/part1"), "bulkhead,policy", "round-robin"), 0);
    assert_refused("error: /chosen/part1: bulkhead,policy is not \"priority\" or \"partition\"\n");
    assert_default(1);
    assert_int_equal(out[0].slice_us, 5000);
}

static void test_cpu_mistakes(void **state)
{
    fdt32_t cpus[2] = {cpu_to_fdt32(0), cpu_to_fdt32(4)};
    (void)state;
    assert_int_equal(fdt_setprop(fdt, node("/chosen/prio"), "bulkhead,cpus", cpus, 8), 0);
    assert_refused("error: /chosen/prio: CPU 4 is out of range (the board has 4 CPUs)\n");
    assert_default(0);

    cpus[1] = cpu_to_fdt32(0);
    assert_int_equal(fdt_setprop(fdt, node("/chosen/prio"), "bulkhead,cpus", cpus, 8), 0);
    assert_refused("error: /chosen/prio: names CPU 0 twice\n");

    assert_int_equal(fdt_delprop(fdt, node("/chosen/prio"), "bulkhead,cpus"), 0);
    assert_refused("error: /chosen/prio: needs bulkhead,cpus: the CPUs it schedules, one cell "
                   "each\n");
    assert_default(0);
    assert_default(2);
}

/* A CPU named by two nodes: the second is refused, the first keeps it. */
static void test_cpu_given_twice(void **state)
{
    (void)state;
    /* libfdt adds a node before its siblings: "again" comes first. */
    int again = fdt_add_subnode(fdt, node("/chosen"), "again");
    assert_true(again >= 0);
    assert_int_equal(fdt_setprop_string(fdt, again, "compatible", "bulkhead,schedule"), 0);
    assert_int_equal(fdt_setprop_u32(fdt, again, "bulkhead,cpus", 2), 0);
    assert_int_equal(fdt_setprop_u32(fdt, again, "bulkhead,time-slice-us", 3000), 0);
    assert_refused("error: /chosen/prio: CPU 2 already has a schedule, from /chosen/again\n");
    assert_int_equal(out[2].slice_us, 3000);
    assert_default(0); /* prio's other CPU */
}

static void test_partition_needs_one_cpu_and_a_frame(void **state)
{
    fdt32_t cpus[2] = {cpu_to_fdt32(1), cpu_to_fdt32(3)};
    (void)state;
    assert_int_equal(fdt_del_node(fdt, node("/chosen/part3")), 0);
    assert_int_equal(fdt_setprop(fdt, node("/chosen/part1"), "bulkhead,cpus", cpus, 8), 0);
    assert_refused("error: /chosen/part1: a partition table belongs to one CPU: bulkhead,cpus "
                   "must name one\n");
    assert_default(1);
    assert_default(3);

    set_u32("/chosen/part1", "bulkhead,cpus", 1);
    assert_int_equal(fdt_delprop(fdt, node("/chosen/part1"), "bulkhead,major-frame-us"), 0);
    assert_refused("error: /chosen/part1: the partition policy needs bulkhead,major-frame-us, not "
                   "0\n");
    set_u32("/chosen/part1", "bulkhead,major-frame-us", 0);
    assert_refused("error: /chosen/part1: the partition policy needs bulkhead,major-frame-us, not "
                   "0\n");
}

static void test_window_length_zero(void **state)
{
    (void)state;
    set_windows("/chosen/part1",
                (const struct win[]){{"/chosen/a", 0, 8000}, {"/chosen/b", 10000, 0}}, 2);
    assert_refused("error: /chosen/part1: the window at 10000 us has length 0\n");
    assert_default(1);
}

/* Overlapping windows are named by their starts, in whatever order they were written. */
static void test_windows_overlap(void **state)
{
    (void)state;
    set_windows("/chosen/part1",
                (const struct win[]){{"/chosen/b", 5000, 5000}, {"/chosen/a", 0, 8000}}, 2);
    assert_refused("error: /chosen/part1: the windows at 0 us and at 5000 us overlap\n");
    assert_default(1);

    /* Touching is not overlapping. */
    set_windows("/chosen/part1",
                (const struct win[]){{"/chosen/b", 8000, 5000}, {"/chosen/a", 0, 8000}}, 2);
    assert_int_equal(parse(), 0);
    assert_window(1, 0, 0, 0, 8000);
    assert_window(1, 1, 1, 8000, 5000);
}

static void test_window_past_frame(void **state)
{
    (void)state;
    set_windows("/chosen/part1",
                (const struct win[]){{"/chosen/a", 0, 8000}, {"/chosen/b", 15000, 10000}}, 2);
    assert_refused("error: /chosen/part1: the windows do not fit the 20000 us major frame: the "
                   "window at 15000 us ends at 25000 us\n");
    assert_default(1);

    /* Up to the frame's end exactly is fine. */
    set_windows("/chosen/part1",
                (const struct win[]){{"/chosen/a", 0, 8000}, {"/chosen/b", 15000, 5000}}, 2);
    assert_int_equal(parse(), 0);

    /* start + length beyond 32 bits. */
    set_windows("/chosen/part1",
                (const struct win[]){{"/chosen/a", 0, 8000}, {"/chosen/b", 0xfffff000, 0x2000}}, 2);
    assert_refused("error: /chosen/part1: the windows do not fit the 20000 us major frame: the "
                   "window at 4294963200 us ends at 4294971392 us\n");
}

static void test_window_owner_not_a_vm(void **state)
{
    char line[160];
    (void)state;
    set_windows("/chosen/part1",
                (const struct win[]){{"/chosen/a", 0, 8000}, {"/chosen/notavm", 10000, 5000}}, 2);
    snprintf(line, sizeof(line),
             "error: /chosen/part1: the window at 10000 us: phandle 0x%x is not a VM node "
             "(bulkhead,vm or xen,domain)\n",
             phandle("/chosen/notavm"));
    assert_refused(line);
    assert_default(1);

    fdt32_t dangling[3] = {cpu_to_fdt32(0x7777), 0, cpu_to_fdt32(1000)};
    assert_int_equal(
        fdt_setprop(fdt, node("/chosen/part1"), "bulkhead,windows", dangling, sizeof(dangling)), 0);
    assert_refused("error: /chosen/part1: the window at 0 us: phandle 0x7777 is not a VM node");
}

static void test_window_owner_not_started(void **state)
{
    (void)state;
    set_windows("/chosen/part1",
                (const struct win[]){{"/chosen/a", 0, 8000},
                                     {"/chosen/b", 10000, 5000},
                                     {"/chosen/notstarted", 15000, 5000}},
                3);
    assert_refused("error: /chosen/part1: the window at 15000 us belongs to /chosen/notstarted, "
                   "which is not started\n");

    /* A VM that vmcfg_parse kept but the caller will not run (no RAM, say). */
    set_windows("/chosen/part1",
                (const struct win[]){{"/chosen/a", 0, 8000}, {"/chosen/b", 10000, 5000}}, 2);
    nr_running = 3; /* not d */
    assert_refused("error: /chosen/part3: the window at 1000 us belongs to /chosen/d, which is "
                   "not started\n");
}

static void test_window_owner_not_on_cpu(void **state)
{
    (void)state;
    set_windows("/chosen/part1",
                (const struct win[]){
                    {"/chosen/a", 0, 8000}, {"/chosen/b", 10000, 5000}, {"/chosen/c", 15000, 5000}},
                3);
    assert_refused("error: /chosen/part1: the window at 15000 us belongs to /chosen/c, which has "
                   "no vCPU on CPU 1\n");
    assert_default(1);
}

/* A VM on a partitioned CPU without a window there would never run. */
static void test_vm_without_window(void **state)
{
    (void)state;
    set_windows("/chosen/part1", (const struct win[]){{"/chosen/a", 0, 8000}, {"", 8000, 100}}, 2);
    assert_refused("error: /chosen/part1: /chosen/b has a vCPU on CPU 1 but no window there: it "
                   "would never run\n");
    assert_default(1);

    assert_int_equal(fdt_delprop(fdt, node("/chosen/part1"), "bulkhead,windows"), 0);
    assert_refused("error: /chosen/part1: /chosen/a has a vCPU on CPU 1 but no window there");
}

static void test_windows_malformed(void **state)
{
    struct win many[SCHED_MAX_WINDOWS + 1];
    fdt32_t two[2] = {0, cpu_to_fdt32(1000)};
    (void)state;
    for (unsigned i = 0; i < ARRAY_SIZE(many); i++) {
        many[i] = (struct win){i % 2 ? "/chosen/a" : "/chosen/b", 1000 * i, 1000};
    }
    set_windows("/chosen/part1", many, SCHED_MAX_WINDOWS);
    set_u32("/chosen/part1", "bulkhead,major-frame-us", 1000 * SCHED_MAX_WINDOWS);
    assert_int_equal(parse(), 0);
    assert_int_equal(out[1].nr_windows, SCHED_MAX_WINDOWS);
    assert_window(1, SCHED_MAX_WINDOWS - 1, 0, 1000 * (SCHED_MAX_WINDOWS - 1), 1000);

    set_windows("/chosen/part1", many, SCHED_MAX_WINDOWS + 1);
    assert_refused("error: /chosen/part1: 17 windows: at most 16\n");

    assert_int_equal(fdt_setprop(fdt, node("/chosen/part1"), "bulkhead,windows", two, 8), 0);
    assert_refused("error: /chosen/part1: bulkhead,windows is not a list of <owner start-us "
                   "length-us>\n");
}

/* Every node with a mistake is reported in one run; each leaves only its own CPUs. */
static void test_every_node_reported(void **state)
{
    (void)state;
    set_u32("/chosen/prio", "bulkhead,time-slice-us", 10);
    set_u32("/chosen/part3", "bulkhead,major-frame-us", 1500);
    assert_int_equal(parse(), 2);
    assert_true(capture_contains("error: /chosen/prio: "));
    assert_true(capture_contains("error: /chosen/part3: the windows do not fit the 1500 us major "
                                 "frame: the window at 1000 us ends at 2000 us\n"));
    assert_default(0);
    assert_default(2);
    assert_default(3);
    assert_int_equal(out[1].policy, SCHED_PARTITION);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_good_tree),
        T(test_defaults),
        T(test_slice_too_short),
        T(test_unknown_policy),
        T(test_cpu_mistakes),
        T(test_cpu_given_twice),
        T(test_partition_needs_one_cpu_and_a_frame),
        T(test_window_length_zero),
        T(test_windows_overlap),
        T(test_window_past_frame),
        T(test_window_owner_not_a_vm),
        T(test_window_owner_not_started),
        T(test_window_owner_not_on_cpu),
        T(test_vm_without_window),
        T(test_windows_malformed),
        T(test_every_node_reported),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
