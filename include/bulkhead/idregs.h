/*
 * The CPU features a guest is told about. Reads of the ID registers (op0=3, op1=0, CRn=0,
 * CRm=1..7) trap (HCR_EL2.TID3) and answer the hardware's value with the features the
 * hypervisor does not give guests removed, consistently with the traps it sets: SVE, SME, MTE,
 * the PMU, SPE, trace, AMU, MPAM and the like, and WFxT, whose timeout is not kept. Pure,
 * host-tested (tests/host/test_idregs.c).
 */
#ifndef BULKHEAD_IDREGS_H
#define BULKHEAD_IDREGS_H

#include "esr.h"

/* True for the encodings HCR_EL2.TID3 traps (the feature ID register space). */
bool idreg_is_feature_space(uint32_t encoding);

/* The value a guest reads for an ID register whose hardware value is hw. parange is the
 * ID_AA64MMFR0_EL1.PARange code of the guest's stage-2 input size. */
uint64_t idreg_sanitize(uint32_t encoding, uint64_t hw, unsigned parange);

/* el2/idregs_hw.c: answers a trapped read of the ID space; false for other encodings. */
bool idreg_trap_read(uint32_t encoding, uint64_t *val);

#define ID_AA64PFR0_EL1 SYSREG_ENC(3, 0, 0, 4, 0)
#define ID_AA64PFR1_EL1 SYSREG_ENC(3, 0, 0, 4, 1)
#define ID_AA64ZFR0_EL1 SYSREG_ENC(3, 0, 0, 4, 4)
#define ID_AA64SMFR0_EL1 SYSREG_ENC(3, 0, 0, 4, 5)
#define ID_AA64DFR0_EL1 SYSREG_ENC(3, 0, 0, 5, 0)
#define ID_AA64DFR1_EL1 SYSREG_ENC(3, 0, 0, 5, 1)
#define ID_AA64AFR0_EL1 SYSREG_ENC(3, 0, 0, 5, 4)
#define ID_AA64AFR1_EL1 SYSREG_ENC(3, 0, 0, 5, 5)
#define ID_AA64ISAR2_EL1 SYSREG_ENC(3, 0, 0, 6, 2)
#define ID_AA64MMFR0_EL1 SYSREG_ENC(3, 0, 0, 7, 0)
#define ID_DFR0_EL1 SYSREG_ENC(3, 0, 0, 1, 2)

#endif
