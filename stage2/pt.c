/* Page-table building for the 4 KiB granule. Pure: see include/bulkhead/pt.h. */
#include "bulkhead/pt.h"

#include "bulkhead/string.h"

#define DESC_VALID BIT(0)
#define DESC_TABLE BIT(1) /* at levels 0-2: table; at level 3: page */
#define DESC_AF BIT(10)
#define DESC_SH_INNER (3ULL << 8)
#define DESC_ADDR_MASK 0x0000fffffffff000ULL

#define S1_ATTRIDX(i) ((uint64_t)(i) << 2)
#define S1_AP_RO BIT(7)
#define S1_AP1_RES1 BIT(6) /* a regime with one exception level: AP[1] is RES1 */
#define S1_XN BIT(54)

#define S2_MEMATTR_NORMAL_WB (0xfULL << 2)
#define S2_MEMATTR_DEVICE_nGnRE (0x1ULL << 2)
#define S2_MEMATTR_MASK (0xfULL << 2)
#define S2AP_R BIT(6)
#define S2AP_W BIT(7)
#define S2_XN (2ULL << 53)

#define ATTR_MASK (~DESC_ADDR_MASK & ~(DESC_VALID | DESC_TABLE))

static unsigned level_shift(unsigned level)
{
    return PAGE_SHIFT + 9 * (3 - level);
}

static uint64_t level_size(unsigned level)
{
    return 1ULL << level_shift(level);
}

/* Index into the start level reaches beyond 512 entries when root tables are concatenated. */
static unsigned entry_index(const struct pt *pt, uint64_t va, unsigned level)
{
    uint64_t idx = va >> level_shift(level);

    if (level != pt->start_level) {
        idx &= PT_ENTRIES - 1;
    }
    return (unsigned)idx;
}

void pt_stage2_geometry(unsigned ipa_bits, unsigned *start_level, unsigned *root_pages)
{
    /* Up to 16 concatenated tables at the start level save a level (as KVM does): a level-2
     * start for IPA sizes up to 34 bits (a 32-bit IPA's page is then two descriptor reads away,
     * not three: every stage-1 descriptor read and every TLB fill walks stage 2), level 1 for
     * 35..43. */
    if (ipa_bits <= 34) {
        *start_level = 2;
        *root_pages = ipa_bits > 30 ? 1u << (ipa_bits - 30) : 1;
    } else if (ipa_bits <= 43) {
        *start_level = 1;
        *root_pages = ipa_bits > 39 ? 1u << (ipa_bits - 39) : 1;
    } else {
        *start_level = 0;
        *root_pages = 1;
    }
}

void pt_init(struct pt *pt, enum pt_format format, unsigned va_bits, unsigned start_level,
             uint64_t *root, const struct pt_ops *ops)
{
    pt->root = root;
    pt->start_level = start_level;
    pt->va_bits = va_bits;
    pt->format = format;
    pt->ops = *ops;
}

uint64_t pt_leaf_attrs(enum pt_format format, unsigned prot, enum pt_mem mem)
{
    uint64_t d = DESC_AF;

    if (format == PT_STAGE1_EL2) {
        d |= S1_ATTRIDX(mem == PT_MEM_NORMAL ? MAIR_IDX_NORMAL : MAIR_IDX_DEVICE_nGnRE);
        d |= DESC_SH_INNER | S1_AP1_RES1;
        if (!(prot & PT_W)) {
            d |= S1_AP_RO;
        }
        if (!(prot & PT_X)) {
            d |= S1_XN;
        }
        return d;
    }
    d |= mem == PT_MEM_NORMAL ? S2_MEMATTR_NORMAL_WB : S2_MEMATTR_DEVICE_nGnRE;
    d |= DESC_SH_INNER;
    if (prot & PT_R) {
        d |= S2AP_R;
    }
    if (prot & PT_W) {
        d |= S2AP_W;
    }
    if (!(prot & PT_X)) {
        d |= S2_XN;
    }
    return d;
}

static void decode_attrs(enum pt_format format, uint64_t d, unsigned *prot, enum pt_mem *mem)
{
    if (format == PT_STAGE1_EL2) {
        *prot = PT_R | ((d & S1_AP_RO) ? 0 : PT_W) | ((d & S1_XN) ? 0 : PT_X);
        *mem = BITS(d, 4, 2) == MAIR_IDX_NORMAL ? PT_MEM_NORMAL : PT_MEM_DEVICE;
        return;
    }
    *prot = ((d & S2AP_R) ? PT_R : 0) | ((d & S2AP_W) ? PT_W : 0) | ((d & S2_XN) ? 0 : PT_X);
    *mem = (d & S2_MEMATTR_MASK) == S2_MEMATTR_NORMAL_WB ? PT_MEM_NORMAL : PT_MEM_DEVICE;
}

static bool is_table(uint64_t d, unsigned level)
{
    return (d & DESC_VALID) && (d & DESC_TABLE) && level < 3;
}

static uint64_t *table_of(uint64_t d)
{
    return (uint64_t *)(uintptr_t)(d & DESC_ADDR_MASK);
}

static void invalidate(struct pt *pt, uint64_t va, uint64_t size)
{
    if (pt->ops.invalidate) {
        pt->ops.invalidate(pt->ops.ctx, va, size);
    }
}

/* Break-before-make: a valid entry is never overwritten by a different valid one directly. */
static void set_entry(struct pt *pt, uint64_t *slot, uint64_t d, uint64_t va, unsigned level)
{
    if ((*slot & DESC_VALID) && *slot != d) {
        __atomic_store_n(slot, 0, __ATOMIC_RELEASE);
        invalidate(pt, ALIGN_DOWN(va, level_size(level)), level_size(level));
    }
    __atomic_store_n(slot, d, __ATOMIC_RELEASE);
}

/* Replaces a block by a table holding the same mapping in the next level's granules. */
static uint64_t *split_block(struct pt *pt, uint64_t *slot, uint64_t va, unsigned level)
{
    uint64_t *table = pt->ops.alloc_table(pt->ops.ctx);
    uint64_t block = *slot;

    if (!table) {
        return NULL;
    }
    uint64_t child_size = level_size(level + 1);
    uint64_t base_pa = block & DESC_ADDR_MASK & ~(level_size(level) - 1);
    uint64_t type = level + 1 == 3 ? (DESC_VALID | DESC_TABLE) : DESC_VALID;

    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        table[i] = (base_pa + i * child_size) | (block & ATTR_MASK) | type;
    }
    set_entry(pt, slot, (uint64_t)(uintptr_t)table | DESC_VALID | DESC_TABLE, va, level);
    return table;
}

/* The table one level below *slot, creating it (or splitting a block) when needed. */
static uint64_t *next_table(struct pt *pt, uint64_t *slot, uint64_t va, unsigned level)
{
    if (is_table(*slot, level)) {
        return table_of(*slot);
    }
    if (*slot & DESC_VALID) {
        return split_block(pt, slot, va, level);
    }
    uint64_t *table = pt->ops.alloc_table(pt->ops.ctx);
    if (table) {
        __atomic_store_n(slot, (uint64_t)(uintptr_t)table | DESC_VALID | DESC_TABLE,
                         __ATOMIC_RELEASE);
    }
    return table;
}

static bool range_ok(const struct pt *pt, uint64_t va, uint64_t size)
{
    uint64_t limit = 1ULL << pt->va_bits;

    return IS_ALIGNED(va, PAGE_SIZE) && IS_ALIGNED(size, PAGE_SIZE) && size && va < limit &&
           size <= limit - va;
}

/* Walks [va, va+size) within one table at level and maps it to pa with attrs. */
static int map_range(struct pt *pt, uint64_t *table, unsigned level, uint64_t va, uint64_t size,
                     uint64_t pa, uint64_t attrs, bool pages)
{
    while (size) {
        uint64_t blk = level_size(level);
        uint64_t chunk = MIN(size, blk - (va & (blk - 1)));
        uint64_t *slot = &table[entry_index(pt, va, level)];
        bool block_ok = !pages && level >= 1 && chunk == blk && IS_ALIGNED(pa, blk);

        if (level == 3 || block_ok) {
            /* A table being replaced by a block is left allocated: pools are per table and
             * reclaimed when the table is destroyed. */
            set_entry(pt, slot, pa | attrs | DESC_VALID | (level == 3 ? DESC_TABLE : 0), va, level);
        } else {
            uint64_t *child = next_table(pt, slot, va, level);
            if (!child || map_range(pt, child, level + 1, va, chunk, pa, attrs, pages)) {
                return -1;
            }
        }
        va += chunk;
        pa += chunk;
        size -= chunk;
    }
    return 0;
}

/* Walks [va, va+size) within one table at level and removes its leaves, keeping the tables (a
 * table pt_prepare() built stays for the next mapping). Sets *cleared when a valid leaf went:
 * the caller invalidates the TLBs once for the whole range, not once per entry. */
static int unmap_range(struct pt *pt, uint64_t *table, unsigned level, uint64_t va, uint64_t size,
                       bool *cleared)
{
    while (size) {
        uint64_t blk = level_size(level);
        uint64_t chunk = MIN(size, blk - (va & (blk - 1)));
        uint64_t *slot = &table[entry_index(pt, va, level)];

        if (!(*slot & DESC_VALID)) {
            /* nothing to remove */
        } else if (!is_table(*slot, level) && chunk == blk) {
            __atomic_store_n(slot, 0, __ATOMIC_RELEASE);
            *cleared = true;
        } else {
            /* A table, or a block only part of which goes: split first. */
            uint64_t *child = next_table(pt, slot, va, level);
            if (!child || unmap_range(pt, child, level + 1, va, chunk, cleared)) {
                return -1;
            }
        }
        va += chunk;
        size -= chunk;
    }
    return 0;
}

int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, unsigned prot, enum pt_mem mem)
{
    if (!range_ok(pt, va, size) || !IS_ALIGNED(pa, PAGE_SIZE) || (pa & ~DESC_ADDR_MASK)) {
        return -1;
    }
    return map_range(pt, pt->root, pt->start_level, va, size, pa,
                     pt_leaf_attrs(pt->format, prot, mem), prot & PT_PAGES);
}

int pt_unmap(struct pt *pt, uint64_t va, uint64_t size)
{
    bool cleared = false;

    if (!range_ok(pt, va, size)) {
        return -1;
    }
    int rc = unmap_range(pt, pt->root, pt->start_level, va, size, &cleared);
    if (cleared) {
        invalidate(pt, va, size);
    }
    return rc;
}

/* The tables under table (at level) down to block_level's, for [va, va+size). */
static int prepare_range(struct pt *pt, uint64_t *table, unsigned level, uint64_t va, uint64_t size,
                         unsigned block_level)
{
    while (size) {
        uint64_t blk = level_size(level);
        uint64_t chunk = MIN(size, blk - (va & (blk - 1)));
        uint64_t *child = next_table(pt, &table[entry_index(pt, va, level)], va, level);

        if (!child || (level + 1 < block_level &&
                       prepare_range(pt, child, level + 1, va, chunk, block_level) != 0)) {
            return -1;
        }
        va += chunk;
        size -= chunk;
    }
    return 0;
}

int pt_prepare(struct pt *pt, uint64_t va, uint64_t size, unsigned block_level)
{
    if (!range_ok(pt, va, size) || block_level < MAX(pt->start_level, 1u) || block_level > 3) {
        return -1;
    }
    if (block_level == pt->start_level) {
        return 0; /* the root itself holds the blocks: nothing to build */
    }
    return prepare_range(pt, pt->root, pt->start_level, va, size, block_level);
}

bool pt_lookup(const struct pt *pt, uint64_t va, uint64_t *pa, unsigned *prot, enum pt_mem *mem)
{
    const uint64_t *table = pt->root;

    if (va >> pt->va_bits) {
        return false;
    }
    for (unsigned level = pt->start_level; level <= 3; level++) {
        uint64_t d = table[entry_index(pt, va, level)];
        if (!(d & DESC_VALID)) {
            return false;
        }
        if (is_table(d, level)) {
            table = table_of(d);
            continue;
        }
        uint64_t off = va & (level_size(level) - 1);
        if (pa) {
            *pa = (d & DESC_ADDR_MASK & ~(level_size(level) - 1)) + off;
        }
        if (prot && mem) {
            decode_attrs(pt->format, d, prot, mem);
        }
        return true;
    }
    return false;
}
