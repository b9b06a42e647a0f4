/*
 * stage2/pt.c against the VMSAv8-64 rules for the 4 KiB granule (Arm ARM D8): descriptor
 * encodings, block selection per level, splitting, break-before-make and concatenated stage-2
 * roots. Expected descriptors are written from the architecture's bit positions, not from the
 * code's own macros, and the tables are walked here the way the MMU walks them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/pt.h"

/* Descriptor fields, from the Arm ARM (VMSAv8-64 translation table format). */
#define D_VALID (1ULL << 0)
#define D_TYPE (1ULL << 1) /* levels 0-2: 1 = table, 0 = block; level 3: must be 1 */
#define D_OA_MASK 0x0000fffffffff000ULL
#define D_AF (1ULL << 10)
#define D_SH_MASK (3ULL << 8)
#define D_SH_INNER (3ULL << 8)
#define D_BLOCK (D_VALID)          /* bits 1:0 = 0b01 */
#define D_PAGE (D_VALID | D_TYPE)  /* bits 1:0 = 0b11 at level 3 */
#define D_TABLE (D_VALID | D_TYPE) /* bits 1:0 = 0b11 at levels 0-2 */

/* Stage 2: S2AP bits 7:6, MemAttr bits 5:2, XN bits 54:53. */
#define S2AP_NONE (0ULL << 6)
#define S2AP_RO (1ULL << 6)
#define S2AP_WO (2ULL << 6)
#define S2AP_RW (3ULL << 6)
#define S2_MEMATTR_NORMAL_WB (0xfULL << 2) /* Outer WB (0b11), Inner WB (0b11) */
#define S2_MEMATTR_DEVICE_nGnRE (0x1ULL << 2)
#define S2_XN_EL1_EL0 (2ULL << 53) /* XN[1:0] = 0b10: no execution at EL1 nor EL0 */

/* Stage 1, EL2 regime (one Exception level): AttrIndx 4:2, AP[2:1] 7:6, XN 54. */
#define S1_ATTRINDX(i) ((uint64_t)(i) << 2)
#define S1_AP1_RES1 (1ULL << 6)
#define S1_AP2_RO (1ULL << 7)
#define S1_XN (1ULL << 54)

/* Attribute bits of a leaf: everything but the output address and bits 1:0. */
#define LEAF_ATTRS(d) ((d) & ~D_OA_MASK & ~(D_VALID | D_TYPE))

#define MAX_POOL 64
#define MAX_CALLS 64

struct inval_call {
    uint64_t va;
    uint64_t size;
    bool first_mapped; /* pt_lookup of va, from inside the callback */
    bool last_mapped;  /* pt_lookup of va + size - 1, from inside the callback */
};

struct env {
    struct pt pt;
    unsigned start_level;
    void *pages[MAX_POOL]; /* every page handed out, root included, freed at teardown */
    unsigned npages;
    unsigned allocs;      /* tables the builder asked for */
    unsigned alloc_limit; /* allocations beyond this many fail */
    struct inval_call calls[MAX_CALLS];
    unsigned ncalls;
};

static void *track(struct env *e, size_t bytes)
{
    void *p = aligned_alloc(PAGE_SIZE, bytes);

    assert_non_null(p);
    assert_true(e->npages < MAX_POOL);
    memset(p, 0, bytes);
    e->pages[e->npages++] = p;
    return p;
}

static void *fake_alloc(void *ctx)
{
    struct env *e = ctx;

    if (e->allocs >= e->alloc_limit) {
        return NULL;
    }
    e->allocs++;
    return track(e, PAGE_SIZE);
}

/* Records the call and what a walk sees of the range at that moment: under break-before-make
 * the old entry is already invalid and the new one not yet written. */
static void fake_invalidate(void *ctx, uint64_t va, uint64_t size)
{
    struct env *e = ctx;

    if (e->ncalls < MAX_CALLS) {
        struct inval_call *c = &e->calls[e->ncalls];
        c->va = va;
        c->size = size;
        c->first_mapped = pt_lookup(&e->pt, va, NULL, NULL, NULL);
        c->last_mapped = pt_lookup(&e->pt, va + size - 1, NULL, NULL, NULL);
    }
    e->ncalls++;
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));

    if (!e) {
        return -1;
    }
    e->alloc_limit = MAX_POOL - 16;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;

    for (unsigned i = 0; i < e->npages; i++) {
        free(e->pages[i]);
    }
    free(e);
    return 0;
}

static struct env *env_init(void **state, enum pt_format format, unsigned va_bits,
                            unsigned start_level, unsigned root_pages)
{
    struct env *e = *state;
    struct pt_ops ops = {.alloc_table = fake_alloc, .invalidate = fake_invalidate, .ctx = e};
    uint64_t *root = track(e, root_pages * PAGE_SIZE);

    e->start_level = start_level;
    pt_init(&e->pt, format, va_bits, start_level, root, &ops);
    return e;
}

/* A stage-2 table for ipa_bits with the geometry the architecture requires. */
static struct env *env_stage2(void **state, unsigned ipa_bits)
{
    unsigned level, pages;

    pt_stage2_geometry(ipa_bits, &level, &pages);
    return env_init(state, PT_STAGE2, ipa_bits, level, pages);
}

static unsigned shift_of(unsigned level)
{
    return 12 + 9 * (3 - level);
}

/* The descriptor for va at `level`, walking from the root through table descriptors as the MMU
 * does; fails the test if the walk ends before that level. */
static uint64_t desc_at(const struct env *e, uint64_t va, unsigned level)
{
    const uint64_t *table = e->pt.root;

    for (unsigned l = e->start_level;; l++) {
        uint64_t idx = va >> shift_of(l);
        if (l != e->start_level) {
            idx &= 511;
        }
        uint64_t d = table[idx];
        if (l == level) {
            return d;
        }
        assert_true(l < 3);
        assert_int_equal(d & 3, D_TABLE);
        table = (const uint64_t *)(uintptr_t)(d & D_OA_MASK);
    }
}

/* The level at which the walk for va ends on a leaf, or -1 if it ends on an invalid entry. */
static int leaf_level(const struct env *e, uint64_t va)
{
    const uint64_t *table = e->pt.root;

    for (unsigned l = e->start_level; l <= 3; l++) {
        uint64_t idx = va >> shift_of(l);
        if (l != e->start_level) {
            idx &= 511;
        }
        uint64_t d = table[idx];
        if (!(d & D_VALID)) {
            return -1;
        }
        if (l == 3) {
            assert_int_equal(d & 3, D_PAGE); /* 0b01 is reserved at level 3 */
            return 3;
        }
        if ((d & 3) == D_BLOCK) {
            assert_true(l == 1 || l == 2); /* no level-0 block with the 4 KiB granule */
            return (int)l;
        }
        table = (const uint64_t *)(uintptr_t)(d & D_OA_MASK);
    }
    return -1;
}

static bool mapped(const struct env *e, uint64_t va)
{
    return pt_lookup(&e->pt, va, NULL, NULL, NULL);
}

static uint64_t lookup_pa(const struct env *e, uint64_t va)
{
    uint64_t pa = 0;

    assert_true(pt_lookup(&e->pt, va, &pa, NULL, NULL));
    return pa;
}

/* Every recorded invalidate saw its whole range unmapped (break-before-make). */
static void assert_calls_saw_invalid_entries(const struct env *e)
{
    assert_true(e->ncalls <= MAX_CALLS);
    for (unsigned i = 0; i < e->ncalls; i++) {
        assert_false(e->calls[i].first_mapped);
        assert_false(e->calls[i].last_mapped);
    }
}

static bool has_call(const struct env *e, uint64_t va, uint64_t size)
{
    for (unsigned i = 0; i < e->ncalls && i < MAX_CALLS; i++) {
        if (e->calls[i].va == va && e->calls[i].size == size) {
            return true;
        }
    }
    return false;
}

/* Some recorded invalidate covers all of [va, va+size). */
static bool covered(const struct env *e, uint64_t va, uint64_t size)
{
    for (unsigned i = 0; i < e->ncalls && i < MAX_CALLS; i++) {
        const struct inval_call *c = &e->calls[i];
        if (c->va <= va && va + size <= c->va + c->size) {
            return true;
        }
    }
    return false;
}

/* The expected stage-2 attribute bits for normal memory with prot, written from the Arm ARM. */
static uint64_t s2_normal(unsigned prot)
{
    uint64_t d = D_AF | D_SH_INNER | S2_MEMATTR_NORMAL_WB;

    d |= (prot & PT_R) ? S2AP_RO : 0;
    d |= (prot & PT_W) ? S2AP_WO : 0;
    d |= (prot & PT_X) ? 0 : S2_XN_EL1_EL0;
    return d;
}

/* ---- geometry ---- */

static void test_stage2_geometry_follows_start_level_rules(void **state)
{
    /* 4 KiB granule, up to 16 concatenated tables at the start level: a level-2 start resolves
     * IPA sizes up to 34 bits, a level-1 start 35..43; 44..48 need a level-0 start, where
     * concatenation is not allowed. */
    static const struct {
        unsigned ipa_bits, level, pages;
    } cases[] = {
        {30, 2, 1}, {32, 2, 4}, {34, 2, 16}, {35, 1, 1},  {36, 1, 1}, {39, 1, 1},
        {40, 1, 2}, {41, 1, 4}, {42, 1, 8},  {43, 1, 16}, {44, 0, 1}, {48, 0, 1},
    };
    (void)state;

    for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
        unsigned level = 99, pages = 99;
        pt_stage2_geometry(cases[i].ipa_bits, &level, &pages);
        assert_int_equal(level, cases[i].level);
        assert_int_equal(pages, cases[i].pages);
    }
}

/* ---- encodings ---- */

static void test_stage2_leaf_attrs_match_arm_encoding(void **state)
{
    (void)state;

    /* Normal RWX: AF | SH inner | S2AP RW | MemAttr 0b1111, XN clear. */
    assert_int_equal(pt_leaf_attrs(PT_STAGE2, PT_R | PT_W | PT_X, PT_MEM_NORMAL),
                     (1ULL << 10) | (3ULL << 8) | (3ULL << 6) | (0xfULL << 2));
    assert_int_equal(pt_leaf_attrs(PT_STAGE2, PT_R | PT_W | PT_X, PT_MEM_NORMAL), 0x7fcULL);
    /* Read-only, execute-never: S2AP 0b01 and XN 0b10. */
    assert_int_equal(pt_leaf_attrs(PT_STAGE2, PT_R, PT_MEM_NORMAL),
                     D_AF | D_SH_INNER | S2AP_RO | S2_MEMATTR_NORMAL_WB | S2_XN_EL1_EL0);
    assert_int_equal(pt_leaf_attrs(PT_STAGE2, PT_R | PT_X, PT_MEM_NORMAL),
                     D_AF | D_SH_INNER | S2AP_RO | S2_MEMATTR_NORMAL_WB);
    assert_int_equal(pt_leaf_attrs(PT_STAGE2, PT_R | PT_W, PT_MEM_NORMAL),
                     D_AF | D_SH_INNER | S2AP_RW | S2_MEMATTR_NORMAL_WB | S2_XN_EL1_EL0);
    assert_int_equal(pt_leaf_attrs(PT_STAGE2, 0, PT_MEM_NORMAL),
                     D_AF | D_SH_INNER | S2AP_NONE | S2_MEMATTR_NORMAL_WB | S2_XN_EL1_EL0);

    /* Device-nGnRE: MemAttr 0b0001. SH is ignored for Device memory, so it is not checked. */
    uint64_t dev = pt_leaf_attrs(PT_STAGE2, PT_R | PT_W, PT_MEM_DEVICE);
    assert_int_equal(dev & ~D_SH_MASK, D_AF | S2AP_RW | S2_MEMATTR_DEVICE_nGnRE | S2_XN_EL1_EL0);
    assert_int_equal((dev >> 2) & 0xf, 0x1);
    assert_int_equal((dev >> 53) & 3, 2);
    /* Never a descriptor type or output address in the attributes. */
    assert_int_equal(dev & (D_OA_MASK | 3), 0);
}

/* AP[1] is checked on its own below; the other stage-1 checks ignore bit 6. */
static void test_stage1_el2_leaf_attrs_match_arm_encoding(void **state)
{
    (void)state;

    uint64_t rwx = pt_leaf_attrs(PT_STAGE1_EL2, PT_R | PT_W | PT_X, PT_MEM_NORMAL);
    assert_int_equal(rwx & ~S1_AP1_RES1, D_AF | D_SH_INNER | S1_ATTRINDX(MAIR_IDX_NORMAL));

    uint64_t ro = pt_leaf_attrs(PT_STAGE1_EL2, PT_R, PT_MEM_NORMAL);
    assert_int_equal(ro & ~S1_AP1_RES1,
                     D_AF | D_SH_INNER | S1_ATTRINDX(MAIR_IDX_NORMAL) | S1_AP2_RO | S1_XN);

    uint64_t rx = pt_leaf_attrs(PT_STAGE1_EL2, PT_R | PT_X, PT_MEM_NORMAL);
    assert_int_equal(rx & ~S1_AP1_RES1,
                     D_AF | D_SH_INNER | S1_ATTRINDX(MAIR_IDX_NORMAL) | S1_AP2_RO);

    uint64_t dev = pt_leaf_attrs(PT_STAGE1_EL2, PT_R | PT_W, PT_MEM_DEVICE);
    assert_int_equal(dev & ~S1_AP1_RES1 & ~D_SH_MASK,
                     D_AF | S1_ATTRINDX(MAIR_IDX_DEVICE_nGnRE) | S1_XN);
    /* PXN (bit 53) is RES0 in the EL2 regime; nG (bit 11) must stay clear (no ASIDs). */
    assert_int_equal(dev & ((1ULL << 53) | (1ULL << 11)), 0);
    assert_int_equal(rwx & ((1ULL << 53) | (1ULL << 11)), 0);
}

/* Arm ARM D8.4.1.2.1: "For a stage 1 translation that supports one Exception level, AP[1] is
 * RES1." Non-VHE EL2 is such a regime, so every EL2 leaf should carry bit 6. */
static void test_stage1_el2_leaf_sets_ap1_res1(void **state)
{
    (void)state;

    assert_int_equal(pt_leaf_attrs(PT_STAGE1_EL2, PT_R | PT_W | PT_X, PT_MEM_NORMAL),
                     D_AF | D_SH_INNER | S1_ATTRINDX(MAIR_IDX_NORMAL) | S1_AP1_RES1);
    assert_int_equal(pt_leaf_attrs(PT_STAGE1_EL2, PT_R, PT_MEM_NORMAL) & (3ULL << 6),
                     S1_AP2_RO | S1_AP1_RES1);
}

static void test_stage1_mair_indices_name_the_right_attributes(void **state)
{
    (void)state;

    /* MAIR attribute encodings: 0x00 Device-nGnRnE, 0x04 Device-nGnRE, 0xff Normal
     * Inner/Outer Write-Back non-transient RW-allocate, 0x44 Normal Non-cacheable. */
    assert_int_equal((MAIR_EL2_VALUE >> (8 * MAIR_IDX_DEVICE_nGnRE)) & 0xff, 0x04);
    assert_int_equal((MAIR_EL2_VALUE >> (8 * MAIR_IDX_NORMAL)) & 0xff, 0xff);
}

/* ---- block selection ---- */

static void test_stage2_2mib_block_at_level2(void **state)
{
    struct env *e = env_stage2(state, 40);
    uint64_t va = GiB(1) + MiB(2), pa = GiB(2) + MiB(2);

    assert_int_equal(pt_map(&e->pt, va, pa, MiB(2), PT_R | PT_W | PT_X, PT_MEM_NORMAL), 0);
    /* pa | AF | SH inner | S2AP RW | MemAttr 0b1111 | valid, table bit clear. */
    uint64_t expect = pa | (1ULL << 10) | (3ULL << 8) | (3ULL << 6) | (0xfULL << 2) | 1;
    assert_int_equal(desc_at(e, va, 2), expect);
    assert_int_equal(desc_at(e, va, 2) & 3, 0x1);
    assert_int_equal(leaf_level(e, va), 2);
    assert_int_equal(desc_at(e, va, 1) & 3, 0x3);
    assert_int_equal(e->allocs, 1);
    /* Neighbouring 2 MiB slots stay invalid. */
    assert_int_equal(desc_at(e, va - MiB(2), 2), 0);
    assert_int_equal(desc_at(e, va + MiB(2), 2), 0);
    assert_int_equal(e->ncalls, 0);
}

static void test_stage2_1gib_block_at_level1(void **state)
{
    struct env *e = env_stage2(state, 40);

    assert_int_equal(pt_map(&e->pt, GiB(3), GiB(5), GiB(1), PT_R | PT_W, PT_MEM_NORMAL), 0);
    assert_int_equal(e->pt.root[3], GiB(5) | s2_normal(PT_R | PT_W) | D_BLOCK);
    assert_int_equal(leaf_level(e, GiB(3) + 12345), 1);
    assert_int_equal(e->allocs, 0);
    assert_int_equal(lookup_pa(e, GiB(4) - 1), GiB(6) - 1);
    assert_false(mapped(e, GiB(4)));
    assert_false(mapped(e, GiB(3) - 1));
}

/* A 32-bit IPA starts at level 2 with four concatenated tables: the root holds the 2 MiB blocks
 * of all 4 GiB (entries past 512 index the next pages), and a 1 GiB range is 512 of them. */
static void test_stage2_32bit_root_is_level2_concatenated(void **state)
{
    struct env *e = env_stage2(state, 32);
    uint64_t va = GiB(3) + MiB(6), pa = GiB(9) + MiB(4);

    assert_int_equal(e->pt.start_level, 2);
    assert_int_equal(pt_map(&e->pt, va, pa, MiB(2), PT_R | PT_W | PT_X, PT_MEM_NORMAL), 0);
    assert_int_equal(e->pt.root[(GiB(3) + MiB(6)) / MiB(2)], pa | 0x7fcULL | D_BLOCK);
    assert_int_equal(leaf_level(e, va + 12345), 2);
    assert_int_equal(e->allocs, 0);
    assert_int_equal(lookup_pa(e, va + MiB(2) - 1), pa + MiB(2) - 1);

    assert_int_equal(pt_map(&e->pt, GiB(1), GiB(5), GiB(1), PT_R | PT_W, PT_MEM_NORMAL), 0);
    assert_int_equal(leaf_level(e, GiB(1) + MiB(3)), 2);
    assert_int_equal(lookup_pa(e, GiB(2) - 1), GiB(6) - 1);
    assert_false(mapped(e, GiB(2)));

    assert_int_equal(pt_map(&e->pt, 0x09000000, 0xfe201000, PAGE_SIZE, PT_R | PT_W, PT_MEM_DEVICE),
                     0);
    assert_int_equal(leaf_level(e, 0x09000000), 3);
    assert_int_equal(e->allocs, 1);
    assert_int_equal(pt_unmap(&e->pt, va, MiB(2)), 0);
    assert_false(mapped(e, va));
    /* Its RAM blocks need no table of their own to be prepared. */
    assert_int_equal(pt_prepare(&e->pt, GiB(2), GiB(1), 2), 0);
    assert_int_equal(e->allocs, 1);
}

static void test_stage2_4kib_page_at_level3(void **state)
{
    struct env *e = env_stage2(state, 40);
    uint64_t va = GiB(1) + 0x5000, pa = 0x8765000;

    assert_int_equal(pt_map(&e->pt, va, pa, PAGE_SIZE, PT_R | PT_W | PT_X, PT_MEM_NORMAL), 0);
    assert_int_equal(desc_at(e, va, 3), pa | 0x7fcULL | 0x3);
    assert_int_equal(desc_at(e, va, 3) & 3, 0x3);
    assert_int_equal(desc_at(e, va, 2) & 3, 0x3);
    assert_int_equal(desc_at(e, va, 1) & 3, 0x3);
    assert_int_equal(e->allocs, 2);
    assert_int_equal(desc_at(e, va + PAGE_SIZE, 3), 0);
    assert_int_equal(desc_at(e, va - PAGE_SIZE, 3), 0);
}

static void test_stage2_device_page_descriptor(void **state)
{
    struct env *e = env_stage2(state, 40);
    uint64_t va = 0x09000000, pa = 0xfe201000;

    assert_int_equal(pt_map(&e->pt, va, pa, PAGE_SIZE, PT_R | PT_W, PT_MEM_DEVICE), 0);
    uint64_t d = desc_at(e, va, 3);
    assert_int_equal(d & 3, 0x3);
    assert_int_equal(d & D_OA_MASK, pa);
    assert_int_equal((d >> 2) & 0xf, 0x1);  /* MemAttr Device-nGnRE */
    assert_int_equal((d >> 6) & 0x3, 0x3);  /* S2AP RW */
    assert_int_equal((d >> 53) & 0x3, 0x2); /* XN */
    assert_true(d & D_AF);
}

static void test_stage1_el2_block_and_page_descriptors(void **state)
{
    struct env *e = env_init(state, PT_STAGE1_EL2, 39, 1, 1);

    /* Hypervisor text: RX, 2 MiB block; a read-only data page; a device page. */
    assert_int_equal(pt_map(&e->pt, 0x40000000, 0x40000000, MiB(2), PT_R | PT_X, PT_MEM_NORMAL), 0);
    assert_int_equal(pt_map(&e->pt, 0x40200000, 0x40200000, PAGE_SIZE, PT_R, PT_MEM_NORMAL), 0);
    assert_int_equal(pt_map(&e->pt, 0x09000000, 0x09000000, PAGE_SIZE, PT_R | PT_W, PT_MEM_DEVICE),
                     0);

    uint64_t text = desc_at(e, 0x40000000, 2) & ~S1_AP1_RES1;
    assert_int_equal(text, 0x40000000 | D_AF | D_SH_INNER | S1_ATTRINDX(MAIR_IDX_NORMAL) |
                               S1_AP2_RO | D_BLOCK);
    uint64_t ro = desc_at(e, 0x40200000, 3) & ~S1_AP1_RES1;
    assert_int_equal(ro, 0x40200000 | D_AF | D_SH_INNER | S1_ATTRINDX(MAIR_IDX_NORMAL) | S1_AP2_RO |
                             S1_XN | D_PAGE);
    uint64_t dev = desc_at(e, 0x09000000, 3);
    assert_int_equal(dev & 3, 0x3);
    assert_int_equal((dev >> 2) & 7, MAIR_IDX_DEVICE_nGnRE);
    assert_int_equal(dev & S1_AP2_RO, 0);
    assert_true(dev & S1_XN);
    assert_true(dev & D_AF);
}

static void test_no_block_at_level0_stage2(void **state)
{
    struct env *e = env_stage2(state, 48);

    assert_int_equal(e->start_level, 0);
    /* 512 GiB, aligned to 512 GiB on both sides: still 1 GiB blocks under a level-0 table. */
    assert_int_equal(pt_map(&e->pt, GiB(512), GiB(1024), GiB(512), PT_R | PT_W, PT_MEM_NORMAL), 0);
    assert_int_equal(e->pt.root[1] & 3, 0x3);
    assert_int_equal(e->allocs, 1);
    for (unsigned i = 0; i < 512; i++) {
        uint64_t va = GiB(512) + GiB(i);
        assert_int_equal(desc_at(e, va, 1), (GiB(1024) + GiB(i)) | s2_normal(PT_R | PT_W) | 1);
    }
    assert_int_equal(lookup_pa(e, GiB(1024) - 1), GiB(1536) - 1);
    assert_false(mapped(e, GiB(1024)));
}

static void test_no_block_at_level0_stage1(void **state)
{
    struct env *e = env_init(state, PT_STAGE1_EL2, 48, 0, 1);

    assert_int_equal(pt_map(&e->pt, 0, 0, GiB(512), PT_R | PT_W, PT_MEM_NORMAL), 0);
    assert_int_equal(e->pt.root[0] & 3, 0x3);
    assert_int_equal(leaf_level(e, 0), 1);
    assert_int_equal(leaf_level(e, GiB(511) + 7), 1);
    assert_int_equal(e->allocs, 1);
}

static void test_unaligned_pa_falls_back_to_pages(void **state)
{
    struct env *e = env_stage2(state, 40);
    uint64_t va = MiB(2), pa = GiB(1) + PAGE_SIZE; /* va 2 MiB-aligned, pa only 4 KiB */

    assert_int_equal(pt_map(&e->pt, va, pa, MiB(2), PT_R | PT_W, PT_MEM_NORMAL), 0);
    assert_int_equal(desc_at(e, va, 2) & 3, 0x3); /* a table, not a block */
    for (unsigned i = 0; i < 512; i++) {
        assert_int_equal(desc_at(e, va + i * PAGE_SIZE, 3),
                         (pa + i * PAGE_SIZE) | s2_normal(PT_R | PT_W) | 0x3);
    }
    assert_int_equal(e->allocs, 2);
}

static void test_unaligned_va_falls_back_to_pages(void **state)
{
    struct env *e = env_stage2(state, 40);
    uint64_t va = MiB(2) + PAGE_SIZE, pa = MiB(8); /* pa 2 MiB-aligned, va only 4 KiB */

    assert_int_equal(pt_map(&e->pt, va, pa, MiB(4), PT_R, PT_MEM_NORMAL), 0);
    assert_int_equal(leaf_level(e, va), 3);
    assert_int_equal(leaf_level(e, va + MiB(2) - PAGE_SIZE), 3);
    assert_int_equal(leaf_level(e, va + MiB(2)), 3);
    assert_int_equal(leaf_level(e, va + MiB(4) - PAGE_SIZE), 3);
    for (uint64_t off = 0; off < MiB(4); off += PAGE_SIZE) {
        assert_int_equal(desc_at(e, va + off, 3), (pa + off) | s2_normal(PT_R) | 0x3);
    }
    assert_int_equal(lookup_pa(e, va + MiB(4) - 1), pa + MiB(4) - 1);
    assert_false(mapped(e, va - 1));
    assert_false(mapped(e, va + MiB(4)));
    /* One level-2 table and three level-3 tables. */
    assert_int_equal(e->allocs, 4);
}

static void test_straddling_range_uses_largest_blocks(void **state)
{
    struct env *e = env_stage2(state, 40);
    /* page | 2 MiB block | 1 GiB block | 2 MiB block | page */
    uint64_t va = GiB(1) - MiB(2) - PAGE_SIZE;
    uint64_t pa = va + GiB(4);
    uint64_t size = PAGE_SIZE + MiB(2) + GiB(1) + MiB(2) + PAGE_SIZE;

    assert_int_equal(pt_map(&e->pt, va, pa, size, PT_R | PT_W | PT_X, PT_MEM_NORMAL), 0);
    assert_int_equal(leaf_level(e, va), 3);
    assert_int_equal(leaf_level(e, GiB(1) - MiB(2)), 2);
    assert_int_equal(leaf_level(e, GiB(1) - 1), 2);
    assert_int_equal(leaf_level(e, GiB(1)), 1);
    assert_int_equal(leaf_level(e, GiB(2) - 1), 1);
    assert_int_equal(leaf_level(e, GiB(2)), 2);
    assert_int_equal(leaf_level(e, GiB(2) + MiB(2)), 3);
    assert_int_equal(leaf_level(e, GiB(2) + MiB(2) + PAGE_SIZE), -1);
    assert_int_equal(leaf_level(e, va - PAGE_SIZE), -1);

    assert_int_equal(desc_at(e, GiB(1), 1), (GiB(1) + GiB(4)) | 0x7fcULL | 1);
    assert_int_equal(desc_at(e, GiB(1) - MiB(2), 2), (GiB(5) - MiB(2)) | 0x7fcULL | 1);
    assert_int_equal(desc_at(e, GiB(2), 2), GiB(6) | 0x7fcULL | 1);
    assert_int_equal(desc_at(e, va, 3), pa | 0x7fcULL | 3);
    assert_int_equal(desc_at(e, GiB(2) + MiB(2), 3), (GiB(6) + MiB(2)) | 0x7fcULL | 3);

    for (uint64_t off = 0; off < size; off += MiB(1) + 0x123) {
        assert_int_equal(lookup_pa(e, va + off), pa + off);
    }
    assert_int_equal(lookup_pa(e, va + size - 1), pa + size - 1);
    assert_false(mapped(e, va - 1));
    assert_false(mapped(e, va + size));
    /* Two level-2 tables and two level-3 tables. */
    assert_int_equal(e->allocs, 4);
}

/* ---- lookup ---- */

static void test_lookup_round_trips_prot_and_mem(void **state)
{
    static const struct {
        unsigned prot;
        enum pt_mem mem;
    } s2_cases[] = {
        {PT_R, PT_MEM_NORMAL},        {PT_R | PT_W, PT_MEM_NORMAL},
        {PT_R | PT_X, PT_MEM_NORMAL}, {PT_R | PT_W | PT_X, PT_MEM_NORMAL},
        {PT_R | PT_W, PT_MEM_DEVICE}, {PT_R, PT_MEM_DEVICE},
    };
    struct env *e = env_stage2(state, 40);

    for (unsigned i = 0; i < ARRAY_SIZE(s2_cases); i++) {
        uint64_t va = GiB(1) + i * MiB(2) + PAGE_SIZE, pa = GiB(3) + i * MiB(4) + PAGE_SIZE;
        uint64_t got_pa = 0;
        unsigned prot = 0;
        enum pt_mem mem = PT_MEM_NORMAL;

        assert_int_equal(pt_map(&e->pt, va, pa, PAGE_SIZE, s2_cases[i].prot, s2_cases[i].mem), 0);
        assert_true(pt_lookup(&e->pt, va + 0xabc, &got_pa, &prot, &mem));
        assert_int_equal(got_pa, pa + 0xabc);
        assert_int_equal(prot, s2_cases[i].prot);
        assert_int_equal(mem, s2_cases[i].mem);
    }
}

static void test_lookup_round_trips_stage1(void **state)
{
    static const struct {
        unsigned prot;
        enum pt_mem mem;
    } cases[] = {
        {PT_R, PT_MEM_NORMAL},        {PT_R | PT_W, PT_MEM_NORMAL},
        {PT_R | PT_X, PT_MEM_NORMAL}, {PT_R | PT_W | PT_X, PT_MEM_NORMAL},
        {PT_R | PT_W, PT_MEM_DEVICE},
    };
    struct env *e = env_init(state, PT_STAGE1_EL2, 39, 1, 1);

    for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
        uint64_t va = GiB(2) + i * MiB(2), pa = GiB(8) + i * MiB(2);
        uint64_t got_pa = 0;
        unsigned prot = 0;
        enum pt_mem mem = PT_MEM_NORMAL;

        assert_int_equal(pt_map(&e->pt, va, pa, MiB(2), cases[i].prot, cases[i].mem), 0);
        assert_int_equal(leaf_level(e, va), 2);
        assert_true(pt_lookup(&e->pt, va + MiB(1) + 8, &got_pa, &prot, &mem));
        assert_int_equal(got_pa, pa + MiB(1) + 8);
        assert_int_equal(prot, cases[i].prot);
        assert_int_equal(mem, cases[i].mem);
    }
}

static void test_lookup_unmapped_and_out_of_range(void **state)
{
    struct env *e = env_stage2(state, 40);
    uint64_t pa = 0x1234;

    assert_false(pt_lookup(&e->pt, 0, &pa, NULL, NULL));
    assert_int_equal(pt_map(&e->pt, GiB(1), GiB(1), GiB(1), PT_R, PT_MEM_NORMAL), 0);
    assert_false(mapped(e, GiB(1) - 1));
    assert_true(mapped(e, GiB(1)));
    /* Beyond the 40-bit input range. */
    assert_false(mapped(e, 1ULL << 40));
    assert_false(mapped(e, (1ULL << 40) + GiB(1)));
    assert_false(mapped(e, ~0ULL));
}

/* ---- unmap and splitting ---- */

static void test_unmap_page_of_2mib_block_splits_it(void **state)
{
    struct env *e = env_stage2(state, 40);
    uint64_t va = GiB(1) + MiB(4), pa = GiB(7) + MiB(6);
    uint64_t hole = va + 5 * PAGE_SIZE;
    uint64_t attrs = s2_normal(PT_R | PT_W | PT_X);

    assert_int_equal(pt_map(&e->pt, va, pa, MiB(2), PT_R | PT_W | PT_X, PT_MEM_NORMAL), 0);
    assert_int_equal(leaf_level(e, va), 2);
    unsigned allocs = e->allocs;

    assert_int_equal(pt_unmap(&e->pt, hole, PAGE_SIZE), 0);
    assert_int_equal(e->allocs, allocs + 1);
    assert_int_equal(desc_at(e, va, 2) & 3, 0x3); /* now a table */
    for (unsigned i = 0; i < 512; i++) {
        uint64_t d = desc_at(e, va + i * PAGE_SIZE, 3);
        if (va + i * PAGE_SIZE == hole) {
            assert_int_equal(d & D_VALID, 0);
        } else {
            assert_int_equal(d, (pa + i * PAGE_SIZE) | attrs | 0x3);
        }
    }
    assert_false(mapped(e, hole));
    assert_false(mapped(e, hole + PAGE_SIZE - 1));
    assert_int_equal(lookup_pa(e, hole - 1), pa + 5 * PAGE_SIZE - 1);
    assert_int_equal(lookup_pa(e, hole + PAGE_SIZE), pa + 6 * PAGE_SIZE);

    /* The block was invalidated before its table replaced it, and the page on removal. */
    assert_true(has_call(e, va, MiB(2)));
    assert_true(has_call(e, hole, PAGE_SIZE));
    assert_calls_saw_invalid_entries(e);
}

static void test_unmap_2mib_of_1gib_block_splits_into_blocks(void **state)
{
    struct env *e = env_stage2(state, 40);
    uint64_t hole = GiB(2) + MiB(10);

    assert_int_equal(pt_map(&e->pt, GiB(2), GiB(9), GiB(1), PT_R, PT_MEM_NORMAL), 0);
    assert_int_equal(pt_unmap(&e->pt, hole, MiB(2)), 0);
    /* One level-2 table of 2 MiB blocks: no level-3 table needed. */
    assert_int_equal(e->allocs, 1);
    for (unsigned i = 0; i < 512; i++) {
        uint64_t va = GiB(2) + i * MiB(2);
        uint64_t d = desc_at(e, va, 2);
        if (va == hole) {
            assert_int_equal(d & D_VALID, 0);
        } else {
            assert_int_equal(d, (GiB(9) + i * MiB(2)) | s2_normal(PT_R) | D_BLOCK);
        }
    }
    assert_true(has_call(e, GiB(2), GiB(1)));
    assert_true(has_call(e, hole, MiB(2)));
    assert_calls_saw_invalid_entries(e);
}

static void test_unmap_page_of_1gib_block_splits_twice(void **state)
{
    struct env *e = env_init(state, PT_STAGE1_EL2, 39, 1, 1);
    uint64_t hole = GiB(1) + MiB(6) + 3 * PAGE_SIZE;

    assert_int_equal(pt_map(&e->pt, GiB(1), GiB(1), GiB(1), PT_R | PT_W, PT_MEM_NORMAL), 0);
    assert_int_equal(pt_unmap(&e->pt, hole, PAGE_SIZE), 0);
    assert_int_equal(e->allocs, 2);
    assert_int_equal(leaf_level(e, GiB(1)), 2);
    assert_int_equal(leaf_level(e, hole - PAGE_SIZE), 3);
    assert_int_equal(leaf_level(e, hole), -1);
    assert_int_equal(leaf_level(e, hole + PAGE_SIZE), 3);
    assert_int_equal(leaf_level(e, GiB(2) - 1), 2);

    unsigned prot = 0;
    enum pt_mem mem = PT_MEM_DEVICE;
    uint64_t pa = 0;
    assert_true(pt_lookup(&e->pt, hole + PAGE_SIZE, &pa, &prot, &mem));
    assert_int_equal(pa, hole + PAGE_SIZE);
    assert_int_equal(prot, PT_R | PT_W);
    assert_int_equal(mem, PT_MEM_NORMAL);
    uint64_t attrs = LEAF_ATTRS(desc_at(e, GiB(1), 2));
    assert_int_equal(LEAF_ATTRS(desc_at(e, hole + PAGE_SIZE, 3)), attrs);
    assert_calls_saw_invalid_entries(e);
}

static void test_unmap_whole_block_and_range(void **state)
{
    struct env *e = env_stage2(state, 40);

    assert_int_equal(pt_map(&e->pt, MiB(2), MiB(2), MiB(6), PT_R | PT_W, PT_MEM_NORMAL), 0);
    assert_int_equal(pt_unmap(&e->pt, MiB(4), MiB(2)), 0);
    assert_int_equal(desc_at(e, MiB(4), 2), 0);
    assert_true(has_call(e, MiB(4), MiB(2)));
    assert_true(mapped(e, MiB(4) - 1));
    assert_true(mapped(e, MiB(6)));

    e->ncalls = 0;
    assert_int_equal(pt_unmap(&e->pt, 0, GiB(1)), 0);
    for (uint64_t va = 0; va < MiB(16); va += MiB(1)) {
        assert_false(mapped(e, va));
    }
    /* Whatever the granularity chosen, the TLBs hear about both remaining blocks. */
    assert_true(covered(e, MiB(2), MiB(2)));
    assert_true(covered(e, MiB(6), MiB(2)));
    assert_calls_saw_invalid_entries(e);
}

static void test_unmap_of_nothing_succeeds_without_allocating(void **state)
{
    struct env *e = env_stage2(state, 40);

    assert_int_equal(pt_unmap(&e->pt, GiB(3) + PAGE_SIZE, PAGE_SIZE), 0);
    assert_int_equal(pt_unmap(&e->pt, 0, 1ULL << 40), 0);
    assert_int_equal(e->allocs, 0);
    assert_int_equal(e->ncalls, 0);
}

/* ---- remapping and break-before-make ---- */

static void test_remap_with_new_attrs_breaks_before_make(void **state)
{
    struct env *e = env_stage2(state, 40);
    uint64_t va = GiB(1) + 0x7000;

    assert_int_equal(pt_map(&e->pt, va, 0x80007000, PAGE_SIZE, PT_R | PT_W, PT_MEM_NORMAL), 0);
    assert_int_equal(e->ncalls, 0);
    assert_int_equal(pt_map(&e->pt, va, 0x80007000, PAGE_SIZE, PT_R, PT_MEM_NORMAL), 0);
    assert_int_equal(e->ncalls, 1);
    assert_int_equal(e->calls[0].va, va);
    assert_int_equal(e->calls[0].size, PAGE_SIZE);
    assert_calls_saw_invalid_entries(e);
    assert_int_equal(desc_at(e, va, 3), 0x80007000 | s2_normal(PT_R) | 0x3);

    /* A new output address for the same page is a change too. */
    assert_int_equal(pt_map(&e->pt, va, 0x90007000, PAGE_SIZE, PT_R, PT_MEM_NORMAL), 0);
    assert_int_equal(e->ncalls, 2);
    assert_int_equal(lookup_pa(e, va), 0x90007000);
    assert_calls_saw_invalid_entries(e);
}

static void test_remap_block_attrs_breaks_before_make(void **state)
{
    struct env *e = env_init(state, PT_STAGE1_EL2, 39, 1, 1);

    assert_int_equal(pt_map(&e->pt, GiB(1), GiB(1), GiB(1), PT_R | PT_W, PT_MEM_NORMAL), 0);
    assert_int_equal(pt_map(&e->pt, GiB(1), GiB(1), GiB(1), PT_R | PT_W, PT_MEM_DEVICE), 0);
    assert_int_equal(e->ncalls, 1);
    assert_true(has_call(e, GiB(1), GiB(1)));
    assert_calls_saw_invalid_entries(e);
    assert_int_equal((e->pt.root[1] >> 2) & 7, MAIR_IDX_DEVICE_nGnRE);
}

static void test_remap_block_over_page_table_breaks_before_make(void **state)
{
    struct env *e = env_stage2(state, 40);

    assert_int_equal(pt_map(&e->pt, MiB(2), MiB(2), PAGE_SIZE, PT_R, PT_MEM_NORMAL), 0);
    assert_int_equal(desc_at(e, MiB(2), 2) & 3, 0x3);
    assert_int_equal(pt_map(&e->pt, MiB(2), GiB(1), MiB(2), PT_R | PT_W, PT_MEM_NORMAL), 0);
    assert_int_equal(desc_at(e, MiB(2), 2), GiB(1) | s2_normal(PT_R | PT_W) | D_BLOCK);
    assert_true(has_call(e, MiB(2), MiB(2)));
    assert_calls_saw_invalid_entries(e);
    assert_int_equal(lookup_pa(e, MiB(2) + 0x1234), GiB(1) + 0x1234);
}

static void test_partial_remap_of_block_keeps_rest(void **state)
{
    struct env *e = env_stage2(state, 40);

    assert_int_equal(pt_map(&e->pt, MiB(8), GiB(2), MiB(2), PT_R | PT_W, PT_MEM_NORMAL), 0);
    assert_int_equal(
        pt_map(&e->pt, MiB(8) + PAGE_SIZE, 0x123000, PAGE_SIZE, PT_R | PT_W, PT_MEM_DEVICE), 0);
    assert_int_equal(lookup_pa(e, MiB(8)), GiB(2));
    assert_int_equal(lookup_pa(e, MiB(8) + PAGE_SIZE), 0x123000);
    assert_int_equal(lookup_pa(e, MiB(8) + 2 * PAGE_SIZE), GiB(2) + 2 * PAGE_SIZE);
    assert_int_equal(desc_at(e, MiB(8) + MiB(2) - PAGE_SIZE, 3),
                     (GiB(2) + MiB(2) - PAGE_SIZE) | s2_normal(PT_R | PT_W) | 0x3);
    assert_true(has_call(e, MiB(8), MiB(2)));
    assert_true(has_call(e, MiB(8) + PAGE_SIZE, PAGE_SIZE));
    assert_calls_saw_invalid_entries(e);
}

/* ---- argument checking and allocation failure ---- */

static void test_invalid_arguments_rejected(void **state)
{
    struct env *e = env_stage2(state, 40);
    const unsigned rw = PT_R | PT_W;
    const uint64_t top = 1ULL << 40;

    assert_int_equal(pt_map(&e->pt, 0x1800, 0x2000, PAGE_SIZE, rw, PT_MEM_NORMAL), -1);
    assert_int_equal(pt_map(&e->pt, 0x2000, 0x1800, PAGE_SIZE, rw, PT_MEM_NORMAL), -1);
    assert_int_equal(pt_map(&e->pt, 0x2000, 0x2000, 0x800, rw, PT_MEM_NORMAL), -1);
    assert_int_equal(pt_map(&e->pt, 0x2000, 0x2000, PAGE_SIZE + 1, rw, PT_MEM_NORMAL), -1);
    assert_int_equal(pt_map(&e->pt, 0x2000, 0x2000, 0, rw, PT_MEM_NORMAL), -1);
    assert_int_equal(pt_map(&e->pt, top, 0, PAGE_SIZE, rw, PT_MEM_NORMAL), -1);
    assert_int_equal(pt_map(&e->pt, top - PAGE_SIZE, 0, 2 * PAGE_SIZE, rw, PT_MEM_NORMAL), -1);
    assert_int_equal(pt_map(&e->pt, PAGE_SIZE, 0, ~0ULL & ~(PAGE_SIZE - 1), rw, PT_MEM_NORMAL), -1);
    /* An output address beyond the descriptor's 48 bits. */
    assert_int_equal(pt_map(&e->pt, 0, 1ULL << 48, PAGE_SIZE, rw, PT_MEM_NORMAL), -1);

    assert_int_equal(pt_unmap(&e->pt, 0x800, PAGE_SIZE), -1);
    assert_int_equal(pt_unmap(&e->pt, 0, 0x800), -1);
    assert_int_equal(pt_unmap(&e->pt, 0, 0), -1);
    assert_int_equal(pt_unmap(&e->pt, top, PAGE_SIZE), -1);
    assert_int_equal(pt_unmap(&e->pt, top - PAGE_SIZE, 2 * PAGE_SIZE), -1);

    /* Nothing was touched. */
    assert_int_equal(e->allocs, 0);
    assert_int_equal(e->ncalls, 0);
    for (unsigned i = 0; i < 2 * PT_ENTRIES; i++) {
        assert_int_equal(e->pt.root[i], 0);
    }

    /* The last page of the input range is fine. */
    assert_int_equal(pt_map(&e->pt, top - PAGE_SIZE, 0, PAGE_SIZE, rw, PT_MEM_NORMAL), 0);
    assert_int_equal(lookup_pa(e, top - 1), PAGE_SIZE - 1);
}

static void test_allocation_failure_returns_error(void **state)
{
    struct env *e = env_stage2(state, 40);

    e->alloc_limit = 0;
    assert_int_equal(pt_map(&e->pt, PAGE_SIZE, PAGE_SIZE, PAGE_SIZE, PT_R, PT_MEM_NORMAL), -1);
    assert_false(mapped(e, PAGE_SIZE));

    /* A page needs a level-2 and a level-3 table: the second allocation fails. */
    e->alloc_limit = 1;
    assert_int_equal(pt_map(&e->pt, PAGE_SIZE, PAGE_SIZE, PAGE_SIZE, PT_R, PT_MEM_NORMAL), -1);
    assert_false(mapped(e, PAGE_SIZE));

    /* A 1 GiB block needs no table at all. */
    assert_int_equal(pt_map(&e->pt, GiB(1), GiB(1), GiB(1), PT_R, PT_MEM_NORMAL), 0);
}

static void test_allocation_failure_keeps_earlier_part_mapped(void **state)
{
    struct env *e = env_stage2(state, 40);

    /* [1 GiB - 2 MiB, 1 GiB + 2 MiB) needs one level-2 table per GiB; only one is available. */
    e->alloc_limit = 1;
    assert_int_equal(
        pt_map(&e->pt, GiB(1) - MiB(2), GiB(3) - MiB(2), MiB(4), PT_R | PT_W, PT_MEM_NORMAL), -1);
    assert_int_equal(e->allocs, 1);
    assert_int_equal(lookup_pa(e, GiB(1) - MiB(2)), GiB(3) - MiB(2));
    assert_false(mapped(e, GiB(1)));
}

static void test_split_allocation_failure_keeps_block(void **state)
{
    struct env *e = env_stage2(state, 40);

    assert_int_equal(pt_map(&e->pt, MiB(2), GiB(1), MiB(2), PT_R | PT_W, PT_MEM_NORMAL), 0);
    e->alloc_limit = e->allocs;
    assert_int_equal(pt_unmap(&e->pt, MiB(3), PAGE_SIZE), -1);
    /* The block is intact, attributes and all. */
    assert_int_equal(desc_at(e, MiB(2), 2), GiB(1) | s2_normal(PT_R | PT_W) | D_BLOCK);
    assert_true(mapped(e, MiB(3)));
}

/* ---- concatenated stage-2 roots ---- */

static void test_concatenated_root_ipa40_indexes_second_page(void **state)
{
    struct env *e = env_stage2(state, 40);
    uint64_t va = GiB(600); /* above 512 GiB: level-1 index 600 */

    assert_int_equal(e->start_level, 1);
    assert_int_equal(pt_map(&e->pt, va, GiB(2), GiB(1), PT_R | PT_W, PT_MEM_NORMAL), 0);
    /* Index 600 of the 1024-entry concatenated table: entry 88 of the second page. */
    assert_int_equal(e->pt.root[600], GiB(2) | s2_normal(PT_R | PT_W) | D_BLOCK);
    assert_int_equal(e->pt.root[PT_ENTRIES + 88], e->pt.root[600]);
    assert_int_equal(e->pt.root[88], 0);
    assert_int_equal(lookup_pa(e, va + 0x1234), GiB(2) + 0x1234);
    assert_false(mapped(e, GiB(88)));

    /* The last GiB of the 1 TiB space, mapped with pages: index 1023. */
    uint64_t last = (1ULL << 40) - PAGE_SIZE;
    assert_int_equal(pt_map(&e->pt, last, 0x5000, PAGE_SIZE, PT_R, PT_MEM_NORMAL), 0);
    assert_int_equal(e->pt.root[1023] & 3, 0x3);
    assert_int_equal(e->pt.root[511], 0);
    assert_int_equal(desc_at(e, last, 3), 0x5000 | s2_normal(PT_R) | 0x3);
    assert_int_equal(lookup_pa(e, last + 0xfff), 0x5fff);
}

static void test_concatenated_root_ipa42_top_of_range(void **state)
{
    struct env *e = env_stage2(state, 42);
    uint64_t va = (1ULL << 42) - GiB(1); /* index 4095: last entry of the eighth page */

    assert_int_equal(pt_map(&e->pt, va, GiB(1), GiB(1), PT_R, PT_MEM_NORMAL), 0);
    assert_int_equal(e->pt.root[4095], GiB(1) | s2_normal(PT_R) | D_BLOCK);
    assert_int_equal(e->pt.root[511], 0);
    assert_int_equal(lookup_pa(e, va + 42), GiB(1) + 42);
    assert_int_equal(pt_map(&e->pt, 1ULL << 42, 0, GiB(1), PT_R, PT_MEM_NORMAL), -1);
}

/* A VM's RAM, 1 GiB + 4 MiB across two GiB boundaries (three level-2 tables), prepared for
 * 2 MiB blocks, then mapped, unmapped and mapped again block by block: no table is asked for after
 * the preparation, and nothing was mapped by it. */
static void test_prepare_leaves_block_mappings_nothing_to_allocate(void **state)
{
    struct env *e = env_stage2(state, 36);
    uint64_t base = GiB(1) - MiB(2), size = GiB(1) + MiB(4);

    assert_int_equal(pt_prepare(&e->pt, base, size, 2), 0);
    assert_int_equal(e->allocs, 3);
    assert_false(mapped(e, base));
    assert_false(mapped(e, base + size - 1));
    e->alloc_limit = e->allocs;
    for (unsigned round = 0; round < 2; round++) {
        for (uint64_t b = base; b < base + size; b += MiB(2)) {
            assert_int_equal(pt_map(&e->pt, b, b + GiB(2), MiB(2), PT_R | PT_W, PT_MEM_NORMAL), 0);
        }
        assert_int_equal(lookup_pa(e, base + size - 1), base + size - 1 + GiB(2));
        /* Block by block, as a VM's reset does. */
        for (uint64_t b = base; b < base + size; b += MiB(2)) {
            assert_int_equal(pt_unmap(&e->pt, b, MiB(2)), 0);
        }
        assert_false(mapped(e, base));
    }
    assert_int_equal(e->allocs, 3);
}

/* PT_PAGES maps an aligned 2 MiB by 512 pages (a VM's RAM). Unmapping all of it at
 * once, as a VM's reset does, clears every page, invalidates once for the whole range and keeps
 * the tables pt_prepare() built: mapping it again asks for none. */
static void test_pt_pages_maps_pages_and_unmap_keeps_tables(void **state)
{
    struct env *e = env_stage2(state, 36);
    uint64_t base = GiB(1), size = MiB(6);

    assert_int_equal(pt_prepare(&e->pt, base, size, 3), 0);
    assert_int_equal(e->allocs, 1 + 3); /* a level-2 table, a level-3 table per 2 MiB */
    e->alloc_limit = e->allocs;
    for (uint64_t b = base; b < base + size; b += MiB(2)) {
        assert_int_equal(
            pt_map(&e->pt, b, b + GiB(2), MiB(2), PT_R | PT_W | PT_PAGES, PT_MEM_NORMAL), 0);
    }
    assert_int_equal(leaf_level(e, base), 3);
    assert_int_equal(LEAF_ATTRS(desc_at(e, base, 3)), s2_normal(PT_R | PT_W));
    assert_int_equal(leaf_level(e, base + size - 1), 3);
    assert_int_equal(lookup_pa(e, base + size - 1), base + size - 1 + GiB(2));
    assert_int_equal(e->ncalls, 0);

    assert_int_equal(pt_unmap(&e->pt, base, size), 0);
    assert_int_equal(e->ncalls, 1);
    assert_true(has_call(e, base, size));
    assert_calls_saw_invalid_entries(e);
    for (uint64_t va = base; va < base + size; va += PAGE_SIZE) {
        assert_false(mapped(e, va));
    }
    assert_int_equal(desc_at(e, base, 2) & 3, 0x3); /* still a table */
    assert_int_equal(
        pt_map(&e->pt, base, base + GiB(2), size, PT_R | PT_W | PT_PAGES, PT_MEM_NORMAL), 0);
    assert_int_equal(leaf_level(e, base + MiB(2)), 3);
    assert_int_equal(e->allocs, 1 + 3);
}

/* Unmapping what was never mapped, within a prepared range, asks for no TLB maintenance. */
static void test_unmap_of_prepared_range_invalidates_nothing(void **state)
{
    struct env *e = env_stage2(state, 36);

    assert_int_equal(pt_prepare(&e->pt, GiB(1), MiB(4), 3), 0);
    assert_int_equal(pt_map(&e->pt, GiB(1) + MiB(2), GiB(3), PAGE_SIZE, PT_R, PT_MEM_NORMAL), 0);
    assert_int_equal(pt_unmap(&e->pt, GiB(1), MiB(2)), 0);
    assert_int_equal(e->ncalls, 0);
    assert_true(mapped(e, GiB(1) + MiB(2)));
}

/* With a level-0 root (48-bit IPA), a level-1 table comes first. */
static void test_prepare_from_level0_creates_level1_and_level2(void **state)
{
    struct env *e = env_stage2(state, 48);

    assert_int_equal(pt_prepare(&e->pt, GiB(1), MiB(2), 2), 0);
    assert_int_equal(e->allocs, 2);
    assert_int_equal(pt_prepare(&e->pt, GiB(1), MiB(2), 2), 0);
    assert_int_equal(e->allocs, 2); /* already there */
    assert_int_equal(pt_prepare(&e->pt, GiB(1), MiB(2), 0), -1);
    e->alloc_limit = e->allocs;
    assert_int_equal(pt_prepare(&e->pt, GiB(8), MiB(2), 2), -1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_stage2_geometry_follows_start_level_rules),
        T(test_stage2_leaf_attrs_match_arm_encoding),
        T(test_stage1_el2_leaf_attrs_match_arm_encoding),
        T(test_stage1_el2_leaf_sets_ap1_res1),
        T(test_stage1_mair_indices_name_the_right_attributes),
        T(test_stage2_2mib_block_at_level2),
        T(test_stage2_1gib_block_at_level1),
        T(test_stage2_32bit_root_is_level2_concatenated),
        T(test_stage2_4kib_page_at_level3),
        T(test_stage2_device_page_descriptor),
        T(test_stage1_el2_block_and_page_descriptors),
        T(test_no_block_at_level0_stage2),
        T(test_no_block_at_level0_stage1),
        T(test_unaligned_pa_falls_back_to_pages),
        T(test_unaligned_va_falls_back_to_pages),
        T(test_straddling_range_uses_largest_blocks),
        T(test_lookup_round_trips_prot_and_mem),
        T(test_lookup_round_trips_stage1),
        T(test_lookup_unmapped_and_out_of_range),
        T(test_unmap_page_of_2mib_block_splits_it),
        T(test_unmap_2mib_of_1gib_block_splits_into_blocks),
        T(test_unmap_page_of_1gib_block_splits_twice),
        T(test_unmap_whole_block_and_range),
        T(test_unmap_of_nothing_succeeds_without_allocating),
        T(test_remap_with_new_attrs_breaks_before_make),
        T(test_remap_block_attrs_breaks_before_make),
        T(test_remap_block_over_page_table_breaks_before_make),
        T(test_partial_remap_of_block_keeps_rest),
        T(test_invalid_arguments_rejected),
        T(test_allocation_failure_returns_error),
        T(test_allocation_failure_keeps_earlier_part_mapped),
        T(test_split_allocation_failure_keeps_block),
        T(test_concatenated_root_ipa40_indexes_second_page),
        T(test_concatenated_root_ipa42_top_of_range),
        T(test_prepare_leaves_block_mappings_nothing_to_allocate),
        T(test_prepare_from_level0_creates_level1_and_level2),
        T(test_pt_pages_maps_pages_and_unmap_keeps_tables),
        T(test_unmap_of_prepared_range_invalidates_nothing),
    };

    return cmocka_run_group_tests_name("pt", tests, NULL, NULL);
}
