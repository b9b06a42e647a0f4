/*
 * A host device given to a VM: its windows mapped into the VM's stage 2 as Device-nGnRE, its
 * SPIs linked to the VM's own (same INTIDs), so that the guest's EOI deactivates the physical
 * interrupt without an exit (or, where the GIC's hardware deactivation is not to be relied on,
 * at the EOI maintenance exit: a held link). Each SPI is enabled at the physical distributor only
 * while the VM runs. Nothing is emulated: every access after the first page-table walk goes to
 * the device at hardware speed.
 */
#include "bulkhead/printk.h"
#include "bulkhead/vdev.h"

struct passthrough {
    struct vdev dev;
    struct vm_io *io;
    uint16_t intids[VDEV_MAX_IRQS];
    unsigned nr_irqs;
};

static struct passthrough *to_passthrough(struct vdev *dev)
{
    return (struct passthrough *)dev;
}

static void passthrough_reset(struct vdev *dev)
{
    struct passthrough *p = to_passthrough(dev);
    const struct vdev_phys_irq_ops *phys = p->io->phys_irqs;

    for (unsigned i = 0; i < p->nr_irqs; i++) {
        vgic_link_hw(p->io->vgic, 0, p->intids[i], p->intids[i], phys->held);
        phys->start(p->io->phys_ctx, p->intids[i]);
    }
}

static void passthrough_halt(struct vdev *dev, bool for_good)
{
    (void)for_good; /* silenced either way: a reset starts it again */
    struct passthrough *p = to_passthrough(dev);

    for (unsigned i = 0; i < p->nr_irqs; i++) {
        p->io->phys_irqs->stop(p->io->phys_ctx, p->intids[i]);
    }
}

static const struct vdev_ops passthrough_ops = {
    .reset = passthrough_reset,
    .halt = passthrough_halt,
};

static int map_windows(struct vm_io *io, const struct vdev *dev, const struct vdev_desc *desc)
{
    for (unsigned i = 0; i < desc->nr_reg; i++) {
        const struct mem_range *ipa = &desc->reg[i], *pa = &desc->host[i];
        if (pt_map(io->s2, ipa->base, pa->base, ipa->size, PT_R | PT_W, PT_MEM_DEVICE) != 0) {
            pr_err("%s: %s: cannot map 0x%llx+0x%llx at IPA 0x%llx (out of page-table memory, or "
                   "not page-aligned)\n",
                   io->vm_name, dev->name, (unsigned long long)pa->base,
                   (unsigned long long)pa->size, (unsigned long long)ipa->base);
            return -1;
        }
    }
    return 0;
}

static int passthrough_create(struct vm_io *io, const struct vdev_desc *desc)
{
    ipa_t base = desc->nr_reg ? desc->reg[0].base : 0;
    struct passthrough *p;

    if (desc->nr_host != desc->nr_reg || (desc->nr_spis && !io->phys_irqs)) {
        pr_err("%s: a passed-through device needs a host window per window and a GIC\n",
               io->vm_name);
        return -1;
    }
    p = (struct passthrough *)vdev_alloc(io, sizeof(*p), &passthrough_ops, "passthrough", base);
    if (!p) {
        return -1;
    }
    p->io = io;
    if (map_windows(io, &p->dev, desc) != 0) {
        return -1;
    }
    for (unsigned i = 0; i < desc->nr_spis; i++) {
        struct vdev_irq line;
        if (vdev_connect_spi(io, &p->dev, desc->spis[i], &line) != 0 ||
            io->phys_irqs->claim(io->phys_ctx, line.intid, desc->spi_edge[i]) != 0) {
            return -1;
        }
        p->intids[p->nr_irqs++] = (uint16_t)line.intid;
    }
    return 0;
}

const struct vdev_model passthrough_model = {
    .compatible = "bulkhead,passthrough",
    .create = passthrough_create,
};
