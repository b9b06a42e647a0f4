/*
 * System-register access and the other instructions that touch the CPU's state (barriers, TLB
 * and cache maintenance, WFI), the one place the hypervisor writes them.
 *
 * Host builds (BULKHEAD_HOST, the unit tests) get the same functions over a fake CPU, as
 * Hafnium's src/arch/fake does: every register is a field of one shadow struct, fake_sysreg,
 * which tests set before calling the code under test and read after it; instructions that have
 * no register to show are counted in fake_sysreg.count. A register added to the list below needs
 * its field in struct fake_sysregs too (the host build says so if it is missing).
 */
#ifndef ARCH_SYSREG_H
#define ARCH_SYSREG_H

#include "bulkhead/types.h"

#ifdef BULKHEAD_HOST
struct fake_sysregs {
    uint64_t currentel, mpidr_el1, midr_el1, id_aa64mmfr0_el1, id_aa64pfr0_el1, id_aa64isar0_el1;
    uint64_t esr_el2, far_el2, hpfar_el2, cntpct_el0, cntfrq_el0, dczid_el0;
    uint64_t elr_el2, spsr_el2, tpidr_el2, vbar_el2, sctlr_el2, tcr_el2, mair_el2, ttbr0_el2;
    uint64_t hcr_el2, cptr_el2, mdcr_el2, hstr_el2, cnthctl_el2, cntvoff_el2, vtcr_el2;
    uint64_t vttbr_el2, vpidr_el2, vmpidr_el2;
    uint64_t sctlr_el1, tcr_el1, ttbr0_el1, ttbr1_el1, mair_el1, amair_el1, vbar_el1, cpacr_el1;
    uint64_t contextidr_el1, tpidr_el1, tpidr_el0, tpidrro_el0, sp_el1, sp_el0;
    uint64_t elr_el1, spsr_el1, esr_el1, far_el1, afsr0_el1, afsr1_el1, par_el1;
    uint64_t cntkctl_el1, cntv_ctl_el0, cntv_cval_el0, cntp_ctl_el0, mdscr_el1, csselr_el1;
    uint64_t cnthp_ctl_el2, cnthp_cval_el2;
    uint64_t icc_iar1_el1, icc_eoir1_el1, icc_dir_el1, icc_sgi1r_el1, icc_pmr_el1, icc_bpr1_el1;
    uint64_t icc_ctlr_el1, icc_igrpen1_el1, icc_sre_el1, icc_sre_el2;
    uint64_t ich_vtr_el2, ich_elrsr_el2, ich_hcr_el2, ich_vmcr_el2, ich_ap0r0_el2, ich_ap1r0_el2;
    uint64_t ich_lr0_el2, ich_lr1_el2, ich_lr2_el2, ich_lr3_el2, ich_lr4_el2, ich_lr5_el2;
    uint64_t ich_lr6_el2, ich_lr7_el2, ich_lr8_el2, ich_lr9_el2, ich_lr10_el2, ich_lr11_el2;
    uint64_t ich_lr12_el2, ich_lr13_el2, ich_lr14_el2, ich_lr15_el2;
    uint64_t rndr; /* read_rndr(): the next random number; 0 stands for "none available" */
    /* Called by yield() if set: a test whose fake device is a thread lets it run. */
    void (*on_yield)(void);
    /* Instructions executed, and the bytes dcache_clean_poc() was asked to clean. */
    struct {
        unsigned isb, dsb, sev, wfe, wfi, yield;
        unsigned tlbi_vmalls12e1, dc_zva, dcache_clean_poc, at_s1e1r, ic_ialluis;
        uint64_t dcache_clean_bytes;
    } count;
};
/* Defined by the tests' fake (tests/host/fake/arch.c); tests zero it between cases. */
extern struct fake_sysregs fake_sysreg;

#define SYSREG_READ(name)                                                                          \
    static inline uint64_t read_##name(void)                                                       \
    {                                                                                              \
        return fake_sysreg.name;                                                                   \
    }
#define SYSREG_WRITE(name)                                                                         \
    static inline void write_##name(uint64_t v)                                                    \
    {                                                                                              \
        fake_sysreg.name = v;                                                                      \
    }
#else
#define SYSREG_READ(name)                                                                          \
    static inline uint64_t read_##name(void)                                                       \
    {                                                                                              \
        uint64_t v;                                                                                \
        __asm__ volatile("mrs %0, " #name : "=r"(v));                                              \
        return v;                                                                                  \
    }
#define SYSREG_WRITE(name)                                                                         \
    static inline void write_##name(uint64_t v)                                                    \
    {                                                                                              \
        __asm__ volatile("msr " #name ", %0" : : "r"(v) : "memory");                               \
    }
#endif
#define SYSREG_RW(name) SYSREG_READ(name) SYSREG_WRITE(name)

SYSREG_READ(currentel)
SYSREG_READ(mpidr_el1)
SYSREG_READ(midr_el1)
SYSREG_READ(id_aa64mmfr0_el1)
SYSREG_READ(id_aa64pfr0_el1)
SYSREG_READ(id_aa64isar0_el1)
SYSREG_READ(esr_el2)
SYSREG_READ(far_el2)
SYSREG_READ(hpfar_el2)
SYSREG_READ(cntpct_el0)
SYSREG_READ(cntfrq_el0)
SYSREG_READ(dczid_el0)
SYSREG_RW(elr_el2)
SYSREG_RW(spsr_el2)
SYSREG_RW(tpidr_el2)
SYSREG_RW(vbar_el2)
SYSREG_RW(sctlr_el2)
SYSREG_RW(tcr_el2)
SYSREG_RW(mair_el2)
SYSREG_RW(ttbr0_el2)
SYSREG_RW(hcr_el2)
SYSREG_RW(cptr_el2)
SYSREG_RW(mdcr_el2)
SYSREG_RW(hstr_el2)
SYSREG_RW(cnthctl_el2)
SYSREG_RW(cntvoff_el2)
SYSREG_RW(vtcr_el2)
SYSREG_RW(vttbr_el2)
SYSREG_RW(vpidr_el2)
SYSREG_RW(vmpidr_el2)
SYSREG_RW(sctlr_el1)
SYSREG_RW(tcr_el1)
SYSREG_RW(ttbr0_el1)
SYSREG_RW(ttbr1_el1)
SYSREG_RW(mair_el1)
SYSREG_RW(amair_el1)
SYSREG_RW(vbar_el1)
SYSREG_RW(cpacr_el1)
SYSREG_RW(contextidr_el1)
SYSREG_RW(tpidr_el1)
SYSREG_RW(tpidr_el0)
SYSREG_RW(tpidrro_el0)
SYSREG_RW(sp_el1)
SYSREG_RW(sp_el0)
SYSREG_RW(elr_el1)
SYSREG_RW(spsr_el1)
SYSREG_RW(esr_el1)
SYSREG_RW(far_el1)
SYSREG_RW(afsr0_el1)
SYSREG_RW(afsr1_el1)
SYSREG_RW(par_el1)
SYSREG_RW(cntkctl_el1)
SYSREG_RW(cntv_ctl_el0)
SYSREG_RW(cntv_cval_el0)
SYSREG_RW(cntp_ctl_el0)
SYSREG_RW(mdscr_el1)
SYSREG_RW(csselr_el1)
SYSREG_RW(cnthp_ctl_el2)
SYSREG_RW(cnthp_cval_el2)

/* GICv3 CPU interface (ICC_*) and virtual interface control (ICH_*_EL2). ICC_IAR1 and ICH_VTR
 * are read-only, ICC_EOIR1, ICC_DIR and ICC_SGI1R write-only. */
SYSREG_READ(icc_iar1_el1)
SYSREG_WRITE(icc_eoir1_el1)
SYSREG_WRITE(icc_dir_el1)
SYSREG_WRITE(icc_sgi1r_el1)
SYSREG_RW(icc_pmr_el1)
SYSREG_RW(icc_bpr1_el1)
SYSREG_RW(icc_ctlr_el1)
SYSREG_RW(icc_igrpen1_el1)
SYSREG_RW(icc_sre_el1)
SYSREG_RW(icc_sre_el2)
SYSREG_READ(ich_vtr_el2)
SYSREG_READ(ich_elrsr_el2)
SYSREG_RW(ich_hcr_el2)
SYSREG_RW(ich_vmcr_el2)
SYSREG_RW(ich_ap0r0_el2)
SYSREG_RW(ich_ap1r0_el2)
/* ICH_LR<n>_EL2: the register is part of the instruction, so callers switch on n. */
SYSREG_RW(ich_lr0_el2)
SYSREG_RW(ich_lr1_el2)
SYSREG_RW(ich_lr2_el2)
SYSREG_RW(ich_lr3_el2)
SYSREG_RW(ich_lr4_el2)
SYSREG_RW(ich_lr5_el2)
SYSREG_RW(ich_lr6_el2)
SYSREG_RW(ich_lr7_el2)
SYSREG_RW(ich_lr8_el2)
SYSREG_RW(ich_lr9_el2)
SYSREG_RW(ich_lr10_el2)
SYSREG_RW(ich_lr11_el2)
SYSREG_RW(ich_lr12_el2)
SYSREG_RW(ich_lr13_el2)
SYSREG_RW(ich_lr14_el2)
SYSREG_RW(ich_lr15_el2)

#ifndef BULKHEAD_HOST
static inline void isb(void)
{
    __asm__ volatile("isb" ::: "memory");
}
static inline void dsb_sy(void)
{
    __asm__ volatile("dsb sy" ::: "memory");
}
static inline void dsb_ish(void)
{
    __asm__ volatile("dsb ish" ::: "memory");
}
static inline void dsb_ishst(void)
{
    __asm__ volatile("dsb ishst" ::: "memory");
}
static inline void sev(void)
{
    __asm__ volatile("sev" ::: "memory");
}
static inline void wfe(void)
{
    __asm__ volatile("wfe" ::: "memory");
}
static inline void wfi(void)
{
    __asm__ volatile("wfi" ::: "memory");
}

/* Cleans [p, p+size) to the point of coherency: for whoever reads it with caches off (a guest
 * starting with its MMU off, a CPU not yet in the coherent world). */
static inline void dcache_clean_poc(const volatile void *p, uint64_t size)
{
    uint64_t ctr;
    __asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
    uint64_t line = 4ULL << BITS(ctr, 19, 16);
    uintptr_t a = ALIGN_DOWN((uintptr_t)p, line), end = (uintptr_t)p + size;

    /* Eight lines to a turn while eight remain: a VM's RAM block is 32768 lines, and a turn
     * of one line was three quarters loop. */
    for (; end - a >= 8 * line; a += 8 * line) {
#pragma GCC unroll 8
        for (unsigned i = 0; i < 8; i++) {
            __asm__ volatile("dc cvac, %0" : : "r"(a + i * line) : "memory");
        }
    }
    for (; a < end; a += line) {
        __asm__ volatile("dc cvac, %0" : : "r"(a) : "memory");
    }
    dsb_sy();
}

/* DC ZVA: zeroes the block of 4 << DCZID_EL0.BS bytes that addr falls in. */
static inline void dc_zva(uintptr_t addr)
{
    __asm__ volatile("dc zva, %0" : : "r"(addr) : "memory");
}

/* This CPU's stage-1 and stage-2 TLB entries of the current VMID (VTTBR_EL2), not broadcast. */
static inline void tlbi_vmalls12e1(void)
{
    __asm__ volatile("tlbi vmalls12e1" ::: "memory");
}
static inline void dsb_nsh(void)
{
    __asm__ volatile("dsb nsh" ::: "memory");
}
static inline void yield(void)
{
    __asm__ volatile("yield");
}

/* AT S1E1R: va's stage-1 translation in the current EL1&0 regime (the vCPU this CPU runs), with
 * EL1 read permission; the result (an IPA, or a fault) is in PAR_EL1. */
static inline void at_s1e1r(uint64_t va)
{
    __asm__ volatile("at s1e1r, %0\n isb" : : "r"(va) : "memory");
}

/* Every instruction cache of the inner-shareable domain, for code written through a data
 * mapping (a breakpoint in a guest's text). */
static inline void ic_ialluis(void)
{
    __asm__ volatile("dsb ish\n ic ialluis\n dsb ish\n isb" ::: "memory");
}

/* RNDR (FEAT_RNG): true and a random number in *v, or false when the generator has none now. */
static inline bool read_rndr(uint64_t *v)
{
    uint64_t rnd;
    uint64_t ok;
    __asm__ volatile("mrs %0, s3_3_c2_c4_0\n cset %1, ne" : "=r"(rnd), "=r"(ok) : : "cc");
    *v = rnd;
    return ok;
}
#else
static inline void isb(void)
{
    fake_sysreg.count.isb++;
}
static inline void dsb_sy(void)
{
    fake_sysreg.count.dsb++;
}
static inline void dsb_ish(void)
{
    fake_sysreg.count.dsb++;
}
static inline void dsb_ishst(void)
{
    fake_sysreg.count.dsb++;
}
static inline void dsb_nsh(void)
{
    fake_sysreg.count.dsb++;
}
static inline void sev(void)
{
    fake_sysreg.count.sev++;
}
static inline void wfe(void)
{
    fake_sysreg.count.wfe++;
}
static inline void wfi(void)
{
    fake_sysreg.count.wfi++;
}
static inline void yield(void)
{
    fake_sysreg.count.yield++;
    if (fake_sysreg.on_yield) {
        fake_sysreg.on_yield();
    }
}
static inline void tlbi_vmalls12e1(void)
{
    fake_sysreg.count.tlbi_vmalls12e1++;
}

static inline void dcache_clean_poc(const volatile void *p, uint64_t size)
{
    (void)p;
    fake_sysreg.count.dcache_clean_poc++;
    fake_sysreg.count.dcache_clean_bytes += size;
}

/* Zeroes the block as the hardware would, its size from fake_sysreg.dczid_el0. */
static inline void dc_zva(uintptr_t addr)
{
    uint64_t block = 4ULL << BITS(fake_sysreg.dczid_el0, 3, 0);

    __builtin_memset((void *)(uintptr_t)ALIGN_DOWN(addr, block), 0, block);
    fake_sysreg.count.dc_zva++;
}

static inline void at_s1e1r(uint64_t va)
{
    (void)va;
    fake_sysreg.count.at_s1e1r++;
}

static inline void ic_ialluis(void)
{
    fake_sysreg.count.ic_ialluis++;
}

static inline bool read_rndr(uint64_t *v)
{
    *v = fake_sysreg.rndr;
    return fake_sysreg.rndr != 0;
}
#endif

/* Current EL register values. */
#define CURRENTEL_EL2 (2u << 2)

/* HCR_EL2 */
#define HCR_VM BIT(0)
#define HCR_SWIO BIT(1)
#define HCR_FMO BIT(3)
#define HCR_IMO BIT(4)
#define HCR_AMO BIT(5)
#define HCR_VF BIT(6)
#define HCR_VI BIT(7)
#define HCR_VSE BIT(8)
#define HCR_FB BIT(9)
#define HCR_BSU_IS (1ULL << 10)
#define HCR_TWI BIT(13)
#define HCR_TWE BIT(14)
#define HCR_TID3 BIT(18)
#define HCR_TSC BIT(19)
#define HCR_TIDCP BIT(20)
#define HCR_TACR BIT(21)
#define HCR_TSW BIT(22)
#define HCR_TVM BIT(26)
#define HCR_RW BIT(31)
#define HCR_TLOR BIT(35)
#define HCR_APK BIT(40)
#define HCR_API BIT(41)

/* SCTLR_ELx */
#define SCTLR_M BIT(0)
#define SCTLR_A BIT(1)
#define SCTLR_C BIT(2)
#define SCTLR_SA BIT(3)
#define SCTLR_I BIT(12)
#define SCTLR_WXN BIT(19)
#define SCTLR_EL2_RES1                                                                             \
    (BIT(4) | BIT(5) | BIT(11) | BIT(16) | BIT(18) | BIT(22) | BIT(23) | BIT(28) | BIT(29))
/* SCTLR_EL1 at reset as a guest expects it: MMU and caches off, RES1 bits set. */
#define SCTLR_EL1_RESET 0x30D00800ULL

/* CPTR_EL2 (E2H=0): RES1 bits 13:12 and 9:0 (bit 8 is TZ, trapping SVE; bit 12 TSM, SME);
 * FP/SIMD not trapped. */
#define CPTR_EL2_GUEST 0x33FFULL
#define CPTR_TTA BIT(20)
#define CPTR_TAM BIT(30)

/* MDCR_EL2 */
#define MDCR_TPMCR BIT(5)
#define MDCR_TPM BIT(6)
#define MDCR_TPMS BIT(14)
#define MDCR_TTRF BIT(19)
#define MDCR_TDE BIT(8) /* debug exceptions of EL1 and EL0 go to EL2 (the gdb stub) */

/* MDSCR_EL1 */
#define MDSCR_SS BIT(0) /* software step */

/* CNTHCTL_EL2 (E2H=0) */
#define CNTHCTL_EL1PCTEN BIT(0)
#define CNTHCTL_EL1PCEN BIT(1)

/* SPSR: M[3:0] and the DAIF masks */
#define SPSR_MODE_MASK 0xfULL
#define SPSR_MODE_EL0T 0x0ULL
#define SPSR_MODE_EL1T 0x4ULL
#define SPSR_MODE_EL1H 0x5ULL
#define SPSR_AARCH32 BIT(4)
#define SPSR_DAIF (0xfULL << 6)
#define SPSR_SS BIT(21) /* software step: one instruction after the return, then the exception */

#endif
