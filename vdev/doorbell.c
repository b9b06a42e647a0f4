/*
 * The doorbell of a shared-memory channel: one register page in each member VM (see
 * include/bulkhead/shmem.h for the registers) and a level SPI. A ring sets the ringer's bit in
 * each peer's PENDING and raises the peer's SPI; the peer clears its bits by writing them to
 * PENDING. Rings to a VM that is not on the channel are refused whole, and counted.
 *
 * The same page is also a PL061 GPIO controller (ARM DDI 0190), so that Linux's stock gpio-pl061
 * driver takes the doorbell's interrupt (with the driver bound, Linux's IO_STRICT_DEVMEM keeps
 * /dev/mem off the page): input line N (0-3) is PENDING bit N (member N rang), an edge on it
 * latches in GPIORIS as the PL061's edge and level settings say, GPIOIC clears both; output line
 * 4 + N going high rings member N. Until the guest writes a PL061 control register (the
 * driver's probe does), the SPI follows PENDING; from then on it follows GPIOMIS, as the driver
 * expects.
 *
 * Locking: each channel's lock guards its members' registers; a ring takes it, then the peer's
 * vGIC lock (through vdev_irq_set), as the lock order says (a device's lock, then the vGIC's).
 * The channel table is written while VMs are created, before any vCPU runs.
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
    /* Channel lock from here on. */
    uint32_t pending; /* who rang me */
    uint32_t refused; /* rings refused */
    /* The PL061 face: direction, interrupt sense, both edges, event (rising/high), enable, raw
     * status, output lines, mode control (kept, no effect). */
    uint8_t dir, is, ibe, iev, ie, ris, out, afsel;
    bool gpio;      /* a PL061 control register was written: the SPI follows GPIOMIS */
    unsigned lives; /* resets: the first starts its VM's first life */
    bool live;      /* its VM runs: from its start to its power-off or stop */
    struct vdev_irq irq;
};

struct doorbell_channel {
    spinlock_t lock;
    struct doorbell *members[SHM_MAX_MEMBERS];
};

static struct doorbell_channel channels[MAX_SHM_REGIONS];

/* The PL061's lines: 0-3 in (who rang), 4-7 out (ring that member). */
#define GPIO_IN_LINES 0x0fu
#define GPIO_RING_SHIFT 4

/* The SPI's level. Channel lock held. */
static void update_irq(struct doorbell *d)
{
    vdev_irq_set(&d->irq, d->gpio ? (d->ris & d->ie) != 0 : d->pending != 0);
}

/* Input lines went from `was` to d->pending: the PL061's events. Channel lock held. */
static void gpio_events(struct doorbell *d, uint32_t was)
{
    uint8_t now = d->pending & GPIO_IN_LINES, before = was & GPIO_IN_LINES;
    uint8_t rose = now & ~before, fell = before & ~now;
    uint8_t edge = (uint8_t)(~d->is & ((d->ibe & (rose | fell)) | (~d->ibe & d->iev & rose) |
                                       (~d->ibe & ~d->iev & fell)));
    uint8_t level = d->is & ((d->iev & now) | (~d->iev & ~now));

    d->ris = (uint8_t)(edge | level | (d->ris & ~d->is));
}

/* Member `from` rang d. Channel lock held. */
static void rung(struct doorbell *d, unsigned from)
{
    uint32_t was = d->pending;

    d->pending |= (uint32_t)BIT(from);
    gpio_events(d, was);
    update_irq(d);
}

/* Rings the members in mask. False, and nothing rung, if one is not on the channel. Channel
 * lock held. */
static bool ring_locked(struct doorbell *d, uint32_t mask)
{
    bool ok = (mask & ~d->members) == 0;

    if (!ok) {
        d->refused++;
    }
    for (unsigned m = 0; ok && m < SHM_MAX_MEMBERS; m++) {
        struct doorbell *peer = d->ch->members[m];
        /* A member whose VM was not created has no device: its ring goes nowhere. */
        if ((mask & BIT(m)) && peer) {
            rung(peer, d->member);
        }
    }
    return ok;
}

/* Rings the members in mask. False, and nothing rung, if one is not on the channel. */
static bool ring(struct doorbell *d, uint32_t mask)
{
    spin_lock(&d->ch->lock);
    bool ok = ring_locked(d, mask);
    spin_unlock(&d->ch->lock);
    return ok;
}

/* Clears the pending bits in mask; the line follows what is left. Returns what was pending. */
static uint32_t ack(struct doorbell *d, uint32_t mask)
{
    spin_lock(&d->ch->lock);
    uint32_t was = d->pending;
    d->pending &= ~mask;
    gpio_events(d, was);
    update_irq(d);
    spin_unlock(&d->ch->lock);
    return was;
}

/* PeriphID0-3 (PL061 r1p1) then PCellID0-3, as Linux's AMBA bus reads them. */
static const uint8_t pl061_id[8] = {0x61, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

static uint32_t gpio_read(const struct doorbell *d, uint64_t offset)
{
    if (offset < PL061_DIR) {
        /* GPIODATA: address bits [9:2] mask the lines read. */
        uint8_t lines = (uint8_t)((d->pending & GPIO_IN_LINES & ~d->dir) | (d->out & d->dir));
        return lines & (uint8_t)(offset >> 2);
    }
    switch (offset) {
    case PL061_DIR: return d->dir;
    case PL061_IS: return d->is;
    case PL061_IBE: return d->ibe;
    case PL061_IEV: return d->iev;
    case PL061_IE: return d->ie;
    case PL061_RIS: return d->ris;
    case PL061_MIS: return d->ris & d->ie;
    case PL061_AFSEL: return d->afsel;
    default:
        if (offset >= PL061_ID && offset < PL061_ID + 32) {
            return pl061_id[(offset - PL061_ID) / 4];
        }
        return 0;
    }
}

/* Channel lock held. */
static uint32_t live_members(const struct doorbell_channel *ch)
{
    uint32_t live = 0;

    for (unsigned m = 0; m < SHM_MAX_MEMBERS; m++) {
        if (ch->members[m] && ch->members[m]->live) {
            live |= (uint32_t)BIT(m);
        }
    }
    return live;
}

static uint32_t db_reg(const struct doorbell *d, uint64_t offset)
{
    switch (offset) {
    case SHM_DB_ID: return d->member;
    case SHM_DB_MEMBERS: return d->members;
    case SHM_DB_PENDING: return d->pending;
    case SHM_DB_REFUSED: return d->refused;
    case SHM_DB_MAGIC: return SHM_DB_MAGIC_VALUE;
    case SHM_DB_LIVE: return live_members(d->ch);
    default: return gpio_read(d, offset); /* RING reads as zero */
    }
}

static enum mmio_result db_read(void *state, unsigned vcpu, uint64_t offset, unsigned size,
                                uint64_t *val)
{
    struct doorbell *d = state;

    (void)vcpu;
    /* Bytes too: Linux's gpio-pl061 driver uses readb/writeb. */
    if (size != 4 && size != 1) {
        return MMIO_ABORT;
    }
    spin_lock(&d->ch->lock);
    *val = db_reg(d, offset);
    spin_unlock(&d->ch->lock);
    return MMIO_OK;
}

/* GPIODATA: output line 4 + N going high rings member N. Channel lock held. */
static void gpio_write_data(struct doorbell *d, uint64_t offset, uint8_t val)
{
    uint8_t mask = (uint8_t)(offset >> 2) & d->dir;
    uint8_t out = (uint8_t)((d->out & ~mask) | (val & mask));
    uint8_t rose = out & ~d->out;

    d->out = out;
    if (rose >> GPIO_RING_SHIFT) {
        ring_locked(d, rose >> GPIO_RING_SHIFT);
    }
}

/* A PL061 register. Channel lock held. */
static void gpio_write(struct doorbell *d, uint64_t offset, uint8_t val)
{
    if (offset < PL061_DIR) {
        gpio_write_data(d, offset, val);
        return;
    }
    switch (offset) {
    case PL061_DIR: d->dir = val; break;
    case PL061_IS: d->is = val; break;
    case PL061_IBE: d->ibe = val; break;
    case PL061_IEV: d->iev = val; break;
    case PL061_IE: d->ie = val; break;
    case PL061_AFSEL: d->afsel = val; break;
    case PL061_IC: {
        /* The driver's ack: the event, and the ring behind it, are taken. */
        uint32_t was = d->pending;
        d->ris &= (uint8_t)~val;
        d->pending &= ~(uint32_t)(val & GPIO_IN_LINES);
        gpio_events(d, was);
        break;
    }
    default: return; /* RIS, MIS and the IDs are read-only */
    }
    d->gpio = true;
}

static enum mmio_result db_write(void *state, unsigned vcpu, uint64_t offset, unsigned size,
                                 uint64_t val)
{
    struct doorbell *d = state;

    (void)vcpu;
    if (size != 4 && size != 1) {
        return MMIO_ABORT;
    }
    if (offset == SHM_DB_RING) {
        ring(d, (uint32_t)val);
        return MMIO_OK;
    }
    spin_lock(&d->ch->lock);
    if (offset == SHM_DB_PENDING) {
        uint32_t was = d->pending;
        d->pending &= ~(uint32_t)val;
        gpio_events(d, was);
    } else {
        gpio_write(d, offset, (uint8_t)val);
    }
    update_irq(d);
    spin_unlock(&d->ch->lock);
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
    d->dir = d->is = d->ibe = d->iev = d->ie = d->ris = d->out = d->afsel = 0;
    d->gpio = false;
    bool restart = d->lives++ > 0;
    d->live = true;
    vdev_irq_set(&d->irq, false);
    spin_unlock(&d->ch->lock);
    if (restart) {
        ring(d, d->members & ~(uint32_t)BIT(d->member));
    }
}

/* The VM powered off or was stopped: it leaves the channel's LIVE mask and its peers are rung,
 * in its name, so that they learn it without polling. A halt for a reset changes nothing: the
 * VM stays live, and rings its peers once it is back (db_reset). */
static void db_halt(struct vdev *dev, bool for_good)
{
    struct doorbell *d = (struct doorbell *)dev;

    if (!for_good) {
        return;
    }
    spin_lock(&d->ch->lock);
    d->live = false;
    ring_locked(d, d->members & ~(uint32_t)BIT(d->member));
    spin_unlock(&d->ch->lock);
}

static const struct vdev_ops db_ops = {.reset = db_reset, .halt = db_halt};

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
