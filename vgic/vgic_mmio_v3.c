/*
 * The GICv3 distributor and redistributors (IHI 0069, 12.9 "The GIC Distributor register
 * descriptions", 12.10 and 12.11 for the redistributor's RD and SGI frames): their register
 * tables, and ICC_SGI1R_EL1. Affinity routing is always on: the distributor's registers of SGIs
 * and PPIs are RAZ/WI, the redistributors' SGI frames hold them. No LPIs. Pure.
 */
#include "vgic_mmio.h"

#define GICD_IROUTER 0x6000
#define GICD_PIDR2 0xffe8

#define GICR_IIDR 0x0004
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_PIDR2 0xffe8
#define GICR_SGI_FRAME 0x10000 /* the SGI frame's registers are at the GICD_* offsets */

#define CTLR_ARE BIT(4)
#define CTLR_DS BIT(6)
#define TYPER_IDBITS_10 (9u << 19)
#define GICR_TYPER_LAST BIT(4)
#define WAKER_PROCESSOR_SLEEP BIT(1)
#define WAKER_CHILDREN_ASLEEP BIT(2)
#define IROUTER_MASK 0x000000ff80ffffffULL /* Aff3, IRM, Aff2, Aff1, Aff0 */
#define IROUTER_FIRST (GICD_IROUTER + 8 * VGIC_NR_PRIVATE)
#define IROUTER_LEN (8 * (1020 - VGIC_NR_PRIVATE)) /* SPIs 32 to 1019 */
#define PIDR2_ARCHREV_3 0x3b

#define W32 VGIC_ACC_32
#define W32_64 (VGIC_ACC_32 | VGIC_ACC_64)
#define W8_32 (VGIC_ACC_8 | VGIC_ACC_32)

static uint64_t read_pidr2(const struct vgic_access *a)
{
    (void)a;
    return PIDR2_ARCHREV_3;
}

/* ---- Distributor ---- */

/* Affinity routing and the single security state are fixed: ARE and DS read as one. */
static uint64_t read_ctlr(const struct vgic_access *a)
{
    return vgic_mmio_read_ctlr(a) | CTLR_ARE | CTLR_DS;
}

/* IDbits: 10-bit INTIDs, no LPIs. CPUNumber is 0: affinity routing only. */
static uint64_t read_typer(const struct vgic_access *a)
{
    return vgic_mmio_it_lines(a->d) | TYPER_IDBITS_10;
}

/* GICD_IROUTER<n>: a doubleword per SPI, also accessed as two words. */
static struct virq *irouter_irq(const struct vgic_access *a)
{
    return vgic_get_irq(a->d, a->cpu, (unsigned)((a->offset - GICD_IROUTER) / 8));
}

static unsigned irouter_shift(const struct vgic_access *a)
{
    return (a->offset & 4) ? 32 : 0;
}

static uint64_t read_irouter(const struct vgic_access *a)
{
    const struct virq *irq = irouter_irq(a);

    if (!irq) {
        return 0;
    }
    return a->size == 8 ? irq->irouter : (uint32_t)(irq->irouter >> irouter_shift(a));
}

static void write_irouter(const struct vgic_access *a, uint64_t val)
{
    struct vgic_dist *d = a->d;
    struct virq *irq = irouter_irq(a);
    unsigned shift = irouter_shift(a);

    if (!irq) {
        return;
    }
    uint64_t keep = a->size == 8 ? 0 : ~(0xffffffffULL << shift);
    irq->irouter = ((irq->irouter & keep) | (val << shift)) & IROUTER_MASK;
    vgic_route_linked_spi(d, irq);
    /* Re-routed while active there: that vCPU must sync to let it go. */
    vgic_mmio_kick(d, irq->active_cpu);
    if (vgic_wants_attention(d, irq)) {
        vgic_mmio_kick(d, vgic_irq_owner(d, a->cpu, irq));
    }
}

/* Sorted by offset. What is not here is RAZ/WI, GICD_ITARGETSR included. */
static const struct vgic_reg dist_regs[] = {
    VGIC_REG(GICD_CTLR, 4, W32, read_ctlr, vgic_mmio_write_ctlr),
    VGIC_REG_CONST(GICD_TYPER, 4, W32, read_typer),
    VGIC_REG_CONST(GICD_IIDR, 4, W32, vgic_mmio_read_iidr),
    VGIC_REG_IRQS(GICD_IGROUPR, VGIC_F_GROUP, 1, W32, VGIC_IRQS_SHARED),
    VGIC_REG_IRQS(GICD_ISENABLER, VGIC_F_SET_ENABLE, 1, W32, VGIC_IRQS_SHARED),
    VGIC_REG_IRQS(GICD_ICENABLER, VGIC_F_CLR_ENABLE, 1, W32, VGIC_IRQS_SHARED),
    VGIC_REG_IRQS(GICD_ISPENDR, VGIC_F_SET_PEND, 1, W32, VGIC_IRQS_SHARED),
    VGIC_REG_IRQS(GICD_ICPENDR, VGIC_F_CLR_PEND, 1, W32, VGIC_IRQS_SHARED),
    VGIC_REG_IRQS(GICD_ISACTIVER, VGIC_F_SET_ACTIVE, 1, W32, VGIC_IRQS_SHARED),
    VGIC_REG_IRQS(GICD_ICACTIVER, VGIC_F_CLR_ACTIVE, 1, W32, VGIC_IRQS_SHARED),
    VGIC_REG_IRQS(GICD_IPRIORITYR, VGIC_F_PRIORITY, 8, W8_32, VGIC_IRQS_SHARED),
    VGIC_REG_IRQS(GICD_ICFGR, VGIC_F_CONFIG, 2, W32, VGIC_IRQS_SHARED),
    VGIC_REG(IROUTER_FIRST, IROUTER_LEN, W32_64, read_irouter, write_irouter),
    VGIC_REG_CONST(GICD_PIDR2, 4, W32, read_pidr2),
};

static const struct vgic_frame dist_frame = VGIC_FRAME(dist_regs);

bool vgic_v3_dist_read(struct vgic_dist *d, unsigned cpu, uint64_t offset, unsigned size,
                       uint64_t *val)
{
    vgic_mmio_read(d, cpu, &dist_frame, offset, size, val);
    return true;
}

bool vgic_v3_dist_write(struct vgic_dist *d, unsigned cpu, uint64_t offset, unsigned size,
                        uint64_t val)
{
    vgic_mmio_write(d, cpu, &dist_frame, offset, size, val);
    return true;
}

/* ---- Redistributor: RD frame ---- */

/* Affinity: Aff0 = vCPU index; Processor_Number = index; Last on the last redistributor. */
static uint64_t read_gicr_typer(const struct vgic_access *a)
{
    uint64_t v = ((uint64_t)a->cpu << 32) | ((uint64_t)a->cpu << 8);

    if (a->cpu == a->d->nr_vcpus - 1) {
        v |= GICR_TYPER_LAST;
    }
    if (a->size == 8) {
        return v;
    }
    /* Either word, at a word boundary. */
    return (a->offset & 3) ? 0 : (uint32_t)(v >> (8 * (a->offset - GICR_TYPER)));
}

static uint64_t read_waker(const struct vgic_access *a)
{
    bool asleep = a->d->cpus[a->cpu]->redist_waker_asleep;

    return asleep ? (WAKER_PROCESSOR_SLEEP | WAKER_CHILDREN_ASLEEP) : 0;
}

static void write_waker(const struct vgic_access *a, uint64_t val)
{
    a->d->cpus[a->cpu]->redist_waker_asleep = val & WAKER_PROCESSOR_SLEEP;
}

/* Sorted by offset. What is not here is RAZ/WI, GICR_CTLR included (no LPIs). */
static const struct vgic_reg rd_regs[] = {
    VGIC_REG_CONST(GICR_IIDR, 4, W32, vgic_mmio_read_iidr),
    VGIC_REG_CONST(GICR_TYPER, 8, W32_64, read_gicr_typer),
    VGIC_REG(GICR_WAKER, 4, W32, read_waker, write_waker),
    VGIC_REG_CONST(GICR_PIDR2, 4, W32, read_pidr2),
};

/* ---- Redistributor: SGI frame ---- */

/* The distributor's per-interrupt registers, of the redistributor's own SGIs and PPIs. */
static const struct vgic_reg sgi_regs[] = {
    VGIC_REG_IRQS(GICD_IGROUPR, VGIC_F_GROUP, 1, W32, VGIC_IRQS_PRIVATE),
    VGIC_REG_IRQS(GICD_ISENABLER, VGIC_F_SET_ENABLE, 1, W32, VGIC_IRQS_PRIVATE),
    VGIC_REG_IRQS(GICD_ICENABLER, VGIC_F_CLR_ENABLE, 1, W32, VGIC_IRQS_PRIVATE),
    VGIC_REG_IRQS(GICD_ISPENDR, VGIC_F_SET_PEND, 1, W32, VGIC_IRQS_PRIVATE),
    VGIC_REG_IRQS(GICD_ICPENDR, VGIC_F_CLR_PEND, 1, W32, VGIC_IRQS_PRIVATE),
    VGIC_REG_IRQS(GICD_ISACTIVER, VGIC_F_SET_ACTIVE, 1, W32, VGIC_IRQS_PRIVATE),
    VGIC_REG_IRQS(GICD_ICACTIVER, VGIC_F_CLR_ACTIVE, 1, W32, VGIC_IRQS_PRIVATE),
    VGIC_REG_IRQS(GICD_IPRIORITYR, VGIC_F_PRIORITY, 8, W8_32, VGIC_IRQS_PRIVATE),
    VGIC_REG_IRQS(GICD_ICFGR, VGIC_F_CONFIG, 2, W32, VGIC_IRQS_PRIVATE),
};

static const struct vgic_frame rd_frame = VGIC_FRAME(rd_regs);
static const struct vgic_frame sgi_frame = VGIC_FRAME(sgi_regs);

static bool redist_present(const struct vgic_dist *d, unsigned target)
{
    return target < d->nr_vcpus && d->cpus[target];
}

/* The frame an offset into a redistributor falls in; offset becomes the offset in it. */
static const struct vgic_frame *redist_frame(uint64_t *offset)
{
    if (*offset < GICR_SGI_FRAME) {
        return &rd_frame;
    }
    *offset -= GICR_SGI_FRAME;
    return &sgi_frame;
}

bool vgic_v3_redist_read(struct vgic_dist *d, unsigned target, uint64_t offset, unsigned size,
                         uint64_t *val)
{
    if (!redist_present(d, target)) {
        *val = 0;
        return false;
    }
    const struct vgic_frame *f = redist_frame(&offset);
    vgic_mmio_read(d, target, f, offset, size, val);
    return true;
}

bool vgic_v3_redist_write(struct vgic_dist *d, unsigned target, uint64_t offset, unsigned size,
                          uint64_t val)
{
    if (!redist_present(d, target)) {
        return false;
    }
    const struct vgic_frame *f = redist_frame(&offset);
    vgic_mmio_write(d, target, f, offset, size, val);
    return true;
}

/* ---- ICC_SGI1R_EL1 ---- */

void vgic_v3_sgi1r_write(struct vgic_dist *d, unsigned cpu, uint64_t val)
{
    unsigned sgi = (unsigned)BITS(val, 27, 24);
    uint64_t aff321 = BITS(val, 23, 16) | (BITS(val, 39, 32) << 8) | (BITS(val, 55, 48) << 16);
    unsigned range = (unsigned)BITS(val, 47, 44);
    uint32_t targets;

    if (val & BIT(40)) {
        targets = ~(1u << cpu); /* all but self */
    } else if (aff321 == 0 && range * 16 < MAX_VCPUS) {
        /* Our vCPUs have Aff0 = index and Aff1-3 = 0: the list's bit n is vCPU 16 * range + n. */
        targets = (uint32_t)BITS(val, 15, 0) << (range * 16);
    } else {
        return; /* no vCPU of ours has that affinity */
    }
    vgic_send_sgis(d, cpu, targets, sgi);
}
