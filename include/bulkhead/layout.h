/*
 * Where each VM lives: which host RAM backs it and where its kernel, initrd and DTB go in its
 * guest-physical (IPA) space. Pure C, host-tested.
 *
 * A VM's IPA map mirrors the board: its RAM starts at the board's first RAM bank base (0x4000_0000
 * on QEMU virt), and its devices (GIC, PL011) sit at the board's addresses, so a guest that runs on
 * the bare board runs unchanged in a VM.
 */
#ifndef BULKHEAD_LAYOUT_H
#define BULKHEAD_LAYOUT_H

#include "config.h"

#define VM_RAM_ALIGN MiB(2)      /* RAM's populating unit: one level-3 table's pages */
#define RAW_IMAGE_OFFSET 0x80000 /* where QEMU puts a kernel without an Image header */
#define GUEST_DTB_MAX MiB(2)     /* the arm64 boot protocol's limit */

/* The arm64 Linux Image header (Documentation/arch/arm64/booting.rst). */
struct arm64_image_header {
    uint32_t code0, code1;
    uint64_t text_offset;
    uint64_t image_size;
    uint64_t flags;
    uint64_t res2, res3, res4;
    uint32_t magic; /* ARM64_IMAGE_MAGIC */
    uint32_t res5;
};
#define ARM64_IMAGE_MAGIC 0x644d5241u /* "ARM\x64" */

struct vm_layout {
    paddr_t ram_pa; /* host-physical base of the VM's RAM */
    ipa_t ram_ipa;  /* its guest-physical base */
    uint64_t ram_size;
    ipa_t kernel_ipa;     /* where the kernel module is copied and entered */
    uint64_t kernel_size; /* bytes copied */
    ipa_t initrd_ipa;
    uint64_t initrd_size;
    ipa_t dtb_ipa;
};

/* Host RAM not yet given out: the board's RAM minus reserved ranges and earlier allocations. */
struct ram_pool {
    struct mem_range free[MAX_RAM_BANKS + MAX_RESERVED + MAX_VMS + 2];
    unsigned nr_free;
};

/* Builds the pool from board->ram minus board->reserved minus extra[] (e.g. the hypervisor). */
void ram_pool_init(struct ram_pool *pool, const struct board *board, const struct mem_range *extra,
                   unsigned nr_extra);

/* Largest VM_RAM_ALIGN-aligned size that one allocation could get now. */
uint64_t ram_pool_largest(const struct ram_pool *pool);

/* Takes size bytes (VM_RAM_ALIGN-aligned, from the top of the highest range that fits).
 * Returns 0 and *pa, or -1 when nothing fits. */
int ram_pool_alloc(struct ram_pool *pool, uint64_t size, paddr_t *pa);

/* The end of the free range holding addr (how far memory from addr up is free), or addr when
 * addr is not free. */
paddr_t ram_pool_free_end(const struct ram_pool *pool, paddr_t addr);

/*
 * The most stage-2 table pages (below the root) a VM's map can need: its RAM, anywhere in
 * [ram_lo, ram_hi), down to its level-2 tables, its shared regions, its passed-through windows
 * and gicv (the GICv2 virtual CPU interface frame, size 0 if none), each mapped on its own by
 * pages, as stage 2 starting at start_level would map them. An upper bound: tables two
 * windows share are counted for each.
 */
uint64_t layout_s2_tables_max(const struct vm_config *cfg, paddr_t ram_lo, paddr_t ram_hi,
                              struct mem_range gicv, unsigned start_level);

/*
 * The most level-3 tables that mapping the RAM of the nr_vms VMs of cfgs by pages needs, on top
 * of layout_s2_tables_max()'s: a table per 2 MiB of their sizes together, or of [ram_lo, ram_hi)
 * if that is less or a VM has no size yet (the VMs' RAM is disjoint and inside it), and one more
 * each for RAM that does not start on a 2 MiB boundary of its IPA space.
 */
uint64_t layout_s2_ram_page_tables_max(const struct vm_config *cfgs, unsigned nr_vms,
                                       paddr_t ram_lo, paddr_t ram_hi);

/*
 * Decides the size of every VM whose mem_size is 0 (none given: see vmcfg_parse) from what the
 * pool can still give. A lone such VM gets the largest block the pool holds; several get equal
 * shares: the largest VM_RAM_ALIGN multiple such that all VMs, allocated in vms[] order with
 * ram_pool_alloc() (those with a size of their own too), still fit. So call it with the pool as it
 * will be right before the VMs are allocated in that order, everything else taken out already.
 * A VM with a size of its own that does not fit is left to fail at its own allocation. Pure: the
 * pool is not changed. Returns 0, or -1 after naming the VMs that cannot get even 2 MiB (their
 * mem_size stays 0).
 */
int layout_default_memory(const struct ram_pool *pool, struct vm_config *vms, unsigned nr_vms);

/*
 * Checks one boot module (kernel or ramdisk: `what`) before anything reads it: it must not wrap
 * around the address space, must lie wholly inside the RAM the board's device tree describes
 * (banks that touch count as one), and must not overlap limits->hyp (the hypervisor's footprint)
 * or limits->dtb (the host DTB). A module outside RAM is nothing the hypervisor maps, one inside
 * its footprint would hand its live memory to the VM. limits may be NULL (nothing to avoid but
 * what is not RAM). Returns 0, or -1 after printing why, naming `node` (the module's DT path).
 */
int layout_check_module(const struct board *board, const struct module_limits *limits,
                        const char *node, const char *what, const struct vm_module *m);
/* The same checks, silent: for the common case, where naming the node (a walk of the whole
 * device tree) would be wasted. */
bool layout_module_ok(const struct board *board, const struct module_limits *limits,
                      const struct vm_module *m);

/* Do two modules share a byte? A module of size 0 (absent) shares none. */
bool layout_modules_overlap(const struct vm_module *a, const struct vm_module *b);

/*
 * Decides where the kernel, initrd and DTB go inside a VM of vm->mem_size bytes whose RAM is at
 * ram_pa, given the first bytes of the kernel module (at least 64, for the Image header).
 * A kernel with an Image header goes at RAM base + text_offset (2 MiB-aligned base, as the boot
 * protocol says); a raw binary at RAM base + RAW_IMAGE_OFFSET, as QEMU places it. The DTB goes in
 * the last 2 MiB of RAM, the initrd just below it. Returns 0, or -1 after printing why the VM does
 * not fit (naming vm->node).
 */
int layout_vm(const struct board *board, const struct vm_config *vm, paddr_t ram_pa,
              const void *kernel_head, uint64_t kernel_head_len, struct vm_layout *out);

#endif
