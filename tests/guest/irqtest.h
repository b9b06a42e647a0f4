/*
 * What the irqtest files share (irqtest.c describes the guest): time, the IRQ handler's records,
 * the second CPU's mailbox, and each topic's checks.
 */
#ifndef IRQTEST_H
#define IRQTEST_H

#include "gic.h"
#include "guest.h"
#include "report.h"
#include "sysreg.h"

#define TIMER_TOLERANCE_MS 25 /* default of "tol_ms=": see irqtest_timer.c */
#define WAIT_MS 1000          /* how long any expected interrupt may take before we give up */
#define SETTLE_MS 10          /* after the expected ones: time for any extra one to show up */

#define SGI_DOORBELL 15 /* wakes a parked CPU; never counted as unexpected */

/* ---- time (irqtest_irq.c) ---- */

/* Generic-timer frequency: ticks per ms / us (main sets them). */
extern uint64_t ticks_per_ms, ticks_per_us;

static inline uint64_t ms_to_ticks(uint64_t ms)
{
    return ms * ticks_per_ms;
}

static inline uint64_t ticks_to_us(uint64_t t)
{
    return t / ticks_per_us;
}

/* Spins (IRQs as they are) until *p >= want or ms milliseconds pass. True if reached. */
bool wait_count(volatile uint32_t *p, uint32_t want, unsigned long ms);
void spin_ms(unsigned long ms);

/* ---- what the IRQ handler saw, per CPU (irqtest_irq.c) ---- */

#define NR_TRACKED 64 /* INTIDs counted one by one; the rest are "other" */
#define LOG_LEN 64
#define LOG_EXIT 0x1000 /* log marker: a handler ended (| its INTID) */

struct cpu_stats {
    volatile uint32_t count[NR_TRACKED];
    volatile uint32_t other, other_last, spurious;
    volatile uint32_t sgi_source[16]; /* GICv2: the CPUID field of the last one */
    volatile uint32_t log[LOG_LEN];   /* INTIDs in the order taken (and LOG_EXIT markers) */
    volatile uint32_t nlog;
};

extern struct cpu_stats stats[GUEST_MAX_CPUS];

/* What a check wants done in the handler of an INTID below NR_TRACKED, before the EOI. */
typedef void (*irq_action_t)(unsigned cpu, unsigned intid);
extern irq_action_t volatile actions[NR_TRACKED];

/* The guest's IRQ handler (guest_set_irq_handler). */
void irq_entry(uint64_t ticks);
void stats_clear(void);
void log_event(unsigned cpu, uint32_t what);
/* Every interrupt a CPU took that is not in the expected INTID list: "" if none, else a short
 * description in buf. */
const char *unexpected(unsigned cpu, const unsigned *ok, size_t nok, char *buf, size_t len);
/* CPU cpu's log as "2 3 end2 ...". */
void format_log(unsigned cpu, char *buf, size_t len);
bool log_is(unsigned cpu, const uint32_t *want, uint32_t n);

/* ---- the other CPUs: each runs commands from its mailbox, IRQs unmasked (irqtest_cpus.c) ---- */

enum { CMD_NONE, CMD_SEND_SGI, CMD_TIMER_PERIODIC, CMD_SGI_CHAIN };

/* Starts CPU cpu with PSCI CPU_ON and waits up to WAIT_MS for it to be ready (cpu_ready).
 * Returns CPU_ON's status. */
int64_t cpu_start(unsigned cpu);
bool cpu_ready(unsigned cpu);
/* A one-line account of CPU cpu, for failure details: does its idle loop run, what did it
 * take. */
const char *cpu_state(unsigned cpu, char *buf, size_t len);
/* Hands a command to CPU cpu; returns its sequence number (for remote_wait). */
uint32_t remote_post(unsigned cpu, uint32_t cmd, uint32_t a, uint32_t b, uint32_t c);
/* Waits until CPU cpu has run command seq. False if it has not within ms. */
bool remote_wait(unsigned cpu, uint32_t seq, unsigned long ms);
/* Runs a command on CPU cpu and waits until it has run it. False if it did not within 1 s. */
bool remote(unsigned cpu, uint32_t cmd, uint32_t a, uint32_t b, uint32_t c);
void park(unsigned cpu, bool on);

/* ---- the checks, by topic; each prints its PASS or FAIL lines ---- */

/* irqtest_timer.c */
enum { VTIMER, PTIMER };
void timer_action(unsigned cpu, unsigned intid);
void timer_periodic(unsigned which, uint64_t period_ms, uint32_t count);
void timer_ctl(unsigned which, uint64_t ctl);
void check_timer(unsigned which, unsigned long tolerance_ms);
void check_wfi_wakes(void);
void check_vtimer_withdrawn(void);

/* irqtest_sgi.c */
void sgi_chain(unsigned sgi, unsigned to, unsigned n);
void check_sgi(unsigned from, unsigned to);

/* irqtest_spi.c */
/* Lets the UART's TX interrupt (level-sensitive, up while its FIFO is empty) go up. */
void uart_tx_unmask(void);
/* The handler of the UART's TX interrupt: masks it, so that it drops before the EOI. */
void uart_tx_mask_action(unsigned cpu, unsigned intid);
void check_spi_routing(void);

/* irqtest_priority.c */
void check_priority(void);
void check_many_pending(void);

/* irqtest_isolation.c: mode=isolation */
void isolation(void);

#endif
