/* The virtual GIC's interrupt state and list-register policy. Pure: see include/bulkhead/vgic.h. */
#include "bulkhead/vgic.h"

#include "arch/mpidr.h"
#include "bulkhead/string.h"

#define IROUTER_IRM BIT(31)

static unsigned lowest_bit(unsigned v)
{
    return (unsigned)__builtin_ctz(v);
}

static void virq_reset(struct virq *irq, unsigned intid)
{
    *irq = (struct virq){.intid = (uint16_t)intid, .lr = -1, .active_cpu = -1};
}

static void spis_reset(struct vgic_dist *d)
{
    d->enable_grp0 = false;
    d->enable_grp1 = false;
    memset(d->spi_maybe_live, 0, sizeof(d->spi_maybe_live));
    d->spi_words_maybe_live = 0;
    for (unsigned i = VGIC_NR_PRIVATE; i < d->nr_irqs; i++) {
        virq_reset(&d->spis[i - VGIC_NR_PRIVATE], i);
    }
}

static void cpu_reset(const struct vgic_dist *d, struct vgic_cpu *c)
{
    c->redist_waker_asleep = true;
    c->lrs_in_use = 0;
    c->must_flush = true;
    c->refill = true;
    c->private_changed = 0;
    c->spi_changed = NULL;
    c->private_maybe_live = 0;
    c->lrs_written = c->nr_lrs; /* whatever the LRs hold, the next flush overwrites it */
    c->maint_known = false;
    c->retire_deferred = false;
    c->linked_fired = 0;
    for (unsigned i = 0; i < VGIC_NR_PRIVATE; i++) {
        struct virq *irq = &c->private_irqs[i];
        virq_reset(irq, i);
        /* SGIs are edge-triggered and (GICv2) always enabled; PPIs here are level. */
        irq->enabled = i < VGIC_NR_SGIS && d->version == GIC_V2;
        irq->level = i >= VGIC_NR_SGIS;
        irq->targets = (uint8_t)(1u << c->index);
    }
    for (unsigned i = 0; i < VGIC_MAX_LRS; i++) {
        c->lr_intid[i] = VGIC_SPURIOUS;
    }
}

void vgic_dist_init(struct vgic_dist *d, enum gic_version version, unsigned nr_irqs,
                    unsigned nr_vcpus)
{
    memset(d, 0, sizeof(*d));
    d->version = version;
    d->nr_irqs = MIN(ALIGN_UP(MAX(nr_irqs, 64u), 32), (unsigned)VGIC_MAX_IRQS);
    d->nr_vcpus = nr_vcpus;
    d->are = version == GIC_V3;
    spis_reset(d);
}

void vgic_cpu_init(struct vgic_dist *d, struct vgic_cpu *c, unsigned index, unsigned nr_lrs)
{
    memset(c, 0, sizeof(*c));
    c->index = index;
    c->mpidr = index;
    c->nr_lrs = MIN(nr_lrs, (unsigned)VGIC_MAX_LRS);
    cpu_reset(d, c);
    d->cpus[index] = c;
}

void vgic_reset(struct vgic_dist *d)
{
    spin_lock(&d->lock);
    spis_reset(d);
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        if (d->cpus[i]) {
            cpu_reset(d, d->cpus[i]);
        }
    }
    d->generation++;
    spin_unlock(&d->lock);
}

int vgic_spi_target(const struct vgic_dist *d, const struct virq *irq)
{
    if (d->version == GIC_V3) {
        if (irq->irouter & IROUTER_IRM) {
            return 0;
        }
        uint64_t aff = irq->irouter & MPIDR_AFF_MASK;
        return aff < d->nr_vcpus ? (int)aff : -1;
    }
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        if (irq->targets & (1u << i)) {
            return (int)i;
        }
    }
    return -1;
}

int vgic_irq_owner(const struct vgic_dist *d, unsigned cpu, const struct virq *irq)
{
    if (irq->intid < VGIC_NR_PRIVATE) {
        return (int)cpu;
    }
    return irq->active_cpu >= 0 ? irq->active_cpu : vgic_spi_target(d, irq);
}

static bool group_enabled(const struct vgic_dist *d, const struct virq *irq)
{
    return irq->group1 ? d->enable_grp1 : d->enable_grp0;
}

static inline bool deliverable(const struct vgic_dist *d, const struct virq *irq)
{
    return irq->enabled && virq_pending(irq) && !irq->active && group_enabled(d, irq);
}

/* Lock held: private interrupt intid of vCPU c changed (mark_changed). */
static inline void mark_private_changed(struct vgic_cpu *c, unsigned intid)
{
    c->must_flush = true;
    c->private_changed |= 1u << intid;
}

/* Lock held: the pending state or line of irq, an SPI or a private interrupt of vCPU cpu,
 * changed. That concerns only the vCPU that holds it (its owner): the other vCPUs' next entries
 * need not look again. A change of whom an SPI belongs to (routing, active state) bumps the
 * VM's generation instead. */
static void mark_changed(struct vgic_dist *d, unsigned cpu, struct virq *irq)
{
    if (irq->intid < VGIC_NR_PRIVATE) {
        mark_private_changed(d->cpus[cpu], irq->intid);
        return;
    }
    int owner = vgic_irq_owner(d, cpu, irq);
    struct vgic_cpu *c = owner >= 0 ? d->cpus[owner] : NULL;
    if (!c) {
        d->generation++;
        return;
    }
    c->must_flush = true;
    if (!c->spi_changed || c->spi_changed == irq) {
        c->spi_changed = irq;
    } else {
        c->refill = true; /* two SPIs: the scan orders them */
    }
}

void vgic_change_line(struct vgic_dist *d, unsigned cpu, struct virq *irq, bool level)
{
    spin_lock(&d->lock);
    if (!irq->level && level && !irq->line) {
        irq->pending_latch = true;
    }
    irq->line = level;
    vgic_mark_maybe_live(d, cpu, irq);
    if (vgic_wants_attention(d, irq)) {
        vgic_kick_later(d, vgic_irq_owner(d, cpu, irq));
    }
    /* An emulated device's SPI line moves at most of its accesses, each time with an exit of
     * the guest's that reads or clears its state: bumping the generation costs less there than
     * finding the SPI's owner would (measured: the virtio-net round trip). */
    if (irq->intid < VGIC_NR_PRIVATE) {
        mark_changed(d, cpu, irq);
    } else {
        d->generation++;
    }
    vgic_unlock_and_kick(d);
}

void vgic_inject_edge(struct vgic_dist *d, unsigned cpu, unsigned intid)
{
    spin_lock(&d->lock);
    struct virq *irq = vgic_get_irq(d, cpu, intid);
    if (irq) {
        irq->pending_latch = true;
        irq->phys_active |= irq->held || irq->hw;
        vgic_mark_maybe_live(d, cpu, irq);
        if (vgic_wants_attention(d, irq)) {
            vgic_kick_later(d, vgic_irq_owner(d, cpu, irq));
        }
        mark_changed(d, cpu, irq);
    }
    vgic_unlock_and_kick(d);
}

/* Lock held. */
static void pend_linked_private(struct vgic_cpu *c, struct virq *irq)
{
    uint32_t bit = 1u << irq->intid;

    irq->pending_latch = true;
    irq->phys_active |= irq->hw || irq->held;
    c->private_maybe_live |= bit;
    c->private_changed |= bit;
    c->must_flush = true;
}

void vgic_inject_linked_private(struct vgic_dist *d, unsigned cpu, struct virq *irq)
{
    struct vgic_cpu *c = d->cpus[cpu];

    /* Its exit's flush pends it, after it has retired the LR that may hold it completed: the
     * other way round, the retirement would take the new physical activation for the old. */
    if (c->retire_deferred) {
        c->linked_fired |= 1u << irq->intid;
        return;
    }
    spin_lock(&d->lock);
    pend_linked_private(c, irq);
    spin_unlock(&d->lock);
}

void vgic_send_sgi(struct vgic_dist *d, unsigned source, unsigned target, unsigned sgi)
{
    vgic_send_sgis(d, source, target < 32 ? 1u << target : 0, sgi);
}

void vgic_send_sgis(struct vgic_dist *d, unsigned source, uint32_t targets, unsigned sgi)
{
    spin_lock(&d->lock);
    vgic_send_sgis_locked(d, source, targets, sgi);
    vgic_unlock_and_kick(d);
}

/* An SGI is a private interrupt of each target: it changes nothing of the sender's, nor of the
 * VM's (no generation bump), so that neither the sender's exit nor the other vCPUs' next entries
 * flush or scan for it; the target's flush finds it among its changed ones. */
void vgic_send_sgis_locked(struct vgic_dist *d, unsigned source, uint32_t targets, unsigned sgi)
{
    unsigned intid = sgi & 0xf;

    targets &= (1u << d->nr_vcpus) - 1;
    for (; targets; targets &= targets - 1) {
        unsigned target = lowest_bit(targets);
        struct vgic_cpu *c = d->cpus[target];
        if (!c) {
            continue;
        }
        struct virq *irq = &c->private_irqs[intid];
        if (d->version == GIC_V2) {
            irq->sgi_sources |= (uint8_t)(1u << source);
        } else {
            irq->pending_latch = true;
        }
        c->private_maybe_live |= 1u << intid;
        mark_private_changed(c, intid);
        if (vgic_wants_attention(d, irq)) {
            vgic_kick_later(d, (int)target);
        }
    }
}

void vgic_link_hw(struct vgic_dist *d, unsigned cpu, unsigned intid, unsigned pintid, bool held)
{
    spin_lock(&d->lock);
    struct virq *irq = vgic_get_irq(d, cpu, intid);
    if (irq) {
        irq->hw = !held;
        irq->held = held;
        irq->pintid = (uint16_t)pintid;
    }
    d->generation++;
    spin_unlock(&d->lock);
}

void vgic_route_linked_spi(const struct vgic_dist *d, const struct virq *irq)
{
    if (virq_linked_spi(irq) && d->phys) {
        d->phys->route(d->phys_ctx, irq->pintid, vgic_spi_target(d, irq));
    }
}

void vgic_retract_linked(struct vgic_dist *d, unsigned cpu, unsigned intid,
                         const struct vgic_hw_ops *hw)
{
    struct virq *irq = vgic_get_irq(d, cpu, intid);

    /* Unlocked first: the common case, nothing injected from the physical side, costs a load. */
    if (!irq || !irq->phys_active) {
        return;
    }
    spin_lock(&d->lock);
    if (irq->phys_active && irq->pending_latch && !irq->active && irq->lr < 0) {
        irq->pending_latch = false;
        irq->phys_active = false;
        if (hw->deactivate) {
            hw->deactivate(irq->pintid);
        }
        mark_changed(d, cpu, irq);
    }
    spin_unlock(&d->lock);
}

/* Could irq concern anyone at all? Cheap enough to rule out most of them before routing. */
static bool virq_live(const struct virq *irq)
{
    return irq->active || virq_pending(irq);
}

/* The next live virq vCPU cpu could take after position *pos (start at 0): its private ones
 * marked maybe-live, then the SPIs it owns among those marked maybe-live. NULL at the end.
 * prune (lock held only) clears the marks of the interrupts found not live. */
static struct virq *next_live_irq(struct vgic_dist *d, unsigned cpu, unsigned *pos, bool prune)
{
    struct vgic_cpu *c = d->cpus[cpu];

    while (*pos < VGIC_NR_PRIVATE) {
        uint32_t marked =
            *pos ? c->private_maybe_live & ~((1u << *pos) - 1) : c->private_maybe_live;
        if (!marked) {
            *pos = VGIC_NR_PRIVATE;
            break;
        }
        unsigned intid = (unsigned)__builtin_ctz(marked);
        struct virq *irq = &c->private_irqs[intid];
        *pos = intid + 1;
        if (virq_live(irq)) {
            return irq;
        }
        if (prune) {
            c->private_maybe_live &= ~(1u << intid);
        }
    }
    /* Most exits: no SPI of the VM may be live at all. */
    unsigned spi = *pos - VGIC_NR_PRIVATE;
    if (!d->spi_words_maybe_live) {
        spi = d->nr_irqs;
    }
    while (spi < d->nr_irqs - VGIC_NR_PRIVATE) {
        uint64_t word = d->spi_maybe_live[spi / 64] >> (spi % 64);
        if (!word) {
            spi = ALIGN_UP(spi + 1, 64);
            continue;
        }
        spi += (unsigned)__builtin_ctzll(word);
        if (spi >= d->nr_irqs - VGIC_NR_PRIVATE) {
            break;
        }
        struct virq *irq = &d->spis[spi];
        *pos = VGIC_NR_PRIVATE + ++spi;
        if (!virq_live(irq)) {
            if (prune) {
                unsigned w = (spi - 1) / 64;
                d->spi_maybe_live[w] &= ~(1ULL << ((spi - 1) % 64));
                if (!d->spi_maybe_live[w]) {
                    d->spi_words_maybe_live &= ~(1u << w);
                }
            }
            continue;
        }
        if (vgic_irq_owner(d, cpu, irq) == (int)cpu) {
            return irq;
        }
    }
    *pos = d->nr_irqs;
    return NULL;
}

/*
 * Whether only the interrupts of vCPU c changed since its last flush (private_changed,
 * spi_changed) can want a list register now. That holds when the guest took and deactivated all
 * that flush gave it with nothing left out (!refill), the maintenance requests are the ones it
 * asked for, and nothing of the VM's changed since (the generation): every interrupt that
 * wanted an LR then has been delivered, and any other one that wants an LR now has changed.
 */
static bool only_changed_want_lr(const struct vgic_dist *d, const struct vgic_cpu *c)
{
    return c->flushed_generation == d->generation && !c->refill && c->maint_known && !c->lrs_in_use;
}

/* vgic_has_deliverable() where only_changed_want_lr(): the changed ones are the candidates. */
static bool changed_deliverable(const struct vgic_dist *d, const struct vgic_cpu *c)
{
    const struct virq *spi = __atomic_load_n(&c->spi_changed, __ATOMIC_RELAXED);
    bool found = spi && deliverable(d, spi);

    for (uint32_t changed = c->private_changed; !found && changed; changed &= changed - 1) {
        found = deliverable(d, &c->private_irqs[lowest_bit(changed)]);
    }
    return found;
}

bool vgic_has_deliverable(struct vgic_dist *d, unsigned cpu)
{
    const struct vgic_cpu *c = d->cpus[cpu];
    bool found = false;
    unsigned pos = 0;

    /* Without the lock: a blocked vCPU asks this in a loop, and whoever makes an interrupt
     * pending kicks it once the change is complete and visible (vgic_unlock_and_kick), so a
     * stale answer costs one more round, never a lost wake-up. The common case, a vCPU woken
     * for the one SGI or timer interrupt marked changed since its last flush, looks at that. */
    if (only_changed_want_lr(d, c)) {
        return changed_deliverable(d, c);
    }
    for (struct virq *irq; !found && (irq = next_live_irq(d, cpu, &pos, false));) {
        found = deliverable(d, irq);
    }
    return found;
}

static inline bool wants_lr(const struct vgic_dist *d, const struct virq *irq)
{
    return irq->active || (irq->enabled && virq_pending(irq) && group_enabled(d, irq));
}

/* Orders candidates: active ones first (they must stay visible to be deactivated), then by
 * priority, then by INTID. */
static bool lr_before(const struct virq *a, const struct virq *b)
{
    if (a->active != b->active) {
        return a->active;
    }
    if (a->priority != b->priority) {
        return a->priority < b->priority;
    }
    return a->intid < b->intid;
}

static void fill_lr(struct vgic_cpu *c, unsigned n, struct virq *irq, const struct vgic_hw_ops *hw)
{
    struct lr_state lr = {
        .intid = irq->intid,
        .pintid = irq->pintid,
        .priority = irq->priority,
        .group1 = irq->group1,
        .hw = irq->hw,
        .active = irq->active,
    };

    if (irq->sgi_sources && !irq->active) {
        /* A GICv2 SGI pending from several vCPUs is delivered once per source. */
        lr.source = (uint8_t)lowest_bit(irq->sgi_sources);
        irq->sgi_sources &= (uint8_t) ~(1u << lr.source);
        lr.pending = true;
    } else if (irq->active && irq->intid < VGIC_NR_SGIS) {
        lr.source = irq->active_source;
        /* Its other sources wait for this one's EOI: be told of it. */
        lr.eoi_maint = irq->sgi_sources != 0;
    }
    bool latched = false;
    /* A hardware-linked interrupt cannot be pending and active at once in an LR. */
    bool may_pend = !(irq->hw && irq->active);
    if (irq->pending_latch && may_pend) {
        /* The pending state moves into the list register; sync brings it back. */
        irq->pending_latch = false;
        latched = true;
        lr.pending = true;
    }
    if (irq->level && irq->line && may_pend) {
        lr.pending = true;
        /* Told when the guest EOIs, to deliver a line that is still high again; a linked
         * interrupt's physical line does that by itself. */
        lr.eoi_maint = !irq->hw;
    }
    if (irq->held && irq->phys_active) {
        lr.eoi_maint = true; /* to deactivate the held physical interrupt */
    }
    irq->lr = (int8_t)n;
    c->lr_intid[n] = irq->intid;
    c->lr_source[n] = lr.source;
    c->lr_latched[n] = latched;
    hw->write_lr(n, &lr);
}

static void write_maintenance(struct vgic_cpu *c, const struct vgic_hw_ops *hw, bool underflow,
                              bool no_pending)
{
    if (!c->maint_known || underflow != c->underflow_asked) {
        hw->set_underflow(underflow);
    }
    if (hw->set_no_pending && (!c->maint_known || no_pending != c->no_pending_asked)) {
        hw->set_no_pending(no_pending);
    }
    c->underflow_asked = underflow;
    c->no_pending_asked = no_pending;
    c->maint_known = true;
}

/* Asks for the maintenance interrupts, writing only what changed. */
static inline void ask_maintenance(struct vgic_cpu *c, const struct vgic_hw_ops *hw, bool underflow,
                                   bool no_pending)
{
    /* The usual case, without a call: nothing asked for, before or now. */
    if (!c->maint_known || underflow != c->underflow_asked || no_pending != c->no_pending_asked) {
        write_maintenance(c, hw, underflow, no_pending);
    }
}

/* The highest-priority candidates for vCPU cpu's LRs, in LR order, into chosen[] (nr_lrs at
 * most); returns how many, *more set if some were left out. */
static unsigned choose_all(struct vgic_dist *d, unsigned cpu, struct virq **chosen, bool *more)
{
    const struct vgic_cpu *c = d->cpus[cpu];
    unsigned nr = 0;
    unsigned scan = 0;

    /* Insertion into a short sorted array: the LR count is small (4 to 16). */
    for (struct virq *irq; (irq = next_live_irq(d, cpu, &scan, true));) {
        if (!wants_lr(d, irq)) {
            continue;
        }
        unsigned pos = nr;
        while (pos > 0 && lr_before(irq, chosen[pos - 1])) {
            pos--;
        }
        if (pos >= c->nr_lrs) {
            *more = true;
            continue;
        }
        if (nr == c->nr_lrs) {
            *more = true;
            nr--;
        }
        for (unsigned i = nr; i > pos; i--) {
            chosen[i] = chosen[i - 1]; /* a call to memmove would cost more than these few */
        }
        chosen[pos] = irq;
        nr++;
    }
    return nr;
}

/*
 * The common entry after an exit that changed one interrupt of this vCPU's (a timer, an SGI, a
 * device's SPI), without the scan: true, with the candidates in chosen[] and their count in *nr,
 * if only the interrupts changed since the last flush can be candidates (only_changed_want_lr).
 * Several changed: the scan orders them.
 */
static bool choose_changed(struct vgic_dist *d, unsigned cpu, struct virq **chosen, unsigned *nr)
{
    struct vgic_cpu *c = d->cpus[cpu];

    if (!only_changed_want_lr(d, c)) {
        return false;
    }
    uint32_t changed = c->private_changed;
    struct virq *irq = c->spi_changed;
    if (changed) {
        if ((changed & (changed - 1)) || irq) {
            return false;
        }
        irq = &c->private_irqs[lowest_bit(changed)];
    }
    *nr = 0;
    /* An SPI's owner changes with a bump of the generation: it is still this vCPU. */
    if (irq && wants_lr(d, irq)) {
        chosen[(*nr)++] = irq;
    }
    return true;
}

/*
 * The entry after an exit that pended one private interrupt (the timer's, an SGI), shorter
 * than choose_changed()'s way: under its conditions, with the list registers empty (a sync
 * emptied them, and the flush before wrote none beyond) and no maintenance request armed, the
 * interrupt is the only candidate, LR 0 the only register to write and the requests stay as
 * they are. A GICv2 SGI pending from several vCPUs, whose next source needs a request, takes
 * the general way. Lock held; true if done.
 */
static inline __attribute__((always_inline)) bool
flush_one_private(struct vgic_dist *d, struct vgic_cpu *c, const struct vgic_hw_ops *hw)
{
    uint32_t changed = c->private_changed;

    if (!changed || (changed & (changed - 1)) || c->spi_changed || c->lrs_written || c->refill ||
        !c->maint_known || c->underflow_asked || c->no_pending_asked ||
        c->flushed_generation != d->generation) {
        return false;
    }
    struct virq *irq = &c->private_irqs[lowest_bit(changed)];
    if (irq->sgi_sources & (irq->sgi_sources - 1)) {
        return false;
    }
    c->must_flush = false;
    c->private_changed = 0;
    if (wants_lr(d, irq)) {
        fill_lr(c, 0, irq, hw);
        c->lrs_written = 1;
        c->lrs_in_use = 1;
    }
    return true;
}

/* The general flush, lock held: its own frame, which the short way does not pay for. */
static __attribute__((noinline)) void flush_all_lrs(struct vgic_dist *d, unsigned cpu,
                                                    const struct vgic_hw_ops *hw)
{
    struct virq *chosen[VGIC_MAX_LRS];
    unsigned nr;
    bool more = false;
    struct vgic_cpu *c = d->cpus[cpu];

    if (!choose_changed(d, cpu, chosen, &nr)) {
        nr = choose_all(d, cpu, chosen, &more);
    }
    c->flushed_generation = d->generation;
    c->must_flush = false;
    c->refill = false;
    c->private_changed = 0;
    c->spi_changed = NULL;
    for (unsigned n = 0; n < MAX(nr, c->lrs_written); n++) {
        if (n < nr) {
            fill_lr(c, n, chosen[n], hw);
        } else {
            struct lr_state empty = {0};
            c->lr_intid[n] = VGIC_SPURIOUS;
            hw->write_lr(n, &empty);
        }
    }
    c->lrs_written = nr;
    /* A GICv2 SGI with further sources pending needs a refill once the guest has taken it; an
     * underflow request would fire at once with a single valid LR and starve the guest. */
    bool more_sources = false;
    for (unsigned n = 0; n < nr; n++) {
        /* An active one asked for an EOI maintenance interrupt instead: "no pending" would hold
         * the whole time the guest handles it. */
        more_sources |= chosen[n]->sgi_sources != 0 && !chosen[n]->active;
    }
    ask_maintenance(c, hw, more, more_sources);
    c->lrs_in_use = nr;
}

/* Pending or active state cleared by another vCPU while irq sat in this vCPU's list register
 * wins over what the LR says. An active linked interrupt dropped this way is deactivated, or
 * the physical one would never fire again. */
static void apply_clear_requests(struct virq *irq, struct lr_state *lr,
                                 const struct vgic_hw_ops *hw)
{
    if (irq->lr_clear_pending) {
        lr->pending = false;
    }
    if (irq->lr_clear_active && lr->active) {
        lr->active = false;
        if ((irq->hw || irq->phys_active) && hw->deactivate) {
            hw->deactivate(irq->pintid);
            irq->phys_active = false;
        }
    }
    irq->lr_clear_pending = false;
    irq->lr_clear_active = false;
}

/* Folds LR n, which held irq and shows state as lr, back into the model. */
static inline __attribute__((always_inline)) void fold_lr(struct vgic_dist *d, unsigned cpu,
                                                          unsigned n, struct virq *irq,
                                                          struct lr_state *lr,
                                                          const struct vgic_hw_ops *hw)
{
    struct vgic_cpu *c = d->cpus[cpu];

    vgic_mark_maybe_live(d, cpu, irq);
    apply_clear_requests(irq, lr, hw);
    irq->active = lr->active;
    if (irq->intid >= VGIC_NR_PRIVATE) {
        int8_t now = lr->active ? (int8_t)cpu : -1;
        if (now != irq->active_cpu) {
            /* Another vCPU may now own it: its next flush must not take the fast path. */
            d->generation++;
        }
        irq->active_cpu = now;
    }
    bool released = irq->intid >= VGIC_NR_PRIVATE && !lr->active;
    if (lr->active && irq->intid < VGIC_NR_SGIS) {
        irq->active_source = c->lr_source[n];
    }
    if (lr->pending && (!irq->level || irq->hw || c->lr_latched[n])) {
        if (irq->intid < VGIC_NR_SGIS && d->version == GIC_V2) {
            irq->sgi_sources |= (uint8_t)(1u << c->lr_source[n]);
        } else {
            irq->pending_latch = true;
        }
    }
    if (irq->phys_active && !lr->active && !lr->pending) {
        /* The guest has EOIed it: the physical interrupt may fire again. A hardware link
         * deactivated it with the guest's EOI; a held one is deactivated here. */
        if (irq->held && hw->deactivate) {
            hw->deactivate(irq->pintid);
        }
        irq->phys_active = false;
    }
    /* An SPI routed elsewhere while active here now belongs to its new target. */
    if (released && vgic_wants_attention(d, irq)) {
        int owner = vgic_spi_target(d, irq);
        if (owner >= 0 && owner != (int)cpu) {
            vgic_kick_later(d, owner);
        }
    }
}

/* What fold_lr() does with an LR the hardware calls empty that held a private interrupt, in
 * short: the guest took the interrupt and deactivated it (a flush writes only pending or active
 * state), which leaves nothing of it live. A hardware link's physical interrupt was deactivated
 * with the guest's EOI. (A held link's asks for an EOI maintenance interrupt, which the
 * hardware does not call empty; deactivated here all the same, as fold_lr() would.) */
static void retire_completed_private(struct virq *irq, const struct vgic_hw_ops *hw)
{
    if (irq->phys_active && irq->held && hw->deactivate) {
        hw->deactivate(irq->pintid);
    }
    irq->active = false;
    irq->phys_active = false;
    irq->lr_clear_pending = false;
    irq->lr_clear_active = false;
}

/* LR n, which the hardware calls empty, held private interrupt irq: retired, the LR free.
 * Lock held. */
static inline void retire_private_lr(struct vgic_cpu *c, unsigned n, struct virq *irq,
                                     const struct vgic_hw_ops *hw)
{
    retire_completed_private(irq, hw);
    irq->lr = -1;
    c->lr_intid[n] = VGIC_SPURIOUS;
}

/* LR n, which the hardware calls empty, held irq: a private interrupt retired in short, an SPI
 * folded as all clear (fold_lr()), the LR free. Lock held. */
static inline __attribute__((always_inline)) void retire_empty_lr(struct vgic_dist *d, unsigned cpu,
                                                                  unsigned n, struct virq *irq,
                                                                  const struct vgic_hw_ops *hw)
{
    struct vgic_cpu *c = d->cpus[cpu];

    if (irq->intid < VGIC_NR_PRIVATE) {
        retire_private_lr(c, n, irq, hw);
        return;
    }
    struct lr_state none = {0};
    fold_lr(d, cpu, n, irq, &none, hw);
    irq->lr = -1;
    c->lr_intid[n] = VGIC_SPURIOUS;
}

/*
 * The usual exit after an interrupt's entry (the timer's, an SGI's, a device's): the guest took
 * and completed all the last flush gave it, and nothing was left out (no maintenance request).
 * The hardware calls every LR written empty, so none is read or written: each interrupt is
 * retired as the general sync would (retire_empty_lr()), and the flush that follows has only
 * what changed since to look at. True if that was the case (and is done).
 */
static __attribute__((noinline)) bool
sync_all_completed(struct vgic_dist *d, unsigned cpu, uint32_t empty, const struct vgic_hw_ops *hw)
{
    struct vgic_cpu *c = d->cpus[cpu];
    unsigned nr = c->lrs_written;
    uint32_t written = (1u << nr) - 1;

    if ((empty & written) != written || !c->maint_known || c->underflow_asked ||
        c->no_pending_asked) {
        return false;
    }
    spin_lock(&d->lock);
    for (unsigned n = 0; n < nr; n++) {
        struct virq *irq = vgic_get_irq(d, cpu, c->lr_intid[n]);
        if (irq) { /* VGIC_SPURIOUS: the flush fills from LR 0 on, so never here */
            retire_empty_lr(d, cpu, n, irq, hw);
        }
    }
    c->lrs_written = 0;
    c->lrs_in_use = 0;
    vgic_unlock_and_kick(d); /* fold_lr(): an SPI released to another vCPU */
    return true;
}

static __attribute__((noinline)) void sync_all_lrs(struct vgic_dist *d, unsigned cpu,
                                                   uint32_t empty, const struct vgic_hw_ops *hw)
{
    struct vgic_cpu *c = d->cpus[cpu];
    /* The guest took and deactivated everything the last flush gave it and nothing was left
     * out: a flush now would write nothing but what changed since (vgic_flush_lrs). */
    bool all_taken = !c->underflow_asked && !c->no_pending_asked;

    spin_lock(&d->lock);
    c->lrs_in_use = 0;
    /* The flush filled LRs from 0 on, and emptied the rest. */
    for (unsigned n = 0; n < c->lrs_written; n++) {
        if (c->lr_intid[n] == VGIC_SPURIOUS) {
            continue;
        }
        struct virq *irq = vgic_get_irq(d, cpu, c->lr_intid[n]);
        if (empty & (1u << n)) {
            retire_empty_lr(d, cpu, n, irq, hw);
            continue;
        }
        struct lr_state lr, none = {0};
        hw->read_lr(n, &lr);
        /* Emptied at once: an LR that asked for an EOI maintenance interrupt would keep it
         * asserted while this CPU waits in WFI. One the hardware calls empty is left as it is:
         * invalid, it shows the guest nothing. */
        hw->write_lr(n, &none);
        fold_lr(d, cpu, n, irq, &lr, hw);
        all_taken = false;
        irq->lr = -1;
        c->lr_intid[n] = VGIC_SPURIOUS;
    }
    c->lrs_written = 0;
    if (!all_taken) {
        c->must_flush = true;
        c->refill = true;
    }
    /* With the LRs empty, an underflow or no-pending request would hold the maintenance
     * interrupt asserted and keep a CPU waiting in WFI from sleeping. */
    ask_maintenance(c, hw, false, false);
    vgic_unlock_and_kick(d); /* fold_lr(): an SPI released to another vCPU */
}

/* The most frequent sync of all: the flush gave one private interrupt (a timer tick, an SGI),
 * the guest completed it, and no maintenance was asked for. */
static inline bool one_completed_private(const struct vgic_cpu *c, uint32_t empty)
{
    return c->lrs_written == 1 && (empty & 1) && c->lr_intid[0] < VGIC_NR_PRIVATE &&
           c->maint_known && !c->underflow_asked && !c->no_pending_asked;
}

/* sync_all_completed() where one_completed_private(), in a frame of its own size. */
static inline bool sync_one_completed_private(struct vgic_dist *d, struct vgic_cpu *c,
                                              uint32_t empty, const struct vgic_hw_ops *hw)
{
    if (!one_completed_private(c, empty)) {
        return false;
    }
    spin_lock(&d->lock);
    retire_private_lr(c, 0, &c->private_irqs[c->lr_intid[0]], hw);
    c->lrs_written = 0;
    c->lrs_in_use = 0;
    spin_unlock(&d->lock);
    return true;
}

void vgic_sync_lrs(struct vgic_dist *d, unsigned cpu, const struct vgic_hw_ops *hw)
{
    uint32_t empty = hw->empty_lrs ? hw->empty_lrs() : 0;

    if (sync_one_completed_private(d, d->cpus[cpu], empty, hw)) {
        return;
    }
    if (!sync_all_completed(d, cpu, empty, hw)) {
        sync_all_lrs(d, cpu, empty, hw);
    }
}

/* Nothing is touched but the vCPU's own fields: whoever looks at the interrupt meanwhile sees it
 * as while the guest ran (in an LR, maybe still active), which is what the lock would have
 * ordered its look before. */
void vgic_sync_lrs_deferring(struct vgic_dist *d, unsigned cpu, const struct vgic_hw_ops *hw)
{
    struct vgic_cpu *c = d->cpus[cpu];
    uint32_t empty = hw->empty_lrs ? hw->empty_lrs() : 0;

    if (one_completed_private(c, empty)) {
        c->retire_deferred = true;
        /* No sync left to do; the flush is (must_flush: the vCPU's own CPU may set it). */
        c->lrs_in_use = 0;
        c->must_flush = true;
        return;
    }
    if (!sync_all_completed(d, cpu, empty, hw)) {
        sync_all_lrs(d, cpu, empty, hw);
    }
}

/* Lock held: what vgic_sync_lrs_deferring() left, done as the sync and
 * vgic_inject_linked_private() would have. */
static void settle_deferred(struct vgic_cpu *c, const struct vgic_hw_ops *hw)
{
    retire_private_lr(c, 0, &c->private_irqs[c->lr_intid[0]], hw);
    c->lrs_written = 0;
    c->retire_deferred = false;
    for (uint32_t fired = c->linked_fired; fired; fired &= fired - 1) {
        pend_linked_private(c, &c->private_irqs[lowest_bit(fired)]);
    }
    c->linked_fired = 0;
}

void vgic_settle_lrs(struct vgic_dist *d, unsigned cpu, const struct vgic_hw_ops *hw)
{
    struct vgic_cpu *c = d->cpus[cpu];

    spin_lock(&d->lock);
    if (c->retire_deferred) {
        settle_deferred(c, hw);
    }
    spin_unlock(&d->lock);
}

/*
 * The timer tick of a running vCPU, in short: the interrupt in LR 0, which the exit left to
 * retire, is the hardware-linked one that fired again, and nothing else changed since the flush
 * that wrote the LR (no change marked, the same generation, no refill; no maintenance asked, as
 * the deferral required). Retire, pend and flush would then write the same LR again, pending:
 * its priority, group and link are still the ones written, since a change of any of them bumps
 * the generation. Lock held; true if done.
 */
static bool rearm_completed_lr(const struct vgic_dist *d, struct vgic_cpu *c,
                               const struct vgic_hw_ops *hw)
{
    unsigned intid = c->lr_intid[0];
    struct virq *irq = &c->private_irqs[intid];

    /* The deferral's must_flush aside, a change sets one of these. */
    if (!hw->repend_lr || c->linked_fired != 1u << intid || !irq->hw || c->private_changed ||
        c->spi_changed || c->refill || c->flushed_generation != d->generation || !irq->enabled ||
        !group_enabled(d, irq)) {
        return false;
    }
    retire_completed_private(irq, hw);
    /* Pended (pend_linked_private()), its pending state moved into the LR (fill_lr()). */
    irq->phys_active = true;
    c->private_maybe_live |= 1u << intid;
    c->lr_latched[0] = true;
    c->linked_fired = 0;
    c->retire_deferred = false;
    c->must_flush = false;
    c->lrs_in_use = 1;
    hw->repend_lr(0);
    return true;
}

/* The flush after vgic_sync_lrs_deferring(), lock held: the tick re-armed in place, or what was
 * deferred done and then the flush's usual ways. */
static __attribute__((noinline)) void flush_deferred(struct vgic_dist *d, unsigned cpu,
                                                     const struct vgic_hw_ops *hw)
{
    struct vgic_cpu *c = d->cpus[cpu];

    if (rearm_completed_lr(d, c, hw)) {
        return;
    }
    settle_deferred(c, hw);
    if (!flush_one_private(d, c, hw)) {
        flush_all_lrs(d, cpu, hw);
    }
}

void vgic_flush_lrs(struct vgic_dist *d, unsigned cpu, const struct vgic_hw_ops *hw)
{
    struct vgic_cpu *c = d->cpus[cpu];

    spin_lock(&d->lock);
    /* flush_one_private() declines while a deferred retirement keeps LR 0 written. */
    if (!flush_one_private(d, c, hw)) {
        if (c->retire_deferred) {
            flush_deferred(d, cpu, hw);
        } else {
            flush_all_lrs(d, cpu, hw);
        }
    }
    spin_unlock(&d->lock);
}
