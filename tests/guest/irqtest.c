/*
 * irqtest: the interrupt test guest (GitHub issue 3). Runs on 2 CPUs (PSCI CPU_ON) with the GIC,
 * timers and UART the DTB describes, under the hypervisor or on the bare board, and prints one
 * "PASS <check>" or "FAIL <check>: <detail>" line per check, then "DONE passed=N failed=M" and
 * calls PSCI SYSTEM_OFF. The bootargs choose the mode:
 *
 *   mode=all (default)  vtimer, ptimer, sgi_0_to_1, sgi_1_to_0, spi_routing, priority,
 *                       many_pending, wfi_wakes (each described at its function)
 *   mode=isolation vm=K two such VMs run at once (K = 0 and 1): each sends SGIs between and to
 *                       its own CPUs, runs periodic timers and takes its UART's interrupt, and
 *                       checks it takes exactly its own interrupts: isolation_sgi,
 *                       isolation_timer, isolation_spi
 *
 * Options: tol_ms=N (timer lateness tolerance, default TIMER_TOLERANCE_MS).
 *
 * The GIC is set up as gic.h says. A handler may unmask IRQs and be preempted (the vectors save
 * ELR_EL1 and SPSR_EL1). The irqtest files are built without FP/SIMD registers (guest.mk): a
 * handler runs on top of code (printf, libfdt) that holds live FP/SIMD values, and the vectors
 * save only the general registers. Handlers never print.
 */
#include "gic.h"
#include "guest.h"
#include "report.h"
#include "sysreg.h"

/* Timer lateness. A timer interrupt is never allowed before its deadline. After it: under TCG
 * on a loaded host a vCPU thread may wait tens of ms for a host core, so a single interrupt may
 * be up to TIMER_MAX_LATE_MS late, but the median of a check's rounds must be within
 * TIMER_TOLERANCE_MS ("tol_ms=" changes it): a systematic delay is a bug, not load. */
#define TIMER_TOLERANCE_MS 25
#define TIMER_MAX_LATE_MS 250
#define TIMER_DELAY_MS 10   /* vtimer/ptimer: the programmed delay */
#define TIMER_ROUNDS 5
#define WFI_DELAY_MS 2      /* wfi_wakes */
#define WFI_ROUNDS 3
#define SGI_ROUNDS 10       /* sgi_0_to_1, sgi_1_to_0 */
#define WAIT_MS 1000        /* how long any expected interrupt may take before we give up */
#define SETTLE_MS 10        /* after the expected ones: time for any extra one to show up */

#define SGI_DOORBELL 15 /* wakes a parked CPU; never counted as unexpected */

/* Generic-timer frequency: ticks per ms / us. */
static uint64_t ticks_per_ms, ticks_per_us;

static uint64_t ms_to_ticks(uint64_t ms)
{
    return ms * ticks_per_ms;
}

static uint64_t ticks_to_us(uint64_t t)
{
    return t / ticks_per_us;
}

static unsigned nr_cpus;

/* ---- what the IRQ handler saw, per CPU ---- */

#define NR_TRACKED 64 /* INTIDs counted one by one; the rest are "other" */
#define LOG_LEN 64
#define LOG_EXIT 0x1000 /* log marker: a handler ended (| its INTID) */

struct cpu_stats {
    volatile uint32_t count[NR_TRACKED];
    volatile uint32_t other, other_last, spurious;
    volatile uint32_t sgi_source[16]; /* GICv2: the CPUID field of the last one */
    volatile uint32_t log[LOG_LEN];
    volatile uint32_t nlog;
};

static struct cpu_stats stats[GUEST_MAX_CPUS];

typedef void (*irq_action_t)(unsigned cpu, unsigned intid);
static irq_action_t volatile actions[NR_TRACKED];

static void stats_clear(void)
{
    for (unsigned c = 0; c < GUEST_MAX_CPUS; c++) {
        struct cpu_stats *s = &stats[c];
        for (unsigned i = 0; i < NR_TRACKED; i++) {
            s->count[i] = 0;
        }
        for (unsigned i = 0; i < 16; i++) {
            s->sgi_source[i] = 0;
        }
        s->other = s->other_last = s->spurious = s->nlog = 0;
    }
    dsb();
}

static void log_event(unsigned cpu, uint32_t what)
{
    struct cpu_stats *s = &stats[cpu];
    uint32_t n = s->nlog;
    if (n < LOG_LEN) {
        s->log[n] = what;
    }
    s->nlog = n + 1;
}

static void irq_entry(uint64_t ticks)
{
    (void)ticks;
    unsigned cpu = guest_cpu_index();
    struct cpu_stats *s = &stats[cpu];
    uint32_t iar = gic_ack();
    unsigned intid = gic_iar_intid(iar);

    if (intid >= GIC_SPURIOUS) {
        s->spurious++;
        return;
    }
    log_event(cpu, intid);
    if (intid < NR_TRACKED) {
        s->count[intid]++;
        if (intid < 16) {
            s->sgi_source[intid] = (iar >> 10) & 7;
        }
        irq_action_t act = actions[intid];
        if (act) {
            act(cpu, intid);
        }
    } else {
        s->other++;
        s->other_last = intid;
    }
    dsb();
    gic_eoi(iar);
}

/* ---- waiting ---- */

/* Spins (IRQs as they are) until *p >= want or ms milliseconds pass. True if reached. */
static bool wait_count(volatile uint32_t *p, uint32_t want, unsigned long ms)
{
    uint64_t end = cntvct() + ms_to_ticks(ms);

    while (*p < want) {
        if (cntvct() > end) {
            return *p >= want;
        }
    }
    return true;
}

static void spin_ms(unsigned long ms)
{
    uint64_t end = cntvct() + ms_to_ticks(ms);
    while (cntvct() < end) {
    }
}

/* ---- the other CPUs: each runs commands from its mailbox, IRQs unmasked ---- */

enum { CMD_NONE, CMD_SEND_SGI, CMD_TIMER_PERIODIC, CMD_SGI_CHAIN };

static struct mailbox {
    volatile uint32_t seq, done;
    volatile uint32_t cmd, a, b, c;
    volatile bool ready;
    volatile bool park;     /* idle in WFI (woken by SGI_DOORBELL) rather than spinning */
    volatile uint64_t beat; /* counts the idle loop's turns: is the CPU running? */
} mbox[GUEST_MAX_CPUS];

/* A one-line account of CPU cpu, for failure details: does its idle loop run, what did it
 * take. */
static const char *cpu_state(unsigned cpu, char *buf, size_t len)
{
    uint64_t before = mbox[cpu].beat;
    uint64_t end = cntvct() + ms_to_ticks(20);
    while (mbox[cpu].beat == before && cntvct() < end) {
    }
    snprintf(buf, len, "CPU %u %s, took %u interrupts (%u spurious)", cpu,
             mbox[cpu].beat != before ? "running" : "not running its idle loop for 20 ms",
             stats[cpu].nlog, stats[cpu].spurious);
    return buf;
}

static void timer_periodic(unsigned which, uint64_t period_ms, uint32_t count);
static void sgi_chain(unsigned sgi, unsigned to, unsigned n);

static void secondary_main(unsigned cpu, void *arg)
{
    (void)arg;
    bool ok = gic_cpu_init(cpu);
    struct mailbox *m = &mbox[cpu];
    if (!ok) {
        printf("irqtest: CPU %u: no GIC redistributor or CPU interface for MPIDR 0x%lx\n", cpu,
               (unsigned long)read_mpidr_aff());
        return;
    }
    dsb();
    m->ready = true;
    irqs_on();
    for (;;) {
        m->beat++;
        uint32_t seq = m->seq;
        if (seq == m->done) {
            if (m->park) {
                /* WFI with IRQs masked: a pending interrupt (the doorbell) wakes it, and is
                 * taken once they are unmasked. */
                irqs_off();
                if (m->park && m->seq == m->done) {
                    asm volatile("wfi" ::: "memory");
                }
                irqs_on();
            }
            continue;
        }
        asm volatile("dmb ish" ::: "memory");
        switch (m->cmd) {
        case CMD_SEND_SGI:
            gic_send_sgi(m->a, m->b);
            break;
        case CMD_TIMER_PERIODIC:
            timer_periodic(m->a, m->b, m->c);
            break;
        case CMD_SGI_CHAIN:
            sgi_chain(m->a, m->b, m->c);
            break;
        default:
            break;
        }
        asm volatile("dmb ish" ::: "memory");
        m->done = seq;
    }
}

/* Hands a command to CPU cpu; returns its sequence number (for remote_wait). */
static uint32_t remote_post(unsigned cpu, uint32_t cmd, uint32_t a, uint32_t b, uint32_t c)
{
    struct mailbox *m = &mbox[cpu];
    m->cmd = cmd;
    m->a = a;
    m->b = b;
    m->c = c;
    asm volatile("dmb ish" ::: "memory");
    uint32_t seq = m->seq + 1;
    m->seq = seq;
    if (m->park) {
        dsb();
        gic_send_sgi(SGI_DOORBELL, cpu);
    }
    return seq;
}

/* Waits until CPU cpu has run command seq. False if it has not within ms. */
static bool remote_wait(unsigned cpu, uint32_t seq, unsigned long ms)
{
    uint64_t end = cntvct() + ms_to_ticks(ms);
    while (mbox[cpu].done != seq) {
        if (cntvct() > end) {
            return false;
        }
    }
    return true;
}

/* Runs a command on CPU cpu and waits until it has run it. False if it did not within 1 s. */
static bool remote(unsigned cpu, uint32_t cmd, uint32_t a, uint32_t b, uint32_t c)
{
    return remote_wait(cpu, remote_post(cpu, cmd, a, b, c), WAIT_MS);
}

/* Parks CPU cpu in WFI (while the checks do not need it: fewer spinning vCPU threads for the
 * host, so that timer interrupts are not delayed by host scheduling), or brings it back to its
 * spinning idle loop (where it takes interrupts without a trip through WFI). */
static void park(unsigned cpu, bool on)
{
    mbox[cpu].park = on;
    dsb();
    if (!on) {
        gic_send_sgi(SGI_DOORBELL, cpu);
    }
}

/* Every interrupt a CPU took that is not in the expected INTID list: "" if none, else a short
 * description in buf. */
static const char *unexpected(unsigned cpu, const unsigned *ok, size_t nok, char *buf, size_t len)
{
    struct cpu_stats *s = &stats[cpu];
    size_t n = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < NR_TRACKED; i++) {
        bool expected = i == SGI_DOORBELL;
        for (size_t k = 0; k < nok; k++) {
            expected |= ok[k] == i;
        }
        if (!expected && s->count[i] && n + 24 < len) {
            n += (size_t)snprintf(buf + n, len - n, "%sINTID %u x%u", n ? ", " : "", i,
                                  s->count[i]);
        }
    }
    if (s->other && n + 32 < len) {
        n += (size_t)snprintf(buf + n, len - n, "%s%u others (last INTID %u)", n ? ", " : "",
                              s->other, s->other_last);
    }
    return buf;
}

/* ---- timers ---- */

enum { VTIMER, PTIMER };
static const char *const timer_name[] = { "vtimer", "ptimer" };

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

static void timer_ctl(unsigned which, uint64_t ctl)
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
static void timer_action(unsigned cpu, unsigned intid)
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
static void timer_periodic(unsigned which, uint64_t period_ms, uint32_t count)
{
    struct timer_state *t = &tstate[which][guest_cpu_index()];

    gic_enable(timer_intid(which), true);
    t->period = ms_to_ticks(period_ms);
    t->left = count;
    dsb();
    timer_write(which, CNT_CTL_ENABLE, timer_now(which) + t->period);
}

static unsigned long tolerance_ms = TIMER_TOLERANCE_MS;

/*
 * vtimer / ptimer: TIMER_ROUNDS times, the timer is programmed TIMER_DELAY_MS ahead (CVAL) and
 * must interrupt CPU 0 (INTID 27 / 30, a PPI: never CPU 1), never before the deadline (the
 * counter read in the handler is >= CVAL, and CTL.ISTATUS is set), each at most
 * TIMER_MAX_LATE_MS after it and the median of the rounds at most tolerance_ms
 * (TIMER_TOLERANCE_MS) after it. CPU 0 spins meanwhile: the interrupt comes while it runs.
 */
static void check_timer(unsigned which)
{
    const char *name = timer_name[which];
    unsigned intid = timer_intid(which);
    struct timer_state *t = &tstate[which][0];
    uint64_t late[TIMER_ROUNDS];

    stats_clear();
    actions[intid] = timer_action;
    gic_set_priority(intid, GIC_PRIO_DEFAULT);
    gic_enable(intid, true);
    for (unsigned r = 0; r < TIMER_ROUNDS; r++) {
        t->period = 0;
        t->fired_at = 0;
        uint64_t cval = timer_now(which) + ms_to_ticks(TIMER_DELAY_MS);
        timer_write(which, CNT_CTL_ENABLE, cval);
        if (!wait_count(&stats[0].count[intid], r + 1, TIMER_DELAY_MS + WAIT_MS)) {
            uint64_t ctl = timer_read_ctl(which);
            bool pend = gic_pending(intid);
            timer_ctl(which, 0);
            fail(name, "round %u: no interrupt %u ms after the %u ms deadline (CTL=0x%lx, "
                 "INTID %u %spending, CPU 1 took it %u times)", r + 1, WAIT_MS, TIMER_DELAY_MS,
                 (unsigned long)ctl, intid, pend ? "" : "not ", stats[1].count[intid]);
            goto out;
        }
        if (t->fired_at < cval || !(t->ctl & CNT_CTL_ISTATUS)) {
            fail(name, "round %u: interrupt taken %lu us before the deadline (CTL=0x%lx)",
                 r + 1, (unsigned long)ticks_to_us(cval - t->fired_at), (unsigned long)t->ctl);
            goto out;
        }
        late[r] = t->fired_at - cval;
        if (late[r] > ms_to_ticks(TIMER_MAX_LATE_MS)) {
            fail(name, "round %u: interrupt taken %lu us after the deadline (at most %u ms)",
                 r + 1, (unsigned long)ticks_to_us(late[r]), TIMER_MAX_LATE_MS);
            goto out;
        }
    }
    /* The median lateness (insertion sort of 5). */
    for (unsigned i = 1; i < TIMER_ROUNDS; i++) {
        for (unsigned j = i; j > 0 && late[j - 1] > late[j]; j--) {
            uint64_t tmp = late[j];
            late[j] = late[j - 1];
            late[j - 1] = tmp;
        }
    }
    uint64_t median = late[TIMER_ROUNDS / 2];
    if (median > ms_to_ticks(tolerance_ms)) {
        fail(name, "interrupts taken %lu us after the deadline (median of %u; %lu us to %lu us), "
             "tolerance %lu ms", (unsigned long)ticks_to_us(median), TIMER_ROUNDS,
             (unsigned long)ticks_to_us(late[0]),
             (unsigned long)ticks_to_us(late[TIMER_ROUNDS - 1]), tolerance_ms);
        goto out;
    }
    spin_ms(SETTLE_MS);
    char buf[160];
    const unsigned ok0[] = { intid };
    if (stats[0].count[intid] != TIMER_ROUNDS || stats[1].count[intid] ||
        *unexpected(0, ok0, 1, buf, sizeof(buf))) {
        fail(name, "CPU 0 took INTID %u %u times, expected %u; CPU 1 %u times; other: %s",
             intid, stats[0].count[intid], TIMER_ROUNDS, stats[1].count[intid],
             unexpected(0, ok0, 1, buf, sizeof(buf))[0] ? buf : "none");
        goto out;
    }
    printf("%s: %u interrupts %u ms after programming, late by %lu us (median), %lu us to %lu us "
           "(tolerance: median %lu ms, each %u ms)\n", name, TIMER_ROUNDS, TIMER_DELAY_MS,
           (unsigned long)ticks_to_us(median), (unsigned long)ticks_to_us(late[0]),
           (unsigned long)ticks_to_us(late[TIMER_ROUNDS - 1]), tolerance_ms, TIMER_MAX_LATE_MS);
    pass(name);
out:
    timer_ctl(which, 0);
    gic_enable(intid, false);
    actions[intid] = NULL;
}

/* ---- SGIs between the CPUs ---- */

#define SGI_0_TO_1 1
#define SGI_1_TO_0 2
#define SGI_HOLD_MS 50 /* at most: the handler waits for the next SGI to be sent */

/* The chain of SGIs of the current sgi_* check: how many the sender has sent, how many reached
 * the target in time. */
static volatile uint32_t sgi_sent, sgi_chain_ok;

/* Sends sgi to CPU to n times, each once the previous one was taken (while its handler still
 * runs: see sgi_hold_action). Sets sgi_chain_ok to the number taken in time. */
static void sgi_chain(unsigned sgi, unsigned to, unsigned n)
{
    sgi_chain_ok = 0;
    for (unsigned k = 1; k <= n; k++) {
        gic_send_sgi(sgi, to);
        dsb();
        sgi_sent = k;
        if (!wait_count(&stats[to].count[sgi], k, WAIT_MS)) {
            return;
        }
        sgi_chain_ok = k;
    }
}

/* The SGI handler of the sgi_* checks: it stays active (no EOI) until the sender has sent the
 * next one, so that every SGI after the first becomes pending while the previous one is active:
 * it must be taken after the EOI (GIC: active and pending). */
static void sgi_hold_action(unsigned cpu, unsigned intid)
{
    uint32_t n = stats[cpu].count[intid];

    if (n < SGI_ROUNDS) {
        uint64_t end = cntvct() + ms_to_ticks(SGI_HOLD_MS);
        while (sgi_sent < n + 1 && cntvct() < end) {
        }
    }
}

/*
 * sgi_0_to_1 / sgi_1_to_0: SGI_ROUNDS SGIs from one CPU to the other (GICD_SGIR on GICv2,
 * ICC_SGI1R_EL1 on GICv3), each sent once the previous one was acknowledged and while its
 * handler still holds it active (sgi_hold_action): each is taken once by the target, never by
 * the sender; on GICv2 the IAR's CPUID field names the sender's interface.
 */
static void check_sgi(unsigned from, unsigned to)
{
    const char *name = from == 0 ? "sgi_0_to_1" : "sgi_1_to_0";
    unsigned sgi = from == 0 ? SGI_0_TO_1 : SGI_1_TO_0;
    char buf[160];

    stats_clear();
    sgi_sent = sgi_chain_ok = 0;
    actions[sgi] = sgi_hold_action;
    dsb();
    if (from == 0) {
        sgi_chain(sgi, to, SGI_ROUNDS);
    } else {
        uint32_t seq = remote_post(from, CMD_SGI_CHAIN, sgi, to, SGI_ROUNDS);
        if (!remote_wait(from, seq, (SGI_ROUNDS + 1) * WAIT_MS)) {
            fail(name, "CPU %u does not answer (%s)", from, cpu_state(from, buf, sizeof(buf)));
            goto out;
        }
    }
    if (sgi_chain_ok != SGI_ROUNDS) {
        unsigned k = sgi_chain_ok + 1;
        bool pend = to == 0 ? gic_pending(sgi) : false;
        fail(name, "SGI %u #%u%s not taken by CPU %u within %u ms (CPU %u took it %u times%s; "
             "%s)", sgi, k, k > 1 ? " (sent while the previous one was active)" : "", to,
             WAIT_MS, from, stats[from].count[sgi],
             to == 0 ? (pend ? ", pending" : ", not pending") : "",
             cpu_state(1, buf, sizeof(buf)));
        goto out;
    }
    spin_ms(SETTLE_MS);
    const unsigned ok[] = { sgi };
    if (stats[to].count[sgi] != SGI_ROUNDS || stats[from].count[sgi]) {
        fail(name, "SGI %u taken %u times by CPU %u (expected %u), %u times by CPU %u", sgi,
             stats[to].count[sgi], to, SGI_ROUNDS, stats[from].count[sgi], from);
    } else if (*unexpected(to, ok, 1, buf, sizeof(buf))) {
        fail(name, "unexpected interrupts on CPU %u: %s", to, buf);
    } else if (*unexpected(from, NULL, 0, buf, sizeof(buf))) {
        fail(name, "unexpected interrupts on CPU %u: %s", from, buf);
    } else if (gic.version == 2 &&
               stats[to].sgi_source[sgi] != (unsigned)__builtin_ctz(gic.cpu_if[from])) {
        fail(name, "GICC_IAR CPUID %u, expected %u (the sender's interface)",
             stats[to].sgi_source[sgi], __builtin_ctz(gic.cpu_if[from]));
    } else {
        pass(name);
    }
out:
    actions[sgi] = NULL;
}

/* ---- spi_routing ---- */

static void uart_tx_mask_action(unsigned cpu, unsigned intid)
{
    (void)cpu;
    (void)intid;
    mmio_write32(guest.uart + PL011_IMSC, mmio_read32(guest.uart + PL011_IMSC) & ~PL011_TXIM);
}

/* Unmasks the UART's TX interrupt (level: up as long as the TX FIFO is empty and TXIM is set;
 * the handler masks it again) and waits for CPU `to` to take it. Checks that only it did. */
static bool spi_round(const char *name, unsigned to, unsigned other)
{
    unsigned intid = guest.uart_intid;
    char buf[160];

    stats_clear();
    gic_route_spi(intid, to);
    uint64_t route = gic_spi_route(intid);
    mmio_write32(guest.uart + PL011_IMSC, mmio_read32(guest.uart + PL011_IMSC) | PL011_TXIM);
    if (!wait_count(&stats[to].count[intid], 1, WAIT_MS)) {
        uint32_t ris = mmio_read32(guest.uart + PL011_RIS), mis = mmio_read32(guest.uart + PL011_MIS);
        bool pend = gic_pending(intid);
        mmio_write32(guest.uart + PL011_IMSC, 0);
        fail(name, "routed to CPU %u (%s=0x%lx), INTID %u not taken by it within %u ms; CPU %u "
             "took it %u times (UARTRIS=0x%x UARTMIS=0x%x, %spending)", to,
             gic.version == 2 ? "ITARGETSR" : "IROUTER", (unsigned long)route, intid, WAIT_MS,
             other, stats[other].count[intid], ris, mis, pend ? "" : "not ");
        return false;
    }
    spin_ms(SETTLE_MS);
    const unsigned ok[] = { intid };
    if (stats[to].count[intid] != 1 || stats[other].count[intid]) {
        fail(name, "routed to CPU %u (%s=0x%lx): INTID %u taken %u times by CPU %u, %u times "
             "by CPU %u; expected once by CPU %u", to,
             gic.version == 2 ? "ITARGETSR" : "IROUTER", (unsigned long)route, intid,
             stats[to].count[intid], to, stats[other].count[intid], other, to);
        return false;
    }
    if (*unexpected(to, ok, 1, buf, sizeof(buf))) {
        fail(name, "routed to CPU %u: unexpected interrupts on it: %s", to, buf);
        return false;
    }
    if (*unexpected(other, NULL, 0, buf, sizeof(buf))) {
        fail(name, "routed to CPU %u: unexpected interrupts on CPU %u: %s", to, other, buf);
        return false;
    }
    if (mmio_read32(guest.uart + PL011_IMSC) & PL011_TXIM) {
        fail(name, "the handler's write to UARTIMSC did not stick");
        return false;
    }
    return true;
}

/*
 * spi_routing: the PL011's TX interrupt (SPI, INTID 33 on QEMU virt), routed to CPU 1 by
 * ITARGETSR (GICv2) / IROUTER (GICv3), is taken once by CPU 1 and never by CPU 0; re-routed to
 * CPU 0, the other way round.
 */
static void check_spi_routing(void)
{
    const char *name = "spi_routing";
    unsigned intid = guest.uart_intid;

    mmio_write32(guest.uart + PL011_IMSC, 0);
    actions[intid] = uart_tx_mask_action;
    gic_set_level(intid, true);
    gic_set_priority(intid, GIC_PRIO_DEFAULT);
    gic_enable(intid, true);
    if (spi_round(name, 1, 0) && spi_round(name, 0, 1)) {
        pass(name);
    }
    mmio_write32(guest.uart + PL011_IMSC, 0);
    gic_enable(intid, false);
    gic_route_spi(intid, 0);
    actions[intid] = NULL;
}

/* ---- priority ---- */

#define SGI_LOW 3      /* priority 0xa0 */
#define SGI_HIGH 4     /* priority 0x40 */
#define SGI_PREEMPTED 5
#define SGI_PREEMPTOR 6
#define SGI_BLOCKER 7  /* priority 0x40, runs with IRQs unmasked */
#define SGI_BLOCKED 8  /* priority 0x80: must wait for SGI_BLOCKER's EOI */

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

static void format_log(unsigned cpu, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < stats[cpu].nlog && i < LOG_LEN && n + 12 < len; i++) {
        uint32_t e = stats[cpu].log[i];
        n += (size_t)snprintf(buf + n, len - n, "%s%s%u", i ? " " : "",
                              (e & LOG_EXIT) ? "end" : "", e & ~LOG_EXIT);
    }
}

static bool log_is(unsigned cpu, const uint32_t *want, uint32_t n)
{
    if (stats[cpu].nlog != n) {
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (stats[cpu].log[i] != want[i]) {
            return false;
        }
    }
    return true;
}

/*
 * priority, on CPU 0 with SGIs to itself:
 *  (a) SGI_LOW (0xa0) then SGI_HIGH (0x40) made pending with IRQs masked: on unmasking, SGI_HIGH
 *      is taken first;
 *  (b) with PMR 0x80, SGI_LOW (0xa0) stays pending and is not taken; PMR raised to 0xb0, it is;
 *  (c) the handler of SGI_PREEMPTED (0xa0) sends SGI_PREEMPTOR (0x40) to its CPU: not taken
 *      while the handler keeps IRQs masked; taken inside the handler once it unmasks them;
 *  (d) the handler of SGI_BLOCKER (0x40) sends SGI_BLOCKED (0x80) and unmasks IRQs: SGI_BLOCKED
 *      is not taken (the running priority is higher) until SGI_BLOCKER's EOI.
 */
static void check_priority(void)
{
    const char *name = "priority";
    char buf[200];

    gic_set_priority(SGI_LOW, 0xa0);
    gic_set_priority(SGI_HIGH, 0x40);
    gic_set_priority(SGI_PREEMPTED, 0xa0);
    gic_set_priority(SGI_PREEMPTOR, 0x40);
    gic_set_priority(SGI_BLOCKER, 0x40);
    gic_set_priority(SGI_BLOCKED, 0x80);

    /* (a) */
    stats_clear();
    irqs_off();
    gic_send_sgi(SGI_LOW, 0);
    gic_send_sgi(SGI_HIGH, 0);
    dsb();
    spin_ms(2);
    irqs_on();
    wait_count(&stats[0].nlog, 2, WAIT_MS);
    spin_ms(SETTLE_MS);
    const uint32_t want_a[] = { SGI_HIGH, SGI_LOW };
    if (!log_is(0, want_a, 2)) {
        format_log(0, buf, sizeof(buf));
        fail(name, "SGI %u (0xa0) and SGI %u (0x40) pending together: taken in the order [%s], "
             "expected [%u %u]", SGI_LOW, SGI_HIGH, buf, SGI_HIGH, SGI_LOW);
        goto out;
    }

    /* (b) */
    stats_clear();
    gic_set_pmr(0x80);
    gic_send_sgi(SGI_LOW, 0);
    spin_ms(SETTLE_MS);
    bool pend = gic_pending(SGI_LOW);
    if (stats[0].count[SGI_LOW]) {
        fail(name, "SGI %u (priority 0xa0) taken with PMR 0x80", SGI_LOW);
        goto out;
    }
    gic_set_pmr(0xb0);
    if (!wait_count(&stats[0].count[SGI_LOW], 1, WAIT_MS)) {
        fail(name, "SGI %u (priority 0xa0) masked by PMR 0x80 (%s): not taken %u ms after PMR "
             "was raised to 0xb0", SGI_LOW, pend ? "pending" : "not pending", WAIT_MS);
        goto out;
    }
    gic_set_pmr(GIC_PMR_OPEN);

    /* (c) */
    stats_clear();
    nested_seen = masked_seen = 0;
    actions[SGI_PREEMPTED] = preempted_action;
    gic_send_sgi(SGI_PREEMPTED, 0);
    wait_count(&stats[0].nlog, 3, WAIT_MS);
    spin_ms(SETTLE_MS);
    const uint32_t want_c[] = { SGI_PREEMPTED, SGI_PREEMPTOR, LOG_EXIT | SGI_PREEMPTED };
    if (masked_seen || !nested_seen || !log_is(0, want_c, 3)) {
        format_log(0, buf, sizeof(buf));
        fail(name, "preemption: SGI %u (0x40) sent from the handler of SGI %u (0xa0): taken "
             "%s while IRQs were masked, %s after they were unmasked; events [%s], expected "
             "[%u %u end%u]", SGI_PREEMPTOR, SGI_PREEMPTED, masked_seen ? "already" : "not",
             nested_seen ? "taken" : "not taken", buf, SGI_PREEMPTED, SGI_PREEMPTOR,
             SGI_PREEMPTED);
        goto out;
    }

    /* (d) */
    stats_clear();
    blocked_seen = masked_seen = 0;
    actions[SGI_BLOCKER] = blocker_action;
    gic_send_sgi(SGI_BLOCKER, 0);
    wait_count(&stats[0].nlog, 3, WAIT_MS);
    spin_ms(SETTLE_MS);
    const uint32_t want_d[] = { SGI_BLOCKER, LOG_EXIT | SGI_BLOCKER, SGI_BLOCKED };
    if (blocked_seen || !log_is(0, want_d, 3)) {
        format_log(0, buf, sizeof(buf));
        fail(name, "running priority: SGI %u (0x80) sent from the handler of SGI %u (0x40) "
             "with IRQs unmasked: events [%s], expected [%u end%u %u]", SGI_BLOCKED, SGI_BLOCKER,
             buf, SGI_BLOCKER, SGI_BLOCKER, SGI_BLOCKED);
        goto out;
    }
    const unsigned ok[] = { SGI_BLOCKER, SGI_BLOCKED };
    if (*unexpected(0, ok, 2, buf, sizeof(buf))) {
        fail(name, "unexpected interrupts on CPU 0: %s", buf);
        goto out;
    }
    if (*unexpected(1, NULL, 0, buf, sizeof(buf))) {
        fail(name, "unexpected interrupts on CPU 1: %s", buf);
        goto out;
    }
    pass(name);
out:
    irqs_on();
    gic_set_pmr(GIC_PMR_OPEN);
    actions[SGI_PREEMPTED] = actions[SGI_BLOCKER] = NULL;
    for (unsigned i = SGI_LOW; i <= SGI_BLOCKED; i++) {
        gic_set_priority(i, GIC_PRIO_DEFAULT);
    }
}

/* ---- many_pending ---- */

#define MANY 12
#define MANY_FIRST_SGI 2 /* SGIs 2..13 */

/*
 * many_pending: 12 SGIs with 12 distinct priorities (not in INTID order) made pending on CPU 0
 * at once with IRQs masked, more than the 4 list registers of QEMU's GIC: once IRQs are
 * unmasked, all 12 are taken, each once, highest priority first. Twice: through the pending
 * registers (GICD_SPENDSGIR / GICR_ISPENDR0), then by sending them (GICD_SGIR / ICC_SGI1R_EL1).
 */
static void check_many_pending(void)
{
    const char *name = "many_pending";
    static const uint8_t rank[MANY] = { 7, 2, 11, 0, 9, 4, 1, 10, 5, 8, 3, 6 };
    uint32_t want[MANY];
    char buf[200];
    bool ok = true;

    for (unsigned i = 0; i < MANY; i++) {
        gic_set_priority(MANY_FIRST_SGI + i, (uint8_t)(0x10 + 0x10 * rank[i]));
        want[rank[i]] = MANY_FIRST_SGI + i;
    }
    for (unsigned round = 0; round < 2 && ok; round++) {
        const char *how = round == 0 ? (gic.version == 2 ? "GICD_SPENDSGIR" : "GICR_ISPENDR0")
                                     : (gic.version == 2 ? "GICD_SGIR" : "ICC_SGI1R_EL1");
        stats_clear();
        irqs_off();
        for (unsigned k = 0; k < MANY; k++) {
            unsigned sgi = MANY_FIRST_SGI + (k * 5) % MANY; /* yet another order */
            if (round == 0) {
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
            fail(name, "%u SGIs made pending through %s (%u read back as pending): taken [%s], "
                 "expected [%u %u %u %u %u %u %u %u %u %u %u %u]", MANY, how, npend, buf,
                 want[0], want[1], want[2], want[3], want[4], want[5], want[6], want[7],
                 want[8], want[9], want[10], want[11]);
            ok = false;
        } else if (*unexpected(1, NULL, 0, buf, sizeof(buf))) {
            fail(name, "CPU 1 took interrupts: %s", buf);
            ok = false;
        } else {
            printf("many_pending: %u SGIs through %s taken in priority order\n", MANY, how);
        }
    }
    if (ok) {
        pass(name);
    }
    for (unsigned i = 0; i < MANY; i++) {
        gic_set_priority(MANY_FIRST_SGI + i, GIC_PRIO_DEFAULT);
    }
}

/* ---- wfi_wakes ---- */

/*
 * wfi_wakes: with IRQs masked (PSTATE.I), the timer is programmed WFI_DELAY_MS ahead and the CPU
 * executes one WFI: it must come back only once the timer has fired (its counter >= CVAL and
 * CTL.ISTATUS set: at least the delay has passed), and the interrupt must then be taken when IRQs
 * are unmasked. WFI_ROUNDS times with the virtual timer, then with the physical timer.
 */
static void check_wfi_wakes(void)
{
    const char *name = "wfi_wakes";
    uint64_t longest[2] = { 0, 0 };

    stats_clear();
    for (unsigned which = VTIMER; which <= PTIMER; which++) {
        unsigned intid = timer_intid(which);
        actions[intid] = timer_action;
        gic_enable(intid, true);
        for (unsigned r = 0; r < WFI_ROUNDS; r++) {
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
                fail(name, "%s round %u: WFI returned after %lu us, before the timer fired "
                     "(%u ms; CTL=0x%lx)", timer_name[which], r + 1,
                     (unsigned long)ticks_to_us(woke - start), WFI_DELAY_MS, (unsigned long)ctl);
                goto out;
            }
            if (!taken) {
                fail(name, "%s round %u: WFI returned after the timer fired, but INTID %u was "
                     "not taken once IRQs were unmasked", timer_name[which], r + 1, intid);
                goto out;
            }
            longest[which] = MAX(longest[which], woke - start);
        }
        gic_enable(intid, false);
        actions[intid] = NULL;
    }
    printf("wfi_wakes: WFI for a %u ms timer returned after %lu us (vtimer), %lu us (ptimer) at "
           "most\n", WFI_DELAY_MS, (unsigned long)ticks_to_us(longest[VTIMER]),
           (unsigned long)ticks_to_us(longest[PTIMER]));
    pass(name);
out:
    irqs_on();
    for (unsigned which = VTIMER; which <= PTIMER; which++) {
        timer_ctl(which, 0);
        gic_enable(timer_intid(which), false);
        actions[timer_intid(which)] = NULL;
    }
}

/* ---- mode=isolation ---- */

#define ISO_SGI_ROUNDS 100
#define ISO_V_PERIOD_MS 2 /* CPU 0's virtual timer */
#define ISO_V_COUNT 100
#define ISO_P_PERIOD_MS 3 /* CPU 1's physical timer */
#define ISO_P_COUNT 60

/*
 * Two VMs run this at once, vm=0 and vm=1, each on 2 vCPUs. VM K uses its own SGIs,
 * 1+7K .. 3+7K, and checks that every SGI it takes is one it sent, as many times as it sent it
 * (isolation_sgi); that its timers interrupt exactly as often as it programmed them, on the
 * CPU that programmed them (isolation_timer); and that its UART's TX interrupt reaches the CPU
 * it routed it to (vm0: CPU 1, vm1: CPU 0) exactly as often as it unmasked it (isolation_spi).
 * All three run concurrently, for about ISO_V_COUNT * ISO_V_PERIOD_MS ms.
 */
static void isolation(void)
{
    unsigned vm = (unsigned)bootarg_ul("vm", 0) & 1;
    unsigned base = 1 + 7 * vm;
    unsigned s01 = base, s10 = base + 1, s00 = base + 2;
    unsigned spi_cpu = vm == 0 ? 1 : 0, spi_rounds = vm == 0 ? 20 : 15;
    char buf[200];
    bool sgi_ok = true, spi_ok = true;

    printf("isolation: vm=%u: SGIs %u (CPU 0 to 1), %u (1 to 0), %u (0 to 0); UART interrupt "
           "to CPU %u\n", vm, s01, s10, s00, spi_cpu);
    stats_clear();
    actions[guest.vtimer_intid] = actions[guest.ptimer_intid] = timer_action;
    actions[guest.uart_intid] = uart_tx_mask_action;
    gic_enable(guest.vtimer_intid, true);
    gic_enable(guest.ptimer_intid, true);
    mmio_write32(guest.uart + PL011_IMSC, 0);
    gic_set_level(guest.uart_intid, true);
    gic_route_spi(guest.uart_intid, spi_cpu);
    gic_enable(guest.uart_intid, true);
    if (!remote(1, CMD_TIMER_PERIODIC, PTIMER, ISO_P_PERIOD_MS, ISO_P_COUNT)) {
        fail("isolation_timer", "CPU 1 does not answer");
    }
    timer_periodic(VTIMER, ISO_V_PERIOD_MS, ISO_V_COUNT);

    unsigned spi_done = 0;
    for (unsigned r = 0; r < ISO_SGI_ROUNDS && sgi_ok; r++) {
        gic_send_sgi(s01, 1);
        sgi_ok = wait_count(&stats[1].count[s01], r + 1, WAIT_MS);
        if (sgi_ok && !remote(1, CMD_SEND_SGI, s10, 0, 0)) {
            sgi_ok = false;
        }
        sgi_ok = sgi_ok && wait_count(&stats[0].count[s10], r + 1, WAIT_MS);
        gic_send_sgi(s00, 0);
        sgi_ok = sgi_ok && wait_count(&stats[0].count[s00], r + 1, WAIT_MS);
        if (!sgi_ok) {
            fail("isolation_sgi", "round %u: CPU 1 took SGI %u %u times, CPU 0 SGI %u %u times "
                 "and SGI %u %u times; expected %u each", r + 1, s01, stats[1].count[s01], s10,
                 stats[0].count[s10], s00, stats[0].count[s00], r + 1);
        }
        /* The UART's interrupt, every few rounds, while SGIs and timers go on. */
        if (spi_done < spi_rounds && r % 4 == 0 && spi_ok) {
            mmio_write32(guest.uart + PL011_IMSC, mmio_read32(guest.uart + PL011_IMSC) |
                         PL011_TXIM);
            spi_done++;
            spi_ok = wait_count(&stats[spi_cpu].count[guest.uart_intid], spi_done, WAIT_MS);
            if (!spi_ok) {
                fail("isolation_spi", "unmask %u: INTID %u not taken by CPU %u within %u ms",
                     spi_done, guest.uart_intid, spi_cpu, WAIT_MS);
            }
        }
    }
    while (spi_ok && spi_done < spi_rounds) {
        mmio_write32(guest.uart + PL011_IMSC, mmio_read32(guest.uart + PL011_IMSC) | PL011_TXIM);
        spi_done++;
        spi_ok = wait_count(&stats[spi_cpu].count[guest.uart_intid], spi_done, WAIT_MS);
        if (!spi_ok) {
            fail("isolation_spi", "unmask %u: INTID %u not taken by CPU %u within %u ms",
                 spi_done, guest.uart_intid, spi_cpu, WAIT_MS);
        }
    }
    /* Let the timers run out. */
    wait_count(&stats[0].count[guest.vtimer_intid], ISO_V_COUNT, ISO_V_COUNT * ISO_V_PERIOD_MS + WAIT_MS);
    wait_count(&stats[1].count[guest.ptimer_intid], ISO_P_COUNT, ISO_P_COUNT * ISO_P_PERIOD_MS + WAIT_MS);
    spin_ms(5 * SETTLE_MS);
    mmio_write32(guest.uart + PL011_IMSC, 0);

    /* Each CPU took exactly what this VM caused, nothing else. */
    const unsigned ok0[] = { s10, s00, guest.vtimer_intid, guest.uart_intid };
    const unsigned ok1[] = { s01, guest.ptimer_intid, guest.uart_intid };
    char buf1[200];
    unexpected(0, ok0, ARRAY_SIZE(ok0), buf, sizeof(buf));
    unexpected(1, ok1, ARRAY_SIZE(ok1), buf1, sizeof(buf1));
    unsigned other_cpu = 1 - spi_cpu;
    if (sgi_ok) {
        if (stats[1].count[s01] != ISO_SGI_ROUNDS || stats[0].count[s10] != ISO_SGI_ROUNDS ||
            stats[0].count[s00] != ISO_SGI_ROUNDS || stats[0].count[s01] ||
            stats[1].count[s10] || stats[1].count[s00]) {
            fail("isolation_sgi", "SGI %u: CPU 1 took it %u times, CPU 0 %u; SGI %u: CPU 0 %u, "
                 "CPU 1 %u; SGI %u: CPU 0 %u, CPU 1 %u; expected %u on the target, 0 elsewhere",
                 s01, stats[1].count[s01], stats[0].count[s01], s10, stats[0].count[s10],
                 stats[1].count[s10], s00, stats[0].count[s00], stats[1].count[s00],
                 ISO_SGI_ROUNDS);
        } else if (buf[0] || buf1[0]) {
            fail("isolation_sgi", "interrupts this VM did not cause: CPU 0: %s; CPU 1: %s",
                 buf[0] ? buf : "none", buf1[0] ? buf1 : "none");
        } else {
            pass("isolation_sgi");
        }
    }
    if (stats[0].count[guest.vtimer_intid] != ISO_V_COUNT || stats[1].count[guest.ptimer_intid] != ISO_P_COUNT
        || stats[1].count[guest.vtimer_intid] || stats[0].count[guest.ptimer_intid]) {
        fail("isolation_timer", "CPU 0's vtimer (INTID %u) %u interrupts, CPU 1's ptimer (INTID "
             "%u) %u; expected %u and %u; CPU 1 took INTID %u %u times, CPU 0 INTID %u %u times",
             guest.vtimer_intid, stats[0].count[guest.vtimer_intid], guest.ptimer_intid,
             stats[1].count[guest.ptimer_intid], ISO_V_COUNT, ISO_P_COUNT, guest.vtimer_intid,
             stats[1].count[guest.vtimer_intid], guest.ptimer_intid, stats[0].count[guest.ptimer_intid]);
    } else {
        pass("isolation_timer");
    }
    if (spi_ok) {
        if (stats[spi_cpu].count[guest.uart_intid] != spi_rounds || stats[other_cpu].count[guest.uart_intid]) {
            fail("isolation_spi", "INTID %u: CPU %u took it %u times, CPU %u %u times; expected %u "
                 "and 0", guest.uart_intid, spi_cpu, stats[spi_cpu].count[guest.uart_intid], other_cpu,
                 stats[other_cpu].count[guest.uart_intid], spi_rounds);
        } else {
            pass("isolation_spi");
        }
    }
    timer_ctl(VTIMER, 0);
}

/* ---- main ---- */

int main(void *dtb);
int main(void *dtb)
{
    char mode[32] = "all";
    uint64_t freq;

    guest_init(dtb);
    bootarg("mode", mode, sizeof(mode));
    tolerance_ms = bootarg_ul("tol_ms", TIMER_TOLERANCE_MS);
    freq = cntfrq();
    ticks_per_ms = freq / 1000;
    ticks_per_us = freq / 1000000;
    if (!guest.fdt_ok || !ticks_per_us) {
        fail("setup", "%s", !guest.fdt_ok ? "no valid DTB" : "CNTFRQ_EL0 is 0");
        finish();
    }
    nr_cpus = MIN(guest.nr_cpus, (unsigned)GUEST_MAX_CPUS);
    if (!gic.version) {
        fail("setup", "no GIC node (arm,gic-v3 or arm,cortex-a15-gic) in the DTB");
        finish();
    }
    printf("irqtest: mode=%s, GICv%u (GICD 0x%lx, %s 0x%lx), %u CPUs, PSCI %s, counter %lu Hz, "
           "timer INTIDs %u (virtual) %u (physical), UART INTID %u\n", mode, gic.version,
           (unsigned long)gic.gicd, gic.version == 2 ? "GICC" : "GICR",
           (unsigned long)(gic.version == 2 ? gic.gicc : gic.gicr_base), guest.nr_cpus,
           guest.psci_smc ? "smc" : "hvc", (unsigned long)freq, guest.vtimer_intid, guest.ptimer_intid,
           guest.uart_intid);
    if (strcmp(mode, "all") != 0 && strcmp(mode, "isolation") != 0) {
        fail("setup", "unknown mode \"%s\"", mode);
        finish();
    }

    guest_set_irq_handler(irq_entry);
    gic_dist_init();
    if (!gic_cpu_init(0)) {
        fail("setup", "no GIC %s for CPU 0 (MPIDR 0x%lx)",
               gic.version == 2 ? "CPU interface" : "redistributor", (unsigned long)read_mpidr_aff());
        finish();
    }
    if (nr_cpus < 2) {
        fail("setup", "%u CPU in the DTB, the tests need 2", nr_cpus);
        finish();
    }
    int64_t ret = guest_cpu_start(1, secondary_main, NULL);
    uint64_t end = cntvct() + ms_to_ticks(WAIT_MS);
    while (ret == PSCI_RET_SUCCESS && !mbox[1].ready && cntvct() < end) {
    }
    if (ret != PSCI_RET_SUCCESS || !mbox[1].ready) {
        fail("setup", "CPU 1 (MPIDR 0x%lx) did not start: CPU_ON returned %ld",
               (unsigned long)guest.cpu_mpidr[1], (long)ret);
        finish();
    }
    if (gic.mpidr[0] != (guest.cpu_mpidr[0] & MPIDR_AFF_MASK) ||
        gic.mpidr[1] != (guest.cpu_mpidr[1] & MPIDR_AFF_MASK)) {
        printf("irqtest: note: MPIDRs read 0x%lx, 0x%lx; the DTB says 0x%lx, 0x%lx\n",
               (unsigned long)gic.mpidr[0], (unsigned long)gic.mpidr[1],
               (unsigned long)guest.cpu_mpidr[0], (unsigned long)guest.cpu_mpidr[1]);
    }
    irqs_on();

    if (strcmp(mode, "isolation") == 0) {
        isolation();
    } else {
        park(1, true);
        check_timer(VTIMER);
        check_timer(PTIMER);
        park(1, false);
        check_sgi(0, 1);
        check_sgi(1, 0);
        check_spi_routing();
        check_priority();
        check_many_pending();
        park(1, true);
        check_wfi_wakes();
    }
    irqs_off();
    finish();
}
