/* irqtest: the virtual and physical timers (vtimer, ptimer, wfi_wakes; periodic timers for
 * mode=isolation). */
#include "irqtest.h"

/* Timer lateness. A timer interrupt is never allowed before its deadline. After it: under TCG
 * on a loaded host a vCPU thread may wait tens of ms for a host core, so a single interrupt may
 * be up to TIMER_MAX_LATE_MS late, but the median of a check's rounds must be within
 * tolerance_ms (TIMER_TOLERANCE_MS, "tol_ms=" changes it): a systematic delay is a bug, not
 * load. */
#define TIMER_MAX_LATE_MS 250
#define TIMER_DELAY_MS 10 /* vtimer/ptimer: the programmed delay */
#define TIMER_ROUNDS 5
#define WFI_DELAY_MS 2 /* wfi_wakes */
#define WFI_ROUNDS 3

static const char *const timer_name[] = {"vtimer", "ptimer"};

static unsigned timer_intid(unsigned which)
{
    return which == VTIMER ? guest.vtimer_intid : guest.ptimer_intid;
}

static uint64_t timer_now(unsigned which)
{
    return which == VTIMER ? cntvct() : cntpct();
}

static void timer_write(unsigned which, uint64_t ctl, uint64_t cval)
{
    if (which == VTIMER) {
        write_cntv_cval(cval);
        write_cntv_ctl(ctl);
    } else {
        write_cntp_cval(cval);
        write_cntp_ctl(ctl);
    }
    isb();
}

void timer_ctl(unsigned which, uint64_t ctl)
{
    if (which == VTIMER) {
        write_cntv_ctl(ctl);
    } else {
        write_cntp_ctl(ctl);
    }
    isb();
}

static uint64_t timer_read_ctl(unsigned which)
{
    return which == VTIMER ? read_cntv_ctl() : read_cntp_ctl();
}

static uint64_t timer_read_cval(unsigned which)
{
    return which == VTIMER ? read_cntv_cval() : read_cntp_cval();
}

/* What a timer's handler saw, per CPU. */
static struct timer_state {
    volatile uint64_t fired_at;  /* the timer's counter when its handler ran */
    volatile uint64_t ctl, cval; /* CNTx_CTL and CVAL then */
    volatile uint32_t left;      /* periodic: interrupts still to take */
    uint64_t period;             /* periodic: ticks between deadlines; 0: one shot */
} tstate[2][GUEST_MAX_CPUS];

/* The timers' handler: records, then either programs the next period or disables the timer
 * (which lowers its level-sensitive output before the EOI). */
void timer_action(unsigned cpu, unsigned intid)
{
    unsigned which = intid == guest.vtimer_intid ? VTIMER : PTIMER;
    struct timer_state *t = &tstate[which][cpu];

    t->fired_at = timer_now(which);
    t->ctl = timer_read_ctl(which);
    t->cval = timer_read_cval(which);
    if (t->period && t->left > 1) {
        t->left--;
        timer_write(which, CNT_CTL_ENABLE, t->cval + t->period);
    } else {
        t->left = 0;
        timer_ctl(which, 0);
    }
}

/* Starts a periodic timer on this CPU (its PPI enabled): count interrupts, period_ms apart. */
void timer_periodic(unsigned which, uint64_t period_ms, uint32_t count)
{
    struct timer_state *t = &tstate[which][guest_cpu_index()];

    gic_enable(timer_intid(which), true);
    t->period = ms_to_ticks(period_ms);
    t->left = count;
    dsb();
    timer_write(which, CNT_CTL_ENABLE, timer_now(which) + t->period);
}

/* Round r (from 0) of vtimer / ptimer: the timer programmed TIMER_DELAY_MS ahead must interrupt
 * CPU 0 after its deadline, at most TIMER_MAX_LATE_MS after it. Sets *late (ticks); false (and
 * FAIL) otherwise. */
static bool timer_round(const char *name, unsigned which, unsigned r, uint64_t *late)
{
    unsigned intid = timer_intid(which);
    struct timer_state *t = &tstate[which][0];

    t->period = 0;
    t->fired_at = 0;
    uint64_t cval = timer_now(which) + ms_to_ticks(TIMER_DELAY_MS);
    timer_write(which, CNT_CTL_ENABLE, cval);
    if (!wait_count(&stats[0].count[intid], r + 1, TIMER_DELAY_MS + WAIT_MS)) {
        uint64_t ctl = timer_read_ctl(which);
        bool pend = gic_pending(intid);
        timer_ctl(which, 0);
        fail(name,
             "round %u: no interrupt %u ms after the %u ms deadline (CTL=0x%lx, "
             "INTID %u %spending, CPU 1 took it %u times)",
             r + 1, WAIT_MS, TIMER_DELAY_MS, (unsigned long)ctl, intid, pend ? "" : "not ",
             stats[1].count[intid]);
        return false;
    }
    if (t->fired_at < cval || !(t->ctl & CNT_CTL_ISTATUS)) {
        fail(name, "round %u: interrupt taken %lu us before the deadline (CTL=0x%lx)", r + 1,
             (unsigned long)ticks_to_us(cval - t->fired_at), (unsigned long)t->ctl);
        return false;
    }
    *late = t->fired_at - cval;
    if (*late > ms_to_ticks(TIMER_MAX_LATE_MS)) {
        fail(name, "round %u: interrupt taken %lu us after the deadline (at most %u ms)", r + 1,
             (unsigned long)ticks_to_us(*late), TIMER_MAX_LATE_MS);
        return false;
    }
    return true;
}

/* Sorts v[0..n) (insertion sort: n is TIMER_ROUNDS) and returns its median. */
static uint64_t sorted_median(uint64_t *v, unsigned n)
{
    for (unsigned i = 1; i < n; i++) {
        for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t tmp = v[j];
            v[j] = v[j - 1];
            v[j - 1] = tmp;
        }
    }
    return v[n / 2];
}

/* After the rounds: CPU 0 took the timer's INTID once a round, CPU 1 never, nothing else. */
static bool timer_taken_once_each(const char *name, unsigned intid)
{
    const unsigned ok0[] = {intid};
    char buf[160];

    spin_ms(SETTLE_MS);
    if (stats[0].count[intid] != TIMER_ROUNDS || stats[1].count[intid] ||
        *unexpected(0, ok0, 1, buf, sizeof(buf))) {
        fail(name, "CPU 0 took INTID %u %u times, expected %u; CPU 1 %u times; other: %s", intid,
             stats[0].count[intid], TIMER_ROUNDS, stats[1].count[intid],
             unexpected(0, ok0, 1, buf, sizeof(buf))[0] ? buf : "none");
        return false;
    }
    return true;
}

/*
 * vtimer / ptimer: TIMER_ROUNDS times, the timer is programmed TIMER_DELAY_MS ahead (CVAL) and
 * must interrupt CPU 0 (INTID 27 / 30, a PPI: never CPU 1), never before the deadline (the
 * counter read in the handler is >= CVAL, and CTL.ISTATUS is set), each at most
 * TIMER_MAX_LATE_MS after it and the median of the rounds at most tolerance_ms after it. CPU 0
 * spins meanwhile: the interrupt comes while it runs.
 */
void check_timer(unsigned which, unsigned long tolerance_ms)
{
    const char *name = timer_name[which];
    unsigned intid = timer_intid(which);
    uint64_t late[TIMER_ROUNDS];
    bool ok = true;

    stats_clear();
    actions[intid] = timer_action;
    gic_set_priority(intid, GIC_PRIO_DEFAULT);
    gic_enable(intid, true);
    for (unsigned r = 0; r < TIMER_ROUNDS && ok; r++) {
        ok = timer_round(name, which, r, &late[r]);
    }
    uint64_t median = ok ? sorted_median(late, TIMER_ROUNDS) : 0;
    if (ok && median > ms_to_ticks(tolerance_ms)) {
        fail(name,
             "interrupts taken %lu us after the deadline (median of %u; %lu us to %lu us), "
             "tolerance %lu ms",
             (unsigned long)ticks_to_us(median), TIMER_ROUNDS, (unsigned long)ticks_to_us(late[0]),
             (unsigned long)ticks_to_us(late[TIMER_ROUNDS - 1]), tolerance_ms);
        ok = false;
    }
    if (ok && timer_taken_once_each(name, intid)) {
        printf("%s: %u interrupts %u ms after programming, late by %lu us (median), %lu us to "
               "%lu us (tolerance: median %lu ms, each %u ms)\n",
               name, TIMER_ROUNDS, TIMER_DELAY_MS, (unsigned long)ticks_to_us(median),
               (unsigned long)ticks_to_us(late[0]),
               (unsigned long)ticks_to_us(late[TIMER_ROUNDS - 1]), tolerance_ms, TIMER_MAX_LATE_MS);
        pass(name);
    }
    timer_ctl(which, 0);
    gic_enable(intid, false);
    actions[intid] = NULL;
}

/* Round r (from 0) of wfi_wakes with timer which: sets *slept (ticks in WFI); false (and FAIL)
 * if WFI returned too early or the interrupt was not taken afterwards. */
static bool wfi_round(const char *name, unsigned which, unsigned r, uint64_t *slept)
{
    unsigned intid = timer_intid(which);

    tstate[which][0].period = 0;
    irqs_off();
    uint64_t start = timer_now(which);
    uint64_t cval = start + ms_to_ticks(WFI_DELAY_MS);
    timer_write(which, CNT_CTL_ENABLE, cval);
    dsb();
    asm volatile("wfi" ::: "memory");
    uint64_t woke = timer_now(which);
    uint64_t ctl = timer_read_ctl(which);
    irqs_on();
    bool taken = wait_count(&stats[0].count[intid], r + 1, WAIT_MS);
    timer_ctl(which, 0);
    if (woke < cval || !(ctl & CNT_CTL_ISTATUS)) {
        fail(name,
             "%s round %u: WFI returned after %lu us, before the timer fired "
             "(%u ms; CTL=0x%lx)",
             timer_name[which], r + 1, (unsigned long)ticks_to_us(woke - start), WFI_DELAY_MS,
             (unsigned long)ctl);
        return false;
    }
    if (!taken) {
        fail(name,
             "%s round %u: WFI returned after the timer fired, but INTID %u was "
             "not taken once IRQs were unmasked",
             timer_name[which], r + 1, intid);
        return false;
    }
    *slept = woke - start;
    return true;
}

/*
 * wfi_wakes: with IRQs masked (PSTATE.I), the timer is programmed WFI_DELAY_MS ahead and the CPU
 * executes one WFI: it must come back only once the timer has fired (its counter >= CVAL and
 * CTL.ISTATUS set: at least the delay has passed), and the interrupt must then be taken when IRQs
 * are unmasked. WFI_ROUNDS times with the virtual timer, then with the physical timer.
 */
void check_wfi_wakes(void)
{
    const char *name = "wfi_wakes";
    uint64_t longest[2] = {0, 0};
    bool ok = true;

    stats_clear();
    for (unsigned which = VTIMER; which <= PTIMER && ok; which++) {
        unsigned intid = timer_intid(which);
        actions[intid] = timer_action;
        gic_enable(intid, true);
        for (unsigned r = 0; r < WFI_ROUNDS && ok; r++) {
            uint64_t slept = 0;
            ok = wfi_round(name, which, r, &slept);
            longest[which] = MAX(longest[which], slept);
        }
        gic_enable(intid, false);
        actions[intid] = NULL;
    }
    if (ok) {
        printf("wfi_wakes: WFI for a %u ms timer returned after %lu us (vtimer), %lu us (ptimer) "
               "at most\n",
               WFI_DELAY_MS, (unsigned long)ticks_to_us(longest[VTIMER]),
               (unsigned long)ticks_to_us(longest[PTIMER]));
        pass(name);
    }
    irqs_on();
    for (unsigned which = VTIMER; which <= PTIMER; which++) {
        timer_ctl(which, 0);
        gic_enable(timer_intid(which), false);
        actions[timer_intid(which)] = NULL;
    }
}

/*
 * vtimer_withdrawn: the timer's interrupt is level-sensitive. With IRQs masked, CPU 0 lets the
 * virtual timer fire, then disables it: the interrupt it never took is no longer pending (the
 * GIC's pending register says so) and is not taken once IRQs are unmasked.
 */
void check_vtimer_withdrawn(void)
{
    const char *name = "vtimer_withdrawn";
    unsigned intid = guest.vtimer_intid;

    stats_clear();
    actions[intid] = timer_action;
    gic_set_priority(intid, GIC_PRIO_DEFAULT);
    gic_enable(intid, true);
    irqs_off();
    timer_write(VTIMER, CNT_CTL_ENABLE, cntvct() + ms_to_ticks(1));
    /* Fired, and long enough for a hypervisor to have taken the physical interrupt. */
    while (!(read_cntv_ctl() & CNT_CTL_ISTATUS)) {
    }
    spin_ms(5);
    timer_ctl(VTIMER, 0);
    bool pending = gic_pending(intid);
    irqs_on();
    spin_ms(5);
    if (pending || stats[0].count[intid]) {
        fail(name, "a disabled timer's interrupt is still %s",
             pending ? "pending" : "taken after IRQs were unmasked");
    } else {
        pass(name);
    }
    gic_enable(intid, false);
    actions[intid] = NULL;
}
