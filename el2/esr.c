/* ESR_EL2 decoding. Pure: compiled for the host too. */
#include "bulkhead/esr.h"

void esr_decode_sysreg(uint64_t esr, struct sysreg_access *out)
{
    uint32_t iss = ESR_ISS(esr);

    out->encoding = SYSREG_ENC(BITS(iss, 21, 20), BITS(iss, 16, 14), BITS(iss, 13, 10),
                               BITS(iss, 4, 1), BITS(iss, 19, 17));
    out->reg = (uint8_t)BITS(iss, 9, 5);
    out->read = iss & BIT(0);
}

const char *esr_class_name(unsigned ec)
{
    switch (ec) {
    case EC_UNKNOWN: return "unknown instruction";
    case EC_WFX: return "WFI/WFE";
    case EC_FP_ASIMD: return "FP/SIMD access";
    case EC_ILLEGAL: return "illegal execution state";
    case EC_HVC64: return "HVC";
    case EC_SMC64: return "SMC";
    case EC_SYS64: return "system register access";
    case EC_SVE: return "SVE access";
    case EC_IABT_LOW: return "instruction abort";
    case EC_IABT_CUR: return "instruction abort at EL2";
    case EC_DABT_CUR: return "data abort at EL2";
    case EC_PC_ALIGN: return "PC alignment fault";
    case EC_DABT_LOW: return "data abort";
    case EC_SP_ALIGN: return "SP alignment fault";
    case EC_SERROR: return "SError";
    case EC_BRK64: return "BRK";
    case EC_PAC: return "pointer authentication trap";
    case EC_CP15_32:
    case EC_CP15_64:
    case EC_CP14_MR:
    case EC_CP14_LS:
    case EC_CP10_ID:
    case EC_CP14_64:
    case EC_SVC32:
    case EC_HVC32:
    case EC_SMC32: return "AArch32 trap";
    default: return "unexpected exception class";
    }
}
