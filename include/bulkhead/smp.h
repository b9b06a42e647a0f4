/* Bring-up of the secondary CPUs (el2/smp.c), through PSCI CPU_ON or the spin table. */
#ifndef BULKHEAD_SMP_H
#define BULKHEAD_SMP_H

#include "types.h"

/* Starts every CPU of the board but the boot CPU; one that does not come up is left out. */
void smp_boot_secondaries(void);
/* A secondary CPU's first C code (called from el2/head.S). */
void secondary_main(unsigned index) NORETURN;

#endif
