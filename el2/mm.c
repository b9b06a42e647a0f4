/* EL2 stage-1 identity map and the page-table page pool. */
#include "bulkhead/mm.h"

#include "arch/sysreg.h"
#include "bulkhead/spinlock.h"
#include "bulkhead/string.h"

/* EL2's stage 1 is built before the hypervisor's memory is mapped: its tables come from here
 * (QEMU virt's map takes 14 pages), then from hyp_mem_alloc(). */
#define EARLY_TABLE_PAGES 24
#define EL2_VA_BITS 48

/* Not zeroed at boot (.noinit): table_pages_alloc() zeroes what it hands out. */
static uint8_t early_tables[EARLY_TABLE_PAGES][PAGE_SIZE] NOINIT
    __attribute__((aligned(PAGE_SIZE)));
static unsigned early_tables_next;
static uint64_t *el2_root;
static struct pt el2_pt;

/* The RAM after the image the hypervisor takes at boot: [base, next) is handed out, limit is
 * where the next thing in RAM (a reserved range, a boot module, a VM's RAM) begins. Handed out
 * on the boot CPU, and at run time for the level-3 stage-2 tables of a VM's RAM as its blocks
 * are first touched: under the lock. */
static struct {
    spinlock_t lock;
    paddr_t base, next, limit;
    uint64_t used[HYP_MEM_USES];
} hyp_mem;

/* Read by secondary CPUs with their MMU off; kept in .data so they are in the image. */
static uint64_t el2_tcr __attribute__((section(".data")));
static uint64_t el2_ttbr __attribute__((section(".data")));

void hyp_mem_init(paddr_t limit)
{
    hyp_mem.base = hyp_mem.next = ALIGN_UP((paddr_t)__image_end, PAGE_SIZE);
    hyp_mem.limit = MAX(limit, hyp_mem.base);
}

void hyp_mem_set_limit(paddr_t limit)
{
    hyp_mem.limit = MAX(limit, hyp_mem.next);
}

paddr_t hyp_mem_end(void)
{
    return hyp_mem.next;
}

paddr_t hyp_mem_limit(void)
{
    return hyp_mem.limit;
}

uint64_t hyp_mem_used(enum hyp_mem_use use)
{
    return hyp_mem.used[use];
}

void *hyp_mem_room(uint64_t align, uint64_t *room)
{
    paddr_t at = ALIGN_UP(hyp_mem.next, align);

    *room = hyp_mem.base && at < hyp_mem.limit ? hyp_mem.limit - at : 0;
    return (void *)(uintptr_t)at;
}

void *hyp_mem_alloc(uint64_t size, uint64_t align, enum hyp_mem_use use)
{
    uint64_t room;

    if (!hyp_mem.base) {
        return NULL; /* not open yet: the MMU may be off, and the lock's exclusives with it */
    }
    spin_lock(&hyp_mem.lock);
    void *p = hyp_mem_room(align, &room);
    if (size > room) {
        p = NULL;
    } else {
        hyp_mem.used[use] += (paddr_t)(uintptr_t)p + size - hyp_mem.next;
        hyp_mem.next = (paddr_t)(uintptr_t)p + size;
    }
    spin_unlock(&hyp_mem.lock);
    return p;
}

void *table_pages_alloc(unsigned count)
{
    unsigned first, next;

    do {
        next = __atomic_load_n(&early_tables_next, __ATOMIC_RELAXED);
        first = next;
        /* The pool is page-aligned; align the index to count (a power of two). */
        while (!IS_ALIGNED((uint64_t)(uintptr_t)early_tables[first], count * PAGE_SIZE)) {
            first++;
        }
        if (first + count > EARLY_TABLE_PAGES) {
            break;
        }
    } while (!__atomic_compare_exchange_n(&early_tables_next, &next, first + count, false,
                                          __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    if (first + count <= EARLY_TABLE_PAGES) {
        /* Stores, not DC ZVA: EL2's MMU may still be off (Device memory). */
        return memset(early_tables[first], 0, count * PAGE_SIZE);
    }
    /* The MMU is on by now. A VM's stage 2 takes a page per 2 MiB of its RAM: DC ZVA zeroes a
     * line at a go. */
    void *pages = hyp_mem_alloc(count * PAGE_SIZE, count * PAGE_SIZE, HYP_MEM_TABLES);
    if (pages) {
        zero_ram(pages, count * PAGE_SIZE);
    }
    return pages;
}

unsigned table_pages_early(void)
{
    return __atomic_load_n(&early_tables_next, __ATOMIC_RELAXED);
}

void *table_page_alloc(void *unused)
{
    (void)unused;
    return table_pages_alloc(1);
}

static void el2_tlb_invalidate(void *ctx, uint64_t va, uint64_t size)
{
    (void)ctx;
    (void)va;
    (void)size;
    __asm__ volatile("dsb ishst\n tlbi alle2is\n dsb ish\n isb" ::: "memory");
}

static unsigned pa_range_code(void)
{
    return (unsigned)BITS(read_id_aa64mmfr0_el1(), 3, 0);
}

static void map_image(void)
{
    paddr_t text = (paddr_t)__image_start;
    paddr_t ro = (paddr_t)__text_end;
    paddr_t rw = (paddr_t)__rodata_end;
    paddr_t end = ALIGN_UP((paddr_t)__image_end, PAGE_SIZE);

    pt_map(&el2_pt, text, text, ro - text, PT_R | PT_X, PT_MEM_NORMAL);
    pt_map(&el2_pt, ro, ro, rw - ro, PT_R, PT_MEM_NORMAL);
    pt_map(&el2_pt, rw, rw, end - rw, PT_R | PT_W, PT_MEM_NORMAL);
}

/* Maps [base, base+size) with prot, leaving the image's own pages as map_image() set them. */
static int map_around_image(paddr_t base, uint64_t size, unsigned prot, enum pt_mem mem)
{
    paddr_t img = (paddr_t)__image_start;
    paddr_t img_end = ALIGN_UP((paddr_t)__image_end, PAGE_SIZE);
    paddr_t end = ALIGN_UP(base + size, PAGE_SIZE);
    int rc = 0;

    base = ALIGN_DOWN(base, PAGE_SIZE);
    if (base < img) {
        rc |= pt_map(&el2_pt, base, base, MIN(end, img) - base, prot, mem);
    }
    if (end > img_end) {
        paddr_t from = MAX(base, img_end);
        rc |= pt_map(&el2_pt, from, from, end - from, prot, mem);
    }
    return rc;
}

static void mmu_load_and_enable(void)
{
    write_mair_el2(MAIR_EL2_VALUE);
    write_tcr_el2(el2_tcr);
    write_ttbr0_el2(el2_ttbr);
    isb();
    __asm__ volatile("tlbi alle2\n dsb nsh\n isb" ::: "memory");
    write_sctlr_el2(SCTLR_EL2_RES1 | SCTLR_M | SCTLR_C | SCTLR_I | SCTLR_SA | SCTLR_WXN);
    isb();
}

void mmu_init(paddr_t dtb, uint64_t dtb_size)
{
    struct pt_ops ops = {.alloc_table = table_page_alloc, .invalidate = el2_tlb_invalidate};

    el2_root = table_page_alloc(NULL);
    pt_init(&el2_pt, PT_STAGE1_EL2, EL2_VA_BITS, 0, el2_root, &ops);
    map_image();
    map_around_image(dtb, dtb_size, PT_R, PT_MEM_NORMAL);

    /* T0SZ=16 (48-bit VA), WB-WA inner/outer, inner shareable, 4 KiB granule, RES1 bits 23, 31. */
    el2_tcr = 16 | (1ULL << 8) | (1ULL << 10) | (3ULL << 12) |
              ((uint64_t)MIN(pa_range_code(), 5u) << 16) | BIT(23) | BIT(31);
    el2_ttbr = (uint64_t)(uintptr_t)el2_root;
    mmu_load_and_enable();
}

void mmu_enable_secondary(void)
{
    mmu_load_and_enable();
}

int mmu_map_ram(paddr_t base, uint64_t size)
{
    int rc = map_around_image(base, size, PT_R | PT_W, PT_MEM_NORMAL);
    el2_tlb_invalidate(NULL, 0, 0);
    return rc;
}

int mmu_map_device(paddr_t base, uint64_t size)
{
    int rc = map_around_image(base, size, PT_R | PT_W, PT_MEM_DEVICE);
    el2_tlb_invalidate(NULL, 0, 0);
    return rc;
}
