/*
 * The virtual GIC model, shared by the GICv2 and GICv3 front ends. Pure C, host-tested: the
 * hardware side (list registers, the physical GIC) is reached only through struct vgic_hw_ops.
 *
 * Model (after KVM's): every interrupt of a VM has one struct virq: the SGIs and PPIs of each
 * vCPU, the SPIs of the VM. Before a vCPU enters, vgic_flush() puts its highest-priority
 * deliverable interrupts in the list registers; after it exits, vgic_sync() folds the list
 * registers' state back. More candidates than list registers: the underflow maintenance
 * interrupt brings the vCPU out to refill them. Level-triggered emulated interrupts ask for an
 * EOI maintenance interrupt, so a line still high after the guest's EOI is delivered again.
 * Hardware-linked interrupts (the virtual timer, passed-through SPIs) carry the physical INTID,
 * so the guest's deactivation deactivates the physical interrupt without an exit.
 *
 * Locking: vgic_dist.lock protects every virq of the VM and each vCPU's LR shadow. The caller of
 * vgic_flush()/vgic_sync() runs on the vCPU's own physical CPU.
 */
#ifndef BULKHEAD_VGIC_H
#define BULKHEAD_VGIC_H

#include "config.h"
#include "spinlock.h"

#define VGIC_NR_SGIS 16
#define VGIC_NR_PRIVATE 32
#define VGIC_MAX_IRQS 256 /* SPIs 32..255 */
#define VGIC_MAX_LRS 16
#define VGIC_PRIO_BITS 5 /* the virtual CPU interface implements 32 levels */
#define VGIC_SPURIOUS 1023

struct virq {
    uint16_t intid;
    uint16_t pintid; /* physical INTID when hw or held */
    uint8_t priority;
    uint8_t targets;       /* GICv2 ITARGETSR: vCPU mask */
    uint8_t sgi_sources;   /* GICv2 SGIs: which vCPUs have it pending */
    uint8_t active_source; /* GICv2 SGIs: the source of the active one */
    uint64_t irouter;      /* GICv3 IROUTER */
    bool enabled;
    bool group1;
    bool level;         /* level-sensitive (else edge) */
    bool line;          /* input line, for level-sensitive */
    bool pending_latch; /* edge seen, or set by the guest through ISPENDR */
    bool active;
    bool hw;
    /* Linked like hw, but the hypervisor deactivates the physical interrupt (held active
     * meanwhile) once the guest has EOIed the virtual one, told by an EOI maintenance
     * interrupt: for GICs whose hardware deactivation is not to be relied on. */
    bool held;
    bool phys_active; /* linked: the physical interrupt is active, waiting for the guest's EOI */
    /* Another vCPU cleared its pending or active state while it sat in a list register: the
     * holder's next sync must not bring that state back from the LR. */
    bool lr_clear_pending, lr_clear_active;
    int8_t lr;         /* list register holding it, -1 if none */
    int8_t active_cpu; /* SPIs: vCPU whose LRs hold its active state, -1 if none */
};

struct lr_state {
    uint32_t intid;
    uint32_t pintid;
    uint8_t priority; /* 8-bit GIC priority */
    uint8_t source;   /* GICv2 SGI source vCPU */
    bool pending, active, group1, hw, eoi_maint;
};

/* Hardware access for one physical CPU's virtual interface; host tests pass a fake. */
struct vgic_hw_ops {
    void (*write_lr)(unsigned n, const struct lr_state *lr);
    void (*read_lr)(unsigned n, struct lr_state *lr);
    void (*set_underflow)(bool on); /* maintenance interrupt when LRs drain */
    /* Maintenance interrupt when no LR holds a pending interrupt (may be NULL): to deliver a
     * GICv2 SGI's next source once the guest has taken the current one. */
    void (*set_no_pending)(bool on);
    /* Deactivates physical interrupt pintid of this CPU (a held link's, at the guest's EOI). */
    void (*deactivate)(unsigned pintid);
    /* Bit n set: list register n holds nothing the guest could still take or deactivate and
     * asks for no maintenance (ICH_ELRSR_EL2, GICH_ELRSR0), so a sync need not read or empty
     * it. May be NULL: every LR in use is read. */
    uint32_t (*empty_lrs)(void);
    /* List register n, which the guest emptied by deactivating the hardware-linked interrupt
     * it held, pending again with all else as written (the hardware changes only an LR's
     * state). May be NULL: the LR is written whole. */
    void (*repend_lr)(unsigned n);
};

struct vgic_cpu {
    struct virq private_irqs[VGIC_NR_PRIVATE];
    uint16_t lr_intid[VGIC_MAX_LRS]; /* what each LR holds; VGIC_SPURIOUS when free */
    uint8_t lr_source[VGIC_MAX_LRS];
    bool lr_latched[VGIC_MAX_LRS]; /* its pending state came from pending_latch */
    unsigned nr_lrs;
    unsigned index;           /* vCPU index in the VM */
    uint64_t mpidr;           /* the guest's MPIDR: Aff0 = index */
    bool redist_waker_asleep; /* GICv3 GICR_WAKER.ProcessorSleep */
    /* The exit fast path: with no LR in use and nothing changed in the VM's interrupt state
     * since the last flush, sync and flush have nothing to do. must_flush says that something
     * of this vCPU's own changed (an SGI sent to it, an LR given back with state in it): set
     * by anyone (lock held, or by the vCPU's own CPU), cleared by the flush. */
    unsigned lrs_in_use;
    uint32_t flushed_generation;
    bool must_flush;
    /* Its private interrupts changed since the last flush (a bit per INTID, lock held), and
     * whether that flush's LRs must be chosen again from scratch (the guest left some of them
     * untaken, some were left out, or the LRs are unknown): without refill, and with nothing
     * of the VM's changed, the changed ones are the only candidates. */
    uint32_t private_changed;
    struct virq *spi_changed; /* the one SPI it holds that changed since, if any */
    bool refill;
    /* Its SGIs and PPIs that may be pending or active, a bit per INTID (a superset, cleared
     * lazily by the flush's scan as spi_maybe_live is): an exit looks at those only. */
    uint32_t private_maybe_live;
    /* What the hardware holds, so that an entry writes only what changes: LRs from
     * lrs_written on are empty; the maintenance requests are as last asked for (unknown after a
     * reset until the next flush has written them). */
    unsigned lrs_written;
    bool underflow_asked, no_pending_asked, maint_known;
    /* An IRQ exit found LR 0, the one written, holding a private interrupt the guest has
     * completed, and left it to the entry's flush to retire (vgic_sync_lrs_deferring): one
     * locked pass, which a timer tick also pends its interrupt in, instead of three. Meanwhile
     * lrs_in_use is 0 and must_flush set, as after a sync, and linked_fired holds the private
     * interrupts whose linked physical ones fired (vgic_inject_linked_private). The vCPU's own
     * CPU only. */
    bool retire_deferred;
    uint32_t linked_fired;
};

/* The physical side of hardware-linked SPIs (passed-through devices), told of what the guest
 * does to the virtual one. Called with the dist lock held; may be NULL. */
struct vgic_phys_ops {
    /* The guest routed the SPI to vCPU vcpu (-1: to none). */
    void (*route)(void *ctx, unsigned pintid, int vcpu);
    /* The guest cleared the pending or active state of an SPI whose physical interrupt is
     * active and in no list register: nothing else would ever deactivate it. */
    void (*deactivate)(void *ctx, unsigned pintid);
    /* The guest set the SPI pending (ISPENDR): the physical one is made pending instead. */
    void (*pend)(void *ctx, unsigned pintid);
};

struct vgic_dist {
    spinlock_t lock;
    enum gic_version version;
    unsigned nr_irqs; /* 32 + SPIs */
    unsigned nr_vcpus;
    bool enable_grp0, enable_grp1;
    bool are; /* GICv3 affinity routing (always on for our v3 guests) */
    struct virq spis[VGIC_MAX_IRQS - VGIC_NR_PRIVATE];
    struct vgic_cpu *cpus[MAX_VCPUS];
    /* Bumped (lock held) by every change that could alter what a vCPU should see. */
    uint32_t generation;
    /* SPIs that may be pending or active (a superset: cleared lazily by the flush's scan), so
     * that an exit does not look at every SPI of the VM; bit w of spi_words_maybe_live is set
     * while word w of spi_maybe_live may be non-zero (most exits find no SPI live at all). */
    uint64_t spi_maybe_live[(VGIC_MAX_IRQS - VGIC_NR_PRIVATE + 63) / 64];
    uint32_t spi_words_maybe_live;
    /* Called when vCPU `cpu` has something new to take: kick it. Called after the change
     * is complete and the lock dropped (vgic_unlock_and_kick); kicks_due (lock held) holds
     * the vCPUs to kick until then, a bit per vCPU. */
    void (*kick)(void *ctx, unsigned cpu);
    void *kick_ctx;
    uint32_t kicks_due;
    const struct vgic_phys_ops *phys;
    void *phys_ctx;
};
_Static_assert(MAX_VCPUS <= 32, "kicks_due has a bit per vCPU");

void vgic_dist_init(struct vgic_dist *d, enum gic_version version, unsigned nr_irqs,
                    unsigned nr_vcpus);
void vgic_cpu_init(struct vgic_dist *d, struct vgic_cpu *c, unsigned index, unsigned nr_lrs);
/* Every interrupt back to its reset state (a VM reset); hardware links must be made again. */
void vgic_reset(struct vgic_dist *d);

/* The virq for intid as seen by vCPU cpu (private IRQs are per vCPU), or NULL if out of range. */
static inline struct virq *vgic_get_irq(struct vgic_dist *d, unsigned cpu, unsigned intid)
{
    if (intid < VGIC_NR_PRIVATE) {
        return cpu < d->nr_vcpus && d->cpus[cpu] ? &d->cpus[cpu]->private_irqs[intid] : NULL;
    }
    /* nr_irqs is at most VGIC_MAX_IRQS: the second test costs nothing where intid is known. */
    return intid < d->nr_irqs && intid < VGIC_MAX_IRQS ? &d->spis[intid - VGIC_NR_PRIVATE] : NULL;
}

/* The vCPU an SPI is routed to (GICv2: lowest set ITARGETSR bit; GICv3: IROUTER Aff0, or
 * vCPU 0 for 1-of-N). Returns -1 if it targets no vCPU. */
int vgic_spi_target(const struct vgic_dist *d, const struct virq *irq);

/* The vCPU that holds irq now: for a private IRQ the one it belongs to (cpu); for an SPI the
 * vCPU it is active on (routing changes take effect once the guest deactivates it there),
 * else its target. -1 if none. */
int vgic_irq_owner(const struct vgic_dist *d, unsigned cpu, const struct virq *irq);

/* Input side (lock taken inside). Level for level-sensitive lines; an edge pends once. */
void vgic_change_line(struct vgic_dist *d, unsigned cpu, struct virq *irq, bool level);
static inline void vgic_set_line(struct vgic_dist *d, unsigned cpu, unsigned intid, bool level)
{
    struct virq *irq = vgic_get_irq(d, cpu, intid);

    /* Devices report their level after every access: most reports change nothing, told
     * without a call or the lock. */
    if (irq && __atomic_load_n(&irq->line, __ATOMIC_RELAXED) != level) {
        vgic_change_line(d, cpu, irq, level);
    }
}
void vgic_inject_edge(struct vgic_dist *d, unsigned cpu, unsigned intid);
/* The physical interrupt linked to irq, a private interrupt of vCPU cpu, fired on the vCPU's
 * own CPU, in its exit or its wait (the virtual timer's): as vgic_inject_edge(), without the
 * lookup or the kick, since the CPU a kick would reach is this one, which looks at the vCPU's
 * interrupts before it enters or waits again. */
void vgic_inject_linked_private(struct vgic_dist *d, unsigned cpu, struct virq *irq);
/* Marks a virtual SGI pending on target from source (GICv2 keeps the source). */
void vgic_send_sgi(struct vgic_dist *d, unsigned source, unsigned target, unsigned sgi);
/* The same for each vCPU of the mask targets (bit n: vCPU n; those the VM lacks ignored). */
void vgic_send_sgis(struct vgic_dist *d, unsigned source, uint32_t targets, unsigned sgi);
/* The same, lock held: the targets are kicked by the caller's vgic_unlock_and_kick(). */
void vgic_send_sgis_locked(struct vgic_dist *d, unsigned source, uint32_t targets, unsigned sgi);
/* Links interrupt intid (private to vCPU cpu, or an SPI) to a physical one: the guest's
 * deactivation of the virtual one deactivates the physical one in hardware (held false), or the
 * hypervisor does it once the guest has EOIed it (held true). An edge injected on a held link marks
 * the physical one active until then. */
void vgic_link_hw(struct vgic_dist *d, unsigned cpu, unsigned intid, unsigned pintid, bool held);
/* A linked SPI's physical interrupt follows the virtual one's target (lock held). */
void vgic_route_linked_spi(const struct vgic_dist *d, const struct virq *irq);
/* The physical source of a linked, level-sensitive interrupt is low again (a timer the guest
 * disabled or reprogrammed before taking its interrupt): if the guest has not taken it, it is
 * no longer pending, and its physical interrupt, active since it was injected, is deactivated.
 * Call after vgic_sync(), outside the guest. */
void vgic_retract_linked(struct vgic_dist *d, unsigned cpu, unsigned intid,
                         const struct vgic_hw_ops *hw);

/* True if vCPU cpu has an enabled, pending interrupt it could take (WFI wake-up condition). */
bool vgic_has_deliverable(struct vgic_dist *d, unsigned cpu);

/* Entry and exit of vCPU cpu on its physical CPU (lock taken inside). */
void vgic_flush_lrs(struct vgic_dist *d, unsigned cpu, const struct vgic_hw_ops *hw);
void vgic_sync_lrs(struct vgic_dist *d, unsigned cpu, const struct vgic_hw_ops *hw);
/* vgic_sync_lrs() at the start of an exit for a physical interrupt, after which the vCPU enters
 * again unless vgic_settle_cpu() is called first: the usual completed LR is left to the flush
 * (retire_deferred). */
void vgic_sync_lrs_deferring(struct vgic_dist *d, unsigned cpu, const struct vgic_hw_ops *hw);
/* What vgic_sync_lrs_deferring() left to the flush, done now. */
void vgic_settle_lrs(struct vgic_dist *d, unsigned cpu, const struct vgic_hw_ops *hw);
/* c: d->cpus[c->index], which an exit has at hand (struct vcpu holds it). */
static inline void vgic_flush_cpu(struct vgic_dist *d, const struct vgic_cpu *c,
                                  const struct vgic_hw_ops *hw)
{
    /* The exit fast path, inline: no LR in use and nothing changed since the last flush. Read
     * without the lock: whoever changes the state after this also kicks this vCPU, and the kick
     * brings it back here. Relaxed: only the generation's value decides, and vgic_flush_lrs()
     * takes the lock before it reads what changed. */
    if (__builtin_expect(c->must_flush, 0) || __builtin_expect(c->lrs_in_use != 0, 0) ||
        __builtin_expect(c->flushed_generation != *(const volatile uint32_t *)&d->generation, 0)) {
        vgic_flush_lrs(d, c->index, hw);
    }
}
static inline void vgic_flush(struct vgic_dist *d, unsigned cpu, const struct vgic_hw_ops *hw)
{
    vgic_flush_cpu(d, d->cpus[cpu], hw);
}
static inline void vgic_sync_cpu(struct vgic_dist *d, const struct vgic_cpu *c,
                                 const struct vgic_hw_ops *hw)
{
    /* The exit fast path, inline: nothing in the LRs, no maintenance request armed. */
    if (c->lrs_in_use) {
        vgic_sync_lrs(d, c->index, hw);
    }
}
/* Before a vCPU whose exit deferred its sync waits, is held or leaves its CPU: nothing of its
 * own may stay in the LRs then. */
static inline void vgic_settle_cpu(struct vgic_dist *d, const struct vgic_cpu *c,
                                   const struct vgic_hw_ops *hw)
{
    if (c->retire_deferred) {
        vgic_settle_lrs(d, c->index, hw);
    }
}
static inline void vgic_sync(struct vgic_dist *d, unsigned cpu, const struct vgic_hw_ops *hw)
{
    vgic_sync_cpu(d, d->cpus[cpu], hw);
}

/* Lock held: vCPU cpu (-1: none) has something new to take, and is kicked once the change in
 * hand is complete (vgic_unlock_and_kick). */
static inline void vgic_kick_later(struct vgic_dist *d, int cpu)
{
    if (cpu >= 0) {
        d->kicks_due |= 1u << cpu;
    }
}

/*
 * Drops the lock, then kicks the vCPUs the change made under it concerns. A kick promises the
 * kicked vCPU that what it was kicked for is there to see: its exit's flush test and its WFI
 * test read the generation, must_flush and the changed marks without the lock, or take the
 * lock only after the kick woke them. A kick sent in the middle of the change (before the
 * generation's bump or the change's mark) could have the vCPU look, find nothing new and go
 * back to the guest or to sleep with the kick spent, the interrupt left undelivered until
 * some other event. Sent after the unlock (a release; the kick's own dsb orders it before
 * the SGI), it finds every store of the change.
 */
static inline void vgic_unlock_and_kick(struct vgic_dist *d)
{
    uint32_t due = d->kicks_due;

    d->kicks_due = 0;
    spin_unlock(&d->lock);
    for (; due && d->kick; due &= due - 1) {
        d->kick(d->kick_ctx, (unsigned)__builtin_ctz(due));
    }
}

/* Records that irq, an SPI or a private interrupt of vCPU cpu, may have become pending or
 * active (lock held). */
static inline void vgic_mark_maybe_live(struct vgic_dist *d, unsigned cpu, const struct virq *irq)
{
    if (irq->intid >= VGIC_NR_PRIVATE) {
        unsigned i = irq->intid - VGIC_NR_PRIVATE;
        d->spi_maybe_live[i / 64] |= 1ULL << (i % 64);
        d->spi_words_maybe_live |= 1u << (i / 64);
    } else {
        d->cpus[cpu]->private_maybe_live |= 1u << irq->intid;
    }
}

/* An SPI linked to a physical one (a passed-through device's). */
static inline bool virq_linked_spi(const struct virq *irq)
{
    return irq->intid >= VGIC_NR_PRIVATE && (irq->hw || irq->held);
}

/* Pending as the architecture defines it for a virq. */
static inline bool virq_pending(const struct virq *irq)
{
    return irq->pending_latch || (irq->level && irq->line) || irq->sgi_sources;
}

/* Worth a kick: newly pending and enabled. Its active state is not looked at, since a guest
 * deactivates without an exit and the model learns of it only at the next one. */
static inline bool vgic_wants_attention(const struct vgic_dist *d, const struct virq *irq)
{
    return irq->enabled && virq_pending(irq) && (irq->group1 ? d->enable_grp1 : d->enable_grp0);
}

/* List-register encodings (vgic/lr.c). */
uint32_t vgic_v2_lr_encode(const struct lr_state *lr);
void vgic_v2_lr_decode(uint32_t val, struct lr_state *lr);
uint64_t vgic_v3_lr_encode(const struct lr_state *lr);
#define VGIC_V3_LR_PENDING BIT(62)
void vgic_v3_lr_decode(uint64_t val, struct lr_state *lr);

/* Distributor and redistributor register emulation: a register table per frame and GIC version
 * (vgic/vgic_mmio_v2.c, vgic_mmio_v3.c; the lookup and the registers both share in vgic_mmio.c).
 * vgic_v2_* serve a GICv2 VM's distributor, vgic_v3_* a GICv3 VM's. cpu is the accessing vCPU;
 * offset is from the frame base; size 1, 2, 4 or 8. The lock is taken inside; a write bumps the
 * generation (but GICD_SGIR's, which marks its targets changed instead). Return true if the access
 * is valid (reserved space, a width the register does not take and an access running past a
 * register's end read as zero and ignore writes, which is also "valid"). */
bool vgic_v2_dist_read(struct vgic_dist *d, unsigned cpu, uint64_t offset, unsigned size,
                       uint64_t *val);
bool vgic_v2_dist_write(struct vgic_dist *d, unsigned cpu, uint64_t offset, unsigned size,
                        uint64_t val);
bool vgic_v3_dist_read(struct vgic_dist *d, unsigned cpu, uint64_t offset, unsigned size,
                       uint64_t *val);
bool vgic_v3_dist_write(struct vgic_dist *d, unsigned cpu, uint64_t offset, unsigned size,
                        uint64_t val);
/* One redistributor (RD + SGI frames, 0x20000 bytes) of vCPU target; false, reading zero, if
 * the VM has no such vCPU. */
bool vgic_v3_redist_read(struct vgic_dist *d, unsigned target, uint64_t offset, unsigned size,
                         uint64_t *val);
bool vgic_v3_redist_write(struct vgic_dist *d, unsigned target, uint64_t offset, unsigned size,
                          uint64_t val);
/* ICC_SGI1R_EL1 write from vCPU cpu. */
void vgic_v3_sgi1r_write(struct vgic_dist *d, unsigned cpu, uint64_t val);

#define GICV3_REDIST_SIZE 0x20000

#endif
