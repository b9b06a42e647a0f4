/*
 * Physical GICv3: the distributor, each CPU's redistributor, the system-register CPU interface
 * (ICC_*) and the virtual interface control registers (ICH_*_EL2), as gicv3_ops for
 * drivers/gic.c.
 */
#include "arch/mpidr.h"
#include "arch/sysreg.h"
#include "bulkhead/gic.h"
#include "bulkhead/printk.h"

/* GICD (the registers both versions have are in bulkhead/gic.h) */
#define GICD_IROUTER 0x6000
#define GICD_CTLR_RWP BIT(31)
/* GICR */
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_SGI 0x10000 /* the SGI/PPI frame: GICD_* offsets for the private interrupts */
#define GICR_STRIDE 0x20000
#define GICR_TYPER_LAST BIT(4)
/* ICH_HCR_EL2 */
#define ICH_HCR_EN BIT(0)
#define ICH_HCR_UIE BIT(1)
#define ICH_HCR_NPIE BIT(3)

static struct {
    uintptr_t dist, redist;
    unsigned nr_lrs;
    unsigned nr_cpus;
    uint64_t mpidr[MAX_CPUS];     /* affinity of each physical CPU, as gic_init() got it */
    uintptr_t rdist_of[MAX_CPUS]; /* its redistributor, once it ran v3_cpu_init(); 0: none */
} v3;

static inline uint64_t read64(uintptr_t a)
{
    return *(volatile uint64_t *)a;
}

static inline void write64(uintptr_t a, uint64_t v)
{
    *(volatile uint64_t *)a = v;
}

static void wait_rwp(uintptr_t ctlr)
{
    for (unsigned i = 0; i < 1000000 && (gic_read32(ctlr) & GICD_CTLR_RWP); i++) {
    }
}

static void v3_init(const struct board_gic *gic, const struct board_cpu *cpus, unsigned nr_cpus)
{
    v3.dist = (uintptr_t)gic->dist.base;
    v3.redist = (uintptr_t)gic->redist.base;
    v3.nr_cpus = MIN(nr_cpus, MAX_CPUS);
    for (unsigned i = 0; i < v3.nr_cpus; i++) {
        v3.mpidr[i] = cpus[i].mpidr & MPIDR_AFF_MASK;
    }
    gic_write32(v3.dist + GICD_CTLR, 0);
    wait_rwp(v3.dist + GICD_CTLR);
    gic_dist_init_spis(v3.dist, 0xffffffff);
    /* Single security state (DS): ARE, then both groups. */
    gic_write32(v3.dist + GICD_CTLR, BIT(4));
    wait_rwp(v3.dist + GICD_CTLR);
    gic_write32(v3.dist + GICD_CTLR, BIT(4) | BIT(1) | BIT(0));
    wait_rwp(v3.dist + GICD_CTLR);
}

static uintptr_t find_redist(uint64_t mpidr)
{
    uint64_t aff = BITS(mpidr, 7, 0) | (BITS(mpidr, 15, 8) << 8) | (BITS(mpidr, 23, 16) << 16) |
                   (BITS(mpidr, 39, 32) << 24);

    for (uintptr_t r = v3.redist;; r += GICR_STRIDE) {
        uint64_t typer = read64(r + GICR_TYPER);
        if ((typer >> 32) == aff) {
            return r;
        }
        if (typer & GICR_TYPER_LAST) {
            return 0;
        }
    }
}

static void v3_cpu_init(unsigned cpu)
{
    uintptr_t r = find_redist(read_mpidr_el1());

    v3.rdist_of[cpu] = r;
    if (!r) {
        printk("bulkhead: CPU %u: no GICv3 redistributor\n", cpu);
        return;
    }
    gic_write32(r + GICR_WAKER, gic_read32(r + GICR_WAKER) & ~BIT(1));
    for (unsigned i = 0; i < 1000000 && (gic_read32(r + GICR_WAKER) & BIT(2)); i++) {
    }
    gic_write32(r + GICR_SGI + GICD_IGROUPR, 0xffffffff);
    gic_private_irqs_init(r + GICR_SGI);
    /* System-register interface at EL2 and for EL1 (the guest's virtual interface). */
    write_icc_sre_el2(read_icc_sre_el2() | BIT(0) | BIT(3));
    isb();
    write_icc_pmr_el1(GIC_PMR_ALL);
    write_icc_bpr1_el1(0);
    write_icc_ctlr_el1(BIT(1)); /* EOImode: priority drop and deactivation split */
    write_icc_igrpen1_el1(1);
    isb();
    v3.nr_lrs = (unsigned)BITS(read_ich_vtr_el2(), 4, 0) + 1;
}

static uint32_t v3_ack(void)
{
    uint32_t iar = (uint32_t)read_icc_iar1_el1() & 0xffffff;

    dsb_sy();
    return iar;
}

static void v3_eoi(uint32_t iar)
{
    write_icc_eoir1_el1(iar);
    isb();
}

static void v3_deactivate(uint32_t iar)
{
    write_icc_dir_el1(iar);
    isb();
}

/* The redistributor of the calling CPU, 0 if it has none. */
static uintptr_t this_redist(void)
{
    uint64_t aff = read_mpidr_el1() & MPIDR_AFF_MASK;

    for (unsigned i = 0; i < v3.nr_cpus; i++) {
        if (v3.mpidr[i] == aff) {
            return v3.rdist_of[i];
        }
    }
    return 0;
}

/* Writes intid's bit of a set/clear register (GICD_ISACTIVER, GICD_ICACTIVER): the private
 * interrupts' registers are the calling CPU's redistributor's. */
static void write_irq_bit(unsigned reg, unsigned intid)
{
    uintptr_t base = v3.dist;

    if (intid < 32) {
        uintptr_t r = this_redist();
        if (!r) {
            return;
        }
        base = r + GICR_SGI;
    }
    gic_write32(base + reg + (intid / 32) * 4, 1u << (intid % 32));
}

static void v3_clear_active(unsigned intid)
{
    write_irq_bit(GICD_ICACTIVER, intid);
}

static void v3_set_active(unsigned intid)
{
    write_irq_bit(GICD_ISACTIVER, intid);
}

static void v3_route_spi(unsigned intid, unsigned pcpu)
{
    write64(v3.dist + GICD_IROUTER + 8 * intid, v3.mpidr[pcpu]);
}

static void v3_send_sgi(unsigned pcpu, unsigned sgi)
{
    uint64_t mpidr = v3.mpidr[pcpu];

    dsb_ishst(); /* what the target CPU will look at is visible before the SGI */
    write_icc_sgi1r_el1((1ULL << (mpidr & 0xf)) | (BITS(mpidr, 7, 4) << 44) |
                        (BITS(mpidr, 15, 8) << 16) | (BITS(mpidr, 23, 16) << 32) |
                        (BITS(mpidr, 39, 32) << 48) | ((uint64_t)sgi << 24));
    isb();
}

static void v3_before_wfi(void)
{
}

static unsigned v3_nr_lrs(void)
{
    return v3.nr_lrs;
}

static inline void write_lr(unsigned n, uint64_t v)
{
    switch (n) {
    case 0: write_ich_lr0_el2(v); break;
    case 1: write_ich_lr1_el2(v); break;
    case 2: write_ich_lr2_el2(v); break;
    case 3: write_ich_lr3_el2(v); break;
    case 4: write_ich_lr4_el2(v); break;
    case 5: write_ich_lr5_el2(v); break;
    case 6: write_ich_lr6_el2(v); break;
    case 7: write_ich_lr7_el2(v); break;
    case 8: write_ich_lr8_el2(v); break;
    case 9: write_ich_lr9_el2(v); break;
    case 10: write_ich_lr10_el2(v); break;
    case 11: write_ich_lr11_el2(v); break;
    case 12: write_ich_lr12_el2(v); break;
    case 13: write_ich_lr13_el2(v); break;
    case 14: write_ich_lr14_el2(v); break;
    case 15: write_ich_lr15_el2(v); break;
    default: break;
    }
}

static inline uint64_t read_lr(unsigned n)
{
    switch (n) {
    case 0: return read_ich_lr0_el2();
    case 1: return read_ich_lr1_el2();
    case 2: return read_ich_lr2_el2();
    case 3: return read_ich_lr3_el2();
    case 4: return read_ich_lr4_el2();
    case 5: return read_ich_lr5_el2();
    case 6: return read_ich_lr6_el2();
    case 7: return read_ich_lr7_el2();
    case 8: return read_ich_lr8_el2();
    case 9: return read_ich_lr9_el2();
    case 10: return read_ich_lr10_el2();
    case 11: return read_ich_lr11_el2();
    case 12: return read_ich_lr12_el2();
    case 13: return read_ich_lr13_el2();
    case 14: return read_ich_lr14_el2();
    case 15: return read_ich_lr15_el2();
    default: return 0;
    }
}

static void v3_write_lr(unsigned n, const struct lr_state *lr)
{
    /* LR 0 before the switch's table: an entry that delivers one interrupt (a timer's, an
     * SGI's) writes that one only. */
    if (n == 0) {
        write_ich_lr0_el2(vgic_v3_lr_encode(lr));
        return;
    }
    write_lr(n, vgic_v3_lr_encode(lr));
}

static void v3_read_lr(unsigned n, struct lr_state *lr)
{
    vgic_v3_lr_decode(read_lr(n), lr);
}

static void v3_repend_lr(unsigned n)
{
    if (n == 0) {
        write_ich_lr0_el2(read_ich_lr0_el2() | VGIC_V3_LR_PENDING);
        return;
    }
    write_lr(n, read_lr(n) | VGIC_V3_LR_PENDING);
}

static uint32_t v3_empty_lrs(void)
{
    return (uint32_t)read_ich_elrsr_el2();
}

static void v3_set_underflow(bool on)
{
    write_ich_hcr_el2((read_ich_hcr_el2() & ~ICH_HCR_UIE) | ICH_HCR_EN | (on ? ICH_HCR_UIE : 0));
}

static void v3_set_no_pending(bool on)
{
    write_ich_hcr_el2((read_ich_hcr_el2() & ~ICH_HCR_NPIE) | ICH_HCR_EN | (on ? ICH_HCR_NPIE : 0));
}

/* The virtual CPU interface as after a reset of the vCPU: no state, interface enabled. */
static void v3_vcpu_reset(void)
{
    struct lr_state empty = {0};

    for (unsigned n = 0; n < v3.nr_lrs; n++) {
        v3_write_lr(n, &empty);
    }
    write_ich_vmcr_el2(0);
    write_ich_ap0r0_el2(0);
    write_ich_ap1r0_el2(0);
    write_icc_sre_el1(0x7);
    write_ich_hcr_el2(ICH_HCR_EN);
    isb();
}

static void v3_vcpu_if_save(struct gic_vcpu_if *s)
{
    s->vmcr = read_ich_vmcr_el2();
    s->ap0r = (uint32_t)read_ich_ap0r0_el2();
    s->ap1r = (uint32_t)read_ich_ap1r0_el2();
}

static void v3_vcpu_if_restore(const struct gic_vcpu_if *s)
{
    write_ich_vmcr_el2(s->vmcr);
    write_ich_ap0r0_el2(s->ap0r);
    write_ich_ap1r0_el2(s->ap1r);
}

const struct gic_ops gicv3_ops = {
    .iar_intid_mask = 0xffffffff, /* the INTID is the whole IAR */
    .init = v3_init,
    .cpu_init = v3_cpu_init,
    .ack = v3_ack,
    .eoi = v3_eoi,
    .deactivate = v3_deactivate,
    .clear_active = v3_clear_active,
    .set_active = v3_set_active,
    .route_spi = v3_route_spi,
    .send_sgi = v3_send_sgi,
    .before_wfi = v3_before_wfi,
    .nr_lrs = v3_nr_lrs,
    .vcpu_reset = v3_vcpu_reset,
    .vcpu_if_save = v3_vcpu_if_save,
    .vcpu_if_restore = v3_vcpu_if_restore,
    .lr.write_lr = v3_write_lr,
    .lr.read_lr = v3_read_lr,
    .lr.set_underflow = v3_set_underflow,
    .lr.set_no_pending = v3_set_no_pending,
    .lr.empty_lrs = v3_empty_lrs,
    .lr.repend_lr = v3_repend_lr,
};
