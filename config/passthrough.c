/*
 * Host devices given to a VM (binding: docs/CONFIG.md, "Passing devices through"): which host
 * windows and SPIs a VM gets, read from our `bulkhead,passthrough` property or from Xen's
 * partial device tree, and the checks that keep every window and SPI with one owner and away
 * from what the hypervisor keeps (RAM, the GIC, its console). Pure C, host-tested.
 *
 * Messages name the VM node first and the device second, so that a user with several VMs finds
 * the line; a refused VM is then reported "not started" by the caller.
 */
#include <libfdt.h>

#include "bulkhead/fdt_read.h"
#include "bulkhead/passthrough.h"
#include "bulkhead/pcie.h"
#include "bulkhead/printk.h"
#include "bulkhead/string.h"

#define PT_PAGE 0x1000ULL
#define PT_MAX_REGS_PER_DEV 4
#define PT_MAX_IRQS_PER_DEV 4
#define IRQ_FLAGS_EDGE 0x3 /* IRQ_TYPE_EDGE_RISING | IRQ_TYPE_EDGE_FALLING */

/* ---- what no VM may have ---- */

static bool overlaps(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size)
{
    return a_size && b_size && a < b + b_size && b < a + a_size;
}

/* The window [base, base+size), as host (PA) or VM (IPA) address: not RAM, not the GIC, not the
 * hypervisor's console. */
static bool window_free(const struct board *board, const struct vm_config *vm,
                        const struct pt_device *dev, uint64_t base, uint64_t size,
                        const char *which)
{
    const struct board_gic *gic = &board->gic;
    const struct mem_range *gic_parts[] = {&gic->dist, &gic->cpuif, &gic->hyp, &gic->vcpu,
                                           &gic->redist};

    for (unsigned i = 0; i < board->nr_ram; i++) {
        if (overlaps(base, size, board->ram[i].base, board->ram[i].size)) {
            pr_err("%s: %s: %s 0x%lx+0x%lx overlaps RAM\n", vm->node, dev->path, which, base, size);
            return false;
        }
    }
    for (unsigned i = 0; i < ARRAY_SIZE(gic_parts); i++) {
        if (overlaps(base, size, gic_parts[i]->base, gic_parts[i]->size)) {
            pr_err("%s: %s: %s 0x%lx+0x%lx overlaps the GIC\n", vm->node, dev->path, which, base,
                   size);
            return false;
        }
    }
    if (overlaps(base, size, board->uart.regs.base, board->uart.regs.size)) {
        pr_err("%s: %s: %s 0x%lx+0x%lx is the hypervisor's console (%s)\n", vm->node, dev->path,
               which, base, size, board->uart.path);
        return false;
    }
    if (overlaps(base, size, board->aux_console.regs.base, board->aux_console.regs.size)) {
        pr_err("%s: %s: %s 0x%lx+0x%lx holds the hypervisor's console (%s)\n", vm->node, dev->path,
               which, base, size, board->aux_console.path);
        return false;
    }
    if (overlaps(base, size, board->gdb_uart.regs.base, board->gdb_uart.regs.size)) {
        pr_err("%s: %s: %s 0x%lx+0x%lx is the hypervisor's gdb stub UART (%s, bulkhead.gdb)\n",
               vm->node, dev->path, which, base, size, board->gdb_uart.path);
        return false;
    }
    if (overlaps(base, size, board->smmu.regs.base, board->smmu.regs.size)) {
        pr_err("%s: %s: %s 0x%lx+0x%lx is the hypervisor's SMMU (%s)\n", vm->node, dev->path, which,
               base, size, board->smmu.path);
        return false;
    }
    return true;
}

/* ---- collecting a device's windows and SPIs ---- */

static struct pt_device *new_device(const void *fdt, int node, struct vm_config *vm)
{
    struct vm_passthrough *pt = &vm->pt;

    if (pt->nr_devs == MAX_PT_DEVICES) {
        pr_err("%s: more than %d passed-through devices\n", vm->node, MAX_PT_DEVICES);
        return NULL;
    }
    struct pt_device *dev = &pt->devs[pt->nr_devs++];
    memset(dev, 0, sizeof(*dev));
    config_node_path(fdt, node, dev->path, sizeof(dev->path));
    dev->node = node;
    dev->first_range = (uint8_t)pt->nr_ranges;
    dev->first_irq = (uint8_t)pt->nr_irqs;
    return dev;
}

/* Adds the page-rounded window of [pa, pa+size) at ipa's page. The same page twice in one VM
 * (two small devices sharing it) is kept once. */
static bool add_window(const struct board *board, struct vm_config *vm, struct pt_device *dev,
                       uint64_t pa, uint64_t size, uint64_t ipa)
{
    struct vm_passthrough *pt = &vm->pt;
    uint64_t start = ALIGN_DOWN(pa, PT_PAGE), end = ALIGN_UP(pa + size, PT_PAGE);
    struct pt_range r = {start, ALIGN_DOWN(ipa, PT_PAGE), end - start};

    if (size == 0) {
        return true;
    }
    if (!window_free(board, vm, dev, r.pa, r.size, "reg") ||
        !window_free(board, vm, dev, r.ipa, r.size, "IPA")) {
        return false;
    }
    for (unsigned i = 0; i < pt->nr_ranges; i++) {
        const struct pt_range *o = &pt->ranges[i];
        if (o->pa == r.pa && o->ipa == r.ipa && o->size == r.size) {
            return true;
        }
        if (overlaps(o->ipa, o->size, r.ipa, r.size) || overlaps(o->pa, o->size, r.pa, r.size)) {
            pr_err("%s: %s: reg 0x%lx+0x%lx (IPA 0x%lx) overlaps another passed-through window\n",
                   vm->node, dev->path, r.pa, r.size, r.ipa);
            return false;
        }
    }
    if (pt->nr_ranges == MAX_PT_RANGES) {
        pr_err("%s: %s: more than %d passed-through windows\n", vm->node, dev->path, MAX_PT_RANGES);
        return false;
    }
    pt->ranges[pt->nr_ranges++] = r;
    dev->nr_ranges++;
    return true;
}

static bool add_spi(const struct board *board, struct vm_config *vm, struct pt_device *dev,
                    uint32_t type, uint32_t num, uint32_t flags)
{
    struct vm_passthrough *pt = &vm->pt;
    uint32_t intid = num + 32;

    if (type != INTR_TYPE_SPI) {
        pr_err("%s: %s: interrupt <%u %u> is not an SPI: only SPIs can be passed through\n",
               vm->node, dev->path, type, num);
        return false;
    }
    if (intid > PT_MAX_INTID) {
        pr_err("%s: %s: SPI %u is beyond the %u a VM's GIC has\n", vm->node, dev->path, num,
               PT_MAX_INTID - 31);
        return false;
    }
    if (board->uart.spi && num == board->uart.spi) {
        pr_err("%s: %s: SPI %u is the hypervisor's console's (%s)\n", vm->node, dev->path, num,
               board->uart.path);
        return false;
    }
    if (board->gdb_uart.spi && num == board->gdb_uart.spi) {
        pr_err("%s: %s: SPI %u is the hypervisor's gdb stub UART's (%s, bulkhead.gdb)\n", vm->node,
               dev->path, num, board->gdb_uart.path);
        return false;
    }
    for (unsigned i = 0; i < pt->nr_irqs; i++) {
        if (pt->irqs[i].intid == intid) {
            pr_err("%s: %s: SPI %u is passed twice\n", vm->node, dev->path, num);
            return false;
        }
    }
    if (pt->nr_irqs == MAX_PT_IRQS) {
        pr_err("%s: %s: more than %d passed-through SPIs\n", vm->node, dev->path, MAX_PT_IRQS);
        return false;
    }
    pt->irqs[pt->nr_irqs++] = (struct pt_irq){(uint16_t)intid, (flags & IRQ_FLAGS_EDGE) != 0};
    dev->nr_irqs++;
    return true;
}

/* 3-cell GIC specifiers from p (len bytes). */
static bool add_spis(const struct board *board, struct vm_config *vm, struct pt_device *dev,
                     const fdt32_t *p, int len)
{
    if (len % (INTR_CELLS * 4) != 0) {
        pr_err("%s: %s: interrupts are not 3-cell GIC specifiers\n", vm->node, dev->path);
        return false;
    }
    for (int i = 0; i < len / (INTR_CELLS * 4); i++) {
        const fdt32_t *s = &p[i * INTR_CELLS];
        if (!add_spi(board, vm, dev, fdt32_ld(&s[0]), fdt32_ld(&s[1]), fdt32_ld(&s[2]))) {
            return false;
        }
    }
    return true;
}

/* The phandle of the node's interrupt parent: its own interrupt-parent or its nearest
 * ancestor's. 0 if none. */
static uint32_t interrupt_parent(const void *fdt, int node)
{
    for (; node >= 0; node = fdt_parent_offset(fdt, node)) {
        int len;
        const fdt32_t *p = fdt_getprop(fdt, node, "interrupt-parent", &len);
        if (p && len == 4) {
            return fdt32_ld(p);
        }
    }
    return 0;
}

bool pt_is_board_gic(const void *fdt, const struct board *board, uint32_t phandle)
{
    struct mem_range reg;
    int node = phandle ? fdt_node_offset_by_phandle(fdt, phandle) : -1;

    return node >= 0 && config_read_reg(fdt, node, &reg, 1) >= 1 &&
           reg.base == board->gic.dist.base;
}

/* A host node's interrupts: all to the board's GIC, all SPIs. */
static bool read_host_irqs(const void *fdt, int node, const struct board *board,
                           struct vm_config *vm, struct pt_device *dev)
{
    int len;
    const fdt32_t *p = fdt_getprop(fdt, node, "interrupts-extended", &len);

    if (p) {
        /* <phandle type number flags> each: the GIC's specifiers only. */
        if (len % 16 != 0) {
            pr_err("%s: %s: interrupts-extended is not <&gic type number flags> entries\n",
                   vm->node, dev->path);
            return false;
        }
        for (int i = 0; i < len / 16; i++) {
            const fdt32_t *e = &p[i * 4];
            if (!pt_is_board_gic(fdt, board, fdt32_ld(&e[0]))) {
                pr_err("%s: %s: interrupt %d is not the GIC's: not supported\n", vm->node,
                       dev->path, i);
                return false;
            }
            if (!add_spi(board, vm, dev, fdt32_ld(&e[1]), fdt32_ld(&e[2]), fdt32_ld(&e[3]))) {
                return false;
            }
        }
        return true;
    }
    p = fdt_getprop(fdt, node, "interrupts", &len);
    if (!p) {
        return true;
    }
    if (!pt_is_board_gic(fdt, board, interrupt_parent(fdt, node))) {
        pr_err("%s: %s: its interrupt parent is not the GIC: not supported\n", vm->node, dev->path);
        return false;
    }
    return add_spis(board, vm, dev, p, len);
}

static bool may_do_dma(const void *fdt, int node)
{
    return fdt_getprop(fdt, node, "dma-coherent", NULL) ||
           config_is_compatible(fdt, node, "virtio,mmio");
}

/* A PCIe host bridge's windows (its ranges, at their host addresses) and the SPIs of its
 * interrupt-map (INTx), each once. */
static bool add_bridge(const void *fdt, int node, const struct board *board, struct vm_config *vm,
                       struct pt_device *dev)
{
    struct mem_range windows[PCIE_MAX_WINDOWS];
    struct pcie_intx intx[PCIE_MAX_INTX];

    if (dev->ipa_shift) {
        pr_err("%s: %s: a PCIe bridge stays at its host addresses: no IPA for it\n", vm->node,
               dev->path);
        return false;
    }
    int n = pcie_read_windows(fdt, node, windows, ARRAY_SIZE(windows));
    for (int i = 0; i < n && i < (int)ARRAY_SIZE(windows); i++) {
        if (!add_window(board, vm, dev, windows[i].base, windows[i].size, windows[i].base)) {
            return false;
        }
    }
    int m = pcie_read_interrupt_map(fdt, node, intx, ARRAY_SIZE(intx));
    if (n < 0 || n > (int)ARRAY_SIZE(windows) || m < 0 || m > (int)ARRAY_SIZE(intx)) {
        pr_err("%s: %s: ranges or interrupt-map unreadable or too long\n", vm->node, dev->path);
        return false;
    }
    for (int i = 0; i < m; i++) {
        bool known = false;
        if (!pt_is_board_gic(fdt, board, intx[i].parent)) {
            pr_err("%s: %s: interrupt-map entry %d is not the GIC's: not supported\n", vm->node,
                   dev->path, i);
            return false;
        }
        for (unsigned k = dev->first_irq; k < vm->pt.nr_irqs; k++) {
            known |= vm->pt.irqs[k].intid == intx[i].spec[1] + 32;
        }
        if (!known && !add_spi(board, vm, dev, intx[i].spec[0], intx[i].spec[1], intx[i].spec[2])) {
            return false;
        }
    }
    return true;
}

/* One host node of our binding, moved by ipa_shift (0: at its own addresses). */
static bool add_host_device(const void *fdt, int node, const struct board *board,
                            uint64_t ipa_shift, struct vm_config *vm)
{
    struct mem_range regs[PT_MAX_REGS_PER_DEV];
    struct pt_device *dev = new_device(fdt, node, vm);

    if (!dev) {
        return false;
    }
    dev->ipa_shift = ipa_shift;
    dev->dma = may_do_dma(fdt, node);
    int n = config_read_reg(fdt, node, regs, ARRAY_SIZE(regs));
    if (n < 0 || n > (int)ARRAY_SIZE(regs)) {
        pr_err("%s: %s: reg unreadable or more than %d entries\n", vm->node, dev->path,
               PT_MAX_REGS_PER_DEV);
        return false;
    }
    for (int i = 0; i < n; i++) {
        if (!add_window(board, vm, dev, regs[i].base, regs[i].size, regs[i].base + ipa_shift)) {
            return false;
        }
    }
    if (board->smmu.phandle) {
        pcie_streams(fdt, node, board->smmu.phandle, &dev->sid_base, &dev->nr_sids);
    }
    if (pcie_is_host_bridge(fdt, node)) {
        return add_bridge(fdt, node, board, vm, dev);
    }
    return read_host_irqs(fdt, node, board, vm, dev);
}

/* A string list whose every entry is an absolute path ("/..."): our paths form. */
static bool is_path_list(const char *p, int len)
{
    if (len <= 0 || p[len - 1] != '\0' || p[0] != '/') {
        return false;
    }
    for (int i = 0; i < len; i++) {
        if (p[i] == '\0' && i + 1 < len && p[i + 1] != '/') {
            return false;
        }
    }
    return true;
}

/* The listed node number i: by path or by phandle. Reports one that is not there. */
static int listed_node(const void *fdt, int vm_node, const void *list, bool paths, int i,
                       const struct vm_config *vm)
{
    if (paths) {
        const char *path = fdt_stringlist_get(fdt, vm_node, "bulkhead,passthrough", i, NULL);
        int node = path ? config_path_offset(fdt, path, (int)strlen(path)) : -1;
        if (node < 0) {
            pr_err("%s: passthrough device \"%s\" not found\n", vm->node, path ? path : "?");
        }
        return node;
    }
    uint32_t ph = fdt32_ld((const fdt32_t *)list + i);
    int node = fdt_node_offset_by_phandle(fdt, ph);
    if (node < 0) {
        pr_err("%s: passthrough device <0x%x> not found (no node has that phandle)\n", vm->node,
               ph);
    }
    return node;
}

static bool parse_ours(const void *fdt, int vm_node, const struct board *board,
                       struct vm_config *vm)
{
    int len, ipa_len;
    const void *list = fdt_getprop(fdt, vm_node, "bulkhead,passthrough", &len);
    const fdt32_t *ipas = fdt_getprop(fdt, vm_node, "bulkhead,passthrough-ipa", &ipa_len);

    if (!list) {
        if (ipas) {
            pr_err("%s: bulkhead,passthrough-ipa without bulkhead,passthrough\n", vm->node);
            return false;
        }
        return true;
    }
    bool paths = is_path_list(list, len);
    int count = paths ? fdt_stringlist_count(fdt, vm_node, "bulkhead,passthrough") : len / 4;
    if (!paths && (len == 0 || len % 4 != 0)) {
        pr_err("%s: bulkhead,passthrough is neither a list of paths nor of phandles\n", vm->node);
        return false;
    }
    if (ipas && ipa_len != count * 8) {
        pr_err("%s: bulkhead,passthrough-ipa has %d cells: 2 (one IPA) per device (%d) needed\n",
               vm->node, ipa_len / 4, count);
        return false;
    }
    for (int i = 0; i < count; i++) {
        int node = listed_node(fdt, vm_node, list, paths, i, vm);
        uint64_t shift = 0;
        if (node < 0) {
            return false;
        }
        if (ipas) {
            struct mem_range first;
            uint64_t ipa = config_read_cells(&ipas[i * 2], 2);
            if (config_read_reg(fdt, node, &first, 1) < 1) {
                char path[PT_PATH_LEN];
                config_node_path(fdt, node, path, sizeof(path));
                pr_err("%s: %s: an IPA is given for a device without reg\n", vm->node, path);
                return false;
            }
            if ((ipa ^ first.base) & (PT_PAGE - 1)) {
                char path[PT_PATH_LEN];
                config_node_path(fdt, node, path, sizeof(path));
                pr_err("%s: %s: IPA 0x%lx is not page-aligned like reg 0x%lx\n", vm->node, path,
                       ipa, first.base);
                return false;
            }
            shift = ipa - first.base;
        }
        if (!add_host_device(fdt, node, board, shift, vm)) {
            return false;
        }
    }
    return true;
}

/* ---- Xen's partial device tree ---- */

/* One node of the partial tree's /passthrough that names host resources (xen,reg, xen,path). */
static bool add_xen_device(const void *pfdt, int node, int ac, int sc, const void *host,
                           const struct board *board, uint32_t gic_phandle, struct vm_config *vm)
{
    int len;
    const fdt32_t *xreg = fdt_getprop(pfdt, node, "xen,reg", &len);
    const char *xpath = fdt_getprop(pfdt, node, "xen,path", NULL);
    struct pt_device *dev = new_device(pfdt, node, vm);
    int entry = (2 * ac + sc) * 4;

    if (!dev) {
        return false;
    }
    if (xpath) {
        /* Messages name the host device the user knows. */
        strlcpy(dev->path, xpath, sizeof(dev->path));
        int hnode = config_path_offset(host, xpath, (int)strlen(xpath));
        if (hnode < 0) {
            pr_err("%s: passthrough device \"%s\" (xen,path) not found\n", vm->node, xpath);
            return false;
        }
        dev->dma = may_do_dma(host, hnode);
    }
    dev->dma |= may_do_dma(pfdt, node);
    if (xreg && (ac < 1 || ac > 2 || sc < 1 || sc > 2 || len % entry != 0)) {
        pr_err("%s: %s: xen,reg is not <paddr size gaddr> entries\n", vm->node, dev->path);
        return false;
    }
    for (int i = 0; xreg && i < len / entry; i++) {
        const fdt32_t *e = xreg + i * (2 * ac + sc);
        uint64_t pa = config_read_cells(e, ac), size = config_read_cells(e + ac, sc);
        uint64_t gaddr = config_read_cells(e + ac + sc, ac);
        if (!IS_ALIGNED(pa | size | gaddr, PT_PAGE) || size == 0) {
            pr_err("%s: %s: xen,reg 0x%lx+0x%lx at 0x%lx is not page-aligned\n", vm->node,
                   dev->path, pa, size, gaddr);
            return false;
        }
        if (!add_window(board, vm, dev, pa, size, gaddr)) {
            return false;
        }
    }
    const fdt32_t *irqs = fdt_getprop(pfdt, node, "interrupts", &len);
    uint32_t parent = interrupt_parent(pfdt, node);
    if (irqs && parent && parent != gic_phandle) {
        pr_err("%s: %s: interrupt-parent is not the guest GIC (<0x%x>)\n", vm->node, dev->path,
               gic_phandle);
        return false;
    }
    return !irqs || add_spis(board, vm, dev, irqs, len);
}

uint32_t pt_partial_gic_phandle(const void *pfdt)
{
    int gic = fdt_path_offset(pfdt, "/gic");
    uint32_t ph = gic >= 0 ? fdt_get_phandle(pfdt, gic) : 0;

    return ph ? ph : PT_GUEST_GIC_PHANDLE;
}

bool pt_parse_partial(const void *pfdt, uint64_t size, const void *host, const struct board *board,
                      struct vm_config *vm)
{
    if (fdt_check_header(pfdt) != 0 || fdt_totalsize(pfdt) > size) {
        pr_err("%s: the multiboot,device-tree module is not a device tree of at most 0x%lx "
               "bytes\n",
               vm->node, size);
        return false;
    }
    vm->pt.partial_fdt = (uint64_t)(uintptr_t)pfdt;
    int top = fdt_path_offset(pfdt, "/passthrough");
    if (top < 0) {
        return true;
    }
    uint32_t gic = pt_partial_gic_phandle(pfdt);
    int depth = 0;
    for (int node = fdt_next_node(pfdt, top, &depth); node >= 0 && depth > 0;
         node = fdt_next_node(pfdt, node, &depth)) {
        if (!fdt_getprop(pfdt, node, "xen,reg", NULL) &&
            !fdt_getprop(pfdt, node, "xen,path", NULL)) {
            continue;
        }
        int parent = fdt_parent_offset(pfdt, node);
        int ac = config_own_cells(pfdt, parent, "#address-cells", DT_DEFAULT_ADDR_CELLS);
        int sc = config_own_cells(pfdt, parent, "#size-cells", DT_DEFAULT_SIZE_CELLS);
        if (!add_xen_device(pfdt, node, ac, sc, host, board, gic, vm)) {
            return false;
        }
    }
    return true;
}

bool pt_parse(const void *fdt, int vm_node, const struct board *board, struct vm_config *vm)
{
    vm->direct_map = fdt_getprop(fdt, vm_node, "direct-map", NULL) != NULL;
    return parse_ours(fdt, vm_node, board, vm);
}

void pt_warn_dma(const struct vm_config *vm)
{
    for (unsigned i = 0; i < vm->pt.nr_devs && !vm->direct_map; i++) {
        /* Behind the SMMU, its DMA goes through the VM's stage 2 (drivers/smmuv3.c). */
        if (vm->pt.devs[i].dma && !vm->pt.devs[i].nr_sids) {
            printk("bulkhead: %s: warning: %s can do DMA, and %s has neither direct-map nor an "
                   "IOMMU: the addresses its driver gives the device are not where its RAM is\n",
                   vm->name, vm->pt.devs[i].path, vm->node);
        }
    }
}

/* ---- one owner each ---- */

/* The device that window (or SPI, with irq) number i of pt came from. */
static const struct pt_device *owner_of(const struct vm_passthrough *pt, unsigned i, bool irq)
{
    for (unsigned d = 0; d < pt->nr_devs; d++) {
        const struct pt_device *dev = &pt->devs[d];
        unsigned first = irq ? dev->first_irq : dev->first_range;
        unsigned n = irq ? dev->nr_irqs : dev->nr_ranges;
        if (i >= first && i < first + n) {
            return dev;
        }
    }
    return &pt->devs[0];
}

bool pt_check_claims(const struct vm_config *vm, const struct vm_config *other)
{
    const struct vm_passthrough *a = &vm->pt, *b = &other->pt;

    for (unsigned i = 0; i < a->nr_ranges; i++) {
        for (unsigned j = 0; j < b->nr_ranges; j++) {
            if (overlaps(a->ranges[i].pa, a->ranges[i].size, b->ranges[j].pa, b->ranges[j].size)) {
                pr_err("%s: %s: already passed to %s (%s: reg 0x%lx+0x%lx)\n", vm->node,
                       owner_of(a, i, false)->path, other->node, owner_of(b, j, false)->path,
                       b->ranges[j].pa, b->ranges[j].size);
                return false;
            }
        }
    }
    for (unsigned i = 0; i < a->nr_irqs; i++) {
        for (unsigned j = 0; j < b->nr_irqs; j++) {
            if (a->irqs[i].intid == b->irqs[j].intid) {
                pr_err("%s: %s: already passed to %s (%s: SPI %u)\n", vm->node,
                       owner_of(a, i, true)->path, other->node, owner_of(b, j, true)->path,
                       a->irqs[i].intid - 32u);
                return false;
            }
        }
    }
    return true;
}
