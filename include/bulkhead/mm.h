/* The hypervisor's own memory: page-table pages, EL2's identity map, the image's extent. */
#ifndef BULKHEAD_MM_H
#define BULKHEAD_MM_H

#include "pt.h"

/* Zeroed 4 KiB pages for page tables, from a fixed pool in .bss. NULL when exhausted. */
void *table_page_alloc(void *unused);
/* count (a power of two) contiguous zeroed pages aligned to their total size, or NULL. */
void *table_pages_alloc(unsigned count);
/* The pool's pages handed out so far (alignment gaps included), and its size. */
unsigned table_pages_used(void);
unsigned table_pages_total(void);

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
