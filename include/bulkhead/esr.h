/*
 * ESR_EL2 syndrome decoding, done once per exit into plain structs. Pure C, host-tested:
 * device models never see an ESR.
 */
#ifndef BULKHEAD_ESR_H
#define BULKHEAD_ESR_H

#include "types.h"

#define ESR_EC(esr) ((unsigned)BITS(esr, 31, 26))
#define ESR_IL BIT(25)
#define ESR_ISS(esr) ((uint32_t)BITS(esr, 24, 0))
#define ESR_DABT_ISV BIT(24)  /* the syndrome describes the access */
#define ESR_DABT_WNR BIT(6)   /* a write */
#define ESR_DABT_S1PTW BIT(7) /* on the guest's own page-table walk */

enum esr_class {
    EC_UNKNOWN = 0x00,
    EC_WFX = 0x01,
    EC_CP15_32 = 0x03,
    EC_CP15_64 = 0x04,
    EC_CP14_MR = 0x05,
    EC_CP14_LS = 0x06,
    EC_FP_ASIMD = 0x07,
    EC_CP10_ID = 0x08,
    EC_PAC = 0x09,
    EC_CP14_64 = 0x0C,
    EC_ILLEGAL = 0x0E,
    EC_SVC32 = 0x11,
    EC_HVC32 = 0x12,
    EC_SMC32 = 0x13,
    EC_SVC64 = 0x15,
    EC_HVC64 = 0x16,
    EC_SMC64 = 0x17,
    EC_SYS64 = 0x18,
    EC_SVE = 0x19,
    EC_SME = 0x1D, /* SME: SMSTART/SMSTOP, SVCR, SMCR_EL1, ... (CPTR_EL2.TSM, PSTATE.SM/ZA) */
    EC_IABT_LOW = 0x20,
    EC_IABT_CUR = 0x21,
    EC_PC_ALIGN = 0x22,
    EC_DABT_LOW = 0x24,
    EC_DABT_CUR = 0x25,
    EC_SP_ALIGN = 0x26,
    EC_SERROR = 0x2F,
    EC_BREAKPT_LOW = 0x30,
    EC_SOFTSTP_LOW = 0x32,
    EC_WATCHPT_LOW = 0x34,
    EC_BRK64 = 0x3C,
    EC_MAX = 0x3F,
};

/* Fault status codes (DFSC/IFSC) we act on. */
#define FSC_TYPE_MASK 0x3cu
#define FSC_TRANSLATION 0x04u /* low two bits: level */
#define FSC_ACCESS_FLAG 0x08u
#define FSC_PERMISSION 0x0cu
#define FSC_SYNC_EXTERNAL 0x10u

/* A guest's data access that stage 2 stopped, as a device model needs it. */
struct mmio_access {
    ipa_t ipa;
    uint8_t size; /* bytes: 1, 2, 4 or 8 */
    uint8_t reg;  /* Rt; 31 is xzr */
    bool write;
    bool sign_extend; /* loads only */
    bool reg64;       /* SF: Rt is an X register */
};

struct dabt_info {
    bool isv;   /* the syndrome describes the access (else: no emulation possible) */
    bool s1ptw; /* the fault happened on the guest's own page-table walk */
    bool write;
    uint8_t fsc;
    struct mmio_access access; /* valid when isv */
};

/* IPA of a stage-2 fault: HPFAR_EL2.FIPA gives bits 51:12, FAR_EL2 the page offset. */
static inline ipa_t fault_ipa(uint64_t hpfar, uint64_t far)
{
    return (BITS(hpfar, 43, 4) << 12) | (far & 0xfff);
}

/* The access a data abort's syndrome describes (ISV set), at ipa. */
static inline struct mmio_access esr_dabt_access(uint64_t esr, ipa_t ipa)
{
    uint32_t iss = ESR_ISS(esr);

    return (struct mmio_access){
        .ipa = ipa,
        .size = (uint8_t)(1u << BITS(iss, 23, 22)),
        .reg = (uint8_t)BITS(iss, 20, 16),
        .write = iss & ESR_DABT_WNR,
        .sign_extend = iss & BIT(21),
        .reg64 = iss & BIT(15),
    };
}

/* Decodes the ISS of a data abort (EC 0x24/0x25) taken to EL2. */
static inline void esr_decode_dabt(uint64_t esr, ipa_t ipa, struct dabt_info *out)
{
    uint32_t iss = ESR_ISS(esr);

    out->isv = iss & ESR_DABT_ISV;
    out->s1ptw = iss & ESR_DABT_S1PTW;
    out->write = iss & ESR_DABT_WNR;
    out->fsc = (uint8_t)BITS(iss, 5, 0);
    out->access = out->isv ? esr_dabt_access(esr, ipa) : (struct mmio_access){.ipa = ipa};
}

/* MSR/MRS trap (EC 0x18): the register, as op0:op1:CRn:CRm:op2, and the direction. */
struct sysreg_access {
    uint32_t encoding; /* SYSREG_ENC(op0, op1, crn, crm, op2) */
    uint8_t reg;       /* Rt */
    bool read;         /* MRS */
};
#define SYSREG_ENC(op0, op1, crn, crm, op2)                                                        \
    (((op0) << 14) | ((op1) << 11) | ((crn) << 7) | ((crm) << 3) | (op2))

void esr_decode_sysreg(uint64_t esr, struct sysreg_access *out);

/* Adjusts a value loaded by a trapped access as the load instruction would have: sign-extends
 * from the access size when asked, and truncates to 32 bits for a W register. */
static inline uint64_t mmio_load_value(const struct mmio_access *a, uint64_t raw)
{
    /* The access's bytes moved to the top of the register and back: the shift back fills with
     * the sign bit for a sign-extending load (GCC's >> of a signed value is arithmetic). */
    unsigned pad = 64 - a->size * 8u;
    uint64_t v = (raw << pad) >> pad;

    /* A load that sign-extends is rare: the frequent one branches past it. */
    if (__builtin_expect(a->sign_extend, 0)) {
        v = (uint64_t)((int64_t)(raw << pad) >> pad);
    }
    return a->reg64 ? v : (uint32_t)v;
}

/* The bytes a trapped store writes: the low a->size bytes of the register. */
static inline uint64_t mmio_store_value(const struct mmio_access *a, uint64_t reg)
{
    unsigned pad = 64 - a->size * 8u;

    return (reg << pad) >> pad;
}

/* A short name for an exception class, for messages. */
const char *esr_class_name(unsigned ec);

#endif
