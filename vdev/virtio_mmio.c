/*
 * The virtio-mmio transport (virtio 1.2, 4.2.2, version 2 only) and a device's life: feature
 * negotiation, the queues' set-up, the level interrupt, the budget and DEVICE_NEEDS_RESET.
 * Pure C, host-tested. See include/bulkhead/virtio.h.
 */
#include "bulkhead/printk.h"
#include "bulkhead/string.h"
#include "bulkhead/virtio.h"

static uint64_t offered(const struct virtio_dev *vd)
{
    return vd->be->features | BIT(VIRTIO_F_VERSION_1);
}

bool virtio_live(const struct virtio_dev *vd)
{
    return (vd->status & VIRTIO_STATUS_DRIVER_OK) && !vd->failed && !vd->halted;
}

/* The line follows InterruptStatus. Device lock held. */
static void update_irq(struct virtio_dev *vd)
{
    vdev_irq_set(&vd->irq, vd->interrupt_status != 0);
}

void virtio_fail(struct virtio_dev *vd, const char *fmt, ...)
{
    char why[VIRTQ_ERR_LEN + 40];
    va_list ap;

    if (vd->failed) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (!vd->io->report_allowed || vd->io->report_allowed(vd->io->report_ctx)) {
        printk("bulkhead: %s: %s: %s: device needs a reset\n", vd->io->vm_name, vd->dev.name, why);
    }
    vd->failed = true;
    vd->more = 0;
    vd->status |= VIRTIO_STATUS_NEEDS_RESET;
    vd->interrupt_status |= VIRTIO_INT_CONFIG;
    update_irq(vd);
}

int virtio_pop(struct virtio_dev *vd, unsigned q, struct virtq_chain *c)
{
    char err[VIRTQ_ERR_LEN];

    if (!virtio_live(vd) || q >= vd->be->nr_queues) {
        return 0;
    }
    int rc = virtq_pop(&vd->queues[q], vd->io, c, err);
    if (rc < 0) {
        virtio_fail(vd, "queue %u: %s", q, err);
    }
    return rc;
}

void virtio_push(struct virtio_dev *vd, unsigned q, const struct virtq_chain *c, uint32_t written)
{
    if (!virtio_live(vd)) {
        return;
    }
    virtq_push(&vd->queues[q], c->head, written);
    vd->interrupt_status |= VIRTIO_INT_USED;
    update_irq(vd);
}

void virtio_more(struct virtio_dev *vd, unsigned q)
{
    vd->more |= (uint32_t)BIT(q);
}

void virtio_config_changed(struct virtio_dev *vd)
{
    vd->config_generation++;
    vd->interrupt_status |= VIRTIO_INT_CONFIG;
    update_irq(vd);
}

/* Registers, queues and the backend back to their state after creation. Device lock held. */
static void reset_locked(struct virtio_dev *vd)
{
    vd->status = 0;
    vd->device_features_sel = vd->driver_features_sel = 0;
    vd->driver_features = 0;
    vd->queue_sel = 0;
    vd->interrupt_status = 0;
    vd->more = 0;
    vd->failed = false;
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        virtq_reset(&vd->queues[i]);
    }
    if (vd->be->reset) {
        vd->be->reset(vd);
    }
    update_irq(vd);
}

/* Another budget for the queues of mask that an earlier access left work in. Returns them.
 * Device lock held. */
static uint32_t resume(struct virtio_dev *vd, uint32_t mask)
{
    uint32_t served = mask & vd->more;

    vd->more &= ~served;
    for (unsigned q = 0; q < vd->be->nr_queues; q++) {
        if ((served & BIT(q)) && virtio_live(vd)) {
            vd->be->notify(vd, q);
        }
    }
    return served;
}

static struct virtq *selected(struct virtio_dev *vd)
{
    return vd->queue_sel < vd->be->nr_queues ? &vd->queues[vd->queue_sel] : NULL;
}

static uint32_t read_config(const struct virtio_dev *vd, uint64_t off, unsigned size)
{
    uint32_t val = 0;

    if (off + size <= vd->config_size) {
        memcpy(&val, (const uint8_t *)vd->config + off, size); /* little-endian, as the host */
    }
    return val;
}

static uint32_t read_queue_reg(struct virtio_dev *vd, uint64_t off)
{
    const struct virtq *q = selected(vd);

    if (!q) {
        return 0; /* QueueNumMax 0: no such queue */
    }
    switch (off) {
    case VIRTIO_MMIO_QUEUE_NUM_MAX: return VIRTQ_MAX_SIZE;
    case VIRTIO_MMIO_QUEUE_READY: return q->ready;
    case VIRTIO_MMIO_QUEUE_DESC_LOW: return (uint32_t)q->desc_ipa;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH: return (uint32_t)(q->desc_ipa >> 32);
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW: return (uint32_t)q->avail_ipa;
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: return (uint32_t)(q->avail_ipa >> 32);
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW: return (uint32_t)q->used_ipa;
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: return (uint32_t)(q->used_ipa >> 32);
    default: return 0;
    }
}

static uint32_t read_reg(struct virtio_dev *vd, uint64_t off)
{
    switch (off) {
    case VIRTIO_MMIO_MAGIC: return VIRTIO_MMIO_MAGIC_VALUE;
    case VIRTIO_MMIO_VERSION: return VIRTIO_MMIO_VERSION_MODERN;
    case VIRTIO_MMIO_DEVICE_ID: return vd->be->device_id;
    case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_VENDOR_BULKHEAD;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        return vd->device_features_sel < 2
                   ? (uint32_t)(offered(vd) >> (32 * vd->device_features_sel))
                   : 0;
    case VIRTIO_MMIO_INTERRUPT_STATUS: return vd->interrupt_status;
    case VIRTIO_MMIO_STATUS: return vd->status;
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH: return 0xffffffffu; /* no shared memory regions */
    case VIRTIO_MMIO_CONFIG_GENERATION: return vd->config_generation;
    default: return read_queue_reg(vd, off);
    }
}

static enum mmio_result mmio_read(void *state, unsigned vcpu, uint64_t off, unsigned size,
                                  uint64_t *val)
{
    struct virtio_dev *vd = state;

    (void)vcpu;
    spin_lock(&vd->lock);
    if (off >= VIRTIO_MMIO_CONFIG) {
        *val = size <= 4 ? read_config(vd, off - VIRTIO_MMIO_CONFIG, size) : 0;
    } else {
        *val = size == 4 && off % 4 == 0 ? read_reg(vd, off) : 0;
    }
    spin_unlock(&vd->lock);
    return MMIO_OK;
}

/* FEATURES_OK is kept only if the driver took VERSION_1 and nothing that was not offered. */
static void write_status(struct virtio_dev *vd, uint32_t val)
{
    if (val == 0) {
        reset_locked(vd);
        return;
    }
    if ((val & VIRTIO_STATUS_FEATURES_OK) && !(vd->status & VIRTIO_STATUS_FEATURES_OK)) {
        uint64_t f = vd->driver_features;
        if ((f & ~offered(vd)) || !(f & BIT(VIRTIO_F_VERSION_1))) {
            val &= ~VIRTIO_STATUS_FEATURES_OK;
        }
    }
    bool now_ok = (val & VIRTIO_STATUS_DRIVER_OK) && !(vd->status & VIRTIO_STATUS_DRIVER_OK);
    /* The device's own bit stays until a reset clears it. */
    vd->status = (val & ~VIRTIO_STATUS_NEEDS_RESET) | (vd->status & VIRTIO_STATUS_NEEDS_RESET);
    if (now_ok && vd->be->driver_ok && virtio_live(vd)) {
        vd->be->driver_ok(vd);
    }
}

static void set_half(uint64_t *reg, bool high, uint32_t val)
{
    *reg = high ? (*reg & 0xffffffffULL) | ((uint64_t)val << 32) : (*reg & ~0xffffffffULL) | val;
}

/* QueueReady = 1 checks the rings at once: a driver that placed them outside its RAM fails the
 * device here, before any notify. */
static void write_queue_ready(struct virtio_dev *vd, struct virtq *q, uint32_t val)
{
    char err[VIRTQ_ERR_LEN];

    if (!val) {
        q->ready = false;
        return;
    }
    if (!q->ready && virtq_enable(q, vd->io, err) != 0) {
        virtio_fail(vd, "queue %u: %s", vd->queue_sel, err);
    }
}

static void write_queue_reg(struct virtio_dev *vd, uint64_t off, uint32_t val)
{
    struct virtq *q = selected(vd);

    /* A queue's set-up is frozen while it is ready (4.2.2.3). */
    if (!q || (q->ready && off != VIRTIO_MMIO_QUEUE_READY)) {
        return;
    }
    switch (off) {
    case VIRTIO_MMIO_QUEUE_NUM: q->num = (uint16_t)MIN(val, 0xffffu); break;
    case VIRTIO_MMIO_QUEUE_READY: write_queue_ready(vd, q, val); break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW: set_half(&q->desc_ipa, false, val); break;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH: set_half(&q->desc_ipa, true, val); break;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW: set_half(&q->avail_ipa, false, val); break;
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: set_half(&q->avail_ipa, true, val); break;
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW: set_half(&q->used_ipa, false, val); break;
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: set_half(&q->used_ipa, true, val); break;
    default: break;
    }
}

static void write_reg(struct virtio_dev *vd, uint64_t off, uint32_t val)
{
    switch (off) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL: vd->device_features_sel = val; break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        if (vd->driver_features_sel < 2 && !(vd->status & VIRTIO_STATUS_FEATURES_OK)) {
            set_half(&vd->driver_features, vd->driver_features_sel == 1, val);
        }
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL: vd->driver_features_sel = val; break;
    case VIRTIO_MMIO_QUEUE_SEL: vd->queue_sel = val; break;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
        if (val < vd->be->nr_queues && virtio_live(vd)) {
            vd->more &= ~(uint32_t)BIT(val);
            vd->be->notify(vd, val);
        }
        break;
    case VIRTIO_MMIO_INTERRUPT_ACK:
        vd->interrupt_status &= ~val;
        update_irq(vd);
        break;
    case VIRTIO_MMIO_STATUS: write_status(vd, val); break;
    default: write_queue_reg(vd, off, val); break;
    }
}

static enum mmio_result mmio_write(void *state, unsigned vcpu, uint64_t off, unsigned size,
                                   uint64_t val)
{
    struct virtio_dev *vd = state;
    uint32_t served = off == VIRTIO_MMIO_QUEUE_NOTIFY && size == 4 && val < vd->be->nr_queues
                          ? (uint32_t)BIT(val)
                          : 0;

    (void)vcpu;
    spin_lock(&vd->lock);
    uint32_t left = vd->more; /* by earlier accesses: this one serves them another budget */
    if (off >= VIRTIO_MMIO_CONFIG) {
        if (vd->be->config_write && size <= 4 &&
            off - VIRTIO_MMIO_CONFIG + size <= vd->config_size) {
            vd->be->config_write(vd, (uint32_t)(off - VIRTIO_MMIO_CONFIG), size, (uint32_t)val);
        }
    } else if (size == 4 && off % 4 == 0) {
        write_reg(vd, off, (uint32_t)val);
    }
    /* The driver's next write after a notify whose budget ran out resumes its queue: it
     * acknowledges the interrupt the chains used so far raised. */
    if (left && virtio_live(vd)) {
        served |= resume(vd, left);
    }
    spin_unlock(&vd->lock);
    for (unsigned q = 0; served && vd->be->after_notify && q < vd->be->nr_queues; q++) {
        if (served & BIT(q)) {
            vd->be->after_notify(vd, q);
        }
    }
    return MMIO_OK;
}

static const struct mmio_ops virtio_mmio_ops = {.read = mmio_read, .write = mmio_write};

static void dev_reset(struct vdev *dev)
{
    struct virtio_dev *vd = (struct virtio_dev *)dev;

    spin_lock(&vd->lock);
    vd->halted = false;
    reset_locked(vd);
    spin_unlock(&vd->lock);
}

/* The VM stops: from here until its reset the device touches none of its RAM (a reset unmaps
 * and zeroes it). */
static void dev_halt(struct vdev *dev, bool for_good)
{
    struct virtio_dev *vd = (struct virtio_dev *)dev;

    (void)for_good;
    spin_lock(&vd->lock);
    vd->halted = true;
    vd->more = 0;
    spin_unlock(&vd->lock);
}

static const struct vdev_ops virtio_dev_ops = {.reset = dev_reset, .halt = dev_halt};

struct virtio_dev *virtio_create(struct vm_io *io, const struct vdev_desc *desc, size_t size,
                                 const struct virtio_backend *be)
{
    struct virtio_dev *vd;

    if (desc->nr_reg < 1 || desc->nr_spis < 1 || be->nr_queues > VIRTIO_MAX_QUEUES || !io->mem) {
        pr_err("%s: a %s needs a reg, an SPI and the VM's RAM\n", io->vm_name, be->model);
        return NULL;
    }
    vd = (struct virtio_dev *)vdev_alloc(io, size, &virtio_dev_ops, be->model, desc->reg[0].base);
    if (!vd) {
        return NULL;
    }
    vd->io = io;
    vd->be = be;
    if (vdev_connect_spi(io, &vd->dev, desc->spis[0], &vd->irq) != 0 ||
        vdev_add_mmio(io, &vd->dev, desc->reg[0].base, VIRTIO_MMIO_SIZE, &virtio_mmio_ops, vd) !=
            0) {
        return NULL;
    }
    return vd;
}
