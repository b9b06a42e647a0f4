/* The table of device models, and their creation by compatible string. */
#include "bulkhead/vdev.h"

#include "bulkhead/printk.h"
#include "bulkhead/string.h"

/* The UART's interrupt follows the model after every access (called with vm->lock held). */
static void uart_update_line(struct vm *vm)
{
    if (vm->uart_intid) {
        vgic_set_line(&vm->vgic, 0, vm->uart_intid, vpl011_irq_level(&vm->uart));
    }
}

static enum mmio_result uart_read(void *dev, unsigned vcpu, uint64_t offset, unsigned size,
                                  uint64_t *val)
{
    struct vm *vm = dev;
    enum mmio_result r = vpl011_ops.read(&vm->uart, vcpu, offset, size, val);

    uart_update_line(vm);
    return r;
}

static enum mmio_result uart_write(void *dev, unsigned vcpu, uint64_t offset, unsigned size,
                                   uint64_t val)
{
    struct vm *vm = dev;
    enum mmio_result r = vpl011_ops.write(&vm->uart, vcpu, offset, size, val);

    uart_update_line(vm);
    return r;
}

static const struct mmio_ops uart_ops = { .read = uart_read, .write = uart_write };

void vdev_uart_input(struct vm *vm, char c)
{
    spin_lock(&vm->lock);
    if (vm->state == VM_RUNNING) {
        vpl011_receive(&vm->uart, (uint8_t)c);
        uart_update_line(vm);
    }
    spin_unlock(&vm->lock);
}

static int vpl011_create(struct vm *vm, const struct vdev_desc *desc)
{
    struct mmio_region region = {
        .base = desc->base,
        .size = VPL011_SIZE,
        .ops = &uart_ops,
        .dev = vm,
        .name = "pl011",
    };

    vpl011_init(&vm->uart, vm_console_putc, vm);
    vm->uart_intid = desc->spi ? VGIC_NR_PRIVATE + desc->spi : 0;
    return mmio_bus_add(&vm->bus, &region);
}

static enum mmio_result result_of(bool ok)
{
    return ok ? MMIO_OK : MMIO_ABORT;
}

static enum mmio_result gicd_read(void *dev, unsigned vcpu, uint64_t offset, unsigned size,
                                  uint64_t *val)
{
    return result_of(vgic_v2_dist_read(dev, vcpu, offset, size, val));
}

static enum mmio_result gicd_write(void *dev, unsigned vcpu, uint64_t offset, unsigned size,
                                   uint64_t val)
{
    return result_of(vgic_v2_dist_write(dev, vcpu, offset, size, val));
}

static enum mmio_result gicr_read(void *dev, unsigned vcpu, uint64_t offset, unsigned size,
                                  uint64_t *val)
{
    (void)vcpu;
    return result_of(vgic_v3_redist_read(dev, (unsigned)(offset / GICV3_REDIST_SIZE),
                                         offset % GICV3_REDIST_SIZE, size, val));
}

static enum mmio_result gicr_write(void *dev, unsigned vcpu, uint64_t offset, unsigned size,
                                   uint64_t val)
{
    (void)vcpu;
    return result_of(vgic_v3_redist_write(dev, (unsigned)(offset / GICV3_REDIST_SIZE),
                                          offset % GICV3_REDIST_SIZE, size, val));
}

static const struct mmio_ops gicd_ops = { .read = gicd_read, .write = gicd_write };
static const struct mmio_ops gicr_ops = { .read = gicr_read, .write = gicr_write };

/* GICv2: the distributor is emulated; the CPU interface is the hardware's GICV frame, mapped by
 * stage 2 where the guest expects its GICC. */
static int gic_v2_create(struct vm *vm, const struct vdev_desc *desc)
{
    struct mmio_region dist = { desc->base, 0x1000, &gicd_ops, &vm->vgic, "gicd" };

    if (!board.gic.vcpu.size) {
        return -1;
    }
    if (mmio_bus_add(&vm->bus, &dist) != 0) {
        return -1;
    }
    return pt_map(&vm->s2, board.gic.cpuif.base, board.gic.vcpu.base, 0x2000, PT_R | PT_W,
                  PT_MEM_DEVICE);
}

/* GICv3: distributor and one redistributor per vCPU, at the board's addresses. */
static int gic_v3_create(struct vm *vm, const struct vdev_desc *desc)
{
    struct mmio_region dist = { desc->base, 0x10000, &gicd_ops, &vm->vgic, "gicd" };
    struct mmio_region redist = { board.gic.redist.base,
                                  GICV3_REDIST_SIZE * (uint64_t)vm->cfg.nr_vcpus, &gicr_ops,
                                  &vm->vgic, "gicr" };

    if (mmio_bus_add(&vm->bus, &dist) != 0) {
        return -1;
    }
    return mmio_bus_add(&vm->bus, &redist);
}

static const struct vdev_model models[] = {
    { "arm,pl011", vpl011_create },
    { "arm,cortex-a15-gic", gic_v2_create },
    { "arm,gic-v3", gic_v3_create },
};

int vdev_create(struct vm *vm, const struct vdev_desc *desc)
{
    for (unsigned i = 0; i < ARRAY_SIZE(models); i++) {
        if (strcmp(models[i].compatible, desc->compatible) == 0) {
            if (models[i].create(vm, desc) == 0) {
                return 0;
            }
            pr_err("%s: cannot create %s at 0x%llx\n", vm->cfg.name, desc->compatible,
                   (unsigned long long)desc->base);
            return -1;
        }
    }
    pr_err("%s: no device model for \"%s\"\n", vm->cfg.name, desc->compatible);
    return -1;
}
