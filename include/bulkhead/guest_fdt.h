/* Writes a VM's own device tree from its description. Pure C (libfdt), host-tested. */
#ifndef BULKHEAD_GUEST_FDT_H
#define BULKHEAD_GUEST_FDT_H

#include "layout.h"

/*
 * Builds the DTB a VM boots with into buf: /memory (the VM's RAM only), /cpus with one cpu per
 * vCPU (enable-method "psci", reg = vCPU index as MPIDR Aff0), /psci (method "hvc", PSCI 1.0
 * function IDs), the GIC node matching board->gic.version at the board's addresses (v2: GICD +
 * GICV mapped as the guest's GICC; v3: GICD + a redistributor region for nr_vcpus), the timer
 * node with the board's PPIs, the PL011 (with a fixed apb_pclk clock) at the board's UART address,
 * /chosen with bootargs, stdout-path and linux,initrd-start/end when there is an initrd, and
 * the VM's passed-through devices (vm->pt): copied from host, the host DTB, or from the VM's
 * partial device tree (Xen's binding). Nothing else of the host's DT is copied. Returns 0, or -1
 * if buf is too small or a passed device cannot be described (reported).
 */
#define GUEST_FDT_BOOT_COUNT "bulkhead,boot-count"

/* Byte offset in a DTB built by guest_fdt_build() of /chosen/bulkhead,boot-count's big-endian
 * u32 value, so that each restart can write the VM's reset count without libfdt; -1 if absent. */
long guest_fdt_boot_count_at(const void *fdt);
/* The same for any /chosen property of len bytes (e.g. "kaslr-seed", 8). */
long guest_fdt_chosen_prop_at(const void *fdt, const char *name, int len);

int guest_fdt_build(void *buf, size_t size, const struct board *board, const struct vm_config *vm,
                    const struct vm_layout *layout, const void *host);

#endif
