/*
 * The shared-memory test guest (tests/qemu/test_shmem.py): finds its first shared region
 * (/reserved-memory, compatible "bulkhead,shared-memory-v1") and its doorbell
 * ("bulkhead,doorbell") in its DTB, and plays one side of a channel, by mode= in its bootargs:
 *
 *   mode=exchange: member 0 writes a pattern into the region and rings member 1 (hypercall);
 *     member 1, rung, checks it, writes its own pattern and rings back (the RING register);
 *     member 0, rung back, checks that. Both check that ringing a non-member is refused (both
 *     forms). With reset=1, member 0 then marks the region and resets its VM; in its next life
 *     (boot count 1) it finds the mark and member 1's pattern still there.
 *   mode=producer count=N period_ms=P: writes a counter (1, 2, ...) into the region's word 1
 *     every P ms and rings every other member each time, until N or until a peer rings it.
 *   mode=timed count=N period_us=P [stop_rings=R]: the producer of a real-time guest: its
 *     virtual timer fires every P us (absolute deadlines, waiting in WFI), and each time it
 *     writes the counter and rings the others, until N or R rings from peers (1; a peer's
 *     restart rings too). It measures how late each timer interrupt
 *     reaches its vector, apart for the periods when the region's word 3 (HDR_LOAD, which a
 *     Linux peer sets to 1 while it runs a load) is 1 ("loaded") or not ("quiet"), and prints
 *     "shmem: timing quiet n=N max_ns=M mean_ns=A" and the same for "loaded".
 *   mode=reader count=N: takes N rings and checks that the counter it reads each time grew;
 *     with ro=1 its region is read-only: a write there must fault, and the counter stays the
 *     producer's.
 *
 * Results are report.h's PASS/FAIL lines, then DONE. Built with -mgeneral-regs-only (guest.mk):
 * its IRQ handler runs here.
 */
#include <libfdt.h>

#include "bulkhead/shmem.h"
#include "gic.h"
#include "report.h"
#include "wait.h"

#define WORDS 4096 /* of each side's pattern: 32 KiB */
#define HDR_MAGIC 0
#define HDR_COUNTER 1
#define HDR_MARK 2
#define HDR_LOAD 3 /* mode=timed: 1 while a peer runs a load */
#define PATTERN_A 16
#define PATTERN_B (PATTERN_A + WORDS)
#define MAGIC 0x5348415245444d45ull /* "SHAREDME" */
#define MARK 0x5eed5eedull
#define WAIT_MS 20000
#define NOT_A_MEMBER 7

static volatile uint64_t *region;
static uint64_t region_size;
static uintptr_t db; /* the doorbell's registers */
static unsigned db_intid, me, index_;
static uint32_t members;
static volatile uint32_t rung_by; /* PENDING bits the handler acknowledged */
static volatile unsigned rings;

static bool find_region(const void *fdt)
{
    int node = fdt_node_offset_by_compatible(fdt, -1, "bulkhead,shared-memory-v1");
    int len = 0;
    const fdt32_t *reg = node >= 0 ? fdt_getprop(fdt, node, "reg", &len) : NULL;

    if (!reg || len != 16) {
        return false;
    }
    region = (volatile uint64_t *)(uintptr_t)(((uint64_t)fdt32_to_cpu(reg[0]) << 32) |
                                              fdt32_to_cpu(reg[1]));
    region_size = ((uint64_t)fdt32_to_cpu(reg[2]) << 32) | fdt32_to_cpu(reg[3]);
    return true;
}

static uint32_t u32_prop(const void *fdt, int node, const char *name)
{
    const fdt32_t *p = fdt_getprop(fdt, node, name, NULL);

    return p ? fdt32_to_cpu(*p) : 0;
}

static bool find_doorbell(const void *fdt)
{
    int node = fdt_node_offset_by_compatible(fdt, -1, "bulkhead,doorbell");
    int len = 0;
    const fdt32_t *reg = node >= 0 ? fdt_getprop(fdt, node, "reg", &len) : NULL;
    const fdt32_t *irq = node >= 0 ? fdt_getprop(fdt, node, "interrupts", NULL) : NULL;

    if (!reg || len != 16 || !irq) {
        return false;
    }
    db = (uintptr_t)(((uint64_t)fdt32_to_cpu(reg[0]) << 32) | fdt32_to_cpu(reg[1]));
    db_intid = fdt32_to_cpu(irq[1]) + 32;
    me = u32_prop(fdt, node, "bulkhead,member");
    members = u32_prop(fdt, node, "bulkhead,members");
    index_ = u32_prop(fdt, node, "bulkhead,index");
    return true;
}

static volatile uint64_t timer_entry; /* mode=timed: the counter at the timer's vector */
static volatile unsigned timer_irqs;

/* The doorbell's SPI: whoever rang is acknowledged (PENDING written back) and counted. The
 * virtual timer (mode=timed) is stopped and its vector's counter kept. */
static void irq_handler(uint64_t ticks)
{
    uint32_t iar = gic_ack();

    if (gic_iar_intid(iar) == guest.vtimer_intid) {
        write_cntv_ctl(0);
        isb(); /* the line drops before the EOI */
        timer_entry = ticks;
        timer_irqs++;
    } else if (gic_iar_intid(iar) == db_intid) {
        uint32_t pending = mmio_read32(db + SHM_DB_PENDING);
        mmio_write32(db + SHM_DB_PENDING, pending);
        rung_by |= pending;
        rings++;
    }
    if (gic_iar_intid(iar) < GIC_SPURIOUS) {
        gic_eoi(iar);
    }
}

static void setup_irq(void)
{
    gic_dist_init();
    gic_cpu_init(0);
    gic_set_level(db_intid, true);
    gic_route_spi(db_intid, 0);
    guest_set_irq_handler(irq_handler);
    gic_enable(db_intid, true);
    irqs_on();
}

/* wait_until's test in wait_ring. */
static bool rung_since(void *seen)
{
    return rings != *(unsigned *)seen;
}

/* Waits until `rings` passes `seen` (WFI between interrupts); false after WAIT_MS. */
static bool wait_ring(unsigned seen)
{
    return wait_until(rung_since, &seen, cntvct() + cntfrq() / 1000 * WAIT_MS);
}

static uint64_t pattern(unsigned i, uint64_t seed)
{
    return (i + 1) * 0x9e3779b97f4a7c15ull ^ seed;
}

static void fill(unsigned first, uint64_t seed)
{
    for (unsigned i = 0; i < WORDS; i++) {
        region[first + i] = pattern(i, seed);
    }
    dsb();
}

/* The index of the first word that is wrong, or WORDS. */
static unsigned check(unsigned first, uint64_t seed)
{
    for (unsigned i = 0; i < WORDS; i++) {
        if (region[first + i] != pattern(i, seed)) {
            return i;
        }
    }
    return WORDS;
}

static void check_pattern(const char *what, unsigned first, uint64_t seed)
{
    unsigned bad = check(first, seed);

    if (bad == WORDS) {
        pass(what);
    } else {
        fail(what, "word %u is 0x%lx, not 0x%lx", bad, (unsigned long)region[first + bad],
             (unsigned long)pattern(bad, seed));
    }
}

static void check_refused(void)
{
    uint32_t before = mmio_read32(db + SHM_DB_REFUSED);
    int64_t hvc = (int64_t)guest_hvc(BH_HVC_DOORBELL_RING, index_, BIT(NOT_A_MEMBER), 0);

    mmio_write32(db + SHM_DB_RING, BIT(NOT_A_MEMBER));
    uint32_t after = mmio_read32(db + SHM_DB_REFUSED);
    /* Both refusals count: the hypercall's and the register's. */
    if (hvc == PSCI_RET_DENIED && after == before + 2) {
        printf("shmem: ringing member %d refused (hypercall %ld, REFUSED %u)\n", NOT_A_MEMBER,
               (long)hvc, after);
        pass("ring refused");
    } else {
        fail("ring refused", "hypercall %ld, REFUSED %u -> %u", (long)hvc, before, after);
    }
}

static void exchange_first(bool reset)
{
    unsigned seen = rings;

    region[HDR_MAGIC] = MAGIC;
    fill(PATTERN_A, MAGIC);
    int64_t r = (int64_t)guest_hvc(BH_HVC_DOORBELL_RING, index_, members & ~BIT(me), 0);
    printf("shmem: member %u wrote %u words and rang (%ld)\n", me, WORDS, (long)r);
    if (!wait_ring(seen)) {
        fail("rung back", "no ring in %u ms", WAIT_MS);
        return;
    }
    printf("shmem: member %u rung back by 0x%x\n", me, rung_by);
    pass("rung back");
    check_pattern("reply verified", PATTERN_B, ~MAGIC);
    check_refused();
    if (reset) {
        region[HDR_MARK] = MARK;
        dsb();
        printf("shmem: member %u resets its VM\n", me);
        smccc_call(PSCI_0_2_FN_SYSTEM_RESET, 0, 0, 0);
    }
}

static void exchange_second(void)
{
    if (!wait_ring(0)) {
        fail("rung", "no ring in %u ms", WAIT_MS);
        return;
    }
    printf("shmem: member %u rung by 0x%x\n", me, rung_by);
    pass("rung");
    check_pattern("pattern verified", PATTERN_A, MAGIC);
    fill(PATTERN_B, ~MAGIC);
    mmio_write32(db + SHM_DB_RING, members & ~BIT(me));
    printf("shmem: member %u wrote its reply and rang\n", me);
    check_refused();
}

/* Boot count 1 of member 0 with reset=1: what it left before its reset is still there. */
static void after_reset(void)
{
    if (region[HDR_MARK] == MARK && region[HDR_MAGIC] == MAGIC) {
        printf("shmem: after the reset, the region still holds the mark\n");
        pass("kept across reset");
    } else {
        fail("kept across reset", "mark 0x%lx, magic 0x%lx", (unsigned long)region[HDR_MARK],
             (unsigned long)region[HDR_MAGIC]);
    }
    check_pattern("reply kept across reset", PATTERN_B, ~MAGIC);
}

static void producer(unsigned long count, unsigned long period_ms)
{
    region[HDR_MAGIC] = MAGIC;
    /* Until the count, or a peer rings to say it has read enough. */
    for (unsigned long i = 1; i <= count && rings == 0; i++) {
        region[HDR_COUNTER] = i;
        dsb();
        guest_hvc(BH_HVC_DOORBELL_RING, index_, members & ~BIT(me), 0);
        delay_ms(period_ms);
    }
    printf("shmem: produced %lu values%s\n", (unsigned long)region[HDR_COUNTER],
           rings ? ", stopped by a peer's ring" : "");
    pass("produced");
}

struct lateness {
    unsigned long n;
    uint64_t max, sum; /* ticks */
};

static void print_lateness(const char *phase, const struct lateness *l, uint64_t freq)
{
    uint64_t max_ns = l->max * 1000000000ull / freq;
    uint64_t mean_ns = l->n ? l->sum * 1000000000ull / freq / l->n : 0;

    printf("shmem: timing %s n=%lu max_ns=%lu mean_ns=%lu\n", phase, l->n, (unsigned long)max_ns,
           (unsigned long)mean_ns);
}

/* wait_until's test in timed_producer. */
static bool timer_fired_since(void *seen)
{
    return timer_irqs != *(unsigned *)seen;
}

static void timed_producer(unsigned long count, unsigned long period_us, unsigned long stop_rings)
{
    uint64_t freq = cntfrq();
    uint64_t period = freq / 1000000 * period_us;
    uint64_t deadline = cntvct() + period;
    struct lateness quiet = {0}, loaded = {0};
    unsigned long i;

    region[HDR_MAGIC] = MAGIC;
    gic_enable(guest.vtimer_intid, true);
    for (i = 1; i <= count && rings < stop_rings; i++, deadline += period) {
        unsigned seen = timer_irqs;
        write_cntv_cval(deadline);
        isb();
        write_cntv_ctl(CNT_CTL_ENABLE);
        isb();
        wait_until(timer_fired_since, &seen, WAIT_FOREVER);
        uint64_t late = timer_entry - deadline;
        struct lateness *l = region[HDR_LOAD] == 1 ? &loaded : &quiet;
        l->n++;
        l->sum += late;
        l->max = MAX(l->max, late);
        region[HDR_COUNTER] = i;
        dsb();
        guest_hvc(BH_HVC_DOORBELL_RING, index_, members & ~BIT(me), 0);
        if (cntvct() > deadline + period) {
            deadline = cntvct(); /* overran: the next period starts now */
        }
    }
    gic_enable(guest.vtimer_intid, false);
    printf("shmem: produced %lu values%s\n", i - 1, rings ? ", stopped by a peer's ring" : "");
    print_lateness("quiet", &quiet, freq);
    print_lateness("loaded", &loaded, freq);
    pass("timed");
}

static void reader(unsigned long count, bool ro)
{
    uint64_t last = 0;
    unsigned grew = 0;

    for (unsigned long i = 0; i < count; i++) {
        if (!wait_ring(rings)) {
            fail("read", "no ring in %u ms", WAIT_MS);
            return;
        }
        uint64_t v = region[HDR_COUNTER];
        grew += v > last;
        last = v;
    }
    printf("shmem: read %lu values, the last %lu, %u increases\n", count, (unsigned long)last,
           grew);
    if (grew >= count / 2 && last > 0) {
        pass("read");
    } else {
        fail("read", "%u increases over %lu rings", grew, count);
    }
    if (!ro) {
        return;
    }
    trap_expect();
    probe_store64((uintptr_t)&region[HDR_COUNTER], 0xbad);
    struct trap_record t = trap_take();
    if (t.taken && ESR_EC(t.esr) == ESR_EC_DABT_CUR && region[HDR_COUNTER] != 0xbad) {
        printf("shmem: the write to the read-only region faulted (esr 0x%lx far 0x%lx)\n",
               (unsigned long)t.esr, (unsigned long)t.far);
        pass("ro write faulted");
    } else {
        fail("ro write faulted", "taken %d esr 0x%lx, counter 0x%lx", t.taken, (unsigned long)t.esr,
             (unsigned long)region[HDR_COUNTER]);
    }
}

static void run(const char *mode)
{
    if (strcmp(mode, "exchange") == 0) {
        bool reset = bootarg_ul("reset", 0) != 0;
        int64_t boots = (int64_t)guest_hvc(BH_HVC_BOOT_COUNT, 0, 0, 0);
        if (me == 0 && boots > 0) {
            after_reset();
        } else if (me == 0) {
            exchange_first(reset);
        } else {
            exchange_second();
        }
    } else if (strcmp(mode, "producer") == 0) {
        producer(bootarg_ul("count", 1000), bootarg_ul("period_ms", 1));
    } else if (strcmp(mode, "timed") == 0) {
        timed_producer(bootarg_ul("count", 1000), MAX(bootarg_ul("period_us", 1000), 10ul),
                       MAX(bootarg_ul("stop_rings", 1), 1ul));
    } else if (strcmp(mode, "reader") == 0) {
        reader(bootarg_ul("count", 20), bootarg_ul("ro", 0) != 0);
    } else {
        fail("mode", "unknown mode \"%s\"", mode);
    }
}

int main(void *dtb)
{
    char mode[16] = "exchange";

    guest_init(dtb);
    bootarg("mode", mode, sizeof(mode));
    if (!guest.fdt_ok || !find_region(guest.fdt) || !find_doorbell(guest.fdt)) {
        fail("setup", "no shared region or doorbell in the DTB");
        finish();
    }
    uint32_t id = mmio_read32(db + SHM_DB_ID), magic = mmio_read32(db + SHM_DB_MAGIC);
    printf("shmem: member %u of 0x%x, region at 0x%lx+0x%lx, doorbell at 0x%lx (INTID %u)\n", me,
           members, (unsigned long)(uintptr_t)region, (unsigned long)region_size, (unsigned long)db,
           db_intid);
    if (id == me && magic == SHM_DB_MAGIC_VALUE && mmio_read32(db + SHM_DB_MEMBERS) == members) {
        pass("doorbell registers");
    } else {
        fail("doorbell registers", "ID %u MAGIC 0x%x", id, magic);
    }
    setup_irq();
    run(mode);
    finish();
}
