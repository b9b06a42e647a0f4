/*
 * Physical GICv2 (GIC-400): the distributor, the memory-mapped CPU interface (GICC) and the
 * virtual interface control registers (GICH), as gicv2_ops for drivers/gic.c.
 */
#include "arch/sysreg.h"
#include "bulkhead/gic.h"

/* GICD (the registers both versions have are in bulkhead/gic.h) */
#define GICD_ITARGETSR 0x800
#define GICD_SGIR 0xf00
/* GICC */
#define GICC_CTLR 0x000
#define GICC_PMR 0x004
#define GICC_BPR 0x008
#define GICC_IAR 0x00c
#define GICC_EOIR 0x010
#define GICC_DIR 0x1000
/* GICH */
#define GICH_HCR 0x000
#define GICH_VTR 0x004
#define GICH_VMCR 0x008
#define GICH_ELRSR0 0x030
#define GICH_APR 0x0f0
#define GICH_LR0 0x100
#define GICH_HCR_EN BIT(0)
#define GICH_HCR_UIE BIT(1)
#define GICH_HCR_NPIE BIT(3)

static struct {
    uintptr_t dist, cpuif, hyp;
    unsigned nr_lrs;
    uint8_t cpu_mask[MAX_CPUS]; /* the CPU interface of each physical CPU, as a target mask */
} v2;

static void v2_init(const struct board_gic *gic, const struct board_cpu *cpus, unsigned nr_cpus)
{
    (void)cpus; /* each CPU reads its own interface's mask in v2_cpu_init() */
    (void)nr_cpus;
    v2.dist = (uintptr_t)gic->dist.base;
    v2.cpuif = (uintptr_t)gic->cpuif.base;
    v2.hyp = (uintptr_t)gic->hyp.base;
    gic_write32(v2.dist + GICD_CTLR, 0);
    gic_dist_init_spis(v2.dist, 0);
    gic_write32(v2.dist + GICD_CTLR, BIT(1) | BIT(0));
}

static void v2_cpu_init(unsigned cpu)
{
    gic_private_irqs_init(v2.dist);
    /* ITARGETSR0 reads as this CPU's own interface mask. */
    v2.cpu_mask[cpu] = (uint8_t)gic_read32(v2.dist + GICD_ITARGETSR);
    gic_write32(v2.cpuif + GICC_PMR, GIC_PMR_ALL);
    gic_write32(v2.cpuif + GICC_BPR, 0);
    /* Both groups, EOImodeS and EOImodeNS: priority drop and deactivation split. */
    gic_write32(v2.cpuif + GICC_CTLR, BIT(0) | BIT(1) | BIT(9) | BIT(10));
    v2.nr_lrs = (gic_read32(v2.hyp + GICH_VTR) & 0x3f) + 1;
}

static uint32_t v2_ack(void)
{
    return gic_read32(v2.cpuif + GICC_IAR) & 0x1fff;
}

static void v2_eoi(uint32_t iar)
{
    gic_write32(v2.cpuif + GICC_EOIR, iar);
}

static void v2_deactivate(uint32_t iar)
{
    gic_write32(v2.cpuif + GICC_DIR, iar);
}

/* The distributor banks the private interrupts' registers per CPU. */
static void v2_clear_active(unsigned intid)
{
    gic_write32(v2.dist + GICD_ICACTIVER + (intid / 32) * 4, 1u << (intid % 32));
}

static void v2_set_active(unsigned intid)
{
    gic_write32(v2.dist + GICD_ISACTIVER + (intid / 32) * 4, 1u << (intid % 32));
}

static void v2_route_spi(unsigned intid, unsigned pcpu)
{
    volatile uint8_t *targets = (volatile uint8_t *)(v2.dist + GICD_ITARGETSR);

    targets[intid] = v2.cpu_mask[pcpu];
}

static void v2_send_sgi(unsigned pcpu, unsigned sgi)
{
    dsb_ishst(); /* what the target CPU will look at is visible before the SGI */
    gic_write32(v2.dist + GICD_SGIR, ((uint32_t)v2.cpu_mask[pcpu] << 16) | sgi);
}

static void v2_before_wfi(void)
{
    /* QEMU's GICv2 forgets to re-evaluate the physical CPU interface when a guest's EOI of a
     * hardware-linked interrupt deactivates the physical one: a physical interrupt pending
     * since then is never signalled and WFI never wakes. Writing GICC_PMR (unchanged) makes it
     * look again; on hardware it is one harmless store. */
    gic_write32(v2.cpuif + GICC_PMR, GIC_PMR_ALL);
}

static unsigned v2_nr_lrs(void)
{
    return v2.nr_lrs;
}

static void v2_write_lr(unsigned n, const struct lr_state *lr)
{
    gic_write32(v2.hyp + GICH_LR0 + 4 * n, vgic_v2_lr_encode(lr));
}

static void v2_read_lr(unsigned n, struct lr_state *lr)
{
    vgic_v2_lr_decode(gic_read32(v2.hyp + GICH_LR0 + 4 * n), lr);
}

static uint32_t v2_empty_lrs(void)
{
    return gic_read32(v2.hyp + GICH_ELRSR0); /* LRs 32 to 63 (ELRSR1) we never use */
}

static void v2_set_underflow(bool on)
{
    uint32_t hcr = gic_read32(v2.hyp + GICH_HCR);

    gic_write32(v2.hyp + GICH_HCR,
                (uint32_t)((hcr & ~GICH_HCR_UIE) | GICH_HCR_EN | (on ? GICH_HCR_UIE : 0)));
}

static void v2_set_no_pending(bool on)
{
    uint32_t hcr = gic_read32(v2.hyp + GICH_HCR);

    gic_write32(v2.hyp + GICH_HCR,
                (uint32_t)((hcr & ~GICH_HCR_NPIE) | GICH_HCR_EN | (on ? GICH_HCR_NPIE : 0)));
}

/* The virtual CPU interface as after a reset of the vCPU: no state, interface enabled. */
static void v2_vcpu_reset(void)
{
    struct lr_state empty = {0};

    for (unsigned n = 0; n < v2.nr_lrs; n++) {
        v2_write_lr(n, &empty);
    }
    gic_write32(v2.hyp + GICH_VMCR, 0);
    gic_write32(v2.hyp + GICH_APR, 0);
    gic_write32(v2.hyp + GICH_HCR, GICH_HCR_EN);
    isb();
}

static void v2_vcpu_if_save(struct gic_vcpu_if *s)
{
    s->vmcr = gic_read32(v2.hyp + GICH_VMCR);
    s->ap1r = gic_read32(v2.hyp + GICH_APR);
    s->ap0r = 0;
}

static void v2_vcpu_if_restore(const struct gic_vcpu_if *s)
{
    gic_write32(v2.hyp + GICH_VMCR, (uint32_t)s->vmcr);
    gic_write32(v2.hyp + GICH_APR, s->ap1r);
}

const struct gic_ops gicv2_ops = {
    .iar_intid_mask = 0x3ff, /* bits 12:10 hold an SGI's source CPU */
    .init = v2_init,
    .cpu_init = v2_cpu_init,
    .ack = v2_ack,
    .eoi = v2_eoi,
    .deactivate = v2_deactivate,
    .clear_active = v2_clear_active,
    .set_active = v2_set_active,
    .route_spi = v2_route_spi,
    .send_sgi = v2_send_sgi,
    .before_wfi = v2_before_wfi,
    .nr_lrs = v2_nr_lrs,
    .vcpu_reset = v2_vcpu_reset,
    .vcpu_if_save = v2_vcpu_if_save,
    .vcpu_if_restore = v2_vcpu_if_restore,
    .lr.write_lr = v2_write_lr,
    .lr.read_lr = v2_read_lr,
    .lr.set_underflow = v2_set_underflow,
    .lr.set_no_pending = v2_set_no_pending,
    .lr.empty_lrs = v2_empty_lrs,
};
