/* The configuration checker (config/check.c): "did you mean", each mistake of issue 16 named
 * with its node and its fix, every problem of a tree reported at once, a clean tree passed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "bulkhead/check.h"
#include "support/capture.h"
#include "support/dtb_file.h"

static void *fdt;

static int teardown(void **state)
{
    (void)state;
    free(fdt);
    fdt = NULL;
    return 0;
}

/* Runs the whole check on a test tree, as the host tool does with its default options (the DTB
 * where QEMU virt puts it, the hypervisor at RAM + 2 MiB). Returns the VMs that would start. */
static int check_tree(const char *name)
{
    const struct check_options opt = {0};

    fdt = dtb_load(name, 0);
    capture_reset();
    return check_config(fdt, &opt);
}

static void test_edit_distance(void **state)
{
    static const char *const known[] = {"bulkhead,vm", "xen,domain", "multiboot,kernel"};
    (void)state;
    assert_int_equal(check_edit_distance("", ""), 0);
    assert_int_equal(check_edit_distance("kitten", "sitting"), 3);
    assert_int_equal(check_edit_distance("bulkhead,vn", "bulkhead,vm"), 1);
    assert_int_equal(check_edit_distance("Bulkhead,VM", "bulkhead,vm"), 0);
    assert_int_equal(check_edit_distance("pcpu", "pcpus"), 1);
    assert_string_equal(check_did_you_mean("bulkhead,vn", known, 3), "bulkhead,vm");
    assert_string_equal(check_did_you_mean("xen,domian", known, 3), "xen,domain");
    assert_string_equal(check_did_you_mean("multiboot,kernal", known, 3), "multiboot,kernel");
    assert_null(check_did_you_mean("bulkhead,vm", known, 3)); /* known: no typo */
    assert_null(check_did_you_mean("simple-bus", known, 3));  /* far from all */
    assert_null(check_did_you_mean("vm", known, 3));
}

static void test_bootargs_did_you_mean(void **state)
{
    struct vm_defaults d;
    (void)state;
    capture_reset();
    assert_int_equal(
        vm_defaults_parse("bulkhead.vm-cpu=2 bulkhead.vm-memroy=1G bulkhead.xyz=1", &d), -1);
    assert_true(capture_contains("error: bootargs: \"bulkhead.vm-cpu=2\": unknown option; did you "
                                 "mean bulkhead.vm-cpus?\n"));
    assert_true(capture_contains("error: bootargs: \"bulkhead.vm-memroy=1G\": unknown option; did "
                                 "you mean bulkhead.vm-memory?\n"));
    assert_true(capture_contains("error: bootargs: \"bulkhead.xyz=1\": unknown option; the "
                                 "hypervisor knows bulkhead.vm-memory"));
}

/* Every mistake of check-mistakes.dts, each on its own line, all in one run. */
static void test_every_mistake_named(void **state)
{
    static const char *const lines[] = {
        "error: bootargs: \"bulkhead.vm-cpu=2\": unknown option; did you mean bulkhead.vm-cpus?\n",
        "error: /chosen/vm0: unknown property \"bulkhead,restart-limt\" is ignored; did you mean "
        "\"bulkhead,restart-limit\"?\n",
        "warning: /chosen/vm0: unknown property \"frobnicate\" is ignored; remove it",
        "error: /chosen/vm0/kernel@50000000: unknown property \"bootarg\" is ignored; did you mean "
        "\"bootargs\"?\n",
        "error: /chosen/vm1: unknown compatible \"bulkhead,vn\": the node is ignored; did you mean "
        "\"bulkhead,vm\"?\n",
        "warning: /chosen/domU1: Xen's \"xen,static-mem\" is not implemented by Bulkhead",
        "error: /chosen/module@54000000: a multiboot,device-tree module at the top of /chosen "
        "belongs to no VM: ignored; move it into",
        "error: /chosen/outside/kernel@c0000000: kernel module 0xc0000000+0x1000 lies outside RAM; "
        "put "
        "it inside RAM, 0x40000000+0x40000000\n",
        "error: /chosen/overhyp/kernel@40300000: kernel module 0x40300000+0x1000 overlaps the "
        "hypervisor (0x40200000+0x400000); load it above 0x40600000\n",
        "error: /chosen/overvm0: kernel module 0x500ff000+0x2000 overlaps the kernel module of "
        "/chosen/vm0; give each module its own range\n",
        "error: /chosen/module@48000000: kernel module 0x48000000+0x1000 overlaps the host DTB "
        "(0x48000000+",
        "error: /chosen/badpriority: bulkhead,priority 300 is out of range (0 to 255)\n",
    };
    (void)state;
    assert_int_equal(check_tree("check-mistakes"), 2); /* vm0 and domU1 */
    for (unsigned i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!capture_contains(lines[i])) {
            fail_msg("missing: %s\nprinted:\n%s", lines[i], capture_text());
        }
    }
    assert_int_equal(capture_count("error: "), 10);
    assert_int_equal(capture_count("warning: "), 2);
    /* Implemented Xen properties are not reported. */
    assert_false(capture_contains("direct-map"));
    assert_false(capture_contains("vpl011"));
    assert_int_equal(capture_count("VM not started"), 5);
}

/* What the hypervisor runs at boot before vmcfg_parse: the same lines for the names it checks. */
static void test_boot_check_same_lines(void **state)
{
    (void)state;
    fdt = dtb_load("check-mistakes", 0);
    capture_reset();
    assert_int_equal(check_chosen(fdt), 4);
    assert_true(capture_contains("error: /chosen/vm1: unknown compatible \"bulkhead,vn\": the node "
                                 "is ignored; did you mean \"bulkhead,vm\"?\n"));
    assert_false(capture_contains("lies outside RAM")); /* vmcfg_parse's, not repeated */
}

/* docs/CONFIG.md's examples: nothing to say. */
static void test_clean_tree(void **state)
{
    (void)state;
    assert_int_equal(check_tree("check-clean"), 2);
    assert_false(capture_contains("error: "));
    assert_false(capture_contains("warning: "));
}

/* Shared memory (check-shmem.dts): both bindings' nodes known (a misspelling gets its "did you
 * mean", a right name nothing), and config/shmem.c's errors in the same run, naming the node. */
static void test_shared_memory(void **state)
{
    static const char *const lines[] = {
        "error: /chosen/shm-typo: unknown property \"siz\" is ignored; did you mean \"size\"?\n",
        "error: /chosen/reader/shm@70000000: unknown property \"bulkhead,acess\" is ignored; did "
        "you mean \"bulkhead,access\"?\n",
        "error: /chosen/reader/shm@71000000: unknown compatible \"bulkhead,shared-memroy-map\": "
        "the "
        "node is ignored; did you mean \"bulkhead,shared-memory-map\"?\n",
        "error: /chosen/domU2/shm@70000000: unknown property \"xen,shm-idd\" is ignored; did you "
        "mean \"xen,shm-id\"?\n",
        "error: /chosen/twosizes/shm@70000000: region \"chan\" is 0x200000 bytes here but 0x100000 "
        "in /chosen/shm-chan\n",
        "error: /chosen/unaligned/shm@70000800: IPA 0x70000800 is not a multiple of 4 KiB\n",
        "error: /chosen/overram/shm@42000000: IPA 0x42000000+0x101000 overlaps the VM's RAM "
        "(0x40000000+0x4000000)\n",
        "bulkhead: /chosen/twosizes: VM not started\n",
        "bulkhead: /chosen/unaligned: VM not started\n",
        "bulkhead: /chosen/overram: VM not started\n",
    };
    (void)state;
    assert_int_equal(check_tree("check-shmem"), 4); /* prod, reader, domU1, domU2 */
    for (unsigned i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!capture_contains(lines[i])) {
            fail_msg("missing: %s\nprinted:\n%s", lines[i], capture_text());
        }
    }
    assert_int_equal(capture_count("error: "), 7);
    assert_int_equal(capture_count("warning: "), 0);
    assert_int_equal(capture_count("VM not started"), 3);
}

/* The DTB's address is the boot loader's: a module clear of QEMU's DTB may overlap another's. */
static void test_dtb_address_option(void **state)
{
    const struct check_options opt = {.dtb_addr = 0x50000000};
    (void)state;
    fdt = dtb_load("check-clean", 0);
    capture_reset();
    assert_int_equal(check_config(fdt, &opt), 1);
    assert_true(capture_contains("error: /chosen/vm0/kernel@50000000: kernel module "
                                 "0x50000000+0x2000000 overlaps the host DTB (0x50000000+"));
}

/* CPU schedules (sched.dts): their properties known (a misspelling gets its "did you mean"), and
 * config/sched_config.c's checks against the VMs that would start, in the same run. */
static void test_schedule(void **state)
{
    const struct check_options opt = {0};
    (void)state;
    fdt = dtb_load("sched", 256);
    assert_int_equal(fdt_open_into(fdt, fdt, (int)fdt_totalsize(fdt) + 256), 0);
    capture_reset();
    assert_int_equal(check_config(fdt, &opt), 4);
    assert_int_equal(capture_count("error: "), 1); /* notstarted's */
    assert_true(capture_contains("error: /chosen/notstarted: no \"multiboot,kernel\" module\n"));

    /* a from 0 to 8000 us, b from 4000 us. */
    const fdt32_t overlapping[] = {
        cpu_to_fdt32(fdt_get_phandle(fdt, fdt_path_offset(fdt, "/chosen/a"))),
        0,
        cpu_to_fdt32(8000),
        cpu_to_fdt32(fdt_get_phandle(fdt, fdt_path_offset(fdt, "/chosen/b"))),
        cpu_to_fdt32(4000),
        cpu_to_fdt32(100)};
    int prio = fdt_path_offset(fdt, "/chosen/prio");
    assert_int_equal(fdt_setprop_u32(fdt, prio, "bulkhead,time-slice", 1000), 0);
    int part1 = fdt_path_offset(fdt, "/chosen/part1"); /* after prio, which grew */
    assert_int_equal(fdt_setprop(fdt, part1, "bulkhead,windows", overlapping, sizeof(overlapping)),
                     0);
    capture_reset();
    assert_int_equal(check_config(fdt, &opt), 4);
    assert_true(capture_contains("error: /chosen/prio: unknown property \"bulkhead,time-slice\" is "
                                 "ignored; did you mean \"bulkhead,time-slice-us\"?\n"));
    assert_true(capture_contains("error: /chosen/part1: the windows at 0 us and at 4000 us "
                                 "overlap\n"));
    assert_int_equal(capture_count("error: "), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit_distance),
        cmocka_unit_test(test_bootargs_did_you_mean),
        cmocka_unit_test_teardown(test_every_mistake_named, teardown),
        cmocka_unit_test_teardown(test_boot_check_same_lines, teardown),
        cmocka_unit_test_teardown(test_clean_tree, teardown),
        cmocka_unit_test_teardown(test_dtb_address_option, teardown),
        cmocka_unit_test_teardown(test_shared_memory, teardown),
        cmocka_unit_test_teardown(test_schedule, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
