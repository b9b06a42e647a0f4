/*
 * bench: the benchmark guest. Runs under the hypervisor or on the bare board,
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
 *   BENCH op=pt_irq kind=latency n=N ticks=T
 *       A passed-through device's interrupt: the counter just before the store that makes the
 *       device raise its line to the first instructions of the IRQ vector, summed over N rounds
 *       (after warm-up rounds). The device is a second PL011 (on QEMU 10 virt, 0x09040000 with
 *       SPI 8 when QEMU has two -serial): its TX interrupt is pending in UARTRIS once a
 *       character has been sent, so the store enabling it in UARTIMSC (TXIM) raises the line at
 *       once; the handler masks it again (the line drops) before its EOI. Under Bulkhead the
 *       device is the VM's through bulkhead,passthrough: the store does not exit and the
 *       interrupt comes through the physical GIC to the hypervisor, which injects it. The send
 *       is spread within a tick as the IPI's. Measured only when the device tree has a PL011
 *       other than the console's (else a "BENCH note" says so), last, CPU 1 off.
 *   BENCH op=doorbell kind=latency n=N ticks=T
 *       a shared-memory doorbell rung (BH_HVC_DOORBELL_RING) to this VM's own member bit, to
 *       the handler of its SPI on the same vCPU; only where the device tree has a
 *       bulkhead,doorbell (run_bench.py's passthrough configuration under Bulkhead).
 *   BENCH op=doorbell_peer kind=latency n=N ticks=T
 *       the same ring to a peer VM on another CPU (waiting in WFI), to its handler: the peer
 *       is this guest with role=echo in its bootargs, which writes the counter at its vector
 *       into the shared region and rings back; only where the doorbell has a peer.
 *   BENCH op=net_notify kind=loop n=N ticks=T
 *       a virtio-net QUEUE_NOTIFY of the transmit queue with nothing queued: the exit and the
 *       device's look at an empty ring (tests/guest/lib/vnet.c's device, on a switch with the
 *       echo VM); only where the device tree has a virtio-net device.
 *   BENCH op=net_frame kind=loop n=N ticks=T
 *       a 1500-byte frame copied by the hypervisor from this VM's transmit queue into the echo
 *       VM's receive buffer: NET_BATCH frames queued, then the counter across the one notify
 *       that sends them all (the budget of one exit), N frames in all. 1500 x 1000 / the
 *       figure is the bytes copied per 1,000 instructions.
 *   BENCH op=net_ping kind=latency n=N ticks=T
 *       a 64-byte frame to the echo VM (in WFI), which sends it back from its interrupt
 *       handler, to this VM's handler of the answer: a round trip between two VMs.
 *   BENCH op=net_bulk kind=once ticks=T bytes=B
 *       with net_mib=N in the bootargs, only this: N MiB in 1500-byte frames to the echo VM,
 *       NET_BATCH a notify, each batch acknowledged by the echo VM; the counter from the first
 *       to the last acknowledgement, after pings until the echo VM answers one (it may still
 *       be bringing its device up). run_bench.py runs it without -icount, where the counter
 *       follows the host's clock: the transfer's wall time (reported, not gated).
 *   BENCH op=boot kind=once ticks=T
 *       The generic counter at this image's first instruction (it starts at 0 at QEMU's reset:
 *       reset to guest entry, QEMU's firmware handoff and the hypervisor's boot included).
 *   BENCH op=noisy_NAME kind=latency n=N ticks=T
 *       with noisy=NAME in the bootargs, only timer_wfi's figure, under this name, then done:
 *       run_bench.py's noisy-neighbour configuration, where a second VM on another CPU is idle
 *       (noisy=idle) or storms (noisy=storm: tests/guest/hostile.c phases=storm).
 *   BENCH op=vcpu_switch kind=latency n=N ticks=T
 *       with switch=1 in the bootargs, only this: this VM's counter just before a WFI with
 *       nothing pending to the first counter read of a second VM (this guest with role=switch)
 *       sharing the same physical CPU, to which the hypervisor switches: one vCPU switch,
 *       summed over N rounds (bench_vcpu_switch says exactly what it includes).
 *   BENCH done
 * Anything wrong prints "BENCH error=WHAT" and ends the run.
 *
 * Bootargs: hyp=1 (under Bulkhead: BH_HVC_NULL too), role=echo (the peer of doorbell_peer
 * and of the net_* rows only), role=switch (the peer of vcpu_switch only), noisy=NAME and
 * switch=1 (above), iters=N (loops and ack_eoi, default 1000), rounds=N (latencies, default
 * 20), pt_rounds=N (pt_irq, doorbells, net and vcpu_switch rounds, default 1000).
 *
 * The single-CPU figures are taken while CPU 1 is off (nothing else runs); the IPI last, with
 * CPU 1 started by PSCI CPU_ON. Built without FP/SIMD registers (guest.mk): the IRQ vector saves
 * only the general registers.
 */
#include <libfdt.h>

#include "gic.h"
#include "guest.h"
#include "sysreg.h"
#include "vnet.h"
#include "wait.h"

#define DEFAULT_ITERS 1000
#define DEFAULT_ROUNDS 20
#define DEFAULT_PT_ROUNDS 1000
#define WARMUP_ROUNDS 3
#define TIMER_DELAY_TICKS 2000         /* 32 us at 62.5 MHz: the deadline is well after set-up */
#define WAIT_TICKS(freq) ((freq) / 10) /* 100 ms of virtual time for anything we wait for */

#define SGI_ACK 1   /* ack_eoi: CPU 0 to itself */
#define SGI_IPI 2   /* ipi: CPU 0 to CPU 1 */
#define SGI_REPLY 3 /* ipi: CPU 1's answer, which wakes CPU 0 */

/* ---- set-up ---- */

static uint64_t freq;

NORETURN static void error(const char *what)
{
    printf("BENCH error=%s\n", what);
    guest_halt();
}

/* This CPU's GIC interface (our SGIs enabled) and the virtual timer's PPI. */
static void gic_cpu_setup(unsigned cpu)
{
    if (!gic_cpu_init(cpu)) {
        error("no redistributor for this CPU");
    }
    gic_enable(guest.vtimer_intid, true);
}

/* ---- the IRQ handler: ticks is the counter at the vector (vectors.S) ---- */

static struct {
    volatile uint64_t entry_ticks; /* the counter at the vector of the last IRQ we expected */
    volatile uint32_t count;       /* how many of them */
    volatile uint32_t unexpected;  /* last other INTID + 1 */
} irqs[2];

static volatile bool cpu1_quit, cpu1_ready;

static void irq_entry(uint64_t ticks)
{
    unsigned cpu = guest_cpu_index() & 1;
    uint32_t iar = gic_ack();
    unsigned intid = gic_iar_intid(iar);

    if (intid >= GIC_SPURIOUS) {
        return;
    }
    if (intid == guest.vtimer_intid) {
        write_cntv_ctl(0);
        isb(); /* the line drops before the EOI */
    }
    if ((cpu == 0 && intid == guest.vtimer_intid) || (cpu == 1 && intid == SGI_IPI)) {
        irqs[cpu].entry_ticks = ticks;
        asm volatile("dmb ish" ::: "memory");
        irqs[cpu].count++;
        if (intid == SGI_IPI) {
            gic_send_sgi(SGI_REPLY, 0);
        }
    } else if (!(cpu == 0 && intid == SGI_REPLY)) {
        irqs[cpu].unexpected = intid + 1;
    }
    gic_eoi(iar);
}

/* ---- loops: the counter read inside the asm, so that a loop and its base differ by the op ---- */

enum op { OP_PSCI_VERSION, OP_HVC_NULL, OP_MMIO_READ, OP_MMIO_WRITE, OP_GICD_READ };
static const char *const op_names[] = {"psci_version", "hvc_null", "mmio_read", "mmio_write",
                                       "gicd_read"};

/* SMCCC calls may change x0-x17: n, a and v live in callee-saved registers. */
#define LOOP(body)                                                                                 \
    asm volatile("isb\n mrs %[t0], cntvct_el0\n"                                                   \
                 "1:\n" body "\n subs %[n], %[n], #1\n b.ne 1b\n"                                  \
                 "isb\n mrs %[t1], cntvct_el0\n"                                                   \
                 : [t0] "=&r"(t0), [t1] "=&r"(t1), [n] "+r"(n)                                     \
                 : [a] "r"(addr), [v] "r"(val)                                                     \
                 : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11",       \
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
        addr = guest.uart + PL011_IMSC;
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
                     : "=&r"(t0), "=&r"(t1)
                     :
                     : "memory");
    } else if (gic.version == 3) {
        asm volatile("isb\n mrs %0, cntvct_el0\n"
                     "mrs %2, S3_0_C12_C12_0\n" /* ICC_IAR1_EL1 */
                     "msr S3_0_C12_C12_1, %2\n" /* ICC_EOIR1_EL1 */
                     "isb\n mrs %1, cntvct_el0"
                     : "=&r"(t0), "=&r"(t1), "=&r"(iar)
                     :
                     : "memory");
    } else {
        asm volatile("isb\n mrs %0, cntvct_el0\n"
                     "ldr %w2, [%3, #0x0c]\n" /* GICC_IAR */
                     "str %w2, [%3, #0x10]\n" /* GICC_EOIR */
                     "isb\n mrs %1, cntvct_el0"
                     : "=&r"(t0), "=&r"(t1), "=&r"(iar)
                     : "r"(gic.gicc)
                     : "memory");
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
                 : "=&r"(tmp)
                 : "r"((uint64_t)(d % 16))
                 : "memory");
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
        gic_send_sgi(SGI_ACK, 0);
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

/* The virtual timer's deadline to CPU 0's vector, the CPU spinning or in WFI, printed as op
 * `name`. */
static void bench_timer(bool wfi, const char *name)
{
    uint64_t sum = 0;

    irqs_on();
    for (unsigned long r = 0; r < WARMUP_ROUNDS + rounds; r++) {
        uint32_t want = irqs[0].count + 1;
        uint64_t cval = cntvct() + TIMER_DELAY_TICKS;
        write_cntv_cval(cval);
        isb();
        write_cntv_ctl(CNT_CTL_ENABLE); /* unmasked */
        isb();
        wait_irq(0, want, wfi, name);
        if (r >= WARMUP_ROUNDS) {
            sum += irqs[0].entry_ticks - cval;
        }
    }
    irqs_off();
    printf("BENCH op=%s kind=latency n=%lu ticks=%lu\n", name, rounds, (unsigned long)sum);
}

static void cpu1_main(unsigned index, void *arg)
{
    (void)index;
    (void)arg;
    gic_cpu_setup(1);
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
        gic_send_sgi(SGI_IPI, 1);
        wait_irq(1, want, true, "ipi");
        if (r >= WARMUP_ROUNDS) {
            sum += irqs[1].entry_ticks - t0;
        }
    }
    irqs_off();
    printf("BENCH op=ipi kind=latency n=%lu ticks=%lu\n", rounds, (unsigned long)sum);
    cpu1_quit = true;
    asm volatile("dsb ish" ::: "memory");
    gic_send_sgi(SGI_IPI, 1); /* wakes it to see cpu1_quit; it then calls CPU_OFF */
}

/* ---- a passed-through device's interrupt ---- */

#define PL011_CR 0x30
#define PL011_CR_UARTEN BIT(0)
#define PL011_CR_TXE BIT(8)
#define PL011_CR_RXE BIT(9)
#define PL011_ICR 0x44
#define PL011_PERIPHID0 0xfe0
#define PL011_PERIPHID1 0xfe4

/* pt_irq's device: a PL011 other than the console. */
static struct {
    uintptr_t base;
    unsigned intid;
    volatile uint64_t entry_ticks;
    volatile uint32_t count;
    volatile uint32_t unexpected; /* last other INTID + 1 */
} pt;

/* pt_irq's own IRQ handler (CPU 0 only), so that irq_entry, and with it the other ops'
 * instruction counts, stay as they were. */
static void pt_irq_entry(uint64_t ticks)
{
    uint32_t iar = gic_ack();
    unsigned intid = gic_iar_intid(iar);

    if (intid >= GIC_SPURIOUS) {
        return;
    }
    if (intid == pt.intid) {
        mmio_write32(pt.base + PL011_IMSC, 0); /* the line drops before the EOI */
        pt.entry_ticks = ticks;
        asm volatile("dmb ish" ::: "memory");
        pt.count++;
    } else {
        pt.unexpected = intid + 1;
    }
    gic_eoi(iar);
}

/* A u64 of `cells` cells (1 or 2) at p. */
static uint64_t read_cells(const fdt32_t *p, int cells)
{
    return cells == 2 ? ((uint64_t)fdt32_to_cpu(p[0]) << 32) | fdt32_to_cpu(p[1])
                      : fdt32_to_cpu(p[0]);
}

/* The first enabled "arm,pl011" of the DTB that is not the console, with a GIC SPI: fills pt.
 * Prints why not and returns false if there is none. */
static bool find_pt_uart(void)
{
    const void *fdt = guest.fdt;
    int node = -1;

    while ((node = fdt_node_offset_by_compatible(fdt, node, "arm,pl011")) >= 0) {
        int parent = fdt_parent_offset(fdt, node), rlen, ilen;
        int ac = parent >= 0 ? fdt_address_cells(fdt, parent) : 2;
        int sc = parent >= 0 ? fdt_size_cells(fdt, parent) : 1;
        const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &rlen);
        const fdt32_t *irq = fdt_getprop(fdt, node, "interrupts", &ilen);
        const char *status = fdt_getprop(fdt, node, "status", NULL);

        if (!reg || ac < 1 || ac > 2 || sc < 0 || sc > 2 || rlen < 4 * (ac + sc) ||
            (status && strcmp(status, "okay") != 0 && strcmp(status, "ok") != 0)) {
            continue;
        }
        uint64_t base = read_cells(reg, ac);
        if (base == guest.uart) {
            continue;
        }
        if (!irq || ilen < 12 || fdt32_to_cpu(irq[0]) != 0) {
            printf("BENCH note: pt_irq: the PL011 at 0x%lx has no SPI: skipped\n",
                   (unsigned long)base);
            return false;
        }
        pt.base = (uintptr_t)base;
        pt.intid = 32 + fdt32_to_cpu(irq[1]);
        return true;
    }
    printf("BENCH note: pt_irq: no PL011 besides the console in the device tree: skipped\n");
    return false;
}

/* The counter before the store to UARTIMSC that raises the device's TX interrupt, to CPU 0's
 * vector; CPU 0 spins (IRQs on), CPU 1 is off. */
__attribute__((noinline)) static void bench_pt_irq(void)
{
    unsigned long pt_rounds = MAX(bootarg_ul("pt_rounds", DEFAULT_PT_ROUNDS), 1ul);
    uint64_t sum = 0;
    uint32_t seed = 1;

    if (!find_pt_uart()) {
        return;
    }
    if ((mmio_read32(pt.base + PL011_PERIPHID0) & 0xff) != 0x11 ||
        (mmio_read32(pt.base + PL011_PERIPHID1) & 0xff) != 0x10) {
        error("pt_irq: the device tree's second PL011 has not a PL011's PeriphID");
    }
    /* Quiet, enabled, one character sent (to QEMU's null backend): TX pending in UARTRIS. */
    mmio_write32(pt.base + PL011_IMSC, 0);
    mmio_write32(pt.base + PL011_ICR, 0x7ff);
    mmio_write32(pt.base + PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE);
    mmio_write32(pt.base + PL011_DR, '\n');
    uint64_t end = cntvct() + WAIT_TICKS(freq);
    while (!(mmio_read32(pt.base + PL011_RIS) & PL011_TXIM)) {
        if (cntvct() > end) {
            error("pt_irq: the PL011's TX interrupt is not pending after a character");
        }
    }
    guest_set_irq_handler(pt_irq_entry);
    gic_set_level(pt.intid, true);
    gic_route_spi(pt.intid, 0);
    gic_enable(pt.intid, true);

    irqs_on();
    for (unsigned long r = 0; r < WARMUP_ROUNDS + pt_rounds; r++) {
        uint32_t want = pt.count + 1;
        delay_phase(next_rand(&seed));
        uint64_t t0 = cntvct();
        mmio_write32(pt.base + PL011_IMSC, PL011_TXIM);
        end = t0 + WAIT_TICKS(freq);
        while (pt.count < want) {
            if (cntvct() > end) {
                printf("BENCH note: pt_irq: INTID %u: %u of %u interrupts, unexpected INTID+1 "
                       "%u\n",
                       pt.intid, pt.count, want, pt.unexpected);
                error("interrupt not taken");
            }
        }
        if (r >= WARMUP_ROUNDS) {
            sum += pt.entry_ticks - t0;
        }
    }
    irqs_off();
    gic_enable(pt.intid, false);
    printf("BENCH op=pt_irq kind=latency n=%lu ticks=%lu\n", pt_rounds, (unsigned long)sum);
}

/* ---- a shared-memory doorbell ---- */

/* The VM's first doorbell (docs/CONFIG.md, "Sharing memory between VMs"), if it has one. */
static struct {
    unsigned intid, index, member;
    volatile uint64_t entry_ticks;
    volatile uint32_t count;
    volatile uint32_t unexpected;
} db;

static bool find_doorbell(void)
{
    int node = fdt_node_offset_by_compatible(guest.fdt, -1, "bulkhead,doorbell");
    const fdt32_t *irq = node >= 0 ? fdt_getprop(guest.fdt, node, "interrupts", NULL) : NULL;
    const fdt32_t *index = node >= 0 ? fdt_getprop(guest.fdt, node, "bulkhead,index", NULL) : NULL;
    const fdt32_t *member =
        node >= 0 ? fdt_getprop(guest.fdt, node, "bulkhead,member", NULL) : NULL;

    if (!irq || !index || !member) {
        printf("BENCH note: doorbell: no bulkhead,doorbell in the device tree: skipped\n");
        return false;
    }
    db.intid = 32 + fdt32_to_cpu(irq[1]);
    db.index = fdt32_to_cpu(*index);
    db.member = fdt32_to_cpu(*member);
    return true;
}

/* The doorbell's SPI (level) to this CPU, taken by handler, interrupts on. */
static void doorbell_irq_on(void (*handler)(uint64_t ticks))
{
    guest_set_irq_handler(handler);
    gic_set_level(db.intid, true);
    gic_route_spi(db.intid, 0);
    gic_enable(db.intid, true);
    irqs_on();
}

/* The ring is acknowledged (BH_HVC_DOORBELL_ACK) so that the line drops before the EOI. */
static void doorbell_entry(uint64_t ticks)
{
    uint32_t iar = gic_ack();
    unsigned intid = gic_iar_intid(iar);

    if (intid >= GIC_SPURIOUS) {
        return;
    }
    if (intid == db.intid) {
        db.entry_ticks = ticks;
        guest_hvc(BH_HVC_DOORBELL_ACK, db.index, 0, 0);
        asm volatile("dmb ish" ::: "memory");
        db.count++;
    } else {
        db.unexpected = intid + 1;
    }
    gic_eoi(iar);
}

/* The counter before BH_HVC_DOORBELL_RING to this VM's own member bit, to CPU 0's vector: the
 * hypercall, the doorbell's SPI raised in the vGIC and injected on the way back. A peer VM on
 * another CPU adds the kick (an SGI) and its wake-up, as bench_ipi measures them. */
__attribute__((noinline)) static void bench_doorbell(void)
{
    unsigned long db_rounds = MAX(bootarg_ul("pt_rounds", DEFAULT_PT_ROUNDS), 1ul);
    uint64_t sum = 0;
    uint32_t seed = 1;

    if (!find_doorbell()) {
        return;
    }
    doorbell_irq_on(doorbell_entry);
    for (unsigned long r = 0; r < WARMUP_ROUNDS + db_rounds; r++) {
        uint32_t want = db.count + 1;
        delay_phase(next_rand(&seed));
        uint64_t t0 = cntvct();
        guest_hvc(BH_HVC_DOORBELL_RING, db.index, BIT(db.member), 0);
        uint64_t end = t0 + WAIT_TICKS(freq);
        while (db.count < want) {
            if (cntvct() > end) {
                printf("BENCH note: doorbell: INTID %u: %u of %u interrupts, unexpected INTID+1 "
                       "%u\n",
                       db.intid, db.count, want, db.unexpected);
                error("doorbell interrupt not taken");
            }
        }
        if (r >= WARMUP_ROUNDS) {
            sum += db.entry_ticks - t0;
        }
    }
    irqs_off();
    gic_enable(db.intid, false);
    printf("BENCH op=doorbell kind=latency n=%lu ticks=%lu\n", db_rounds, (unsigned long)sum);
}

/* ---- a doorbell rung to a peer VM ---- */

/* The shared region's first words, written by the echo VM (bootargs role=echo): the counter at
 * its doorbell handler's first instructions and the rings it took; PEER_QUIT, the ringer's word
 * that the run is over. */
#define PEER_ENTRY 0
#define PEER_RINGS 1
#define PEER_QUIT 2

static volatile uint64_t *peer_region;
static uint32_t db_members;

/* The VM's first shared region (/reserved-memory) and its doorbell's member mask. */
static bool find_peer_region(void)
{
    int node = fdt_node_offset_by_compatible(guest.fdt, -1, "bulkhead,shared-memory-v1");
    int len = 0;
    const fdt32_t *reg = node >= 0 ? fdt_getprop(guest.fdt, node, "reg", &len) : NULL;
    int db_node = fdt_node_offset_by_compatible(guest.fdt, -1, "bulkhead,doorbell");
    const fdt32_t *members =
        db_node >= 0 ? fdt_getprop(guest.fdt, db_node, "bulkhead,members", NULL) : NULL;

    if (!reg || len != 16 || !members) {
        return false;
    }
    peer_region = (volatile uint64_t *)(uintptr_t)(((uint64_t)fdt32_to_cpu(reg[0]) << 32) |
                                                   fdt32_to_cpu(reg[1]));
    db_members = fdt32_to_cpu(*members);
    return true;
}

/* The counter before BH_HVC_DOORBELL_RING to the peer VM, to the peer's doorbell handler on its
 * own CPU, where it waits in WFI: the hypercall, the SPI raised in the peer's vGIC, the kick of
 * its CPU and its wake-up. This CPU then waits in WFI for the peer's ring back, so that QEMU
 * (which runs one CPU at a time under icount) switches at once: as the IPI figure, this one
 * counts the ringer's instructions up to its WFI too. */
__attribute__((noinline)) static void bench_doorbell_peer(void)
{
    unsigned long peer_rounds = MAX(bootarg_ul("pt_rounds", DEFAULT_PT_ROUNDS), 1ul);
    uint64_t sum = 0;
    uint32_t seed = 1;

    if (!find_doorbell() || !find_peer_region() || !(db_members & ~BIT(db.member))) {
        printf("BENCH note: doorbell_peer: no doorbell with a peer in the device tree: skipped\n");
        return;
    }
    uint32_t peers = db_members & ~BIT(db.member);
    doorbell_irq_on(doorbell_entry);
    for (unsigned long r = 0; r < WARMUP_ROUNDS + peer_rounds; r++) {
        uint32_t want = db.count + 1;
        delay_phase(next_rand(&seed));
        uint64_t t0 = cntvct();
        guest_hvc(BH_HVC_DOORBELL_RING, db.index, peers, 0);
        uint64_t end = t0 + WAIT_TICKS(freq);
        while (db.count < want) {
            asm volatile("wfi" ::: "memory");
            if (cntvct() > end) {
                printf("BENCH note: doorbell_peer: %u of %u rings back, the peer took %lu\n",
                       db.count, want, (unsigned long)peer_region[PEER_RINGS]);
                error("the peer VM did not ring back");
            }
        }
        if (r >= WARMUP_ROUNDS) {
            sum += peer_region[PEER_ENTRY] - t0;
        }
    }
    irqs_off();
    gic_enable(db.intid, false);
    printf("BENCH op=doorbell_peer kind=latency n=%lu ticks=%lu\n", peer_rounds,
           (unsigned long)sum);
    peer_region[PEER_QUIT] = 1;
    asm volatile("dsb ish" ::: "memory");
    guest_hvc(BH_HVC_DOORBELL_RING, db.index, peers, 0); /* it powers its VM off */
}

static volatile bool echo_quit;

/* ---- frames between two VMs over virtio-net (the echo VM answers) ---- */

#define NET_TYPE 0x88b5 /* IEEE 802's local experimental EtherType */
#define NET_BATCH 64    /* frames per notify: VIRTIO_BUDGET, one exit's worth */
#define NET_FRAME 1500
#define NET_PING 64
enum net_kind { NET_KIND_PING = 'P', NET_KIND_BULK = 'B', NET_KIND_ACK = 'A', NET_KIND_QUIT = 'Q' };

static struct vnet net;
static bool net_found;
static struct {
    volatile uint64_t entry_ticks;
    volatile uint32_t count;
} net_irq;
static volatile bool net_quit;
static unsigned net_bulk_seen;
static uint8_t net_peer[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
/* How long net_wait waits: WAIT_TICKS, or, timing the wall clock (net_mib=, no -icount: the
 * echo VM's CPU is a host thread that a loaded host may not run for a while), 10 s. */
static uint64_t net_wait_ticks;

/* A frame of ours: to the peer (broadcast until it answered once), our EtherType, kind. */
static void net_send_kind(enum net_kind kind, size_t len, bool kick)
{
    static uint8_t f[NET_FRAME];

    memcpy(f, net_peer, 6);
    memcpy(f + 6, net.mac, 6);
    f[12] = NET_TYPE >> 8;
    f[13] = NET_TYPE & 0xff;
    f[14] = (uint8_t)kind;
    if (!vnet_send(&net, f, len, kick)) {
        error("virtio-net: the transmit ring is full");
    }
}

/* The echo VM's side: every frame taken; a ping sent back at once, an ack after each
 * NET_BATCH bulk frames, a quit ends the run. Called from its interrupt handler. */
static void net_echo_drain(void)
{
    static uint8_t f[VNET_BUF];
    size_t len;

    vnet_ack(&net);
    while ((len = vnet_recv(&net, f, sizeof(f))) > 14) {
        memcpy(net_peer, f + 6, 6);
        switch (f[14]) {
        case NET_KIND_PING: net_send_kind(NET_KIND_PING, len, true); break;
        case NET_KIND_BULK:
            if (++net_bulk_seen % NET_BATCH == 0) {
                net_send_kind(NET_KIND_ACK, NET_PING, true);
            }
            break;
        case NET_KIND_QUIT: net_quit = true; break;
        default: break;
        }
    }
}

/* The device's SPI (level) to this CPU, taken by handler, interrupts on. */
static void net_irq_on(void (*handler)(uint64_t ticks))
{
    guest_set_irq_handler(handler);
    gic_set_level(net.intid, true);
    gic_route_spi(net.intid, 0);
    gic_enable(net.intid, true);
    irqs_on();
}

/* The measuring VM's handler: when, and how many; the device's interrupt acknowledged so that
 * the line drops before the EOI. */
static void net_entry(uint64_t ticks)
{
    uint32_t iar = gic_ack();
    unsigned intid = gic_iar_intid(iar);

    if (intid >= GIC_SPURIOUS) {
        return;
    }
    if (intid == net.intid) {
        net_irq.entry_ticks = ticks;
        vnet_ack(&net);
        asm volatile("dmb ish" ::: "memory");
        net_irq.count++;
    } else if (intid == guest.vtimer_intid) {
        write_cntv_ctl(0); /* net_receive's deadline: its loop sees the time is up */
        isb();
    }
    gic_eoi(iar);
}

/* wait_until's test in net_receive: the ring drained up to a frame of *kind (others dropped). */
static bool net_frame_in(void *kind)
{
    static uint8_t f[VNET_BUF];
    size_t len;

    while ((len = vnet_recv(&net, f, sizeof(f)))) {
        if (len > 14 && f[14] == (uint8_t) * (enum net_kind *)kind) {
            memcpy(net_peer, f + 6, 6);
            return true;
        }
    }
    return false;
}

/* Waits in WFI, until the counter reaches end (the virtual timer's deadline: a frame that
 * never comes, one the switch dropped, must not leave it asleep for good), for a frame of kind
 * from the echo VM; false if none came. *entry: its handler's entry counter. */
static bool net_receive(enum net_kind kind, uint64_t end, uint64_t *entry)
{
    bool got = wait_until(net_frame_in, &kind, end);

    *entry = net_irq.entry_ticks;
    return got;
}

/* Waits net_wait_ticks for a frame of kind from the echo VM; returns its handler's entry
 * counter. */
static uint64_t net_wait(enum net_kind kind)
{
    uint64_t entry = 0;

    if (!net_receive(kind, cntvct() + net_wait_ticks, &entry)) {
        printf("BENCH note: net: no '%c' frame back, %u interrupts\n", kind, net_irq.count);
        error("the echo VM did not answer over virtio-net");
    }
    return entry;
}

/* The echo VM starts beside us and may not have brought its device up yet: a frame sent
 * before then is dropped (as a NIC that is down drops it). Pings, 10 ms apart, until one comes
 * back, for net_wait_ticks at most; its answer also teaches us the peer's MAC. */
static void net_handshake(void)
{
    uint64_t end = cntvct() + net_wait_ticks, entry;

    do {
        net_send_kind(NET_KIND_PING, NET_PING, true);
        if (net_receive(NET_KIND_PING, MIN(cntvct() + freq / 100, end), &entry)) {
            return;
        }
    } while (cntvct() < end);
    printf("BENCH note: net: no ping answered, %u interrupts\n", net_irq.count);
    error("the echo VM did not answer over virtio-net");
}

/* The counter across n notifies of an empty transmit queue, minus an empty loop's. */
static uint64_t net_notify_loop(bool with_op, uint64_t n)
{
    uint64_t t0, t1;
    uintptr_t addr = net.base + VIRTIO_MMIO_QUEUE_NOTIFY;
    uint64_t val = 1;

    if (with_op) {
        LOOP("str %w[v], [%[a]]");
    } else {
        LOOP("");
    }
    return t1 - t0;
}

/* net_mib=N: N MiB to the echo VM, timed by the counter (see the top). */
static void bench_net_bulk(unsigned long mib)
{
    unsigned long frames = (mib << 20) / NET_FRAME, sent = 0;

    net_wait_ticks = freq * 10;
    if (!vnet_init(&net)) {
        error("net_mib needs a virtio-net device");
    }
    net_irq_on(net_entry);
    net_handshake();
    uint64_t t0 = cntvct();
    while (sent < frames) {
        unsigned batch = (unsigned)MIN((unsigned long)NET_BATCH, frames - sent);
        for (unsigned i = 0; i < batch; i++) {
            net_send_kind(NET_KIND_BULK, NET_FRAME, false);
        }
        vnet_kick(&net);
        sent += batch;
        if (batch == NET_BATCH) {
            net_wait(NET_KIND_ACK);
        }
    }
    uint64_t t1 = cntvct();
    irqs_off();
    printf("BENCH op=net_bulk kind=once ticks=%lu bytes=%lu\n", (unsigned long)(t1 - t0),
           sent * NET_FRAME);
    net_send_kind(NET_KIND_QUIT, NET_PING, true);
}

/* Round trips of a small frame, then NET_BATCH-frame rounds of 1500-byte frames, then empty
 * notifies; the echo VM is told to stop at the end. */
__attribute__((noinline)) static void bench_net(void)
{
    unsigned long net_rounds = MAX(bootarg_ul("pt_rounds", DEFAULT_PT_ROUNDS), 1ul);
    uint64_t sum = 0;
    uint32_t seed = 1;

    net_wait_ticks = WAIT_TICKS(freq);
    if (!vnet_init(&net)) {
        printf("BENCH note: net: no virtio-net device: skipped\n");
        return;
    }
    net_irq_on(net_entry);
    for (unsigned long r = 0; r < WARMUP_ROUNDS + net_rounds; r++) {
        delay_phase(next_rand(&seed));
        uint64_t t0 = cntvct();
        net_send_kind(NET_KIND_PING, NET_PING, true);
        uint64_t at = net_wait(NET_KIND_PING);
        if (r >= WARMUP_ROUNDS) {
            sum += at - t0;
        }
    }
    printf("BENCH op=net_ping kind=latency n=%lu ticks=%lu\n", net_rounds, (unsigned long)sum);

    unsigned long batches = MAX(net_rounds / 50, 2ul);
    sum = 0;
    for (unsigned long r = 0; r < 1 + batches; r++) {
        for (unsigned i = 0; i < NET_BATCH; i++) {
            net_send_kind(NET_KIND_BULK, NET_FRAME, false);
        }
        /* Masked: the interrupt for our own used buffers waits until t1 is read. */
        irqs_off();
        uint64_t t0 = cntvct();
        vnet_kick(&net);
        uint64_t t1 = cntvct();
        irqs_on();
        net_wait(NET_KIND_ACK);
        if (r >= 1) {
            sum += t1 - t0;
        }
    }
    printf("BENCH op=net_frame kind=loop n=%lu ticks=%lu\n", batches * NET_BATCH,
           (unsigned long)sum);
    irqs_off();

    uint64_t n = iters;
    net_notify_loop(true, MAX(n / 10, 1ul));
    uint64_t base = net_notify_loop(false, n);
    uint64_t with = net_notify_loop(true, n);
    printf("BENCH op=net_notify kind=loop n=%lu ticks=%lu\n", (unsigned long)n,
           (unsigned long)(with - base));
    net_send_kind(NET_KIND_QUIT, NET_PING, true);
    gic_enable(net.intid, false);
}

/* The echo VM's doorbell handler: records where it was entered, acknowledges and rings back
 * whoever rang, until the ringer says the run is over. */
static void echo_entry(uint64_t ticks)
{
    uint32_t iar = gic_ack();
    unsigned intid = gic_iar_intid(iar);

    if (intid >= GIC_SPURIOUS) {
        return;
    }
    if (intid == db.intid) {
        peer_region[PEER_ENTRY] = ticks;
        uint64_t rang = guest_hvc(BH_HVC_DOORBELL_ACK, db.index, 0, 0);
        peer_region[PEER_RINGS]++;
        asm volatile("dmb ish" ::: "memory");
        if (peer_region[PEER_QUIT]) {
            echo_quit = true;
        } else {
            guest_hvc(BH_HVC_DOORBELL_RING, db.index, rang & db_members, 0);
        }
    } else if (net_found && intid == net.intid) {
        net_echo_drain();
    }
    gic_eoi(iar);
}

/* wait_until's test in run_echo. */
static bool echo_done(void *unused)
{
    (void)unused;
    return net_found ? net_quit : echo_quit;
}

/* role=echo: the peer of bench_doorbell_peer, in a VM of its own; waits in WFI. */
static void run_echo(void)
{
    if (!find_doorbell() || !find_peer_region()) {
        error("role=echo needs a doorbell and its shared region");
    }
    gic_dist_init();
    gic_cpu_setup(0);
    net_found = vnet_init(&net);
    doorbell_irq_on(echo_entry);
    if (net_found) {
        gic_set_level(net.intid, true);
        gic_route_spi(net.intid, 0);
        gic_enable(net.intid, true);
    }
    /* The net rows come after the doorbell's (or alone, net_mib=): the net's quit ends it. */
    wait_until(echo_done, NULL, WAIT_FOREVER);
    irqs_off(); /* the figures below stay put while printed */
    printf("BENCH echo: %lu rings, %u frames\n", (unsigned long)peer_region[PEER_RINGS],
           net_bulk_seen);
}

/* Waits until CPU 1 is off (PSCI AFFINITY_INFO), so that nothing else runs: between two
 * queries CPU 0 waits in WFI for its virtual timer, which lets QEMU run CPU 1 (icount runs one
 * CPU at a time) to its CPU_OFF. Spinning on the query instead would keep CPU 1 waiting for
 * QEMU's time slice, thousands of HVC exits later. */
__attribute__((noinline)) static void wait_cpu1_off(void)
{
    irqs_on(); /* CPU 1's last answer (SGI_REPLY) too */
    for (unsigned i = 0;
         smccc_call(PSCI_0_2_FN_AFFINITY_INFO | PSCI_FN64_BIT, guest.cpu_mpidr[1], 0, 0) != 1;
         i++) {
        if (i == 10) {
            error("CPU 1 did not turn off");
        }
        uint32_t want = irqs[0].count + 1;
        write_cntv_cval(cntvct() + TIMER_DELAY_TICKS);
        isb();
        write_cntv_ctl(CNT_CTL_ENABLE);
        isb();
        wait_irq(0, want, true, "waiting for CPU 1 to turn off");
    }
    irqs_off();
}

/* ---- a vCPU switch between two VMs on one physical CPU ---- */

/* The shared region's first words in the switch configuration: SWITCH_ROUND, written by the
 * measuring VM just before its WFI; SWITCH_SEEN and SWITCH_AT, written by the peer VM
 * (role=switch) when it sees a new round: that round and the counter then; SWITCH_QUIT, the end. */
#define SWITCH_ROUND 0
#define SWITCH_SEEN 1
#define SWITCH_AT 2
#define SWITCH_QUIT 3

/*
 * switch=1: this VM's one vCPU and the peer VM's share physical CPU 0, with equal priorities.
 * Each round: the virtual timer armed TIMER_DELAY_TICKS ahead, then the counter read, the
 * round's number stored into the shared region and WFI with nothing pending. The hypervisor
 * blocks this vCPU and, the peer being runnable, switches: WFI trap, the policy's choice, this
 * vCPU's context saved (EL1 registers, FP/SIMD, virtual timer, GIC interface), the peer's
 * restored, the hypervisor thread switched, the peer's own exit (it was preempted) returning to
 * it. The peer spins on the shared round word and reads the counter as soon as it changes: its
 * read minus ours is the switch, with our store and WFI after the read and at most
 * one turn of the peer's loop (a few instructions: where it resumes in the loop is fixed, so the
 * same every run). Both VMs have CNTVOFF 0: their virtual counts are the same clock. Our timer
 * wakes us at the end of the peer's time slice (it has our priority), which is the next round.
 * The read is spread within a counter tick as the IPI's send, so that the average of the
 * tick-quantized samples comes within about an instruction of the true cost.
 */
__attribute__((noinline)) static void bench_vcpu_switch(void)
{
    unsigned long switch_rounds = MAX(bootarg_ul("pt_rounds", DEFAULT_PT_ROUNDS), 1ul);
    uint64_t sum = 0;
    uint32_t seed = 1;

    if (!find_peer_region()) {
        error("switch=1 needs a shared region with the peer VM");
    }
    irqs_on();
    for (unsigned long r = 0; r < WARMUP_ROUNDS + switch_rounds; r++) {
        uint64_t round = r + 1, t0;
        uint32_t want = irqs[0].count + 1;
        write_cntv_cval(cntvct() + TIMER_DELAY_TICKS);
        isb();
        write_cntv_ctl(CNT_CTL_ENABLE);
        isb();
        delay_phase(next_rand(&seed));
        asm volatile("isb\n mrs %0, cntvct_el0\n str %1, [%2]\n wfi"
                     : "=&r"(t0)
                     : "r"(round), "r"(&peer_region[SWITCH_ROUND])
                     : "memory");
        wait_irq(0, want, true, "vcpu_switch");
        if (peer_region[SWITCH_SEEN] != round) {
            printf("BENCH note: vcpu_switch: round %lu, the peer saw %lu\n", (unsigned long)round,
                   (unsigned long)peer_region[SWITCH_SEEN]);
            error("the peer VM did not run while this one waited");
        }
        if (r >= WARMUP_ROUNDS) {
            sum += peer_region[SWITCH_AT] - t0;
        }
    }
    irqs_off();
    printf("BENCH op=vcpu_switch kind=latency n=%lu ticks=%lu\n", switch_rounds,
           (unsigned long)sum);
    peer_region[SWITCH_QUIT] = 1; /* it powers its VM off once it runs again */
}

/* role=switch: the peer of bench_vcpu_switch, in a VM of its own on the same CPU; spins, IRQs
 * masked, so that it gives the CPU back only at the end of its time slice. */
static void run_switch_peer(void)
{
    if (!find_peer_region()) {
        error("role=switch needs a shared region with the measuring VM");
    }
    uint64_t seen = peer_region[SWITCH_ROUND];
    unsigned long rounds_seen = 0;

    while (!peer_region[SWITCH_QUIT]) {
        uint64_t round = peer_region[SWITCH_ROUND];
        if (round != seen) {
            peer_region[SWITCH_AT] = cntvct();
            peer_region[SWITCH_SEEN] = round;
            seen = round;
            rounds_seen++;
        }
    }
    printf("BENCH switch peer: %lu rounds\n", rounds_seen);
}

/* ---- main ---- */

static void print_start(bool hyp)
{
    printf("BENCH start freq=%lu gic=%u cpus=%u hyp=%u conduit=%s\n", (unsigned long)freq,
           gic.version, guest.nr_cpus, hyp, guest.psci_smc ? "smc" : "hvc");
}

int main(void *dtb)
{
    guest_init(dtb);
    if ((uintptr_t)_start != (uintptr_t)__image_start) {
        error("_start is not the image's first instruction (link order)");
    }
    freq = cntfrq();
    if (!guest.fdt_ok || !freq) {
        error(!guest.fdt_ok ? "no valid DTB" : "CNTFRQ_EL0 is 0");
    }
    bool hyp = bootarg_ul("hyp", 0) != 0;
    char role[8] = "", noisy[12] = "";

    bootarg("role", role, sizeof(role));
    bootarg("noisy", noisy, sizeof(noisy));
    if (strcmp(role, "echo") == 0) {
        run_echo();
        return 0;
    }
    if (strcmp(role, "switch") == 0) {
        run_switch_peer();
        return 0;
    }
    if (bootarg_ul("switch", 0)) {
        /* Only the switch, with nothing else to disturb the two VMs' turns. */
        print_start(hyp);
        guest_set_irq_handler(irq_entry);
        gic_dist_init();
        gic_cpu_setup(0);
        bench_vcpu_switch();
        printf("BENCH done\n");
        return 0;
    }

    unsigned long net_mib = bootarg_ul("net_mib", 0);
    if (net_mib) {
        print_start(hyp);
        gic_dist_init();
        gic_cpu_setup(0);
        bench_net_bulk(net_mib);
        printf("BENCH done\n");
        return 0;
    }
    iters = MAX(bootarg_ul("iters", DEFAULT_ITERS), 1ul);
    rounds = MAX(bootarg_ul("rounds", DEFAULT_ROUNDS), 1ul);
    if (!gic.version) {
        error("no GIC in the DTB");
    }
    print_start(hyp);
    printf("BENCH op=boot kind=once ticks=%lu\n", (unsigned long)guest_boot_ticks());

    guest_set_irq_handler(irq_entry);
    gic_dist_init();
    gic_cpu_setup(0);

    bench_loop(OP_PSCI_VERSION);
    if (hyp) {
        bench_loop(OP_HVC_NULL);
    }
    bench_loop(OP_MMIO_READ);
    bench_loop(OP_MMIO_WRITE);
    bench_loop(OP_GICD_READ);
    bench_ack_eoi();
    if (noisy[0]) {
        /* Only the timer in WFI, while a neighbour VM on another CPU is what noisy says. */
        char name[24];
        snprintf(name, sizeof(name), "noisy_%s", noisy);
        bench_timer(true, name);
        printf("BENCH done\n");
        return 0;
    }
    bench_timer(false, "timer");
    bench_timer(true, "timer_wfi");
    bench_ipi();
    /* Last: anything added before would shift where the others' windows fall in a tick. */
    wait_cpu1_off();
    bench_pt_irq();
    bench_doorbell();
    bench_doorbell_peer();
    bench_net();
    printf("BENCH done\n");
    return 0;
}
