/*
 * Host RAM for VMs, and where things go inside a VM. The pool hands out 2 MiB-aligned blocks so
 * that stage-2 can map VM RAM with block entries; the placement inside a VM follows the arm64
 * boot protocol (Documentation/arch/arm64/booting.rst) for the kernel, initrd and DTB.
 */
#include "bulkhead/layout.h"
#include "bulkhead/printk.h"
#include "bulkhead/pt.h"
#include "bulkhead/string.h"

#define INITRD_ALIGN KiB(4)
/* booting.rst: "if image_size is zero, text_offset can be assumed to be 0x80000" (pre-3.17). */
#define OLD_KERNEL_TEXT_OFFSET 0x80000
#define IMAGE_TEXT_OFFSET_AT 8
#define IMAGE_SIZE_AT 16
#define IMAGE_MAGIC_AT 56

/* ---- The pool ---- */

static uint64_t end_of(uint64_t base, uint64_t size)
{
    return size > UINT64_MAX - base ? UINT64_MAX : base + size;
}

/* The 2 MiB-aligned part of a free range: [*lo, *hi), or false if there is none. */
static bool aligned_part(const struct mem_range *r, uint64_t *lo, uint64_t *hi)
{
    if (r->base > UINT64_MAX - VM_RAM_ALIGN) {
        return false;
    }
    *lo = ALIGN_UP(r->base, VM_RAM_ALIGN);
    *hi = ALIGN_DOWN(end_of(r->base, r->size), VM_RAM_ALIGN);
    return *hi > *lo;
}

static uint64_t aligned_size(const struct mem_range *r)
{
    uint64_t lo, hi;

    return aligned_part(r, &lo, &hi) ? hi - lo : 0;
}

static void pool_remove(struct ram_pool *pool, unsigned i)
{
    memmove(&pool->free[i], &pool->free[i + 1], (pool->nr_free - i - 1) * sizeof(pool->free[0]));
    pool->nr_free--;
}

/* Puts r at index i, keeping the order; false if the pool is full. */
static bool pool_insert(struct ram_pool *pool, unsigned i, struct mem_range r)
{
    if (pool->nr_free == ARRAY_SIZE(pool->free)) {
        return false;
    }
    memmove(&pool->free[i + 1], &pool->free[i], (pool->nr_free - i) * sizeof(pool->free[0]));
    pool->free[i] = r;
    pool->nr_free++;
    return true;
}

/* Splits free[i] around the hole [base, end). When the pool is full, the smaller piece is lost:
 * that only forgoes some RAM, it never hands out reserved RAM. */
static void pool_split(struct ram_pool *pool, unsigned i, uint64_t base, uint64_t end)
{
    struct mem_range *f = &pool->free[i];
    struct mem_range tail = {end, end_of(f->base, f->size) - end};

    f->size = base - f->base;
    if (!pool_insert(pool, i + 1, tail)) {
        pr_warn("RAM pool: too many free ranges, 0x%lx bytes not used\n", MIN(f->size, tail.size));
        if (aligned_size(&tail) > aligned_size(f)) {
            *f = tail;
        }
    }
}

/* Removes [base, base + size) from the free ranges. */
static void pool_cut(struct ram_pool *pool, uint64_t base, uint64_t size)
{
    uint64_t end = end_of(base, size);

    for (unsigned i = 0; i < pool->nr_free; i++) {
        struct mem_range *f = &pool->free[i];
        uint64_t fend = end_of(f->base, f->size);

        if (size == 0 || end <= f->base || base >= fend) {
            continue;
        }
        bool left = f->base < base, right = end < fend;
        if (left && right) {
            unsigned before = pool->nr_free;
            pool_split(pool, i, base, end);
            i += pool->nr_free - before; /* past the tail: it is after the hole */
        } else if (left) {
            f->size = base - f->base;
        } else if (right) {
            f->base = end;
            f->size = fend - end;
        } else {
            pool_remove(pool, i);
            i--;
        }
    }
}

static void pool_add_sorted(struct ram_pool *pool, struct mem_range r)
{
    unsigned i = pool->nr_free;

    while (i > 0 && pool->free[i - 1].base > r.base) {
        i--;
    }
    if (!pool_insert(pool, i, r)) {
        pr_warn("RAM pool: too many RAM banks, 0x%lx bytes at 0x%lx not used\n", r.size, r.base);
    }
}

void ram_pool_init(struct ram_pool *pool, const struct board *board, const struct mem_range *extra,
                   unsigned nr_extra)
{
    memset(pool, 0, sizeof(*pool));
    for (unsigned i = 0; i < board->nr_ram && i < MAX_RAM_BANKS; i++) {
        if (board->ram[i].size) {
            pool_add_sorted(pool, board->ram[i]);
        }
    }
    for (unsigned i = 0; i < board->nr_reserved && i < MAX_RESERVED; i++) {
        pool_cut(pool, board->reserved[i].base, board->reserved[i].size);
    }
    for (unsigned i = 0; i < nr_extra; i++) {
        pool_cut(pool, extra[i].base, extra[i].size);
    }
}

uint64_t ram_pool_largest(const struct ram_pool *pool)
{
    uint64_t best = 0;

    for (unsigned i = 0; i < pool->nr_free; i++) {
        best = MAX(best, aligned_size(&pool->free[i]));
    }
    return best;
}

int ram_pool_alloc(struct ram_pool *pool, uint64_t size, paddr_t *pa)
{
    uint64_t lo, hi;

    if (size == 0 || size > UINT64_MAX - VM_RAM_ALIGN) {
        return -1;
    }
    size = ALIGN_UP(size, VM_RAM_ALIGN);
    /* From the top: low RAM is where firmware, the DTB and QEMU's modules tend to be. */
    for (unsigned i = pool->nr_free; i-- > 0;) {
        if (aligned_part(&pool->free[i], &lo, &hi) && hi - lo >= size) {
            *pa = hi - size;
            pool_cut(pool, *pa, size);
            return 0;
        }
    }
    return -1;
}

paddr_t ram_pool_free_end(const struct ram_pool *pool, paddr_t addr)
{
    for (unsigned i = 0; i < pool->nr_free; i++) {
        const struct mem_range *r = &pool->free[i];
        if (addr >= r->base && addr - r->base < r->size) {
            return r->base + r->size;
        }
    }
    return addr;
}

/* ---- Stage-2 tables ---- */

/* The tables of levels start_level + 1 .. last_level that [base, base+size) passes through. */
static uint64_t tables_through(uint64_t base, uint64_t size, unsigned start_level,
                               unsigned last_level)
{
    uint64_t n = 0;

    if (!size) {
        return 0;
    }
    for (unsigned level = start_level + 1; level <= last_level; level++) {
        unsigned parent_shift = PAGE_SHIFT + 9 * (3 - (level - 1)); /* what one table covers */
        n += ((base + size - 1) >> parent_shift) - (base >> parent_shift) + 1;
    }
    return n;
}

uint64_t layout_s2_tables_max(const struct vm_config *cfg, paddr_t ram_lo, paddr_t ram_hi,
                              struct mem_range gicv, unsigned start_level)
{
    uint64_t n = ram_hi > ram_lo ? tables_through(ram_lo, ram_hi - ram_lo, start_level, 2) : 0;

    for (unsigned i = 0; i < cfg->shm.nr; i++) {
        n += tables_through(cfg->shm.maps[i].ipa, cfg->shm.maps[i].size, start_level, 3);
    }
    for (unsigned i = 0; i < cfg->pt.nr_ranges; i++) {
        n += tables_through(cfg->pt.ranges[i].ipa, cfg->pt.ranges[i].size, start_level, 3);
    }
    return n + tables_through(gicv.base, gicv.size, start_level, 3);
}

uint64_t layout_s2_ram_page_tables_max(const struct vm_config *cfgs, unsigned nr_vms,
                                       paddr_t ram_lo, paddr_t ram_hi)
{
    const uint64_t per_table = PAGE_SIZE << 9; /* what a level-3 table maps */
    uint64_t span = ram_hi > ram_lo ? ram_hi - ram_lo : 0, ram = 0;

    for (unsigned i = 0; i < nr_vms && ram < span; i++) {
        /* A VM without a size of its own may get all that is free. */
        ram += cfgs[i].mem_size ? cfgs[i].mem_size : span;
    }
    return (MIN(ram, span) + per_table - 1) / per_table + nr_vms;
}

/* ---- Default VM sizes ---- */

/* Would every VM fit, those without a size of their own getting share bytes? */
static bool shares_fit(const struct ram_pool *pool, const struct vm_config *vms, unsigned nr_vms,
                       uint64_t share)
{
    struct ram_pool trial = *pool;
    paddr_t pa;

    for (unsigned i = 0; i < nr_vms; i++) {
        bool mine = vms[i].mem_size == 0;
        if (ram_pool_alloc(&trial, mine ? share : vms[i].mem_size, &pa) < 0 && mine) {
            return false;
        }
    }
    return true;
}

int layout_default_memory(const struct ram_pool *pool, struct vm_config *vms, unsigned nr_vms)
{
    uint64_t lo = 0, hi = ram_pool_largest(pool) / VM_RAM_ALIGN; /* in 2 MiB units */
    unsigned nr_default = 0;

    for (unsigned i = 0; i < nr_vms; i++) {
        nr_default += vms[i].mem_size == 0;
    }
    if (nr_default == 0) {
        return 0;
    }
    /* Binary search on the share; every answer is checked by a trial allocation, so even if the
     * fit were not monotonic (fragmented pools) the result is one that fits. */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        if (shares_fit(pool, vms, nr_vms, mid * VM_RAM_ALIGN)) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    for (unsigned i = 0; i < nr_vms; i++) {
        if (vms[i].mem_size != 0) {
            continue;
        }
        if (lo == 0) {
            pr_err("%s: no free RAM left for this VM (give sizes, or fewer VMs)\n", vms[i].node);
        }
        vms[i].mem_size = lo * VM_RAM_ALIGN;
    }
    return lo ? 0 : -1;
}

/* ---- Boot modules ---- */

/* The last byte of a range (size > 0); UINT64_MAX if it would wrap. */
static uint64_t last_of(uint64_t base, uint64_t size)
{
    return size - 1 > UINT64_MAX - base ? UINT64_MAX : base + (size - 1);
}

static bool overlaps(uint64_t base, uint64_t last, const struct mem_range *r)
{
    return r->size && r->base <= last && base <= last_of(r->base, r->size);
}

/* Is [base, last] wholly RAM? Each pass moves on past the bank holding `base`, so banks that
 * touch count as one range; a pass that finds none means a hole. */
static bool in_ram(const struct board *board, uint64_t base, uint64_t last)
{
    unsigned nr = MIN(board->nr_ram, (unsigned)MAX_RAM_BANKS);

    for (unsigned pass = 0; pass < nr; pass++) {
        uint64_t bank_last = 0;
        bool found = false;
        for (unsigned i = 0; i < nr && !found; i++) {
            const struct mem_range *r = &board->ram[i];
            found = overlaps(base, base, r);
            bank_last = found ? last_of(r->base, r->size) : 0;
        }
        if (!found) {
            return false;
        }
        if (bank_last >= last) {
            return true;
        }
        base = bank_last + 1;
    }
    return false;
}

enum module_problem {
    MODULE_OK,
    MODULE_EMPTY,
    MODULE_WRAPS,
    MODULE_OUTSIDE_RAM,
    MODULE_OVER_HYP,
    MODULE_OVER_DTB
};

static enum module_problem module_problem(const struct board *board,
                                          const struct module_limits *limits,
                                          const struct vm_module *m)
{
    if (m->size == 0) {
        return MODULE_EMPTY;
    }
    if (m->size - 1 > UINT64_MAX - m->base) {
        return MODULE_WRAPS;
    }
    uint64_t last = m->base + (m->size - 1);
    if (!in_ram(board, m->base, last)) {
        return MODULE_OUTSIDE_RAM;
    }
    if (limits && overlaps(m->base, last, &limits->hyp)) {
        return MODULE_OVER_HYP;
    }
    if (limits && overlaps(m->base, last, &limits->dtb)) {
        return MODULE_OVER_DTB;
    }
    return MODULE_OK;
}

bool layout_module_ok(const struct board *board, const struct module_limits *limits,
                      const struct vm_module *m)
{
    return module_problem(board, limits, m) == MODULE_OK;
}

/* What to do about a module outside RAM: where RAM is, when there is one bank to say. */
static void ram_hint(const struct board *board, char *buf, size_t size)
{
    if (board->nr_ram == 1) {
        snprintf(buf, size, "put it inside RAM, 0x%lx+0x%lx", board->ram[0].base,
                 board->ram[0].size);
    } else {
        snprintf(buf, size, "put it inside RAM (the /memory nodes)");
    }
}

int layout_check_module(const struct board *board, const struct module_limits *limits,
                        const char *node, const char *what, const struct vm_module *m)
{
    char hint[64];

    switch (module_problem(board, limits, m)) {
    case MODULE_OK: return 0;
    case MODULE_EMPTY:
        pr_err("%s: %s module of size 0; give its reg the file's size\n", node, what);
        break;
    case MODULE_WRAPS:
        pr_err("%s: %s module 0x%lx+0x%lx wraps around the address space\n", node, what, m->base,
               m->size);
        break;
    case MODULE_OUTSIDE_RAM:
        ram_hint(board, hint, sizeof(hint));
        pr_err("%s: %s module 0x%lx+0x%lx lies outside RAM; %s\n", node, what, m->base, m->size,
               hint);
        break;
    case MODULE_OVER_HYP:
        pr_err("%s: %s module 0x%lx+0x%lx overlaps the hypervisor (0x%lx+0x%lx); load it above "
               "0x%lx\n",
               node, what, m->base, m->size, limits->hyp.base, limits->hyp.size,
               limits->hyp.base + limits->hyp.size);
        break;
    case MODULE_OVER_DTB:
    default:
        pr_err("%s: %s module 0x%lx+0x%lx overlaps the host DTB (0x%lx+0x%lx); load it clear of "
               "the DTB (QEMU virt puts it at RAM + 128 MiB)\n",
               node, what, m->base, m->size, limits->dtb.base, limits->dtb.size);
        break;
    }
    return -1;
}

bool layout_modules_overlap(const struct vm_module *a, const struct vm_module *b)
{
    struct mem_range rb = {b->base, b->size};

    return a->size && overlaps(a->base, last_of(a->base, a->size), &rb);
}

/* ---- Inside a VM ---- */

static uint64_t le_load(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;

    while (bytes--) {
        v = (v << 8) | p[bytes];
    }
    return v;
}

/* Where the kernel goes (offset from RAM base) and how much room it needs from there. */
static void kernel_placement(const struct vm_config *vm, const void *head, uint64_t head_len,
                             uint64_t *offset, uint64_t *footprint)
{
    const uint8_t *h = head;

    *offset = RAW_IMAGE_OFFSET;
    *footprint = vm->kernel.size;
    if (!head || head_len < sizeof(struct arm64_image_header) ||
        le_load(h + IMAGE_MAGIC_AT, 4) != ARM64_IMAGE_MAGIC) {
        return;
    }
    uint64_t text_offset = le_load(h + IMAGE_TEXT_OFFSET_AT, 8);
    uint64_t image_size = le_load(h + IMAGE_SIZE_AT, 8);
    if (image_size == 0) {
        text_offset = OLD_KERNEL_TEXT_OFFSET;
    }
    *offset = text_offset;
    /* image_size covers the bss too; the module can only be bigger if the header lies. */
    *footprint = MAX(image_size, vm->kernel.size);
}

static bool check_ram(const struct board *board, const struct vm_config *vm, paddr_t ram_pa)
{
    if (vm->mem_size == 0 || !IS_ALIGNED(vm->mem_size, VM_RAM_ALIGN) ||
        !IS_ALIGNED(ram_pa, VM_RAM_ALIGN)) {
        pr_err("%s: RAM 0x%lx bytes at 0x%lx is not 2 MiB-aligned\n", vm->node, vm->mem_size,
               ram_pa);
        return false;
    }
    if (board->nr_ram == 0 || !IS_ALIGNED(board->ram[0].base, VM_RAM_ALIGN)) {
        pr_err("%s: the board's RAM base is not 2 MiB-aligned, as the VM's must be\n", vm->node);
        return false;
    }
    if (vm->mem_size <= GUEST_DTB_MAX) {
        pr_err("%s: %lu MiB of RAM leaves no room beside the 2 MiB DTB\n", vm->node,
               vm->mem_size >> 20);
        return false;
    }
    return true;
}

int layout_vm(const struct board *board, const struct vm_config *vm, paddr_t ram_pa,
              const void *kernel_head, uint64_t kernel_head_len, struct vm_layout *out)
{
    uint64_t offset, footprint;

    memset(out, 0, sizeof(*out));
    if (!check_ram(board, vm, ram_pa)) {
        return -1;
    }
    /* Offsets from the RAM base from here on: nothing can wrap. */
    uint64_t dtb = vm->mem_size - GUEST_DTB_MAX;
    kernel_placement(vm, kernel_head, kernel_head_len, &offset, &footprint);
    if (offset > dtb || footprint > dtb - offset) {
        pr_err("%s: the kernel (0x%lx bytes at RAM + 0x%lx) does not fit below the DTB in %lu MiB "
               "of RAM\n",
               vm->node, footprint, offset, vm->mem_size >> 20);
        return -1;
    }
    uint64_t initrd = dtb;
    if (vm->ramdisk.size) {
        if (vm->ramdisk.size > dtb - offset - footprint) {
            pr_err("%s: the initrd (0x%lx bytes) does not fit between the kernel (ending at RAM + "
                   "0x%lx) and the DTB\n",
                   vm->node, vm->ramdisk.size, offset + footprint);
            return -1;
        }
        initrd = ALIGN_DOWN(dtb - vm->ramdisk.size, INITRD_ALIGN);
        if (initrd < offset + footprint) {
            pr_err("%s: the initrd would overlap the kernel (ending at RAM + 0x%lx)\n", vm->node,
                   offset + footprint);
            return -1;
        }
    }
    out->ram_pa = ram_pa;
    /* direct-map: the addresses a guest gives a device that does DMA are real ones. */
    out->ram_ipa = vm->direct_map ? ram_pa : board->ram[0].base;
    out->ram_size = vm->mem_size;
    out->kernel_ipa = out->ram_ipa + offset;
    out->kernel_size = vm->kernel.size;
    out->initrd_ipa = vm->ramdisk.size ? out->ram_ipa + initrd : 0;
    out->initrd_size = vm->ramdisk.size;
    out->dtb_ipa = out->ram_ipa + dtb;
    return 0;
}
