/*
 * A VM's virtio devices as its description gives them (config/virtio.c; binding: docs/CONFIG.md,
 * "Virtio devices"): child nodes of the VM node, one per device, each placed by the hypervisor
 * at a free IPA with a free SPI and written into the guest's device tree as a "virtio,mmio"
 * node. Pure C, host-tested. Included by config.h (struct vm_config holds them).
 */
#ifndef BULKHEAD_VIRTIO_CONFIG_H
#define BULKHEAD_VIRTIO_CONFIG_H

#include "types.h"

#define MAX_VM_VIRTIO 8 /* virtio devices of one VM */
/* Each device's register window is a page of its own, the first one this far above the VM's
 * default watchdog frames (the board's RAM's end rounded up to 1 GiB): clear of every VM's RAM
 * and of the boards' device windows below it. */
#define VIRTIO_IPA_OFFSET MiB(1)
#define VIRTIO_IPA_STRIDE KiB(4)
/* Their SPIs are taken from this one down, skipping those the VM has already (the watchdog's
 * start at 91, the doorbells' at 95: they skip these in turn). */
#define VIRTIO_SPI_TOP 87

struct vm_virtio_dev {
    uint8_t kind; /* its virtio device ID: VIRTIO_ID_BLOCK, _CONSOLE, _NET */
    uint64_t ipa; /* its register window (VIRTIO_MMIO_SIZE bytes) */
    uint32_t spi; /* its level SPI (INTID - 32) */
    /* virtio-blk: the boot module its image is in; read-only, or written in the copy at
     * disk_pa (placed by virtio_place, a multiple of 2 MiB) that the VM's resets keep. */
    uint64_t image_base, image_size;
    bool read_only;
    uint64_t disk_pa;
    /* virtio-net: the switch it is a port of and its MAC (config/virtio.c reads them for
     * vdev/virtio_net.c). */
    char net_switch[32];
    uint8_t mac[6];
    bool has_mac;
};

struct vm_virtio {
    struct vm_virtio_dev devs[MAX_VM_VIRTIO];
    unsigned nr;
};

struct board;
struct vm_config;
struct module_limits;
struct ram_pool;

/* The virtio children of VM node vm_node ("bulkhead,virtio-blk", "bulkhead,virtio-console",
 * "bulkhead,virtio-net"), after its passthrough and watchdog: each checked (a disk's module in
 * RAM, clear of the hypervisor and its DTB), placed and given its SPI into vm->virtio. False
 * after a message naming the node. */
bool virtio_parse(const void *fdt, int vm_node, const struct board *board,
                  const struct module_limits *limits, struct vm_config *vm);
/* Sets aside host RAM for each writable disk of vms (from pool, before the VMs' own RAM). A VM
 * whose disk finds no room is reported and gets 0 for its disk_pa: see virtio_vm_ready. */
void virtio_place(struct ram_pool *pool, struct vm_config *vms, unsigned nr_vms);
/* Every writable disk of vm has its memory. */
bool virtio_vm_ready(const struct vm_config *vm);
/* The device model that serves a kind ("bulkhead,virtio-blk"...), NULL for an unknown one. */
const char *virtio_model_compatible(unsigned kind);

#endif
