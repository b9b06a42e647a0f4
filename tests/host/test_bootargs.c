/* vm_defaults_parse(): the bulkhead.* options of the hypervisor's bootargs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/config.h"
#include "support/capture.h"

static struct vm_defaults d;

static int parse(const char *args)
{
    memset(&d, 0xa5, sizeof(d));
    capture_reset();
    return vm_defaults_parse(args, &d);
}

static void test_empty(void **state)
{
    (void)state;
    assert_int_equal(parse(""), 0);
    assert_int_equal(d.mem_size, 0);
    assert_int_equal(d.nr_vcpus, 0);
    assert_int_equal(parse("   \t "), 0);
    assert_int_equal(parse(NULL), 0);
    assert_int_equal(d.mem_size, 0);
}

static void test_sizes(void **state)
{
    (void)state;
    assert_int_equal(parse("bulkhead.vm-memory=256M"), 0);
    assert_int_equal(d.mem_size, MiB(256));
    assert_int_equal(d.nr_vcpus, 0);
    assert_int_equal(parse("bulkhead.vm-memory=1G"), 0);
    assert_int_equal(d.mem_size, GiB(1));
    assert_int_equal(parse("bulkhead.vm-memory=4096k"), 0);
    assert_int_equal(d.mem_size, MiB(4));
    assert_int_equal(parse("bulkhead.vm-memory=2097152"), 0);
    assert_int_equal(d.mem_size, MiB(2));
    assert_int_equal(parse("bulkhead.vm-memory=0x10000000"), 0);
    assert_int_equal(d.mem_size, MiB(256));
    assert_int_equal(parse("bulkhead.vm-memory=0x200g"), 0);
    assert_int_equal(d.mem_size, GiB(512));
    assert_string_equal(capture_text(), "");
}

static void test_cpus_and_other_tokens(void **state)
{
    (void)state;
    assert_int_equal(parse("console=ttyAMA0 bulkhead.vm-cpus=2  earlycon bulkhead.vm-memory=64M"),
                     0);
    assert_int_equal(d.nr_vcpus, 2);
    assert_int_equal(d.mem_size, MiB(64));
    /* A misspelled option of ours is named, not ignored; the good ones still apply. */
    assert_int_equal(parse("bulkhead.vm-cpus=2 bulkhead.other=1 bulkhead.vm-cpusx=3 "
                           "bulkhead.vm-memory bulkhead.vm-cpu=2"),
                     -1);
    assert_int_equal(d.nr_vcpus, 2);
    assert_true(capture_contains("\"bulkhead.vm-cpu=2\": unknown option"));
    assert_true(capture_contains("\"bulkhead.other=1\": unknown option"));
    assert_true(capture_contains("bulkhead.on-crash"));
    assert_int_equal(parse("bulkhead.vm-cpus=1 bulkhead.vm-cpus=8"), 0); /* the last one wins */
    assert_int_equal(d.nr_vcpus, MAX_VCPUS);
    assert_string_equal(capture_text(), "");
}

static void test_on_crash(void **state)
{
    (void)state;
    assert_int_equal(parse(""), 0);
    assert_int_equal(d.on_crash, VM_ON_CRASH_STOP);
    assert_int_equal(parse("bulkhead.on-crash=restart"), 0);
    assert_int_equal(d.on_crash, VM_ON_CRASH_RESTART);
    assert_int_equal(parse("bulkhead.on-crash=reset-machine"), 0);
    assert_int_equal(d.on_crash, VM_ON_CRASH_RESET_MACHINE);
    assert_int_equal(parse("bulkhead.on-crash=reboot"), -1);
    assert_true(
        capture_contains("\"bulkhead.on-crash=reboot\": not stop, restart or reset-machine"));
}

static void test_bad_values_name_the_token(void **state)
{
    static const char *const bad[] = {
        "bulkhead.vm-memory=3M",
        "bulkhead.vm-memory=1000000",
        "bulkhead.vm-memory=0",
        "bulkhead.vm-memory=",
        "bulkhead.vm-memory=M",
        "bulkhead.vm-memory=12T",
        "bulkhead.vm-memory=-2M",
        "bulkhead.vm-memory=2M,",
        "bulkhead.vm-memory=0x",
        "bulkhead.vm-memory=99999999999999999999",
        "bulkhead.vm-memory=0x7fffffffffffffffG",
        "bulkhead.vm-cpus=0",
        "bulkhead.vm-cpus=9",
        "bulkhead.vm-cpus=",
        "bulkhead.vm-cpus=two",
        "bulkhead.vm-cpus=4294967297",
    };
    char expected[96];
    (void)state;

    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(bad[i]), -1);
        snprintf(expected, sizeof(expected), "error: bootargs: \"%s\": ", bad[i]);
        if (!capture_contains(expected)) {
            fail_msg("%s: message \"%s\"", bad[i], capture_text());
        }
        assert_int_equal(d.mem_size, 0);
        assert_int_equal(d.nr_vcpus, 0);
    }
}

static void test_all_mistakes_reported_and_good_ones_kept(void **state)
{
    (void)state;
    assert_int_equal(parse("bulkhead.vm-memory=3M quiet bulkhead.vm-cpus=2 bulkhead.vm-cpus=99"),
                     -1);
    assert_int_equal(capture_count("error:"), 2);
    assert_true(capture_contains("\"bulkhead.vm-memory=3M\": VM memory must be a multiple of 2M"));
    assert_true(capture_contains("\"bulkhead.vm-cpus=99\": not a vCPU count from 1 to 8"));
    assert_int_equal(d.nr_vcpus, 2);
    assert_int_equal(d.mem_size, 0);
}

static void test_long_token_is_quoted_truncated(void **state)
{
    char args[300] = "bulkhead.vm-memory=";
    (void)state;

    memset(args + strlen(args), '7', 200);
    assert_int_equal(parse(args), -1);
    assert_true(capture_contains("\"bulkhead.vm-memory=77777"));
    assert_true(strlen(capture_text()) < 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_cpus_and_other_tokens),
        cmocka_unit_test(test_on_crash),
        cmocka_unit_test(test_bad_values_name_the_token),
        cmocka_unit_test(test_all_mistakes_reported_and_good_ones_kept),
        cmocka_unit_test(test_long_token_is_quoted_truncated),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
