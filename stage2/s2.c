/* Stage-2 hardware set-up. The table contents are built by stage2/pt.c. */
#include "bulkhead/stage2.h"

#include "arch/sysreg.h"
#include "bulkhead/mm.h"

static const unsigned pa_bits_by_code[] = {32, 36, 40, 42, 44, 48, 52};

static unsigned ipa_bits;
static unsigned parange; /* ipa_bits as ID_AA64MMFR0_EL1.PARange encodes it */
static uint64_t vtcr;

unsigned s2_ipa_bits(void)
{
    return ipa_bits;
}

unsigned s2_parange(void)
{
    return parange;
}

void s2_global_init(uint64_t highest)
{
    unsigned hw = (unsigned)BITS(read_id_aa64mmfr0_el1(), 3, 0);
    unsigned start_level, root_pages;

    /* 52-bit IPAs need LPA2 descriptors; we stay with the 48-bit format. */
    hw = MIN(hw, 5u);
    unsigned code = 0;
    while (code < hw && highest >> pa_bits_by_code[code]) {
        code++;
    }
    ipa_bits = pa_bits_by_code[code];
    parange = code;
    pt_stage2_geometry(ipa_bits, &start_level, &root_pages);
    /* SL0 for the 4 KiB granule: 0 = level 2, 1 = level 1, 2 = level 0. */
    uint64_t sl0 = 2 - start_level;
    vtcr = (64 - ipa_bits) | (sl0 << 6) | (1ULL << 8) | (1ULL << 10) | (3ULL << 12) |
           ((uint64_t)code << 16) | BIT(31);
}

void s2_cpu_init(void)
{
    write_vtcr_el2(vtcr);
    isb();
}

/* Stage-2 entries of a VM change only while none of its vCPUs runs; flush by VMID all the same. */
static void s2_tlb_invalidate(void *ctx, uint64_t va, uint64_t size)
{
    uint64_t vttbr = *(const uint64_t *)ctx;
    uint64_t saved = read_vttbr_el2();

    (void)va;
    (void)size;
    write_vttbr_el2(vttbr);
    isb();
    __asm__ volatile("dsb ishst\n tlbi vmalls12e1is\n dsb ish\n isb" ::: "memory");
    write_vttbr_el2(saved);
    isb();
}

int s2_create(struct pt *pt, unsigned vmid, uint64_t *vttbr)
{
    unsigned start_level, root_pages;
    struct pt_ops ops = {
        .alloc_table = table_page_alloc, .invalidate = s2_tlb_invalidate, .ctx = vttbr};

    pt_stage2_geometry(ipa_bits, &start_level, &root_pages);
    /* Concatenated root tables must be contiguous and aligned to their total size. */
    uint64_t *root = table_pages_alloc(root_pages);
    if (!root) {
        return -1;
    }
    pt_init(pt, PT_STAGE2, ipa_bits, start_level, root, &ops);
    *vttbr = ((uint64_t)vmid << 48) | (uint64_t)(uintptr_t)root;
    return 0;
}
