/* Boot (el2/main.c): from firmware's hand-off to every VM running, and what it learns. */
#ifndef BULKHEAD_BOOT_H
#define BULKHEAD_BOOT_H

#include "config.h"

/* The board, read once from its device tree. */
extern struct board board;
/* Where firmware loaded the image (it relocates itself there). */
extern paddr_t hyp_load_base;

/* Called by el2/head.S on the boot CPU with the MMU off. */
void hyp_main(paddr_t dtb, paddr_t load_base) NORETURN;

#endif
