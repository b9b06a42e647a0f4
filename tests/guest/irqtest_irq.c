/* irqtest: the IRQ handler, what it saw, and waiting for it. */
#include "irqtest.h"

uint64_t ticks_per_ms, ticks_per_us;

/* ---- what the IRQ handler saw, per CPU ---- */

struct cpu_stats stats[GUEST_MAX_CPUS];
irq_action_t volatile actions[NR_TRACKED];

void stats_clear(void)
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

void log_event(unsigned cpu, uint32_t what)
{
    struct cpu_stats *s = &stats[cpu];
    uint32_t n = s->nlog;
    if (n < LOG_LEN) {
        s->log[n] = what;
    }
    s->nlog = n + 1;
}

void irq_entry(uint64_t ticks)
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

const char *unexpected(unsigned cpu, const unsigned *ok, size_t nok, char *buf, size_t len)
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
            n +=
                (size_t)snprintf(buf + n, len - n, "%sINTID %u x%u", n ? ", " : "", i, s->count[i]);
        }
    }
    if (s->other && n + 32 < len) {
        n += (size_t)snprintf(buf + n, len - n, "%s%u others (last INTID %u)", n ? ", " : "",
                              s->other, s->other_last);
    }
    return buf;
}

void format_log(unsigned cpu, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < stats[cpu].nlog && i < LOG_LEN && n + 12 < len; i++) {
        uint32_t e = stats[cpu].log[i];
        n += (size_t)snprintf(buf + n, len - n, "%s%s%u", i ? " " : "", (e & LOG_EXIT) ? "end" : "",
                              e & ~LOG_EXIT);
    }
}

bool log_is(unsigned cpu, const uint32_t *want, uint32_t n)
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

/* ---- waiting ---- */

bool wait_count(volatile uint32_t *p, uint32_t want, unsigned long ms)
{
    uint64_t end = cntvct() + ms_to_ticks(ms);

    while (*p < want) {
        if (cntvct() > end) {
            return *p >= want;
        }
    }
    return true;
}

void spin_ms(unsigned long ms)
{
    uint64_t end = cntvct() + ms_to_ticks(ms);
    while (cntvct() < end) {
    }
}
