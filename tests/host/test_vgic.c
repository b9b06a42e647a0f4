/*
 * vgic/vgic.c: the virtual GIC model, driven through a fake struct vgic_hw_ops whose list
 * registers are an array, so that tests can play the guest (acknowledge: pending -> active,
 * EOI/deactivate: active -> invalid) between a vgic_flush() (entry) and a vgic_sync() (exit).
 *
 * The rules checked come from the GIC architecture (GICv2: IHI0048B; GICv3: IHI0069):
 *   - a virtual CPU interface can only signal what is in its list registers, so the highest
 *     priority (numerically lowest) deliverable interrupts must be there, and an active one
 *     must stay there until the guest deactivates it;
 *   - an interrupt is forwarded only if it is enabled and its group is enabled in GICD_CTLR;
 *   - edge-triggered interrupts pend once per edge; level-sensitive ones are pending while the
 *     line is asserted (IHI0048B 1.4.2, 3.2.4; IHI0069 4.1.x) and software-set pending state
 *     stays until acknowledged or cleared;
 *   - GICv2 SGIs keep pending state per source processor and are signalled with the source in
 *     the CPUID field (IHI0048B 3.2.2, 5.3.11);
 *   - a hardware interrupt carries the physical INTID and has no EOI maintenance request (the
 *     EOI bit does not exist when HW = 1);
 *   - no pending interrupt may be lost across exits, and an interrupt must not be presented in
 *     two list registers at once (IHI0048B 5.3.11: UNPREDICTABLE).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/vgic.h"

/* ---- The fake virtual CPU interface ---- */

static struct lr_state fake_lrs[VGIC_MAX_LRS];
static unsigned fake_lr_writes[VGIC_MAX_LRS];
static unsigned fake_lr_reads[VGIC_MAX_LRS];
static unsigned fake_underflow_calls;
static bool fake_underflow;

static void fake_write_lr(unsigned n, const struct lr_state *lr)
{
    assert_true(n < VGIC_MAX_LRS);
    fake_lrs[n] = *lr;
    fake_lr_writes[n]++;
}

static void fake_read_lr(unsigned n, struct lr_state *lr)
{
    assert_true(n < VGIC_MAX_LRS);
    *lr = fake_lrs[n];
    fake_lr_reads[n]++;
}

static void fake_set_underflow(bool on)
{
    fake_underflow = on;
    fake_underflow_calls++;
}

/* ICH_ELRSR_EL2 / GICH_ELRSR0: invalid, and no EOI maintenance interrupt asserted. */
static uint32_t fake_empty_lrs(void)
{
    uint32_t empty = 0;

    for (unsigned n = 0; n < VGIC_MAX_LRS; n++) {
        const struct lr_state *lr = &fake_lrs[n];
        if (!lr->pending && !lr->active && (lr->hw || !lr->eoi_maint)) {
            empty |= 1u << n;
        }
    }
    return empty;
}

static unsigned fake_deactivated[4];
static unsigned fake_nr_deactivated;

static void fake_deactivate(unsigned pintid)
{
    assert_true(fake_nr_deactivated < 4);
    fake_deactivated[fake_nr_deactivated++] = pintid;
}

static const struct vgic_hw_ops fake_hw = {
    .write_lr = fake_write_lr,
    .read_lr = fake_read_lr,
    .set_underflow = fake_set_underflow,
    .deactivate = fake_deactivate,
    .empty_lrs = fake_empty_lrs,
};

static unsigned fake_lr_repends[VGIC_MAX_LRS];

/* As the hardware keeps an emptied LR's fields, only its state changes. */
static void fake_repend_lr(unsigned n)
{
    assert_true(n < VGIC_MAX_LRS);
    assert_false(fake_lrs[n].pending || fake_lrs[n].active);
    fake_lrs[n].pending = true;
    fake_lr_repends[n]++;
}

/* A GICv3 interface that pends an emptied LR again in place. */
static const struct vgic_hw_ops fake_hw_repend = {
    .write_lr = fake_write_lr,
    .read_lr = fake_read_lr,
    .set_underflow = fake_set_underflow,
    .deactivate = fake_deactivate,
    .empty_lrs = fake_empty_lrs,
    .repend_lr = fake_repend_lr,
};

/* A virtual interface that does not say which LRs are empty: every LR in use is read. */
static const struct vgic_hw_ops fake_hw_without_elrsr = {
    .write_lr = fake_write_lr,
    .read_lr = fake_read_lr,
    .set_underflow = fake_set_underflow,
    .deactivate = fake_deactivate,
};

/* ---- Kick recorder ---- */

static unsigned kicks[MAX_VCPUS];
static unsigned kicks_total;
static void *kick_ctx_seen;

static void record_kick(void *ctx, unsigned cpu)
{
    assert_true(cpu < MAX_VCPUS);
    kick_ctx_seen = ctx;
    kicks[cpu]++;
    kicks_total++;
}

static void kicks_reset(void)
{
    memset(kicks, 0, sizeof(kicks));
    kicks_total = 0;
    kick_ctx_seen = NULL;
}

/* ---- Fixture ---- */

static struct vgic_dist dist;
static struct vgic_cpu cpus[MAX_VCPUS];
static int kick_cookie;

static struct vgic_dist *init(enum gic_version version, unsigned nr_irqs, unsigned nr_vcpus,
                              unsigned nr_lrs)
{
    vgic_dist_init(&dist, version, nr_irqs, nr_vcpus);
    for (unsigned i = 0; i < nr_vcpus; i++) {
        vgic_cpu_init(&dist, &cpus[i], i, nr_lrs);
    }
    dist.kick = record_kick;
    dist.kick_ctx = &kick_cookie;
    /* Stale garbage in the LRs: a flush must overwrite every one it owns. */
    for (unsigned n = 0; n < VGIC_MAX_LRS; n++) {
        fake_lrs[n] = (struct lr_state){.intid = 999, .pending = true, .active = true};
        fake_lr_writes[n] = 0;
        fake_lr_reads[n] = 0;
        fake_lr_repends[n] = 0;
    }
    fake_underflow = false;
    fake_underflow_calls = 0;
    fake_nr_deactivated = 0;
    kicks_reset();
    return &dist;
}

static struct virq *irq_of(unsigned cpu, unsigned intid)
{
    struct virq *irq = vgic_get_irq(&dist, cpu, intid);

    assert_non_null(irq);
    return irq;
}

/* An enabled SPI with a priority, routed to vCPU target (ITARGETSR or IROUTER). */
static struct virq *spi(unsigned intid, uint8_t priority, unsigned target)
{
    struct virq *irq = irq_of(0, intid);

    irq->enabled = true;
    irq->priority = priority;
    irq->targets = (uint8_t)(1u << target);
    irq->irouter = target;
    return irq;
}

static bool lr_valid(unsigned n)
{
    return fake_lrs[n].pending || fake_lrs[n].active;
}

static unsigned valid_lrs(unsigned nr_lrs)
{
    unsigned count = 0;

    for (unsigned n = 0; n < nr_lrs; n++) {
        count += lr_valid(n);
    }
    return count;
}

/* The LR holding intid (for SGIs: from source), or -1. */
static int lr_of_source(unsigned nr_lrs, unsigned intid, int source)
{
    for (unsigned n = 0; n < nr_lrs; n++) {
        if (lr_valid(n) && fake_lrs[n].intid == intid &&
            (source < 0 || fake_lrs[n].source == (unsigned)source)) {
            return (int)n;
        }
    }
    return -1;
}

static int lr_of(unsigned nr_lrs, unsigned intid)
{
    return lr_of_source(nr_lrs, intid, -1);
}

/* The same virtual interrupt (and SGI source) in two LRs is UNPREDICTABLE. */
static void assert_no_duplicate_lrs(unsigned nr_lrs)
{
    for (unsigned a = 0; a < nr_lrs; a++) {
        for (unsigned b = a + 1; b < nr_lrs; b++) {
            if (lr_valid(a) && lr_valid(b)) {
                assert_false(fake_lrs[a].intid == fake_lrs[b].intid &&
                             fake_lrs[a].source == fake_lrs[b].source);
            }
        }
    }
}

/* The guest acknowledges LR n (GICV_IAR / ICV_IAR1_EL1): pending -> active. */
static void guest_ack(unsigned n)
{
    assert_true(fake_lrs[n].pending);
    fake_lrs[n].pending = false;
    fake_lrs[n].active = true;
}

/* The guest deactivates LR n (EOI with EOImode 0): active -> inactive. */
static void guest_eoi(unsigned n)
{
    assert_true(fake_lrs[n].active);
    fake_lrs[n].active = false;
}

/* The guest takes and completes everything its LRs show. */
static void guest_handle_all(unsigned nr_lrs)
{
    for (unsigned n = 0; n < nr_lrs; n++) {
        fake_lrs[n].pending = false;
        fake_lrs[n].active = false;
    }
}

static void flush(unsigned cpu)
{
    vgic_flush(&dist, cpu, &fake_hw);
}

static void sync_and_flush(unsigned cpu)
{
    vgic_sync(&dist, cpu, &fake_hw);
    vgic_flush(&dist, cpu, &fake_hw);
}

/* ---- Empty and basic flushes ---- */

static void test_flush_with_nothing_pending_invalidates_every_lr(void **state)
{
    (void)state;
    init(GIC_V2, 64, 1, 4);
    dist.enable_grp0 = true;
    flush(0);
    for (unsigned n = 0; n < 4; n++) {
        assert_int_equal(fake_lr_writes[n], 1);
        assert_false(lr_valid(n));
    }
    /* LRs beyond the implemented count are not touched. */
    assert_int_equal(fake_lr_writes[4], 0);
    assert_int_equal(fake_underflow_calls, 1);
    assert_false(fake_underflow);
    assert_false(vgic_has_deliverable(&dist, 0));
}

static void test_flush_copies_intid_priority_and_group(void **state)
{
    (void)state;
    init(GIC_V3, 64, 1, 4);
    dist.enable_grp1 = true;
    spi(40, 0xa0, 0)->group1 = true;
    vgic_inject_edge(&dist, 0, 40);
    flush(0);
    int n = lr_of(4, 40);
    assert_true(n >= 0);
    assert_true(fake_lrs[n].pending);
    assert_false(fake_lrs[n].active);
    assert_int_equal(fake_lrs[n].priority, 0xa0);
    assert_true(fake_lrs[n].group1);
    assert_false(fake_lrs[n].hw);
    assert_false(fake_lrs[n].eoi_maint); /* edge: no EOI maintenance needed */
    assert_int_equal(valid_lrs(4), 1);
}

/* ---- Priority order ---- */

static void test_flush_orders_by_priority_lower_value_first(void **state)
{
    (void)state;
    init(GIC_V2, 64, 1, 4);
    dist.enable_grp0 = true;
    spi(32, 0xa0, 0);
    spi(33, 0x20, 0);
    spi(34, 0xa0, 0);
    spi(35, 0x60, 0);
    for (unsigned i = 32; i <= 35; i++) {
        vgic_inject_edge(&dist, 0, i);
    }
    flush(0);
    assert_int_equal(fake_lrs[0].intid, 33);
    assert_int_equal(fake_lrs[1].intid, 35);
    assert_int_equal(fake_lrs[2].intid, 32); /* tie at 0xa0: lower INTID first */
    assert_int_equal(fake_lrs[3].intid, 34);
    assert_int_equal(valid_lrs(4), 4);
    assert_false(fake_underflow);
}

static void test_flush_ties_broken_by_intid_across_sgis_ppis_and_spis(void **state)
{
    (void)state;
    init(GIC_V2, 64, 2, 4);
    dist.enable_grp0 = true;
    spi(40, 0x80, 0);
    irq_of(0, 20)->enabled = true;
    irq_of(0, 20)->priority = 0x80;
    irq_of(0, 5)->priority = 0x80;
    vgic_inject_edge(&dist, 0, 40);
    vgic_inject_edge(&dist, 0, 20);
    vgic_send_sgi(&dist, 1, 0, 5);
    flush(0);
    assert_int_equal(fake_lrs[0].intid, 5);
    assert_int_equal(fake_lrs[1].intid, 20);
    assert_int_equal(fake_lrs[2].intid, 40);
    assert_int_equal(valid_lrs(4), 3);
}

static void test_flush_keeps_active_interrupt_first_even_if_lower_priority(void **state)
{
    (void)state;
    init(GIC_V2, 64, 1, 2);
    dist.enable_grp0 = true;
    spi(32, 0xf0, 0);
    vgic_inject_edge(&dist, 0, 32);
    flush(0);
    assert_int_equal(fake_lrs[0].intid, 32);
    guest_ack(0); /* the guest is in its handler */

    spi(33, 0x00, 0);
    spi(34, 0x10, 0);
    spi(35, 0x20, 0);
    vgic_inject_edge(&dist, 0, 33);
    vgic_inject_edge(&dist, 0, 34);
    vgic_inject_edge(&dist, 0, 35);
    sync_and_flush(0);
    /* Only two LRs: the active one must stay visible so the guest can deactivate it. */
    assert_int_equal(fake_lrs[0].intid, 32);
    assert_true(fake_lrs[0].active);
    assert_false(fake_lrs[0].pending);
    assert_int_equal(fake_lrs[1].intid, 33);
    assert_true(fake_lrs[1].pending);
    assert_true(fake_underflow);
}

/* ---- Enables ---- */

static void test_disabled_interrupt_stays_out_of_lrs_until_enabled(void **state)
{
    (void)state;
    init(GIC_V2, 64, 1, 4);
    dist.enable_grp0 = true;
    spi(40, 0x80, 0)->enabled = false;
    vgic_inject_edge(&dist, 0, 40);
    flush(0);
    assert_int_equal(valid_lrs(4), 0);
    assert_false(vgic_has_deliverable(&dist, 0));

    /* Disabled does not mean lost: the pending state was kept. Changed behind the API's back,
     * so the change is announced as every register write announces it. */
    irq_of(0, 40)->enabled = true;
    dist.generation++;
    sync_and_flush(0);
    assert_int_equal(lr_of(4, 40), 0);
    assert_true(fake_lrs[0].pending);
}

static void test_group_disabled_interrupt_stays_out_of_lrs(void **state)
{
    (void)state;
    init(GIC_V3, 64, 1, 4);
    dist.enable_grp0 = true;
    dist.enable_grp1 = false;
    spi(40, 0x80, 0)->group1 = true;
    spi(41, 0x80, 0)->group1 = false;
    vgic_inject_edge(&dist, 0, 40);
    vgic_inject_edge(&dist, 0, 41);
    flush(0);
    assert_int_equal(valid_lrs(4), 1);
    assert_true(lr_of(4, 41) >= 0);
    assert_int_equal(lr_of(4, 40), -1);

    dist.enable_grp1 = true;
    dist.enable_grp0 = false;
    sync_and_flush(0);
    assert_int_equal(valid_lrs(4), 1);
    assert_true(lr_of(4, 40) >= 0);
    assert_true(fake_lrs[lr_of(4, 40)].group1);

    dist.enable_grp0 = true;
    sync_and_flush(0);
    assert_int_equal(valid_lrs(4), 2);
}

/* ---- More candidates than list registers ---- */

struct delivery_log {
    unsigned order[64];
    unsigned count;
};

/* Records what the LRs present as pending, in LR order, then lets the guest handle it all. */
static void take_round(struct delivery_log *log, unsigned nr_lrs)
{
    for (unsigned n = 0; n < nr_lrs; n++) {
        if (fake_lrs[n].pending) {
            assert_true(log->count < 64);
            log->order[log->count++] = fake_lrs[n].intid;
        }
    }
    guest_handle_all(nr_lrs);
}

static void
test_more_pending_than_lrs_fills_all_in_priority_order_and_requests_underflow(void **state)
{
    /* INTID -> priority, deliberately not in INTID order. */
    static const struct {
        unsigned intid;
        uint8_t prio;
    } irqs[] = {
        {32, 0x70}, {33, 0x10}, {34, 0xf0}, {35, 0x30}, {36, 0x50}, {37, 0x00}, {38, 0x90},
    };
    static const unsigned expected[] = {37, 33, 35, 36, 32, 38, 34};
    struct delivery_log log = {0};

    (void)state;
    init(GIC_V2, 64, 1, 4);
    dist.enable_grp0 = true;
    for (unsigned i = 0; i < 7; i++) {
        spi(irqs[i].intid, irqs[i].prio, 0);
        vgic_inject_edge(&dist, 0, irqs[i].intid);
    }

    flush(0);
    assert_int_equal(valid_lrs(4), 4);
    assert_true(fake_underflow);
    assert_no_duplicate_lrs(4);
    take_round(&log, 4);

    sync_and_flush(0);
    assert_int_equal(valid_lrs(4), 3);
    assert_false(fake_underflow);
    assert_no_duplicate_lrs(4);
    take_round(&log, 4);

    sync_and_flush(0);
    assert_int_equal(valid_lrs(4), 0);
    assert_false(fake_underflow);

    assert_int_equal(log.count, 7);
    for (unsigned i = 0; i < 7; i++) {
        assert_int_equal(log.order[i], expected[i]);
    }
}

static void test_partial_take_keeps_untaken_interrupts_and_loses_none(void **state)
{
    unsigned seen[64] = {0};

    (void)state;
    init(GIC_V2, 64, 1, 4);
    dist.enable_grp0 = true;
    for (unsigned i = 0; i < 6; i++) {
        spi(32 + i, (uint8_t)(0x10 * i), 0); /* 32 is the highest priority */
        vgic_inject_edge(&dist, 0, 32 + i);
    }
    flush(0);
    assert_true(fake_underflow);

    /* The guest takes only the first two; 34 and 35 stay pending in their LRs. */
    assert_int_equal(fake_lrs[0].intid, 32);
    assert_int_equal(fake_lrs[1].intid, 33);
    seen[32]++;
    seen[33]++;
    guest_ack(0);
    guest_eoi(0);
    guest_ack(1);
    guest_eoi(1);
    sync_and_flush(0);

    assert_int_equal(valid_lrs(4), 4);
    assert_false(fake_underflow);
    assert_no_duplicate_lrs(4);
    assert_int_equal(fake_lrs[0].intid, 34);
    assert_int_equal(fake_lrs[1].intid, 35);
    assert_int_equal(fake_lrs[2].intid, 36);
    assert_int_equal(fake_lrs[3].intid, 37);
    for (unsigned n = 0; n < 4; n++) {
        assert_true(fake_lrs[n].pending);
        seen[fake_lrs[n].intid]++;
    }
    guest_handle_all(4);
    sync_and_flush(0);
    assert_int_equal(valid_lrs(4), 0);
    for (unsigned i = 32; i < 38; i++) {
        assert_int_equal(seen[i], 1);
    }
}

static void test_higher_priority_arrival_displaces_the_lowest_without_losing_it(void **state)
{
    (void)state;
    init(GIC_V2, 64, 1, 2);
    dist.enable_grp0 = true;
    spi(40, 0x80, 0);
    spi(41, 0x90, 0);
    vgic_inject_edge(&dist, 0, 40);
    vgic_inject_edge(&dist, 0, 41);
    flush(0);
    assert_false(fake_underflow);

    kicks_reset();
    spi(50, 0x00, 0);
    vgic_inject_edge(&dist, 0, 50);
    assert_int_equal(kicks[0], 1); /* the vCPU must come out to see it */

    sync_and_flush(0);
    assert_int_equal(fake_lrs[0].intid, 50);
    assert_int_equal(fake_lrs[1].intid, 40);
    assert_true(fake_underflow); /* 41 is still waiting */

    guest_handle_all(2);
    sync_and_flush(0);
    assert_int_equal(lr_of(2, 41), 0);
    assert_true(fake_lrs[0].pending);
    assert_false(fake_underflow);
}

static void test_pending_edge_not_taken_before_exit_is_presented_again(void **state)
{
    (void)state;
    init(GIC_V2, 64, 1, 4);
    dist.enable_grp0 = true;
    spi(40, 0x80, 0);
    vgic_inject_edge(&dist, 0, 40);
    flush(0);
    assert_int_equal(lr_of(4, 40), 0);
    /* Exit before the guest acknowledged it. */
    sync_and_flush(0);
    assert_int_equal(lr_of(4, 40), 0);
    assert_true(fake_lrs[0].pending);
    assert_int_equal(valid_lrs(4), 1);
}

/* ---- Edge and level ---- */

static void test_edge_pends_once_however_many_edges_before_delivery(void **state)
{
    (void)state;
    init(GIC_V2, 64, 1, 4);
    dist.enable_grp0 = true;
    spi(40, 0x80, 0);
    vgic_inject_edge(&dist, 0, 40);
    vgic_inject_edge(&dist, 0, 40);
    vgic_inject_edge(&dist, 0, 40);
    flush(0);
    assert_int_equal(valid_lrs(4), 1);
    guest_handle_all(4);
    sync_and_flush(0);
    assert_int_equal(valid_lrs(4), 0);
    assert_false(vgic_has_deliverable(&dist, 0));
}

static void test_edge_arriving_while_active_becomes_active_and_pending(void **state)
{
    (void)state;
    init(GIC_V2, 64, 1, 4);
    dist.enable_grp0 = true;
    spi(40, 0x80, 0);
    vgic_inject_edge(&dist, 0, 40);
    flush(0);
    guest_ack(0);
    vgic_inject_edge(&dist, 0, 40);
    sync_and_flush(0);
    assert_int_equal(valid_lrs(4), 1);
    assert_true(fake_lrs[0].active);
    assert_true(fake_lrs[0].pending);
    /* The guest finishes the first, then takes the second. */
    guest_eoi(0);
    guest_ack(0);
    guest_eoi(0);
    sync_and_flush(0);
    assert_int_equal(valid_lrs(4), 0);
}

static void test_edge_line_pends_on_rising_edges_only(void **state)
{
    (void)state;
    init(GIC_V2, 64, 1, 4);
    dist.enable_grp0 = true;
    spi(40, 0x80, 0); /* edge-triggered (the reset configuration of SPIs here) */
    assert_false(irq_of(0, 40)->level);

    vgic_set_line(&dist, 0, 40, true);
    vgic_set_line(&dist, 0, 40, true); /* still high: no new edge */
    flush(0);
    assert_int_equal(valid_lrs(4), 1);
    assert_false(fake_lrs[0].eoi_maint);
    guest_handle_all(4);
    sync_and_flush(0);
    assert_int_equal(valid_lrs(4), 0); /* high but no edge: nothing more */

    vgic_set_line(&dist, 0, 40, true);
    sync_and_flush(0);
    assert_int_equal(valid_lrs(4), 0);

    vgic_set_line(&dist, 0, 40, false);
    vgic_set_line(&dist, 0, 40, true);
    sync_and_flush(0);
    assert_int_equal(valid_lrs(4), 1);
}

static struct virq *level_spi(unsigned intid, uint8_t priority, unsigned target)
{
    struct virq *irq = spi(intid, priority, target);

    irq->level = true;
    return irq;
}

static void test_level_line_requests_eoi_maintenance_without_hw(void **state)
{
    (void)state;
    init(GIC_V2, 64, 1, 4);
    dist.enable_grp0 = true;
    level_spi(40, 0x80, 0);
    vgic_set_line(&dist, 0, 40, true);
    flush(0);
    assert_int_equal(lr_of(4, 40), 0);
    assert_true(fake_lrs[0].pending);
    assert_true(fake_lrs[0].eoi_maint);
    assert_false(fake_lrs[0].hw);
}

static void test_level_line_still_high_after_eoi_is_delivered_again(void **state)
{
    (void)state;
    init(GIC_V2, 64, 1, 4);
    dist.enable_grp0 = true;
    level_spi(40, 0x80, 0);
    vgic_set_line(&dist, 0, 40, true);
    flush(0);
    guest_ack(0);
    guest_eoi(0); /* the EOI maintenance interrupt brings the vCPU out */
    sync_and_flush(0);
    assert_int_equal(lr_of(4, 40), 0);
    assert_true(fake_lrs[0].pending);
    assert_true(fake_lrs[0].eoi_maint);

    /* The device is serviced this time: the line drops before the EOI. */
    guest_ack(0);
    vgic_set_line(&dist, 0, 40, false);
    guest_eoi(0);
    sync_and_flush(0);
    assert_int_equal(valid_lrs(4), 0);
    assert_false(vgic_has_deliverable(&dist, 0));
}

static void test_level_line_high_when_acknowledged_is_active_and_pending(void **state)
{
    (void)state;
    init(GIC_V2, 64, 1, 4);
    dist.enable_grp0 = true;
    level_spi(40, 0x80, 0);
    vgic_set_line(&dist, 0, 40, true);
    flush(0);
    guest_ack(0);
    sync_and_flush(0); /* exit for another reason while in the handler */
    assert_int_equal(valid_lrs(4), 1);
    assert_true(fake_lrs[0].active);
    assert_true(fake_lrs[0].pending);
}

static void test_level_line_dropped_before_ack_is_no_longer_pending(void **state)
{
    (void)state;
    init(GIC_V2, 64, 1, 4);
    dist.enable_grp0 = true;
    level_spi(40, 0x80, 0);
    vgic_set_line(&dist, 0, 40, true);
    flush(0);
    assert_true(vgic_has_deliverable(&dist, 0));
    vgic_set_line(&dist, 0, 40, false);
    sync_and_flush(0);
    assert_int_equal(valid_lrs(4), 0);
    assert_false(vgic_has_deliverable(&dist, 0));
}

static void test_level_interrupt_set_pending_by_ispendr_survives_exit_before_ack(void **state)
{
    (void)state;
    init(GIC_V2, 64, 1, 4);
    dist.enable_grp0 = true;
    level_spi(40, 0x80, 0);
    /* GICD_ISPENDR1 bit 8: software-set pending, line low. IHI0048B 4.3.7: the interrupt stays
     * pending until acknowledged or cleared through GICD_ICPENDR, whatever the line does. */
    assert_true(vgic_v2_dist_write(&dist, 0, 0x204, 4, 1u << 8));
    flush(0);
    assert_int_equal(lr_of(4, 40), 0);
    assert_true(fake_lrs[0].pending);

    sync_and_flush(0); /* the guest never got to acknowledge it */
    assert_int_equal(lr_of(4, 40), 0);
    assert_true(fake_lrs[0].pending);
}

/* ---- Hardware-linked interrupts ---- */

static void test_hw_linked_ppi_carries_pintid_and_no_eoi_bit(void **state)
{
    (void)state;
    init(GIC_V2, 64, 2, 4);
    dist.enable_grp0 = true;
    irq_of(1, 27)->enabled = true;
    irq_of(1, 27)->priority = 0xa0;
    vgic_link_hw(&dist, 1, 27, 27, false);
    assert_false(irq_of(0, 27)->hw); /* linked on vCPU 1 only */

    vgic_inject_edge(&dist, 1, 27); /* as the physical timer interrupt handler does */
    flush(1);
    int n = lr_of(4, 27);
    assert_true(n >= 0);
    assert_true(fake_lrs[n].hw);
    assert_int_equal(fake_lrs[n].pintid, 27);
    assert_false(fake_lrs[n].eoi_maint);
    assert_true(fake_lrs[n].pending);

    /* Acknowledged: still presented active, still linked, still no EOI request. */
    guest_ack((unsigned)n);
    sync_and_flush(1);
    n = lr_of(4, 27);
    assert_true(n >= 0);
    assert_true(fake_lrs[n].active);
    assert_true(fake_lrs[n].hw);
    assert_int_equal(fake_lrs[n].pintid, 27);
    assert_false(fake_lrs[n].eoi_maint);

    /* Deactivated by the guest (and so in hardware): gone. */
    guest_eoi((unsigned)n);
    sync_and_flush(1);
    assert_int_equal(valid_lrs(4), 0);
}

static void test_hw_linked_spi_uses_its_own_physical_intid(void **state)
{
    (void)state;
    init(GIC_V3, 96, 1, 4);
    dist.enable_grp1 = true;
    spi(48, 0x80, 0)->group1 = true;
    vgic_link_hw(&dist, 0, 48, 80, false);
    vgic_inject_edge(&dist, 0, 48);
    flush(0);
    int n = lr_of(4, 48);
    assert_true(n >= 0);
    assert_true(fake_lrs[n].hw);
    assert_int_equal(fake_lrs[n].pintid, 80);
    assert_false(fake_lrs[n].eoi_maint);
}

static void test_hw_linked_level_line_high_is_delivered(void **state)
{
    (void)state;
    init(GIC_V2, 64, 1, 4);
    dist.enable_grp0 = true;
    irq_of(0, 27)->enabled = true;
    assert_true(irq_of(0, 27)->level);
    vgic_link_hw(&dist, 0, 27, 27, false);
    /* A level-sensitive interrupt whose line is asserted is pending (IHI0048B 1.4.2); being
     * hardware-linked only changes how it is deactivated. */
    vgic_set_line(&dist, 0, 27, true);
    assert_true(vgic_has_deliverable(&dist, 0));
    flush(0);
    int n = lr_of(4, 27);
    assert_true(n >= 0);
    assert_true(fake_lrs[n].pending);
    assert_true(fake_lrs[n].hw);
    assert_int_equal(fake_lrs[n].pintid, 27);
    assert_false(fake_lrs[n].eoi_maint);
}

/* vCPU 0's timer PPI 27 linked to the physical 27 (held or through the LR), fired once and
 * flushed: returns the LR holding it. */
static int linked_timer_fired(enum gic_version version, bool held)
{
    init(version, 64, 1, 4);
    dist.enable_grp0 = true;
    dist.enable_grp1 = true;
    irq_of(0, 27)->enabled = true;
    irq_of(0, 27)->group1 = version == GIC_V3;
    vgic_link_hw(&dist, 0, 27, 27, held);
    vgic_inject_edge(&dist, 0, 27);
    flush(0);
    int n = lr_of(4, 27);
    assert_true(n >= 0);
    return n;
}

/* A held link: the LR is not hardware-linked but asks for an EOI maintenance interrupt, and the
 * physical interrupt is deactivated by the sync that finds the guest has EOIed it, not before. */
static void test_held_link_deactivates_the_physical_interrupt_after_the_guests_eoi(void **state)
{
    (void)state;
    int n = linked_timer_fired(GIC_V2, true);
    assert_true(fake_lrs[n].pending);
    assert_false(fake_lrs[n].hw);
    assert_true(fake_lrs[n].eoi_maint);

    /* Taken, not yet EOIed: the physical one stays active. */
    fake_lrs[n].pending = false;
    fake_lrs[n].active = true;
    sync_and_flush(0);
    assert_int_equal(fake_nr_deactivated, 0);
    n = lr_of(4, 27);
    assert_true(n >= 0);
    assert_true(fake_lrs[n].active);
    assert_true(fake_lrs[n].eoi_maint);

    /* EOIed: deactivated once, and nothing left in the LRs. */
    fake_lrs[n] = (struct lr_state){0};
    sync_and_flush(0);
    assert_int_equal(fake_nr_deactivated, 1);
    assert_int_equal(fake_deactivated[0], 27);
    assert_int_equal(lr_of(4, 27), -1);
    sync_and_flush(0);
    assert_int_equal(fake_nr_deactivated, 1);
}

/* A timer the guest disabled before taking its interrupt: the untaken virtual interrupt is
 * withdrawn and its physical one, active since injection, deactivated; taken, it is left alone. */
static void test_retract_withdraws_an_untaken_linked_interrupt(void **state)
{
    (void)state;
    linked_timer_fired(GIC_V3, false);
    /* The guest had IRQs masked: still pending at its next exit. */
    vgic_sync(&dist, 0, &fake_hw);
    assert_true(virq_pending(irq_of(0, 27)));
    vgic_retract_linked(&dist, 0, 27, &fake_hw);
    assert_false(virq_pending(irq_of(0, 27)));
    assert_false(vgic_has_deliverable(&dist, 0));
    assert_int_equal(fake_nr_deactivated, 1);
    assert_int_equal(fake_deactivated[0], 27);
    flush(0);
    assert_int_equal(lr_of(4, 27), -1);
    /* Nothing injected from the physical side: nothing to withdraw. */
    vgic_retract_linked(&dist, 0, 27, &fake_hw);
    assert_int_equal(fake_nr_deactivated, 1);

    /* Taken (active): the guest's EOI ends it, not a retraction. */
    vgic_inject_edge(&dist, 0, 27);
    flush(0);
    int n = lr_of(4, 27);
    fake_lrs[n].pending = false;
    fake_lrs[n].active = true;
    vgic_sync(&dist, 0, &fake_hw);
    vgic_retract_linked(&dist, 0, 27, &fake_hw);
    assert_true(irq_of(0, 27)->active);
    assert_int_equal(fake_nr_deactivated, 1);
}

/* A software-pended interrupt (ISPENDR) is not the physical line's: not withdrawn. */
static void test_retract_leaves_a_software_pended_interrupt(void **state)
{
    (void)state;
    init(GIC_V3, 64, 1, 4);
    vgic_link_hw(&dist, 0, 27, 27, false);
    assert_true(vgic_v3_redist_write(&dist, 0, 0x10000 + 0x200, 4, 1u << 27)); /* ISPENDR0 */
    vgic_retract_linked(&dist, 0, 27, &fake_hw);
    assert_true(virq_pending(irq_of(0, 27)));
    assert_int_equal(fake_nr_deactivated, 0);
}

/* A hardware link is never deactivated by the hypervisor: the guest's EOI does it. */
static void test_hw_link_is_not_deactivated_by_the_hypervisor(void **state)
{
    (void)state;
    int n = linked_timer_fired(GIC_V3, false);
    assert_true(fake_lrs[n].hw);
    assert_false(fake_lrs[n].eoi_maint);
    fake_lrs[n] = (struct lr_state){0};
    sync_and_flush(0);
    assert_int_equal(fake_nr_deactivated, 0);
}

/* vCPU 0 clears, through vCPU 1's redistributor, the active and pending state of an SGI that
 * vCPU 1 holds in a list register: vCPU 1 is kicked, and its next sync does not bring the state
 * back from the LR (it would sit there forever, taking an LR no new SGI can use). */
static void test_clearing_an_irq_held_in_another_vcpus_lr_sticks(void **state)
{
    (void)state;
    init(GIC_V3, 64, 2, 4);
    dist.enable_grp1 = true;
    irq_of(1, 3)->enabled = true;
    irq_of(1, 3)->group1 = true;
    vgic_send_sgi(&dist, 0, 1, 3);
    flush(1);
    int n = lr_of(4, 3);
    assert_true(n >= 0);
    /* vCPU 1 took it (active) and another one became pending meanwhile. */
    fake_lrs[n].pending = true;
    fake_lrs[n].active = true;

    kicks_reset();
    assert_true(vgic_v3_redist_write(&dist, 1, 0x10000 + 0x380, 4, 1u << 3)); /* ICACTIVER0 */
    assert_true(vgic_v3_redist_write(&dist, 1, 0x10000 + 0x280, 4, 1u << 3)); /* ICPENDR0 */
    assert_true(kicks[1] >= 1);
    uint64_t v = 1;
    assert_true(vgic_v3_redist_read(&dist, 1, 0x10000 + 0x300, 4, &v)); /* ISACTIVER0 */
    assert_int_equal(v & (1u << 3), 0);

    sync_and_flush(1);
    assert_false(irq_of(1, 3)->active);
    assert_false(virq_pending(irq_of(1, 3)));
    assert_int_equal(lr_of(4, 3), -1);
    assert_true(vgic_v3_redist_read(&dist, 1, 0x10000 + 0x300, 4, &v));
    assert_int_equal(v & (1u << 3), 0);

    /* A new SGI is delivered again. */
    vgic_send_sgi(&dist, 0, 1, 3);
    sync_and_flush(1);
    assert_true(lr_of(4, 3) >= 0);
}

/* ---- GICv2 SGIs ---- */

static void test_v2_sgi_from_several_sources_delivered_once_per_source(void **state)
{
    unsigned per_source[MAX_VCPUS] = {0};

    (void)state;
    init(GIC_V2, 64, 4, 4);
    dist.enable_grp0 = true;
    irq_of(0, 3)->priority = 0x40;
    vgic_send_sgi(&dist, 1, 0, 3);
    vgic_send_sgi(&dist, 2, 0, 3);
    vgic_send_sgi(&dist, 2, 0, 3); /* same source again: still one pending SGI */
    vgic_send_sgi(&dist, 3, 0, 3);
    flush(0);

    for (unsigned round = 0; round < 8; round++) {
        assert_no_duplicate_lrs(4);
        for (unsigned n = 0; n < 4; n++) {
            if (fake_lrs[n].pending) {
                assert_int_equal(fake_lrs[n].intid, 3);
                assert_true(fake_lrs[n].source < MAX_VCPUS);
                per_source[fake_lrs[n].source]++;
            }
        }
        bool more = fake_underflow;
        guest_handle_all(4);
        sync_and_flush(0);
        if (!more && valid_lrs(4) == 0) {
            break;
        }
    }
    assert_int_equal(per_source[0], 0);
    assert_int_equal(per_source[1], 1);
    assert_int_equal(per_source[2], 1);
    assert_int_equal(per_source[3], 1);
    assert_int_equal(valid_lrs(4), 0);
    assert_false(vgic_has_deliverable(&dist, 0));
}

static void test_v2_sgi_keeps_its_source_while_active(void **state)
{
    (void)state;
    init(GIC_V2, 64, 4, 4);
    dist.enable_grp0 = true;
    vgic_send_sgi(&dist, 2, 1, 7);
    flush(1);
    int n = lr_of_source(4, 7, 2);
    assert_true(n >= 0);
    guest_ack((unsigned)n);
    sync_and_flush(1);
    /* The guest's EOI names the source (GICV_EOIR.CPUID): the LR must keep it. */
    n = lr_of(4, 7);
    assert_true(n >= 0);
    assert_true(fake_lrs[n].active);
    assert_int_equal(fake_lrs[n].source, 2);
}

static void test_v2_sgi_pending_in_lr_not_taken_keeps_its_source(void **state)
{
    (void)state;
    init(GIC_V2, 64, 4, 4);
    dist.enable_grp0 = true;
    vgic_send_sgi(&dist, 3, 0, 1);
    flush(0);
    assert_true(lr_of_source(4, 1, 3) >= 0);
    sync_and_flush(0);
    assert_true(lr_of_source(4, 1, 3) >= 0);
    assert_int_equal(valid_lrs(4), 1);
}

static void test_v3_sgi_from_two_sources_is_one_pending_interrupt(void **state)
{
    (void)state;
    init(GIC_V3, 64, 3, 4);
    dist.enable_grp1 = true;
    irq_of(0, 9)->enabled = true;
    irq_of(0, 9)->group1 = true;
    vgic_send_sgi(&dist, 1, 0, 9);
    vgic_send_sgi(&dist, 2, 0, 9);
    flush(0);
    assert_int_equal(valid_lrs(4), 1);
    assert_true(lr_of(4, 9) >= 0);
    assert_false(fake_underflow);
    guest_handle_all(4);
    sync_and_flush(0);
    assert_int_equal(valid_lrs(4), 0);
}

/* ---- SPI routing ---- */

static void test_v2_spi_routing_by_itargetsr_lowest_target(void **state)
{
    (void)state;
    init(GIC_V2, 64, 4, 4);
    struct virq *irq = irq_of(0, 40);

    irq->targets = 0x04;
    assert_int_equal(vgic_spi_target(&dist, irq), 2);
    irq->targets = 0x0c;
    assert_int_equal(vgic_spi_target(&dist, irq), 2);
    irq->targets = 0x09;
    assert_int_equal(vgic_spi_target(&dist, irq), 0);
    irq->targets = 0;
    assert_int_equal(vgic_spi_target(&dist, irq), -1);
    irq->targets = 0x30; /* vCPUs 4 and 5 do not exist */
    assert_int_equal(vgic_spi_target(&dist, irq), -1);
}

static void test_v2_spi_is_delivered_to_its_target_only(void **state)
{
    (void)state;
    init(GIC_V2, 64, 4, 4);
    dist.enable_grp0 = true;
    spi(40, 0x80, 2);
    vgic_inject_edge(&dist, 0, 40); /* the cpu argument does not matter for an SPI */
    assert_int_equal(kicks[2], 1);
    assert_int_equal(kicks_total, 1);
    assert_ptr_equal(kick_ctx_seen, &kick_cookie);
    assert_false(vgic_has_deliverable(&dist, 0));
    assert_true(vgic_has_deliverable(&dist, 2));
    flush(0);
    assert_int_equal(valid_lrs(4), 0);
    flush(2);
    assert_int_equal(lr_of(4, 40), 0);
}

static void test_v3_spi_routing_by_irouter(void **state)
{
    (void)state;
    init(GIC_V3, 64, 4, 4);
    struct virq *irq = irq_of(0, 40);

    irq->irouter = 3;
    assert_int_equal(vgic_spi_target(&dist, irq), 3);
    irq->irouter = 0;
    assert_int_equal(vgic_spi_target(&dist, irq), 0);
    irq->irouter = 1ull << 31; /* IRM: 1 of N, taken by vCPU 0 */
    assert_int_equal(vgic_spi_target(&dist, irq), 0);
    irq->irouter = (1ull << 31) | 3;
    assert_int_equal(vgic_spi_target(&dist, irq), 0);
    irq->irouter = 4; /* Aff0 beyond the last vCPU */
    assert_int_equal(vgic_spi_target(&dist, irq), -1);
    irq->irouter = 0x100 | 1; /* Aff1 = 1: no such PE */
    assert_int_equal(vgic_spi_target(&dist, irq), -1);
    irq->irouter = 0x10000 | 1; /* Aff2 = 1 */
    assert_int_equal(vgic_spi_target(&dist, irq), -1);
    irq->irouter = (1ull << 32) | 1; /* Aff3 = 1 */
    assert_int_equal(vgic_spi_target(&dist, irq), -1);
}

static void test_v3_spi_is_delivered_to_irouter_target_and_irm_to_vcpu0(void **state)
{
    (void)state;
    init(GIC_V3, 64, 4, 4);
    dist.enable_grp1 = true;
    spi(40, 0x80, 3)->group1 = true;
    spi(41, 0x80, 2)->group1 = true;
    irq_of(0, 41)->irouter = 1ull << 31;
    vgic_inject_edge(&dist, 0, 40);
    vgic_inject_edge(&dist, 0, 41);
    assert_int_equal(kicks[3], 1);
    assert_int_equal(kicks[0], 1);
    assert_int_equal(kicks_total, 2);
    flush(3);
    assert_int_equal(lr_of(4, 40), 0);
    assert_int_equal(valid_lrs(4), 1);
    flush(0);
    assert_int_equal(lr_of(4, 41), 0);
    assert_int_equal(valid_lrs(4), 1);
}

static void test_v3_spi_routed_to_no_vcpu_is_delivered_nowhere(void **state)
{
    (void)state;
    init(GIC_V3, 64, 2, 4);
    dist.enable_grp1 = true;
    spi(40, 0x80, 0)->group1 = true;
    irq_of(0, 40)->irouter = 7;
    vgic_inject_edge(&dist, 0, 40);
    assert_int_equal(kicks_total, 0);
    for (unsigned cpu = 0; cpu < 2; cpu++) {
        assert_false(vgic_has_deliverable(&dist, cpu));
        flush(cpu);
        assert_int_equal(valid_lrs(4), 0);
    }
}

/* ---- Kicks ---- */

static void test_kick_names_the_vcpu_that_has_something_to_take(void **state)
{
    (void)state;
    init(GIC_V2, 64, 4, 4);
    dist.enable_grp0 = true;

    irq_of(1, 20)->enabled = true; /* a level PPI of vCPU 1 */
    vgic_set_line(&dist, 1, 20, true);
    assert_int_equal(kicks[1], 1);
    assert_int_equal(kicks_total, 1);

    kicks_reset();
    vgic_send_sgi(&dist, 0, 3, 2);
    assert_int_equal(kicks[3], 1);
    assert_int_equal(kicks_total, 1);

    kicks_reset();
    irq_of(2, 25)->enabled = true;
    vgic_inject_edge(&dist, 2, 25);
    assert_int_equal(kicks[2], 1);
    assert_int_equal(kicks_total, 1);
}

static void test_no_kick_when_the_interrupt_is_masked(void **state)
{
    (void)state;
    init(GIC_V2, 64, 4, 4);
    dist.enable_grp0 = true;

    spi(40, 0x80, 1)->enabled = false; /* disabled */
    vgic_inject_edge(&dist, 0, 40);
    vgic_set_line(&dist, 1, 21, true); /* PPI 21 of vCPU 1: disabled at reset */
    assert_int_equal(kicks_total, 0);

    spi(41, 0x80, 1)->group1 = true; /* group 1 while only group 0 is enabled */
    vgic_inject_edge(&dist, 0, 41);
    irq_of(2, 4)->group1 = true;
    vgic_send_sgi(&dist, 1, 2, 4);
    assert_int_equal(kicks_total, 0);

    /* The same SGI in group 0 does kick: the masking above was what kept it quiet. */
    irq_of(2, 6)->group1 = false;
    vgic_send_sgi(&dist, 1, 2, 6);
    assert_int_equal(kicks[2], 1);
    assert_int_equal(kicks_total, 1);

    kicks_reset();
    dist.enable_grp0 = false;
    vgic_send_sgi(&dist, 0, 3, 5);
    spi(42, 0x80, 3);
    vgic_inject_edge(&dist, 0, 42);
    assert_int_equal(kicks_total, 0);
}

static void test_no_kick_and_no_crash_without_a_kick_callback(void **state)
{
    (void)state;
    init(GIC_V2, 64, 2, 4);
    dist.kick = NULL;
    dist.enable_grp0 = true;
    spi(40, 0x80, 1);
    vgic_inject_edge(&dist, 0, 40);
    vgic_send_sgi(&dist, 0, 1, 1);
    assert_int_equal(kicks_total, 0);
    assert_true(vgic_has_deliverable(&dist, 1));
}

/* A kick that asserts what the kicked vCPU will find: the lock free, and its WFI test true. */
static unsigned kicks_finding_it;

static void kick_and_look(void *ctx, unsigned cpu)
{
    record_kick(ctx, cpu);
    assert_int_equal(dist.lock.locked, 0);
    kicks_finding_it += vgic_has_deliverable(&dist, cpu);
}

/* Flushed with nothing to give: the WFI test looks only at what changes from here on. */
static void idle_and_flushed(unsigned cpu)
{
    dist.kick = kick_and_look;
    kicks_finding_it = 0;
    flush(cpu);
    vgic_sync(&dist, cpu, &fake_hw);
    assert_false(vgic_has_deliverable(&dist, cpu));
}

/*
 * A kick may wake its vCPU at once, and the vCPU's WFI test (or its exit's flush test) reads
 * the generation and the changed marks without the lock. Kicked in the middle of a change (an
 * SPI's line raised, then the generation bumped), it found nothing, went back to sleep with the
 * kick spent, and the SPI waited for some other event (v2/irq_isolation: the UART's SPI 33 "not
 * taken by CPU 1 within 1000 ms"). Each way in: the kicked vCPU finds what it was kicked for.
 */
static void test_a_kicked_vcpu_finds_what_it_was_kicked_for(void **state)
{
    (void)state;
    init(GIC_V2, 64, 2, 4);
    dist.enable_grp0 = true;

    struct virq *uart = spi(33, 0x80, 1);
    uart->level = true;
    idle_and_flushed(1);
    vgic_set_line(&dist, 0, 33, true); /* from vCPU 0's access to the device */
    assert_int_equal(kicks[1], 1);
    assert_int_equal(kicks_finding_it, 1);

    init(GIC_V2, 64, 2, 4);
    dist.enable_grp0 = true;
    spi(40, 0x80, 1);
    idle_and_flushed(1);
    vgic_inject_edge(&dist, 0, 40);
    assert_int_equal(kicks_finding_it, 1);

    init(GIC_V2, 64, 2, 4);
    dist.enable_grp0 = true;
    spi(41, 0x80, 1);
    idle_and_flushed(1);
    assert_true(vgic_v2_dist_write(&dist, 0, 0x200 + 4, 4, 1u << (41 - 32))); /* ISPENDR1 */
    assert_int_equal(kicks_finding_it, 1);

    init(GIC_V2, 64, 2, 4);
    dist.enable_grp0 = true;
    idle_and_flushed(1);
    assert_true(vgic_v2_dist_write(&dist, 0, 0xf00, 4, (2u << 16) | 5)); /* GICD_SGIR */
    assert_int_equal(kicks[1], 1);
    assert_int_equal(kicks_finding_it, 1);

    init(GIC_V3, 64, 2, 4);
    dist.enable_grp1 = true;
    irq_of(1, 3)->enabled = irq_of(1, 3)->group1 = true;
    idle_and_flushed(1);
    vgic_send_sgi(&dist, 0, 1, 3);
    assert_int_equal(kicks_total, 1);
    assert_int_equal(kicks_finding_it, 1);
}

/* GICD_SGIR concerns its targets only: the VM's generation stays, and the sender's next entry
 * has nothing to do. */
static void test_v2_sgir_leaves_the_generation_alone(void **state)
{
    (void)state;
    init(GIC_V2, 64, 2, 4);
    dist.enable_grp0 = true;
    flush(0);
    flush(1);
    uint32_t generation = dist.generation;

    assert_true(vgic_v2_dist_write(&dist, 0, 0xf00, 4, (2u << 16) | 5));
    assert_int_equal(dist.generation, generation);
    assert_false(cpus[0].must_flush);
    assert_true(cpus[1].must_flush);
    flush(1);
    assert_int_equal(lr_of_source(4, 5, 0), 0);
}

/* ---- vgic_has_deliverable ---- */

static void test_has_deliverable_follows_enable_group_pending_and_owner(void **state)
{
    (void)state;
    init(GIC_V3, 64, 2, 4);
    assert_false(vgic_has_deliverable(&dist, 0));

    struct virq *ppi = irq_of(0, 23);
    ppi->group1 = true;
    vgic_inject_edge(&dist, 0, 23);
    assert_false(vgic_has_deliverable(&dist, 0)); /* disabled */
    ppi->enabled = true;
    assert_false(vgic_has_deliverable(&dist, 0)); /* group 1 disabled */
    dist.enable_grp1 = true;
    assert_true(vgic_has_deliverable(&dist, 0));
    assert_false(vgic_has_deliverable(&dist, 1)); /* private to vCPU 0 */

    /* Active (acknowledged, not yet deactivated): not deliverable again. */
    flush(0);
    guest_ack((unsigned)lr_of(4, 23));
    vgic_sync(&dist, 0, &fake_hw);
    assert_false(vgic_has_deliverable(&dist, 0));
}

/* ---- Reset ---- */

static void test_reset_clears_every_interrupt_and_the_group_enables(void **state)
{
    (void)state;
    init(GIC_V2, 96, 2, 4);
    dist.enable_grp0 = true;
    dist.enable_grp1 = true;
    level_spi(40, 0x80, 1)->group1 = true;
    vgic_set_line(&dist, 0, 40, true);
    spi(70, 0x10, 0);
    vgic_inject_edge(&dist, 0, 70);
    irq_of(0, 27)->enabled = true;
    vgic_link_hw(&dist, 0, 27, 27, false);
    vgic_inject_edge(&dist, 0, 27);
    vgic_send_sgi(&dist, 1, 0, 2);
    flush(0);
    guest_ack(0);
    vgic_sync(&dist, 0, &fake_hw);

    vgic_reset(&dist);
    assert_false(dist.enable_grp0);
    assert_false(dist.enable_grp1);
    for (unsigned cpu = 0; cpu < 2; cpu++) {
        for (unsigned i = 0; i < dist.nr_irqs; i++) {
            const struct virq *irq = irq_of(cpu, i);
            assert_int_equal(irq->intid, i);
            assert_false(virq_pending(irq));
            assert_false(irq->active);
            assert_false(irq->hw);
            assert_false(irq->group1);
            assert_int_equal(irq->priority, 0);
            assert_int_equal(irq->lr, -1);
            /* GICv2 SGIs are always enabled; nothing else is. */
            assert_int_equal(irq->enabled, i < VGIC_NR_SGIS);
        }
        for (unsigned n = 0; n < VGIC_MAX_LRS; n++) {
            assert_int_equal(cpus[cpu].lr_intid[n], VGIC_SPURIOUS);
        }
    }
    /* Even with the groups enabled again, there is nothing to deliver. */
    dist.enable_grp0 = true;
    dist.enable_grp1 = true;
    for (unsigned cpu = 0; cpu < 2; cpu++) {
        assert_false(vgic_has_deliverable(&dist, cpu));
        flush(cpu);
        assert_int_equal(valid_lrs(4), 0);
        assert_false(fake_underflow);
    }
}

static void test_reset_keeps_the_vm_shape(void **state)
{
    (void)state;
    init(GIC_V3, 100, 3, 4);
    assert_int_equal(dist.nr_irqs, 128); /* rounded up to a multiple of 32 */
    vgic_reset(&dist);
    assert_int_equal(dist.nr_irqs, 128);
    assert_int_equal(dist.nr_vcpus, 3);
    assert_int_equal(dist.version, GIC_V3);
    for (unsigned cpu = 0; cpu < 3; cpu++) {
        assert_ptr_equal(dist.cpus[cpu], &cpus[cpu]);
        assert_int_equal(cpus[cpu].index, cpu);
        assert_int_equal(cpus[cpu].nr_lrs, 4);
        assert_false(irq_of(cpu, 5)->enabled); /* GICv3 SGIs start disabled */
    }
}

/* ---- Exits that changed nothing ---- */

static unsigned lr_writes_total(void)
{
    unsigned total = 0;

    for (unsigned n = 0; n < VGIC_MAX_LRS; n++) {
        total += fake_lr_writes[n];
    }
    return total;
}

/* The guest took and deactivated the one interrupt it had: the LR the hardware calls empty is
 * neither read nor written back, and the next entry writes nothing. */
static void test_lr_the_guest_completed_is_neither_read_nor_rewritten(void **state)
{
    (void)state;
    init(GIC_V3, 64, 1, 4);
    dist.enable_grp1 = true;
    spi(40, 0xa0, 0)->group1 = true;
    vgic_inject_edge(&dist, 0, 40);
    flush(0);
    int n = lr_of(4, 40);
    assert_true(n >= 0);
    guest_ack((unsigned)n);
    guest_eoi((unsigned)n);
    unsigned writes = lr_writes_total();

    sync_and_flush(0);
    assert_int_equal(fake_lr_reads[n], 0);
    assert_int_equal(lr_writes_total(), writes);
    assert_false(irq_of(0, 40)->active);
    assert_false(virq_pending(irq_of(0, 40)));
    assert_int_equal(irq_of(0, 40)->lr, -1);
    assert_int_equal(valid_lrs(4), 0);

    /* The next edge is delivered as the first was. */
    vgic_inject_edge(&dist, 0, 40);
    sync_and_flush(0);
    assert_true(lr_of(4, 40) >= 0);
}

/* Without the hardware's empty-LR status, the same exit reads the LR and still loses nothing. */
static void test_sync_without_empty_lr_status_reads_every_lr_in_use(void **state)
{
    (void)state;
    init(GIC_V3, 64, 1, 4);
    dist.enable_grp1 = true;
    spi(40, 0xa0, 0)->group1 = true;
    spi(41, 0xa0, 0)->group1 = true;
    vgic_inject_edge(&dist, 0, 40);
    vgic_inject_edge(&dist, 0, 41);
    vgic_flush(&dist, 0, &fake_hw_without_elrsr);
    int n = lr_of(4, 40);
    guest_ack((unsigned)n);
    guest_eoi((unsigned)n);
    vgic_sync(&dist, 0, &fake_hw_without_elrsr);
    assert_int_equal(fake_lr_reads[n], 1);
    vgic_flush(&dist, 0, &fake_hw_without_elrsr);
    assert_int_equal(lr_of(4, 40), -1);
    assert_true(lr_of(4, 41) >= 0); /* untaken: presented again */
}

/* An interrupt injected while an LR still holds another, untaken one: both are presented. */
static void test_injection_while_an_lr_holds_another_presents_both(void **state)
{
    (void)state;
    init(GIC_V3, 64, 1, 4);
    dist.enable_grp1 = true;
    spi(40, 0xa0, 0)->group1 = true;
    spi(41, 0x80, 0)->group1 = true;
    vgic_inject_edge(&dist, 0, 40);
    flush(0);
    assert_true(lr_of(4, 40) >= 0);
    vgic_sync(&dist, 0, &fake_hw);
    vgic_inject_edge(&dist, 0, 41);
    flush(0);
    assert_true(lr_of(4, 40) >= 0);
    assert_true(lr_of(4, 41) >= 0);
    assert_no_duplicate_lrs(4);
}

/* An SGI to another vCPU changes nothing of the sender's: its entry writes no LR, while the
 * target's next entry presents the SGI. */
static void test_sgi_to_another_vcpu_leaves_the_senders_lrs_alone(void **state)
{
    (void)state;
    init(GIC_V3, 64, 2, 4);
    dist.enable_grp1 = true;
    for (unsigned cpu = 0; cpu < 2; cpu++) {
        irq_of(cpu, 2)->enabled = true;
        irq_of(cpu, 2)->group1 = true;
    }
    flush(0);
    flush(1);
    unsigned writes = lr_writes_total();

    vgic_sync(&dist, 0, &fake_hw);
    vgic_send_sgi(&dist, 0, 1, 2);
    vgic_flush(&dist, 0, &fake_hw);
    assert_int_equal(lr_writes_total(), writes);
    assert_true(kicks[1] >= 1);
    assert_true(vgic_has_deliverable(&dist, 1));
    assert_false(vgic_has_deliverable(&dist, 0));

    sync_and_flush(1);
    assert_true(lr_of(4, 2) >= 0);
}

/* An SGI a vCPU sends itself is presented at its own next entry. */
static void test_sgi_to_self_is_presented_at_the_next_entry(void **state)
{
    (void)state;
    init(GIC_V3, 64, 2, 4);
    dist.enable_grp1 = true;
    irq_of(0, 5)->enabled = true;
    irq_of(0, 5)->group1 = true;
    flush(0);
    vgic_sync(&dist, 0, &fake_hw);
    vgic_send_sgi(&dist, 0, 0, 5);
    vgic_flush(&dist, 0, &fake_hw);
    assert_true(lr_of(4, 5) >= 0);
    assert_int_equal(kicks[1], 0);
}

/* More pending than LRs: once the guest has taken all it was given, the ones left out are
 * presented, though every LR it had is empty. */
static void test_interrupts_left_out_are_presented_once_the_guest_took_the_rest(void **state)
{
    (void)state;
    init(GIC_V3, 64, 1, 2);
    dist.enable_grp1 = true;
    for (unsigned i = 0; i < 5; i++) {
        spi(40 + i, (uint8_t)(0x10 * (i + 1)), 0)->group1 = true;
        vgic_inject_edge(&dist, 0, 40 + i);
    }
    flush(0);
    assert_true(fake_underflow);
    /* 40, 41 first; then 42, 43; then 44. */
    for (unsigned round = 0; round < 2; round++) {
        guest_handle_all(2);
        sync_and_flush(0);
    }
    assert_true(lr_of(2, 44) >= 0);
    assert_false(fake_underflow);
    guest_handle_all(2);
    sync_and_flush(0);
    assert_int_equal(valid_lrs(2), 0);
    assert_false(vgic_has_deliverable(&dist, 0));
}

/* A linked level interrupt (the virtual timer) the guest completed, then raised again: the
 * empty LR is given back without a read and the new edge is presented. */
static void test_linked_interrupt_completed_then_raised_again_is_presented(void **state)
{
    (void)state;
    init(GIC_V3, 64, 1, 4);
    dist.enable_grp1 = true;
    irq_of(0, 27)->enabled = true;
    irq_of(0, 27)->group1 = true;
    vgic_link_hw(&dist, 0, 27, 27, false);
    for (unsigned round = 0; round < 3; round++) {
        vgic_sync(&dist, 0, &fake_hw);
        vgic_inject_edge(&dist, 0, 27);
        vgic_flush(&dist, 0, &fake_hw);
        int n = lr_of(4, 27);
        assert_true(n >= 0);
        assert_true(fake_lrs[n].hw);
        assert_true(irq_of(0, 27)->phys_active);
        guest_ack((unsigned)n);
        guest_eoi((unsigned)n);
        vgic_sync(&dist, 0, &fake_hw);
        assert_false(irq_of(0, 27)->phys_active);
        assert_int_equal(fake_lr_reads[n], 0);
        vgic_flush(&dist, 0, &fake_hw);
        assert_int_equal(valid_lrs(4), 0);
    }
}

/* The timer's path (vgic_inject_linked_private): each round the timer's interrupt goes to LR 0
 * alone, hardware-linked and pending, no other LR written; the sync after the guest completed
 * it reads no LR; taken but not completed, the next round presents it active and keeps the new
 * edge pending until the guest deactivates it. Held (GICv2) the same, with its EOI request. */
static void linked_private_rounds(enum gic_version version, bool held)
{
    init(version, 64, 1, 4);
    dist.enable_grp0 = true;
    dist.enable_grp1 = true;
    irq_of(0, 27)->enabled = true;
    irq_of(0, 27)->group1 = version == GIC_V3;
    vgic_link_hw(&dist, 0, 27, 27, held);
    vgic_flush(&dist, 0, &fake_hw); /* the first entry: every LR written */
    for (unsigned round = 0; round < 3; round++) {
        vgic_sync(&dist, 0, &fake_hw);
        vgic_inject_linked_private(&dist, 0, irq_of(0, 27));
        memset(fake_lr_writes, 0, sizeof(fake_lr_writes));
        vgic_flush(&dist, 0, &fake_hw);
        assert_int_equal(fake_lr_writes[0], 1);
        for (unsigned n = 1; n < 4; n++) {
            assert_int_equal(fake_lr_writes[n], 0);
        }
        assert_int_equal(fake_lrs[0].intid, 27);
        assert_true(fake_lrs[0].pending);
        assert_int_equal(fake_lrs[0].hw, !held);
        assert_int_equal(fake_lrs[0].eoi_maint, held);
        assert_true(irq_of(0, 27)->phys_active);
        guest_ack(0);
        guest_eoi(0);
        memset(fake_lr_reads, 0, sizeof(fake_lr_reads));
        vgic_sync(&dist, 0, &fake_hw);
        assert_false(irq_of(0, 27)->phys_active);
        assert_int_equal(fake_lr_reads[0], held ? 1 : 0);
        vgic_flush(&dist, 0, &fake_hw);
        assert_int_equal(valid_lrs(4), 0);
    }
    /* Taken, not completed, when the next edge comes: active in LR 0, the edge kept. */
    vgic_inject_linked_private(&dist, 0, irq_of(0, 27));
    vgic_flush(&dist, 0, &fake_hw);
    guest_ack(0);
    vgic_sync(&dist, 0, &fake_hw);
    vgic_inject_linked_private(&dist, 0, irq_of(0, 27));
    vgic_flush(&dist, 0, &fake_hw);
    int n = lr_of(4, 27);
    assert_true(n >= 0);
    assert_true(fake_lrs[n].active);
    if (!held) {
        assert_false(fake_lrs[n].pending); /* a linked LR cannot be both */
        assert_true(irq_of(0, 27)->pending_latch);
    }
    assert_int_equal(valid_lrs(4), 1);
}

static void test_linked_private_injection_goes_to_lr0_alone_v3(void **state)
{
    (void)state;
    linked_private_rounds(GIC_V3, false);
}

static void test_linked_private_injection_goes_to_lr0_alone_v2_held(void **state)
{
    (void)state;
    linked_private_rounds(GIC_V2, true);
}

/* The timer's IRQ exit with a CPU of its own (guest_exit_irq): the sync leaves the completed
 * LR 0 to the flush, the tick pends there, and the flush makes LR 0 pending again in place
 * (repend_lr) or, without that, writes it whole: either way one LR, the timer's, pending and
 * linked, nothing read, the physical interrupt known active; the guest completes it again. */
static void deferred_tick_rounds(const struct vgic_hw_ops *hw)
{
    init(GIC_V3, 64, 1, 4);
    dist.enable_grp1 = true;
    irq_of(0, 27)->enabled = true;
    irq_of(0, 27)->group1 = true;
    irq_of(0, 27)->priority = 0xa0;
    vgic_link_hw(&dist, 0, 27, 27, false);
    vgic_flush(&dist, 0, hw);
    vgic_inject_linked_private(&dist, 0, irq_of(0, 27));
    vgic_flush(&dist, 0, hw);
    for (unsigned round = 0; round < 3; round++) {
        guest_ack(0);
        guest_eoi(0);
        memset(fake_lr_writes, 0, sizeof(fake_lr_writes));
        memset(fake_lr_reads, 0, sizeof(fake_lr_reads));
        vgic_sync_lrs_deferring(&dist, 0, hw);
        assert_true(cpus[0].retire_deferred);
        assert_int_equal(cpus[0].lrs_in_use, 0);
        vgic_inject_linked_private(&dist, 0, irq_of(0, 27));
        assert_false(irq_of(0, 27)->pending_latch); /* not before the LR is retired */
        vgic_flush(&dist, 0, hw);
        assert_false(cpus[0].retire_deferred);
        assert_int_equal(cpus[0].linked_fired, 0);
        assert_int_equal(cpus[0].lrs_in_use, 1);
        assert_true(irq_of(0, 27)->phys_active);
        assert_false(irq_of(0, 27)->active);
        assert_false(irq_of(0, 27)->pending_latch);
        assert_int_equal(irq_of(0, 27)->lr, 0);
        assert_true(fake_lrs[0].pending && fake_lrs[0].hw);
        assert_int_equal(fake_lrs[0].intid, 27);
        assert_int_equal(fake_lrs[0].pintid, 27);
        assert_int_equal(fake_lrs[0].priority, 0xa0);
        assert_int_equal(fake_lr_writes[0] + fake_lr_repends[0], hw->repend_lr ? round + 1 : 1);
        assert_int_equal(valid_lrs(4), 1);
        for (unsigned n = 0; n < 4; n++) {
            assert_int_equal(fake_lr_reads[n], 0);
        }
    }
    /* Completed once more, with no new tick: retired by the next exit's sync. */
    guest_ack(0);
    guest_eoi(0);
    vgic_sync(&dist, 0, hw);
    assert_false(irq_of(0, 27)->phys_active);
    assert_int_equal(irq_of(0, 27)->lr, -1);
    assert_false(vgic_has_deliverable(&dist, 0));
}

static void test_deferred_tick_pends_lr0_again_in_place(void **state)
{
    (void)state;
    deferred_tick_rounds(&fake_hw_repend);
    assert_int_equal(fake_lr_repends[0], 3);
}

static void test_deferred_tick_without_repend_writes_lr0(void **state)
{
    (void)state;
    deferred_tick_rounds(&fake_hw);
}

/* A one-vCPU GICv3 VM whose timer PPI 27 is linked and enabled in group 1 (and SGI
 * extra_sgi, if not 0): a tick presented in LR 0, taken and EOIed by the guest, its exit's
 * retirement deferred, and the next tick fired meanwhile. */
static void second_tick_while_deferred(unsigned extra_sgi)
{
    init(GIC_V3, 64, 1, 4);
    dist.enable_grp1 = true;
    irq_of(0, 27)->enabled = true;
    irq_of(0, 27)->group1 = true;
    if (extra_sgi) {
        irq_of(0, extra_sgi)->enabled = true;
        irq_of(0, extra_sgi)->group1 = true;
    }
    vgic_link_hw(&dist, 0, 27, 27, false);
    vgic_inject_linked_private(&dist, 0, irq_of(0, 27));
    vgic_flush(&dist, 0, &fake_hw_repend);
    guest_ack(0);
    guest_eoi(0);
    vgic_sync_lrs_deferring(&dist, 0, &fake_hw_repend);
    vgic_inject_linked_private(&dist, 0, irq_of(0, 27));
}

/* A deferred retirement the vCPU leaves before its flush (held, scheduled out): settled, the
 * tick is pending in the model, which a wait's wake-up finds; the flush later presents it. */
static void test_deferred_tick_settled_before_the_vcpu_leaves(void **state)
{
    (void)state;
    second_tick_while_deferred(0);
    vgic_settle_cpu(&dist, &cpus[0], &fake_hw_repend);
    assert_false(cpus[0].retire_deferred);
    assert_int_equal(cpus[0].linked_fired, 0);
    assert_int_equal(irq_of(0, 27)->lr, -1);
    assert_true(irq_of(0, 27)->pending_latch);
    assert_true(irq_of(0, 27)->phys_active);
    assert_true(vgic_has_deliverable(&dist, 0));
    /* Settling twice changes nothing. */
    vgic_settle_cpu(&dist, &cpus[0], &fake_hw_repend);
    vgic_flush(&dist, 0, &fake_hw_repend);
    assert_int_equal(lr_of(4, 27), 0);
    assert_true(fake_lrs[0].pending && fake_lrs[0].hw);
    assert_int_equal(valid_lrs(4), 1);
}

/* Something else changed while the retirement waited (an SGI sent to the vCPU; the timer's
 * priority written): no re-arm in place; the general flush presents all, the timer with its
 * new priority. */
static void test_deferred_tick_with_other_changes_takes_the_general_way(void **state)
{
    (void)state;
    second_tick_while_deferred(3);
    vgic_send_sgi(&dist, 0, 0, 3);
    vgic_flush(&dist, 0, &fake_hw_repend);
    assert_int_equal(fake_lr_repends[0], 0);
    assert_true(lr_of(4, 27) >= 0 && lr_of(4, 3) >= 0);
    assert_int_equal(valid_lrs(4), 2);
    assert_no_duplicate_lrs(4);

    /* The guest takes both; a priority write (a generation bump) before the next tick. */
    guest_handle_all(4);
    vgic_sync(&dist, 0, &fake_hw_repend);
    vgic_flush(&dist, 0, &fake_hw_repend);
    vgic_inject_linked_private(&dist, 0, irq_of(0, 27));
    vgic_flush(&dist, 0, &fake_hw_repend);
    assert_int_equal(lr_of(4, 27), 0);
    guest_ack(0);
    guest_eoi(0);
    vgic_sync_lrs_deferring(&dist, 0, &fake_hw_repend);
    assert_true(cpus[0].retire_deferred);
    assert_true(
        vgic_v3_redist_write(&dist, 0, 0x10000 + 0x400 + 24, 4, 0x40u << 24)); /* IPRIORITYR27 */
    vgic_inject_linked_private(&dist, 0, irq_of(0, 27));
    vgic_flush(&dist, 0, &fake_hw_repend);
    assert_int_equal(fake_lr_repends[0], 0);
    assert_int_equal(lr_of(4, 27), 0);
    assert_int_equal(fake_lrs[0].priority, irq_of(0, 27)->priority);
    assert_int_equal(fake_lrs[0].priority, 0x40);
    assert_true(fake_lrs[0].pending);
}

/* The short sync is for LRs the guest completed only: one LR it has not completed takes the
 * general sync, which reads it and keeps its state; an SPI completed is retired as the general
 * sync would (its active owner given up). */
static void test_sync_of_completed_lrs_leaves_the_rest_to_the_general_way(void **state)
{
    (void)state;
    init(GIC_V3, 64, 1, 4);
    dist.enable_grp1 = true;
    for (unsigned intid = 1; intid <= 2; intid++) {
        irq_of(0, intid)->enabled = true;
        irq_of(0, intid)->group1 = true;
    }
    irq_of(0, 40)->enabled = true;
    irq_of(0, 40)->group1 = true;
    irq_of(0, 40)->irouter = 0;
    vgic_send_sgi(&dist, 0, 0, 1);
    vgic_send_sgi(&dist, 0, 0, 2);
    vgic_flush(&dist, 0, &fake_hw);
    assert_int_equal(valid_lrs(4), 2);
    /* One completed, one untaken: the untaken one is read and presented again. */
    int done = lr_of(4, 1), left = lr_of(4, 2);
    guest_ack((unsigned)done);
    guest_eoi((unsigned)done);
    memset(fake_lr_reads, 0, sizeof(fake_lr_reads));
    vgic_sync(&dist, 0, &fake_hw);
    assert_int_equal(fake_lr_reads[done], 0);
    assert_int_equal(fake_lr_reads[left], 1);
    assert_true(virq_pending(irq_of(0, 2)));
    vgic_flush(&dist, 0, &fake_hw);
    assert_int_equal(valid_lrs(4), 1);
    assert_true(lr_of(4, 2) >= 0);
    guest_ack((unsigned)lr_of(4, 2));
    guest_eoi((unsigned)lr_of(4, 2));
    vgic_sync(&dist, 0, &fake_hw);
    assert_false(virq_pending(irq_of(0, 2)) || irq_of(0, 2)->active);

    /* An SPI taken (read by the general way), then completed (the short way). */
    vgic_inject_edge(&dist, 0, 40);
    vgic_flush(&dist, 0, &fake_hw);
    int n = lr_of(4, 40);
    assert_true(n >= 0);
    guest_ack((unsigned)n);
    vgic_sync(&dist, 0, &fake_hw);
    assert_int_equal(irq_of(0, 40)->active_cpu, 0);
    vgic_flush(&dist, 0, &fake_hw);
    n = lr_of(4, 40);
    guest_eoi((unsigned)n);
    vgic_sync(&dist, 0, &fake_hw);
    assert_int_equal(irq_of(0, 40)->active_cpu, -1);
    assert_false(irq_of(0, 40)->active);
}

/* An SPI raised for vCPU 1 changes nothing of vCPU 0's: its entry writes no LR, while vCPU 1's
 * presents the SPI; two SPIs raised together are presented in priority order. */
static void test_spi_raised_for_one_vcpu_leaves_the_others_lrs_alone(void **state)
{
    (void)state;
    init(GIC_V3, 64, 2, 4);
    dist.enable_grp1 = true;
    spi(40, 0xa0, 1)->group1 = true;
    spi(41, 0x40, 1)->group1 = true;
    flush(0);
    flush(1);
    unsigned writes = lr_writes_total();

    vgic_inject_edge(&dist, 0, 40);
    flush(0);
    assert_int_equal(lr_writes_total(), writes);
    sync_and_flush(1);
    int n = lr_of(4, 40);
    assert_true(n >= 0);
    guest_ack((unsigned)n);
    guest_eoi((unsigned)n);

    vgic_inject_edge(&dist, 0, 40);
    vgic_inject_edge(&dist, 0, 41);
    sync_and_flush(1);
    assert_int_equal(fake_lrs[0].intid, 41);
    assert_int_equal(fake_lrs[1].intid, 40);
    assert_int_equal(valid_lrs(4), 2);
}

/* ---- Lookups ---- */

static void test_get_irq_banks_private_interrupts_and_bounds_everything(void **state)
{
    (void)state;
    init(GIC_V2, 64, 2, 4);
    assert_ptr_not_equal(vgic_get_irq(&dist, 0, 20), vgic_get_irq(&dist, 1, 20));
    assert_ptr_equal(vgic_get_irq(&dist, 0, 40), vgic_get_irq(&dist, 1, 40));
    assert_null(vgic_get_irq(&dist, 0, 64));
    assert_null(vgic_get_irq(&dist, 0, 1023));
    assert_null(vgic_get_irq(&dist, 2, 5)); /* no vCPU 2 */
    /* Out-of-range inputs are ignored, not written somewhere. */
    vgic_inject_edge(&dist, 0, 64);
    vgic_set_line(&dist, 0, 1000, true);
    vgic_send_sgi(&dist, 0, 5, 1);
    assert_int_equal(kicks_total, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
    const struct CMUnitTest tests[] = {
        T(test_flush_with_nothing_pending_invalidates_every_lr),
        T(test_flush_copies_intid_priority_and_group),
        T(test_flush_orders_by_priority_lower_value_first),
        T(test_flush_ties_broken_by_intid_across_sgis_ppis_and_spis),
        T(test_flush_keeps_active_interrupt_first_even_if_lower_priority),
        T(test_disabled_interrupt_stays_out_of_lrs_until_enabled),
        T(test_group_disabled_interrupt_stays_out_of_lrs),
        T(test_more_pending_than_lrs_fills_all_in_priority_order_and_requests_underflow),
        T(test_partial_take_keeps_untaken_interrupts_and_loses_none),
        T(test_higher_priority_arrival_displaces_the_lowest_without_losing_it),
        T(test_pending_edge_not_taken_before_exit_is_presented_again),
        T(test_edge_pends_once_however_many_edges_before_delivery),
        T(test_edge_arriving_while_active_becomes_active_and_pending),
        T(test_edge_line_pends_on_rising_edges_only),
        T(test_level_line_requests_eoi_maintenance_without_hw),
        T(test_level_line_still_high_after_eoi_is_delivered_again),
        T(test_level_line_high_when_acknowledged_is_active_and_pending),
        T(test_level_line_dropped_before_ack_is_no_longer_pending),
        T(test_level_interrupt_set_pending_by_ispendr_survives_exit_before_ack),
        T(test_hw_linked_ppi_carries_pintid_and_no_eoi_bit),
        T(test_hw_linked_spi_uses_its_own_physical_intid),
        T(test_hw_linked_level_line_high_is_delivered),
        T(test_held_link_deactivates_the_physical_interrupt_after_the_guests_eoi),
        T(test_clearing_an_irq_held_in_another_vcpus_lr_sticks),
        T(test_hw_link_is_not_deactivated_by_the_hypervisor),
        T(test_retract_withdraws_an_untaken_linked_interrupt),
        T(test_retract_leaves_a_software_pended_interrupt),
        T(test_v2_sgi_from_several_sources_delivered_once_per_source),
        T(test_v2_sgi_keeps_its_source_while_active),
        T(test_v2_sgi_pending_in_lr_not_taken_keeps_its_source),
        T(test_v3_sgi_from_two_sources_is_one_pending_interrupt),
        T(test_v2_spi_routing_by_itargetsr_lowest_target),
        T(test_v2_spi_is_delivered_to_its_target_only),
        T(test_v3_spi_routing_by_irouter),
        T(test_v3_spi_is_delivered_to_irouter_target_and_irm_to_vcpu0),
        T(test_v3_spi_routed_to_no_vcpu_is_delivered_nowhere),
        T(test_kick_names_the_vcpu_that_has_something_to_take),
        T(test_no_kick_when_the_interrupt_is_masked),
        T(test_no_kick_and_no_crash_without_a_kick_callback),
        T(test_a_kicked_vcpu_finds_what_it_was_kicked_for),
        T(test_v2_sgir_leaves_the_generation_alone),
        T(test_has_deliverable_follows_enable_group_pending_and_owner),
        T(test_reset_clears_every_interrupt_and_the_group_enables),
        T(test_reset_keeps_the_vm_shape),
        T(test_lr_the_guest_completed_is_neither_read_nor_rewritten),
        T(test_sync_without_empty_lr_status_reads_every_lr_in_use),
        T(test_injection_while_an_lr_holds_another_presents_both),
        T(test_sgi_to_another_vcpu_leaves_the_senders_lrs_alone),
        T(test_sgi_to_self_is_presented_at_the_next_entry),
        T(test_interrupts_left_out_are_presented_once_the_guest_took_the_rest),
        T(test_linked_interrupt_completed_then_raised_again_is_presented),
        T(test_linked_private_injection_goes_to_lr0_alone_v3),
        T(test_linked_private_injection_goes_to_lr0_alone_v2_held),
        T(test_deferred_tick_pends_lr0_again_in_place),
        T(test_deferred_tick_without_repend_writes_lr0),
        T(test_deferred_tick_settled_before_the_vcpu_leaves),
        T(test_deferred_tick_with_other_changes_takes_the_general_way),
        T(test_sync_of_completed_lrs_leaves_the_rest_to_the_general_way),
        T(test_spi_raised_for_one_vcpu_leaves_the_others_lrs_alone),
        T(test_get_irq_banks_private_interrupts_and_bounds_everything),
    };
#undef T

    return cmocka_run_group_tests_name("vgic", tests, NULL, NULL);
}
