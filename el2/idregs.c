/* ID register sanitizing. Pure: see include/bulkhead/idregs.h. */
#include "bulkhead/idregs.h"

/* Keeps the 4-bit fields whose low bit positions are listed, clears every other field. */
static uint64_t keep_fields(uint64_t v, const uint8_t *shifts, unsigned n)
{
    uint64_t mask = 0;

    for (unsigned i = 0; i < n; i++) {
        mask |= 0xfULL << shifts[i];
    }
    return v & mask;
}

bool idreg_is_feature_space(uint32_t encoding)
{
    unsigned crm = (unsigned)BITS(encoding, 6, 3);

    return (encoding & ~(uint32_t)SYSREG_ENC(0, 0, 0, 0xf, 7)) == SYSREG_ENC(3, 0, 0, 0, 0) &&
           crm >= 1 && crm <= 7;
}

uint64_t idreg_sanitize(uint32_t encoding, uint64_t hw, unsigned parange)
{
    switch (encoding) {
    case ID_AA64PFR0_EL1: {
        /* EL0-3, FP, AdvSIMD, GIC, RAS, DIT, CSV2, CSV3: not SVE, MPAM, AMU, SEL2, RME. */
        static const uint8_t keep[] = {0, 4, 8, 12, 16, 20, 24, 28, 48, 56, 60};
        return keep_fields(hw, keep, ARRAY_SIZE(keep));
    }
    case ID_AA64PFR1_EL1: {
        /* BT, SSBS, RAS_frac, CSV2_frac: not MTE, SME, MPAM_frac, NMI, GCS, THE. */
        static const uint8_t keep[] = {0, 4, 12, 32};
        return keep_fields(hw, keep, ARRAY_SIZE(keep));
    }
    case ID_AA64DFR0_EL1: {
        /* The debug architecture and its breakpoints, which the guest owns on its CPU; not the
         * PMU, SPE, trace, BRBE. */
        static const uint8_t keep[] = {0, 12, 20, 28, 36};
        return keep_fields(hw, keep, ARRAY_SIZE(keep));
    }
    case ID_DFR0_EL1:
        /* AArch32 view: no PMU (PerfMon) and no trace (MMapTrc, CopTrc, TraceFilt). */
        return hw & ~((0xfULL << 24) | (0xfULL << 28) | (0xfULL << 8) | (0xfULL << 4));
    case ID_AA64ISAR2_EL1:
        /* Not WFxT (WFIT, WFET): their deadline is not kept, a trapped WFIT completes at once
         * (el2/traps.c). Every other field as the hardware has it. */
        return hw & ~0xfULL;
    case ID_AA64MMFR0_EL1:
        /* The guest's physical addresses are our stage 2's input addresses. */
        return (hw & ~0xfULL) | MIN(hw & 0xf, (uint64_t)parange);
    case ID_AA64ZFR0_EL1:
    case ID_AA64SMFR0_EL1:
    case ID_AA64DFR1_EL1:
    case ID_AA64AFR0_EL1:
    case ID_AA64AFR1_EL1: return 0;
    default: return hw;
    }
}
