/* irqtest: SGIs between the CPUs (sgi_0_to_1, sgi_1_to_0). */
#include "irqtest.h"

#define SGI_ROUNDS 10
#define SGI_0_TO_1 1
#define SGI_1_TO_0 2
#define SGI_HOLD_MS 50 /* at most: the handler waits for the next SGI to be sent */

/* The chain of SGIs of the current sgi_* check: how many the sender has sent, how many reached
 * the target in time. */
static volatile uint32_t sgi_sent, sgi_chain_ok;

/* Sends sgi to CPU to n times, each once the previous one was taken (while its handler still
 * runs: see sgi_hold_action). Sets sgi_chain_ok to the number taken in time. */
void sgi_chain(unsigned sgi, unsigned to, unsigned n)
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

/* Has CPU from send the chain of SGI_ROUNDS SGIs to CPU to. False (and FAIL) unless each was
 * taken in time. */
static bool run_chain(const char *name, unsigned sgi, unsigned from, unsigned to)
{
    char buf[160];

    if (from == 0) {
        sgi_chain(sgi, to, SGI_ROUNDS);
    } else {
        uint32_t seq = remote_post(from, CMD_SGI_CHAIN, sgi, to, SGI_ROUNDS);
        if (!remote_wait(from, seq, (SGI_ROUNDS + 1) * WAIT_MS)) {
            fail(name, "CPU %u does not answer (%s)", from, cpu_state(from, buf, sizeof(buf)));
            return false;
        }
    }
    if (sgi_chain_ok != SGI_ROUNDS) {
        unsigned k = sgi_chain_ok + 1;
        bool pend = to == 0 ? gic_pending(sgi) : false;
        fail(name,
             "SGI %u #%u%s not taken by CPU %u within %u ms (CPU %u took it %u times%s; "
             "%s)",
             sgi, k, k > 1 ? " (sent while the previous one was active)" : "", to, WAIT_MS, from,
             stats[from].count[sgi], to == 0 ? (pend ? ", pending" : ", not pending") : "",
             cpu_state(1, buf, sizeof(buf)));
        return false;
    }
    return true;
}

/* After the chain: each SGI taken once by the target only, nothing else taken, and on GICv2 the
 * sender's interface in the IAR. */
static void chain_verdict(const char *name, unsigned sgi, unsigned from, unsigned to)
{
    const unsigned ok[] = {sgi};
    char buf[160];

    spin_ms(SETTLE_MS);
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
}

/*
 * sgi_0_to_1 / sgi_1_to_0: SGI_ROUNDS SGIs from one CPU to the other (GICD_SGIR on GICv2,
 * ICC_SGI1R_EL1 on GICv3), each sent once the previous one was acknowledged and while its
 * handler still holds it active (sgi_hold_action): each is taken once by the target, never by
 * the sender; on GICv2 the IAR's CPUID field names the sender's interface.
 */
void check_sgi(unsigned from, unsigned to)
{
    const char *name = from == 0 ? "sgi_0_to_1" : "sgi_1_to_0";
    unsigned sgi = from == 0 ? SGI_0_TO_1 : SGI_1_TO_0;

    stats_clear();
    sgi_sent = sgi_chain_ok = 0;
    actions[sgi] = sgi_hold_action;
    dsb();
    if (run_chain(name, sgi, from, to)) {
        chain_verdict(name, sgi, from, to);
    }
    actions[sgi] = NULL;
}
