/*
 * The SBSA generic watchdog (include/bulkhead/sbsa_gwdt.h): its timing rules, and the device
 * model that gives a VM one. The model keeps the watchdog's next deadline armed on its VM's
 * clock (vm_io's clock: EL2's physical timer on vCPU 0's CPU), so that it fires even when the
 * guest never exits again (a hung kernel with interrupts masked); WS0 is a level SPI, WS1 hands
 * the VM to its on-watchdog policy.
 *
 * Locking: the device's lock guards its registers; the vGIC's is taken under it (WS0's line).
 * WS1's policy is applied after the lock is dropped: it halts the VM, which calls halt() here.
 */
#include "bulkhead/sbsa_gwdt.h"

#include "bulkhead/printk.h"
#include "bulkhead/spinlock.h"
#include "bulkhead/vdev.h"

/* ---- the timing rules ---- */

void gwdt_refresh(struct gwdt *w, uint64_t now)
{
    w->ws0 = w->ws1 = false;
    w->wcv = now + w->wor;
}

enum gwdt_event gwdt_advance(struct gwdt *w, uint64_t now)
{
    if (!w->enabled || w->ws1 || now < w->wcv) {
        return GWDT_NONE;
    }
    if (!w->ws0) {
        w->ws0 = true;
        w->wcv = now + w->wor; /* the timeout refresh: one more period before WS1 */
        return GWDT_WS0;
    }
    w->ws1 = true;
    return GWDT_WS1;
}

uint64_t gwdt_deadline(const struct gwdt *w)
{
    return w->enabled && !w->ws1 ? w->wcv : GWDT_NEVER;
}

static uint32_t wcs(const struct gwdt *w)
{
    return (w->enabled ? GWDT_WCS_EN : 0) | (w->ws0 ? GWDT_WCS_WS0 : 0) |
           (w->ws1 ? GWDT_WCS_WS1 : 0);
}

/* A 64-bit register seen through an access at off (its base or base + 4) of size bytes. */
static uint64_t wide_read(uint64_t reg, uint64_t off, uint64_t base, unsigned size)
{
    return size == 8 ? reg : (uint32_t)(off == base ? reg : reg >> 32);
}

static uint64_t wide_write(uint64_t reg, uint64_t off, uint64_t base, unsigned size, uint64_t val)
{
    if (size == 8) {
        return val;
    }
    if (off == base) {
        return (reg & ~0xffffffffULL) | (uint32_t)val;
    }
    return (reg & 0xffffffffULL) | ((uint64_t)(uint32_t)val << 32);
}

/* off is one of a 64-bit register's words (base, base + 4), or base itself for size 8. */
static bool wide_access(uint64_t off, uint64_t base, unsigned size)
{
    return size == 8 ? off == base : off == base || off == base + 4;
}

uint64_t gwdt_read(const struct gwdt *w, bool control, uint64_t off, unsigned size, bool *ok)
{
    *ok = true;
    if (size == 4 && off == GWDT_W_IIDR) {
        return GWDT_IIDR_VALUE;
    }
    if (!control) {
        *ok = size == 4 && off == GWDT_WRR; /* reads as zero */
        return 0;
    }
    if (size == 4 && off == GWDT_WCS) {
        return wcs(w);
    }
    if (wide_access(off, GWDT_WOR, size)) {
        return wide_read(w->wor, off, GWDT_WOR, size);
    }
    if (wide_access(off, GWDT_WCV, size)) {
        return wide_read(w->wcv, off, GWDT_WCV, size);
    }
    *ok = false;
    return 0;
}

void gwdt_write(struct gwdt *w, bool control, uint64_t off, unsigned size, uint64_t val,
                uint64_t now, bool *ok)
{
    *ok = true;
    if (!control) {
        *ok = size == 4 && off == GWDT_WRR;
        if (*ok) {
            gwdt_refresh(w, now);
        }
        return;
    }
    if (size == 4 && off == GWDT_WCS) {
        w->enabled = val & GWDT_WCS_EN;
        gwdt_refresh(w, now);
    } else if (wide_access(off, GWDT_WOR, size)) {
        w->wor = wide_write(w->wor, off, GWDT_WOR, size, val) & GWDT_WOR_MASK;
        gwdt_refresh(w, now);
    } else if (wide_access(off, GWDT_WCV, size)) {
        w->wcv = wide_write(w->wcv, off, GWDT_WCV, size, val);
    } else {
        *ok = size == 4 && off == GWDT_W_IIDR; /* read-only: the write is ignored */
    }
}

/* ---- the device model ---- */

struct gwdt_dev {
    struct vdev dev;
    const struct vm_io *io;
    spinlock_t lock;
    struct gwdt w;
    struct vdev_irq ws0;
};

/* The line and the deadline after a change. Device lock held. */
static void sync_locked(struct gwdt_dev *d)
{
    vdev_irq_set(&d->ws0, d->w.ws0);
    d->io->clock->arm(d->io->clock_ctx, &d->dev, gwdt_deadline(&d->w));
}

static enum mmio_result frame_read(struct gwdt_dev *d, bool control, uint64_t off, unsigned size,
                                   uint64_t *val)
{
    bool ok;

    spin_lock(&d->lock);
    *val = gwdt_read(&d->w, control, off, size, &ok);
    spin_unlock(&d->lock);
    return ok ? MMIO_OK : MMIO_ABORT;
}

static enum mmio_result frame_write(struct gwdt_dev *d, bool control, uint64_t off, unsigned size,
                                    uint64_t val)
{
    bool ok;

    spin_lock(&d->lock);
    gwdt_write(&d->w, control, off, size, val, d->io->clock->now(d->io->clock_ctx), &ok);
    sync_locked(d);
    spin_unlock(&d->lock);
    return ok ? MMIO_OK : MMIO_ABORT;
}

static enum mmio_result refresh_read(void *state, unsigned vcpu, uint64_t off, unsigned size,
                                     uint64_t *val)
{
    (void)vcpu;
    return frame_read(state, false, off, size, val);
}

static enum mmio_result refresh_write(void *state, unsigned vcpu, uint64_t off, unsigned size,
                                      uint64_t val)
{
    (void)vcpu;
    return frame_write(state, false, off, size, val);
}

static enum mmio_result control_read(void *state, unsigned vcpu, uint64_t off, unsigned size,
                                     uint64_t *val)
{
    (void)vcpu;
    return frame_read(state, true, off, size, val);
}

static enum mmio_result control_write(void *state, unsigned vcpu, uint64_t off, unsigned size,
                                      uint64_t val)
{
    (void)vcpu;
    return frame_write(state, true, off, size, val);
}

static const struct mmio_ops refresh_ops = {.read = refresh_read, .write = refresh_write};
static const struct mmio_ops control_ops = {.read = control_read, .write = control_write};

/* A (re)started VM finds its watchdog off, as after a reset of the board. */
static void gwdt_dev_reset(struct vdev *dev)
{
    struct gwdt_dev *d = (struct gwdt_dev *)dev;

    spin_lock(&d->lock);
    d->w = (struct gwdt){0};
    sync_locked(d);
    spin_unlock(&d->lock);
}

/* A halted VM's watchdog must not fire: its deadline is dropped (reset() follows a restart). */
static void gwdt_dev_halt(struct vdev *dev, bool for_good)
{
    struct gwdt_dev *d = (struct gwdt_dev *)dev;

    (void)for_good;
    spin_lock(&d->lock);
    d->io->clock->arm(d->io->clock_ctx, &d->dev, GWDT_NEVER);
    spin_unlock(&d->lock);
}

static void gwdt_dev_expire(struct vdev *dev, uint64_t now)
{
    struct gwdt_dev *d = (struct gwdt_dev *)dev;

    spin_lock(&d->lock);
    enum gwdt_event ev = gwdt_advance(&d->w, now);
    sync_locked(d);
    spin_unlock(&d->lock);
    if (ev == GWDT_WS1) {
        d->io->clock->watchdog_expired(d->io->clock_ctx, &d->dev);
    }
}

static const struct vdev_ops gwdt_dev_ops = {
    .reset = gwdt_dev_reset, .halt = gwdt_dev_halt, .expire = gwdt_dev_expire};

/* reg[0]: the control frame, reg[1]: the refresh frame; spis[0]: WS0. */
static int sbsa_gwdt_create(struct vm_io *io, const struct vdev_desc *desc)
{
    if (!io->clock) {
        pr_err("%s: this VM cannot keep time for a watchdog\n", io->vm_name);
        return -1;
    }
    if (desc->nr_reg < 2 || desc->nr_spis < 1) {
        pr_err("%s: a watchdog needs its control and refresh frames and an SPI\n", io->vm_name);
        return -1;
    }
    struct gwdt_dev *d =
        (struct gwdt_dev *)vdev_alloc(io, sizeof(*d), &gwdt_dev_ops, "watchdog", desc->reg[0].base);
    if (!d) {
        return -1;
    }
    d->io = io;
    if (vdev_connect_spi(io, &d->dev, desc->spis[0], &d->ws0) != 0 ||
        vdev_add_mmio(io, &d->dev, desc->reg[0].base, GWDT_FRAME_SIZE, &control_ops, d) != 0 ||
        vdev_add_mmio(io, &d->dev, desc->reg[1].base, GWDT_FRAME_SIZE, &refresh_ops, d) != 0) {
        return -1;
    }
    return 0;
}

const struct vdev_model sbsa_gwdt_model = {.compatible = "arm,sbsa-gwdt",
                                           .create = sbsa_gwdt_create};
