/* The table of device models, and their creation by compatible string. */
#include "bulkhead/vdev.h"

#include "bulkhead/printk.h"
#include "bulkhead/string.h"

static int vpl011_create(struct vm *vm, const struct vdev_desc *desc)
{
    struct mmio_region region = {
        .base = desc->base,
        .size = VPL011_SIZE,
        .ops = &vpl011_ops,
        .dev = &vm->uart,
        .name = "pl011",
    };

    vpl011_init(&vm->uart, vm_console_putc, vm);
    return mmio_bus_add(&vm->bus, &region);
}

static const struct vdev_model models[] = {
    { "arm,pl011", vpl011_create },
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
