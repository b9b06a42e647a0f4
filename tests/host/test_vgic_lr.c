/*
 * vgic/lr.c: the list-register encodings, checked field by field against the architecture.
 *
 * GICv2 GICH_LR<n> (IHI0048B, 5.3.11 "List Registers"):
 *   [9:0] VirtualID, [19:10] PhysicalID when HW=1; when HW=0 bit 19 is EOI, [18:13] RES0 and
 *   [12:10] CPUID (the source of an SGI); [27:23] Priority (the top 5 bits of the 8-bit
 *   priority); [29:28] State (01 pending, 10 active, 11 both); 30 Grp1; 31 HW.
 *
 * GICv3 ICH_LR<n>_EL2 (IHI0069, 12.4 / ICH_LR<n>_EL2):
 *   [31:0] vINTID; [44:32] pINTID when HW=1; when HW=0 bit 41 is EOI and [44:42], [40:32] RES0;
 *   [55:48] Priority; 60 Group; 61 HW; [63:62] State (bit 62 pending, bit 63 active).
 *
 * An LR whose state is invalid (neither pending nor active) must be written as all zeros.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/vgic.h"

/* GICH_LR field helpers (IHI0048B, Figure 5-10). */
#define V2_VIRTUALID(v) ((uint32_t)(v)&0x3ffu)
#define V2_PHYSICALID(v) (((uint32_t)(v) >> 10) & 0x3ffu)
#define V2_CPUID(v) (((uint32_t)(v) >> 10) & 0x7u)
#define V2_RES0_18_13(v) (((uint32_t)(v) >> 13) & 0x3fu)
#define V2_EOI (1u << 19)
#define V2_RES0_22_20(v) (((uint32_t)(v) >> 20) & 0x7u)
#define V2_PRIORITY(v) (((uint32_t)(v) >> 23) & 0x1fu)
#define V2_STATE(v) (((uint32_t)(v) >> 28) & 0x3u)
#define V2_GRP1 (1u << 30)
#define V2_HW (1u << 31)

/* ICH_LR<n>_EL2 field helpers (IHI0069). */
#define V3_VINTID(v) ((uint64_t)(v)&0xffffffffull)
#define V3_PINTID(v) (((uint64_t)(v) >> 32) & 0x1fffull)
#define V3_EOI (1ull << 41)
#define V3_RES0_MASK ((0x7ull << 45) | (0xfull << 56))
#define V3_PRIORITY(v) (((uint64_t)(v) >> 48) & 0xffull)
#define V3_GROUP (1ull << 60)
#define V3_HW (1ull << 61)
#define V3_STATE(v) (((uint64_t)(v) >> 62) & 0x3ull)

#define STATE_PENDING 1u
#define STATE_ACTIVE 2u
#define STATE_PENDING_ACTIVE 3u

static struct lr_state pending_lr(uint32_t intid)
{
    return (struct lr_state){.intid = intid, .pending = true};
}

/* ---- GICv2 encode ---- */

static void test_v2_virtual_id_in_bits_9_0(void **state)
{
    static const uint32_t ids[] = {0, 1, 15, 16, 27, 31, 32, 100, 511, 512, 1019};

    (void)state;
    for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct lr_state lr = pending_lr(ids[i]);
        uint32_t v = vgic_v2_lr_encode(&lr);
        assert_int_equal(V2_VIRTUALID(v), ids[i]);
        /* Nothing else than the pending state: no HW, no group, no priority, no EOI. */
        assert_int_equal(v & ~0x3ffu, (uint32_t)STATE_PENDING << 28);
    }
}

static void test_v2_state_bits_pending_active_and_both(void **state)
{
    struct lr_state lr = pending_lr(40);

    (void)state;
    assert_int_equal(V2_STATE(vgic_v2_lr_encode(&lr)), STATE_PENDING);
    lr.pending = false;
    lr.active = true;
    assert_int_equal(V2_STATE(vgic_v2_lr_encode(&lr)), STATE_ACTIVE);
    lr.pending = true;
    assert_int_equal(V2_STATE(vgic_v2_lr_encode(&lr)), STATE_PENDING_ACTIVE);
}

static void test_v2_invalid_state_encodes_to_zero_whatever_the_other_fields(void **state)
{
    struct lr_state lr = {
        .intid = 0x3ff,
        .pintid = 0x3ff,
        .priority = 0xff,
        .source = 7,
        .pending = false,
        .active = false,
        .group1 = true,
        .hw = true,
        .eoi_maint = true,
    };

    (void)state;
    assert_int_equal(vgic_v2_lr_encode(&lr), 0);
    lr.hw = false;
    assert_int_equal(vgic_v2_lr_encode(&lr), 0);
}

static void test_v2_group1_bit_30(void **state)
{
    struct lr_state lr = pending_lr(33);

    (void)state;
    assert_false(vgic_v2_lr_encode(&lr) & V2_GRP1);
    lr.group1 = true;
    assert_true(vgic_v2_lr_encode(&lr) & V2_GRP1);
}

static void test_v2_priority_keeps_top_five_bits_in_27_23(void **state)
{
    static const struct {
        uint8_t prio;
        uint32_t field;
    } cases[] = {
        {0x00, 0x00}, {0x07, 0x00}, {0x08, 0x01}, {0x80, 0x10},
        {0xa0, 0x14}, {0xa7, 0x14}, {0xf8, 0x1f}, {0xff, 0x1f},
    };

    (void)state;
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lr_state lr = pending_lr(50);
        lr.priority = cases[i].prio;
        uint32_t v = vgic_v2_lr_encode(&lr);
        assert_int_equal(V2_PRIORITY(v), cases[i].field);
        /* Bits [22:20] are reserved and must stay zero. */
        assert_int_equal(V2_RES0_22_20(v), 0);
        assert_false(v & V2_HW);
        assert_false(v & V2_GRP1);
    }
}

static void test_v2_hw_sets_bit_31_and_physical_id_in_19_10(void **state)
{
    struct lr_state lr = pending_lr(27);

    (void)state;
    lr.hw = true;
    lr.pintid = 27;
    uint32_t v = vgic_v2_lr_encode(&lr);
    assert_true(v & V2_HW);
    assert_int_equal(V2_VIRTUALID(v), 27);
    assert_int_equal(V2_PHYSICALID(v), 27);

    lr.intid = 40;
    lr.pintid = 0x3fb; /* 1019, the largest SPI: uses bit 19 as part of the physical ID */
    v = vgic_v2_lr_encode(&lr);
    assert_int_equal(V2_VIRTUALID(v), 40);
    assert_int_equal(V2_PHYSICALID(v), 0x3fb);
}

static void test_v2_hw_never_sets_eoi_or_cpuid(void **state)
{
    struct lr_state lr = pending_lr(30);

    (void)state;
    lr.hw = true;
    lr.pintid = 30;      /* bits [19:10] = 0b0000011110: bit 19 clear */
    lr.eoi_maint = true; /* meaningless with HW: the EOI bit does not exist */
    lr.source = 5;       /* nor does CPUID */
    uint32_t v = vgic_v2_lr_encode(&lr);
    assert_int_equal(V2_PHYSICALID(v), 30);
    assert_false(v & V2_EOI);
}

static void test_v2_eoi_bit_19_only_without_hw(void **state)
{
    struct lr_state lr = pending_lr(45);

    (void)state;
    assert_false(vgic_v2_lr_encode(&lr) & V2_EOI);
    lr.eoi_maint = true;
    uint32_t v = vgic_v2_lr_encode(&lr);
    assert_true(v & V2_EOI);
    assert_false(v & V2_HW);
    assert_int_equal(V2_CPUID(v), 0);
    assert_int_equal(V2_RES0_18_13(v), 0);
}

static void test_v2_cpuid_of_sgi_source_in_12_10(void **state)
{
    (void)state;
    for (uint8_t src = 0; src < 8; src++) {
        struct lr_state lr = pending_lr(3);
        lr.source = src;
        uint32_t v = vgic_v2_lr_encode(&lr);
        assert_int_equal(V2_VIRTUALID(v), 3);
        assert_int_equal(V2_CPUID(v), src);
        /* The reserved bits between CPUID and EOI stay zero. */
        assert_int_equal(V2_RES0_18_13(v), 0);
        assert_false(v & V2_EOI);
    }
}

static void test_v2_full_word_of_a_typical_level_spi(void **state)
{
    struct lr_state lr = {
        .intid = 33,
        .priority = 0xa0,
        .pending = true,
        .group1 = true,
        .eoi_maint = true,
    };

    (void)state;
    /* Grp1 | pending | priority 0x14 << 23 | EOI | VirtualID 33 */
    assert_int_equal(vgic_v2_lr_encode(&lr),
                     (1u << 30) | (1u << 28) | (0x14u << 23) | (1u << 19) | 33u);
}

static void test_v2_full_word_of_a_hw_timer_ppi(void **state)
{
    struct lr_state lr = {
        .intid = 27,
        .pintid = 27,
        .priority = 0xff,
        .active = true,
        .hw = true,
    };

    (void)state;
    assert_int_equal(vgic_v2_lr_encode(&lr),
                     (1u << 31) | (2u << 28) | (0x1fu << 23) | (27u << 10) | 27u);
}

/* ---- GICv2 decode ---- */

static void test_v2_decode_fields(void **state)
{
    struct lr_state lr;

    (void)state;
    /* Grp1, pending+active, priority 0x1f, EOI, CPUID 6, VirtualID 7 */
    vgic_v2_lr_decode((1u << 30) | (3u << 28) | (0x1fu << 23) | (1u << 19) | (6u << 10) | 7u, &lr);
    assert_int_equal(lr.intid, 7);
    assert_int_equal(lr.priority, 0xf8);
    assert_true(lr.pending);
    assert_true(lr.active);
    assert_true(lr.group1);
    assert_false(lr.hw);
    assert_true(lr.eoi_maint);
    assert_int_equal(lr.source, 6);
    assert_int_equal(lr.pintid, 0);
}

static void test_v2_decode_hw_reads_physical_id_not_eoi(void **state)
{
    struct lr_state lr;

    (void)state;
    /* HW, active, PhysicalID 0x3fb (bit 19 set as part of it), VirtualID 40 */
    vgic_v2_lr_decode((1u << 31) | (2u << 28) | (0x3fbu << 10) | 40u, &lr);
    assert_true(lr.hw);
    assert_int_equal(lr.intid, 40);
    assert_int_equal(lr.pintid, 0x3fb);
    assert_false(lr.eoi_maint);
    assert_false(lr.pending);
    assert_true(lr.active);
    assert_false(lr.group1);
}

static void test_v2_decode_zero_is_invalid(void **state)
{
    struct lr_state lr;

    (void)state;
    memset(&lr, 0xa5, sizeof(lr));
    vgic_v2_lr_decode(0, &lr);
    assert_false(lr.pending);
    assert_false(lr.active);
    assert_false(lr.hw);
    assert_false(lr.group1);
    assert_false(lr.eoi_maint);
    assert_int_equal(lr.intid, 0);
    assert_int_equal(lr.priority, 0);
}

static void assert_lr_equal(const struct lr_state *a, const struct lr_state *b)
{
    assert_int_equal(a->intid, b->intid);
    assert_int_equal(a->pintid, b->pintid);
    assert_int_equal(a->priority, b->priority);
    assert_int_equal(a->source, b->source);
    assert_int_equal(a->pending, b->pending);
    assert_int_equal(a->active, b->active);
    assert_int_equal(a->group1, b->group1);
    assert_int_equal(a->hw, b->hw);
    assert_int_equal(a->eoi_maint, b->eoi_maint);
}

static void test_v2_round_trip_of_valid_states(void **state)
{
    /* Only what GICH_LR can hold: 5-bit priorities, CPUID/EOI without HW, pINTID with HW. */
    static const struct lr_state cases[] = {
        {.intid = 0, .source = 1, .pending = true},
        {.intid = 15, .source = 7, .priority = 0x08, .active = true, .group1 = true},
        {.intid = 3, .source = 2, .priority = 0xa0, .pending = true, .active = true},
        {.intid = 27, .pintid = 27, .priority = 0xf8, .pending = true, .hw = true},
        {.intid = 30, .pintid = 26, .priority = 0x40, .active = true, .hw = true, .group1 = true},
        {.intid = 1019, .pintid = 1019, .pending = true, .hw = true},
        {.intid = 33, .priority = 0x80, .pending = true, .eoi_maint = true, .group1 = true},
        {.intid = 255, .priority = 0x10, .pending = true, .active = true, .eoi_maint = true},
    };

    (void)state;
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lr_state out;
        vgic_v2_lr_decode(vgic_v2_lr_encode(&cases[i]), &out);
        assert_lr_equal(&out, &cases[i]);
    }
}

static void test_v2_round_trip_drops_low_priority_bits(void **state)
{
    struct lr_state lr = pending_lr(60), out;

    (void)state;
    lr.priority = 0xaf;
    vgic_v2_lr_decode(vgic_v2_lr_encode(&lr), &out);
    assert_int_equal(out.priority, 0xa8);
}

/* ---- GICv3 encode ---- */

static void test_v3_vintid_in_bits_31_0(void **state)
{
    static const uint32_t ids[] = {0, 1, 15, 16, 27, 31, 32, 100, 1019};

    (void)state;
    for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct lr_state lr = pending_lr(ids[i]);
        uint64_t v = vgic_v3_lr_encode(&lr);
        assert_int_equal(V3_VINTID(v), ids[i]);
        assert_int_equal(v >> 32, (uint64_t)STATE_PENDING << 30);
    }
}

static void test_v3_state_bits_62_63(void **state)
{
    struct lr_state lr = pending_lr(40);

    (void)state;
    assert_int_equal(V3_STATE(vgic_v3_lr_encode(&lr)), STATE_PENDING);
    assert_true(vgic_v3_lr_encode(&lr) & (1ull << 62));
    lr.pending = false;
    lr.active = true;
    assert_int_equal(V3_STATE(vgic_v3_lr_encode(&lr)), STATE_ACTIVE);
    assert_true(vgic_v3_lr_encode(&lr) & (1ull << 63));
    lr.pending = true;
    assert_int_equal(V3_STATE(vgic_v3_lr_encode(&lr)), STATE_PENDING_ACTIVE);
}

static void test_v3_invalid_state_encodes_to_zero_whatever_the_other_fields(void **state)
{
    struct lr_state lr = {
        .intid = 1019,
        .pintid = 1019,
        .priority = 0xff,
        .source = 7,
        .group1 = true,
        .hw = true,
        .eoi_maint = true,
    };

    (void)state;
    assert_int_equal(vgic_v3_lr_encode(&lr), 0);
    lr.hw = false;
    assert_int_equal(vgic_v3_lr_encode(&lr), 0);
}

static void test_v3_group_bit_60(void **state)
{
    struct lr_state lr = pending_lr(33);

    (void)state;
    assert_false(vgic_v3_lr_encode(&lr) & V3_GROUP);
    lr.group1 = true;
    assert_true(vgic_v3_lr_encode(&lr) & V3_GROUP);
}

static void test_v3_priority_keeps_eight_bits_in_55_48(void **state)
{
    static const uint8_t prios[] = {0x00, 0x07, 0x08, 0x80, 0xa0, 0xa7, 0xf8, 0xff};

    (void)state;
    for (unsigned i = 0; i < sizeof(prios); i++) {
        struct lr_state lr = pending_lr(50);
        lr.priority = prios[i];
        uint64_t v = vgic_v3_lr_encode(&lr);
        assert_int_equal(V3_PRIORITY(v), prios[i]);
        assert_int_equal(v & V3_RES0_MASK, 0);
    }
}

static void test_v3_hw_sets_bit_61_and_pintid_in_44_32(void **state)
{
    struct lr_state lr = pending_lr(27);

    (void)state;
    lr.hw = true;
    lr.pintid = 27;
    uint64_t v = vgic_v3_lr_encode(&lr);
    assert_true(v & V3_HW);
    assert_int_equal(V3_VINTID(v), 27);
    assert_int_equal(V3_PINTID(v), 27);

    lr.intid = 50;
    lr.pintid = 1019;
    v = vgic_v3_lr_encode(&lr);
    assert_int_equal(V3_VINTID(v), 50);
    assert_int_equal(V3_PINTID(v), 1019);
    assert_int_equal(v & V3_RES0_MASK, 0);
}

static void test_v3_hw_never_sets_eoi(void **state)
{
    struct lr_state lr = pending_lr(26);

    (void)state;
    lr.hw = true;
    lr.pintid = 26; /* pINTID bit 9 (LR bit 41) clear */
    lr.eoi_maint = true;
    uint64_t v = vgic_v3_lr_encode(&lr);
    assert_int_equal(V3_PINTID(v), 26);
    assert_false(v & V3_EOI);
}

static void test_v3_eoi_bit_41_only_without_hw_and_rest_of_pintid_zero(void **state)
{
    struct lr_state lr = pending_lr(45);

    (void)state;
    lr.pintid = 0x1fff; /* ignored without HW */
    assert_false(vgic_v3_lr_encode(&lr) & V3_EOI);
    lr.eoi_maint = true;
    uint64_t v = vgic_v3_lr_encode(&lr);
    assert_true(v & V3_EOI);
    assert_false(v & V3_HW);
    /* pINTID field: only bit 41 (EOI) may be set when HW is 0. */
    assert_int_equal(V3_PINTID(v), 1u << 9);
}

static void test_v3_has_no_cpuid_field(void **state)
{
    struct lr_state lr = pending_lr(3);

    (void)state;
    lr.source = 5; /* GICv3 SGIs carry no source in the LR */
    uint64_t v = vgic_v3_lr_encode(&lr);
    assert_int_equal(V3_VINTID(v), 3);
    assert_int_equal(V3_PINTID(v), 0);
    assert_int_equal(v, (1ull << 62) | 3u);
}

static void test_v3_full_value_of_a_hw_timer_ppi(void **state)
{
    struct lr_state lr = {
        .intid = 27,
        .pintid = 27,
        .priority = 0xa0,
        .pending = true,
        .hw = true,
        .group1 = true,
    };

    (void)state;
    assert_int_equal(vgic_v3_lr_encode(&lr), (1ull << 62) | (1ull << 61) | (1ull << 60) |
                                                 (0xa0ull << 48) | (27ull << 32) | 27ull);
}

/* ---- GICv3 decode ---- */

static void test_v3_decode_fields(void **state)
{
    struct lr_state lr;

    (void)state;
    vgic_v3_lr_decode((3ull << 62) | (1ull << 60) | (0xa8ull << 48) | (1ull << 41) | 1000ull, &lr);
    assert_int_equal(lr.intid, 1000);
    assert_int_equal(lr.priority, 0xa8);
    assert_true(lr.pending);
    assert_true(lr.active);
    assert_true(lr.group1);
    assert_false(lr.hw);
    assert_true(lr.eoi_maint);
    assert_int_equal(lr.pintid, 0);
}

static void test_v3_decode_hw_reads_pintid_not_eoi(void **state)
{
    struct lr_state lr;

    (void)state;
    /* pINTID 0x3fb has bit 9 set, which is where EOI sits when HW is 0. */
    vgic_v3_lr_decode((2ull << 62) | (1ull << 61) | (0x3fbull << 32) | 40ull, &lr);
    assert_true(lr.hw);
    assert_int_equal(lr.intid, 40);
    assert_int_equal(lr.pintid, 0x3fb);
    assert_false(lr.eoi_maint);
    assert_false(lr.pending);
    assert_true(lr.active);
}

static void test_v3_decode_zero_is_invalid(void **state)
{
    struct lr_state lr;

    (void)state;
    memset(&lr, 0x5a, sizeof(lr));
    vgic_v3_lr_decode(0, &lr);
    assert_false(lr.pending);
    assert_false(lr.active);
    assert_false(lr.hw);
    assert_false(lr.group1);
    assert_false(lr.eoi_maint);
    assert_int_equal(lr.intid, 0);
    assert_int_equal(lr.priority, 0);
}

static void test_v3_round_trip_of_valid_states(void **state)
{
    static const struct lr_state cases[] = {
        {.intid = 0, .pending = true},
        {.intid = 15, .priority = 0x08, .active = true, .group1 = true},
        {.intid = 3, .priority = 0xa7, .pending = true, .active = true},
        {.intid = 27, .pintid = 27, .priority = 0xff, .pending = true, .hw = true},
        {.intid = 30, .pintid = 26, .priority = 0x41, .active = true, .hw = true, .group1 = true},
        {.intid = 1019, .pintid = 1019, .pending = true, .hw = true},
        {.intid = 33, .priority = 0x80, .pending = true, .eoi_maint = true, .group1 = true},
        {.intid = 255, .priority = 0x10, .pending = true, .active = true, .eoi_maint = true},
    };

    (void)state;
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lr_state out;
        vgic_v3_lr_decode(vgic_v3_lr_encode(&cases[i]), &out);
        assert_lr_equal(&out, &cases[i]);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
    const struct CMUnitTest tests[] = {
        T(test_v2_virtual_id_in_bits_9_0),
        T(test_v2_state_bits_pending_active_and_both),
        T(test_v2_invalid_state_encodes_to_zero_whatever_the_other_fields),
        T(test_v2_group1_bit_30),
        T(test_v2_priority_keeps_top_five_bits_in_27_23),
        T(test_v2_hw_sets_bit_31_and_physical_id_in_19_10),
        T(test_v2_hw_never_sets_eoi_or_cpuid),
        T(test_v2_eoi_bit_19_only_without_hw),
        T(test_v2_cpuid_of_sgi_source_in_12_10),
        T(test_v2_full_word_of_a_typical_level_spi),
        T(test_v2_full_word_of_a_hw_timer_ppi),
        T(test_v2_decode_fields),
        T(test_v2_decode_hw_reads_physical_id_not_eoi),
        T(test_v2_decode_zero_is_invalid),
        T(test_v2_round_trip_of_valid_states),
        T(test_v2_round_trip_drops_low_priority_bits),
        T(test_v3_vintid_in_bits_31_0),
        T(test_v3_state_bits_62_63),
        T(test_v3_invalid_state_encodes_to_zero_whatever_the_other_fields),
        T(test_v3_group_bit_60),
        T(test_v3_priority_keeps_eight_bits_in_55_48),
        T(test_v3_hw_sets_bit_61_and_pintid_in_44_32),
        T(test_v3_hw_never_sets_eoi),
        T(test_v3_eoi_bit_41_only_without_hw_and_rest_of_pintid_zero),
        T(test_v3_has_no_cpuid_field),
        T(test_v3_full_value_of_a_hw_timer_ppi),
        T(test_v3_decode_fields),
        T(test_v3_decode_hw_reads_pintid_not_eoi),
        T(test_v3_decode_zero_is_invalid),
        T(test_v3_round_trip_of_valid_states),
    };
#undef T

    return cmocka_run_group_tests_name("vgic_lr", tests, NULL, NULL);
}
