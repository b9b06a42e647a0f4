/*
 * The runtime of the bare-metal test guests: console, device-tree facts, PSCI/SMCCC calls and a
 * hook for exceptions a test provokes on purpose. Runs at EL1 with the MMU on (see start.S).
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

#define ESR_EC(esr) BITS(esr, 31, 26)
#define ESR_EC_DABT_CUR 0x25
#define ESR_DFSC(esr) BITS(esr, 5, 0)
#define ESR_WNR BIT(6)
#define DFSC_SEA 0x10 /* synchronous external abort, not on a table walk */

/* What the guest learnt from its DTB (guest_init fills it). */
struct guest_info {
    const void *fdt;
    bool fdt_ok;
    uint64_t fdt_size;
    uint64_t ram_base, ram_size; /* first /memory bank */
    unsigned nr_cpus;
    uintptr_t uart;              /* PL011 registers */
    bool psci_smc;               /* conduit: SMC if /psci says "smc", HVC otherwise */
    bool psci_found;
    const char *bootargs;        /* "" when absent */
};

extern struct guest_info guest;
extern char __image_start[], __image_end[], _end[];

/* Reads the DTB at dtb and points the console at its UART. Prints nothing. */
void guest_init(void *dtb);

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
