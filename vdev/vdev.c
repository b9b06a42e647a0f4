/* Device objects of a VM, and their creation by compatible string. See bulkhead/vdev.h. */
#include "bulkhead/vdev.h"

#include "bulkhead/alloc.h"
#include "bulkhead/printk.h"
#include "bulkhead/string.h"
#include "bulkhead/virtio.h"
#include "bulkhead/virtio_net.h"

static const struct vdev_model *const models[] = {
    &vpl011_model,    &vgic_v2_model,    &vgic_v3_model,        &passthrough_model, &doorbell_model,
    &sbsa_gwdt_model, &virtio_blk_model, &virtio_console_model, &virtio_net_model,
};

void vm_io_init(struct vm_io *io, const char *vm_name, unsigned nr_vcpus, struct vgic_dist *vgic,
                struct pt *s2, struct console_port *console)
{
    *io = (struct vm_io){
        .vm_name = vm_name,
        .nr_vcpus = nr_vcpus,
        .vgic = vgic,
        .s2 = s2,
        .console = console,
    };
}

int vdev_create(struct vm_io *io, const struct vdev_desc *desc)
{
    for (unsigned i = 0; i < ARRAY_SIZE(models); i++) {
        if (strcmp(models[i]->compatible, desc->compatible) == 0) {
            return models[i]->create(io, desc);
        }
    }
    pr_err("%s: no device model for \"%s\"\n", io->vm_name, desc->compatible);
    return -1;
}

struct vdev *vdev_alloc(struct vm_io *io, size_t size, const struct vdev_ops *ops,
                        const char *model, ipa_t base)
{
    struct vdev *dev = boot_alloc(size);
    struct vdev **tail = &io->devices;

    if (!dev) {
        pr_err("%s: out of memory for a %s device\n", io->vm_name, model);
        return NULL;
    }
    dev->ops = ops;
    dev->size = size;
    snprintf(dev->name, sizeof(dev->name), "%s@%llx", model, (unsigned long long)base);
    while (*tail) {
        tail = &(*tail)->next;
    }
    *tail = dev;
    return dev;
}

int vdev_add_mmio(struct vm_io *io, const struct vdev *dev, ipa_t base, uint64_t size,
                  const struct mmio_ops *ops, void *state)
{
    struct mmio_region region = {
        .base = base,
        .size = size,
        .ops = ops,
        .dev = state,
        .name = dev->name,
    };

    if (mmio_bus_add(&io->bus, &region) != 0) {
        pr_err("%s: %s: cannot map [0x%llx, 0x%llx): it overlaps another device or there are "
               "more than %u\n",
               io->vm_name, dev->name, (unsigned long long)base, (unsigned long long)(base + size),
               MAX_MMIO_REGIONS);
        return -1;
    }
    return 0;
}

int vdev_connect_spi(struct vm_io *io, const struct vdev *dev, uint32_t spi, struct vdev_irq *irq)
{
    unsigned intid = spi + VGIC_NR_PRIVATE;

    if (spi >= VGIC_MAX_IRQS - VGIC_NR_PRIVATE || !vgic_get_irq(io->vgic, 0, intid)) {
        pr_err("%s: %s: SPI %u is beyond the VM's interrupt controller\n", io->vm_name, dev->name,
               (unsigned)spi);
        return -1;
    }
    if (io->irqs_taken[intid / 64] & BIT(intid % 64)) {
        pr_err("%s: %s: SPI %u is taken by another device\n", io->vm_name, dev->name,
               (unsigned)spi);
        return -1;
    }
    io->irqs_taken[intid / 64] |= BIT(intid % 64);
    *irq = (struct vdev_irq){
        .vgic = io->vgic, .virq = vgic_get_irq(io->vgic, 0, intid), .intid = intid};
    return 0;
}

void vm_io_reset(struct vm_io *io)
{
    for (struct vdev *dev = io->devices; dev; dev = dev->next) {
        if (dev->ops && dev->ops->reset) {
            dev->ops->reset(dev);
        }
    }
}

void vm_io_halt(struct vm_io *io, bool for_good)
{
    for (struct vdev *dev = io->devices; dev; dev = dev->next) {
        if (dev->ops && dev->ops->halt) {
            dev->ops->halt(dev, for_good);
        }
    }
}
