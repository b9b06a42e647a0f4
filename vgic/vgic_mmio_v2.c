/*
 * The GICv2 distributor (IHI 0048B, 4.3 "Distributor register descriptions"): its register
 * table. The per-interrupt registers, GICD_CTLR and GICD_IIDR are shared with GICv3
 * (vgic_mmio.c); GICD_ITARGETSR, GICD_SGIR and GICD_{C,S}PENDSGIR are GICv2's own. Pure.
 */
#include "vgic_mmio.h"

#define GICD_ITARGETSR 0x800
#define GICD_SGIR 0xf00
#define GICD_CPENDSGIR 0xf10
#define GICD_SPENDSGIR 0xf20
#define GICD_PIDR2 0xfe8

#define TYPER_CPU_NUMBER_SHIFT 5
#define PIDR2_ARCHREV_2 0x2b

static uint64_t read_typer(const struct vgic_access *a)
{
    return vgic_mmio_it_lines(a->d) | (uint64_t)(a->d->nr_vcpus - 1) << TYPER_CPU_NUMBER_SHIFT;
}

/* GICD_SGIR: the SGIs asked for, to the vCPUs its filter and target list name. Lock held. */
static void send_sgir(struct vgic_dist *d, unsigned cpu, uint64_t val)
{
    unsigned filter = (unsigned)BITS(val, 25, 24);
    unsigned targets = (unsigned)BITS(val, 23, 16);

    if (filter == 1) {
        targets = ~(1u << cpu);
    } else if (filter == 2) {
        targets = 1u << cpu;
    } else if (filter == 3) {
        return; /* reserved */
    }
    vgic_send_sgis_locked(d, cpu, targets, (unsigned)(val & 0xf));
}

static void write_sgir(const struct vgic_access *a, uint64_t val)
{
    send_sgir(a->d, a->cpu, val);
}

/* GICD_{C,S}PENDSGIR, one entry: a byte per SGI of the accessing vCPU, a bit per source. */
static uint64_t read_sgi_pend(const struct vgic_access *a)
{
    unsigned first = (unsigned)(a->offset & 0xf);
    uint64_t val = 0;

    for (unsigned i = 0; i < a->size && first + i < VGIC_NR_SGIS; i++) {
        const struct virq *irq = vgic_get_irq(a->d, a->cpu, first + i);
        val |= (uint64_t)irq->sgi_sources << (8 * i);
    }
    return val;
}

static void write_sgi_pend(const struct vgic_access *a, uint64_t val)
{
    struct vgic_dist *d = a->d;
    unsigned first = (unsigned)(a->offset & 0xf);
    bool set = a->offset >= GICD_SPENDSGIR;

    for (unsigned i = 0; i < a->size && first + i < VGIC_NR_SGIS; i++) {
        struct virq *irq = vgic_get_irq(d, a->cpu, first + i);
        uint8_t bits = (uint8_t)((val >> (8 * i)) & ((1u << d->nr_vcpus) - 1));
        if (!set) {
            irq->sgi_sources &= (uint8_t)~bits;
        } else if (bits) {
            irq->sgi_sources |= bits;
            vgic_mark_maybe_live(d, a->cpu, irq);
            vgic_mmio_kick(d, (int)a->cpu);
        }
    }
}

static uint64_t read_pidr2(const struct vgic_access *a)
{
    (void)a;
    return PIDR2_ARCHREV_2;
}

#define W32 VGIC_ACC_32
#define W8_32 (VGIC_ACC_8 | VGIC_ACC_32)

/* Sorted by offset. What is not here is RAZ/WI. */
static const struct vgic_reg dist_regs[] = {
    VGIC_REG(GICD_CTLR, 4, W32, vgic_mmio_read_ctlr, vgic_mmio_write_ctlr),
    VGIC_REG_CONST(GICD_TYPER, 4, W32, read_typer),
    VGIC_REG_CONST(GICD_IIDR, 4, W32, vgic_mmio_read_iidr),
    VGIC_REG_IRQS(GICD_IGROUPR, VGIC_F_GROUP, 1, W32, VGIC_IRQS_ALL),
    VGIC_REG_IRQS(GICD_ISENABLER, VGIC_F_SET_ENABLE, 1, W32, VGIC_IRQS_ALL),
    VGIC_REG_IRQS(GICD_ICENABLER, VGIC_F_CLR_ENABLE, 1, W32, VGIC_IRQS_SGIS_WI),
    VGIC_REG_IRQS(GICD_ISPENDR, VGIC_F_SET_PEND, 1, W32, VGIC_IRQS_SGIS_WI),
    VGIC_REG_IRQS(GICD_ICPENDR, VGIC_F_CLR_PEND, 1, W32, VGIC_IRQS_SGIS_WI),
    VGIC_REG_IRQS(GICD_ISACTIVER, VGIC_F_SET_ACTIVE, 1, W32, VGIC_IRQS_ALL),
    VGIC_REG_IRQS(GICD_ICACTIVER, VGIC_F_CLR_ACTIVE, 1, W32, VGIC_IRQS_ALL),
    VGIC_REG_IRQS(GICD_IPRIORITYR, VGIC_F_PRIORITY, 8, W8_32, VGIC_IRQS_ALL),
    VGIC_REG_IRQS(GICD_ITARGETSR, VGIC_F_TARGETS, 8, W8_32, VGIC_IRQS_ALL),
    VGIC_REG_IRQS(GICD_ICFGR, VGIC_F_CONFIG, 2, W32, VGIC_IRQS_ALL),
    VGIC_REG(GICD_SGIR, 4, W32, NULL, write_sgir),
    VGIC_REG(GICD_CPENDSGIR, 0x20, VGIC_ACC_ANY, read_sgi_pend, write_sgi_pend),
    VGIC_REG_CONST(GICD_PIDR2, 4, W32, read_pidr2),
};

static const struct vgic_frame dist_frame = VGIC_FRAME(dist_regs);

bool vgic_v2_dist_read(struct vgic_dist *d, unsigned cpu, uint64_t offset, unsigned size,
                       uint64_t *val)
{
    vgic_mmio_read(d, cpu, &dist_frame, offset, size, val);
    return true;
}

bool vgic_v2_dist_write(struct vgic_dist *d, unsigned cpu, uint64_t offset, unsigned size,
                        uint64_t val)
{
    /* An IPI's send, first and without the table's lookup: its latency waits on it. Without the
     * generation's bump of the table's writes: an SGI concerns only its targets, which
     * vgic_send_sgis_locked() marks changed, so neither the sender's next entry nor another
     * vCPU's need look at anything else. */
    if (offset == GICD_SGIR && size == 4) {
        spin_lock(&d->lock);
        send_sgir(d, cpu, val);
        vgic_unlock_and_kick(d);
        return true;
    }
    vgic_mmio_write(d, cpu, &dist_frame, offset, size, val);
    return true;
}
