/*
 * A VM's virtio devices in its node (docs/CONFIG.md, "Virtio devices"): one child node each,
 * placed by the hypervisor (a page of IPA space above the watchdog's default frames, a free SPI)
 * and served by vdev/ (include/bulkhead/virtio.h). Pure C, host-tested.
 */
#include "bulkhead/virtio.h"
#include "bulkhead/fdt_read.h"
#include "bulkhead/layout.h"
#include "bulkhead/printk.h"
#include "bulkhead/sbsa_gwdt.h"
#include "bulkhead/shmem.h"
#include "bulkhead/string.h"
#include "bulkhead/virtio_net.h"

#include <libfdt.h>

static const struct {
    const char *compatible;
    uint8_t kind;
} kinds[] = {
    {"bulkhead,virtio-blk", VIRTIO_ID_BLOCK},
    {"bulkhead,virtio-console", VIRTIO_ID_CONSOLE},
    {"bulkhead,virtio-net", VIRTIO_ID_NET},
};

const char *virtio_model_compatible(unsigned kind)
{
    for (unsigned i = 0; i < ARRAY_SIZE(kinds); i++) {
        if (kinds[i].kind == kind) {
            return kinds[i].compatible;
        }
    }
    return NULL;
}

static int kind_of(const void *fdt, int node)
{
    for (unsigned i = 0; i < ARRAY_SIZE(kinds); i++) {
        if (config_is_compatible(fdt, node, kinds[i].compatible)) {
            return kinds[i].kind;
        }
    }
    return -1;
}

/* The disk's image is a boot module: in RAM, clear of the hypervisor and its DTB, and reserved
 * by the board's parse (which needs "multiboot,module" to find it). */
static bool read_disk(const void *fdt, int node, const struct board *board,
                      const struct module_limits *limits, struct vm_virtio_dev *d)
{
    struct vm_module m;
    char path[NAME_LEN * 2];

    if (!config_is_compatible(fdt, node, "multiboot,module")) {
        config_node_err(fdt, node,
                        "a virtio-blk disk is a boot module: add \"multiboot,module\" to its "
                        "compatible");
        return false;
    }
    if (config_module_reg(fdt, node, &m) <= 0 || m.size < 512) {
        config_node_err(fdt, node, "a virtio-blk disk needs a reg of at least 512 bytes");
        return false;
    }
    config_node_path(fdt, node, path, sizeof(path));
    if (!layout_module_ok(board, limits, &m) &&
        layout_check_module(board, limits, path, "disk", &m) != 0) {
        return false;
    }
    d->image_base = m.base;
    d->image_size = m.size;
    d->read_only = fdt_getprop(fdt, node, "read-only", NULL) != NULL;
    return true;
}

/* The next page above the VM's devices so far that none of its other windows overlaps. */
static bool place(const void *fdt, int node, const struct board *board, const struct vm_config *vm,
                  struct vm_virtio_dev *d)
{
    struct mem_range dev[6 + MAX_PT_RANGES + MAX_VM_VIRTIO];
    unsigned nr = shm_vm_devices(board, vm, dev, ARRAY_SIZE(dev));
    uint64_t ipa = watchdog_default_ipa(board) + VIRTIO_IPA_OFFSET;

    for (unsigned tries = 0; tries < ARRAY_SIZE(dev) + 1; tries++) {
        bool clear = true;
        for (unsigned i = 0; i < nr && clear; i++) {
            clear = !ranges_overlap(ipa, VIRTIO_IPA_STRIDE, dev[i].base, dev[i].size);
        }
        if (clear) {
            d->ipa = ipa;
            return true;
        }
        ipa += VIRTIO_IPA_STRIDE;
    }
    config_node_err(fdt, node, "no free IPA page for the device");
    return false;
}

static bool pick_spi(const void *fdt, int node, const struct board *board,
                     const struct vm_config *vm, struct vm_virtio_dev *d)
{
    uint32_t spi = VIRTIO_SPI_TOP;

    while (spi > 0 && shm_spi_taken(board, vm, 0, spi)) {
        spi--;
    }
    if (spi == 0) {
        config_node_err(fdt, node, "no free SPI for the device");
        return false;
    }
    d->spi = spi;
    return true;
}

/* The VM's virtio-net devices so far: the number of its next port (for its default MAC). */
static unsigned net_ports(const struct vm_config *vm)
{
    unsigned n = 0;

    for (unsigned i = 0; i < vm->virtio.nr; i++) {
        n += vm->virtio.devs[i].kind == VIRTIO_ID_NET;
    }
    return n;
}

static bool parse_device(const void *fdt, int node, int kind, const struct board *board,
                         const struct module_limits *limits, struct vm_config *vm)
{
    struct vm_virtio_dev *d = &vm->virtio.devs[vm->virtio.nr];

    if (vm->virtio.nr == MAX_VM_VIRTIO) {
        config_node_err(fdt, node, "more than %d virtio devices in one VM", MAX_VM_VIRTIO);
        return false;
    }
    *d = (struct vm_virtio_dev){.kind = (uint8_t)kind};
    if (kind == VIRTIO_ID_BLOCK && !read_disk(fdt, node, board, limits, d)) {
        return false;
    }
    if (kind == VIRTIO_ID_NET && !vnet_parse_node(fdt, node, vm->name, net_ports(vm), d)) {
        return false;
    }
    if (!place(fdt, node, board, vm, d) || !pick_spi(fdt, node, board, vm, d)) {
        return false;
    }
    vm->virtio.nr++; /* from here on shm_vm_devices and shm_spi_taken count it */
    return true;
}

bool virtio_parse(const void *fdt, int vm_node, const struct board *board,
                  const struct module_limits *limits, struct vm_config *vm)
{
    int child;

    vm->virtio = (struct vm_virtio){0};
    fdt_for_each_subnode(child, fdt, vm_node)
    {
        int kind = kind_of(fdt, child);
        if (kind < 0 || !config_node_enabled(fdt, child)) {
            continue;
        }
        if (board->gic.version == GIC_NONE) {
            config_node_err(fdt, child, "a virtio device needs a GIC for its interrupt");
            return false;
        }
        if (!parse_device(fdt, child, kind, board, limits, vm)) {
            return false;
        }
    }
    return true;
}

void virtio_place(struct ram_pool *pool, struct vm_config *vms, unsigned nr_vms)
{
    for (unsigned v = 0; v < nr_vms; v++) {
        for (unsigned i = 0; i < vms[v].virtio.nr; i++) {
            struct vm_virtio_dev *d = &vms[v].virtio.devs[i];
            paddr_t pa;
            if (d->kind != VIRTIO_ID_BLOCK || d->read_only) {
                continue;
            }
            if (ram_pool_alloc(pool, ALIGN_UP(d->image_size, VM_RAM_ALIGN), &pa) != 0) {
                pr_err("%s: no free RAM for a copy of its 0x%lx-byte writable disk\n", vms[v].node,
                       d->image_size);
                continue;
            }
            d->disk_pa = pa;
        }
    }
}

bool virtio_vm_ready(const struct vm_config *vm)
{
    for (unsigned i = 0; i < vm->virtio.nr; i++) {
        const struct vm_virtio_dev *d = &vm->virtio.devs[i];
        if (d->kind == VIRTIO_ID_BLOCK && !d->read_only && !d->disk_pa) {
            return false;
        }
    }
    return true;
}
