/* Stage-2 translation: the hardware side (VTCR_EL2, VTTBR_EL2, TLB maintenance by VMID). */
#ifndef BULKHEAD_STAGE2_H
#define BULKHEAD_STAGE2_H

#include "pt.h"

/* Reads the CPU's physical address size and computes VTCR_EL2 once, on the boot CPU. */
void s2_global_init(void);
/* Programs VTCR_EL2 on the calling CPU. */
void s2_cpu_init(void);
unsigned s2_ipa_bits(void);

/* Empty stage-2 tables for VMID vmid. Returns 0 and the VTTBR_EL2 value, or -1 (no memory). */
int s2_create(struct pt *pt, unsigned vmid, uint64_t *vttbr);

#endif
