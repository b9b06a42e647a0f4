/*
 * Distributor and redistributor register emulation (GICv2 and GICv3 architecture specs,
 * "GIC Distributor / Redistributor register descriptions"). Pure. Reserved and unimplemented
 * registers read as zero and ignore writes, as the architecture requires of RES0 space.
 */
#include "bulkhead/vgic.h"

enum irq_field {
    F_GROUP,
    F_SET_ENABLE,
    F_CLR_ENABLE,
    F_SET_PEND,
    F_CLR_PEND,
    F_SET_ACTIVE,
    F_CLR_ACTIVE,
    F_PRIORITY,
    F_TARGETS,
    F_CONFIG,
};

struct irq_reg {
    uint32_t base;
    uint32_t len;
    enum irq_field field;
    uint8_t bits; /* per interrupt */
};

/* Common layout of GICD_* (per-interrupt registers) and the GICR SGI frame. */
static const struct irq_reg irq_regs[] = {
    { 0x080, 0x80, F_GROUP, 1 },       { 0x100, 0x80, F_SET_ENABLE, 1 },
    { 0x180, 0x80, F_CLR_ENABLE, 1 },  { 0x200, 0x80, F_SET_PEND, 1 },
    { 0x280, 0x80, F_CLR_PEND, 1 },    { 0x300, 0x80, F_SET_ACTIVE, 1 },
    { 0x380, 0x80, F_CLR_ACTIVE, 1 },  { 0x400, 0x400, F_PRIORITY, 8 },
    { 0x800, 0x400, F_TARGETS, 8 },    { 0xc00, 0x100, F_CONFIG, 2 },
};

#define GICD_CTLR 0x000
#define GICD_TYPER 0x004
#define GICD_IIDR 0x008
#define GICD_TYPER2 0x00c
#define GICD_SGIR 0xf00
#define GICD_CPENDSGIR 0xf10
#define GICD_SPENDSGIR 0xf20
#define GICD_IROUTER 0x6000
#define GICV2_PIDR2 0xfe8
#define GICV3_PIDR2 0xffe8

#define GICR_CTLR 0x0000
#define GICR_IIDR 0x0004
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_SGI_FRAME 0x10000

#define IIDR_BULKHEAD 0x0000043bu /* Arm's JEP106 code: guests treat it as a generic GIC */
#define CTLR_ENABLE_GRP0 BIT(0)
#define CTLR_ENABLE_GRP1 BIT(1)
#define CTLR_ARE BIT(4)
#define CTLR_DS BIT(6)
#define WAKER_PROCESSOR_SLEEP BIT(1)
#define WAKER_CHILDREN_ASLEEP BIT(2)
#define IROUTER_MASK 0x000000ff80ffffffULL /* Aff3, IRM, Aff2, Aff1, Aff0 */
#define PRIORITY_MASK ((uint8_t)(0xff << (8 - VGIC_PRIO_BITS)))

static const struct irq_reg *find_irq_reg(uint64_t offset)
{
    for (unsigned i = 0; i < ARRAY_SIZE(irq_regs); i++) {
        if (offset >= irq_regs[i].base && offset < irq_regs[i].base + irq_regs[i].len) {
            return &irq_regs[i];
        }
    }
    return NULL;
}

static bool v2_sgi(const struct vgic_dist *d, const struct virq *irq)
{
    return d->version == GIC_V2 && irq->intid < VGIC_NR_SGIS;
}

static uint64_t field_get(const struct vgic_dist *d, unsigned cpu, const struct virq *irq,
                          enum irq_field f)
{
    switch (f) {
    case F_GROUP:
        return irq->group1;
    case F_SET_ENABLE:
    case F_CLR_ENABLE:
        return irq->enabled;
    case F_SET_PEND:
    case F_CLR_PEND:
        return virq_pending(irq);
    case F_SET_ACTIVE:
    case F_CLR_ACTIVE:
        return irq->active;
    case F_PRIORITY:
        return irq->priority;
    case F_TARGETS:
        if (d->version != GIC_V2) {
            return 0;
        }
        return irq->intid < VGIC_NR_PRIVATE ? (1u << cpu) : irq->targets;
    case F_CONFIG:
        return irq->level ? 0 : 2;
    default:
        return 0;
    }
}

/* Applies one interrupt's share of a register write. Returns true if it may now be taken. */
static bool field_set(struct vgic_dist *d, struct virq *irq, enum irq_field f, uint64_t v)
{
    switch (f) {
    case F_GROUP:
        irq->group1 = v & 1;
        break;
    case F_SET_ENABLE:
        /* GICv2 SGIs are always enabled: their enable bits are RAO/WI. */
        irq->enabled |= (v & 1);
        break;
    case F_CLR_ENABLE:
        if ((v & 1) && !(d->version == GIC_V2 && irq->intid < VGIC_NR_SGIS)) {
            irq->enabled = false;
        }
        break;
    case F_SET_PEND:
        /* GICv2 SGIs are made pending through GICD_SPENDSGIR, with a source. */
        if ((v & 1) && !v2_sgi(d, irq)) {
            irq->pending_latch = true;
        }
        break;
    case F_CLR_PEND:
        if ((v & 1) && !v2_sgi(d, irq)) {
            irq->pending_latch = false;
            irq->sgi_sources = 0;
        }
        break;
    case F_SET_ACTIVE:
        irq->active |= (v & 1);
        break;
    case F_CLR_ACTIVE:
        if (v & 1) {
            irq->active = false;
        }
        break;
    case F_PRIORITY:
        irq->priority = (uint8_t)v & PRIORITY_MASK;
        break;
    case F_TARGETS:
        if (d->version == GIC_V2 && irq->intid >= VGIC_NR_PRIVATE) {
            irq->targets = (uint8_t)(v & ((1u << d->nr_vcpus) - 1));
        }
        break;
    case F_CONFIG:
        /* SGIs are always edge-triggered; the Int_config[0] bit is reserved. */
        if (irq->intid >= VGIC_NR_SGIS) {
            irq->level = !(v & 2);
        }
        break;
    default:
        break;
    }
    return vgic_wants_attention(d, irq);
}

static bool size_ok(const struct irq_reg *r, unsigned size)
{
    /* Byte-wide fields take byte and word accesses; bitmaps and ICFGR words only. */
    return r->bits == 8 ? (size == 1 || size == 4) : size == 4;
}

/* IRQs [first, first+count) of the access; private_only for the GICR SGI frame, shared_only for
 * a GICv3 distributor (whose SGI/PPI registers are RAZ/WI under affinity routing). */
static void irq_reg_access(struct vgic_dist *d, unsigned cpu, const struct irq_reg *r,
                           uint64_t offset, unsigned size, uint64_t *val, bool write,
                           bool private_only, bool shared_only)
{
    unsigned first = (unsigned)((offset - r->base) * 8 / r->bits);
    unsigned count = size * 8 / r->bits;
    uint64_t mask = (1ULL << r->bits) - 1;

    if (!write) {
        *val = 0;
    }
    if (!size_ok(r, size)) {
        return;
    }
    for (unsigned i = 0; i < count; i++) {
        unsigned intid = first + i;
        struct virq *irq = vgic_get_irq(d, cpu, intid);
        if (!irq || (private_only && intid >= VGIC_NR_PRIVATE) ||
            (shared_only && intid < VGIC_NR_PRIVATE)) {
            continue;
        }
        unsigned shift = i * r->bits;
        if (!write) {
            *val |= (field_get(d, cpu, irq, r->field) & mask) << shift;
            continue;
        }
        uint64_t v = (*val >> shift) & mask;
        bool bitmap_clear_noop = r->bits == 1 && r->field != F_GROUP && !v;
        if (bitmap_clear_noop) {
            continue; /* writing 0 to a set/clear register has no effect */
        }
        int was_active_on = irq->active_cpu;
        bool attention = field_set(d, irq, r->field, v);
        vgic_mark_maybe_live(d, irq);
        if (attention && d->kick) {
            int owner = vgic_irq_owner(d, cpu, irq);
            if (owner >= 0) {
                d->kick(d->kick_ctx, (unsigned)owner);
            }
        }
        if (was_active_on >= 0 && d->kick && r->field == F_TARGETS) {
            /* Re-routed while active there: that vCPU must sync to let it go. */
            d->kick(d->kick_ctx, (unsigned)was_active_on);
        }
    }
}

static void v2_sgir_write(struct vgic_dist *d, unsigned cpu, uint32_t v)
{
    unsigned filter = (unsigned)BITS(v, 25, 24);
    unsigned targets = (unsigned)BITS(v, 23, 16);
    unsigned all = (1u << d->nr_vcpus) - 1;

    if (filter == 1) {
        targets = all & ~(1u << cpu);
    } else if (filter == 2) {
        targets = 1u << cpu;
    } else if (filter == 3) {
        return; /* reserved */
    }
    targets &= all;
    for (unsigned t = 0; t < d->nr_vcpus; t++) {
        if (targets & (1u << t)) {
            vgic_send_sgi_locked(d, cpu, t, v & 0xf);
        }
    }
}

/* GICD_{C,S}PENDSGIR: a byte per SGI, a bit per source vCPU. */
static void v2_sgi_pend_access(struct vgic_dist *d, unsigned cpu, uint64_t offset, unsigned size,
                               uint64_t *val, bool write, bool set)
{
    unsigned first = (unsigned)(offset & 0xf);

    if (!write) {
        *val = 0;
    }
    for (unsigned i = 0; i < size && first + i < VGIC_NR_SGIS; i++) {
        struct virq *irq = vgic_get_irq(d, cpu, first + i);
        if (!write) {
            *val |= (uint64_t)irq->sgi_sources << (8 * i);
            continue;
        }
        uint8_t bits = (uint8_t)((*val >> (8 * i)) & ((1u << d->nr_vcpus) - 1));
        if (set) {
            irq->sgi_sources |= bits;
            if (bits && d->kick) {
                d->kick(d->kick_ctx, cpu);
            }
        } else {
            irq->sgi_sources &= (uint8_t)~bits;
        }
    }
}

static uint32_t ctlr_value(const struct vgic_dist *d)
{
    uint32_t v = (d->enable_grp0 ? CTLR_ENABLE_GRP0 : 0) | (d->enable_grp1 ? CTLR_ENABLE_GRP1 : 0);
    return d->version == GIC_V3 ? v | CTLR_ARE | CTLR_DS : v;
}

static void ctlr_write(struct vgic_dist *d, uint64_t v)
{
    bool was_grp0 = d->enable_grp0, was_grp1 = d->enable_grp1;

    d->enable_grp0 = v & CTLR_ENABLE_GRP0;
    d->enable_grp1 = v & CTLR_ENABLE_GRP1;
    if (d->kick && ((!was_grp0 && d->enable_grp0) || (!was_grp1 && d->enable_grp1))) {
        for (unsigned c = 0; c < d->nr_vcpus; c++) {
            d->kick(d->kick_ctx, c);
        }
    }
}

static bool dist_access(struct vgic_dist *d, unsigned cpu, uint64_t offset, unsigned size,
                        uint64_t *val, bool write)
{
    const struct irq_reg *r = find_irq_reg(offset);
    bool v3 = d->version == GIC_V3;

    if (r && !(v3 && r->field == F_TARGETS)) {
        irq_reg_access(d, cpu, r, offset, size, val, write, false, v3);
        return true;
    }
    if (!write) {
        *val = 0;
    }
    if (offset == GICD_CTLR && size == 4) {
        if (write) {
            ctlr_write(d, *val);
        } else {
            *val = ctlr_value(d);
        }
    } else if (offset == GICD_TYPER && size == 4 && !write) {
        *val = d->nr_irqs / 32 - 1;
        if (v3) {
            /* IDbits: 10-bit INTIDs, no LPIs. CPUNumber is 0: affinity routing only. */
            *val |= 9u << 19;
        } else {
            *val |= (uint64_t)(d->nr_vcpus - 1) << 5;
        }
    } else if (offset == GICD_IIDR && size == 4 && !write) {
        *val = IIDR_BULKHEAD;
    } else if (!v3 && offset == GICD_SGIR && size == 4 && write) {
        v2_sgir_write(d, cpu, (uint32_t)*val);
    } else if (!v3 && offset >= GICD_CPENDSGIR && offset < GICD_CPENDSGIR + 0x20) {
        v2_sgi_pend_access(d, cpu, offset, size, val, write, offset >= GICD_SPENDSGIR);
    } else if (!v3 && offset == GICV2_PIDR2 && size == 4 && !write) {
        *val = 0x2b; /* ArchRev 2 */
    } else if (v3 && offset >= GICD_IROUTER + 8 * VGIC_NR_PRIVATE &&
               offset < GICD_IROUTER + 8ULL * d->nr_irqs && (size == 8 || size == 4)) {
        struct virq *irq = vgic_get_irq(d, cpu, (unsigned)((offset - GICD_IROUTER) / 8));
        unsigned half = (offset & 4) ? 32 : 0;
        if (write) {
            uint64_t keep = size == 8 ? 0 : ~(0xffffffffULL << half);
            uint64_t v = (irq->irouter & keep) | (*val << half);
            irq->irouter = v & IROUTER_MASK;
            if (irq->active_cpu >= 0 && d->kick) {
                d->kick(d->kick_ctx, (unsigned)irq->active_cpu);
            }
            int owner = vgic_irq_owner(d, cpu, irq);
            if (owner >= 0 && d->kick && vgic_wants_attention(d, irq)) {
                d->kick(d->kick_ctx, (unsigned)owner);
            }
        } else {
            *val = size == 8 ? irq->irouter : (uint32_t)(irq->irouter >> half);
        }
    } else if (v3 && offset == GICV3_PIDR2 && size == 4 && !write) {
        *val = 0x3b; /* ArchRev 3 */
    }
    return true;
}

bool vgic_v2_dist_read(struct vgic_dist *d, unsigned cpu, uint64_t offset, unsigned size,
                       uint64_t *val)
{
    spin_lock(&d->lock);
    bool ok = dist_access(d, cpu, offset, size, val, false);
    spin_unlock(&d->lock);
    return ok;
}

bool vgic_v2_dist_write(struct vgic_dist *d, unsigned cpu, uint64_t offset, unsigned size,
                        uint64_t val)
{
    spin_lock(&d->lock);
    bool ok = dist_access(d, cpu, offset, size, &val, true);
    d->generation++;
    spin_unlock(&d->lock);
    return ok;
}

bool vgic_v3_dist_read(struct vgic_dist *d, unsigned cpu, uint64_t offset, unsigned size,
                       uint64_t *val)
{
    return vgic_v2_dist_read(d, cpu, offset, size, val);
}

bool vgic_v3_dist_write(struct vgic_dist *d, unsigned cpu, uint64_t offset, unsigned size,
                        uint64_t val)
{
    return vgic_v2_dist_write(d, cpu, offset, size, val);
}

static uint64_t redist_typer(const struct vgic_dist *d, unsigned target)
{
    uint64_t v = ((uint64_t)target << 32) | ((uint64_t)target << 8);
    return target == d->nr_vcpus - 1 ? v | BIT(4) : v; /* Last */
}

static bool redist_access(struct vgic_dist *d, unsigned target, uint64_t offset, unsigned size,
                          uint64_t *val, bool write)
{
    struct vgic_cpu *c = target < d->nr_vcpus ? d->cpus[target] : NULL;

    if (!write) {
        *val = 0;
    }
    if (!c) {
        return false;
    }
    if (offset >= GICR_SGI_FRAME) {
        const struct irq_reg *r = find_irq_reg(offset - GICR_SGI_FRAME);
        if (r && r->field != F_TARGETS) {
            irq_reg_access(d, target, r, offset - GICR_SGI_FRAME, size, val, write, true, false);
        }
        return true;
    }
    if (write) {
        if (offset == GICR_WAKER && size == 4) {
            c->redist_waker_asleep = *val & WAKER_PROCESSOR_SLEEP;
        }
        return true;
    }
    if (offset == GICR_IIDR && size == 4) {
        *val = IIDR_BULKHEAD;
    } else if (offset == GICR_TYPER && size == 8) {
        *val = redist_typer(d, target);
    } else if ((offset == GICR_TYPER || offset == GICR_TYPER + 4) && size == 4) {
        *val = (uint32_t)(redist_typer(d, target) >> (offset == GICR_TYPER ? 0 : 32));
    } else if (offset == GICR_WAKER && size == 4) {
        *val = c->redist_waker_asleep ? (WAKER_PROCESSOR_SLEEP | WAKER_CHILDREN_ASLEEP) : 0;
    } else if (offset == GICV3_PIDR2 && size == 4) {
        *val = 0x3b;
    }
    return true;
}

bool vgic_v3_redist_read(struct vgic_dist *d, unsigned target, uint64_t offset, unsigned size,
                         uint64_t *val)
{
    spin_lock(&d->lock);
    bool ok = redist_access(d, target, offset, size, val, false);
    spin_unlock(&d->lock);
    return ok;
}

bool vgic_v3_redist_write(struct vgic_dist *d, unsigned target, uint64_t offset, unsigned size,
                          uint64_t val)
{
    spin_lock(&d->lock);
    bool ok = redist_access(d, target, offset, size, &val, true);
    d->generation++;
    spin_unlock(&d->lock);
    return ok;
}

void vgic_v3_sgi1r_write(struct vgic_dist *d, unsigned cpu, uint64_t val)
{
    unsigned sgi = (unsigned)BITS(val, 27, 24);
    bool others = val & BIT(40);
    uint64_t aff321 = BITS(val, 23, 16) | (BITS(val, 39, 32) << 8) | (BITS(val, 55, 48) << 16);
    unsigned range = (unsigned)BITS(val, 47, 44);
    unsigned list = (unsigned)BITS(val, 15, 0);

    for (unsigned t = 0; t < d->nr_vcpus; t++) {
        bool hit;
        if (others) {
            hit = t != cpu;
        } else {
            /* Our vCPUs have Aff0 = index and Aff1-3 = 0. */
            hit = aff321 == 0 && t / 16 == range && (list & (1u << (t % 16)));
        }
        if (hit) {
            vgic_send_sgi(d, cpu, t, sgi);
        }
    }
}
