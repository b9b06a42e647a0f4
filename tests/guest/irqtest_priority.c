/* irqtest: priorities, preemption and more pending interrupts than list registers (priority,
 * many_pending). */
#include "irqtest.h"

#define SGI_LOW 3  /* priority 0xa0 */
#define SGI_HIGH 4 /* priority 0x40 */
#define SGI_PREEMPTED 5
#define SGI_PREEMPTOR 6
#define SGI_BLOCKER 7 /* priority 0x40, runs with IRQs unmasked */
#define SGI_BLOCKED 8 /* priority 0x80: must wait for SGI_BLOCKER's EOI */

static volatile uint32_t nested_seen, blocked_seen, masked_seen;

/* Runs with its own priority active: sends `other` to itself, checks it is not taken while IRQs
 * are masked, then unmasks IRQs for a while and records whether `other` came in meanwhile. */
static void nesting_action(unsigned cpu, unsigned intid, unsigned other, volatile uint32_t *seen,
                           unsigned long ms)
{
    gic_send_sgi(other, cpu);
    dsb();
    spin_ms(2);
    masked_seen = stats[cpu].count[other];
    irqs_on();
    uint64_t end = cntvct() + ms_to_ticks(ms);
    while (!stats[cpu].count[other] && cntvct() < end) {
    }
    irqs_off();
    *seen = stats[cpu].count[other];
    log_event(cpu, LOG_EXIT | intid);
}

static void preempted_action(unsigned cpu, unsigned intid)
{
    nesting_action(cpu, intid, SGI_PREEMPTOR, &nested_seen, 200);
}

static void blocker_action(unsigned cpu, unsigned intid)
{
    nesting_action(cpu, intid, SGI_BLOCKED, &blocked_seen, 20);
}

/* (a) SGI_LOW (0xa0) then SGI_HIGH (0x40) made pending with IRQs masked: on unmasking, SGI_HIGH
 * is taken first. */
static bool priority_order(const char *name)
{
    char buf[200];

    stats_clear();
    irqs_off();
    gic_send_sgi(SGI_LOW, 0);
    gic_send_sgi(SGI_HIGH, 0);
    dsb();
    spin_ms(2);
    irqs_on();
    wait_count(&stats[0].nlog, 2, WAIT_MS);
    spin_ms(SETTLE_MS);
    const uint32_t want[] = {SGI_HIGH, SGI_LOW};
    if (!log_is(0, want, 2)) {
        format_log(0, buf, sizeof(buf));
        fail(name,
             "SGI %u (0xa0) and SGI %u (0x40) pending together: taken in the order [%s], "
             "expected [%u %u]",
             SGI_LOW, SGI_HIGH, buf, SGI_HIGH, SGI_LOW);
        return false;
    }
    return true;
}

/* (b) With PMR 0x80, SGI_LOW (0xa0) stays pending and is not taken; PMR raised to 0xb0, it
 * is. */
static bool priority_mask(const char *name)
{
    stats_clear();
    gic_set_pmr(0x80);
    gic_send_sgi(SGI_LOW, 0);
    spin_ms(SETTLE_MS);
    bool pend = gic_pending(SGI_LOW);
    if (stats[0].count[SGI_LOW]) {
        fail(name, "SGI %u (priority 0xa0) taken with PMR 0x80", SGI_LOW);
        return false;
    }
    gic_set_pmr(0xb0);
    if (!wait_count(&stats[0].count[SGI_LOW], 1, WAIT_MS)) {
        fail(name,
             "SGI %u (priority 0xa0) masked by PMR 0x80 (%s): not taken %u ms after PMR "
             "was raised to 0xb0",
             SGI_LOW, pend ? "pending" : "not pending", WAIT_MS);
        return false;
    }
    gic_set_pmr(GIC_PMR_OPEN);
    return true;
}

/* Sends sgi, whose handler is action, to this CPU and lets the three events of a nesting check
 * happen: the handler, the SGI it sends, the handler's end. */
static void run_nesting(unsigned sgi, irq_action_t action)
{
    stats_clear();
    nested_seen = blocked_seen = masked_seen = 0;
    actions[sgi] = action;
    gic_send_sgi(sgi, 0);
    wait_count(&stats[0].nlog, 3, WAIT_MS);
    spin_ms(SETTLE_MS);
}

/* (c) The handler of SGI_PREEMPTED (0xa0) sends SGI_PREEMPTOR (0x40) to its CPU: not taken while
 * the handler keeps IRQs masked; taken inside the handler once it unmasks them. */
static bool priority_preemption(const char *name)
{
    char buf[200];

    run_nesting(SGI_PREEMPTED, preempted_action);
    const uint32_t want[] = {SGI_PREEMPTED, SGI_PREEMPTOR, LOG_EXIT | SGI_PREEMPTED};
    if (masked_seen || !nested_seen || !log_is(0, want, 3)) {
        format_log(0, buf, sizeof(buf));
        fail(name,
             "preemption: SGI %u (0x40) sent from the handler of SGI %u (0xa0): taken "
             "%s while IRQs were masked, %s after they were unmasked; events [%s], expected "
             "[%u %u end%u]",
             SGI_PREEMPTOR, SGI_PREEMPTED, masked_seen ? "already" : "not",
             nested_seen ? "taken" : "not taken", buf, SGI_PREEMPTED, SGI_PREEMPTOR, SGI_PREEMPTED);
        return false;
    }
    return true;
}

/* (d) The handler of SGI_BLOCKER (0x40) sends SGI_BLOCKED (0x80) and unmasks IRQs: SGI_BLOCKED
 * is not taken (the running priority is higher) until SGI_BLOCKER's EOI. Nothing else is taken
 * by either CPU. */
static bool priority_running(const char *name)
{
    char buf[200];

    run_nesting(SGI_BLOCKER, blocker_action);
    const uint32_t want[] = {SGI_BLOCKER, LOG_EXIT | SGI_BLOCKER, SGI_BLOCKED};
    if (blocked_seen || !log_is(0, want, 3)) {
        format_log(0, buf, sizeof(buf));
        fail(name,
             "running priority: SGI %u (0x80) sent from the handler of SGI %u (0x40) "
             "with IRQs unmasked: events [%s], expected [%u end%u %u]",
             SGI_BLOCKED, SGI_BLOCKER, buf, SGI_BLOCKER, SGI_BLOCKER, SGI_BLOCKED);
        return false;
    }
    const unsigned ok[] = {SGI_BLOCKER, SGI_BLOCKED};
    if (*unexpected(0, ok, 2, buf, sizeof(buf))) {
        fail(name, "unexpected interrupts on CPU 0: %s", buf);
        return false;
    }
    if (*unexpected(1, NULL, 0, buf, sizeof(buf))) {
        fail(name, "unexpected interrupts on CPU 1: %s", buf);
        return false;
    }
    return true;
}

/* priority: (a) to (d) above, on CPU 0 with SGIs to itself; the first that fails ends it. */
void check_priority(void)
{
    const char *name = "priority";

    gic_set_priority(SGI_LOW, 0xa0);
    gic_set_priority(SGI_HIGH, 0x40);
    gic_set_priority(SGI_PREEMPTED, 0xa0);
    gic_set_priority(SGI_PREEMPTOR, 0x40);
    gic_set_priority(SGI_BLOCKER, 0x40);
    gic_set_priority(SGI_BLOCKED, 0x80);
    if (priority_order(name) && priority_mask(name) && priority_preemption(name) &&
        priority_running(name)) {
        pass(name);
    }
    irqs_on();
    gic_set_pmr(GIC_PMR_OPEN);
    actions[SGI_PREEMPTED] = actions[SGI_BLOCKER] = NULL;
    for (unsigned i = SGI_LOW; i <= SGI_BLOCKED; i++) {
        gic_set_priority(i, GIC_PRIO_DEFAULT);
    }
}

#define MANY 12
#define MANY_FIRST_SGI 2 /* SGIs 2..13 */

/* One round of many_pending: the SGIs made pending through the pending registers (by_reg) or
 * sent, then taken in the order want. */
static bool many_round(const char *name, bool by_reg, const uint32_t *want)
{
    const char *how = by_reg ? (gic.version == 2 ? "GICD_SPENDSGIR" : "GICR_ISPENDR0")
                             : (gic.version == 2 ? "GICD_SGIR" : "ICC_SGI1R_EL1");
    char buf[200];

    stats_clear();
    irqs_off();
    for (unsigned k = 0; k < MANY; k++) {
        unsigned sgi = MANY_FIRST_SGI + (k * 5) % MANY; /* yet another order */
        if (by_reg) {
            gic_pend_sgi(sgi);
        } else {
            gic_send_sgi(sgi, 0);
        }
    }
    dsb();
    spin_ms(2);
    unsigned npend = 0;
    for (unsigned i = 0; i < MANY; i++) {
        npend += gic_pending(MANY_FIRST_SGI + i);
    }
    irqs_on();
    wait_count(&stats[0].nlog, MANY, WAIT_MS);
    spin_ms(SETTLE_MS);
    if (!log_is(0, want, MANY)) {
        format_log(0, buf, sizeof(buf));
        fail(name,
             "%u SGIs made pending through %s (%u read back as pending): taken [%s], "
             "expected [%u %u %u %u %u %u %u %u %u %u %u %u]",
             MANY, how, npend, buf, want[0], want[1], want[2], want[3], want[4], want[5], want[6],
             want[7], want[8], want[9], want[10], want[11]);
        return false;
    }
    if (*unexpected(1, NULL, 0, buf, sizeof(buf))) {
        fail(name, "CPU 1 took interrupts: %s", buf);
        return false;
    }
    printf("many_pending: %u SGIs through %s taken in priority order\n", MANY, how);
    return true;
}

/*
 * many_pending: 12 SGIs with 12 distinct priorities (not in INTID order) made pending on CPU 0
 * at once with IRQs masked, more than the 4 list registers of QEMU's GIC: once IRQs are
 * unmasked, all 12 are taken, each once, highest priority first. Twice: through the pending
 * registers (GICD_SPENDSGIR / GICR_ISPENDR0), then by sending them (GICD_SGIR / ICC_SGI1R_EL1).
 */
void check_many_pending(void)
{
    const char *name = "many_pending";
    static const uint8_t rank[MANY] = {7, 2, 11, 0, 9, 4, 1, 10, 5, 8, 3, 6};
    uint32_t want[MANY];

    for (unsigned i = 0; i < MANY; i++) {
        gic_set_priority(MANY_FIRST_SGI + i, (uint8_t)(0x10 + 0x10 * rank[i]));
        want[rank[i]] = MANY_FIRST_SGI + i;
    }
    if (many_round(name, true, want) && many_round(name, false, want)) {
        pass(name);
    }
    for (unsigned i = 0; i < MANY; i++) {
        gic_set_priority(MANY_FIRST_SGI + i, GIC_PRIO_DEFAULT);
    }
}
