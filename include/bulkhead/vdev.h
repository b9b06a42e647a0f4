/*
 * Device models, chosen by device-tree `compatible` as Xvisor does: each model registers the
 * compatible strings it implements, and a VM's devices are created by name.
 */
#ifndef BULKHEAD_VDEV_H
#define BULKHEAD_VDEV_H

#include "vm.h"

struct vdev_desc {
    const char *compatible;
    ipa_t base;
    uint64_t size;
    uint32_t spi;
};

struct vdev_model {
    const char *compatible;
    /* Creates the device in vm and registers its MMIO region. Returns 0 or -1 (message printed). */
    int (*create)(struct vm *vm, const struct vdev_desc *desc);
};

/* Creates the device model matching desc->compatible. Returns 0, or -1 if none matches or the
 * model refused. */
int vdev_create(struct vm *vm, const struct vdev_desc *desc);

/* A byte typed for vm's console: into its UART's receive FIFO (dropped when full). */
void vdev_uart_input(struct vm *vm, char c);

#endif
