/*
 * PCIe host bridges and the board's SMMUv3 in the host device tree (include/bulkhead/pcie.h).
 * Bindings: Linux's pci/host-generic-pci.yaml (ranges, interrupt-map), pci/pci-iommu.txt
 * (iommu-map) and iommu/arm,smmu-v3.yaml.
 */
#include <libfdt.h>

#include "bulkhead/fdt_read.h"
#include "bulkhead/pcie.h"
#include "bulkhead/printk.h"
#include "bulkhead/string.h"

#define PCI_ADDR_CELLS 3
#define PCI_SIZE_CELLS 2
#define IOMMU_MAP_CELLS 4 /* rid-base, iommu phandle, iommu-base, length */

/* A node's own one-cell property (#address-cells of a PCI bus is 3: beyond config_own_cells). */
static int own_cells(const void *fdt, int node, const char *name, int dflt)
{
    int len;
    const fdt32_t *p = fdt_getprop(fdt, node, name, &len);

    return !p ? dflt : len == 4 ? (int)fdt32_ld(p) : -1;
}

static int smmu_spi(const void *fdt, int node, const char *name)
{
    int index = fdt_stringlist_search(fdt, node, "interrupt-names", name);
    uint32_t type, num;

    if (index < 0 || !fdt_getprop(fdt, node, "interrupts", NULL) ||
        config_read_irq(fdt, node, index, &type, &num) != 0 || type != INTR_TYPE_SPI) {
        return 0;
    }
    return (int)num;
}

/* The end of the highest window of node (reg, and a bridge's ranges). */
static uint64_t node_top(const void *fdt, int node)
{
    struct mem_range r[PCIE_MAX_WINDOWS];
    uint64_t top = 0;
    int n = config_read_reg(fdt, node, r, ARRAY_SIZE(r));

    for (int i = 0; i < n && i < (int)ARRAY_SIZE(r); i++) {
        top = MAX(top, r[i].base + r[i].size - 1);
    }
    n = pcie_is_host_bridge(fdt, node) ? pcie_read_windows(fdt, node, r, ARRAY_SIZE(r)) : 0;
    for (int i = 0; i < n && i < (int)ARRAY_SIZE(r); i++) {
        top = MAX(top, r[i].base + r[i].size - 1);
    }
    return top;
}

void board_find_smmu(const void *fdt, struct board *board)
{
    struct board_smmu *smmu = &board->smmu;
    /* From the tree's index: on a board without an SMMU this costs boot no walk of the tree. */
    int node = config_next_compatible(fdt, -1, "arm,smmu-v3");

    memset(smmu, 0, sizeof(*smmu));
    while (node >= 0 && !config_node_enabled(fdt, node)) {
        node = config_next_compatible(fdt, node, "arm,smmu-v3");
    }
    if (node < 0 || config_read_reg(fdt, node, &smmu->regs, 1) < 1) {
        memset(smmu, 0, sizeof(*smmu));
        return;
    }
    smmu->phandle = fdt_get_phandle(fdt, node);
    smmu->event_spi = (uint32_t)smmu_spi(fdt, node, "eventq");
    smmu->gerror_spi = (uint32_t)smmu_spi(fdt, node, "gerror");
    config_node_path(fdt, node, smmu->path, sizeof(smmu->path));
    int dev;
    config_for_each_child(dev, fdt, 0)
    {
        uint32_t base, count;
        if (smmu->phandle && pcie_streams(fdt, dev, smmu->phandle, &base, &count)) {
            smmu->fronted_top = MAX(smmu->fronted_top, node_top(fdt, dev));
        }
    }
}

bool pcie_is_host_bridge(const void *fdt, int node)
{
    const char *type = fdt_getprop(fdt, node, "device_type", NULL);

    return type && strcmp(type, "pci") == 0;
}

int pcie_read_windows(const void *fdt, int node, struct mem_range *out, unsigned max)
{
    int len;
    const fdt32_t *p = fdt_getprop(fdt, node, "ranges", &len);
    int parent = fdt_parent_offset(fdt, node);
    int pac = parent >= 0 ? config_own_cells(fdt, parent, "#address-cells", 2) : -1;
    int entry = PCI_ADDR_CELLS + pac + PCI_SIZE_CELLS;

    if (!p) {
        return 0;
    }
    if (pac < 1 || pac > 2 || len % (entry * 4) != 0) {
        config_node_err(fdt, node, "ranges is not <pci-address cpu-address size> entries");
        return -1;
    }
    int n = len / (entry * 4);
    for (int i = 0; i < n && i < (int)max; i++) {
        const fdt32_t *e = p + i * entry;
        out[i].base = config_read_cells(e + PCI_ADDR_CELLS, pac);
        out[i].size = config_read_cells(e + PCI_ADDR_CELLS + pac, PCI_SIZE_CELLS);
    }
    return n;
}

/* The interrupt parent's #address-cells (0 if absent, as interrupt-map parsing has it) and its
 * #interrupt-cells, which must be 3. */
static bool intx_parent_cells(const void *fdt, uint32_t phandle, int *addr_cells)
{
    int parent = fdt_node_offset_by_phandle(fdt, phandle);

    if (parent < 0 || own_cells(fdt, parent, "#interrupt-cells", 0) != 3) {
        return false;
    }
    *addr_cells = own_cells(fdt, parent, "#address-cells", 0);
    return *addr_cells >= 0 && *addr_cells <= 3;
}

int pcie_read_interrupt_map(const void *fdt, int node, struct pcie_intx *out, unsigned max)
{
    int len;
    const fdt32_t *p = fdt_getprop(fdt, node, "interrupt-map", &len);
    int ac = own_cells(fdt, node, "#address-cells", PCI_ADDR_CELLS);
    int ic = own_cells(fdt, node, "#interrupt-cells", 1);
    int cells = len / 4, i = 0, n = 0;

    if (!p) {
        return 0;
    }
    if (ac != PCI_ADDR_CELLS || ic != 1) {
        config_node_err(fdt, node,
                        "interrupt-map of a bridge without 3 address and 1 interrupt "
                        "cells: not supported");
        return -1;
    }
    while (i < cells) {
        int pac;
        if (i + 5 > cells || !intx_parent_cells(fdt, fdt32_ld(&p[i + 4]), &pac) ||
            i + 5 + pac + 3 > cells) {
            config_node_err(fdt, node,
                            "interrupt-map entry %d unreadable: its parent must be "
                            "an interrupt controller of 3 cells",
                            n);
            return -1;
        }
        if ((unsigned)n < max) {
            struct pcie_intx *x = &out[n];
            for (int c = 0; c < 4; c++) {
                x->child[c] = fdt32_ld(&p[i + c]);
            }
            x->parent = fdt32_ld(&p[i + 4]);
            for (int c = 0; c < 3; c++) {
                x->spec[c] = fdt32_ld(&p[i + 5 + pac + c]);
            }
        }
        n++;
        i += 5 + pac + 3;
    }
    return n;
}

static void widen(uint32_t *base, uint64_t *end, bool *found, uint32_t b, uint64_t e)
{
    if (!*found || b < *base) {
        *base = b;
    }
    if (!*found || e > *end) {
        *end = e;
    }
    *found = true;
}

bool pcie_streams(const void *fdt, int node, uint32_t iommu, uint32_t *base, uint32_t *count)
{
    int len;
    const fdt32_t *p = fdt_getprop(fdt, node, "iommu-map", &len);
    uint64_t end = 0;
    bool found = false;

    for (int i = 0; p && i + IOMMU_MAP_CELLS <= len / 4; i += IOMMU_MAP_CELLS) {
        uint32_t length = fdt32_ld(&p[i + 3]);
        if (fdt32_ld(&p[i + 1]) == iommu && length) {
            uint32_t b = fdt32_ld(&p[i + 2]);
            widen(base, &end, &found, b, (uint64_t)b + length);
        }
    }
    p = fdt_getprop(fdt, node, "iommus", &len);
    for (int i = 0; p && i + 2 <= len / 4; i += 2) {
        if (fdt32_ld(&p[i]) == iommu) {
            uint32_t sid = fdt32_ld(&p[i + 1]);
            widen(base, &end, &found, sid, (uint64_t)sid + 1);
        }
    }
    if (found) {
        *count = (uint32_t)MIN(end - *base, (uint64_t)UINT32_MAX);
    }
    return found;
}
