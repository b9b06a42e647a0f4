/*
 * bench: the benchmark guest (GitHub issue 5). Runs under the hypervisor or on the bare board,
 * measures what a guest pays for the operations that cost a hypervisor something, prints one
 * "BENCH ..." line per figure and calls PSCI SYSTEM_OFF. tests/bench/run_bench.py runs it and
 * turns the lines into docs/PERFORMANCE.md and docs/bench.json.
 *
 * Meant for QEMU with -icount shift=0,sleep=off: virtual time advances 1 ns per instruction, so
 * the generic counter (CNTVCT_EL0, 62.5 MHz on virt: 16 ns a tick) counts instructions, the same
 * ones run after run. It is the only clock used: it is the same on every CPU, and the PMU is not
 * the guest's under Bulkhead (its accesses trap). The guest prints raw tick counts; the script
 * converts them with `freq`.
 *
 * Lines (every count an unsigned integer):
 *   BENCH start freq=HZ gic=2|3 cpus=N hyp=0|1 conduit=hvc|smc
 *   BENCH op=NAME kind=loop n=N ticks=T
 *       N iterations of a loop doing the operation, minus N iterations of the same loop without
 *       it (after a warm-up of N/10): within one tick over the whole loop, so to 16/N ns per
 *       operation. Ops: psci_version (PSCI_VERSION on the DTB's conduit, the null call that exists
 *       everywhere), hvc_null (BH_HVC_NULL, hyp=1 only), mmio_read (PL011 UARTFR), mmio_write
 *       (PL011 UARTIMSC, its own value written back), gicd_read (GICD_IIDR).
 *   BENCH op=ack_eoi kind=window n=N ticks=T
 *       A self-SGI made pending with IRQs masked, then only its acknowledge and EOI (GICC_IAR
 *       and GICC_EOIR on GICv2, ICC_IAR1_EL1 and ICC_EOIR1_EL1 on GICv3) between two counter
 *       reads, summed over N rounds (after a warm-up pass) minus N empty windows. A window reads
 *       within a tick (16 instructions); a pseudo-random delay before each spreads where windows
 *       start within a tick, so that their average comes within about half an instruction of
 *       the pair's length over 1000 rounds. Above all it shows whether the pair exits: an exit
 *       costs thousands of instructions, and a virtual EOI must never exit.
 *   BENCH op=timer|timer_wfi|ipi kind=latency n=N ticks=T
 *       Summed over N rounds (after warm-up rounds) of the generic counter from an event to the
 *       first instructions of the IRQ vector: timer, the virtual timer's deadline (CNTV_CVAL)
 *       while the CPU spins; timer_wfi, the same while it waits in WFI; ipi, CPU 0's counter just
 *       before it sends an SGI to CPU 1, which waits in WFI, to CPU 1's vector. Each sample is
 *       within a tick (the timer's deadline is on a tick, so its figures are rounded down to
 *       one; the IPI's send is spread within a tick as ack_eoi's windows). QEMU runs one vCPU
 *       at a time (icount): CPU 0 waits in WFI after the send (CPU 1 answers with an SGI), so
 *       that QEMU switches to CPU 1 at once; the IPI figure thus counts the sender's
 *       instructions up to its WFI too.
 *   BENCH op=boot kind=once ticks=T
 *       The generic counter at this image's first instruction (it starts at 0 at QEMU's reset:
 *       reset to guest entry, QEMU's firmware handoff and the hypervisor's boot included).
 *   BENCH done
 * Anything wrong prints "BENCH error=WHAT" and ends the run.
 *
 * Bootargs: hyp=1 (under Bulkhead: BH_HVC_NULL too), iters=N (loops and ack_eoi, default
 * 1000), rounds=N (latencies, default 20).
 *
 * The single-CPU figures are taken while CPU 1 is off (nothing else runs); the IPI last, with
 * CPU 1 started by PSCI CPU_ON. Built without FP/SIMD registers: the IRQ vector saves only the
 * general registers.
 */
#include <libfdt.h>

#include "guest.h"

#pragma GCC target("general-regs-only")

#define DEFAULT_ITERS 1000
#define DEFAULT_ROUNDS 20
#define WARMUP_ROUNDS 3
#define TIMER_DELAY_TICKS 2000 /* 32 us at 62.5 MHz: the deadline is well after set-up */
#define WAIT_TICKS(freq) ((freq) / 10) /* 100 ms of virtual time for anything we wait for */

#define SGI_ACK 1  /* ack_eoi: CPU 0 to itself */
#define SGI_IPI 2  /* ipi: CPU 0 to CPU 1 */
#define SGI_REPLY 3 /* ipi: CPU 1's answer, which wakes CPU 0 */
#define PRIO 0x80

/* ---- the first instruction: the counter, kept in TPIDR_EL0 (start.S leaves it alone) ---- */

/* .text.entry of this file is linked before start.S's (guest.mk links bench.o first), so this is
 * the first instruction of the image; x0 (the DTB) goes on to _start untouched. */
extern char bench_entry[];
asm("    .section .text.entry, \"ax\"\n"
    "    .global bench_entry\n"
    "bench_entry:\n"
    "    mrs x1, cntvct_el0\n"
    "    msr tpidr_el0, x1\n"
    "    b _start\n"
    "    .text\n");

/* ---- registers ---- */

#define GICD_CTLR 0x000
#define GICD_IIDR 0x008
#define GICD_IGROUPR 0x080
#define GICD_ISENABLER 0x100
#define GICD_ICENABLER 0x180
#define GICD_ICPENDR 0x280
#define GICD_IPRIORITYR 0x400
#define GICD_ITARGETSR 0x800
#define GICD_SGIR 0xf00
#define GICD_CTLR_RWP BIT(31)
#define GICD_CTLR_ARE BIT(4)
#define GICD_CTLR_GRP1 BIT(1)
#define GICD_CTLR_GRP0 BIT(0)
#define GICC_CTLR 0x00
#define GICC_PMR 0x04
#define GICC_IAR 0x0c
#define GICC_EOIR 0x10
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_WAKER_SLEEP BIT(1)
#define GICR_WAKER_CHILDREN_ASLEEP BIT(2)
#define GICR_TYPER_VLPIS BIT(1)
#define GICR_TYPER_LAST BIT(4)
#define GICR_SGI 0x10000
#define UART_IMSC 0x38

#define SYSREG(name, enc) \
    static inline uint64_t read_##name(void) \
    { \
        uint64_t v; \
        asm volatile("mrs %0, " enc : "=r"(v) : : "memory"); \
        return v; \
    } \
    static inline void write_##name(uint64_t v) \
    { \
        asm volatile("msr " enc ", %0\n isb" : : "r"(v) : "memory"); \
    }

SYSREG(icc_pmr, "S3_0_C4_C6_0")
SYSREG(icc_iar1, "S3_0_C12_C12_0")
SYSREG(icc_eoir1, "S3_0_C12_C12_1")
SYSREG(icc_sre, "S3_0_C12_C12_5")
SYSREG(icc_igrpen1, "S3_0_C12_C12_7")
SYSREG(icc_sgi1r, "S3_0_C12_C11_5")
SYSREG(cntv_ctl, "cntv_ctl_el0")
SYSREG(cntv_cval, "cntv_cval_el0")
SYSREG(isr, "isr_el1")
SYSREG(mpidr, "mpidr_el1")
SYSREG(tpidr0, "tpidr_el0")

#define ISR_I BIT(7)

static inline uint64_t cntvct(void)
{
    uint64_t v;
    asm volatile("isb\n mrs %0, cntvct_el0" : "=r"(v) : : "memory");
    return v;
}

static inline void irqs_on(void)
{
    asm volatile("msr daifclr, #2" ::: "memory");
}

static inline void irqs_off(void)
{
    asm volatile("msr daifset, #2" ::: "memory");
}

/* ---- set-up ---- */

static uint64_t freq;
static struct {
    unsigned version;
    uintptr_t gicd, gicc, gicr_base;
    uint64_t gicr_size;
    uintptr_t rd[2];      /* GICv3: the redistributor of CPU 0 and 1 */
    uint8_t cpu_if[2];    /* GICv2: the CPU interface mask of CPU 0 and 1 */
    uint64_t mpidr[2];
} gic;
static unsigned vtimer_intid = 27;

NORETURN static void error(const char *what)
{
    printf("BENCH error=%s\n", what);
    guest_halt();
}

/* The n-th (address, size) of a node's reg, in its parent's cells. */
static bool reg_n(const void *fdt, int node, int n, uint64_t *base, uint64_t *size)
{
    int parent = fdt_parent_offset(fdt, node);
    int ac = parent >= 0 ? fdt_address_cells(fdt, parent) : 2;
    int sc = parent >= 0 ? fdt_size_cells(fdt, parent) : 1;
    int len;
    const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);

    if (!reg || ac < 1 || ac > 2 || sc < 1 || sc > 2 ||
        len < (int)sizeof(fdt32_t) * (ac + sc) * (n + 1)) {
        return false;
    }
    reg += (ac + sc) * n;
    *base = ac == 2 ? (uint64_t)fdt32_to_cpu(reg[0]) << 32 | fdt32_to_cpu(reg[1])
                    : fdt32_to_cpu(reg[0]);
    *size = sc == 2 ? (uint64_t)fdt32_to_cpu(reg[ac]) << 32 | fdt32_to_cpu(reg[ac + 1])
                    : fdt32_to_cpu(reg[ac]);
    return true;
}

static void find_devices(const void *fdt)
{
    uint64_t base, size;
    int node = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3");

    if (node >= 0) {
        gic.version = 3;
    } else {
        node = fdt_node_offset_by_compatible(fdt, -1, "arm,cortex-a15-gic");
        gic.version = 2;
    }
    if (node < 0 || !reg_n(fdt, node, 0, &base, &size)) {
        error("no GIC in the DTB");
    }
    gic.gicd = (uintptr_t)base;
    if (!reg_n(fdt, node, 1, &base, &size)) {
        error("no GICR/GICC in the DTB");
    }
    if (gic.version == 3) {
        gic.gicr_base = (uintptr_t)base;
        gic.gicr_size = size;
    } else {
        gic.gicc = (uintptr_t)base;
    }
    /* The virtual timer's PPI: the third interrupt of the timer node. */
    node = fdt_node_offset_by_compatible(fdt, -1, "arm,armv8-timer");
    int len;
    const fdt32_t *irqs = node >= 0 ? fdt_getprop(fdt, node, "interrupts", &len) : NULL;
    if (irqs && len >= 9 * (int)sizeof(fdt32_t) && fdt32_to_cpu(irqs[6]) == 1) {
        vtimer_intid = 16 + fdt32_to_cpu(irqs[7]);
    }
}

static uintptr_t find_redist(uint64_t mpidr)
{
    uint32_t want = (uint32_t)(((mpidr >> 8) & 0xff000000) | (mpidr & 0xffffff));

    for (uintptr_t a = gic.gicr_base; a + 0x20000 <= gic.gicr_base + gic.gicr_size;) {
        uint32_t lo = mmio_read32(a + GICR_TYPER);
        if (mmio_read32(a + GICR_TYPER + 4) == want) {
            return a;
        }
        if (lo & GICR_TYPER_LAST) {
            break;
        }
        a += (lo & GICR_TYPER_VLPIS) ? 0x40000 : 0x20000;
    }
    return 0;
}

/* The distributor on (CPU 0, first). */
static void gic_dist_init(void)
{
    if (gic.version == 3) {
        mmio_write32(gic.gicd + GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_GRP1);
        for (unsigned i = 0; i < 1000000 && (mmio_read32(gic.gicd + GICD_CTLR) & GICD_CTLR_RWP);
             i++) {
        }
    } else {
        mmio_write32(gic.gicd + GICD_CTLR, GICD_CTLR_GRP0);
    }
}

/* This CPU's private interrupts (our two SGIs and the virtual timer, group 1 on GICv3) and its
 * CPU interface (everything unmasked). */
static void gic_cpu_init(unsigned cpu)
{
    uint32_t mask = BIT(SGI_ACK) | BIT(SGI_IPI) | BIT(SGI_REPLY) | BIT(vtimer_intid);
    uintptr_t bank;

    gic.mpidr[cpu] = read_mpidr() & 0xff00ffffffull;
    if (gic.version == 3) {
        uintptr_t rd = find_redist(gic.mpidr[cpu]);
        if (!rd) {
            error("no redistributor for this CPU");
        }
        gic.rd[cpu] = rd;
        mmio_write32(rd + GICR_WAKER, mmio_read32(rd + GICR_WAKER) & ~GICR_WAKER_SLEEP);
        for (unsigned i = 0; i < 1000000 &&
                             (mmio_read32(rd + GICR_WAKER) & GICR_WAKER_CHILDREN_ASLEEP); i++) {
        }
        bank = rd + GICR_SGI;
        mmio_write32(bank + GICD_IGROUPR, 0xffffffff);
    } else {
        gic.cpu_if[cpu] = (uint8_t)mmio_read32(gic.gicd + GICD_ITARGETSR);
        bank = gic.gicd;
    }
    mmio_write32(bank + GICD_ICENABLER, ~mask);
    mmio_write32(bank + GICD_ICPENDR, 0xffffffff);
    for (unsigned i = 0; i < 32; i += 4) {
        mmio_write32(bank + GICD_IPRIORITYR + i, PRIO * 0x01010101u);
    }
    mmio_write32(bank + GICD_ISENABLER, mask);
    if (gic.version == 3) {
        write_icc_sre(read_icc_sre() | 1);
        write_icc_pmr(0xff);
        write_icc_igrpen1(1);
    } else {
        mmio_write32(gic.gicc + GICC_PMR, 0xff);
        mmio_write32(gic.gicc + GICC_CTLR, 1);
    }
}

static void send_sgi(unsigned sgi, unsigned cpu)
{
    if (gic.version == 3) {
        uint64_t m = gic.mpidr[cpu];
        write_icc_sgi1r(((m >> 32) & 0xff) << 48 | ((m >> 16) & 0xff) << 32 |
                        ((m >> 8) & 0xff) << 16 | ((m & 0xff) >> 4) << 44 |
                        (uint64_t)sgi << 24 | BIT(m & 0xf));
    } else {
        mmio_write32(gic.gicd + GICD_SGIR, (uint32_t)gic.cpu_if[cpu] << 16 | sgi);
    }
}

static uint32_t gic_ack(void)
{
    return gic.version == 3 ? (uint32_t)read_icc_iar1() : mmio_read32(gic.gicc + GICC_IAR);
}

static void gic_eoi(uint32_t iar)
{
    if (gic.version == 3) {
        write_icc_eoir1(iar);
    } else {
        mmio_write32(gic.gicc + GICC_EOIR, iar);
    }
}

/* ---- the IRQ vector: the counter first, then irq_entry(counter) ---- */

static struct {
    volatile uint64_t entry_ticks; /* the counter at the vector of the last IRQ we expected */
    volatile uint32_t count;       /* how many of them */
    volatile uint32_t unexpected;  /* last other INTID + 1 */
} irqs[2];

static volatile bool cpu1_quit, cpu1_ready;

void irq_entry(uint64_t ticks);
void irq_entry(uint64_t ticks)
{
    unsigned cpu = guest_cpu_index() & 1;
    uint32_t iar = gic_ack();
    unsigned intid = iar & 0x3ff;

    if (intid >= 1020) {
        return;
    }
    if (intid == vtimer_intid) {
        write_cntv_ctl(0); /* the line drops before the EOI */
    }
    if ((cpu == 0 && intid == vtimer_intid) || (cpu == 1 && intid == SGI_IPI)) {
        irqs[cpu].entry_ticks = ticks;
        asm volatile("dmb ish" ::: "memory");
        irqs[cpu].count++;
        if (intid == SGI_IPI) {
            send_sgi(SGI_REPLY, 0);
        }
    } else if (!(cpu == 0 && intid == SGI_REPLY)) {
        irqs[cpu].unexpected = intid + 1;
    }
    gic_eoi(iar);
}

#define VEC_OTHER(off) "    .balign 0x80\n    b guest_vectors + " #off "\n"
asm("    .section .text.bench_vectors, \"ax\"\n"
    "    .balign 0x800\n"
    "bench_vectors:\n"
    VEC_OTHER(0x000) VEC_OTHER(0x080) VEC_OTHER(0x100) VEC_OTHER(0x180)
    VEC_OTHER(0x200)
    "    .balign 0x80\n"
    "    sub sp, sp, #176\n"
    "    stp x0, x1, [sp, #0]\n"
    "    mrs x0, cntvct_el0\n"  /* the handler's entry, as the figures count it */
    "    b bench_irq\n"
    VEC_OTHER(0x300) VEC_OTHER(0x380)
    VEC_OTHER(0x400) VEC_OTHER(0x480) VEC_OTHER(0x500) VEC_OTHER(0x580)
    VEC_OTHER(0x600) VEC_OTHER(0x680) VEC_OTHER(0x700) VEC_OTHER(0x780)
    "bench_irq:\n"
    "    stp x2, x3, [sp, #16]\n"
    "    stp x4, x5, [sp, #32]\n"
    "    stp x6, x7, [sp, #48]\n"
    "    stp x8, x9, [sp, #64]\n"
    "    stp x10, x11, [sp, #80]\n"
    "    stp x12, x13, [sp, #96]\n"
    "    stp x14, x15, [sp, #112]\n"
    "    stp x16, x17, [sp, #128]\n"
    "    stp x18, x29, [sp, #144]\n"
    "    str x30, [sp, #160]\n"
    "    bl irq_entry\n"
    "    ldp x2, x3, [sp, #16]\n"
    "    ldp x4, x5, [sp, #32]\n"
    "    ldp x6, x7, [sp, #48]\n"
    "    ldp x8, x9, [sp, #64]\n"
    "    ldp x10, x11, [sp, #80]\n"
    "    ldp x12, x13, [sp, #96]\n"
    "    ldp x14, x15, [sp, #112]\n"
    "    ldp x16, x17, [sp, #128]\n"
    "    ldp x18, x29, [sp, #144]\n"
    "    ldr x30, [sp, #160]\n"
    "    ldp x0, x1, [sp, #0]\n"
    "    add sp, sp, #176\n"
    "    eret\n"
    "    .text\n");

extern char bench_vectors[];

/* ---- loops: the counter read inside the asm, so that a loop and its base differ by the op ---- */

enum op { OP_PSCI_VERSION, OP_HVC_NULL, OP_MMIO_READ, OP_MMIO_WRITE, OP_GICD_READ };
static const char *const op_names[] = { "psci_version", "hvc_null", "mmio_read", "mmio_write",
                                        "gicd_read" };

/* SMCCC calls may change x0-x17: n, a and v live in callee-saved registers. */
#define LOOP(body) \
    asm volatile("isb\n mrs %[t0], cntvct_el0\n" \
                 "1:\n" body "\n subs %[n], %[n], #1\n b.ne 1b\n" \
                 "isb\n mrs %[t1], cntvct_el0\n" \
                 : [t0] "=&r"(t0), [t1] "=&r"(t1), [n] "+r"(n) \
                 : [a] "r"(addr), [v] "r"(val) \
                 : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", \
                   "x12", "x13", "x14", "x15", "x16", "x17", "memory", "cc")

/* The ticks of n iterations (n > 0) of op's loop, or of its base (without the op) if !with_op. */
static uint64_t run_loop(enum op op, bool with_op, uint64_t n)
{
    uint64_t t0, t1;
    uintptr_t addr = 0;
    uint64_t val = 0;

    switch (op) {
    case OP_PSCI_VERSION:
    case OP_HVC_NULL:
        val = op == OP_HVC_NULL ? BH_HVC_NULL : PSCI_0_2_FN_PSCI_VERSION;
        if (!with_op) {
            LOOP("mov x0, %[v]");
        } else if (guest.psci_smc) {
            LOOP("mov x0, %[v]\n smc #0");
        } else {
            LOOP("mov x0, %[v]\n hvc #0");
        }
        break;
    case OP_MMIO_READ:
    case OP_GICD_READ:
        addr = op == OP_MMIO_READ ? guest.uart + PL011_FR : gic.gicd + GICD_IIDR;
        if (with_op) {
            LOOP("ldr w9, [%[a]]");
        } else {
            LOOP("");
        }
        break;
    case OP_MMIO_WRITE:
    default:
        addr = guest.uart + UART_IMSC;
        val = mmio_read32(addr);
        if (with_op) {
            LOOP("str %w[v], [%[a]]");
        } else {
            LOOP("");
        }
        break;
    }
    return t1 - t0;
}

static unsigned long iters, rounds;

static void bench_loop(enum op op)
{
    run_loop(op, true, MAX(iters / 10, 1ul)); /* warm-up */
    uint64_t base = run_loop(op, false, iters);
    uint64_t with = run_loop(op, true, iters);
    printf("BENCH op=%s kind=loop n=%lu ticks=%lu\n", op_names[op], iters,
           (unsigned long)(with - base));
}

/* ---- ack + EOI of a self-SGI, IRQs masked ---- */

/* The ticks of one window: an acknowledge and EOI (with_ack), or nothing. Returns the IAR. */
static uint32_t ack_window(bool with_ack, uint64_t *ticks)
{
    uint64_t t0, t1, iar = 0;

    if (!with_ack) {
        asm volatile("isb\n mrs %0, cntvct_el0\n isb\n mrs %1, cntvct_el0"
                     : "=&r"(t0), "=&r"(t1) : : "memory");
    } else if (gic.version == 3) {
        asm volatile("isb\n mrs %0, cntvct_el0\n"
                     "mrs %2, S3_0_C12_C12_0\n"  /* ICC_IAR1_EL1 */
                     "msr S3_0_C12_C12_1, %2\n"  /* ICC_EOIR1_EL1 */
                     "isb\n mrs %1, cntvct_el0"
                     : "=&r"(t0), "=&r"(t1), "=&r"(iar) : : "memory");
    } else {
        asm volatile("isb\n mrs %0, cntvct_el0\n"
                     "ldr %w2, [%3, #0x0c]\n"    /* GICC_IAR */
                     "str %w2, [%3, #0x10]\n"    /* GICC_EOIR */
                     "isb\n mrs %1, cntvct_el0"
                     : "=&r"(t0), "=&r"(t1), "=&r"(iar) : "r"(gic.gicc) : "memory");
    }
    *ticks = t1 - t0;
    return (uint32_t)iar;
}

/* Executes (a constant +) d % 16 instructions: spreads where the following window starts
 * within a counter tick, so that the tick-quantized windows average to their true length. */
static void delay_phase(unsigned d)
{
    uint64_t tmp;

    asm volatile("adr %0, 1f\n sub %0, %0, %1, lsl #2\n br %0\n"
                 ".rept 15\n nop\n .endr\n"
                 "1:\n"
                 : "=&r"(tmp) : "r"((uint64_t)(d % 16)) : "memory");
}

/* A pseudo-random sequence (the same every run). */
static unsigned next_rand(uint32_t *state)
{
    *state = *state * 1103515245u + 12345u;
    return *state >> 16;
}

/* Summed over iters rounds: ack + EOI windows minus empty windows (may be negative). */
static int64_t ack_pass(void)
{
    int64_t total = 0;
    uint64_t t;
    uint32_t seed = 1;

    for (unsigned long i = 0; i < iters; i++) {
        send_sgi(SGI_ACK, 0);
        uint64_t end = cntvct() + WAIT_TICKS(freq);
        while (!(read_isr() & ISR_I)) {
            if (cntvct() > end) {
                error("self-SGI never pending (ISR_EL1.I)");
            }
        }
        delay_phase(next_rand(&seed));
        uint32_t iar = ack_window(true, &t);
        if ((iar & 0x3ff) != SGI_ACK) {
            printf("BENCH note: acknowledged INTID %u, expected %u\n", iar & 0x3ff, SGI_ACK);
            error("ack_eoi acknowledged another interrupt");
        }
        total += (int64_t)t;
        delay_phase(next_rand(&seed));
        ack_window(false, &t);
        total -= (int64_t)t;
    }
    return total;
}

static void bench_ack_eoi(void)
{
    ack_pass(); /* warm-up */
    printf("BENCH op=ack_eoi kind=window n=%lu ticks=%ld\n", iters, (long)ack_pass());
}

/* ---- latencies ---- */

static void wait_irq(unsigned cpu, uint32_t want, bool wfi, const char *what)
{
    uint64_t end = cntvct() + WAIT_TICKS(freq);

    while (irqs[cpu].count < want) {
        if (wfi) {
            asm volatile("wfi" ::: "memory");
        }
        if (cntvct() > end) {
            printf("BENCH note: %s: %u of %u interrupts, unexpected INTID+1 %u\n", what,
                   irqs[cpu].count, want, irqs[cpu].unexpected);
            error("interrupt not taken");
        }
    }
}

/* The virtual timer's deadline to CPU 0's vector, the CPU spinning or in WFI. */
static void bench_timer(bool wfi)
{
    uint64_t sum = 0;

    irqs_on();
    for (unsigned long r = 0; r < WARMUP_ROUNDS + rounds; r++) {
        uint32_t want = irqs[0].count + 1;
        uint64_t cval = cntvct() + TIMER_DELAY_TICKS;
        write_cntv_cval(cval);
        write_cntv_ctl(1); /* enabled, unmasked */
        wait_irq(0, want, wfi, wfi ? "timer_wfi" : "timer");
        if (r >= WARMUP_ROUNDS) {
            sum += irqs[0].entry_ticks - cval;
        }
    }
    irqs_off();
    printf("BENCH op=%s kind=latency n=%lu ticks=%lu\n", wfi ? "timer_wfi" : "timer", rounds,
           (unsigned long)sum);
}

static void cpu1_main(unsigned index, void *arg)
{
    (void)index;
    (void)arg;
    asm volatile("msr vbar_el1, %0\n isb" : : "r"(bench_vectors) : "memory");
    gic_cpu_init(1);
    asm volatile("dmb ish" ::: "memory");
    cpu1_ready = true;
    irqs_on();
    while (!cpu1_quit) {
        asm volatile("wfi" ::: "memory");
    }
    irqs_off();
}

/* CPU 0's counter before it sends an SGI to CPU 1, in WFI, to CPU 1's vector. */
static void bench_ipi(void)
{
    uint64_t sum = 0;
    uint32_t seed = 1;

    if (guest.nr_cpus < 2) {
        error("ipi needs 2 CPUs");
    }
    int64_t ret = guest_cpu_start(1, cpu1_main, NULL);
    uint64_t end = cntvct() + WAIT_TICKS(freq);
    while (ret == PSCI_RET_SUCCESS && !cpu1_ready && cntvct() < end) {
    }
    if (!cpu1_ready) {
        printf("BENCH note: CPU_ON returned %ld\n", (long)ret);
        error("CPU 1 did not start");
    }
    irqs_on();
    for (unsigned long r = 0; r < WARMUP_ROUNDS + rounds; r++) {
        uint32_t want = irqs[1].count + 1;
        delay_phase(next_rand(&seed));
        uint64_t t0 = cntvct();
        send_sgi(SGI_IPI, 1);
        wait_irq(1, want, true, "ipi");
        if (r >= WARMUP_ROUNDS) {
            sum += irqs[1].entry_ticks - t0;
        }
    }
    irqs_off();
    printf("BENCH op=ipi kind=latency n=%lu ticks=%lu\n", rounds, (unsigned long)sum);
    cpu1_quit = true;
    asm volatile("dsb ish" ::: "memory");
    send_sgi(SGI_IPI, 1); /* wakes it to see cpu1_quit; it then calls CPU_OFF */
}

/* ---- main ---- */

int main(void *dtb);
int main(void *dtb)
{
    uint64_t boot_ticks = read_tpidr0();

    guest_init(dtb);
    if ((uintptr_t)bench_entry != (uintptr_t)__image_start) {
        error("bench_entry is not the image's first instruction (link order)");
    }
    asm volatile("mrs %0, cntfrq_el0" : "=r"(freq));
    freq &= 0xffffffffu;
    if (!guest.fdt_ok || !freq) {
        error(!guest.fdt_ok ? "no valid DTB" : "CNTFRQ_EL0 is 0");
    }
    bool hyp = bootarg_ul("hyp", 0) != 0;
    iters = MAX(bootarg_ul("iters", DEFAULT_ITERS), 1ul);
    rounds = MAX(bootarg_ul("rounds", DEFAULT_ROUNDS), 1ul);
    find_devices(dtb);
    printf("BENCH start freq=%lu gic=%u cpus=%u hyp=%u conduit=%s\n", (unsigned long)freq,
           gic.version, guest.nr_cpus, hyp, guest.psci_smc ? "smc" : "hvc");
    printf("BENCH op=boot kind=once ticks=%lu\n", (unsigned long)boot_ticks);

    asm volatile("msr vbar_el1, %0\n isb" : : "r"(bench_vectors) : "memory");
    gic_dist_init();
    gic_cpu_init(0);

    bench_loop(OP_PSCI_VERSION);
    if (hyp) {
        bench_loop(OP_HVC_NULL);
    }
    bench_loop(OP_MMIO_READ);
    bench_loop(OP_MMIO_WRITE);
    bench_loop(OP_GICD_READ);
    bench_ack_eoi();
    bench_timer(false);
    bench_timer(true);
    bench_ipi();
    printf("BENCH done\n");
    return 0;
}
