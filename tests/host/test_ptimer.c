/*
 * vtimer/ptimer.c: the emulated EL1 physical timer (CNTP_CTL_EL0, CNTP_TVAL_EL0, CNTP_CVAL_EL0)
 * against the Arm ARM (DDI0487, D11 "The Generic Timer in AArch64 state" and the register
 * descriptions):
 *   - the timer condition is met when ENABLE is 1 and CNTPCT >= CVAL (unsigned 64-bit);
 *   - CTL.ISTATUS (bit 2) is read-only and reports the condition, whatever IMASK says;
 *   - the interrupt line is asserted when ENABLE = 1, ISTATUS = 1 and IMASK = 0;
 *   - TVAL reads (CVAL - CNTPCT)[31:0] (a signed 32-bit down-counter, bits [63:32] RES0) while
 *     ENABLE is 1, and a write sets CVAL = CNTPCT + SignExtend(TVAL[31:0]).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bulkhead/vtimer.h"

#define ENABLE CNT_CTL_ENABLE
#define IMASK CNT_CTL_IMASK
#define ISTATUS CNT_CTL_ISTATUS

static struct ptimer armed(uint64_t cval, uint32_t ctl)
{
    return (struct ptimer){.cval = cval, .ctl = ctl};
}

static void test_istatus_clear_before_cval_and_set_from_cval_on(void **state)
{
    struct ptimer t = armed(1000, ENABLE);

    (void)state;
    assert_int_equal(ptimer_read_ctl(&t, 0), ENABLE);
    assert_int_equal(ptimer_read_ctl(&t, 999), ENABLE);
    assert_int_equal(ptimer_read_ctl(&t, 1000), ENABLE | ISTATUS);
    assert_int_equal(ptimer_read_ctl(&t, 1001), ENABLE | ISTATUS);
    assert_int_equal(ptimer_read_ctl(&t, UINT64_MAX), ENABLE | ISTATUS);
    assert_false(ptimer_fired(&t, 999));
    assert_true(ptimer_fired(&t, 1000));
}

static void test_condition_is_an_unsigned_64_bit_comparison(void **state)
{
    /* CVAL beyond 2^63: a signed comparison would call it expired at small counts. */
    struct ptimer t = armed(0x8000000000000000ull, ENABLE);

    (void)state;
    assert_false(ptimer_fired(&t, 5));
    assert_false(ptimer_fired(&t, 0x7fffffffffffffffull));
    assert_true(ptimer_fired(&t, 0x8000000000000000ull));
    assert_false(ptimer_read_ctl(&t, 5) & ISTATUS);
}

static void test_istatus_reports_condition_even_when_masked(void **state)
{
    struct ptimer t = armed(100, ENABLE | IMASK);

    (void)state;
    assert_int_equal(ptimer_read_ctl(&t, 99), ENABLE | IMASK);
    assert_int_equal(ptimer_read_ctl(&t, 100), ENABLE | IMASK | ISTATUS);
    assert_true(ptimer_fired(&t, 100));
}

static void test_line_needs_enable_condition_and_no_mask(void **state)
{
    struct ptimer t = armed(100, ENABLE);

    (void)state;
    assert_false(ptimer_line(&t, 99));
    assert_true(ptimer_line(&t, 100));
    assert_true(ptimer_line(&t, 5000));

    t.ctl = ENABLE | IMASK;
    assert_false(ptimer_line(&t, 5000));

    t.ctl = 0;
    assert_false(ptimer_line(&t, 5000));
    assert_false(ptimer_fired(&t, 5000));

    t.ctl = IMASK;
    assert_false(ptimer_line(&t, 5000));
}

static void test_disabled_timer_never_asserts_its_line(void **state)
{
    struct ptimer t = armed(0, 0);

    (void)state;
    /* CVAL = 0 is always in the past: only ENABLE keeps the line low. */
    for (uint64_t now = 0; now < 4; now++) {
        assert_false(ptimer_line(&t, now));
    }
}

static void test_ctl_write_keeps_enable_and_imask_only(void **state)
{
    struct ptimer t = armed(1000, 0);

    (void)state;
    ptimer_write_ctl(&t, ENABLE | IMASK);
    assert_int_equal(ptimer_read_ctl(&t, 0), ENABLE | IMASK);
    ptimer_write_ctl(&t, IMASK);
    assert_int_equal(ptimer_read_ctl(&t, 0), IMASK);
    ptimer_write_ctl(&t, 0);
    assert_int_equal(ptimer_read_ctl(&t, 0), 0);
    /* Bits [63:3] are RES0: they read as zero whatever was written. */
    ptimer_write_ctl(&t, 0xfffffffffffffff8ull | ENABLE);
    assert_int_equal(ptimer_read_ctl(&t, 0), ENABLE);
}

static void test_istatus_is_read_only(void **state)
{
    struct ptimer t = armed(1000, 0);

    (void)state;
    /* Not expired: writing ISTATUS = 1 must not make it read as 1. */
    ptimer_write_ctl(&t, ENABLE | ISTATUS);
    assert_int_equal(ptimer_read_ctl(&t, 10), ENABLE);
    assert_false(ptimer_line(&t, 10));
    /* Expired: writing ISTATUS = 0 must not clear it. */
    ptimer_write_ctl(&t, ENABLE);
    assert_int_equal(ptimer_read_ctl(&t, 1000), ENABLE | ISTATUS);
}

static void test_tval_reads_positive_count_down_before_expiry(void **state)
{
    struct ptimer t = armed(10000, ENABLE);

    (void)state;
    assert_int_equal(ptimer_read_tval(&t, 0), 10000);
    assert_int_equal(ptimer_read_tval(&t, 9000), 1000);
    assert_int_equal(ptimer_read_tval(&t, 9999), 1);
    assert_int_equal(ptimer_read_tval(&t, 10000), 0);
}

static void test_tval_reads_negative_after_expiry_with_upper_bits_zero(void **state)
{
    struct ptimer t = armed(10000, ENABLE);

    (void)state;
    uint64_t v = ptimer_read_tval(&t, 10001);
    assert_int_equal(v >> 32, 0); /* bits [63:32] RES0 */
    assert_int_equal((int32_t)(uint32_t)v, -1);
    assert_int_equal((int32_t)(uint32_t)ptimer_read_tval(&t, 10500), -500);
    assert_int_equal(ptimer_read_tval(&t, 10500), 0xfffffe0cull);
}

static void test_tval_read_is_truncated_to_32_bits(void **state)
{
    struct ptimer t = armed(0x100000010ull, ENABLE);

    (void)state;
    /* CVAL - CNTPCT = 0x1_0000_0010: only [31:0] are visible. */
    assert_int_equal(ptimer_read_tval(&t, 0), 0x10);
    t.cval = 0x80000000ull;
    assert_int_equal((int32_t)(uint32_t)ptimer_read_tval(&t, 0), INT32_MIN);
}

static void test_tval_write_sets_cval_to_now_plus_value(void **state)
{
    struct ptimer t = armed(0, ENABLE);

    (void)state;
    ptimer_write_tval(&t, 500, 123456789);
    assert_int_equal(t.cval, 123456789 + 500);
    assert_int_equal(ptimer_read_tval(&t, 123456789), 500);
    assert_int_equal(ptimer_read_tval(&t, 123456789 + 200), 300);

    ptimer_write_tval(&t, 0x7fffffff, 1000);
    assert_int_equal(t.cval, 1000 + 0x7fffffffull);
}

static void test_tval_write_sign_extends_negative_values(void **state)
{
    struct ptimer t = armed(0, ENABLE);

    (void)state;
    ptimer_write_tval(&t, 0xffffffffu, 1000000);
    assert_int_equal(t.cval, 1000000 - 1);
    assert_true(ptimer_fired(&t, 1000000));

    ptimer_write_tval(&t, 0x80000000u, 0x100000000ull);
    assert_int_equal(t.cval, 0x100000000ull - 0x80000000ull);
}

static void test_tval_write_ignores_bits_63_32(void **state)
{
    struct ptimer t = armed(0, ENABLE);

    (void)state;
    ptimer_write_tval(&t, 0xdeadbeef00000010ull, 5000);
    assert_int_equal(t.cval, 5000 + 16);
    ptimer_write_tval(&t, 0x00000001fffffff0ull, 5000);
    assert_int_equal(t.cval, 5000 - 16);
}

static void test_tval_write_zero_fires_immediately(void **state)
{
    struct ptimer t = armed(UINT64_MAX, ENABLE);

    (void)state;
    assert_false(ptimer_line(&t, 777));
    ptimer_write_tval(&t, 0, 777);
    assert_int_equal(t.cval, 777);
    assert_true(ptimer_line(&t, 777));
    assert_int_equal(ptimer_read_ctl(&t, 777), ENABLE | ISTATUS);
}

static void test_line_follows_time_and_control_changes(void **state)
{
    struct ptimer t = {0};

    (void)state;
    ptimer_write_ctl(&t, ENABLE | IMASK);
    ptimer_write_tval(&t, 100, 1000); /* CVAL = 1100 */
    assert_false(ptimer_line(&t, 1050));
    assert_false(ptimer_line(&t, 1100)); /* masked */
    assert_int_equal(ptimer_read_ctl(&t, 1100), ENABLE | IMASK | ISTATUS);
    ptimer_write_ctl(&t, ENABLE); /* unmask: the line rises at once */
    assert_true(ptimer_line(&t, 1100));
    ptimer_write_tval(&t, 50, 1100); /* re-arm in the future: the line falls */
    assert_false(ptimer_line(&t, 1100));
    assert_int_equal(ptimer_read_ctl(&t, 1100), ENABLE);
    assert_true(ptimer_line(&t, 1150));
    ptimer_write_ctl(&t, 0); /* disable: the line falls */
    assert_false(ptimer_line(&t, 1150));
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
    const struct CMUnitTest tests[] = {
        T(test_istatus_clear_before_cval_and_set_from_cval_on),
        T(test_condition_is_an_unsigned_64_bit_comparison),
        T(test_istatus_reports_condition_even_when_masked),
        T(test_line_needs_enable_condition_and_no_mask),
        T(test_disabled_timer_never_asserts_its_line),
        T(test_ctl_write_keeps_enable_and_imask_only),
        T(test_istatus_is_read_only),
        T(test_tval_reads_positive_count_down_before_expiry),
        T(test_tval_reads_negative_after_expiry_with_upper_bits_zero),
        T(test_tval_read_is_truncated_to_32_bits),
        T(test_tval_write_sets_cval_to_now_plus_value),
        T(test_tval_write_sign_extends_negative_values),
        T(test_tval_write_ignores_bits_63_32),
        T(test_tval_write_zero_fires_immediately),
        T(test_line_follows_time_and_control_changes),
    };
#undef T

    return cmocka_run_group_tests_name("ptimer", tests, NULL, NULL);
}
