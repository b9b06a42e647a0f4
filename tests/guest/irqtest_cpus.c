/* irqtest: the other CPUs, each running commands from its mailbox with IRQs unmasked. */
#include "irqtest.h"
#include "wait.h"

static struct mailbox {
    volatile uint32_t seq, done;
    volatile uint32_t cmd, a, b, c;
    volatile bool ready;
    volatile bool park;     /* idle in WFI (woken by SGI_DOORBELL) rather than spinning */
    volatile uint64_t beat; /* counts the idle loop's turns: is the CPU running? */
} mbox[GUEST_MAX_CPUS];

const char *cpu_state(unsigned cpu, char *buf, size_t len)
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

/* wait_until's test in idle: a command, or no longer parked. */
static bool unparked(void *mailbox)
{
    const struct mailbox *m = mailbox;

    return !m->park || m->seq != m->done;
}

/* Waits for a command: in WFI if parked (woken by the doorbell), else spinning. */
static void idle(struct mailbox *m)
{
    if (m->park) {
        wait_until(unparked, m, WAIT_FOREVER);
    }
}

static void run_command(const struct mailbox *m)
{
    switch (m->cmd) {
    case CMD_SEND_SGI: gic_send_sgi(m->a, m->b); break;
    case CMD_TIMER_PERIODIC: timer_periodic(m->a, m->b, m->c); break;
    case CMD_SGI_CHAIN: sgi_chain(m->a, m->b, m->c); break;
    default: break;
    }
}

static void secondary_main(unsigned cpu, void *arg)
{
    struct mailbox *m = &mbox[cpu];

    (void)arg;
    if (!gic_cpu_init(cpu)) {
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
            idle(m);
            continue;
        }
        asm volatile("dmb ish" ::: "memory"); /* the command's arguments after its seq */
        run_command(m);
        asm volatile("dmb ish" ::: "memory"); /* its effects before done */
        m->done = seq;
    }
}

int64_t cpu_start(unsigned cpu)
{
    int64_t ret = guest_cpu_start(cpu, secondary_main, NULL);
    uint64_t end = cntvct() + ms_to_ticks(WAIT_MS);

    while (ret == PSCI_RET_SUCCESS && !mbox[cpu].ready && cntvct() < end) {
    }
    return ret;
}

bool cpu_ready(unsigned cpu)
{
    return mbox[cpu].ready;
}

uint32_t remote_post(unsigned cpu, uint32_t cmd, uint32_t a, uint32_t b, uint32_t c)
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

bool remote_wait(unsigned cpu, uint32_t seq, unsigned long ms)
{
    uint64_t end = cntvct() + ms_to_ticks(ms);
    while (mbox[cpu].done != seq) {
        if (cntvct() > end) {
            return false;
        }
    }
    return true;
}

bool remote(unsigned cpu, uint32_t cmd, uint32_t a, uint32_t b, uint32_t c)
{
    return remote_wait(cpu, remote_post(cpu, cmd, a, b, c), WAIT_MS);
}

/* Parks CPU cpu in WFI (while the checks do not need it: fewer spinning vCPU threads for the
 * host, so that timer interrupts are not delayed by host scheduling), or brings it back to its
 * spinning idle loop (where it takes interrupts without a trip through WFI). */
void park(unsigned cpu, bool on)
{
    mbox[cpu].park = on;
    dsb();
    if (!on) {
        gic_send_sgi(SGI_DOORBELL, cpu);
    }
}
