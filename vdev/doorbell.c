/*
 * The doorbell of a shared-memory channel: one register page in each member VM (see
 * include/bulkhead/shmem.h for the registers) and a level SPI that stays high while someone's
 * ring is not acknowledged. A ring sets the ringer's bit in each peer's PENDING and raises the
 * peer's SPI; the peer clears its bits by writing them to PENDING. Rings to a VM that is not on
 * the channel are refused whole, and counted.
 *
 * Locking: each channel's lock guards its members' PENDING and REFUSED; a ring takes it, then
 * the peer's vGIC lock (through vdev_irq_set), as the lock order says (a device's lock, then
 * the vGIC's). The channel table is written while VMs are created, before any vCPU runs.
 */
#include "bulkhead/alloc.h"
#include "bulkhead/hvcall.h"
#include "bulkhead/printk.h"
#include "bulkhead/shmem.h"
#include "bulkhead/spinlock.h"
#include "bulkhead/vdev.h"

struct doorbell_channel;

struct doorbell {
    struct vdev dev;
    struct doorbell_channel *ch;
    const struct vm_io *io; /* its VM's, to find it from a hypercall */
    unsigned member;
    unsigned index; /* in its VM's list of maps */
    uint32_t members;
    uint32_t pending; /* who rang me: channel lock */
    uint32_t refused; /* rings refused: channel lock */
    unsigned lives;   /* resets: the first starts its VM's first life */
    struct vdev_irq irq;
};

struct doorbell_channel {
    spinlock_t lock;
    struct doorbell *members[SHM_MAX_MEMBERS];
};

static struct doorbell_channel channels[MAX_SHM_REGIONS];

/* Rings the members in mask. False, and nothing rung, if one is not on the channel. */
static bool ring(struct doorbell *d, uint32_t mask)
{
    struct doorbell_channel *ch = d->ch;
    bool ok = (mask & ~d->members) == 0;

    spin_lock(&ch->lock);
    if (!ok) {
        d->refused++;
    }
    for (unsigned m = 0; ok && m < SHM_MAX_MEMBERS; m++) {
        struct doorbell *peer = ch->members[m];
        /* A member whose VM was not created has no device: its ring goes nowhere. */
        if ((mask & BIT(m)) && peer) {
            peer->pending |= (uint32_t)BIT(d->member);
            vdev_irq_set(&peer->irq, true);
        }
    }
    spin_unlock(&ch->lock);
    return ok;
}

/* Clears the pending bits in mask; the line follows what is left. Returns what was pending. */
static uint32_t ack(struct doorbell *d, uint32_t mask)
{
    spin_lock(&d->ch->lock);
    uint32_t was = d->pending;
    d->pending &= ~mask;
    vdev_irq_set(&d->irq, d->pending != 0);
    spin_unlock(&d->ch->lock);
    return was;
}

static enum mmio_result db_read(void *state, unsigned vcpu, uint64_t offset, unsigned size,
                                uint64_t *val)
{
    struct doorbell *d = state;

    (void)vcpu;
    if (size != 4) {
        return MMIO_ABORT;
    }
    spin_lock(&d->ch->lock);
    switch (offset) {
    case SHM_DB_ID: *val = d->member; break;
    case SHM_DB_MEMBERS: *val = d->members; break;
    case SHM_DB_PENDING: *val = d->pending; break;
    case SHM_DB_REFUSED: *val = d->refused; break;
    case SHM_DB_MAGIC: *val = SHM_DB_MAGIC_VALUE; break;
    default: *val = 0; break; /* RING and the rest of the page read as zero */
    }
    spin_unlock(&d->ch->lock);
    return MMIO_OK;
}

static enum mmio_result db_write(void *state, unsigned vcpu, uint64_t offset, unsigned size,
                                 uint64_t val)
{
    struct doorbell *d = state;

    (void)vcpu;
    if (size != 4) {
        return MMIO_ABORT;
    }
    if (offset == SHM_DB_RING) {
        ring(d, (uint32_t)val);
    } else if (offset == SHM_DB_PENDING) {
        ack(d, (uint32_t)val);
    }
    return MMIO_OK; /* writes to read-only registers are ignored */
}

static const struct mmio_ops db_mmio_ops = {.read = db_read, .write = db_write};

/* The VM (re)starts: nobody has rung it yet, and its refusals are forgotten. From its second
 * life on, its peers are rung, in its name: the channel's other end restarted (what it left in
 * the region is still there). Called with the VM's lock held, which comes before the channel's. */
static void db_reset(struct vdev *dev)
{
    struct doorbell *d = (struct doorbell *)dev;

    spin_lock(&d->ch->lock);
    d->pending = 0;
    d->refused = 0;
    bool restart = d->lives++ > 0;
    vdev_irq_set(&d->irq, false);
    spin_unlock(&d->ch->lock);
    if (restart) {
        ring(d, d->members & ~(uint32_t)BIT(d->member));
    }
}

static const struct vdev_ops db_ops = {.reset = db_reset};

/* reg[0]: the register page; spis[0]: its interrupt; params: struct shm_doorbell_params. */
static int doorbell_create(struct vm_io *io, const struct vdev_desc *desc)
{
    const struct shm_doorbell_params *p = desc->params;

    if (!p || desc->nr_reg < 1 || desc->nr_spis < 1 || p->channel >= MAX_SHM_REGIONS ||
        p->member >= SHM_MAX_MEMBERS) {
        pr_err("%s: a doorbell needs a page, an SPI and its channel\n", io->vm_name);
        return -1;
    }
    struct doorbell *d =
        (struct doorbell *)vdev_alloc(io, sizeof(*d), &db_ops, "doorbell", desc->reg[0].base);
    if (!d) {
        return -1;
    }
    d->ch = &channels[p->channel];
    d->io = io;
    d->member = p->member;
    d->index = p->index;
    d->members = p->members;
    if (vdev_connect_spi(io, &d->dev, desc->spis[0], &d->irq) != 0 ||
        vdev_add_mmio(io, &d->dev, desc->reg[0].base, SHM_DOORBELL_SIZE, &db_mmio_ops, d) != 0) {
        return -1;
    }
    d->ch->members[p->member] = d;
    return 0;
}

const struct vdev_model doorbell_model = {.compatible = "bulkhead,doorbell",
                                          .create = doorbell_create};

/* The caller's doorbell number index, or NULL. */
static struct doorbell *find(const struct vm_io *io, uint64_t index)
{
    for (unsigned c = 0; c < MAX_SHM_REGIONS; c++) {
        for (unsigned m = 0; m < SHM_MAX_MEMBERS; m++) {
            struct doorbell *d = channels[c].members[m];
            if (d && d->io == io && d->index == index) {
                return d;
            }
        }
    }
    return NULL;
}

int64_t doorbell_hvc_ring(const struct vm_io *io, uint64_t index, uint64_t mask)
{
    struct doorbell *d = find(io, index);

    if (!d || mask > UINT32_MAX) {
        return d ? PSCI_RET_DENIED : PSCI_RET_INVALID_PARAMS;
    }
    return ring(d, (uint32_t)mask) ? 0 : PSCI_RET_DENIED;
}

int64_t doorbell_hvc_ack(const struct vm_io *io, uint64_t index)
{
    struct doorbell *d = find(io, index);

    return d ? (int64_t)ack(d, UINT32_MAX) : PSCI_RET_INVALID_PARAMS;
}
