/*
 * The test guest. Its bootargs choose what it does:
 *   mode=selftest [hyp=1]  checks the platform it runs on, one "PASS <check>" or
 *                          "FAIL <check>: <detail>" line each; with hyp=1 also the hypervisor's
 *                          own calls and a reset, then "DONE passed=N failed=M" and SYSTEM_OFF
 *   mode=crash             an LDP to the UART, which a trapping hypervisor cannot emulate
 *   mode=faultloop count=N N loads from nowhere, each taken as an abort: the hypervisor must
 *                          not report them all
 *   mode=ticker count=N [tick_ms=M]
 *                          "tick 1".."tick N" with M ms (default 20) between, "ticker done",
 *                          SYSTEM_OFF
 *   mode=resetrace count=N both CPUs call SYSTEM_RESET at the same moment, N times (the boot
 *                          count says how many resets are behind), then "resetrace done" and
 *                          SYSTEM_OFF
 *   mode=cpuoff            CPU 1 started, then CPU_OFF on CPU 1 and on CPU 0: the VM has no CPU
 *                          left, and the hypervisor must power it off
 *   mode=monitor [target=N] the console monitor's hypercalls (testguest_monitor.c)
 *   mode=watchdog          the VM's SBSA watchdog, then a hang it must catch
 *                          (testguest_watchdog.c)
 *   mode=periods [ms=N]    spins N ms, recording when it ran; prints its running periods
 *                          (testguest_periods.c)
 * No bootargs means mode=selftest on the bare board.
 */
#include "guest.h"
#include "report.h"

#define DATA_INITIAL 0x600dda7au
#define DATA_MARKER 0xdeadbeefu
#define PATTERN_SIZE MiB(4)
#define TICK_MS 20 /* default delay between ticks, in ms; "tick_ms=" changes it */

/* In .data: a reset must bring back this value from a pristine copy of the image. */
static volatile uint32_t data_marker = DATA_INITIAL;

/* ---- the RAM this guest may scribble on: a few MiB past its image, clear of the DTB ---- */

static uintptr_t pattern_base;
static uint64_t pattern_size;

static void choose_pattern_area(void)
{
    uint64_t ram_end = guest.ram_base + guest.ram_size;
    uint64_t start = ALIGN_UP((uintptr_t)_end, MiB(1));
    uint64_t dtb = (uintptr_t)guest.fdt;

    if (ranges_overlap(start, PATTERN_SIZE, dtb, guest.fdt_size)) {
        start = ALIGN_UP(dtb + guest.fdt_size, MiB(1));
    }
    pattern_base = (uintptr_t)start;
    pattern_size = 0;
    if (start < ram_end) {
        pattern_size = MIN(PATTERN_SIZE, ram_end - start);
        /* never the DTB, wherever it is */
        if (ranges_overlap(start, pattern_size, dtb, guest.fdt_size) && dtb > start) {
            pattern_size = ALIGN_DOWN(dtb - start, 8);
        }
    }
}

static uint64_t pattern_at(uintptr_t addr)
{
    return (uint64_t)addr * 0x9e3779b97f4a7c15ull ^ 0x5a5aa5a5c3c33c3cull;
}

/* ---- checks ---- */

static void check_hvc_null(void)
{
    uint64_t ret = guest_hvc(BH_HVC_NULL, 0, 0, 0);

    if (ret == 0) {
        pass("hvc_null");
    } else {
        fail("hvc_null", "BH_HVC_NULL returned 0x%lx, expected 0", (unsigned long)ret);
    }
}

static void check_psci_version(bool hyp)
{
    uint64_t v = smccc_call(PSCI_0_2_FN_PSCI_VERSION, 0, 0, 0);

    /* The hypervisor promises PSCI 1.1; the bare board's firmware anything from 0.2 on. */
    if (hyp ? v == PSCI_VERSION_1_1 : (v >= 0x2 && v <= 0xffffffffu)) {
        pass("psci_version");
    } else {
        fail("psci_version", "PSCI_VERSION returned 0x%lx, expected 0x%x", (unsigned long)v,
             PSCI_VERSION_1_1);
    }
}

static void check_psci_features(void)
{
    static const struct {
        uint32_t fid;
        int64_t want;
    } cases[] = {
        {PSCI_0_2_FN_PSCI_VERSION, PSCI_RET_SUCCESS},
        {PSCI_0_2_FN_SYSTEM_RESET, PSCI_RET_SUCCESS},
        {PSCI_0_2_FN_SYSTEM_OFF, PSCI_RET_SUCCESS},
        {0x84000012u /* MEM_PROTECT */, PSCI_RET_NOT_SUPPORTED},
    };
    bool ok = true;

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int64_t got = (int32_t)smccc_call(PSCI_1_0_FN_PSCI_FEATURES, cases[i].fid, 0, 0);
        if (got != cases[i].want) {
            fail("psci_features", "PSCI_FEATURES(0x%x) returned %ld, expected %ld", cases[i].fid,
                 (long)got, (long)cases[i].want);
            ok = false;
        }
    }
    if (ok) {
        pass("psci_features");
    }
}

static void check_smccc_version(void)
{
    uint64_t v = smccc_call(SMCCC_VERSION, 0, 0, 0);

    if ((int32_t)v >= 0x10000) {
        pass("smccc_version");
    } else {
        fail("smccc_version", "SMCCC_VERSION returned 0x%lx, expected >= 0x10000",
             (unsigned long)v);
    }
}

static void check_uart_mmio(void)
{
    static const uint8_t want[8] = {0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
    bool ok = true;

    for (unsigned i = 0; i < 8; i++) {
        uint32_t off = 0xfe0 + 4 * i;
        uint32_t got = mmio_read32(guest.uart + off);
        /* PeriphID2's high nibble is the revision: r1p4 (0x14) and r1p5 (0x34) both exist. */
        bool match = i == 2 ? (got & 0x0f) == 0x4 && got <= 0xff : got == want[i];
        if (!match) {
            fail("uart_mmio", "register 0x%x at 0x%lx reads 0x%x, expected 0x%02x", off,
                 (unsigned long)guest.uart, got, want[i]);
            ok = false;
            break;
        }
    }
    uint32_t fr = mmio_read32(guest.uart + PL011_FR);
    if (ok && !(fr & PL011_FR_TXFE) && (fr & PL011_FR_TXFF)) {
        fail("uart_mmio", "UARTFR reads 0x%x: transmit FIFO full and not empty", fr);
        ok = false;
    }
    if (ok) {
        pass("uart_mmio");
    }
}

static void check_ram_rw(void)
{
    uint64_t ram_end = guest.ram_base + guest.ram_size;

    if (!guest.ram_size) {
        fail("ram_rw", "no /memory in the DTB");
        return;
    }
    if (pattern_size < KiB(64)) {
        fail("ram_rw", "no room past the image (RAM 0x%lx+0x%lx, image end %p, DTB %p)",
             (unsigned long)guest.ram_base, (unsigned long)guest.ram_size, (void *)_end, guest.fdt);
        return;
    }
    volatile uint64_t *p = (volatile uint64_t *)pattern_base;
    size_t n = pattern_size / 8;
    for (size_t i = 0; i < n; i++) {
        p[i] = pattern_at((uintptr_t)&p[i]);
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t want = pattern_at((uintptr_t)&p[i]);
        if (p[i] != want) {
            fail("ram_rw", "at %p read 0x%lx, wrote 0x%lx", (void *)&p[i], (unsigned long)p[i],
                 (unsigned long)want);
            return;
        }
    }
    volatile uint64_t *last = (volatile uint64_t *)(uintptr_t)(ram_end - 8);
    uint64_t saved = *last;
    *last = 0x1122334455667788ull;
    uint64_t got = *last;
    *last = saved;
    if (got != 0x1122334455667788ull) {
        fail("ram_rw", "last 8 bytes of RAM at %p read 0x%lx", (void *)last, (unsigned long)got);
        return;
    }
    pass("ram_rw");
}

/* One provoked access that must become a synchronous external abort at addr. */
static bool expect_abort(const char *what, uintptr_t addr, bool store)
{
    trap_expect();
    if (store) {
        probe_store64(addr, 0x0123456789abcdefull);
    } else {
        (void)probe_load64(addr, 0);
    }
    struct trap_record r = trap_take();

    if (!r.taken) {
        fail("outside_ram", "%s at 0x%lx: no abort", what, (unsigned long)addr);
        return false;
    }
    if (ESR_EC(r.esr) != ESR_EC_DABT_CUR || ESR_DFSC(r.esr) != DFSC_SEA || r.far != addr ||
        !!(r.esr & ESR_WNR) != store) {
        fail("outside_ram",
             "%s at 0x%lx: ESR_EL1=0x%lx (EC 0x%lx DFSC 0x%lx) FAR_EL1=0x%lx, expected EC 0x25 "
             "DFSC 0x10 WnR %d FAR 0x%lx",
             what, (unsigned long)addr, (unsigned long)r.esr, (unsigned long)ESR_EC(r.esr),
             (unsigned long)ESR_DFSC(r.esr), (unsigned long)r.far, store, (unsigned long)addr);
        return false;
    }
    return true;
}

static void check_outside_ram(bool hyp)
{
    uintptr_t past = (uintptr_t)(guest.ram_base + guest.ram_size + KiB(64));
    bool ok = expect_abort("load", past, false);

    ok = expect_abort("store", past, true) && ok;
    /* On the bare board 0x1000 is flash; under the hypervisor nothing is there. */
    if (hyp) {
        ok = expect_abort("load", 0x1000, false) && ok;
    }
    if (ok) {
        pass("outside_ram");
    }
}

/* ---- mode=selftest ---- */

static void selftest(void)
{
    bool hyp = bootarg_ul("hyp", 0) != 0;
    int64_t boot_count = -1;
    bool data_pristine = false, ram_pristine = false;

    choose_pattern_area();
    /* Before anything writes RAM: is this a fresh start after a reset? */
    if (hyp) {
        boot_count = (int64_t)guest_hvc(BH_HVC_BOOT_COUNT, 0, 0, 0);
        if (boot_count == 1) {
            data_pristine = data_marker == DATA_INITIAL;
            ram_pristine = true;
            const volatile uint64_t *p = (const volatile uint64_t *)pattern_base;
            for (size_t i = 0; i < pattern_size / 8; i++) {
                if (p[i]) {
                    ram_pristine = false;
                    break;
                }
            }
        }
    }
    printf("selftest: %s, RAM 0x%lx+0x%lx, DTB %p, UART 0x%lx, PSCI %s, boot %ld\n",
           hyp ? "under the hypervisor" : "bare", (unsigned long)guest.ram_base,
           (unsigned long)guest.ram_size, guest.fdt, (unsigned long)guest.uart,
           guest.psci_smc ? "smc" : "hvc", (long)boot_count);

    if (hyp) {
        check_hvc_null();
    }
    check_psci_version(hyp);
    check_psci_features();
    if (hyp) {
        check_smccc_version();
    }
    check_uart_mmio();
    check_ram_rw();
    check_outside_ram(hyp);

    if (!hyp) {
        finish();
    }
    if (boot_count == 0) {
        data_marker = DATA_MARKER;
        volatile uint64_t *p = (volatile uint64_t *)pattern_base;
        for (size_t i = 0; i < pattern_size / 8; i += 512) {
            p[i] = DATA_MARKER;
        }
        printf("resetting\n");
        uint64_t ret = smccc_call(PSCI_0_2_FN_SYSTEM_RESET, 0, 0, 0);
        fail("reset", "SYSTEM_RESET returned %ld", (long)ret);
    } else if (boot_count == 1) {
        if (data_pristine && ram_pristine) {
            pass("reset_pristine");
        } else {
            fail("reset_pristine", "after the reset: .data %s, RAM at 0x%lx %s",
                 data_pristine ? "pristine" : "still modified", (unsigned long)pattern_base,
                 ram_pristine ? "zero" : "not zero");
        }
    } else {
        fail("boot_count", "BH_HVC_BOOT_COUNT returned %ld, expected 0 or 1", (long)boot_count);
    }
    finish();
}

/* ---- mode=crash ---- */

static void crash(void)
{
    printf("about to crash\n");
    /* A load pair: its syndrome has no ISV, so a trapping hypervisor cannot emulate it. */
    asm volatile("ldp x0, x1, [%0]" : : "r"(guest.uart) : "x0", "x1", "memory");
    printf("FAIL crash survived\n");
    guest_halt();
}

/* ---- mode=faultloop ---- */

static void faultloop(void)
{
    unsigned long count = bootarg_ul("count", 100), aborts = 0;
    uintptr_t nowhere = (uintptr_t)(guest.ram_base + guest.ram_size + KiB(64));

    for (unsigned long i = 0; i < count; i++) {
        trap_expect();
        (void)probe_load64(nowhere, 0);
        aborts += trap_take().taken;
    }
    printf("faultloop: %lu of %lu loads aborted\n", aborts, count);
    guest_halt();
}

/* ---- mode=ticker ---- */

static void ticker(void)
{
    unsigned long count = bootarg_ul("count", 10);
    unsigned long ms = bootarg_ul("tick_ms", TICK_MS);

    for (unsigned long i = 1; i <= count; i++) {
        printf("tick %lu\n", i);
        delay_ms(ms);
    }
    printf("ticker done\n");
    guest_halt();
}

/* ---- mode=resetrace ---- */

/* In .bss: each life starts with them zero. */
static volatile uint32_t race_ready, race_go;

static void race_reset(const char *who)
{
    uint64_t ret = smccc_call(PSCI_0_2_FN_SYSTEM_RESET, 0, 0, 0);

    fail("resetrace", "SYSTEM_RESET on %s returned %ld", who, (long)ret);
    guest_halt();
}

static void race_secondary(unsigned cpu, void *arg)
{
    (void)cpu;
    (void)arg;
    race_ready = 1;
    while (!race_go) {
    }
    race_reset("CPU 1");
}

static void resetrace(void)
{
    unsigned long count = bootarg_ul("count", 3);
    int64_t boot = (int64_t)guest_hvc(BH_HVC_BOOT_COUNT, 0, 0, 0);

    printf("resetrace: boot %ld\n", (long)boot);
    if (boot < 0 || (unsigned long)boot >= count) {
        printf("resetrace done\n");
        guest_halt();
    }
    int64_t ret = guest_cpu_start(1, race_secondary, NULL);
    if (ret != PSCI_RET_SUCCESS) {
        fail("resetrace", "CPU_ON of CPU 1 returned %ld", (long)ret);
        guest_halt();
    }
    while (!race_ready) {
    }
    /* Both CPUs leave their loops within a few instructions of each other. */
    race_go = 1;
    asm volatile("dsb ish" ::: "memory");
    race_reset("CPU 0");
}

/* ---- mode=cpuoff ---- */

static volatile uint32_t cpuoff_started;

static void cpuoff_secondary(unsigned cpu, void *arg)
{
    (void)arg;
    printf("cpuoff: CPU %u off\n", cpu);
    cpuoff_started = 1;
    /* Returning is CPU_OFF (guest_cpu_main). */
}

static void cpuoff(void)
{
    int64_t ret = guest_cpu_start(1, cpuoff_secondary, NULL);

    if (ret != PSCI_RET_SUCCESS) {
        fail("cpuoff", "CPU_ON of CPU 1 returned %ld", (long)ret);
        guest_halt();
    }
    /* CPU 1 off first: AFFINITY_INFO says 1 (OFF) once its CPU_OFF is done. */
    while (!cpuoff_started ||
           smccc_call(PSCI_0_2_FN_AFFINITY_INFO | PSCI_FN64_BIT, guest.cpu_mpidr[1], 0, 0) != 1) {
        delay_ms(1);
    }
    printf("cpuoff: CPU 0 off\n");
    ret = (int64_t)smccc_call(PSCI_0_2_FN_CPU_OFF, 0, 0, 0);
    fail("cpuoff", "CPU_OFF on CPU 0 returned %ld", (long)ret);
    guest_halt();
}

void testguest_monitor(void);  /* testguest_monitor.c */
void testguest_watchdog(void); /* testguest_watchdog.c */
void testguest_periods(void);  /* testguest_periods.c */

int main(void *dtb)
{
    char mode[32] = "selftest";

    guest_init(dtb);
    if (!guest.fdt_ok) {
        printf("guest: no valid DTB at %p\n", dtb);
    }
    bootarg("mode", mode, sizeof(mode));
    if (strcmp(mode, "selftest") == 0) {
        selftest();
    } else if (strcmp(mode, "crash") == 0) {
        crash();
    } else if (strcmp(mode, "ticker") == 0) {
        ticker();
    } else if (strcmp(mode, "faultloop") == 0) {
        faultloop();
    } else if (strcmp(mode, "resetrace") == 0) {
        resetrace();
    } else if (strcmp(mode, "cpuoff") == 0) {
        cpuoff();
    } else if (strcmp(mode, "monitor") == 0) {
        testguest_monitor();
    } else if (strcmp(mode, "watchdog") == 0) {
        testguest_watchdog();
    } else if (strcmp(mode, "periods") == 0) {
        testguest_periods();
    } else {
        fail("mode", "unknown mode \"%s\"", mode);
    }
    guest_halt();
}
