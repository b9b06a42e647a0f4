/*
 * PCIe host bridges and the board's SMMUv3, read from the host device tree (config/pcie.c). Pure
 * C, host-tested. A bridge passed to a VM brings its ECAM (reg), the windows of its `ranges`, the
 * SPIs of its `interrupt-map` (INTx) and, behind the SMMU, its stream IDs (`iommu-map`).
 */
#ifndef BULKHEAD_PCIE_H
#define BULKHEAD_PCIE_H

#include "config.h"

#define PCIE_MAX_WINDOWS 4
#define PCIE_MAX_INTX 32

/* Finds the board's enabled arm,smmu-v3 into board->smmu (left zeroed if none), with the top
 * of the addresses of the devices behind it. */
void board_find_smmu(const void *fdt, struct board *board);

/* Is node a PCI host bridge (device_type "pci")? */
bool pcie_is_host_bridge(const void *fdt, int node);

/* The host windows of the bridge's ranges (memory and I/O space as the CPU reaches them), up to
 * max. Returns how many, or -1 if malformed (reported). */
int pcie_read_windows(const void *fdt, int node, struct mem_range *out, unsigned max);

/* One interrupt-map entry: the child's unit address and pin (4 cells), the parent's phandle
 * and its specifier (3 cells, a GIC's). */
struct pcie_intx {
    uint32_t child[4];
    uint32_t parent;
    uint32_t spec[3];
};
/* The bridge's interrupt-map, up to max entries. Returns how many, or -1 if malformed or a
 * parent is not a 3-cell interrupt controller (reported). */
int pcie_read_interrupt_map(const void *fdt, int node, struct pcie_intx *out, unsigned max);

/* The stream IDs node has at the IOMMU whose phandle is iommu: the span of its iommu-map
 * entries (PCIe) or iommus specifiers (1 cell) that name it. False if none. */
bool pcie_streams(const void *fdt, int node, uint32_t iommu, uint32_t *base, uint32_t *count);

#endif
