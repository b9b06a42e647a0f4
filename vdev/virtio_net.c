/*
 * virtio-net (virtio 1.2, 5.1): a VM's port of a switch in the hypervisor. A frame the guest
 * puts in its transmit queue is copied out of its TX chain, handed to the switch
 * (vdev/vswitch.c), and copied by the switch's receive() into each receiving device's next RX
 * chain, validated in the receiver's RAM by virtio_pop there. No backend VM, no offloads.
 *
 * Locking: the transport calls notify() with this device's lock held, and a frame going out
 * takes the receiving device's lock. Two VMs sending to each other would take the two locks in
 * opposite orders, so nothing is delivered under a device's own lock: notify() only notes the
 * kick, and after_notify() (lock dropped) stages at most VNET_STAGE frames under the lock, drops
 * it, delivers them, and again, up to VIRTIO_BUDGET frames per exit; the rest waits for the
 * driver's next access (virtio_more). tx_lock serializes the device's own vCPUs over the
 * staging buffers. Order: tx_lock, then one device lock at a time (ours to stage, then each
 * receiver's), then the vGIC's.
 */
#include "bulkhead/virtio_net.h"
#include "bulkhead/printk.h"
#include "bulkhead/string.h"
#include "bulkhead/virtio.h"

/* Frames copied out of the TX queue per hold of the device's lock: a few, since every device's
 * buffers come from the small boot-time arena. */
#define VNET_STAGE 2

/* The configuration space (5.1.4) as far as VIRTIO_NET_F_MAC goes. */
struct vnet_config {
    uint8_t mac[ETH_ALEN];
    uint16_t status; /* without VIRTIO_NET_F_STATUS the driver ignores it: the link is up */
};

struct vnet {
    struct virtio_dev vd;
    struct vswitch_port *port;
    struct vnet_config config;
    spinlock_t tx_lock; /* the staged frames: taken before any device lock */
    uint16_t staged_len[VNET_STAGE];
    uint8_t staged[VNET_STAGE][VSWITCH_MAX_FRAME] __attribute__((aligned(8)));
};

/*
 * memcpy at word speed whatever the two addresses' alignments: lib's memcpy is word-fast only
 * when both are 8-byte aligned, which a frame after a 12-byte header never is on both sides
 * (bytes one at a time made a 1500-byte frame cost 17,000 instructions). The source is read in
 * aligned 8-byte words, each lying in the same page as a byte of [src, src + n): nothing of
 * another page is read.
 */
static void copy_words(uint8_t *d, const uint8_t *s, size_t n)
{
    while (n && ((uintptr_t)d & 7)) {
        *d++ = *s++;
        n--;
    }
    unsigned shift = (unsigned)((uintptr_t)s & 7) * 8;
    if (shift == 0 || n < 16) {
        memcpy(d, s, n);
        return;
    }
    const uint64_t *from = (const uint64_t *)(uintptr_t)((uintptr_t)s & ~(uintptr_t)7);
    uint64_t *to = (uint64_t *)(void *)d;
    uint64_t lo = *from++;
    size_t words = (n - 8) / 8; /* the last word's bytes may end past the next aligned word */
    for (size_t i = 0; i < words; i++) {
        uint64_t hi = *from++;
        *to++ = (lo >> shift) | (hi << (64 - shift));
        lo = hi;
    }
    memcpy(to, s + words * 8, n - words * 8);
}

/* Copies len bytes between buf and the chain's readable (out) or writable part from byte off
 * of it, as virtq_read and virtq_write do, at word speed. Returns the count. */
static size_t chain_copy(const struct virtq_chain *c, bool out, uint64_t off, uint8_t *buf,
                         size_t len)
{
    unsigned first = out ? 0 : c->nr_out, nr = out ? c->nr_out : c->nr_in;
    size_t done = 0;

    for (unsigned i = first; i < first + nr && done < len; i++) {
        const struct virtq_seg *seg = &c->seg[i];
        if (off >= seg->len) {
            off -= seg->len;
            continue;
        }
        size_t n = MIN((size_t)(seg->len - off), len - done);
        if (out) {
            copy_words(buf + done, seg->host + off, n);
        } else {
            copy_words(seg->host + off, buf + done, n);
        }
        done += n;
        off = 0;
    }
    return done;
}

/* Every switch of the machine, made as VMs' devices are created (before any vCPU runs). */
static struct vswitches switches;

struct vswitches *vnet_switches(void)
{
    return &switches;
}

/* Copies up to VNET_STAGE frames out of the TX queue and gives their chains back. Returns how
 * many chains were taken (a frame too long for a switch is given back and counted by it as an
 * error, its length kept, its bytes not read). Device lock held. */
static unsigned stage(struct vnet *n, unsigned max)
{
    struct virtq_chain c;
    unsigned k = 0;

    while (k < max && virtio_pop(&n->vd, VIRTIO_NET_TXQ, &c) == 1) {
        uint64_t len = c.out_len > VIRTIO_NET_HDR_LEN ? c.out_len - VIRTIO_NET_HDR_LEN : 0;
        if (len > VSWITCH_MAX_FRAME) {
            len = VSWITCH_MAX_FRAME + 1;
        } else {
            chain_copy(&c, true, VIRTIO_NET_HDR_LEN, n->staged[k], (size_t)len);
        }
        n->staged_len[k++] = (uint16_t)len;
        virtio_push(&n->vd, VIRTIO_NET_TXQ, &c, 0);
    }
    return k;
}

/* Sends what the guest queued, at most VIRTIO_BUDGET frames; the transport resumes the rest at
 * the driver's next access. No device lock held. */
static void transmit(struct vnet *n)
{
    unsigned sent = 0, taken;

    spin_lock(&n->tx_lock);
    do {
        unsigned want = VIRTIO_BUDGET - sent < VNET_STAGE ? VIRTIO_BUDGET - sent : VNET_STAGE;
        virtio_lock(&n->vd);
        taken = stage(n, want);
        if (taken == want && sent + taken == VIRTIO_BUDGET) {
            virtio_more(&n->vd, VIRTIO_NET_TXQ);
        }
        virtio_unlock(&n->vd);
        for (unsigned i = 0; i < taken; i++) {
            vswitch_send(n->port, n->staged[i], n->staged_len[i]);
        }
        sent += taken;
    } while (taken == VNET_STAGE && sent < VIRTIO_BUDGET);
    spin_unlock(&n->tx_lock);
}

/* The switch gives us a frame: into the next RX chain, after a header that says nothing (no
 * offloads, one buffer). On the sender's CPU, no lock held but the sender's tx_lock. */
static enum vswitch_rx vnet_receive(void *ctx, const uint8_t *frame, size_t len)
{
    static const uint8_t hdr[VIRTIO_NET_HDR_LEN] = {[10] = 1}; /* num_buffers = 1 */
    struct vnet *n = ctx;
    struct virtq_chain c;
    enum vswitch_rx r = VSWITCH_RX_DOWN;

    virtio_lock(&n->vd);
    switch (virtio_live(&n->vd) ? virtio_pop(&n->vd, VIRTIO_NET_RXQ, &c) : -1) {
    case 1:
        if (c.in_len < VIRTIO_NET_HDR_LEN + len) {
            /* A buffer too small for a frame: the driver sees a length error for it. */
            virtio_push(&n->vd, VIRTIO_NET_RXQ, &c, 0);
            r = VSWITCH_RX_FULL;
            break;
        }
        virtq_write(&c, 0, hdr, sizeof(hdr));
        chain_copy(&c, false, VIRTIO_NET_HDR_LEN, (uint8_t *)(uintptr_t)frame, len);
        virtio_push(&n->vd, VIRTIO_NET_RXQ, &c, (uint32_t)(VIRTIO_NET_HDR_LEN + len));
        r = VSWITCH_RX_OK;
        break;
    case 0: r = VSWITCH_RX_FULL; break;
    default: break; /* not live, or its driver broke the ring (failed and reported) */
    }
    virtio_unlock(&n->vd);
    return r;
}

static const struct vswitch_port_ops vnet_port_ops = {.receive = vnet_receive};

/* The work is done in after_notify, with the lock dropped (see the top). */
static void vnet_notify(struct virtio_dev *vd, unsigned q)
{
    (void)vd;
    (void)q;
}

static void vnet_after_notify(struct virtio_dev *vd, unsigned q)
{
    if (q == VIRTIO_NET_TXQ) {
        transmit((struct vnet *)vd);
    }
}

/* The driver or the VM was reset: its guest may bring other MACs up. */
static void vnet_reset(struct virtio_dev *vd)
{
    vswitch_port_forget(((struct vnet *)vd)->port);
}

static const struct virtio_backend vnet_backend = {
    .model = "virtio-net",
    .device_id = VIRTIO_ID_NET,
    .features = BIT(VIRTIO_NET_F_MAC),
    .nr_queues = 2,
    .notify = vnet_notify,
    .after_notify = vnet_after_notify,
    .reset = vnet_reset,
};

static int vnet_create(struct vm_io *io, const struct vdev_desc *desc)
{
    const struct vm_virtio_dev *cfg = desc->params;
    struct vswitch *sw;
    struct vnet *n;

    if (!cfg || !cfg->net_switch[0]) {
        pr_err("%s: a virtio-net device needs its switch's name\n", io->vm_name);
        return -1;
    }
    n = (struct vnet *)virtio_create(io, desc, sizeof(*n), &vnet_backend);
    if (!n) {
        return -1;
    }
    sw = vswitch_get(&switches, cfg->net_switch);
    if (!sw) {
        pr_err("%s: %s: switch \"%s\" would be one more than the %u switches there may be\n",
               io->vm_name, n->vd.dev.name, cfg->net_switch, VSWITCH_MAX);
        return -1;
    }
    n->port = vswitch_add_port(sw, io->vm_name, n->vd.dev.name, cfg->mac, &vnet_port_ops, n);
    if (!n->port) {
        return -1;
    }
    memcpy(n->config.mac, cfg->mac, ETH_ALEN);
    n->vd.config = &n->config;
    n->vd.config_size = sizeof(n->config);
    return 0;
}

const struct vdev_model virtio_net_model = {
    .compatible = "bulkhead,virtio-net",
    .create = vnet_create,
};
