/* Stage-2 translation: the hardware side (VTCR_EL2, VTTBR_EL2, TLB maintenance by VMID). */
#ifndef BULKHEAD_STAGE2_H
#define BULKHEAD_STAGE2_H

#include "pt.h"

/* Computes VTCR_EL2 once, on the boot CPU: an IPA size that covers every guest address below
 * highest (VMs mirror the board's map), within what the CPU supports. The smallest size that
 * fits keeps stage-2 walks short: a 32-bit IPA space starts at level 1 and needs one table
 * level less than the CPU's full 44 or 48 bits. */
void s2_global_init(uint64_t highest);
/* Programs VTCR_EL2 on the calling CPU. */
void s2_cpu_init(void);
unsigned s2_ipa_bits(void);
/* The same size as ID_AA64MMFR0_EL1.PARange encodes it (what a guest is told it has). */
unsigned s2_parange(void);

/* Empty stage-2 tables for VMID vmid. Returns 0 and the VTTBR_EL2 value, or -1 (no memory). */
int s2_create(struct pt *pt, unsigned vmid, uint64_t *vttbr);

#endif
