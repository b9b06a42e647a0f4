/*
 * el2/esr.c against the ESR_EL2 layouts of the Arm ARM (D24 ESR_EL2): data-abort ISS,
 * MSR/MRS/SYS trap ISS, HPFAR_EL2.FIPA, and what a trapped load leaves in its register.
 * Syndromes are assembled here from their fields, plus a few literal values QEMU reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/esr.h"

/* Data abort ISS (EC 0x24/0x25). */
#define ISS_ISV (1u << 24)
#define ISS_SAS(s) ((uint32_t)(s) << 22) /* 0: byte, 1: halfword, 2: word, 3: doubleword */
#define ISS_SSE (1u << 21)
#define ISS_SRT(r) ((uint32_t)(r) << 16)
#define ISS_SF (1u << 15)
#define ISS_S1PTW (1u << 7)
#define ISS_WNR (1u << 6)

#define EC_SHIFT 26
#define IL (1u << 25)

static uint64_t esr_of(unsigned ec, uint32_t iss)
{
    return ((uint64_t)ec << EC_SHIFT) | IL | iss;
}

/* MSR/MRS/SYS trap ISS (EC 0x18): Op0 21:20, Op2 19:17, Op1 16:14, CRn 13:10, Rt 9:5,
 * CRm 4:1, Direction bit 0 (1 = read, MRS). */
static uint64_t sysreg_esr(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2,
                           unsigned rt, bool read)
{
    uint32_t iss = (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) |
                   (read ? 1u : 0u);
    return esr_of(0x18, iss);
}

static void test_dabt_literal_qemu_64bit_load(void **state)
{
    struct dabt_info d;
    (void)state;

    /* 0x93c18006: EC 0x24, IL, ISV, SAS 3, SSE 0, SRT 1, SF 1, WnR 0, DFSC 0b000110. */
    assert_int_equal(ESR_EC(0x93c18006ULL), 0x24);
    memset(&d, 0xa5, sizeof(d));
    esr_decode_dabt(0x93c18006ULL, 0x9000000, &d);
    assert_true(d.isv);
    assert_false(d.s1ptw);
    assert_false(d.write);
    assert_int_equal(d.fsc, 0x06);
    assert_int_equal(d.fsc & FSC_TYPE_MASK, FSC_TRANSLATION);
    assert_int_equal(d.fsc & 3, 2); /* level 2 */
    assert_int_equal(d.access.ipa, 0x9000000);
    assert_int_equal(d.access.size, 8);
    assert_int_equal(d.access.reg, 1);
    assert_false(d.access.write);
    assert_false(d.access.sign_extend);
    assert_true(d.access.reg64);
}

static void test_dabt_literal_qemu_64bit_store(void **state)
{
    struct dabt_info d;
    (void)state;

    /* 0x93c08046: ISV, SAS 3, SRT 0, SF 1, WnR 1, DFSC 6. */
    memset(&d, 0xa5, sizeof(d));
    esr_decode_dabt(0x93c08046ULL, 0x9000018, &d);
    assert_true(d.isv);
    assert_true(d.write);
    assert_true(d.access.write);
    assert_int_equal(d.access.size, 8);
    assert_int_equal(d.access.reg, 0);
    assert_true(d.access.reg64);
    assert_false(d.access.sign_extend);
    assert_false(d.s1ptw);
    assert_int_equal(d.fsc, 0x06);
    assert_int_equal(d.access.ipa, 0x9000018);
}

static void test_dabt_literal_without_syndrome(void **state)
{
    struct dabt_info d;
    (void)state;

    /* 0x92000005: EC 0x24, IL, ISV 0, DFSC 5 = translation fault, level 1. */
    memset(&d, 0xa5, sizeof(d));
    esr_decode_dabt(0x92000005ULL, 0x40000000, &d);
    assert_int_equal(ESR_EC(0x92000005ULL), EC_DABT_LOW);
    assert_false(d.isv);
    assert_false(d.write);
    assert_false(d.s1ptw);
    assert_int_equal(d.fsc, 0x05);
    assert_int_equal(d.fsc & FSC_TYPE_MASK, FSC_TRANSLATION);
    assert_int_equal(d.fsc & 3, 1);
    assert_int_equal(d.access.ipa, 0x40000000);
}

static void test_dabt_access_sizes_from_sas(void **state)
{
    static const unsigned sizes[4] = {1, 2, 4, 8};
    (void)state;

    for (unsigned sas = 0; sas < 4; sas++) {
        struct dabt_info d;
        esr_decode_dabt(esr_of(0x24, ISS_ISV | ISS_SAS(sas) | ISS_SRT(7) | 0x07), 0x1000, &d);
        assert_true(d.isv);
        assert_int_equal(d.access.size, sizes[sas]);
        assert_int_equal(d.access.reg, 7);
    }
}

static void test_dabt_sign_extending_byte_load_into_w(void **state)
{
    struct dabt_info d;
    (void)state;

    /* LDRSB w3, [x0]: SAS 0, SSE 1, SRT 3, SF 0. */
    esr_decode_dabt(esr_of(0x24, ISS_ISV | ISS_SAS(0) | ISS_SSE | ISS_SRT(3) | 0x07), 0x2000, &d);
    assert_int_equal(d.access.size, 1);
    assert_true(d.access.sign_extend);
    assert_int_equal(d.access.reg, 3);
    assert_false(d.access.reg64);
    assert_false(d.access.write);
    assert_int_equal(d.fsc, 0x07);
}

static void test_dabt_halfword_store_with_xzr(void **state)
{
    struct dabt_info d;
    (void)state;

    /* STRH wzr, [x1]: SAS 1, SRT 31, SF 0, WnR 1; a permission fault at level 3. */
    esr_decode_dabt(esr_of(0x24, ISS_ISV | ISS_SAS(1) | ISS_SRT(31) | ISS_WNR | 0x0f), 0x3002, &d);
    assert_int_equal(d.access.size, 2);
    assert_int_equal(d.access.reg, 31);
    assert_true(d.access.write);
    assert_true(d.write);
    assert_false(d.access.sign_extend);
    assert_false(d.access.reg64);
    assert_int_equal(d.fsc & FSC_TYPE_MASK, FSC_PERMISSION);
}

static void test_dabt_field_isolation(void **state)
{
    struct dabt_info d;
    (void)state;

    /* Each field on its own, everything else zero: no bleeding between neighbours. */
    esr_decode_dabt(esr_of(0x24, ISS_ISV | ISS_SF), 0, &d);
    assert_true(d.access.reg64);
    assert_int_equal(d.access.reg, 0);
    assert_false(d.access.sign_extend);
    assert_false(d.write);
    assert_int_equal(d.fsc, 0);

    esr_decode_dabt(esr_of(0x24, ISS_ISV | ISS_SRT(16)), 0, &d);
    assert_int_equal(d.access.reg, 16);
    assert_false(d.access.reg64);
    assert_false(d.access.sign_extend);
    assert_int_equal(d.access.size, 1);

    esr_decode_dabt(esr_of(0x24, ISS_ISV | ISS_SSE), 0, &d);
    assert_true(d.access.sign_extend);
    assert_int_equal(d.access.reg, 0);
    assert_int_equal(d.access.size, 1);

    /* DFSC is six bits: 0x3f must not leak into WnR or S1PTW. */
    esr_decode_dabt(esr_of(0x24, ISS_ISV | 0x3f), 0, &d);
    assert_int_equal(d.fsc, 0x3f);
    assert_false(d.write);
    assert_false(d.s1ptw);

    /* Bits 14:8 (AR, VNCR, SET, FnV, EA, CM) change none of the decoded fields. */
    esr_decode_dabt(esr_of(0x24, ISS_ISV | ISS_SAS(2) | ISS_SRT(5) | (0x7fu << 8) | 0x04), 0, &d);
    assert_int_equal(d.access.size, 4);
    assert_int_equal(d.access.reg, 5);
    assert_false(d.access.reg64);
    assert_false(d.access.sign_extend);
    assert_false(d.write);
    assert_false(d.s1ptw);
    assert_int_equal(d.fsc, 0x04);
}

static void test_dabt_stage1_walk_fault(void **state)
{
    struct dabt_info d;
    (void)state;

    /* The guest's own table walk hit stage 2: S1PTW set, ISV clear; WnR still reported. */
    esr_decode_dabt(esr_of(0x24, ISS_S1PTW | ISS_WNR | 0x07), 0x48000000, &d);
    assert_true(d.s1ptw);
    assert_false(d.isv);
    assert_true(d.write);
    assert_int_equal(d.fsc, 0x07);
    assert_int_equal(d.access.ipa, 0x48000000);
}

static void test_dabt_current_el_class_decodes_the_same(void **state)
{
    struct dabt_info low, cur;
    uint32_t iss = ISS_ISV | ISS_SAS(2) | ISS_SRT(9) | ISS_WNR | 0x06;
    (void)state;

    esr_decode_dabt(esr_of(0x24, iss), 0x100, &low);
    esr_decode_dabt(esr_of(0x25, iss), 0x100, &cur);
    assert_int_equal(cur.access.size, 4);
    assert_int_equal(cur.access.reg, 9);
    assert_true(cur.write);
    assert_int_equal(low.access.size, cur.access.size);
    assert_int_equal(low.access.reg, cur.access.reg);
    assert_int_equal(low.write, cur.write);
    assert_int_equal(low.fsc, cur.fsc);
}

static void test_fault_ipa_from_hpfar_and_far(void **state)
{
    (void)state;

    /* HPFAR_EL2.FIPA (bits 43:4) holds IPA[51:12]; FAR_EL2 gives the offset in the page, the
     * rest of FAR being a guest virtual address. */
    uint64_t ipa = 0x09000018;
    uint64_t hpfar = (ipa >> 12) << 4;
    assert_int_equal(hpfar, 0x90000);
    assert_int_equal(fault_ipa(hpfar, 0xffff800012345018ULL), ipa);
    assert_int_equal(fault_ipa(0x90000, 0x18), 0x09000018);

    /* A 48-bit IPA, and a 52-bit one (FEAT_LPA: FIPA reaches bit 43). */
    assert_int_equal(fault_ipa((0xfedcba987ULL << 4), 0xabc), 0xfedcba987abcULL);
    uint64_t ipa52 = 0x000fedcba9876000ULL;
    assert_int_equal(fault_ipa((ipa52 >> 12) << 4, 0x123), ipa52 | 0x123);

    /* Bits 3:0 of HPFAR are RES0 and bit 63 is NS (Secure EL2): neither is address. */
    assert_int_equal(fault_ipa(hpfar | 0xf | (1ULL << 63), 0x18), ipa);
}

static void test_sysreg_mrs_cntp_ctl_el0(void **state)
{
    struct sysreg_access s;
    (void)state;

    /* MRS x5, CNTP_CTL_EL0: op0 3, op1 3, CRn 14, CRm 2, op2 1. ISS worked out by hand. */
    uint64_t esr = sysreg_esr(3, 3, 14, 2, 1, 5, true);
    assert_int_equal(esr, 0x6232f8a5ULL);
    memset(&s, 0xa5, sizeof(s));
    esr_decode_sysreg(esr, &s);
    assert_int_equal(s.encoding, SYSREG_ENC(3, 3, 14, 2, 1));
    assert_int_equal(s.reg, 5);
    assert_true(s.read);
}

static void test_sysreg_dc_cisw_is_a_write(void **state)
{
    struct sysreg_access s;
    (void)state;

    /* DC CISW, x2 = SYS #0, C7, C14, #2, x2: op0 1, op1 0, CRn 7, CRm 14, op2 2, a write. */
    uint64_t esr = sysreg_esr(1, 0, 7, 14, 2, 2, false);
    assert_int_equal(esr, 0x62141c5cULL);
    memset(&s, 0xa5, sizeof(s));
    esr_decode_sysreg(esr, &s);
    assert_int_equal(s.encoding, SYSREG_ENC(1, 0, 7, 14, 2));
    assert_int_equal(s.reg, 2);
    assert_false(s.read);
}

static void test_sysreg_fields_do_not_alias(void **state)
{
    struct sysreg_access s;
    (void)state;

    /* MSR ICC_SGI1R_EL1, xzr: op0 3, op1 0, CRn 12, CRm 11, op2 5, Rt 31. */
    esr_decode_sysreg(sysreg_esr(3, 0, 12, 11, 5, 31, false), &s);
    assert_int_equal(s.encoding, SYSREG_ENC(3, 0, 12, 11, 5));
    assert_int_equal(s.reg, 31);
    assert_false(s.read);

    /* All-ones in every field, one at a time. */
    esr_decode_sysreg(sysreg_esr(3, 0, 0, 0, 0, 0, false), &s);
    assert_int_equal(s.encoding, SYSREG_ENC(3, 0, 0, 0, 0));
    esr_decode_sysreg(sysreg_esr(0, 7, 0, 0, 0, 0, false), &s);
    assert_int_equal(s.encoding, SYSREG_ENC(0, 7, 0, 0, 0));
    esr_decode_sysreg(sysreg_esr(0, 0, 15, 0, 0, 0, false), &s);
    assert_int_equal(s.encoding, SYSREG_ENC(0, 0, 15, 0, 0));
    esr_decode_sysreg(sysreg_esr(0, 0, 0, 15, 0, 0, false), &s);
    assert_int_equal(s.encoding, SYSREG_ENC(0, 0, 0, 15, 0));
    esr_decode_sysreg(sysreg_esr(0, 0, 0, 0, 7, 0, false), &s);
    assert_int_equal(s.encoding, SYSREG_ENC(0, 0, 0, 0, 7));
    assert_int_equal(s.reg, 0);
    esr_decode_sysreg(sysreg_esr(0, 0, 0, 0, 0, 31, true), &s);
    assert_int_equal(s.encoding, 0);
    assert_int_equal(s.reg, 31);
    assert_true(s.read);

    /* Distinct registers get distinct encodings. */
    assert_int_not_equal(SYSREG_ENC(3, 3, 14, 2, 1), SYSREG_ENC(3, 3, 14, 3, 1));
    assert_int_not_equal(SYSREG_ENC(3, 3, 14, 2, 1), SYSREG_ENC(3, 3, 14, 2, 2));
}

static uint64_t load(unsigned size, bool sign, bool reg64, uint64_t raw)
{
    struct mmio_access a = {.size = (uint8_t)size, .sign_extend = sign, .reg64 = reg64};

    return mmio_load_value(&a, raw);
}

static void test_load_value_zero_extends_unsigned_loads(void **state)
{
    (void)state;

    /* LDRB/LDRH/LDR Wt zero-extend; only the access size counts, whatever the device left
     * above it. */
    assert_int_equal(load(1, false, false, 0x80), 0x80);
    assert_int_equal(load(1, false, true, 0xabcdef80), 0x80);
    assert_int_equal(load(2, false, true, 0xffff8001ULL), 0x8001);
    assert_int_equal(load(2, false, false, 0x12348001ULL), 0x8001);
    assert_int_equal(load(4, false, true, 0xdeadbeef80000000ULL), 0x80000000ULL);
    assert_int_equal(load(4, false, false, 0xdeadbeef12345678ULL), 0x12345678);
    assert_int_equal(load(8, false, true, 0xdeadbeef12345678ULL), 0xdeadbeef12345678ULL);
}

static void test_load_value_sign_extends_into_w(void **state)
{
    (void)state;

    /* LDRSB/LDRSH Wt: sign-extended to 32 bits, the upper half of Xt cleared. */
    assert_int_equal(load(1, true, false, 0x80), 0xffffff80ULL);
    assert_int_equal(load(1, true, false, 0x7f), 0x7f);
    assert_int_equal(load(1, true, false, 0xff), 0xffffffffULL);
    assert_int_equal(load(2, true, false, 0x8001), 0xffff8001ULL);
    assert_int_equal(load(2, true, false, 0x7fff), 0x7fff);
    assert_int_equal(load(2, true, false, 0xaaaa0123ULL), 0x0123);
    /* A word into a W register has nothing to extend. */
    assert_int_equal(load(4, true, false, 0x80000000ULL), 0x80000000ULL);
}

static void test_load_value_sign_extends_into_x(void **state)
{
    (void)state;

    /* LDRSB/LDRSH/LDRSW Xt: sign-extended to 64 bits. */
    assert_int_equal(load(1, true, true, 0x80), 0xffffffffffffff80ULL);
    assert_int_equal(load(1, true, true, 0x1234567f), 0x7f);
    assert_int_equal(load(2, true, true, 0x8001), 0xffffffffffff8001ULL);
    assert_int_equal(load(2, true, true, 0x7fff), 0x7fff);
    assert_int_equal(load(4, true, true, 0x80000000ULL), 0xffffffff80000000ULL);
    assert_int_equal(load(4, true, true, 0xffffffff7fffffffULL), 0x7fffffffULL);
    assert_int_equal(load(8, true, true, 0x8000000000000000ULL), 0x8000000000000000ULL);
}

static void test_load_value_follows_decoded_syndrome(void **state)
{
    struct dabt_info d;
    (void)state;

    /* LDRSH x4 through the decoder: SAS 1, SSE, SRT 4, SF. */
    esr_decode_dabt(esr_of(0x24, ISS_ISV | ISS_SAS(1) | ISS_SSE | ISS_SRT(4) | ISS_SF | 0x06), 0,
                    &d);
    assert_int_equal(mmio_load_value(&d.access, 0xfffe), 0xfffffffffffffffeULL);
    /* LDR w0 from the QEMU-style syndrome with SF clear. */
    esr_decode_dabt(esr_of(0x24, ISS_ISV | ISS_SAS(2) | 0x06), 0, &d);
    assert_int_equal(mmio_load_value(&d.access, 0x1122334455667788ULL), 0x55667788ULL);
}

static void test_class_names(void **state)
{
    (void)state;

    assert_non_null(strstr(esr_class_name(EC_DABT_LOW), "abort"));
    assert_non_null(strstr(esr_class_name(EC_IABT_LOW), "abort"));
    assert_non_null(strstr(esr_class_name(EC_HVC64), "HVC"));
    assert_non_null(strstr(esr_class_name(EC_SMC64), "SMC"));
    assert_non_null(strstr(esr_class_name(EC_WFX), "WF"));
    assert_non_null(strstr(esr_class_name(EC_SERROR), "SError"));
    assert_non_null(strstr(esr_class_name(EC_SYS64), "system register"));
    assert_non_null(strstr(esr_class_name(EC_UNKNOWN), "unknown"));
    /* AArch32 traps: MCR/MRC, HVC32, SMC32, SVC32. */
    assert_non_null(strstr(esr_class_name(EC_CP15_32), "AArch32"));
    assert_non_null(strstr(esr_class_name(EC_HVC32), "AArch32"));
    assert_non_null(strstr(esr_class_name(EC_SMC32), "AArch32"));
    /* Unallocated and out-of-range classes still get a printable name. */
    for (unsigned ec = 0; ec <= 0x40; ec++) {
        const char *name = esr_class_name(ec);
        assert_non_null(name);
        assert_true(strlen(name) > 0);
    }
}

/* EC 0x09 (pointer authentication trap), 0x0A (LD64B/ST64B) and 0x0D (branch target) are
 * AArch64 classes, even though their numbers sit among the AArch32 ones. */
static void test_aarch64_classes_below_0x14_are_not_called_aarch32(void **state)
{
    (void)state;

    assert_null(strstr(esr_class_name(0x09), "AArch32"));
    assert_null(strstr(esr_class_name(0x0a), "AArch32"));
    assert_null(strstr(esr_class_name(0x0d), "AArch32"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dabt_literal_qemu_64bit_load),
        cmocka_unit_test(test_dabt_literal_qemu_64bit_store),
        cmocka_unit_test(test_dabt_literal_without_syndrome),
        cmocka_unit_test(test_dabt_access_sizes_from_sas),
        cmocka_unit_test(test_dabt_sign_extending_byte_load_into_w),
        cmocka_unit_test(test_dabt_halfword_store_with_xzr),
        cmocka_unit_test(test_dabt_field_isolation),
        cmocka_unit_test(test_dabt_stage1_walk_fault),
        cmocka_unit_test(test_dabt_current_el_class_decodes_the_same),
        cmocka_unit_test(test_fault_ipa_from_hpfar_and_far),
        cmocka_unit_test(test_sysreg_mrs_cntp_ctl_el0),
        cmocka_unit_test(test_sysreg_dc_cisw_is_a_write),
        cmocka_unit_test(test_sysreg_fields_do_not_alias),
        cmocka_unit_test(test_load_value_zero_extends_unsigned_loads),
        cmocka_unit_test(test_load_value_sign_extends_into_w),
        cmocka_unit_test(test_load_value_sign_extends_into_x),
        cmocka_unit_test(test_load_value_follows_decoded_syndrome),
        cmocka_unit_test(test_class_names),
        cmocka_unit_test(test_aarch64_classes_below_0x14_are_not_called_aarch32),
    };

    return cmocka_run_group_tests_name("esr", tests, NULL, NULL);
}
