/*
 * The small device-tree readers every config/ parser shares (include/bulkhead/fdt_read.h): typed
 * properties, module regs, and reg ranges translated through their buses' `ranges`. Whatever is
 * malformed is reported naming its node.
 */
#include "bulkhead/fdt_read.h"

#include <libfdt.h>
#include <stdarg.h>

#include "bulkhead/printk.h"
#include "bulkhead/string.h"

#define PATH_LEN 128
/* Default cells of a VM node's reg, as Xen's dom0less binding assumes. */
#define VM_NODE_ADDR_CELLS 2
#define VM_NODE_SIZE_CELLS 2

void config_node_path(const void *fdt, int node, char *buf, size_t size)
{
    if (config_get_path(fdt, node, buf, (int)size) < 0) {
        /* Deeper than the buffer: the node's own name still says which one it is. */
        const char *name = config_node_name(fdt, node);
        strlcpy(buf, name ? name : "?", size);
    }
}

void config_node_err(const void *fdt, int node, const char *fmt, ...)
{
    char path[PATH_LEN];
    char msg[192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    config_node_path(fdt, node, path, sizeof(path));
    pr_err("%s: %s\n", path, msg);
}

int config_path_offset(const void *fdt, const char *path, int len)
{
    if (len <= 0) {
        return -FDT_ERR_BADPATH;
    }
    if (path[0] != '/') {
        /* libfdt follows an alias whose value is not a full path as an alias again: one that
         * names itself would recurse until the stack ran out. The specification wants a full
         * path there; anything else names no node. */
        const char *slash = memchr(path, '/', (size_t)len);
        int name_len = slash ? (int)(slash - path) : len;
        int aliases = config_node_offset(fdt, "/aliases");
        int target_len = 0;
        const char *target =
            aliases >= 0 ? fdt_getprop_namelen(fdt, aliases, path, name_len, &target_len) : NULL;
        if (!target || target_len < 2 || target[0] != '/' || target[target_len - 1] != '\0') {
            return -FDT_ERR_BADPATH;
        }
    }
    return config_full_path_offset(fdt, path, len);
}

int config_chosen(const void *fdt)
{
    return config_node_offset(fdt, "/chosen");
}

const char *config_get_string(const void *fdt, int node, const char *prop)
{
    int len;
    const char *s = config_getprop(fdt, node, prop, &len);

    if (!s) {
        return NULL;
    }
    if (len <= 0 || s[len - 1] != '\0') {
        config_node_err(fdt, node, "%s is not a string", prop);
        return NULL;
    }
    return s;
}

bool config_is_compatible(const void *fdt, int node, const char *compat)
{
    int len;
    const char *list = config_getprop(fdt, node, "compatible", &len);

    return list && fdt_stringlist_contains(list, len, compat);
}

bool config_node_enabled(const void *fdt, int node)
{
    int len;
    const char *status = config_getprop(fdt, node, "status", &len);

    if (!status) {
        return true;
    }
    return (len == 5 && memcmp(status, "okay", 5) == 0) ||
           (len == 3 && memcmp(status, "ok", 3) == 0);
}

/* A number of 0, 1 or 2 big-endian cells. */
uint64_t config_read_cells(const fdt32_t *p, int cells)
{
    uint64_t v = 0;

    for (int i = 0; i < cells; i++) {
        v = (v << 32) | fdt32_ld(&p[i]);
    }
    return v;
}

int config_read_u64(const void *fdt, int node, const char *prop, uint64_t *val)
{
    int len;
    const fdt32_t *p = config_getprop(fdt, node, prop, &len);

    if (!p) {
        return 0;
    }
    if (len != 4 && len != 8) {
        config_node_err(fdt, node, "%s must be 1 or 2 cells, not %d bytes", prop, len);
        return -1;
    }
    *val = config_read_cells(p, len / 4);
    return 1;
}

int config_read_u32(const void *fdt, int node, const char *prop, uint32_t *val)
{
    int len;
    const fdt32_t *p = config_getprop(fdt, node, prop, &len);

    if (!p) {
        return 0;
    }
    if (len != 4) {
        config_node_err(fdt, node, "%s must be 1 cell, not %d bytes", prop, len);
        return -1;
    }
    *val = fdt32_ld(p);
    return 1;
}

int config_read_pairs(const void *fdt, int node, const char *prop, int addr_cells, int size_cells,
                      struct mem_range *out, unsigned max)
{
    int len;
    const fdt32_t *p = config_getprop(fdt, node, prop, &len);

    if (!p) {
        return 0;
    }
    if (addr_cells < 0 || addr_cells > 2 || size_cells < 0 || size_cells > 2) {
        config_node_err(fdt, node, "%s: %d address and %d size cells are not supported", prop,
                        addr_cells, size_cells);
        return -1;
    }
    int entry = (addr_cells + size_cells) * 4;
    if (entry == 0 || len == 0 || len % entry != 0) {
        config_node_err(fdt, node,
                        "%s is %d bytes, not a multiple of %d (%d address + %d size "
                        "cells)",
                        prop, len, entry, addr_cells, size_cells);
        return -1;
    }
    unsigned n = (unsigned)(len / entry);
    for (unsigned i = 0; i < n && i < max; i++) {
        const fdt32_t *e = p + i * (unsigned)(addr_cells + size_cells);
        out[i].base = config_read_cells(e, addr_cells);
        out[i].size = config_read_cells(e + addr_cells, size_cells);
    }
    return (int)n;
}

/* #address-cells or #size-cells of node itself; dflt if absent; -1 if malformed (reported). */
int config_own_cells(const void *fdt, int node, const char *name, int dflt)
{
    uint32_t v;
    int r = config_read_u32(fdt, node, name, &v);

    if (r < 0) {
        return -1;
    }
    if (r == 0) {
        return dflt;
    }
    if (v > 2) {
        config_node_err(fdt, node, "%s = %u is not supported (at most 2)", name, v);
        return -1;
    }
    return (int)v;
}

/* As config_own_cells, but a node without the property takes its nearest ancestor's. */
static int inherited_cells(const void *fdt, int node, const char *name, int dflt)
{
    for (int n = node; n >= 0; n = config_parent(fdt, n)) {
        if (config_getprop(fdt, n, name, NULL)) {
            return config_own_cells(fdt, n, name, dflt);
        }
        if (n == 0) {
            break;
        }
    }
    return dflt;
}

bool config_is_module(const void *fdt, int node)
{
    int len;
    const char *list = config_getprop(fdt, node, "compatible", &len);

    for (int i = 0; list && i < len;) {
        const char *s = list + i;
        size_t n = strnlen(s, (size_t)(len - i));
        if ((n >= 10 && memcmp(s, "multiboot,", 10) == 0) ||
            (n == 20 && memcmp(s, "xen,multiboot-module", 20) == 0)) {
            return true;
        }
        i += (int)n + 1;
    }
    return false;
}

int config_module_reg(const void *fdt, int module, struct vm_module *out)
{
    int parent = config_parent(fdt, module);
    int ac, sc;
    struct mem_range r;

    if (parent < 0) {
        return -1;
    }
    if (config_is_compatible(fdt, parent, "bulkhead,vm") ||
        config_is_compatible(fdt, parent, "xen,domain")) {
        ac = config_own_cells(fdt, parent, "#address-cells", VM_NODE_ADDR_CELLS);
        sc = config_own_cells(fdt, parent, "#size-cells", VM_NODE_SIZE_CELLS);
    } else {
        ac = inherited_cells(fdt, parent, "#address-cells", DT_DEFAULT_ADDR_CELLS);
        sc = inherited_cells(fdt, parent, "#size-cells", DT_DEFAULT_SIZE_CELLS);
    }
    if (ac < 0 || sc < 0) {
        return -1;
    }
    int n = config_read_pairs(fdt, module, "reg", ac, sc, &r, 1);
    if (n <= 0) {
        return n;
    }
    if (n != 1) {
        config_node_err(fdt, module, "reg has %d entries, a module has one", n);
        return -1;
    }
    if (r.size && r.size - 1 > UINT64_MAX - r.base) {
        config_node_err(fdt, module, "reg 0x%lx+0x%lx wraps around", r.base, r.size);
        return -1;
    }
    out->base = r.base;
    out->size = r.size;
    return 1;
}

/* ---- Address translation ---- */

/* Applies one bus's `ranges` to addr. 0, or -1 (reported) when addr is outside every range. */
static int apply_ranges(const void *fdt, int bus, int bus_parent, uint64_t *addr)
{
    int len;
    const fdt32_t *r = config_getprop(fdt, bus, "ranges", &len);

    if (!r || len == 0) {
        /* Empty ranges is an identity map; none at all is treated alike, as sloppy trees
         * that omit it on simple buses still mean it. */
        return 0;
    }
    int cac = config_own_cells(fdt, bus, "#address-cells", DT_DEFAULT_ADDR_CELLS);
    int csc = config_own_cells(fdt, bus, "#size-cells", DT_DEFAULT_SIZE_CELLS);
    int pac = config_own_cells(fdt, bus_parent, "#address-cells", DT_DEFAULT_ADDR_CELLS);
    if (cac < 0 || csc < 0 || pac < 0) {
        return -1;
    }
    int entry = cac + pac + csc;
    if (len % (entry * 4) != 0) {
        config_node_err(fdt, bus, "ranges is %d bytes, not a multiple of %d cells", len, entry);
        return -1;
    }
    for (int i = 0; i < len / 4; i += entry) {
        uint64_t child = config_read_cells(r + i, cac);
        uint64_t parent = config_read_cells(r + i + cac, pac);
        uint64_t size = config_read_cells(r + i + cac + pac, csc);
        if (*addr >= child && *addr - child < size) {
            *addr = *addr - child + parent;
            return 0;
        }
    }
    config_node_err(fdt, bus, "address 0x%lx is outside its ranges", *addr);
    return -1;
}

/* Turns a bus address of node's reg into a CPU physical address, through every ancestor bus. */
static int translate(const void *fdt, int node, uint64_t *addr)
{
    int bus = config_parent(fdt, node);

    while (bus > 0) {
        int parent = config_parent(fdt, bus);
        if (parent < 0 || apply_ranges(fdt, bus, parent, addr) < 0) {
            return -1;
        }
        bus = parent;
    }
    return 0;
}

/*
 * Reads a device node's reg in its parent's cells, translated to physical addresses. Returns the
 * number of entries (only max stored), 0 if there is no reg, -1 if malformed (reported).
 */
int config_read_reg(const void *fdt, int node, struct mem_range *out, unsigned max)
{
    int parent = config_parent(fdt, node);

    if (parent < 0) {
        return -1;
    }
    int ac = config_own_cells(fdt, parent, "#address-cells", DT_DEFAULT_ADDR_CELLS);
    int sc = config_own_cells(fdt, parent, "#size-cells", DT_DEFAULT_SIZE_CELLS);
    if (ac < 0 || sc < 0) {
        return -1;
    }
    int n = config_read_pairs(fdt, node, "reg", ac, sc, out, max);
    for (int i = 0; i < n && (unsigned)i < max; i++) {
        if (out[i].size && out[i].size - 1 > UINT64_MAX - out[i].base) {
            config_node_err(fdt, node, "reg entry %d wraps around the address space", i);
            return -1;
        }
        if (translate(fdt, node, &out[i].base) < 0) {
            return -1;
        }
    }
    return n;
}

/* Reads interrupt specifier `index` of a 3-cell GIC `interrupts`. -1 if malformed (reported). */
int config_read_irq(const void *fdt, int node, int index, uint32_t *type, uint32_t *num)
{
    int len;
    const fdt32_t *p = config_getprop(fdt, node, "interrupts", &len);

    if (!p) {
        config_node_err(fdt, node, "no interrupts");
        return -1;
    }
    if (len % (INTR_CELLS * 4) != 0 || len / (INTR_CELLS * 4) <= index) {
        config_node_err(fdt, node, "interrupts is %d bytes: no 3-cell specifier %d", len, index);
        return -1;
    }
    *type = fdt32_ld(&p[index * INTR_CELLS]);
    *num = fdt32_ld(&p[index * INTR_CELLS + 1]);
    return 0;
}
