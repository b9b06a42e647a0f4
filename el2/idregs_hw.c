/* The hardware side of ID register traps: read the real register, answer the sanitized one. */
#include "arch/sysreg.h"
#include "bulkhead/idregs.h"
#include "bulkhead/stage2.h"

#define SYSREG_READ_RAW(name)                                                                      \
    ({                                                                                             \
        uint64_t v_;                                                                               \
        __asm__ volatile("mrs %0, " name : "=r"(v_));                                              \
        v_;                                                                                        \
    })

/* mrs needs the register in the instruction: one case per CRm:op2 of the ID space. */
static uint64_t read_id_space(unsigned crm_op2)
{
    switch (crm_op2) {
    case 8: return SYSREG_READ_RAW("S3_0_C0_C1_0");
    case 9: return SYSREG_READ_RAW("S3_0_C0_C1_1");
    case 10: return SYSREG_READ_RAW("S3_0_C0_C1_2");
    case 11: return SYSREG_READ_RAW("S3_0_C0_C1_3");
    case 12: return SYSREG_READ_RAW("S3_0_C0_C1_4");
    case 13: return SYSREG_READ_RAW("S3_0_C0_C1_5");
    case 14: return SYSREG_READ_RAW("S3_0_C0_C1_6");
    case 15: return SYSREG_READ_RAW("S3_0_C0_C1_7");
    case 16: return SYSREG_READ_RAW("S3_0_C0_C2_0");
    case 17: return SYSREG_READ_RAW("S3_0_C0_C2_1");
    case 18: return SYSREG_READ_RAW("S3_0_C0_C2_2");
    case 19: return SYSREG_READ_RAW("S3_0_C0_C2_3");
    case 20: return SYSREG_READ_RAW("S3_0_C0_C2_4");
    case 21: return SYSREG_READ_RAW("S3_0_C0_C2_5");
    case 22: return SYSREG_READ_RAW("S3_0_C0_C2_6");
    case 23: return SYSREG_READ_RAW("S3_0_C0_C2_7");
    case 24: return SYSREG_READ_RAW("S3_0_C0_C3_0");
    case 25: return SYSREG_READ_RAW("S3_0_C0_C3_1");
    case 26: return SYSREG_READ_RAW("S3_0_C0_C3_2");
    case 27: return SYSREG_READ_RAW("S3_0_C0_C3_3");
    case 28: return SYSREG_READ_RAW("S3_0_C0_C3_4");
    case 29: return SYSREG_READ_RAW("S3_0_C0_C3_5");
    case 30: return SYSREG_READ_RAW("S3_0_C0_C3_6");
    case 31: return SYSREG_READ_RAW("S3_0_C0_C3_7");
    case 32: return SYSREG_READ_RAW("S3_0_C0_C4_0");
    case 33: return SYSREG_READ_RAW("S3_0_C0_C4_1");
    case 34: return SYSREG_READ_RAW("S3_0_C0_C4_2");
    case 35: return SYSREG_READ_RAW("S3_0_C0_C4_3");
    case 36: return SYSREG_READ_RAW("S3_0_C0_C4_4");
    case 37: return SYSREG_READ_RAW("S3_0_C0_C4_5");
    case 38: return SYSREG_READ_RAW("S3_0_C0_C4_6");
    case 39: return SYSREG_READ_RAW("S3_0_C0_C4_7");
    case 40: return SYSREG_READ_RAW("S3_0_C0_C5_0");
    case 41: return SYSREG_READ_RAW("S3_0_C0_C5_1");
    case 42: return SYSREG_READ_RAW("S3_0_C0_C5_2");
    case 43: return SYSREG_READ_RAW("S3_0_C0_C5_3");
    case 44: return SYSREG_READ_RAW("S3_0_C0_C5_4");
    case 45: return SYSREG_READ_RAW("S3_0_C0_C5_5");
    case 46: return SYSREG_READ_RAW("S3_0_C0_C5_6");
    case 47: return SYSREG_READ_RAW("S3_0_C0_C5_7");
    case 48: return SYSREG_READ_RAW("S3_0_C0_C6_0");
    case 49: return SYSREG_READ_RAW("S3_0_C0_C6_1");
    case 50: return SYSREG_READ_RAW("S3_0_C0_C6_2");
    case 51: return SYSREG_READ_RAW("S3_0_C0_C6_3");
    case 52: return SYSREG_READ_RAW("S3_0_C0_C6_4");
    case 53: return SYSREG_READ_RAW("S3_0_C0_C6_5");
    case 54: return SYSREG_READ_RAW("S3_0_C0_C6_6");
    case 55: return SYSREG_READ_RAW("S3_0_C0_C6_7");
    case 56: return SYSREG_READ_RAW("S3_0_C0_C7_0");
    case 57: return SYSREG_READ_RAW("S3_0_C0_C7_1");
    case 58: return SYSREG_READ_RAW("S3_0_C0_C7_2");
    case 59: return SYSREG_READ_RAW("S3_0_C0_C7_3");
    case 60: return SYSREG_READ_RAW("S3_0_C0_C7_4");
    case 61: return SYSREG_READ_RAW("S3_0_C0_C7_5");
    case 62: return SYSREG_READ_RAW("S3_0_C0_C7_6");
    case 63: return SYSREG_READ_RAW("S3_0_C0_C7_7");
    default: return 0;
    }
}

bool idreg_trap_read(uint32_t encoding, uint64_t *val)
{
    if (!idreg_is_feature_space(encoding)) {
        return false;
    }
    uint64_t hw = read_id_space((unsigned)BITS(encoding, 6, 0));
    *val = idreg_sanitize(encoding, hw, s2_parange());
    return true;
}
