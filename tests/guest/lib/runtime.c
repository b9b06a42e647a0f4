/* The guests' runtime: the PL011 console, bootargs, PSCI and the CPUs' entry into C. */
#include <stdarg.h>

#include "guest.h"
#include "sysreg.h"

/* QEMU virt's, until the DTB says otherwise (dt.c). */
struct guest_info guest = {
    .uart = 0x09000000ul,
    .bootargs = "",
    .nr_cpus = 1,
    .vtimer_intid = 27,
    .ptimer_intid = 30,
    .uart_intid = 33,
};

/* libfdt is built with the stack protector. */
uintptr_t __stack_chk_guard = 0x2d6c1f0e9a5b3c47ul;
void __stack_chk_fail(void);
void __stack_chk_fail(void)
{
    printf("guest: stack smashing detected\n");
    guest_halt();
}

static void uart_putc(char c)
{
    while (mmio_read32(guest.uart + PL011_FR) & PL011_FR_TXFF) {
    }
    mmio_write32(guest.uart + PL011_DR, (uint8_t)c);
}

/* Whole printf calls from several CPUs do not mix. A CPU that already holds the lock (an
 * exception report in the middle of its own printf) prints without it. */
static guest_lock_t console_lock;
static volatile int console_owner = -1;

int printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    int me = (int)guest_cpu_index();
    bool nested = console_owner == me;
    if (!nested) {
        guest_lock(&console_lock);
        console_owner = me;
    }
    for (const char *p = buf; *p; p++) {
        uart_putc(*p);
    }
    if (!nested) {
        console_owner = -1;
        guest_unlock(&console_lock);
    }
    return n;
}

bool bootarg(const char *key, char *val, size_t len)
{
    size_t klen = strlen(key);
    const char *p = guest.bootargs;

    while (*p) {
        while (*p == ' ') {
            p++;
        }
        const char *end = p;
        while (*end && *end != ' ') {
            end++;
        }
        if ((size_t)(end - p) > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t n = (size_t)(end - p) - klen - 1;
            if (len) {
                n = MIN(n, len - 1);
                memcpy(val, p + klen + 1, n);
                val[n] = '\0';
            }
            return true;
        }
        p = end;
    }
    return false;
}

unsigned long bootarg_ul(const char *key, unsigned long def)
{
    char buf[24];

    if (!bootarg(key, buf, sizeof(buf)) || !buf[0]) {
        return def;
    }
    return strtoul(buf, NULL, 0);
}

uint64_t smccc_call(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3)
{
    return guest.psci_smc ? guest_smc(fid, a1, a2, a3) : guest_hvc(fid, a1, a2, a3);
}

void delay_ms(unsigned long ms)
{
    uint64_t freq = cntfrq();

    if (!freq) {
        delay_loop(100000ul * ms); /* a guess: a few ms per million iterations under TCG */
        return;
    }
    uint64_t start = cntvct();
    uint64_t ticks = freq / 1000 * ms;
    while (cntvct() - start < ticks) {
    }
}

/* ---- SMP ---- */

static struct {
    void (*fn)(unsigned index, void *arg);
    void *arg;
} cpu_boot[GUEST_MAX_CPUS];

void guest_cpu_main(unsigned index, void *dtb)
{
    if (index == 0) {
        main(dtb);
        guest_halt();
    }
    asm volatile("dmb ish" ::: "memory"); /* cpu_boot[index] as guest_cpu_start wrote it */
    cpu_boot[index].fn(index, cpu_boot[index].arg);
    uint64_t ret = smccc_call(PSCI_0_2_FN_CPU_OFF, 0, 0, 0);
    printf("guest: CPU %u: CPU_OFF returned %ld\n", index, (long)ret);
    for (;;) {
        asm volatile("wfi");
    }
}

int64_t guest_cpu_start(unsigned index, void (*fn)(unsigned index, void *arg), void *arg)
{
    if (index == 0 || index >= GUEST_MAX_CPUS || index >= guest.nr_cpus || !fn) {
        return PSCI_RET_INVALID_PARAMS;
    }
    cpu_boot[index].fn = fn;
    cpu_boot[index].arg = arg;
    asm volatile("dsb ish" ::: "memory");
    return (int32_t)smccc_call(PSCI_0_2_FN_CPU_ON | PSCI_FN64_BIT, guest.cpu_mpidr[index],
                               (uintptr_t)guest_secondary_entry, index);
}

void guest_halt(void)
{
    uint64_t ret = smccc_call(PSCI_0_2_FN_SYSTEM_OFF, 0, 0, 0);

    printf("guest: SYSTEM_OFF returned %ld\n", (long)ret);
    for (;;) {
        asm volatile("wfi");
    }
}
