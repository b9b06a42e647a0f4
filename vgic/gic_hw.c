/* Physical GICv2 (GIC-400) and GICv3 driver, and the virtual CPU interface's registers. */
#include "arch/sysreg.h"
#include "bulkhead/gic.h"
#include "bulkhead/printk.h"
#include "bulkhead/boot.h"
#include "bulkhead/cpu.h"

#define SYSREG_R(name)                                                                        \
    ({                                                                                        \
        uint64_t v_;                                                                          \
        __asm__ volatile("mrs %0, " name : "=r"(v_));                                         \
        v_;                                                                                   \
    })
#define SYSREG_W(name, v) __asm__ volatile("msr " name ", %0" : : "r"((uint64_t)(v)) : "memory")

/* GICD */
#define GICD_CTLR 0x000
#define GICD_TYPER 0x004
#define GICD_IGROUPR 0x080
#define GICD_ISENABLER 0x100
#define GICD_ICENABLER 0x180
#define GICD_ICACTIVER 0x380
#define GICD_IPRIORITYR 0x400
#define GICD_ITARGETSR 0x800
#define GICD_SGIR 0xf00
#define GICD_IROUTER 0x6000
#define GICD_CTLR_RWP BIT(31)
/* GICC (v2) */
#define GICC_CTLR 0x000
#define GICC_PMR 0x004
#define GICC_BPR 0x008
#define GICC_IAR 0x00c
#define GICC_EOIR 0x010
#define GICC_DIR 0x1000
/* GICH (v2) */
#define GICH_HCR 0x000
#define GICH_VTR 0x004
#define GICH_VMCR 0x008
#define GICH_APR 0x0f0
#define GICH_LR0 0x100
#define GICH_HCR_EN BIT(0)
#define GICH_HCR_UIE BIT(1)
#define GICH_HCR_NPIE BIT(3)
/* GICR (v3) */
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_SGI 0x10000
#define GICR_STRIDE 0x20000
#define GICR_TYPER_LAST BIT(4)

#define HYP_PRIORITY 0xa0
#define PMR_ALL 0xf0

struct gic_state {
    enum gic_version version;
    uintptr_t dist, cpuif, hyp, redist;
    unsigned nr_irqs;
    unsigned nr_lrs;
    uint8_t v2_cpu_mask[MAX_CPUS]; /* GICv2 CPU interface number of each physical CPU */
    uintptr_t rdist_of[MAX_CPUS];
};

static struct gic_state gic;

static inline uint32_t rd32(uintptr_t a)
{
    return *(volatile uint32_t *)a;
}

static inline void wr32(uintptr_t a, uint32_t v)
{
    *(volatile uint32_t *)a = v;
}

static inline uint64_t rd64(uintptr_t a)
{
    return *(volatile uint64_t *)a;
}

static inline void wr64(uintptr_t a, uint64_t v)
{
    *(volatile uint64_t *)a = v;
}

static void v3_wait_rwp(uintptr_t ctlr)
{
    for (unsigned i = 0; i < 1000000 && (rd32(ctlr) & GICD_CTLR_RWP); i++) {
    }
}

static void dist_init_spis(void)
{
    for (unsigned i = 32; i < gic.nr_irqs; i += 32) {
        wr32(gic.dist + GICD_ICENABLER + i / 8, 0xffffffff);
        wr32(gic.dist + GICD_ICACTIVER + i / 8, 0xffffffff);
        wr32(gic.dist + GICD_IGROUPR + i / 8, gic.version == GIC_V3 ? 0xffffffff : 0);
    }
    for (unsigned i = 32; i < gic.nr_irqs; i += 4) {
        wr32(gic.dist + GICD_IPRIORITYR + i, 0x01010101u * HYP_PRIORITY);
    }
}

void gic_init(const struct board_gic *g)
{
    gic.version = g->version;
    gic.dist = (uintptr_t)g->dist.base;
    gic.cpuif = (uintptr_t)g->cpuif.base;
    gic.hyp = (uintptr_t)g->hyp.base;
    gic.redist = (uintptr_t)g->redist.base;
    if (gic.version == GIC_NONE) {
        return;
    }
    gic.nr_irqs = MIN(32 * ((rd32(gic.dist + GICD_TYPER) & 0x1f) + 1), 1020u);
    wr32(gic.dist + GICD_CTLR, 0);
    if (gic.version == GIC_V3) {
        v3_wait_rwp(gic.dist + GICD_CTLR);
    }
    dist_init_spis();
    if (gic.version == GIC_V3) {
        /* Single security state (DS): ARE, then both groups. */
        wr32(gic.dist + GICD_CTLR, BIT(4));
        v3_wait_rwp(gic.dist + GICD_CTLR);
        wr32(gic.dist + GICD_CTLR, BIT(4) | BIT(1) | BIT(0));
        v3_wait_rwp(gic.dist + GICD_CTLR);
    } else {
        wr32(gic.dist + GICD_CTLR, BIT(1) | BIT(0));
    }
}

static uintptr_t v3_find_redist(uint64_t mpidr)
{
    uint64_t aff = BITS(mpidr, 7, 0) | (BITS(mpidr, 15, 8) << 8) | (BITS(mpidr, 23, 16) << 16) |
                   (BITS(mpidr, 39, 32) << 24);

    for (uintptr_t r = gic.redist;; r += GICR_STRIDE) {
        uint64_t typer = rd64(r + GICR_TYPER);
        if ((typer >> 32) == aff) {
            return r;
        }
        if (typer & GICR_TYPER_LAST) {
            return 0;
        }
    }
}

/* The physical interrupts the hypervisor itself uses, private to each CPU. */
static uint32_t hyp_private_irqs(void)
{
    return BIT(SGI_KICK) | BIT(board.gic.maint_irq + 16) | BIT(board.timer.irq_hyp + 16) |
           BIT(board.timer.irq_virt + 16);
}

static void private_irqs_init(uintptr_t base)
{
    wr32(base + GICD_ICACTIVER, 0xffffffff);
    wr32(base + GICD_ICENABLER, 0xffffffff);
    for (unsigned i = 0; i < 32; i += 4) {
        wr32(base + GICD_IPRIORITYR + i, 0x01010101u * HYP_PRIORITY);
    }
    wr32(base + GICD_ISENABLER, hyp_private_irqs());
}

static void v3_cpu_init(unsigned cpu)
{
    uintptr_t r = v3_find_redist(read_mpidr_el1());

    gic.rdist_of[cpu] = r;
    if (!r) {
        printk("bulkhead: CPU %u: no GICv3 redistributor\n", cpu);
        return;
    }
    wr32(r + GICR_WAKER, rd32(r + GICR_WAKER) & ~BIT(1));
    for (unsigned i = 0; i < 1000000 && (rd32(r + GICR_WAKER) & BIT(2)); i++) {
    }
    wr32(r + GICR_SGI + GICD_IGROUPR, 0xffffffff);
    private_irqs_init(r + GICR_SGI);
    /* System-register interface at EL2 and for EL1 (the guest's virtual interface). */
    SYSREG_W("icc_sre_el2", SYSREG_R("icc_sre_el2") | BIT(0) | BIT(3));
    isb();
    SYSREG_W("icc_pmr_el1", PMR_ALL);
    SYSREG_W("icc_bpr1_el1", 0);
    SYSREG_W("icc_ctlr_el1", BIT(1)); /* EOImode: priority drop and deactivation split */
    SYSREG_W("icc_igrpen1_el1", 1);
    isb();
    gic.nr_lrs = (unsigned)BITS(SYSREG_R("ich_vtr_el2"), 4, 0) + 1;
}

static void v2_cpu_init(unsigned cpu)
{
    private_irqs_init(gic.dist);
    /* ITARGETSR0 reads as this CPU's own interface mask. */
    gic.v2_cpu_mask[cpu] = (uint8_t)rd32(gic.dist + GICD_ITARGETSR);
    wr32(gic.cpuif + GICC_PMR, PMR_ALL);
    wr32(gic.cpuif + GICC_BPR, 0);
    /* Both groups, EOImodeS and EOImodeNS: priority drop and deactivation split. */
    wr32(gic.cpuif + GICC_CTLR, BIT(0) | BIT(1) | BIT(9) | BIT(10));
    gic.nr_lrs = (rd32(gic.hyp + GICH_VTR) & 0x3f) + 1;
}

void gic_cpu_init(unsigned cpu)
{
    if (gic.version == GIC_V3) {
        v3_cpu_init(cpu);
    } else if (gic.version == GIC_V2) {
        v2_cpu_init(cpu);
    }
}

uint32_t gic_ack(void)
{
    if (gic.version == GIC_V3) {
        uint32_t iar = (uint32_t)SYSREG_R("icc_iar1_el1") & 0xffffff;
        __asm__ volatile("dsb sy" ::: "memory");
        return iar;
    }
    if (gic.version == GIC_V2) {
        return rd32(gic.cpuif + GICC_IAR) & 0x1fff;
    }
    return GIC_SPURIOUS;
}

unsigned gic_iar_intid(uint32_t iar)
{
    return gic.version == GIC_V2 ? (iar & 0x3ff) : iar;
}

void gic_eoi(uint32_t iar)
{
    if (gic.version == GIC_V3) {
        SYSREG_W("icc_eoir1_el1", iar);
        isb();
    } else if (gic.version == GIC_V2) {
        wr32(gic.cpuif + GICC_EOIR, iar);
    }
}

void gic_deactivate(uint32_t iar)
{
    if (gic.version == GIC_V3) {
        SYSREG_W("icc_dir_el1", iar);
        isb();
    } else if (gic.version == GIC_V2) {
        wr32(gic.cpuif + GICC_DIR, iar);
    }
}

void gic_clear_active(unsigned intid)
{
    uintptr_t base = gic.dist;

    if (gic.version == GIC_V3 && intid < 32) {
        base = gic.rdist_of[this_pcpu()->index] + GICR_SGI;
    }
    if (gic.version != GIC_NONE && base) {
        wr32(base + GICD_ICACTIVER + (intid / 32) * 4, 1u << (intid % 32));
    }
}

void gic_enable_spi(unsigned intid, unsigned pcpu)
{
    if (gic.version == GIC_NONE || intid < 32 || intid >= gic.nr_irqs) {
        return;
    }
    if (gic.version == GIC_V3) {
        uint64_t mpidr = board.cpus[pcpu].mpidr;
        wr64(gic.dist + GICD_IROUTER + 8 * intid, mpidr & 0xff00ffffffULL);
    } else {
        volatile uint8_t *targets = (volatile uint8_t *)(gic.dist + GICD_ITARGETSR);
        targets[intid] = gic.v2_cpu_mask[pcpu];
    }
    wr32(gic.dist + GICD_ISENABLER + (intid / 32) * 4, 1u << (intid % 32));
}

void gic_send_sgi(unsigned pcpu, unsigned sgi)
{
    __asm__ volatile("dsb ishst" ::: "memory");
    if (gic.version == GIC_V3) {
        uint64_t mpidr = board.cpus[pcpu].mpidr;
        uint64_t v = (1ULL << (mpidr & 0xf)) | (BITS(mpidr, 7, 4) << 44) |
                     (BITS(mpidr, 15, 8) << 16) | (BITS(mpidr, 23, 16) << 32) |
                     (BITS(mpidr, 39, 32) << 48) | ((uint64_t)sgi << 24);
        SYSREG_W("icc_sgi1r_el1", v);
        isb();
    } else if (gic.version == GIC_V2) {
        wr32(gic.dist + GICD_SGIR, ((uint32_t)gic.v2_cpu_mask[pcpu] << 16) | sgi);
    }
}

void gic_before_wfi(void)
{
    /* QEMU's GICv2 forgets to re-evaluate the physical CPU interface when a guest's EOI of a
     * hardware-linked interrupt deactivates the physical one: a physical interrupt pending
     * since then is never signalled and WFI never wakes. Writing GICC_PMR (unchanged) makes it
     * look again; on hardware it is one harmless store. */
    if (gic.version == GIC_V2) {
        wr32(gic.cpuif + GICC_PMR, PMR_ALL);
    }
}

unsigned gic_nr_lrs(void)
{
    return gic.nr_lrs;
}

static void v3_write_lr(unsigned n, uint64_t v)
{
    switch (n) {
    case 0: SYSREG_W("ich_lr0_el2", v); break;
    case 1: SYSREG_W("ich_lr1_el2", v); break;
    case 2: SYSREG_W("ich_lr2_el2", v); break;
    case 3: SYSREG_W("ich_lr3_el2", v); break;
    case 4: SYSREG_W("ich_lr4_el2", v); break;
    case 5: SYSREG_W("ich_lr5_el2", v); break;
    case 6: SYSREG_W("ich_lr6_el2", v); break;
    case 7: SYSREG_W("ich_lr7_el2", v); break;
    case 8: SYSREG_W("ich_lr8_el2", v); break;
    case 9: SYSREG_W("ich_lr9_el2", v); break;
    case 10: SYSREG_W("ich_lr10_el2", v); break;
    case 11: SYSREG_W("ich_lr11_el2", v); break;
    case 12: SYSREG_W("ich_lr12_el2", v); break;
    case 13: SYSREG_W("ich_lr13_el2", v); break;
    case 14: SYSREG_W("ich_lr14_el2", v); break;
    case 15: SYSREG_W("ich_lr15_el2", v); break;
    default: break;
    }
}

static uint64_t v3_read_lr(unsigned n)
{
    switch (n) {
    case 0: return SYSREG_R("ich_lr0_el2");
    case 1: return SYSREG_R("ich_lr1_el2");
    case 2: return SYSREG_R("ich_lr2_el2");
    case 3: return SYSREG_R("ich_lr3_el2");
    case 4: return SYSREG_R("ich_lr4_el2");
    case 5: return SYSREG_R("ich_lr5_el2");
    case 6: return SYSREG_R("ich_lr6_el2");
    case 7: return SYSREG_R("ich_lr7_el2");
    case 8: return SYSREG_R("ich_lr8_el2");
    case 9: return SYSREG_R("ich_lr9_el2");
    case 10: return SYSREG_R("ich_lr10_el2");
    case 11: return SYSREG_R("ich_lr11_el2");
    case 12: return SYSREG_R("ich_lr12_el2");
    case 13: return SYSREG_R("ich_lr13_el2");
    case 14: return SYSREG_R("ich_lr14_el2");
    case 15: return SYSREG_R("ich_lr15_el2");
    default: return 0;
    }
}

static void hw_write_lr(unsigned n, const struct lr_state *lr)
{
    if (gic.version == GIC_V3) {
        v3_write_lr(n, vgic_v3_lr_encode(lr));
    } else {
        wr32(gic.hyp + GICH_LR0 + 4 * n, vgic_v2_lr_encode(lr));
    }
}

static void hw_read_lr(unsigned n, struct lr_state *lr)
{
    if (gic.version == GIC_V3) {
        vgic_v3_lr_decode(v3_read_lr(n), lr);
    } else {
        vgic_v2_lr_decode(rd32(gic.hyp + GICH_LR0 + 4 * n), lr);
    }
}

static uint64_t read_hcr(void)
{
    return gic.version == GIC_V3 ? SYSREG_R("ich_hcr_el2") : rd32(gic.hyp + GICH_HCR);
}

static void write_hcr(uint64_t hcr)
{
    if (gic.version == GIC_V3) {
        SYSREG_W("ich_hcr_el2", hcr);
    } else {
        wr32(gic.hyp + GICH_HCR, (uint32_t)hcr);
    }
}

/* GICH_HCR and ICH_HCR_EL2 share the layout of these bits. */
static void hw_set_underflow(bool on)
{
    write_hcr((read_hcr() & ~GICH_HCR_UIE) | GICH_HCR_EN | (on ? GICH_HCR_UIE : 0));
}

static void hw_set_no_pending(bool on)
{
    write_hcr((read_hcr() & ~GICH_HCR_NPIE) | GICH_HCR_EN | (on ? GICH_HCR_NPIE : 0));
}

const struct vgic_hw_ops gic_lr_ops = {
    .write_lr = hw_write_lr,
    .read_lr = hw_read_lr,
    .set_underflow = hw_set_underflow,
    .set_no_pending = hw_set_no_pending,
};

/* The virtual CPU interface as after a reset of the vCPU: no state, interface enabled. */
void gic_vcpu_reset(void)
{
    struct lr_state empty = { 0 };

    for (unsigned n = 0; n < gic.nr_lrs; n++) {
        hw_write_lr(n, &empty);
    }
    if (gic.version == GIC_V3) {
        SYSREG_W("ich_vmcr_el2", 0);
        SYSREG_W("ich_ap0r0_el2", 0);
        SYSREG_W("ich_ap1r0_el2", 0);
        SYSREG_W("icc_sre_el1", 0x7);
    } else if (gic.version == GIC_V2) {
        wr32(gic.hyp + GICH_VMCR, 0);
        wr32(gic.hyp + GICH_APR, 0);
    }
    write_hcr(GICH_HCR_EN);
    isb();
}
