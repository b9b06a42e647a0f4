/*
 * The VM's GIC as a device: the distributor (and GICv3 redistributors) emulated on the VM's
 * vGIC, and on GICv2 the hardware's virtual CPU interface (GICV) mapped where the guest expects
 * its GICC. The interrupt state is the VM's (struct vgic_dist, reset with the VM); this device
 * keeps none of its own, only a copy of the distributor's identification words.
 */
#include "bulkhead/printk.h"
#include "bulkhead/vdev.h"
#include "vgic_mmio.h"

#define GICV2_DIST_SIZE 0x1000
#define GICV2_CPUIF_SIZE 0x2000
#define GICV3_DIST_SIZE 0x10000

/* The distributor's words from GICD_TYPER on that never change once the VM is made: TYPER,
 * IIDR, and GICv3's TYPER2 (zero: RAZ on both versions here). */
#define GICD_ID_WORDS 3

struct gic_dev {
    struct vdev dev;
    struct vgic_dist *vgic;
    /* A shadow of those words, read once from the distributor's emulation when the device is
     * made: a guest probing its GIC gets them with no lock taken and no register table searched. */
    uint32_t id_words[GICD_ID_WORDS];
};

static enum mmio_result result_of(bool ok)
{
    return ok ? MMIO_OK : MMIO_ABORT;
}

/* A 32-bit read of one of the shadowed words (any other access goes to the emulation). */
static bool read_id_word(const struct gic_dev *g, uint64_t offset, unsigned size, uint64_t *val)
{
    uint64_t word = (offset - GICD_TYPER) / 4;

    if (size != 4 || (offset & 3) || offset < GICD_TYPER || word >= GICD_ID_WORDS) {
        return false;
    }
    *val = g->id_words[word];
    return true;
}

static void fill_id_words(struct gic_dev *g,
                          bool (*read)(struct vgic_dist *d, unsigned cpu, uint64_t offset,
                                       unsigned size, uint64_t *val))
{
    for (unsigned i = 0; i < GICD_ID_WORDS; i++) {
        uint64_t v = 0;
        read(g->vgic, 0, GICD_TYPER + 4 * i, 4, &v);
        g->id_words[i] = (uint32_t)v;
    }
}

static enum mmio_result gicd_v2_read(void *gic, unsigned vcpu, uint64_t offset, unsigned size,
                                     uint64_t *val)
{
    struct gic_dev *g = gic;

    if (read_id_word(g, offset, size, val)) {
        return MMIO_OK;
    }
    return result_of(vgic_v2_dist_read(g->vgic, vcpu, offset, size, val));
}

static enum mmio_result gicd_v2_write(void *gic, unsigned vcpu, uint64_t offset, unsigned size,
                                      uint64_t val)
{
    return result_of(vgic_v2_dist_write(((struct gic_dev *)gic)->vgic, vcpu, offset, size, val));
}

static enum mmio_result gicd_v3_read(void *gic, unsigned vcpu, uint64_t offset, unsigned size,
                                     uint64_t *val)
{
    struct gic_dev *g = gic;

    if (read_id_word(g, offset, size, val)) {
        return MMIO_OK;
    }
    return result_of(vgic_v3_dist_read(g->vgic, vcpu, offset, size, val));
}

static enum mmio_result gicd_v3_write(void *gic, unsigned vcpu, uint64_t offset, unsigned size,
                                      uint64_t val)
{
    return result_of(vgic_v3_dist_write(((struct gic_dev *)gic)->vgic, vcpu, offset, size, val));
}

/* One frame pair per vCPU: the accessing vCPU does not matter, the frame's owner does. */
static enum mmio_result gicr_read(void *vgic, unsigned vcpu, uint64_t offset, unsigned size,
                                  uint64_t *val)
{
    (void)vcpu;
    return result_of(vgic_v3_redist_read(vgic, (unsigned)(offset / GICV3_REDIST_SIZE),
                                         offset % GICV3_REDIST_SIZE, size, val));
}

static enum mmio_result gicr_write(void *vgic, unsigned vcpu, uint64_t offset, unsigned size,
                                   uint64_t val)
{
    (void)vcpu;
    return result_of(vgic_v3_redist_write(vgic, (unsigned)(offset / GICV3_REDIST_SIZE),
                                          offset % GICV3_REDIST_SIZE, size, val));
}

static const struct mmio_ops gicd_v2_ops = {.read = gicd_v2_read, .write = gicd_v2_write};
static const struct mmio_ops gicd_v3_ops = {.read = gicd_v3_read, .write = gicd_v3_write};
static const struct mmio_ops gicr_ops = {.read = gicr_read, .write = gicr_write};

static struct gic_dev *gic_alloc(struct vm_io *io, const struct vdev_desc *desc, unsigned nr_reg,
                                 const char *what)
{
    struct gic_dev *g;

    if (desc->nr_reg < nr_reg) {
        pr_err("%s: a %s needs %u reg ranges\n", io->vm_name, what, nr_reg);
        return NULL;
    }
    g = (struct gic_dev *)vdev_alloc(io, sizeof(*g), NULL, "gic", desc->reg[0].base);
    if (g) {
        g->vgic = io->vgic;
    }
    return g;
}

/* reg: GICD, then GICC as the guest sees it; host: the hardware's GICV frame, which the guest
 * drives directly. */
static int gic_v2_create(struct vm_io *io, const struct vdev_desc *desc)
{
    struct gic_dev *g = gic_alloc(io, desc, 2, "GICv2");

    if (!g) {
        return -1;
    }
    if (desc->nr_host < 1 || !desc->host[0].size) {
        pr_err("%s: %s: the board's GIC has no virtual CPU interface\n", io->vm_name, g->dev.name);
        return -1;
    }
    fill_id_words(g, vgic_v2_dist_read);
    if (vdev_add_mmio(io, &g->dev, desc->reg[0].base, GICV2_DIST_SIZE, &gicd_v2_ops, g) != 0) {
        return -1;
    }
    if (pt_map(io->s2, desc->reg[1].base, desc->host[0].base, GICV2_CPUIF_SIZE, PT_R | PT_W,
               PT_MEM_DEVICE) != 0) {
        pr_err("%s: %s: out of page-table memory\n", io->vm_name, g->dev.name);
        return -1;
    }
    return 0;
}

/* reg: GICD, then the GICR region (one RD + SGI frame pair per vCPU, at its start). */
static int gic_v3_create(struct vm_io *io, const struct vdev_desc *desc)
{
    struct gic_dev *g = gic_alloc(io, desc, 2, "GICv3");

    if (!g) {
        return -1;
    }
    fill_id_words(g, vgic_v3_dist_read);
    if (vdev_add_mmio(io, &g->dev, desc->reg[0].base, GICV3_DIST_SIZE, &gicd_v3_ops, g) != 0) {
        return -1;
    }
    return vdev_add_mmio(io, &g->dev, desc->reg[1].base, GICV3_REDIST_SIZE * (uint64_t)io->nr_vcpus,
                         &gicr_ops, io->vgic);
}

const struct vdev_model vgic_v2_model = {.compatible = "arm,cortex-a15-gic",
                                         .create = gic_v2_create};
const struct vdev_model vgic_v3_model = {.compatible = "arm,gic-v3", .create = gic_v3_create};
