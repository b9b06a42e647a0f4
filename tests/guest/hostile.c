/*
 * hostile: a guest that attacks the hypervisor from inside its VM (issue 14's campaign, made
 * repeatable for `make test`: tests/qemu/test_hostile.py). It runs its phases on CPU 0, with
 * CPU 1 as its accomplice, and prints one "HOSTILE <phase>: ..." line of counts per phase; a
 * "HOSTILE FAIL <phase>: ..." line for anything it saw that a VM must never see; "HOSTILE done:
 * failures=N" after its last phase, before the fatal access if any. Phases, in order (bootargs
 * phases=a,b,... runs a subset):
 *
 *   sysreg  MRS of all 16,384 op0=3 encodings, and MSR (of all ones) to a safe subset: every
 *           op1=4 (EL2), op1=5 (EL12/EL02 aliases) and op1=6 (EL3) encoding, the ID registers
 *           (op1=0 CRn=0), the PMU (CRn=9 CRm=12-14; op1=3 CRn=14 CRm=8-15), the activity
 *           monitors (op1=3 CRn=13 CRm=2-7), SPE and trace (op1=0 CRn=9 CRm=9-10), SVE's ZCR_EL1
 *           and SME's SMCR_EL1, SVCR, SMPRI_EL1: registers the hypervisor keeps from guests or
 *           that no EL1 may write. The subset leaves out what a guest legitimately writes (its
 *           own EL1 state: SCTLR, VBAR, TCR, the timers, the GIC CPU interface) and the
 *           implementation-defined CRn=11/15 space, whose writes may act on the real CPU. Each
 *           access reads or UNDEFs into this guest's vector; an EL2/EL3/EL12 write that does
 *           not UNDEF fails. Runs first, before anything is pending (MRS ICC_IAR1 acknowledges).
 *   ipa     a load from every 2 MiB of the IPA space below 4 GiB outside its RAM, and from every
 *           1 GiB above (a stage-1 window remapped for each) up to 1 TiB; a store where the load
 *           aborted; the GiBs above 4 again with TCR_EL1.IPS at 48 bits, past the PA range the
 *           hypervisor tells it, so that they reach stage 2 beyond its input range. Each must be
 * answered by one of its own devices (the DTB's GIC and UART) or abort through its vectors: a
 * synchronous external abort (the hypervisor's) or, beyond the PA range the CPU reports, a stage-1
 * address size fault. smccc   every owner (0-63), fast and yielding, SMC32 and SMC64, functions
 * 0-31 and the queries 0xff00-0xff03, through HVC and SMC, random x1-x3: every ID the hypervisor
 *           does not implement (the monitor's included: this VM is not privileged) answers
 *           NOT_SUPPORTED; HVC with an immediate other than 0 too. CPU_OFF, CPU_SUSPEND,
 *           SYSTEM_OFF and SYSTEM_RESET are left out (the reset phase races the last); CPU_ON
 *           gets a target that does not exist.
 *   gic     a pseudo-random write of every width (1, 2, 4, 8 bytes) at every 4-byte offset of
 *           the distributor's and every redistributor frame's register space (the first 4 KiB
 *           of each 64 KiB frame, its ID registers, GICv3's GICD_IROUTER; the reserved rest
 *           every 256 bytes: all of it took 13 s beside another VM), each emulated or aborted;
 *           SGIs to targets that do not exist (GICv3 ICC_SGI1R with other affinities, broadcast;
 *           GICv2 GICD_SGIR to CPU interfaces 2-7, to "all others", the reserved filter). Then
 *           both CPUs set their GIC up again.
 *   timer   for storm_ms (default 300) on both CPUs: the virtual and the (emulated) physical
 *           timer re-armed 10 us ahead from their handlers (storm_us), and per turn of a loop
 *           a WFI, an SGI to the other CPU, an HVC and two trapped MMIO reads; counts of each.
 *   mmio    odd accesses to its emulated devices: unaligned (through a Normal-memory alias of
 *           the device space, where the CPU allows them), load-acquire/store-release, normal
 *           loads through that alias, and load pairs and loads with writeback to where nothing
 *           is mapped; each emulated or aborted.
 *   reset   both CPUs call SYSTEM_RESET at the same moment, resets=N times (default 10): each
 *           life counts itself with BH_HVC_BOOT_COUNT.
 *   check   (in the last life) it still sees only itself: /memory is one bank, every 4 KiB of
 *           its free RAM (64 MiB of it) keeps a pattern, the GIC has exactly its CPUs (GICD_TYPER,
 * the redistributors' TYPER and Last), no SPI is pending that it did not raise, SGIs reach its own
 * CPUs, and the low 4 GiB scan again finds only its own RAM and devices. fatal   (only with
 * fatal=pair|writeback|exclusive|dczva) one access to its UART that no hypervisor can emulate (no
 * syndrome): the hypervisor may stop the VM for it, which the line before says; if it survives, it
 * powers off.
 *
 * Other modes, for make bench's noisy-neighbour row: phases=storm storm_ms=N (only the timer
 * phase's storm, on every CPU the VM has), phases=idle idle_ms=N (WFI until then). Both power
 * off at the end. More bootargs: resets=N, storm_ms=N (the timer phase's too), storm_us=N (how
 * far ahead the storm re-arms a timer, default 10), storm_sgi=0 (no SGIs in the storm), bare=1
 * (on QEMU without a hypervisor: no hypercalls; to compare the storm's counts), ppi_edge=1 (the
 * timers' PPIs left edge-triggered after the GIC phase, as its random writes may leave them: a
 * timer whose handler re-arms it after the new deadline has passed then never fires again, its
 * output never having fallen, bare or not). Built without FP/SIMD registers (guest.mk): its IRQ
 * handler runs C.
 */
#include <libfdt.h>
#include <stdarg.h>

#include "gic.h"
#include "guest.h"
#include "sysreg.h"
#include "wait.h"

#define SGI_WAKE 1 /* CPU 0 to CPU 1: a command is waiting */
#define SGI_PING 2 /* the storm's, to the other CPU (to itself in a 1-vCPU VM) */
#define DEFAULT_RESETS 10
#define DEFAULT_STORM_MS 300
#define SCAN_TOP_GIB 1024 /* the IPA scan goes this far even past the PA range */
#define SGI_WAIT_MS 3000  /* for an SGI to its own CPU: a loaded host runs CPU 1 late */
#define CHECK_RAM MiB(64) /* the check phase's pattern: this much RAM past the image */

/* ---- results ---- */

static unsigned failures;

static void hostile_fail(const char *phase, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void hostile_fail(const char *phase, const char *fmt, ...)
{
    char detail[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    printf("HOSTILE FAIL %s: %s\n", phase, detail);
    failures++;
}

static uint64_t rand_state = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
    rand_state ^= rand_state << 13;
    rand_state ^= rand_state >> 7;
    rand_state ^= rand_state << 17;
    return rand_state;
}

static bool phase_on(const char *phases, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = phases; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, name, n) == 0) {
            return true;
        }
        p += len + (end ? 1 : 0);
    }
    return false;
}

/* ---- a stage-1 window: one 1 GiB block of the identity map's table, remapped at will ---- */

#define PTE_BLOCK 0x1ull
#define PTE_ATTR_DEVICE (0ull << 2)
#define PTE_ATTR_NORMAL (1ull << 2)
#define PTE_SH_INNER (3ull << 8)
#define PTE_AF (1ull << 10)
#define PTE_PXN (1ull << 53)
#define PTE_UXN (1ull << 54)
#define WINDOW_SLOT 256 /* VA 256 GiB: far from the identity map's first 4 GiB */
#define WINDOW_VA ((uintptr_t)WINDOW_SLOT << 30)

extern uint64_t guest_l1_table[512]; /* start.S */

/* Maps the GiB at pa (1 GiB aligned) at WINDOW_VA; returns WINDOW_VA. */
static uintptr_t window_map(uint64_t pa, bool normal)
{
    uint64_t attrs = normal ? PTE_ATTR_NORMAL | PTE_SH_INNER : PTE_ATTR_DEVICE;

    guest_l1_table[WINDOW_SLOT] = pa | PTE_BLOCK | PTE_AF | PTE_PXN | PTE_UXN | attrs;
    asm volatile("dsb ishst\n tlbi vmalle1\n dsb nsh\n isb" ::: "memory");
    return WINDOW_VA;
}

static void window_unmap(void)
{
    guest_l1_table[WINDOW_SLOT] = 0;
    asm volatile("dsb ishst\n tlbi vmalle1\n dsb nsh\n isb" ::: "memory");
}

/* The PA size this CPU reports (ID_AA64MMFR0_EL1.PARange), in bits. */
static unsigned pa_bits(void)
{
    static const uint8_t bits[] = {32, 36, 40, 42, 44, 48, 52};
    uint64_t v;

    asm volatile("mrs %0, id_aa64mmfr0_el1" : "=r"(v));
    return (v & 0xf) < ARRAY_SIZE(bits) ? bits[v & 0xf] : 48;
}

/* ---- its own devices, from the DTB ---- */

static bool own_device(uint64_t ipa)
{
    struct {
        uint64_t base, size;
    } devs[] = {
        {gic.gicd, gic.version == 3 ? KiB(64) : KiB(4)},
        {gic.gicr_base, gic.gicr_size},
        {gic.gicc, gic.gicc ? KiB(8) : 0},
        {guest.uart, KiB(4)},
    };

    for (size_t i = 0; i < ARRAY_SIZE(devs); i++) {
        if (devs[i].size && ipa >= devs[i].base && ipa - devs[i].base < devs[i].size) {
            return true;
        }
    }
    return false;
}

static bool in_ram(uint64_t ipa)
{
    return ipa >= guest.ram_base && ipa - guest.ram_base < guest.ram_size;
}

/* ---- the IRQ handler: counts, and keeps a storm going ---- */

static struct cpu_counts {
    volatile uint64_t irqs, vtimer, ptimer, sgis, pings, other, spurious; /* pings: SGI_PING */
} counts[GUEST_MAX_CPUS];

static volatile bool storming;
/* How far ahead a storming timer is re-armed, from the end of its handler: the loop must get
 * some instructions between two interrupts, or it would never see the storm's end. */
static uint64_t storm_ticks = 625; /* 10 us at 62.5 MHz; from CNTFRQ in main */

static unsigned other_cpu(unsigned cpu)
{
    return guest.nr_cpus > 1 ? cpu ^ 1 : cpu;
}

static void irq_entry(uint64_t ticks)
{
    (void)ticks;
    unsigned cpu = guest_cpu_index() & (GUEST_MAX_CPUS - 1);
    struct cpu_counts *c = &counts[cpu];
    uint32_t iar = gic_ack();
    unsigned intid = gic_iar_intid(iar);

    if (intid >= GIC_SPURIOUS) {
        c->spurious++;
        return;
    }
    c->irqs++;
    if (intid == guest.vtimer_intid) {
        c->vtimer++;
        if (storming) {
            write_cntv_cval(cntvct() + storm_ticks);
        } else {
            write_cntv_ctl(0);
        }
        isb();
    } else if (intid == guest.ptimer_intid) {
        c->ptimer++;
        if (storming) {
            write_cntp_cval(cntpct() + storm_ticks);
        } else {
            write_cntp_ctl(0);
        }
        isb();
    } else if (intid == SGI_PING) {
        c->pings++;
    } else if (intid < 16) {
        c->sgis++;
    } else {
        c->other++;
    }
    gic_eoi(iar);
}

/* ---- CPU 1, the accomplice: waits in WFI for commands ---- */

enum cmd { CMD_NONE, CMD_POLL, CMD_GIC_INIT, CMD_STORM, CMD_RESET };

static volatile uint32_t cpu1_cmd, cpu1_seq, cpu1_done;
static volatile bool cpu1_ready;
static volatile uint64_t storm_until;
static volatile uint32_t race_ready, race_go;

static bool ppi_edge, bare, storm_sgi = true;
/* ICFGR1's Int_config[1] of the virtual (27) and physical (30) timers' PPIs. */
#define GICR_IGRPMODR0 0x0d00 /* in the SGI frame */
#define PPI_TIMERS_EDGE (BIT(2 * (27 - 16) + 1) | BIT(2 * (30 - 16) + 1))

static void private_clear(unsigned cpu)
{
    uintptr_t bank = gic.version == 3 ? gic.rd[cpu] + GICR_SGI : gic.gicd;

    if (gic.version == 3 && !gic.rd[cpu]) {
        return;
    }
    mmio_write32(bank + GICD_ICPENDR, 0xffffffff);
    mmio_write32(bank + GICD_ICACTIVER, 0xffffffff);
    /* The timers' PPIs level-sensitive again (ppi_edge=1 leaves them edge-triggered), every
     * private interrupt in the group the CPU interface signals (gic_cpu_init sets GICv3's). */
    mmio_write32(bank + GICD_ICFGR + 4, ppi_edge ? PPI_TIMERS_EDGE : 0);
    if (gic.version == 2) {
        mmio_write32(bank + GICD_IGROUPR, 0);
    } else {
        mmio_write32(bank + GICR_IGRPMODR0, 0);
    }
    if (gic.version == 2) {
        for (unsigned i = 0; i < 16; i += 4) {
            mmio_write32(gic.gicd + 0xf10 + i, 0xffffffff); /* GICD_CPENDSGIR */
        }
    }
}

/* This CPU's interface and private interrupts, as after boot (whatever the GIC phase left). */
static bool cpu_gic_setup(unsigned cpu)
{
    bool ok = gic_cpu_init(cpu);

    private_clear(cpu);
    gic_enable(guest.vtimer_intid, true);
    gic_enable(guest.ptimer_intid, true);
    return ok;
}

static void storm(unsigned cpu, uint64_t until);
NORETURN static void race_reset(const char *who);

/* wait_until's test in cpu1_main. */
static bool cpu1_has_cmd(void *unused)
{
    (void)unused;
    return cpu1_seq != cpu1_done;
}

static void cpu1_main(unsigned index, void *arg)
{
    (void)arg;
    cpu_gic_setup(index);
    cpu1_ready = true;
    for (;;) {
        wait_until(cpu1_has_cmd, NULL, WAIT_FOREVER);
        uint32_t seq = cpu1_seq;
        asm volatile("dmb ish" ::: "memory");
        switch (cpu1_cmd) {
        case CMD_POLL:
            /* The GIC phase may put this CPU's redistributor to sleep: no SGI would wake it. */
            cpu1_done = seq;
            while (cpu1_seq == seq) {
                delay_loop(1000);
            }
            continue;
        case CMD_GIC_INIT: cpu_gic_setup(index); break;
        case CMD_STORM: storm(index, storm_until); break;
        case CMD_RESET:
            race_ready = 1;
            while (!race_go) {
            }
            race_reset("CPU 1");
        default: break;
        }
        asm volatile("dmb ish" ::: "memory");
        cpu1_done = seq;
    }
}

/* Gives CPU 1 a command; with wait, until it has done it. */
static void cpu1_order(enum cmd cmd, bool wake, bool wait)
{
    uint32_t seq = cpu1_seq + 1;

    if (guest.nr_cpus < 2) {
        return;
    }
    cpu1_cmd = cmd;
    asm volatile("dmb ish" ::: "memory");
    cpu1_seq = seq;
    if (wake) {
        gic_send_sgi(SGI_WAKE, 1);
    }
    while (wait && cpu1_done != seq) {
        delay_loop(1000);
    }
}

static void start_cpu1(void)
{
    if (guest.nr_cpus < 2) {
        return;
    }
    int64_t ret = guest_cpu_start(1, cpu1_main, NULL);
    if (ret != PSCI_RET_SUCCESS) {
        hostile_fail("setup", "CPU_ON of CPU 1 returned %ld", (long)ret);
        guest.nr_cpus = 1;
        return;
    }
    while (!cpu1_ready) {
        delay_loop(1000);
    }
}

/* ---- provoked exceptions: what one access did ---- */

enum outcome { DONE, UNDEF, SEA, S1_SIZE, OTHER };

static enum outcome classify(const struct trap_record *r)
{
    if (!r->taken) {
        return DONE;
    }
    unsigned ec = (unsigned)ESR_EC(r->esr);
    unsigned dfsc = (unsigned)ESR_DFSC(r->esr);
    if (ec == 0) {
        return UNDEF;
    }
    if (ec == ESR_EC_DABT_CUR && dfsc == DFSC_SEA) {
        return SEA;
    }
    if (ec == ESR_EC_DABT_CUR && dfsc <= 3) {
        return S1_SIZE;
    }
    return OTHER;
}

/* ---- phase sysreg ---- */

#define NR_ENC 16384 /* op1:CRn:CRm:op2, op0 = 3 */
#define INSN_MRS_OP0_3 0xd5380000u
#define INSN_MSR_OP0_3 0xd5180000u
#define INSN_RET 0xd65f03c0u

/* Each encoding's "mrs x0, <enc>; ret" or "msr <enc>, x0; ret", in RAM, executable. */
static uint32_t sysreg_code[NR_ENC * 2] __attribute__((aligned(4096)));

static void code_sync(void)
{
    for (uintptr_t a = (uintptr_t)sysreg_code; a < (uintptr_t)sysreg_code + sizeof(sysreg_code);
         a += 64) {
        asm volatile("dc cvau, %0" : : "r"(a) : "memory");
    }
    asm volatile("dsb ish" ::: "memory");
    for (uintptr_t a = (uintptr_t)sysreg_code; a < (uintptr_t)sysreg_code + sizeof(sysreg_code);
         a += 64) {
        asm volatile("ic ivau, %0" : : "r"(a) : "memory");
    }
    asm volatile("dsb ish\n isb" ::: "memory");
}

static void code_fill(uint32_t base)
{
    for (unsigned e = 0; e < NR_ENC; e++) {
        sysreg_code[2 * e] = base | (e << 5); /* op1:CRn:CRm:op2 at bits 18:5, Rt = x0 */
        sysreg_code[2 * e + 1] = INSN_RET;
    }
    code_sync();
}

static enum outcome sysreg_run(unsigned e, uint64_t *x0)
{
    uint64_t (*fn)(uint64_t) = (uint64_t(*)(uint64_t))(uintptr_t)&sysreg_code[2 * e];

    trap_expect();
    *x0 = fn(*x0);
    struct trap_record r = trap_take();
    return classify(&r);
}

#define ENC_OP1(e) (((e) >> 11) & 7)
#define ENC_CRN(e) (((e) >> 7) & 15)
#define ENC_CRM(e) (((e) >> 3) & 15)
#define ENC_OP2(e) ((e)&7)
#define ENC(op1, crn, crm, op2) (((op1) << 11) | ((crn) << 7) | ((crm) << 3) | (op2))

/* The MSR subset (see the head comment); *must_undef: no EL1 may write it. */
static bool msr_target(unsigned e, bool *must_undef)
{
    unsigned op1 = ENC_OP1(e), crn = ENC_CRN(e), crm = ENC_CRM(e);

    *must_undef = op1 == 4 || op1 == 5 || op1 == 6;
    if (*must_undef) {
        return true;
    }
    return (op1 == 0 && crn == 0) ||                                         /* ID registers */
           (crn == 9 && crm >= 12 && crm <= 14 && (op1 == 0 || op1 == 3)) || /* PMU */
           (op1 == 3 && crn == 14 && crm >= 8) ||                            /* PMEV* */
           (op1 == 3 && crn == 13 && crm >= 2 && crm <= 7) ||                /* AMU */
           (op1 == 0 && crn == 9 && (crm == 9 || crm == 10)) ||              /* SPE, TRBE */
           e == ENC(0, 1, 2, 0) || e == ENC(0, 1, 2, 6) ||                   /* ZCR, SMCR */
           e == ENC(3, 4, 2, 2) || e == ENC(0, 1, 2, 4);                     /* SVCR, SMPRI */
}

static void phase_sysreg(void)
{
    unsigned reads = 0, read_undef = 0, writes = 0, write_undef = 0, accepted = 0, other = 0;

    code_fill(INSN_MRS_OP0_3);
    for (unsigned e = 0; e < NR_ENC; e++) {
        uint64_t x0 = 0;
        enum outcome o = sysreg_run(e, &x0);
        reads++;
        read_undef += o == UNDEF;
        if (o != DONE && o != UNDEF) {
            other++;
            hostile_fail("sysreg", "MRS S3_%u_C%u_C%u_%u: unexpected exception", ENC_OP1(e),
                         ENC_CRN(e), ENC_CRM(e), ENC_OP2(e));
        }
    }
    code_fill(INSN_MSR_OP0_3);
    for (unsigned e = 0; e < NR_ENC; e++) {
        bool must_undef;
        if (!msr_target(e, &must_undef)) {
            continue;
        }
        uint64_t x0 = ~0ull;
        enum outcome o = sysreg_run(e, &x0);
        writes++;
        write_undef += o == UNDEF;
        accepted += o == DONE;
        if (o == DONE && must_undef) {
            hostile_fail("sysreg", "MSR S3_%u_C%u_C%u_%u (an EL2/EL3/EL12 register) was accepted",
                         ENC_OP1(e), ENC_CRN(e), ENC_CRM(e), ENC_OP2(e));
        } else if (o != DONE && o != UNDEF) {
            other++;
            hostile_fail("sysreg", "MSR S3_%u_C%u_C%u_%u: unexpected exception", ENC_OP1(e),
                         ENC_CRN(e), ENC_CRM(e), ENC_OP2(e));
        }
    }
    printf("HOSTILE sysreg: %u MRS (%u read, %u UNDEF), %u MSR (%u UNDEF, %u accepted), %u other "
           "exceptions\n",
           reads, reads - read_undef, read_undef, writes, write_undef, accepted, other);
}

/* ---- phase ipa ---- */

struct scan {
    unsigned loads, answered, sea, s1_size, stores, store_sea;
};

static void probe(struct scan *s, uintptr_t va, uint64_t ipa, const char *phase)
{
    trap_expect();
    uint64_t v = probe_load64(va, 0x5eb7dead5eb7deadull);
    struct trap_record r = trap_take();
    enum outcome o = classify(&r);

    s->loads++;
    if (o == DONE) {
        s->answered++;
        if (!own_device(ipa)) {
            hostile_fail(phase, "a load at IPA 0x%lx, not its RAM or device, read 0x%lx",
                         (unsigned long)ipa, (unsigned long)v);
        }
        return;
    }
    if (o == S1_SIZE) {
        s->s1_size++;
        return;
    }
    if (o != SEA) {
        hostile_fail(phase, "a load at IPA 0x%lx: ESR_EL1 0x%lx", (unsigned long)ipa,
                     (unsigned long)r.esr);
        return;
    }
    s->sea++;
    if (own_device(ipa)) {
        return; /* a width its device refuses: no store into its own GIC or UART */
    }
    trap_expect();
    probe_store64(va, 0x5eb7dead5eb7deadull);
    r = trap_take();
    s->stores++;
    if (classify(&r) == SEA) {
        s->store_sea++;
    } else {
        hostile_fail(phase, "a store at IPA 0x%lx where a load aborted: %s", (unsigned long)ipa,
                     r.taken ? "another exception" : "no abort");
    }
}

static void scan_low(struct scan *s, const char *phase)
{
    for (uint64_t ipa = 0; ipa < GiB(4); ipa += MiB(2)) {
        if (!in_ram(ipa)) {
            probe(s, (uintptr_t)ipa, ipa, phase);
        }
    }
}

/* TCR_EL1.IPS, the output size of this CPU's stage 1. */
static unsigned set_ips(unsigned ips)
{
    uint64_t tcr;

    asm volatile("mrs %0, tcr_el1" : "=r"(tcr));
    unsigned old = (unsigned)BITS(tcr, 34, 32);
    tcr = (tcr & ~(7ull << 32)) | (uint64_t)ips << 32;
    asm volatile("msr tcr_el1, %0\n isb\n tlbi vmalle1\n dsb nsh\n isb" : : "r"(tcr) : "memory");
    return old;
}

#define IPS_48_BITS 5

static void phase_ipa(void)
{
    struct scan s = {0}, wide = {0};
    unsigned bits = pa_bits();
    uint64_t top = MAX(GiB(SCAN_TOP_GIB), bits < 64 ? 1ull << bits : 0);

    scan_low(&s, "ipa");
    for (uint64_t ipa = GiB(4); ipa < top; ipa += GiB(1)) {
        if (!in_ram(ipa)) {
            probe(&s, window_map(ipa, false), ipa, "ipa");
        }
    }
    /* The PA range the guest is told is smaller than the CPU's: with its stage 1 at 48 bits
     * whatever ID_AA64MMFR0_EL1 says, the addresses past it reach stage 2, beyond its input
     * range (the hardware's PA size bounds what stage 1 then emits). */
    unsigned ips = set_ips(IPS_48_BITS);
    for (uint64_t ipa = GiB(4); ipa < GiB(SCAN_TOP_GIB); ipa += GiB(1)) {
        probe(&wide, window_map(ipa, false), ipa, "ipa");
    }
    window_unmap();
    set_ips(ips);
    printf("HOSTILE ipa: %u loads to %u GiB (PA range %u bits): %u answered by its own devices, "
           "%u aborted by the hypervisor, %u stage-1 address size faults; %u stores, %u "
           "aborted\n",
           s.loads, (unsigned)(top >> 30), bits, s.answered, s.sea, s.s1_size, s.stores,
           s.store_sea);
    printf("HOSTILE ipa-wide: TCR_EL1.IPS at 48 bits, %u loads from 4 GiB to %u GiB: %u aborted "
           "by the hypervisor, %u stage-1 address size faults\n",
           wide.loads, SCAN_TOP_GIB, wide.sea, wide.s1_size);
}

/* ---- phase smccc ---- */

#define NOT_SUPPORTED 0xffffffffffffffffull

static bool smccc_implemented(uint32_t fid)
{
    switch (fid) {
    case BH_HVC_NULL:
    case BH_HVC_BOOT_COUNT:
    case BH_HVC_CALL_COUNT:
    case BH_HVC_UID:
    case BH_HVC_DOORBELL_RING:
    case BH_HVC_DOORBELL_ACK:
    case SMCCC_VERSION:
    case SMCCC_ARCH_FEATURES:
    case PSCI_0_2_FN_PSCI_VERSION:
    case PSCI_1_0_FN_PSCI_FEATURES:
    case PSCI_0_2_FN_MIGRATE_INFO_TYPE:
    case PSCI_0_2_FN_CPU_ON:
    case PSCI_0_2_FN_CPU_ON | PSCI_FN64_BIT:
    case PSCI_0_2_FN_AFFINITY_INFO:
    case PSCI_0_2_FN_AFFINITY_INFO | PSCI_FN64_BIT: return true;
    default: return false;
    }
}

/* Calls that would end this life or this CPU: the reset phase makes the one that matters. */
static bool smccc_skipped(uint32_t fid)
{
    switch (fid) {
    case PSCI_0_2_FN_CPU_SUSPEND:
    case PSCI_0_2_FN_CPU_SUSPEND | PSCI_FN64_BIT:
    case PSCI_0_2_FN_CPU_OFF:
    case PSCI_0_2_FN_SYSTEM_OFF:
    case PSCI_0_2_FN_SYSTEM_RESET: return true;
    default: return false;
    }
}

static uint64_t hvc_imm(uint64_t fid, bool high)
{
    register uint64_t x0 asm("x0") = fid;

    if (high) {
        asm volatile("hvc #0xffff"
                     : "+r"(x0)
                     :
                     : "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12",
                       "x13", "x14", "x15", "x16", "x17", "memory");
    } else {
        asm volatile("hvc #1"
                     : "+r"(x0)
                     :
                     : "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12",
                       "x13", "x14", "x15", "x16", "x17", "memory");
    }
    return x0;
}

static void phase_smccc(void)
{
    static const uint32_t kinds[] = {0x80000000u, 0xc0000000u, 0x00000000u, 0x40000000u};
    unsigned calls = 0, not_supported = 0, answered = 0, imm_calls = 0;

    for (unsigned owner = 0; owner < 64; owner++) {
        for (unsigned k = 0; k < ARRAY_SIZE(kinds); k++) {
            for (unsigned f = 0; f < 36; f++) {
                uint32_t fn = f < 32 ? f : 0xff00 + (f - 32);
                uint32_t fid = kinds[k] | (owner << 24) | fn;
                if (smccc_skipped(fid)) {
                    continue;
                }
                for (unsigned conduit = 0; conduit < 2; conduit++) {
                    uint64_t a1 = next_rand(), a2 = next_rand(), a3 = next_rand();
                    if ((fid & ~PSCI_FN64_BIT) == PSCI_0_2_FN_CPU_ON) {
                        a1 = 0x100 | (a1 & 0xff00ff00ull); /* no such CPU */
                    }
                    uint64_t ret =
                        conduit ? guest_smc(fid, a1, a2, a3) : guest_hvc(fid, a1, a2, a3);
                    calls++;
                    if (smccc_implemented(fid)) {
                        answered++;
                    } else if (ret == NOT_SUPPORTED) {
                        not_supported++;
                    } else {
                        hostile_fail("smccc", "%s 0x%08x (not implemented) returned 0x%lx",
                                     conduit ? "SMC" : "HVC", fid, (unsigned long)ret);
                    }
                }
            }
        }
    }
    static const uint32_t imm_fids[] = {BH_HVC_NULL, PSCI_0_2_FN_PSCI_VERSION,
                                        PSCI_0_2_FN_SYSTEM_OFF, PSCI_0_2_FN_SYSTEM_RESET};
    for (unsigned i = 0; i < ARRAY_SIZE(imm_fids); i++) {
        for (unsigned high = 0; high < 2; high++) {
            uint64_t ret = hvc_imm(imm_fids[i], high);
            imm_calls++;
            if (ret != NOT_SUPPORTED) {
                hostile_fail("smccc", "HVC #%s with 0x%08x returned 0x%lx", high ? "0xffff" : "1",
                             imm_fids[i], (unsigned long)ret);
            }
        }
    }
    printf("HOSTILE smccc: %u calls through HVC and SMC: %u to implemented functions, %u "
           "NOT_SUPPORTED; %u HVCs with an immediate other than 0, all NOT_SUPPORTED\n",
           calls, answered, not_supported, imm_calls);
}

/* ---- phase gic ---- */

struct mmio_counts {
    unsigned done, aborted;
};

static void count_access(struct mmio_counts *m, const char *phase, uintptr_t addr, unsigned width)
{
    struct trap_record r = trap_take();
    enum outcome o = classify(&r);

    if (o == DONE) {
        m->done++;
    } else if (o == SEA) {
        m->aborted++;
    } else {
        hostile_fail(phase, "%u-byte access at 0x%lx: ESR_EL1 0x%lx", width, (unsigned long)addr,
                     (unsigned long)r.esr);
    }
}

static void store_width(uintptr_t a, unsigned width, uint64_t v)
{
    switch (width) {
    case 1: asm volatile("strb %w0, [%1]" : : "r"(v), "r"(a) : "memory"); break;
    case 2: asm volatile("strh %w0, [%1]" : : "r"(v), "r"(a) : "memory"); break;
    case 4: asm volatile("str %w0, [%1]" : : "r"(v), "r"(a) : "memory"); break;
    default: asm volatile("str %0, [%1]" : : "r"(v), "r"(a) : "memory"); break;
    }
}

/* Where a 64 KiB GIC frame has registers: its first 4 KiB, its ID registers at the end and, in
 * a GICv3 distributor, GICD_IROUTER<n>. The rest is reserved: sampled every 256 bytes. */
static bool gic_register_space(uint64_t off, bool gicd)
{
    uint64_t in_frame = off & 0xffff;

    return in_frame < 0x1000 || in_frame >= 0xffc0 ||
           (gicd && gic.version == 3 && off >= 0x6000 && off < 0x8000) || off % 256 == 0;
}

static void abuse_frame(struct mmio_counts *m, uintptr_t base, uint64_t size, bool gicd)
{
    static const unsigned widths[] = {1, 2, 4, 8};

    for (uint64_t off = 0; off < size; off += 4) {
        if (!gic_register_space(off, gicd)) {
            continue;
        }
        for (unsigned w = 0; w < ARRAY_SIZE(widths); w++) {
            if (off % widths[w]) {
                continue;
            }
            trap_expect();
            store_width(base + off, widths[w], next_rand());
            count_access(m, "gic", base + off, widths[w]);
        }
    }
}

static unsigned sgis_out_of_range(void)
{
    unsigned n = 0;

    if (gic.version == 3) {
        for (unsigned i = 0; i < 256; i++) {
            uint64_t aff = next_rand();
            uint64_t v = (aff & 0x00ff00ff00ff0000ull) | (uint64_t)(i & 15) << 24 | 0xfffc;
            v |= i & 16 ? 1ull << 40 : 0;                       /* IRM: every other PE */
            v |= (uint64_t)((i >> 5) & 7 ? (i >> 5) : 1) << 16; /* Aff1 never 0 */
            write_icc_sgi1r(v);
            asm volatile("msr S3_0_C12_C11_6, %0" : : "r"(v)); /* ICC_ASGI1R_EL1 */
            asm volatile("msr S3_0_C12_C11_7, %0" : : "r"(v)); /* ICC_SGI0R_EL1 */
            n += 3;
        }
        isb();
    } else {
        for (unsigned i = 0; i < 64; i++) {
            uint32_t filter = i & 3, targets = filter == 0 ? 0xfc : (uint32_t)next_rand() & 0xff;
            mmio_write32(gic.gicd + GICD_SGIR, filter << 24 | targets << 16 | (i & 15));
            n++;
        }
    }
    return n;
}

static void gic_setup_again(void)
{
    gic_dist_init();
    cpu_gic_setup(0);
    cpu1_order(CMD_GIC_INIT, false, true);
}

static void phase_gic(void)
{
    struct mmio_counts m = {0};
    uint64_t gicd_size = gic.version == 3 ? KiB(64) : KiB(4);

    cpu1_order(CMD_POLL, true, true);
    abuse_frame(&m, gic.gicd, gicd_size, true);
    if (gic.version == 3) {
        abuse_frame(&m, gic.gicr_base, gic.gicr_size, false);
    }
    unsigned sgis = sgis_out_of_range();
    gic_setup_again();
    printf("HOSTILE gic: %u random writes of 1-8 bytes to every distributor%s register: %u "
           "emulated, %u aborted; %u SGIs to CPUs that do not exist\n",
           m.done + m.aborted, gic.version == 3 ? " and redistributor" : "", m.done, m.aborted,
           sgis);
}

/* ---- phase timer: the storm ---- */

struct storm_counts {
    uint64_t loops, wfis, hvcs, mmio;
};

static struct storm_counts storm_counts[GUEST_MAX_CPUS];

static void storm(unsigned cpu, uint64_t until)
{
    struct storm_counts *s = &storm_counts[cpu];

    write_cntv_cval(cntvct() + storm_ticks);
    write_cntv_ctl(CNT_CTL_ENABLE);
    write_cntp_cval(cntpct() + storm_ticks);
    write_cntp_ctl(CNT_CTL_ENABLE);
    isb();
    irqs_on();
    while (cntvct() < until) {
        s->loops++;
        asm volatile("wfi" ::: "memory");
        s->wfis++;
        if (!bare) {
            (void)guest_hvc(BH_HVC_NULL, 0, 0, 0);
            s->hvcs++;
        }
        (void)mmio_read32(gic.gicd + GICD_TYPER);
        (void)mmio_read32(guest.uart + PL011_FR);
        s->mmio += 2;
        if (storm_sgi) {
            gic_send_sgi(SGI_PING, other_cpu(cpu));
        }
    }
    irqs_off();
    write_cntv_ctl(0);
    write_cntp_ctl(0);
    isb();
}

static void run_storm(unsigned long ms)
{
    uint64_t freq = cntfrq();

    storm_until = cntvct() + (freq ? freq / 1000 * ms : 1000000);
    storming = true;
    cpu1_order(CMD_STORM, true, false);
    storm(0, storm_until);
    storming = false;
    cpu1_order(CMD_NONE, true, true); /* CPU 1 is done with its own storm */
    delay_ms(2);                      /* interrupts in flight arrive, storming false */
}

static void phase_timer(unsigned long ms)
{
    run_storm(ms);
    for (unsigned cpu = 0; cpu < MIN(guest.nr_cpus, 2u); cpu++) {
        struct cpu_counts *c = &counts[cpu];
        struct storm_counts *s = &storm_counts[cpu];
        printf("HOSTILE timer: CPU %u, %lu ms: %lu interrupts (virtual timer %lu, physical "
               "timer %lu, SGIs %lu), %lu WFIs, %lu HVCs, %lu MMIO reads\n",
               cpu, ms, (unsigned long)c->irqs, (unsigned long)c->vtimer, (unsigned long)c->ptimer,
               (unsigned long)c->pings, (unsigned long)s->wfis, (unsigned long)s->hvcs,
               (unsigned long)s->mmio);
    }
    if (!counts[0].vtimer || !counts[0].ptimer || (guest.nr_cpus > 1 && !counts[1].vtimer)) {
        hostile_fail("timer", "a timer never fired during the storm");
    }
}

/* ---- phase mmio ---- */

static void phase_mmio(void)
{
    struct mmio_counts m = {0};
    uintptr_t alias = window_map(0, true) + guest.uart; /* the UART, as Normal memory */
    uintptr_t gicd_alias = WINDOW_VA + gic.gicd;
    uint32_t imsc = mmio_read32(guest.uart + PL011_IMSC);
    uint64_t v = 0;

    /* Unaligned loads and stores: only Normal memory allows them. */
    static const uint32_t load_offs[] = {PL011_FR + 1, PL011_FR + 2, PL011_FR + 3, 0xfe1, 0xffd};
    for (unsigned i = 0; i < ARRAY_SIZE(load_offs); i++) {
        uintptr_t a = alias + load_offs[i];
        trap_expect();
        asm volatile("ldr %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
        count_access(&m, "mmio", a, 4);
        trap_expect();
        asm volatile("ldrh %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
        count_access(&m, "mmio", a, 2);
        trap_expect();
        asm volatile("ldr %0, [%1]" : "=r"(v) : "r"(a) : "memory");
        count_access(&m, "mmio", a, 8);
    }
    trap_expect();
    asm volatile("str %w0, [%1]" : : "r"(imsc), "r"(alias + PL011_IMSC + 2) : "memory");
    count_access(&m, "mmio", alias + PL011_IMSC + 2, 4);
    trap_expect();
    asm volatile("ldr %w0, [%1]" : "=r"(v) : "r"(gicd_alias + GICD_TYPER + 1) : "memory");
    count_access(&m, "mmio", gicd_alias + GICD_TYPER + 1, 4);
    /* Aligned, through the Normal alias; acquire and release. */
    trap_expect();
    asm volatile("ldr %w0, [%1]" : "=r"(v) : "r"(alias + PL011_FR) : "memory");
    count_access(&m, "mmio", alias + PL011_FR, 4);
    trap_expect();
    asm volatile("ldar %w0, [%1]" : "=r"(v) : "r"(guest.uart + PL011_FR) : "memory");
    count_access(&m, "mmio", guest.uart + PL011_FR, 4);
    trap_expect();
    asm volatile("stlr %w0, [%1]" : : "r"(imsc), "r"(guest.uart + PL011_IMSC) : "memory");
    count_access(&m, "mmio", guest.uart + PL011_IMSC, 4);
    trap_expect();
    asm volatile("ldarh %w0, [%1]" : "=r"(v) : "r"(gic.gicd + GICD_IIDR) : "memory");
    count_access(&m, "mmio", gic.gicd + GICD_IIDR, 2);
    window_unmap();
    /* Accesses without a syndrome to where nothing is: aborted, not fatal. */
    uintptr_t nowhere = (uintptr_t)(guest.ram_base + guest.ram_size + MiB(2));
    uint64_t a0, a1;
    trap_expect();
    asm volatile("ldp %0, %1, [%2]" : "=r"(a0), "=r"(a1) : "r"(nowhere) : "memory");
    count_access(&m, "mmio", nowhere, 16);
    uintptr_t p = nowhere;
    trap_expect();
    asm volatile("ldr %w0, [%1], #4" : "=r"(v), "+r"(p) : : "memory");
    count_access(&m, "mmio", nowhere, 4);
    trap_expect();
    asm volatile("stp %0, %1, [%2]" : : "r"(v), "r"(v), "r"(nowhere) : "memory");
    count_access(&m, "mmio", nowhere, 16);
    mmio_write32(guest.uart + PL011_IMSC, imsc);
    printf("HOSTILE mmio: %u odd accesses (unaligned, through a Normal alias, acquire/release, "
           "pairs and writeback to nowhere): %u emulated, %u aborted\n",
           m.done + m.aborted, m.done, m.aborted);
}

/* ---- phase reset ---- */

NORETURN static void race_reset(const char *who)
{
    uint64_t ret = smccc_call(PSCI_0_2_FN_SYSTEM_RESET, 0, 0, 0);

    hostile_fail("reset", "SYSTEM_RESET on %s returned %ld", who, (long)ret);
    guest_halt();
}

NORETURN static void reset_race(void)
{
    cpu1_order(CMD_RESET, true, false);
    while (!race_ready) {
    }
    race_go = 1;
    asm volatile("dsb ish" ::: "memory");
    race_reset("CPU 0");
}

/* ---- phase check: it still sees only itself ---- */

static void check_memory(void)
{
    int n = 0, mem = -1;

    while ((mem = fdt_node_offset_by_prop_value(guest.fdt, mem, "device_type", "memory", 7)) >= 0) {
        n++;
    }
    if (n != 1) {
        hostile_fail("check", "the DTB has %d memory nodes, expected 1", n);
    }
    uintptr_t start = ALIGN_UP((uintptr_t)_end, MiB(2));
    uintptr_t dtb = (uintptr_t)guest.fdt;
    uintptr_t end = (uintptr_t)MIN(guest.ram_base + guest.ram_size, start + CHECK_RAM);
    for (uintptr_t a = start; a < end; a += KiB(4)) {
        if (a + 8 > dtb && a < dtb + guest.fdt_size) {
            continue;
        }
        *(volatile uint64_t *)a = a ^ 0xa5a5a5a5a5a5a5a5ull;
    }
    for (uintptr_t a = start; a < end; a += KiB(4)) {
        if (a + 8 > dtb && a < dtb + guest.fdt_size) {
            continue;
        }
        uint64_t got = *(volatile uint64_t *)a;
        if (got != (a ^ 0xa5a5a5a5a5a5a5a5ull)) {
            hostile_fail("check", "RAM at 0x%lx changed under it: 0x%lx", (unsigned long)a,
                         (unsigned long)got);
            return;
        }
    }
}

static unsigned count_redistributors(void)
{
    unsigned n = 0;

    for (uintptr_t a = gic.gicr_base; a + 0x20000 <= gic.gicr_base + gic.gicr_size; a += 0x20000) {
        uint32_t lo = mmio_read32(a + GICR_TYPER);
        if (((lo >> 8) & 0xffff) != n) {
            hostile_fail("check", "redistributor %u says it is processor %u", n,
                         (unsigned)((lo >> 8) & 0xffff));
        }
        n++;
        if (lo & GICR_TYPER_LAST) {
            break;
        }
    }
    return n;
}

static void check_gic(void)
{
    uint32_t typer = mmio_read32(gic.gicd + GICD_TYPER);
    unsigned cpus = ((typer >> 5) & 7) + 1;

    if (gic.version == 2 && cpus != guest.nr_cpus) {
        hostile_fail("check", "GICD_TYPER says %u CPUs, the VM has %u", cpus, guest.nr_cpus);
    }
    if (gic.version == 3 && count_redistributors() != guest.nr_cpus) {
        hostile_fail("check", "%u redistributors for %u CPUs", count_redistributors(),
                     guest.nr_cpus);
    }
    for (unsigned i = 32; i < gic.nr_irqs; i += 32) {
        uint32_t pend = mmio_read32(gic.gicd + GICD_ISPENDR + i / 8);
        if (guest.uart_intid >= i && guest.uart_intid < i + 32) {
            pend &= ~(1u << (guest.uart_intid - i));
        }
        if (pend) {
            hostile_fail("check", "SPIs pending that it never raised: 0x%08x at INTID %u", pend, i);
        }
    }
    uint64_t sgis0 = counts[0].sgis, sgis1 = counts[1].sgis;
    bool got0 = false, got1 = guest.nr_cpus < 2;
    irqs_on();
    gic_send_sgi(5, 0);
    if (guest.nr_cpus > 1) {
        gic_send_sgi(6, 1);
    }
    /* Long enough for a host that runs CPU 1's thread late. */
    for (unsigned ms = 0; ms < SGI_WAIT_MS && !(got0 && got1); ms++) {
        delay_ms(1);
        got0 = counts[0].sgis != sgis0;
        got1 = got1 || counts[1].sgis != sgis1;
    }
    irqs_off();
    if (!got0 || !got1) {
        hostile_fail("check", "an SGI to its own CPU %u did not arrive in %u ms", got0 ? 1 : 0,
                     SGI_WAIT_MS);
    }
}

static void phase_check(void)
{
    struct scan s = {0};

    check_memory();
    check_gic();
    scan_low(&s, "check");
    printf("HOSTILE check: RAM 0x%lx+0x%lx its own and intact, GICv%u with its %u CPUs only, "
           "%u loads in the low 4 GiB: %u answered by its devices, %u aborted\n",
           (unsigned long)guest.ram_base, (unsigned long)guest.ram_size, gic.version, guest.nr_cpus,
           s.loads, s.answered, s.sea);
}

/* ---- phase fatal ---- */

static void phase_fatal(const char *which)
{
    uintptr_t uart = guest.uart;
    uint64_t a0 = 0, a1 = 0;

    printf("HOSTILE fatal: %s to its UART, which no hypervisor can emulate: this VM may be "
           "stopped now\n",
           which);
    trap_expect();
    if (strcmp(which, "pair") == 0) {
        asm volatile("ldp %0, %1, [%2]" : "=r"(a0), "=r"(a1) : "r"(uart) : "memory");
    } else if (strcmp(which, "writeback") == 0) {
        asm volatile("ldr %w0, [%1, #0x18]!" : "=r"(a0), "+r"(uart) : : "memory");
    } else if (strcmp(which, "exclusive") == 0) {
        asm volatile("ldxr %w0, [%1]" : "=r"(a0) : "r"(uart + PL011_FR) : "memory");
    } else {
        uintptr_t alias = window_map(0, true) + guest.uart;
        asm volatile("dc zva, %0" : : "r"(alias) : "memory");
    }
    struct trap_record r = trap_take();
    printf("HOSTILE fatal: survived (%s)\n", r.taken ? "an exception injected" : "emulated");
}

/* ---- main ---- */

static void idle(unsigned long ms)
{
    wait_until(NULL, NULL, cntvct() + cntfrq() / 1000 * ms);
    printf("HOSTILE idle: %lu ms\n", ms);
}

int main(void *dtb)
{
    char phases[96] = "sysreg,ipa,smccc,gic,timer,mmio,reset,check";
    char fatal[16] = "none";

    guest_init(dtb);
    bootarg("phases", phases, sizeof(phases));
    bootarg("fatal", fatal, sizeof(fatal));
    if (!guest.fdt_ok || !gic.version) {
        printf("HOSTILE FAIL setup: %s\n", guest.fdt_ok ? "no GIC in the DTB" : "no valid DTB");
        guest_halt();
    }
    guest.nr_cpus = MIN(guest.nr_cpus, 2u);
    unsigned long resets = bootarg_ul("resets", DEFAULT_RESETS);
    ppi_edge = bootarg_ul("ppi_edge", 0) != 0;
    bare = bootarg_ul("bare", 0) != 0;
    storm_sgi = bootarg_ul("storm_sgi", 1) != 0;
    int64_t boot = bare ? 0 : (int64_t)guest_hvc(BH_HVC_BOOT_COUNT, 0, 0, 0);
    rand_state ^= (uint64_t)boot * 0x2545f4914f6cdd1dull;
    if (cntfrq() >= 1000000) {
        storm_ticks = cntfrq() / 1000000 * bootarg_ul("storm_us", 10);
    }

    guest_set_irq_handler(irq_entry);
    gic_dist_init();
    cpu_gic_setup(0);
    start_cpu1();
    if (boot == 0) {
        printf("HOSTILE start: %u CPUs, RAM 0x%lx+0x%lx, GICv%u, phases %s\n", guest.nr_cpus,
               (unsigned long)guest.ram_base, (unsigned long)guest.ram_size, gic.version, phases);
        if (phase_on(phases, "sysreg")) {
            phase_sysreg();
        }
        if (phase_on(phases, "ipa")) {
            phase_ipa();
        }
        if (phase_on(phases, "smccc")) {
            phase_smccc();
        }
        if (phase_on(phases, "gic")) {
            phase_gic();
        }
        if (phase_on(phases, "timer")) {
            phase_timer(bootarg_ul("storm_ms", DEFAULT_STORM_MS));
        }
        if (phase_on(phases, "storm")) {
            run_storm(bootarg_ul("storm_ms", DEFAULT_STORM_MS));
            printf("HOSTILE storm: %lu interrupts on CPU 0\n", (unsigned long)counts[0].irqs);
        }
        if (phase_on(phases, "idle")) {
            idle(bootarg_ul("idle_ms", DEFAULT_STORM_MS));
        }
        if (phase_on(phases, "mmio")) {
            phase_mmio();
        }
    }
    if (phase_on(phases, "reset") && guest.nr_cpus > 1 && boot >= 0 &&
        (unsigned long)boot < resets) {
        reset_race();
    }
    if (phase_on(phases, "reset")) {
        printf("HOSTILE reset: %ld lives, %lu SYSTEM_RESETs from both CPUs at once\n",
               (long)boot + 1, resets);
        if ((unsigned long)boot != resets) {
            hostile_fail("reset", "BH_HVC_BOOT_COUNT says %ld, expected %lu", (long)boot, resets);
        }
    }
    if (phase_on(phases, "check")) {
        phase_check();
    }
    printf("HOSTILE done: failures=%u\n", failures);
    if (strcmp(fatal, "none") != 0) {
        phase_fatal(fatal);
    }
    guest_halt();
}
