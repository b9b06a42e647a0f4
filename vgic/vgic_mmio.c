/*
 * Distributor and redistributor register emulation, the part both GIC versions share (GICv2 and
 * GICv3 architecture specs, "GIC Distributor / Redistributor register descriptions"): the
 * lookup of an access in a frame's register table, the per-interrupt registers and GICD_CTLR
 * and GICD_IIDR. The tables are in vgic_mmio_v2.c and vgic_mmio_v3.c. Pure.
 */
#include "vgic_mmio.h"

#define IIDR_BULKHEAD 0x0000043bu /* Arm's JEP106 code: guests treat it as a generic GIC */
#define CTLR_ENABLE_GRP0 BIT(0)
#define CTLR_ENABLE_GRP1 BIT(1)
#define PRIORITY_MASK ((uint8_t)(0xff << (8 - VGIC_PRIO_BITS)))

/* The register holding offset, if any: a binary search of the frame's table (sorted by offset)
 * for the last register starting at or below offset, then whether offset is within it. */
static const struct vgic_reg *find_reg(const struct vgic_frame *f, uint64_t offset)
{
    const struct vgic_reg *r = f->regs;

    for (unsigned n = f->nr_regs; n > 1; n -= n / 2) {
        if (r[n / 2].offset <= offset) {
            r += n / 2;
        }
    }
    return offset >= r->offset && offset - r->offset < r->len ? r : NULL;
}

/* A size the register takes, the access within it. No alignment is asked for: a word of a
 * per-interrupt bank at any byte offset covers the interrupts from that byte on. */
static bool access_fits(const struct vgic_reg *r, uint64_t offset, unsigned size)
{
    bool one_size = size && size <= 8 && !(size & (size - 1));
    return one_size && (r->widths & size) && offset + size - r->offset <= r->len;
}

void vgic_mmio_read(struct vgic_dist *d, unsigned cpu, const struct vgic_frame *f, uint64_t offset,
                    unsigned size, uint64_t *val)
{
    const struct vgic_reg *r = find_reg(f, offset);

    *val = 0;
    if (!r || !r->read || !access_fits(r, offset, size)) {
        return;
    }
    const struct vgic_access a = {d, cpu, r, offset, size};
    if (r->constant) {
        *val = r->read(&a);
        return;
    }
    spin_lock(&d->lock);
    *val = r->read(&a);
    spin_unlock(&d->lock);
}

void vgic_mmio_write(struct vgic_dist *d, unsigned cpu, const struct vgic_frame *f, uint64_t offset,
                     unsigned size, uint64_t val)
{
    const struct vgic_reg *r = find_reg(f, offset);

    spin_lock(&d->lock);
    if (r && r->write && access_fits(r, offset, size)) {
        const struct vgic_access a = {d, cpu, r, offset, size};
        r->write(&a, val);
    }
    d->generation++;
    vgic_unlock_and_kick(d);
}

/* ---- Per-interrupt registers ---- */

static uint64_t field_get(unsigned cpu, const struct virq *irq, enum vgic_irq_field f)
{
    switch (f) {
    case VGIC_F_GROUP: return irq->group1;
    case VGIC_F_SET_ENABLE:
    case VGIC_F_CLR_ENABLE: return irq->enabled;
    case VGIC_F_SET_PEND:
    case VGIC_F_CLR_PEND: return virq_pending(irq);
    case VGIC_F_SET_ACTIVE:
    case VGIC_F_CLR_ACTIVE: return irq->active;
    case VGIC_F_PRIORITY: return irq->priority;
    case VGIC_F_TARGETS:
        /* A private interrupt's byte reads as the accessing CPU's own bit. */
        return irq->intid < VGIC_NR_PRIVATE ? (1u << cpu) : irq->targets;
    case VGIC_F_CONFIG: return irq->level ? 0 : 2;
    default: return 0;
    }
}

/* A linked SPI made pending by the guest is made pending at the physical distributor, and
 * comes back through it like one the device raised: a hardware-linked interrupt injected without
 * its physical one active would have the guest's EOI deactivate nothing. */
static void pend(const struct vgic_dist *d, struct virq *irq)
{
    if (virq_linked_spi(irq) && d->phys) {
        d->phys->pend(d->phys_ctx, irq->pintid);
    } else {
        irq->pending_latch = true;
    }
}

/* A linked SPI the guest no longer has pending or active, outside any list register: its
 * physical interrupt, active since it was injected, must be let go here. */
static void release_linked_spi(const struct vgic_dist *d, struct virq *irq)
{
    if (irq->intid >= VGIC_NR_PRIVATE && irq->phys_active && irq->lr < 0 && d->phys) {
        d->phys->deactivate(d->phys_ctx, irq->pintid);
        irq->phys_active = false;
    }
}

/* Applies one interrupt's share v of a register write. */
static void field_set(const struct vgic_dist *d, struct virq *irq, enum vgic_irq_field f,
                      uint64_t v)
{
    switch (f) {
    case VGIC_F_GROUP: irq->group1 = v & 1; break;
    case VGIC_F_SET_ENABLE: irq->enabled |= (v & 1); break;
    case VGIC_F_CLR_ENABLE:
        if (v & 1) {
            irq->enabled = false;
        }
        break;
    case VGIC_F_SET_PEND:
        if (v & 1) {
            pend(d, irq);
        }
        break;
    case VGIC_F_CLR_PEND:
        if (v & 1) {
            irq->pending_latch = false;
            irq->sgi_sources = 0;
            irq->lr_clear_pending = irq->lr >= 0;
            if (!irq->active) {
                release_linked_spi(d, irq);
            }
        }
        break;
    case VGIC_F_SET_ACTIVE: irq->active |= (v & 1); break;
    case VGIC_F_CLR_ACTIVE:
        if (v & 1) {
            irq->active = false;
            irq->lr_clear_active = irq->lr >= 0;
            release_linked_spi(d, irq);
        }
        break;
    case VGIC_F_PRIORITY: irq->priority = (uint8_t)v & PRIORITY_MASK; break;
    case VGIC_F_TARGETS:
        /* The private interrupts' bytes are read-only. */
        if (irq->intid >= VGIC_NR_PRIVATE) {
            irq->targets = (uint8_t)(v & ((1u << d->nr_vcpus) - 1));
            vgic_route_linked_spi(d, irq);
        }
        break;
    case VGIC_F_CONFIG:
        /* SGIs are always edge-triggered; the Int_config[0] bit is reserved. */
        if (irq->intid >= VGIC_NR_SGIS) {
            irq->level = !(v & 2);
        }
        break;
    default: break;
    }
}

/* The interrupt of INTID intid if the access's register reaches it, else NULL. */
static struct virq *reg_irq(const struct vgic_access *a, unsigned intid)
{
    if ((a->reg->irqs & VGIC_IRQS_SHARED) && intid < VGIC_NR_PRIVATE) {
        return NULL;
    }
    if ((a->reg->irqs & VGIC_IRQS_PRIVATE) && intid >= VGIC_NR_PRIVATE) {
        return NULL;
    }
    return vgic_get_irq(a->d, a->cpu, intid);
}

/* The first INTID of an access to a per-interrupt register. */
static unsigned first_intid(const struct vgic_access *a)
{
    return (unsigned)((a->offset - a->reg->offset) * 8 / a->reg->bits_per_irq);
}

uint64_t vgic_mmio_read_irqs(const struct vgic_access *a)
{
    const struct vgic_reg *r = a->reg;
    unsigned first = first_intid(a);
    unsigned count = a->size * 8 / r->bits_per_irq;
    uint64_t mask = (1ULL << r->bits_per_irq) - 1;
    uint64_t val = 0;

    for (unsigned i = 0; i < count; i++) {
        const struct virq *irq = reg_irq(a, first + i);
        if (irq) {
            val |= (field_get(a->cpu, irq, r->field) & mask) << (i * r->bits_per_irq);
        }
    }
    return val;
}

void vgic_mmio_write_irqs(const struct vgic_access *a, uint64_t val)
{
    const struct vgic_reg *r = a->reg;
    struct vgic_dist *d = a->d;
    unsigned first = first_intid(a);
    unsigned count = a->size * 8 / r->bits_per_irq;
    uint64_t mask = (1ULL << r->bits_per_irq) - 1;
    bool set_clear = r->bits_per_irq == 1 && r->field != VGIC_F_GROUP;

    for (unsigned i = 0; i < count; i++) {
        unsigned intid = first + i;
        struct virq *irq = reg_irq(a, intid);
        uint64_t v = (val >> (i * r->bits_per_irq)) & mask;
        if (!irq || (set_clear && !v)) {
            continue; /* writing 0 to a set/clear register has no effect */
        }
        int was_active_on = irq->active_cpu;
        if (!((r->irqs & VGIC_IRQS_SGIS_WI) && intid < VGIC_NR_SGIS)) {
            field_set(d, irq, r->field, v);
        }
        vgic_mark_maybe_live(d, a->cpu, irq);
        if (vgic_wants_attention(d, irq) || irq->lr_clear_pending || irq->lr_clear_active) {
            /* Newly deliverable, or cleared in a list register that must be synced. */
            vgic_mmio_kick(d, vgic_irq_owner(d, a->cpu, irq));
        }
        if (r->field == VGIC_F_TARGETS) {
            /* Re-routed while active there: that vCPU must sync to let it go. */
            vgic_mmio_kick(d, was_active_on);
        }
    }
}

/* ---- GICD_CTLR, GICD_IIDR ---- */

uint64_t vgic_mmio_read_ctlr(const struct vgic_access *a)
{
    const struct vgic_dist *d = a->d;

    return (d->enable_grp0 ? CTLR_ENABLE_GRP0 : 0) | (d->enable_grp1 ? CTLR_ENABLE_GRP1 : 0);
}

void vgic_mmio_write_ctlr(const struct vgic_access *a, uint64_t val)
{
    struct vgic_dist *d = a->d;
    bool was_grp0 = d->enable_grp0, was_grp1 = d->enable_grp1;

    d->enable_grp0 = val & CTLR_ENABLE_GRP0;
    d->enable_grp1 = val & CTLR_ENABLE_GRP1;
    if ((!was_grp0 && d->enable_grp0) || (!was_grp1 && d->enable_grp1)) {
        for (unsigned c = 0; c < d->nr_vcpus; c++) {
            vgic_mmio_kick(d, (int)c);
        }
    }
}

uint64_t vgic_mmio_read_iidr(const struct vgic_access *a)
{
    (void)a;
    return IIDR_BULKHEAD;
}
