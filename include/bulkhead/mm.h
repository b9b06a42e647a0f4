/* The hypervisor's own memory: page-table pages, EL2's identity map, the image's extent. */
#ifndef BULKHEAD_MM_H
#define BULKHEAD_MM_H

#include "pt.h"

/*
 * The RAM the hypervisor takes beyond its image, sized at boot from the board and the VMs: a bump
 * allocator right after the image (__image_end), up to the first thing RAM holds above it. Used
 * by the boot CPU while VMs are created, and at run time for the level-3 tables of VMs' RAM
 * (reserved at boot: see hyp_mem_needed()); never given back, never given to a VM. Nothing is
 * zeroed but what a caller zeroes.
 */
enum hyp_mem_use {
    HYP_MEM_TABLES,  /* page tables beyond the image's early ones */
    HYP_MEM_VMS,     /* struct vm and its vCPUs, for each VM that runs */
    HYP_MEM_DTBS,    /* each VM's pristine device tree */
    HYP_MEM_THREADS, /* the EL2 stacks of vCPUs that may share a CPU */
    HYP_MEM_BUNDLE,  /* the copy of the host DTB with a bundle's VMs */
    HYP_MEM_SMMU,    /* the SMMU's level-2 stream tables, when the board has one */
    HYP_MEM_USES
};
/* Opens the allocator: from the image's end up to limit. */
void hyp_mem_init(paddr_t limit);
/* Moves the limit (never below what is handed out): down once the VMs' RAM is placed. */
void hyp_mem_set_limit(paddr_t limit);
/* size bytes aligned to align (a power of two), or NULL when they do not fit below the limit. */
void *hyp_mem_alloc(uint64_t size, uint64_t align, enum hyp_mem_use use);
/* Where the next allocation aligned to align would start, and how much fits there: for a buffer
 * written before its size is known, then taken with hyp_mem_alloc(its size, align, ...). */
void *hyp_mem_room(uint64_t align, uint64_t *room);
paddr_t hyp_mem_end(void);
paddr_t hyp_mem_limit(void);
uint64_t hyp_mem_used(enum hyp_mem_use use);

/* Zeroes [p, p+size) of Normal memory (the MMU on: DC ZVA faults on Device memory), a DC ZVA
 * block at a time where the CPU allows it, with stores at the unaligned edges. */
void zero_ram(void *p, uint64_t size);

/* Zeroed 4 KiB pages for page tables: the image's few early ones (EL2's stage 1), then from
 * hyp_mem_alloc(). NULL when exhausted. */
void *table_page_alloc(void *unused);
/* count (a power of two) contiguous zeroed pages aligned to their total size, or NULL. */
void *table_pages_alloc(unsigned count);
/* The early pages handed out so far (alignment gaps included). */
unsigned table_pages_early(void);

/* Linker-script symbols, at their run-time (relocated) addresses. */
extern char __image_start[], __text_end[], __rodata_end[], __image_end[];

/*
 * EL2 stage 1, in two steps. mmu_init() runs with the MMU off: it maps the image (text
 * read-only executable, rodata read-only, data and bss never executable) and the host DTB, and
 * turns the MMU on. mmu_map_ram() and mmu_map_device() then add what the board description names:
 * new mappings only, which need no break-before-make.
 */
void mmu_init(paddr_t dtb, uint64_t dtb_size);
void mmu_enable_secondary(void);
int mmu_map_ram(paddr_t base, uint64_t size);
int mmu_map_device(paddr_t base, uint64_t size);

#endif
