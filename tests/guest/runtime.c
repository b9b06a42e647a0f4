/* The guests' runtime: DTB facts, the PL011 console, bootargs and PSCI. */
#include <stdarg.h>

#include <libfdt.h>

#include "guest.h"

#define DEFAULT_UART 0x09000000ul /* QEMU virt, until the DTB says otherwise */

struct guest_info guest = {
    .uart = DEFAULT_UART,
    .bootargs = "",
    .nr_cpus = 1,
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

/* The reg of node: its first (address, size) pair, in its parent's cells. */
static bool node_reg(const void *fdt, int node, uint64_t *base, uint64_t *size)
{
    int parent = fdt_parent_offset(fdt, node);
    int ac = parent >= 0 ? fdt_address_cells(fdt, parent) : 2;
    int sc = parent >= 0 ? fdt_size_cells(fdt, parent) : 1;
    int len;
    const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);

    if (!reg || ac < 1 || ac > 2 || sc < 0 || sc > 2 || len < (int)sizeof(fdt32_t) * (ac + sc)) {
        return false;
    }
    uint64_t v = 0;
    for (int i = 0; i < ac; i++) {
        v = (v << 32) | fdt32_to_cpu(reg[i]);
    }
    *base = v;
    v = 0;
    for (int i = 0; i < sc; i++) {
        v = (v << 32) | fdt32_to_cpu(reg[ac + i]);
    }
    *size = v;
    return true;
}

static void find_uart(const void *fdt)
{
    int chosen = fdt_path_offset(fdt, "/chosen");
    int node = -1;
    uint64_t base, size;

    if (chosen >= 0) {
        int len;
        const char *path = fdt_getprop(fdt, chosen, "stdout-path", &len);
        if (!path) {
            path = fdt_getprop(fdt, chosen, "linux,stdout-path", &len);
        }
        if (path && len > 0) {
            const char *colon = memchr(path, ':', (size_t)len);
            int namelen = colon ? (int)(colon - path) : (int)strnlen(path, (size_t)len);
            node = fdt_path_offset_namelen(fdt, path, namelen);
        }
    }
    if (node < 0 || fdt_node_check_compatible(fdt, node, "arm,pl011") != 0) {
        node = fdt_node_offset_by_compatible(fdt, -1, "arm,pl011");
    }
    if (node >= 0 && node_reg(fdt, node, &base, &size)) {
        guest.uart = (uintptr_t)base;
    }
}

static void find_memory(const void *fdt)
{
    int node = fdt_node_offset_by_prop_value(fdt, -1, "device_type", "memory", sizeof("memory"));
    uint64_t base, size;

    if (node < 0) { /* device_type is required, but a node named memory@... says enough */
        int child;
        fdt_for_each_subnode(child, fdt, 0) {
            if (strncmp(fdt_get_name(fdt, child, NULL), "memory", 6) == 0) {
                node = child;
                break;
            }
        }
    }

    if (node >= 0 && node_reg(fdt, node, &base, &size)) {
        guest.ram_base = base;
        guest.ram_size = size;
    }
}

static void find_psci(const void *fdt)
{
    int node = fdt_path_offset(fdt, "/psci");

    if (node < 0) {
        node = fdt_node_offset_by_compatible(fdt, -1, "arm,psci-1.0");
    }
    if (node < 0) {
        node = fdt_node_offset_by_compatible(fdt, -1, "arm,psci-0.2");
    }
    if (node < 0) {
        node = fdt_node_offset_by_compatible(fdt, -1, "arm,psci");
    }
    if (node < 0) {
        return;
    }
    const char *method = fdt_getprop(fdt, node, "method", NULL);
    if (method) {
        guest.psci_found = true;
        guest.psci_smc = strcmp(method, "smc") == 0;
    }
}

static void count_cpus(const void *fdt)
{
    int cpus = fdt_path_offset(fdt, "/cpus");
    int node;
    unsigned n = 0;

    if (cpus < 0) {
        return;
    }
    fdt_for_each_subnode(node, fdt, cpus) {
        const char *type = fdt_getprop(fdt, node, "device_type", NULL);
        if (type && strcmp(type, "cpu") == 0) {
            uint64_t mpidr, unused;
            if (n < GUEST_MAX_CPUS && node_reg(fdt, node, &mpidr, &unused)) {
                guest.cpu_mpidr[n] = mpidr;
            }
            n++;
        }
    }
    if (n) {
        guest.nr_cpus = n;
    }
}

void guest_init(void *dtb)
{
    guest.fdt = dtb;
    if (!dtb || fdt_check_header(dtb) != 0) {
        return;
    }
    guest.fdt_ok = true;
    guest.fdt_size = fdt_totalsize(dtb);
    find_uart(dtb);
    find_memory(dtb);
    find_psci(dtb);
    count_cpus(dtb);
    int chosen = fdt_path_offset(dtb, "/chosen");
    if (chosen >= 0) {
        const char *args = fdt_getprop(dtb, chosen, "bootargs", NULL);
        if (args) {
            guest.bootargs = args;
        }
    }
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
    uint64_t freq, start, now;

    asm volatile("mrs %0, cntfrq_el0" : "=r"(freq));
    freq &= 0xffffffffu;
    if (!freq) {
        delay_loop(100000ul * ms); /* a guess: a few ms per million iterations under TCG */
        return;
    }
    asm volatile("isb; mrs %0, cntvct_el0" : "=r"(start) : : "memory");
    uint64_t ticks = freq / 1000 * ms;
    do {
        asm volatile("isb; mrs %0, cntvct_el0" : "=r"(now) : : "memory");
    } while (now - start < ticks);
}

/* ---- SMP ---- */

static struct {
    void (*fn)(unsigned index, void *arg);
    void *arg;
} cpu_boot[GUEST_MAX_CPUS];

void guest_secondary_main(unsigned index);
void guest_secondary_main(unsigned index)
{
    asm volatile("dmb ish" ::: "memory");
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
