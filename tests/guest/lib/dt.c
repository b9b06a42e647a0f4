/* What the guests learn from their device tree, through libfdt: guest_init() (guest.h). */
#include <libfdt.h>

#include "gic.h"
#include "guest.h"

/* The n-th (address, size) pair of a node's reg, in its parent's cells. */
static bool node_reg(const void *fdt, int node, int n, uint64_t *base, uint64_t *size)
{
    int parent = fdt_parent_offset(fdt, node);
    int ac = parent >= 0 ? fdt_address_cells(fdt, parent) : 2;
    int sc = parent >= 0 ? fdt_size_cells(fdt, parent) : 1;
    int len;
    const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);

    if (!reg || ac < 1 || ac > 2 || sc < 0 || sc > 2 ||
        len < (int)sizeof(fdt32_t) * (ac + sc) * (n + 1)) {
        return false;
    }
    reg += (ac + sc) * n;
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

/* The first node compatible with one of compat, in the order given; negative if none. */
static int first_compatible(const void *fdt, const char *const *compat, size_t n)
{
    int node = -FDT_ERR_NOTFOUND;

    for (size_t i = 0; i < n && node < 0; i++) {
        node = fdt_node_offset_by_compatible(fdt, -1, compat[i]);
    }
    return node;
}

/* The INTID of a node's idx-th interrupt specifier (GIC binding: type, number, flags); -1 if it
 * has none. */
static int node_intid(const void *fdt, int node, int idx)
{
    int len;
    const fdt32_t *p = fdt_getprop(fdt, node, "interrupts", &len);

    if (!p || len < (int)sizeof(fdt32_t) * 3 * (idx + 1)) {
        return -1;
    }
    uint32_t type = fdt32_to_cpu(p[3 * idx]), num = fdt32_to_cpu(p[3 * idx + 1]);
    return type == 1 ? (int)(16 + num) : (int)(32 + num);
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
    if (node >= 0 && node_reg(fdt, node, 0, &base, &size)) {
        guest.uart = (uintptr_t)base;
    }
}

/* The interrupt of the PL011 at guest.uart. */
static void find_uart_intid(const void *fdt)
{
    int node = fdt_node_offset_by_compatible(fdt, -1, "arm,pl011");

    while (node >= 0) {
        uint64_t base, size;
        if (node_reg(fdt, node, 0, &base, &size) && base == guest.uart) {
            int v = node_intid(fdt, node, 0);
            if (v > 0) {
                guest.uart_intid = (unsigned)v;
            }
            return;
        }
        node = fdt_node_offset_by_compatible(fdt, node, "arm,pl011");
    }
}

static void find_memory(const void *fdt)
{
    int node = fdt_node_offset_by_prop_value(fdt, -1, "device_type", "memory", sizeof("memory"));
    uint64_t base, size;

    if (node < 0) { /* device_type is required, but a node named memory@... says enough */
        int child;
        fdt_for_each_subnode(child, fdt, 0)
        {
            if (strncmp(fdt_get_name(fdt, child, NULL), "memory", 6) == 0) {
                node = child;
                break;
            }
        }
    }

    if (node >= 0 && node_reg(fdt, node, 0, &base, &size)) {
        guest.ram_base = base;
        guest.ram_size = size;
    }
}

static void find_psci(const void *fdt)
{
    static const char *const compat[] = {"arm,psci-1.0", "arm,psci-0.2", "arm,psci"};
    int node = fdt_path_offset(fdt, "/psci");

    if (node < 0) {
        node = first_compatible(fdt, compat, ARRAY_SIZE(compat));
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
    fdt_for_each_subnode(node, fdt, cpus)
    {
        const char *type = fdt_getprop(fdt, node, "device_type", NULL);
        if (type && strcmp(type, "cpu") == 0) {
            uint64_t mpidr, unused;
            if (n < GUEST_MAX_CPUS && node_reg(fdt, node, 0, &mpidr, &unused)) {
                guest.cpu_mpidr[n] = mpidr;
            }
            n++;
        }
    }
    if (n) {
        guest.nr_cpus = n;
    }
}

/* GICD and GICR (v3) or GICC (v2): the node's first two reg pairs. */
static void find_gic(const void *fdt)
{
    static const char *const v2_compat[] = {"arm,cortex-a15-gic", "arm,gic-400",
                                            "arm,cortex-a9-gic", "arm,cortex-a7-gic"};
    uint64_t dist, dist_size, base, size;
    unsigned version = 3;
    int node = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3");

    if (node < 0) {
        version = 2;
        node = first_compatible(fdt, v2_compat, ARRAY_SIZE(v2_compat));
    }
    if (node < 0 || !node_reg(fdt, node, 0, &dist, &dist_size) ||
        !node_reg(fdt, node, 1, &base, &size)) {
        return;
    }
    gic.version = version;
    gic.gicd = (uintptr_t)dist;
    if (version == 3) {
        gic.gicr_base = (uintptr_t)base;
        gic.gicr_size = size;
    } else {
        gic.gicc = (uintptr_t)base;
    }
}

/* The timers' PPIs: secure physical, non-secure physical, virtual, hypervisor. */
static void find_timer_intids(const void *fdt)
{
    int node = fdt_node_offset_by_compatible(fdt, -1, "arm,armv8-timer");
    int v;

    if (node >= 0 && (v = node_intid(fdt, node, 1)) > 0) {
        guest.ptimer_intid = (unsigned)v;
    }
    if (node >= 0 && (v = node_intid(fdt, node, 2)) > 0) {
        guest.vtimer_intid = (unsigned)v;
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
    find_uart_intid(dtb);
    find_memory(dtb);
    find_psci(dtb);
    count_cpus(dtb);
    find_gic(dtb);
    find_timer_intids(dtb);
    int chosen = fdt_path_offset(dtb, "/chosen");
    if (chosen >= 0) {
        const char *args = fdt_getprop(dtb, chosen, "bootargs", NULL);
        if (args) {
            guest.bootargs = args;
        }
    }
}
