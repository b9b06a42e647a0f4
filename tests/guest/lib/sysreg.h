/*
 * EL1 system registers, barriers and the generic counter, for the test guests. Registers the
 * assembler may not know by name (the GICv3 CPU interface) are given by their encoding.
 */
#ifndef GUEST_SYSREG_H
#define GUEST_SYSREG_H

#include "bulkhead/types.h"

/* read_NAME() and write_NAME(v). A write is not followed by an ISB: callers that need the
 * effect at once (timers, the GIC CPU interface) add one, and say so. */
#define SYSREG(name, enc)                                                                          \
    static inline uint64_t read_##name(void)                                                       \
    {                                                                                              \
        uint64_t v;                                                                                \
        asm volatile("mrs %0, " enc : "=r"(v) : : "memory");                                       \
        return v;                                                                                  \
    }                                                                                              \
    static inline void write_##name(uint64_t v)                                                    \
    {                                                                                              \
        asm volatile("msr " enc ", %0" : : "r"(v) : "memory");                                     \
    }

SYSREG(icc_pmr, "S3_0_C4_C6_0")
SYSREG(icc_iar1, "S3_0_C12_C12_0")
SYSREG(icc_eoir1, "S3_0_C12_C12_1")
SYSREG(icc_bpr1, "S3_0_C12_C12_3")
SYSREG(icc_ctlr, "S3_0_C12_C12_4")
SYSREG(icc_sre, "S3_0_C12_C12_5")
SYSREG(icc_igrpen1, "S3_0_C12_C12_7")
SYSREG(icc_sgi1r, "S3_0_C12_C11_5")
SYSREG(cntv_ctl, "cntv_ctl_el0")
SYSREG(cntv_cval, "cntv_cval_el0")
SYSREG(cntp_ctl, "cntp_ctl_el0")
SYSREG(cntp_cval, "cntp_cval_el0")
SYSREG(isr, "isr_el1")
SYSREG(daif, "daif")

#define ISR_I BIT(7)

#define CNT_CTL_ENABLE BIT(0)
#define CNT_CTL_IMASK BIT(1)
#define CNT_CTL_ISTATUS BIT(2)

static inline void isb(void)
{
    asm volatile("isb" ::: "memory");
}

static inline void dsb(void)
{
    asm volatile("dsb sy" ::: "memory");
}

static inline void irqs_on(void)
{
    asm volatile("msr daifclr, #2" ::: "memory");
}

static inline void irqs_off(void)
{
    asm volatile("msr daifset, #2" ::: "memory");
}

/* The counters, read after an ISB so that a read is never hoisted above what it times. */
static inline uint64_t cntvct(void)
{
    uint64_t v;
    asm volatile("isb\n mrs %0, cntvct_el0" : "=r"(v) : : "memory");
    return v;
}

static inline uint64_t cntpct(void)
{
    uint64_t v;
    asm volatile("isb\n mrs %0, cntpct_el0" : "=r"(v) : : "memory");
    return v;
}

/* The counter's frequency in Hz; 0 if the firmware left CNTFRQ_EL0 unset. */
static inline uint64_t cntfrq(void)
{
    uint64_t v;
    asm volatile("mrs %0, cntfrq_el0" : "=r"(v));
    return v & 0xffffffffu;
}

/* The affinity fields of MPIDR_EL1 (Aff3..Aff0), as a DTB's /cpus reg and GICv3's IROUTER
 * hold them. */
#define MPIDR_AFF_MASK 0xff00ffffffull

static inline uint64_t read_mpidr_aff(void)
{
    uint64_t v;
    asm volatile("mrs %0, mpidr_el1" : "=r"(v));
    return v & MPIDR_AFF_MASK;
}

#endif
