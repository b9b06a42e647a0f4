/*
 * The runtime of the bare-metal test guests: console, device-tree facts, PSCI/SMCCC calls, SMP,
 * an IRQ handler hook and a hook for exceptions a test provokes on purpose. Runs at EL1 with the
 * MMU on (see start.S). The rest of the guest library: gic.h, report.h, sysreg.h,
 * wait.h.
 */
#ifndef GUEST_H
#define GUEST_H

#include "bulkhead/hvcall.h"
#include "bulkhead/printk.h"
#include "bulkhead/string.h"
#include "bulkhead/types.h"

#define PL011_DR 0x00
#define PL011_FR 0x18
#define PL011_FR_TXFF BIT(5)
#define PL011_FR_TXFE BIT(7)
#define PL011_IMSC 0x38
#define PL011_RIS 0x3c
#define PL011_MIS 0x40
#define PL011_TXIM BIT(5)

#define ESR_EC(esr) BITS(esr, 31, 26)
#define ESR_EC_DABT_CUR 0x25
#define ESR_DFSC(esr) BITS(esr, 5, 0)
#define ESR_WNR BIT(6)
#define DFSC_SEA 0x10 /* synchronous external abort, not on a table walk */

/* CPUs the runtime can run (start.S has a stack for each); /cpus may list more. */
#define GUEST_MAX_CPUS 4

/* What the guest learnt from its DTB (guest_init fills it, and gic's addresses: gic.h). */
struct guest_info {
    const void *fdt;
    bool fdt_ok;
    uint64_t fdt_size;
    uint64_t ram_base, ram_size; /* first /memory bank */
    unsigned nr_cpus;
    uintptr_t uart; /* PL011 registers */
    bool psci_smc;  /* conduit: SMC if /psci says "smc", HVC otherwise */
    bool psci_found;
    const char *bootargs;                /* "" when absent */
    uint64_t cpu_mpidr[GUEST_MAX_CPUS];  /* /cpus/cpu@N reg (MPIDR affinity), in DTB order */
    unsigned vtimer_intid, ptimer_intid; /* the architected 27 and 30 unless the DTB differs */
    unsigned uart_intid;                 /* the console PL011's; 33 (QEMU virt) if not found */
};

extern struct guest_info guest;
extern char _start[], __image_start[], __image_end[], _end[];

/* Reads the DTB at dtb and points the console at its UART. Prints nothing. */
void guest_init(void *dtb);

/* The guest's own: runs on the boot CPU; guest_halt() when it returns. */
int main(void *dtb);

int printf(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* Copies the value of "key=value" in the bootargs into val (NUL-terminated). False if absent. */
bool bootarg(const char *key, char *val, size_t len);
/* The value of "key=number" in the bootargs, or def. */
unsigned long bootarg_ul(const char *key, unsigned long def);

/* An SMCCC call through the DTB's PSCI conduit. Returns x0. */
uint64_t smccc_call(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3);
/* Raw conduits (start.S). */
uint64_t guest_hvc(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3);
uint64_t guest_smc(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3);

/* PSCI SYSTEM_OFF; never returns (waits for interrupts if the call fails). */
NORETURN void guest_halt(void);

/* MMIO with single plain instructions (no writeback), so that a trapping hypervisor can decode
 * every access from the syndrome. */
static inline uint32_t mmio_read32(uintptr_t addr)
{
    uint32_t v;
    asm volatile("ldr %w0, [%1]" : "=r"(v) : "r"(addr) : "memory");
    return v;
}

static inline void mmio_write32(uintptr_t addr, uint32_t v)
{
    asm volatile("str %w0, [%1]" : : "r"(v), "r"(addr) : "memory");
}

/* A busy loop of n iterations that the compiler keeps. */
static inline void delay_loop(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++) {
        asm volatile("" ::: "memory");
    }
}

/* Waits about ms milliseconds of the generic timer's virtual count (a busy loop if the
 * counter frequency is unknown): emulated CPUs run loops at very different speeds. */
void delay_ms(unsigned long ms);

/*
 * SMP. CPU 0 is the one that booted (main's); guest_cpu_start() starts CPU index (1 to
 * MIN(nr_cpus, GUEST_MAX_CPUS) - 1, whose MPIDR is guest.cpu_mpidr[index]) with PSCI CPU_ON:
 * it gets the boot CPU's vectors, FP/SIMD and MMU set-up, a 16 KiB stack of its own, IRQs
 * masked, and runs fn(index, arg); when fn returns it calls PSCI CPU_OFF. Returns the PSCI
 * status (PSCI_RET_SUCCESS, ...). printf may be called from any CPU (whole calls do not mix).
 */
int64_t guest_cpu_start(unsigned index, void (*fn)(unsigned index, void *arg), void *arg);
void guest_secondary_entry(void);               /* start.S: the CPU_ON entry point, x0 = index */
void guest_cpu_main(unsigned index, void *dtb); /* start.S calls it on every CPU */

/* This CPU's index (start.S keeps it in TPIDR_EL1). */
static inline unsigned guest_cpu_index(void)
{
    uint64_t v;
    asm volatile("mrs %0, tpidr_el1" : "=r"(v));
    return (unsigned)v;
}

/* A spinlock for code running on several CPUs (MMU on: exclusives need cacheable memory). */
typedef struct {
    volatile uint32_t v;
} guest_lock_t;

static inline void guest_lock(guest_lock_t *l)
{
    uint32_t tmp, one = 1;
    asm volatile("sevl\n"
                 "1: wfe\n"
                 "2: ldaxr %w0, [%1]\n"
                 "   cbnz %w0, 1b\n"
                 "   stxr %w0, %w2, [%1]\n"
                 "   cbnz %w0, 2b\n"
                 : "=&r"(tmp)
                 : "r"(&l->v), "r"(one)
                 : "memory");
}

static inline void guest_unlock(guest_lock_t *l)
{
    asm volatile("stlr wzr, [%0]" : : "r"(&l->v) : "memory");
}

/* The generic counter at the image's first instruction (start.S keeps it in TPIDR_EL0). */
static inline uint64_t guest_boot_ticks(void)
{
    uint64_t v;
    asm volatile("mrs %0, tpidr_el0" : "=r"(v));
    return v;
}

/*
 * IRQs. handler(ticks) runs for every IRQ taken, on any CPU, with IRQs masked (it may unmask
 * them: the vectors save ELR_EL1 and SPSR_EL1); ticks is the virtual counter at the vector. It
 * must not use FP/SIMD registers (build it with -mgeneral-regs-only, see guest.mk). Without a
 * handler an IRQ is reported as an unexpected exception and the guest powers off.
 */
void guest_set_irq_handler(void (*handler)(uint64_t ticks));

/* The frame vectors.S saves: x0..x18, x29, x30, ELR_EL1, SPSR_EL1 (64-bit words). */
#define FRAME_X30 20
#define FRAME_ELR 21
#define FRAME_SPSR 22

/*
 * Provoked exceptions. Between trap_expect() and trap_take(), a synchronous exception at EL1 is
 * recorded instead of being fatal, and the faulting instruction is skipped (ELR_EL1 += 4).
 */
struct trap_record {
    bool taken;
    uint64_t esr, far, elr;
};
void trap_expect(void);
/* Ends the expectation; returns what was recorded (taken is false if nothing happened). */
struct trap_record trap_take(void);

/* One load / store that may fault; the loaded value is `sentinel` if the load was skipped. */
static inline uint64_t probe_load64(uintptr_t addr, uint64_t sentinel)
{
    uint64_t v = sentinel;
    asm volatile("ldr %0, [%1]" : "+r"(v) : "r"(addr) : "memory");
    return v;
}

static inline void probe_store64(uintptr_t addr, uint64_t v)
{
    asm volatile("str %0, [%1]" : : "r"(v), "r"(addr) : "memory");
}

#endif
