/*
 * The test guest's mode=periods [ms=N] [gap_us=G] (tests/qemu/test_sched.py): when the guest
 * runs, seen from inside. It spins reading the virtual counter (CNTVOFF is 0: the physical
 * time) for N ms (400 if absent) of counter time; two consecutive reads further apart than G us
 * (20 if absent) mean the CPU ran something else in between. Only then does it print, since
 * printing traps to the UART's model and would change the run: "periods freq=<Hz>", a line
 * "period 0x<start> 0x<end>" per running period (absolute counter values: the first and the
 * last read of the period), then "periods done n=<count>" and SYSTEM_OFF.
 */
#include "guest.h"
#include "sysreg.h"

#define MAX_PERIODS 512
#define DEFAULT_MS 400
#define DEFAULT_GAP_US 20

struct period {
    uint64_t start, end;
};

/* In .bss: too big for the stack. */
static struct period periods[MAX_PERIODS];

static unsigned nr_periods;

static void record(uint64_t start, uint64_t end)
{
    if (nr_periods < MAX_PERIODS) {
        periods[nr_periods] = (struct period){.start = start, .end = end};
    }
    nr_periods++;
}

/* Spins until the counter reaches until, recording the periods it ran in (the first
 * MAX_PERIODS; nr_periods counts them all). */
static void measure(uint64_t until, uint64_t gap)
{
    uint64_t start = cntvct(), prev = start;

    for (;;) {
        uint64_t now = cntvct();
        if (now - prev > gap) {
            record(start, prev);
            start = now;
        }
        if (now >= until) {
            record(start, now);
            return;
        }
        prev = now;
    }
}

void testguest_periods(void)
{
    uint64_t freq = cntfrq();
    uint64_t ms = bootarg_ul("ms", DEFAULT_MS);
    uint64_t gap = freq * bootarg_ul("gap_us", DEFAULT_GAP_US) / 1000000;

    measure(cntvct() + freq / 1000 * ms, gap);

    printf("periods freq=%lu\n", (unsigned long)freq);
    for (unsigned i = 0; i < MIN(nr_periods, (unsigned)MAX_PERIODS); i++) {
        printf("period 0x%lx 0x%lx\n", (unsigned long)periods[i].start,
               (unsigned long)periods[i].end);
    }
    printf("periods done n=%u\n", nr_periods);
    guest_halt();
}
