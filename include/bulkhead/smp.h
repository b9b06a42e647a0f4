/* Bring-up of the secondary CPUs (el2/smp.c), through PSCI CPU_ON or the spin table. */
#ifndef BULKHEAD_SMP_H
#define BULKHEAD_SMP_H

#include "types.h"

/* Starts every CPU of the board but the boot CPU; one that does not come up is left out. */
void smp_boot_secondaries(void);
/* el2/head.S: where a secondary CPU starts, MMU off, its index in secondary_boot_index. */
extern char secondary_entry[];
extern volatile uint64_t secondary_boot_index;
/* A secondary CPU's first C code (called from el2/head.S). */
void secondary_main(unsigned index) NORETURN;

#endif
