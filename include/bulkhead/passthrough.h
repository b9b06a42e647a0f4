/*
 * Host devices given to VMs, as the configuration describes them (config/passthrough.c). Pure C,
 * host-tested. What a VM gets ends up in its struct vm_config's pt; the hypervisor maps the
 * windows, links the SPIs (vdev/passthrough.c) and copies the nodes into the VM's device tree
 * (config/guest_fdt_copy.c).
 */
#ifndef BULKHEAD_PASSTHROUGH_H
#define BULKHEAD_PASSTHROUGH_H

#include "config.h"

/* The highest INTID a VM's GIC has (see VGIC_MAX_IRQS). */
#define PT_MAX_INTID 255
/* The phandle of a VM's GIC, Xen's (GUEST_PHANDLE_GIC): partial device trees written for Xen
 * point their interrupt-parent at it. */
#define PT_GUEST_GIC_PHANDLE 65000

/*
 * Reads our binding from VM node vm_node of the host tree: `bulkhead,passthrough` (absolute
 * paths, or phandles), `bulkhead,passthrough-ipa` (one 64-bit IPA per device for its first reg
 * window) and `direct-map`. Every window is rounded out to whole pages and must miss RAM, the
 * GIC and the hypervisor's console, as host and as VM address; every interrupt must be an SPI of
 * the board's GIC, and not the console's. Returns false after printing why (VM node, device).
 */
bool pt_parse(const void *fdt, int vm_node, const struct board *board, struct vm_config *vm);

/*
 * Xen's binding: the partial device tree pfdt (a multiboot,device-tree module of size bytes)
 * whose /passthrough nodes carry `xen,reg = <paddr size gaddr>` (page-aligned) and `xen,path`
 * (a node of the host tree host), and `interrupts` for the GIC (interrupt-parent: the guest GIC,
 * 65000 or the partial tree's /gic phandle). Same checks as pt_parse.
 */
bool pt_parse_partial(const void *pfdt, uint64_t size, const void *host, const struct board *board,
                      struct vm_config *vm);

/* Is phandle, in fdt, the board's GIC (the node whose first reg is its distributor)? */
bool pt_is_board_gic(const void *fdt, const struct board *board, uint32_t phandle);

/* The phandle the partial tree gives the guest's GIC: its /gic node's, else 65000. */
uint32_t pt_partial_gic_phandle(const void *pfdt);

/* A window or SPI of vm that other (a VM kept before it) already has: false after naming both
 * VM nodes and both devices. */
bool pt_check_claims(const struct vm_config *vm, const struct vm_config *other);

/* Tells the user about devices that can do DMA in a VM without direct-map (no IOMMU yet). */
void pt_warn_dma(const struct vm_config *vm);

#endif
