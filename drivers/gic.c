/*
 * The physical GIC's front: gic_init() picks the version's struct gic_ops (drivers/gicv2.c,
 * drivers/gicv3.c) once, and the functions of bulkhead/gic.h dispatch through it (those on the
 * exit path inline in the header). Before gic_init(), and for good on a board without a GIC,
 * they do nothing. The distributor's registers common to both versions are set up here.
 */
#include "bulkhead/gic.h"

#define HYP_PRIORITY 0xa0

/* ---- No GIC ---- */

static void none_cpu(unsigned cpu)
{
    (void)cpu;
}

static uint32_t none_ack(void)
{
    return GIC_SPURIOUS;
}

static void none_iar(uint32_t iar)
{
    (void)iar;
}

static void none_irq_cpu(unsigned irq, unsigned pcpu)
{
    (void)irq;
    (void)pcpu;
}

static void none_nothing(void)
{
}

static unsigned none_nr_lrs(void)
{
    return 0;
}

static void none_write_lr(unsigned n, const struct lr_state *lr)
{
    (void)n;
    (void)lr;
}

static void none_read_lr(unsigned n, struct lr_state *lr)
{
    (void)n;
    *lr = (struct lr_state){0};
}

static void none_maint(bool on)
{
    (void)on;
}

static void none_if_save(struct gic_vcpu_if *s)
{
    *s = (struct gic_vcpu_if){0};
}

static void none_if_restore(const struct gic_vcpu_if *s)
{
    (void)s;
}

static const struct gic_ops none_ops = {
    .iar_intid_mask = 0xffffffff,
    .init = NULL, /* never called */
    .cpu_init = none_cpu,
    .ack = none_ack,
    .eoi = none_iar,
    .deactivate = none_iar,
    .clear_active = none_cpu,
    .set_active = none_cpu,
    .route_spi = none_irq_cpu,
    .send_sgi = none_irq_cpu,
    .before_wfi = none_nothing,
    .nr_lrs = none_nr_lrs,
    .vcpu_reset = none_nothing,
    .vcpu_if_save = none_if_save,
    .vcpu_if_restore = none_if_restore,
    .lr.write_lr = none_write_lr,
    .lr.read_lr = none_read_lr,
    .lr.set_underflow = none_maint,
    .lr.set_no_pending = none_maint,
};

/* ---- Set up once ---- */

const struct gic_ops *gic_impl = &none_ops;
struct vgic_hw_ops gic_lr_ops = {
    .write_lr = none_write_lr,
    .read_lr = none_read_lr,
    .set_underflow = none_maint,
    .set_no_pending = none_maint,
};
static uintptr_t dist;
static unsigned nr_irqs;          /* 0 without a GIC: gic_enable_spi() refuses every INTID */
static uint32_t hyp_private_irqs; /* bit n set: private INTID n is the hypervisor's own */

/* A PPI's IAR value is its INTID (only a GICv2 SGI's carries a source). An SPI may have been
 * acknowledged by another CPU than the one that lets it go: the distributor's register reaches
 * it from anywhere. */
static void deactivate_pintid(unsigned pintid)
{
    if (pintid >= 32) {
        gic_impl->clear_active(pintid);
    } else {
        gic_deactivate(pintid);
    }
}

void gic_init(const struct board_gic *gic, const struct board_cpu *cpus, unsigned nr_cpus,
              const struct gic_hyp_ppis *ppis)
{
    switch (gic->version) {
    case GIC_V2: gic_impl = &gicv2_ops; break;
    case GIC_V3: gic_impl = &gicv3_ops; break;
    default: return;
    }
    hyp_private_irqs = (uint32_t)(BIT(SGI_KICK) | BIT(ppis->maint + 16) |
                                  BIT(ppis->hyp_timer + 16) | BIT(ppis->virt_timer + 16));
    dist = (uintptr_t)gic->dist.base;
    nr_irqs = MIN(32 * ((gic_read32(dist + GICD_TYPER) & 0x1f) + 1), 1020u);
    gic_lr_ops = gic_impl->lr;
    gic_lr_ops.deactivate = deactivate_pintid;
    gic_impl->init(gic, cpus, nr_cpus);
}

void gic_dist_init_spis(uintptr_t d, uint32_t igroupr)
{
    for (unsigned i = 32; i < nr_irqs; i += 32) {
        gic_write32(d + GICD_ICENABLER + i / 8, 0xffffffff);
        gic_write32(d + GICD_ICACTIVER + i / 8, 0xffffffff);
        gic_write32(d + GICD_IGROUPR + i / 8, igroupr);
    }
    for (unsigned i = 32; i < nr_irqs; i += 4) {
        gic_write32(d + GICD_IPRIORITYR + i, 0x01010101u * HYP_PRIORITY);
    }
}

void gic_private_irqs_init(uintptr_t base)
{
    gic_write32(base + GICD_ICACTIVER, 0xffffffff);
    gic_write32(base + GICD_ICENABLER, 0xffffffff);
    for (unsigned i = 0; i < 32; i += 4) {
        gic_write32(base + GICD_IPRIORITYR + i, 0x01010101u * HYP_PRIORITY);
    }
    gic_write32(base + GICD_ISENABLER, hyp_private_irqs);
}

void gic_cpu_init(unsigned cpu)
{
    gic_impl->cpu_init(cpu);
}

/* gic_ack(), gic_eoi(), gic_deactivate(), gic_iar_intid(), gic_send_sgi() and
 * gic_before_wfi() are inline in bulkhead/gic.h. */

void gic_clear_active(unsigned intid)
{
    gic_impl->clear_active(intid);
}

void gic_set_active(unsigned intid)
{
    gic_impl->set_active(intid);
}

void gic_enable_spi(unsigned intid, unsigned pcpu)
{
    if (intid < 32 || intid >= nr_irqs) {
        return;
    }
    gic_impl->route_spi(intid, pcpu);
    gic_write32(dist + GICD_ISENABLER + (intid / 32) * 4, 1u << (intid % 32));
}

static bool is_spi(unsigned intid)
{
    return intid >= 32 && intid < nr_irqs;
}

static uintptr_t spi_bit_reg(uint32_t reg, unsigned intid)
{
    return dist + reg + (intid / 32) * 4;
}

void gic_spi_configure(unsigned intid, bool edge)
{
    uintptr_t reg = dist + GICD_ICFGR + (intid / 16) * 4;
    uint32_t bit = 2u << ((intid % 16) * 2);

    if (is_spi(intid)) {
        uint32_t v = gic_read32(reg);
        gic_write32(reg, edge ? v | bit : v & ~bit);
    }
}

void gic_spi_route(unsigned intid, unsigned pcpu)
{
    if (is_spi(intid)) {
        gic_impl->route_spi(intid, pcpu);
    }
}

void gic_spi_set_enabled(unsigned intid, bool on)
{
    if (is_spi(intid)) {
        gic_write32(spi_bit_reg(on ? GICD_ISENABLER : GICD_ICENABLER, intid), 1u << (intid % 32));
    }
}

void gic_spi_set_pending(unsigned intid)
{
    if (is_spi(intid)) {
        gic_write32(spi_bit_reg(GICD_ISPENDR, intid), 1u << (intid % 32));
    }
}

void gic_spi_quiesce(unsigned intid)
{
    if (is_spi(intid)) {
        gic_write32(spi_bit_reg(GICD_ICPENDR, intid), 1u << (intid % 32));
        gic_write32(spi_bit_reg(GICD_ICACTIVER, intid), 1u << (intid % 32));
    }
}

/* ---- The virtual CPU interface ---- */

unsigned gic_nr_lrs(void)
{
    return gic_impl->nr_lrs();
}

void gic_vcpu_reset(void)
{
    gic_impl->vcpu_reset();
}

void gic_vcpu_if_save(struct gic_vcpu_if *s)
{
    gic_impl->vcpu_if_save(s);
}

void gic_vcpu_if_restore(const struct gic_vcpu_if *s)
{
    gic_impl->vcpu_if_restore(s);
}
