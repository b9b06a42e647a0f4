/*
 * A page-table builder for the 4 KiB granule, shared by EL2's own stage-1 tables and the VMs'
 * stage-2 tables; the two differ only in how attributes are encoded. Pure C, host-tested: tables
 * are reached through their physical address, which the hypervisor maps one to one.
 *
 * Contract: pt_map() and pt_unmap() may be called on live tables. Whenever they change or remove a
 * valid entry they follow break-before-make: the old entry is invalidated, ops->invalidate() is
 * called for the range it covered (the caller's TLB maintenance; pt_unmap() calls it once for its
 * whole range), and only then is the new entry written. Callers serialize updates to one table.
 */
#ifndef BULKHEAD_PT_H
#define BULKHEAD_PT_H

#include "types.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ULL << PAGE_SHIFT)
#define PT_ENTRIES 512

enum pt_format { PT_STAGE1_EL2, PT_STAGE2 };

enum pt_mem {
    PT_MEM_NORMAL, /* write-back cacheable, inner shareable */
    PT_MEM_DEVICE, /* Device-nGnRE */
};

#define PT_R 1u
#define PT_W 2u
#define PT_X 4u
/* With pt_map(): leaves at level 3 only, never blocks (see populate_block() in el2/vm.c). */
#define PT_PAGES 8u

struct pt_ops {
    /* A zeroed, page-aligned 4 KiB page, or NULL when the pool is empty. */
    void *(*alloc_table)(void *ctx);
    /* TLB maintenance for [va, va+size) after an entry was invalidated. May be NULL. */
    void (*invalidate)(void *ctx, uint64_t va, uint64_t size);
    void *ctx;
};

struct pt {
    uint64_t *root;       /* start-level table(s); concatenated tables are contiguous */
    unsigned start_level; /* 0..2 */
    unsigned va_bits;     /* input address size: 64 - T0SZ */
    enum pt_format format;
    struct pt_ops ops;
};

/* The table geometry a stage-2 of ipa_bits needs: start level and number of concatenated root
 * tables (VTCR_EL2.SL0 follows from the level). ipa_bits must be 32..48. */
void pt_stage2_geometry(unsigned ipa_bits, unsigned *start_level, unsigned *root_pages);

/* Sets pt up with root (root_pages zeroed pages). */
void pt_init(struct pt *pt, enum pt_format format, unsigned va_bits, unsigned start_level,
             uint64_t *root, const struct pt_ops *ops);

/*
 * Maps [va, va+size) to [pa, pa+size) with prot (PT_R/W/X) and mem type, using the largest
 * blocks that alignment allows (1 GiB at level 1, 2 MiB at level 2), or pages alone with
 * PT_PAGES in prot. va, pa and size must be
 * page-aligned and the range inside va_bits. Returns 0, or -1 when a table could not be
 * allocated (the part already mapped stays mapped) or the arguments are invalid.
 */
int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, unsigned prot, enum pt_mem mem);

/* Removes any mapping of [va, va+size), splitting blocks at the edges; the tables stay. The TLB
 * maintenance is one ops->invalidate() for the whole range, after every entry is gone. Returns 0
 * or -1. */
int pt_unmap(struct pt *pt, uint64_t va, uint64_t size);

/* Creates now the tables that mappings of [va, va+size) by leaves of level block_level (2: 2 MiB
 * blocks, 3: pages) will need, mapping nothing: later pt_map() calls of such blocks allocate no
 * table, so they cannot fail for want of memory. Returns 0 or -1 (out of tables). */
int pt_prepare(struct pt *pt, uint64_t va, uint64_t size, unsigned block_level);

/* Translates va. Returns true and the output address, prot and mem type, if mapped. */
bool pt_lookup(const struct pt *pt, uint64_t va, uint64_t *pa, unsigned *prot, enum pt_mem *mem);

/* Descriptor encodings, exposed for tests. */
uint64_t pt_leaf_attrs(enum pt_format format, unsigned prot, enum pt_mem mem);

/* MAIR_EL2 indices the stage-1 encoding refers to. */
#define MAIR_IDX_DEVICE_nGnRE 1
#define MAIR_IDX_NORMAL 2
#define MAIR_EL2_VALUE 0x44ff0400ULL /* 0: nGnRnE, 1: nGnRE, 2: WB, 3: NC */

#endif
