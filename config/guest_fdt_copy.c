/*
 * The passed-through devices in a VM's device tree: their host nodes copied (ours), or the
 * partial tree's nodes (Xen's), with what the guest cannot use taken out.
 *
 * Our binding copies each device's host node to the guest's root, its reg rewritten as the VM
 * sees it (root cells 2/2, translated through the host's buses, moved by an IPA override), its
 * interrupt parent the guest's GIC, and the nodes it references that have no hardware of their
 * own (fixed clocks and regulators) beside it. A reference to hardware the VM does not get (a
 * clock controller, an IOMMU, a DMA engine, a reset controller) cannot work in the VM: that
 * property is left out and the user told. Phandles are kept, so references between passed
 * devices (gpio-keys to its GPIO controller) still hold.
 */
#include <libfdt.h>

#include "bulkhead/fdt_read.h"
#include "bulkhead/guest_fdt.h"
#include "bulkhead/passthrough.h"
#include "bulkhead/pcie.h"
#include "bulkhead/printk.h"
#include "fdt_writer.h"

#define MAX_REFS 8
#define MAX_DEPTH 6

struct copy {
    struct writer *w;
    const void *fdt; /* the tree copied from */
    const struct board *board;
    const struct vm_config *vm;
    uint32_t gic_phandle;
    uint32_t reserved_phandles[2];
    const char *const *root_names; /* names already at the guest's root */
    unsigned nr_root_names;
    int refs[MAX_REFS]; /* host nodes referenced, to copy after the devices */
    unsigned nr_refs;
};

static bool streq(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && streq(s + n - k, suffix);
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* References to hardware a VM never gets from us: an IOMMU, MSI controllers, power domains,
 * resets, pin control, DMA engines and PHYs. */
static bool dropped_property(const char *name)
{
    static const char *const names[] = {
        "iommus",       "iommu-map",     "iommu-map-mask", "msi-parent",   "msi-map",
        "msi-map-mask", "power-domains", "resets",         "reset-names",  "dmas",
        "dma-names",    "phys",          "phy-names",      "linux,phandle"};

    for (unsigned i = 0; i < ARRAY_SIZE(names); i++) {
        if (streq(name, names[i])) {
            return true;
        }
    }
    return starts_with(name, "pinctrl-") || streq(name, "pinctrl-names");
}

static bool is_passed(const struct copy *c, int node)
{
    for (unsigned i = 0; i < c->vm->pt.nr_devs; i++) {
        if (c->vm->pt.devs[i].node == node) {
            return true;
        }
    }
    return false;
}

/* A node with no hardware of its own: no reg, no interrupts (a fixed clock or regulator). */
static bool is_copyable(const void *fdt, int node)
{
    return !fdt_getprop(fdt, node, "reg", NULL) && !fdt_getprop(fdt, node, "interrupts", NULL);
}

/* Can the guest follow phandle ph? Passed devices can be; hardware-free providers are copied. */
static bool resolvable(struct copy *c, uint32_t ph)
{
    int node = fdt_node_offset_by_phandle(c->fdt, ph);

    if (node < 0) {
        return false;
    }
    if (is_passed(c, node)) {
        return true;
    }
    if (!is_copyable(c->fdt, node)) {
        return false;
    }
    for (unsigned i = 0; i < c->nr_refs; i++) {
        if (c->refs[i] == node) {
            return true;
        }
    }
    if (c->nr_refs == MAX_REFS) {
        return false;
    }
    c->refs[c->nr_refs++] = node;
    return true;
}

/* A list of <phandle args...> where each provider says how many args with cells_name (NULL:
 * none). True if every provider can be followed in the guest. A provider's count comes from the
 * host tree like the list: one that runs past the list's end makes the list unresolvable. */
static bool references_resolve(struct copy *c, const fdt32_t *p, int len, const char *cells_name)
{
    int n = len / 4;

    for (int i = 0; i < n;) {
        uint32_t ph = fdt32_ld(&p[i]);
        int provider = fdt_node_offset_by_phandle(c->fdt, ph);
        uint32_t args = 0;
        if (provider < 0 || !resolvable(c, ph)) {
            return false;
        }
        if (cells_name) {
            int cells_len;
            const fdt32_t *cells = fdt_getprop(c->fdt, provider, cells_name, &cells_len);
            args = cells && cells_len >= 4 ? fdt32_ld(cells) : 0;
        }
        if (args > (uint32_t)(n - i - 1)) {
            return false;
        }
        i += 1 + (int)args;
    }
    return true;
}

/* The provider-cells property a phandle list's providers declare, or NULL if it is not one. */
static bool phandle_list(const char *name, const char **cells)
{
    if (streq(name, "clocks")) {
        *cells = "#clock-cells";
    } else if (streq(name, "gpios") || ends_with(name, "-gpios") || ends_with(name, "-gpio")) {
        *cells = "#gpio-cells";
    } else if (ends_with(name, "-supply")) {
        *cells = NULL;
    } else {
        return false;
    }
    return true;
}

static bool clocks_resolve(struct copy *c, int node)
{
    int len;
    const fdt32_t *clocks = fdt_getprop(c->fdt, node, "clocks", &len);

    return clocks && references_resolve(c, clocks, len, "#clock-cells");
}

static void write_reg(struct copy *c, int node, const struct pt_device *dev)
{
    struct mem_range regs[MAX_PROP_CELLS / 4];
    int n = config_read_reg(c->fdt, node, regs, ARRAY_SIZE(regs));
    uint32_t cells[MAX_PROP_CELLS];

    for (int i = 0; i < n && i < (int)ARRAY_SIZE(regs); i++) {
        uint64_t ipa = regs[i].base + dev->ipa_shift;
        cells[i * 4] = (uint32_t)(ipa >> 32);
        cells[i * 4 + 1] = (uint32_t)ipa;
        cells[i * 4 + 2] = (uint32_t)(regs[i].size >> 32);
        cells[i * 4 + 3] = (uint32_t)regs[i].size;
    }
    prop_cells(c->w, "reg", cells, (unsigned)MIN(n, (int)ARRAY_SIZE(regs)) * 4);
}

/* interrupts-extended to the board's GIC becomes plain interrupts under the guest's GIC. */
static void write_extended_irqs(struct copy *c, const fdt32_t *p, int len)
{
    uint32_t cells[MAX_PROP_CELLS];
    unsigned n = 0;

    for (int i = 0; i + 4 <= len / 4 && n + 3 <= MAX_PROP_CELLS; i += 4) {
        cells[n++] = fdt32_ld(&p[i + 1]);
        cells[n++] = fdt32_ld(&p[i + 2]);
        cells[n++] = fdt32_ld(&p[i + 3]);
    }
    prop_cells(c->w, "interrupts", cells, n);
    prop_u32(c->w, "interrupt-parent", c->gic_phandle);
}

/* A PCIe bridge's INTx map, its parent the guest's GIC, which has no address cells. */
static void write_interrupt_map(struct copy *c, int node)
{
    struct pcie_intx intx[PCIE_MAX_INTX];
    fdt32_t cells[PCIE_MAX_INTX * 8];
    unsigned n = 0;
    int m = pcie_read_interrupt_map(c->fdt, node, intx, ARRAY_SIZE(intx));

    for (int i = 0; i < m && i < (int)ARRAY_SIZE(intx); i++) {
        for (unsigned k = 0; k < 4; k++) {
            cells[n++] = cpu_to_fdt32(intx[i].child[k]);
        }
        cells[n++] = cpu_to_fdt32(c->gic_phandle);
        for (unsigned k = 0; k < 3; k++) {
            cells[n++] = cpu_to_fdt32(intx[i].spec[k]);
        }
    }
    prop(c->w, "interrupt-map", cells, (int)(n * sizeof(fdt32_t)));
}

static void note_dropped(const struct copy *c, int node, const char *prop)
{
    char path[PT_PATH_LEN];

    config_node_path(c->fdt, node, path, sizeof(path));
    printk("bulkhead: %s: %s: %s left out of the VM's device tree (it refers to hardware the VM "
           "does not have)\n",
           c->vm->name, path, prop);
}

static bool copy_property(struct copy *c, int node, int offset, const struct pt_device *dev)
{
    const char *name, *cells;
    int len;
    const fdt32_t *val = fdt_getprop_by_offset(c->fdt, offset, &name, &len);

    if (!val) {
        return true;
    }
    if (dev && streq(name, "reg")) {
        write_reg(c, node, dev);
    } else if (streq(name, "interrupts-extended")) {
        write_extended_irqs(c, val, len);
    } else if (dev && streq(name, "interrupt-map") && pcie_is_host_bridge(c->fdt, node)) {
        write_interrupt_map(c, node);
    } else if (streq(name, "interrupt-parent") && len == 4 &&
               pt_is_board_gic(c->fdt, c->board, fdt32_ld(val))) {
        prop_u32(c->w, name, c->gic_phandle);
    } else if (streq(name, "phandle") && len == 4 &&
               (fdt32_ld(val) == c->reserved_phandles[0] ||
                fdt32_ld(val) == c->reserved_phandles[1])) {
        char path[PT_PATH_LEN];
        config_node_path(c->fdt, node, path, sizeof(path));
        pr_err("%s: %s: phandle 0x%x is the VM's own GIC's or clock's\n", c->vm->node, path,
               fdt32_ld(val));
        return false;
    } else if (dropped_property(name)) {
        note_dropped(c, node, name);
    } else if (phandle_list(name, &cells) && !references_resolve(c, val, len, cells)) {
        note_dropped(c, node, name);
    } else if (streq(name, "clock-names") && !clocks_resolve(c, node)) {
        /* Goes with the clocks left out. */
    } else {
        prop(c->w, name, val, len);
    }
    return true;
}

/* Copies node and its subtree under the name given; dev is set for a passed device's own
 * node, whose reg is rewritten. */
static bool copy_node(struct copy *c, int node, const char *name, const struct pt_device *dev,
                      int depth)
{
    int offset, child;

    if (depth > MAX_DEPTH) {
        return true;
    }
    begin(c->w, name);
    fdt_for_each_property_offset(offset, c->fdt, node)
    {
        if (!copy_property(c, node, offset, dev)) {
            return false;
        }
    }
    fdt_for_each_subnode(child, c->fdt, node)
    {
        if (!copy_node(c, child, fdt_get_name(c->fdt, child, NULL), NULL, depth + 1)) {
            return false;
        }
    }
    end(c->w);
    return true;
}

static bool name_in(const char *const *names, unsigned n, const char *name)
{
    for (unsigned i = 0; i < n; i++) {
        if (streq(names[i], name)) {
            return true;
        }
    }
    return false;
}

static bool root_name_taken(const struct copy *c, const char *name)
{
    return name_in(c->root_names, c->nr_root_names, name);
}

/* The guest's name for a copied host node: its own, with the unit address moved with it. */
static void guest_name(const struct copy *c, int node, const struct pt_device *dev, char *buf,
                       size_t size)
{
    const char *name = fdt_get_name(c->fdt, node, NULL);
    const char *at = strchr(name, '@');
    struct mem_range reg;

    if (dev && dev->ipa_shift && at && config_read_reg(c->fdt, node, &reg, 1) >= 1) {
        /* The node's name with the unit address it has in the VM (no "%.*s" in our printf). */
        size_t n = MIN((size_t)(at - name) + 1, size);
        strlcpy(buf, name, n);
        snprintf(buf + strlen(buf), size - strlen(buf), "@%lx", reg.base + dev->ipa_shift);
    } else {
        strlcpy(buf, name, size);
    }
    if (root_name_taken(c, buf)) {
        /* One of the VM's own nodes has it (its clock, say): keep both, under two names. */
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, "-host");
    }
}

/* Does the subtree of node use GPIO lines (gpios, *-gpios), all of passed devices? *found is
 * set when it uses any. */
static bool gpio_users_of_passed(const struct copy *c, int node, int depth, bool *found)
{
    int offset, child;

    fdt_for_each_property_offset(offset, c->fdt, node)
    {
        const char *name;
        int len;
        const fdt32_t *val = fdt_getprop_by_offset(c->fdt, offset, &name, &len);
        if (!val || !(streq(name, "gpios") || ends_with(name, "-gpios")) || len < 4) {
            continue;
        }
        /* The first cell is the controller; one controller per property is the common case. */
        int provider = fdt_node_offset_by_phandle(c->fdt, fdt32_ld(val));
        if (provider < 0 || !is_passed(c, provider)) {
            return false;
        }
        *found = true;
    }
    fdt_for_each_subnode(child, c->fdt, node)
    {
        if (depth >= 2 || !gpio_users_of_passed(c, child, depth + 1, found)) {
            return false;
        }
    }
    return true;
}

/* Host nodes with no hardware of their own that only use GPIO lines of passed devices (QEMU's
 * /gpio-keys, whose power key is a line of the PL061) go with those devices: a VM given the
 * GPIO controller gets what is wired to it. */
static bool copy_gpio_users(struct copy *c)
{
    int node;

    fdt_for_each_subnode(node, c->fdt, 0)
    {
        bool found = false;
        const char *name = fdt_get_name(c->fdt, node, NULL);
        if (is_passed(c, node) || !is_copyable(c->fdt, node) ||
            !config_node_enabled(c->fdt, node) || root_name_taken(c, name) ||
            !gpio_users_of_passed(c, node, 0, &found) || !found) {
            continue;
        }
        if (!copy_node(c, node, name, NULL, 0)) {
            return false;
        }
    }
    return true;
}

static bool copy_ours(struct copy *c)
{
    const struct vm_passthrough *pt = &c->vm->pt;

    for (unsigned i = 0; i < pt->nr_devs; i++) {
        char name[PT_PATH_LEN];
        guest_name(c, pt->devs[i].node, &pt->devs[i], name, sizeof(name));
        if (!copy_node(c, pt->devs[i].node, name, &pt->devs[i], 0)) {
            return false;
        }
    }
    /* The hardware-free providers they reference; their own references are not followed. */
    for (unsigned i = 0; i < c->nr_refs; i++) {
        char name[PT_PATH_LEN];
        guest_name(c, c->refs[i], NULL, name, sizeof(name));
        if (!copy_node(c, c->refs[i], name, NULL, 0)) {
            return false;
        }
    }
    return copy_gpio_users(c);
}

/* Xen's partial tree: its top-level nodes, /passthrough first among them, without Xen's own
 * properties; /gic (only a phandle), /aliases (merged by guest_fdt_write_aliases) and /chosen
 * stay out. */
static void copy_partial_node(struct copy *c, int node, int depth)
{
    int offset, child;

    if (depth > MAX_DEPTH) {
        return;
    }
    begin(c->w, fdt_get_name(c->fdt, node, NULL));
    fdt_for_each_property_offset(offset, c->fdt, node)
    {
        const char *name;
        int len;
        const void *val = fdt_getprop_by_offset(c->fdt, offset, &name, &len);
        if (val && !starts_with(name, "xen,")) {
            prop(c->w, name, val, len);
        }
    }
    fdt_for_each_subnode(child, c->fdt, node)
    {
        copy_partial_node(c, child, depth + 1);
    }
    end(c->w);
}

static bool copy_partial(struct copy *c)
{
    int node;

    fdt_for_each_subnode(node, c->fdt, 0)
    {
        const char *name = fdt_get_name(c->fdt, node, NULL);
        if (streq(name, "gic") || streq(name, "aliases") || streq(name, "chosen") ||
            starts_with(name, "__")) {
            continue;
        }
        if (root_name_taken(c, name)) {
            pr_err("%s: the partial device tree's /%s clashes with the VM's own\n", c->vm->node,
                   name);
            return false;
        }
        copy_partial_node(c, node, 0);
    }
    return true;
}

int guest_fdt_write_passthrough(struct writer *w, const void *host, const struct board *board,
                                const struct vm_config *vm, uint32_t gic_phandle,
                                uint32_t clock_phandle, const char *const *root_names,
                                unsigned nr_root_names)
{
    struct copy c = {
        .w = w,
        .fdt = vm->pt.partial_fdt ? (const void *)(uintptr_t)vm->pt.partial_fdt : host,
        .board = board,
        .vm = vm,
        .gic_phandle = gic_phandle,
        .reserved_phandles = {gic_phandle, clock_phandle},
        .root_names = root_names,
        .nr_root_names = nr_root_names,
    };

    /* Most VMs pass nothing through: not a walk of the host tree for them. */
    if (!vm->pt.nr_devs && !vm->pt.partial_fdt) {
        return 0;
    }
    if (!c.fdt) {
        return -1;
    }
    if (vm->pt.partial_fdt) {
        return copy_partial(&c) ? 0 : -1;
    }
    return copy_ours(&c) ? 0 : -1;
}

/* Host aliases of passed devices (serial1 for a second UART) keep their number in the VM. The
 * root names are the VM's own nodes', for the same guest names as the copies got. */
static void alias_host_devices(struct writer *w, const void *host, const struct vm_config *vm,
                               const char *const *taken, unsigned nr_taken,
                               const char *const *root_names, unsigned nr_root_names)
{
    const struct copy c = {
        .fdt = host, .vm = vm, .root_names = root_names, .nr_root_names = nr_root_names};

    int aliases = fdt_path_offset(host, "/aliases"), offset;

    if (aliases < 0) {
        return;
    }
    fdt_for_each_property_offset(offset, host, aliases)
    {
        const char *name;
        int len;
        const char *path = fdt_getprop_by_offset(host, offset, &name, &len);
        int node = path && len > 0 && path[len - 1] == '\0'
                       ? config_path_offset(host, path, (int)strlen(path))
                       : -1;
        bool clash = name_in(taken, nr_taken, name);
        for (unsigned i = 0; node >= 0 && !clash && i < vm->pt.nr_devs; i++) {
            const struct pt_device *dev = &vm->pt.devs[i];
            if (dev->node == node && fdt_parent_offset(host, node) >= 0) {
                char guest_path[PT_PATH_LEN + 1];
                char nm[PT_PATH_LEN];
                guest_name(&c, node, dev, nm, sizeof(nm));
                snprintf(guest_path, sizeof(guest_path), "/%s", nm);
                prop_string(w, name, guest_path);
            }
        }
    }
}

/* The partial tree's /aliases, as Xen merges them. */
static void alias_partial(struct writer *w, const void *pfdt, const char *const *taken,
                          unsigned nr_taken)
{
    int aliases = fdt_path_offset(pfdt, "/aliases"), offset;

    if (aliases < 0) {
        return;
    }
    fdt_for_each_property_offset(offset, pfdt, aliases)
    {
        const char *name;
        int len;
        const void *val = fdt_getprop_by_offset(pfdt, offset, &name, &len);
        if (val && !name_in(taken, nr_taken, name)) {
            prop(w, name, val, len);
        }
    }
}

void guest_fdt_write_aliases(struct writer *w, const void *host, const struct vm_config *vm,
                             const char *const *taken, unsigned nr_taken,
                             const char *const *root_names, unsigned nr_root_names)
{
    if (vm->pt.partial_fdt) {
        alias_partial(w, (const void *)(uintptr_t)vm->pt.partial_fdt, taken, nr_taken);
    } else if (host && vm->pt.nr_devs) {
        alias_host_devices(w, host, vm, taken, nr_taken, root_names, nr_root_names);
    }
}

bool guest_fdt_has_aliases(const void *host, const struct vm_config *vm)
{
    if (vm->pt.partial_fdt) {
        return fdt_path_offset((const void *)(uintptr_t)vm->pt.partial_fdt, "/aliases") >= 0;
    }
    return host && vm->pt.nr_devs && fdt_path_offset(host, "/aliases") >= 0;
}
