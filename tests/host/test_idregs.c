/*
 * el2/idregs.c: what a guest reads in the ID registers. Every feature the hypervisor traps or
 * does not keep its promises for is hidden; the rest is the hardware's value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bulkhead/idregs.h"

#define FIELD(v, shift) (((v) >> (shift)) & 0xfULL)
#define ALL_ONES 0x1111111111111111ULL /* every 4-bit field says "implemented" */

/* FEAT_WFxT (ID_AA64ISAR2_EL1 bits 3:0) is hidden: a trapped WFIT does not keep its deadline, so
 * a guest must not be told it can use one. The other fields stay. */
static void test_wfxt_is_hidden(void **state)
{
    (void)state;

    uint64_t v = idreg_sanitize(ID_AA64ISAR2_EL1, 0x2ULL, 0); /* WFxT = 0b0010 */
    assert_int_equal(FIELD(v, 0), 0);
    v = idreg_sanitize(ID_AA64ISAR2_EL1, ALL_ONES | 0x2ULL, 0);
    assert_int_equal(v, ALL_ONES & ~0xfULL);
    assert_true(idreg_is_feature_space(ID_AA64ISAR2_EL1));
}

/* SVE and SME, whose instructions trap to an UNDEF, are not advertised. */
static void test_sve_and_sme_are_hidden(void **state)
{
    (void)state;

    assert_int_equal(FIELD(idreg_sanitize(ID_AA64PFR0_EL1, ALL_ONES, 0), 32), 0); /* SVE */
    assert_int_equal(FIELD(idreg_sanitize(ID_AA64PFR0_EL1, ALL_ONES, 0), 16), 1); /* AdvSIMD */
    assert_int_equal(FIELD(idreg_sanitize(ID_AA64PFR1_EL1, ALL_ONES, 0), 24), 0); /* SME */
    assert_int_equal(FIELD(idreg_sanitize(ID_AA64PFR1_EL1, ALL_ONES, 0), 8), 0);  /* MTE */
    assert_int_equal(idreg_sanitize(ID_AA64ZFR0_EL1, ~0ULL, 0), 0);
    assert_int_equal(idreg_sanitize(ID_AA64SMFR0_EL1, ~0ULL, 0), 0);
}

static void test_parange_is_stage2_input_size(void **state)
{
    (void)state;

    assert_int_equal(idreg_sanitize(ID_AA64MMFR0_EL1, 0x1125, 2), 0x1122);
    assert_int_equal(idreg_sanitize(ID_AA64MMFR0_EL1, 0x1121, 2), 0x1121);
}

static void test_feature_space(void **state)
{
    (void)state;

    assert_true(idreg_is_feature_space(SYSREG_ENC(3, 0, 0, 1, 0)));
    assert_true(idreg_is_feature_space(SYSREG_ENC(3, 0, 0, 7, 7)));
    assert_false(idreg_is_feature_space(SYSREG_ENC(3, 0, 0, 0, 0))); /* MIDR_EL1 */
    assert_false(idreg_is_feature_space(SYSREG_ENC(3, 1, 0, 6, 2)));
    assert_false(idreg_is_feature_space(SYSREG_ENC(3, 0, 1, 6, 2)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wfxt_is_hidden),
        cmocka_unit_test(test_sve_and_sme_are_hidden),
        cmocka_unit_test(test_parange_is_stage2_input_size),
        cmocka_unit_test(test_feature_space),
    };

    return cmocka_run_group_tests_name("idregs", tests, NULL, NULL);
}
