/* A small polled virtio-net driver for the bare-metal guests. See vnet.h. */
#include <libfdt.h>

#include "vnet.h"

static inline void wmb(void)
{
    asm volatile("dmb ishst" ::: "memory");
}

static inline void rmb(void)
{
    asm volatile("dmb ishld" ::: "memory");
}

static uint32_t rd(const struct vnet *n, unsigned off)
{
    return mmio_read32(n->base + off);
}

static void wr(const struct vnet *n, unsigned off, uint32_t v)
{
    mmio_write32(n->base + off, v);
}

/* The first virtio,mmio node whose registers say network device. */
static bool find(struct vnet *n)
{
    int node = -1;

    while ((node = fdt_node_offset_by_compatible(guest.fdt, node, "virtio,mmio")) >= 0) {
        int len = 0;
        const fdt32_t *reg = fdt_getprop(guest.fdt, node, "reg", &len);
        const fdt32_t *irq = fdt_getprop(guest.fdt, node, "interrupts", NULL);
        if (!reg || len < 8 || !irq) {
            continue;
        }
        n->base = (uintptr_t)(((uint64_t)fdt32_to_cpu(reg[0]) << 32) | fdt32_to_cpu(reg[1]));
        n->intid = fdt32_to_cpu(irq[1]) + 32;
        if (rd(n, VIRTIO_MMIO_MAGIC) == VIRTIO_MMIO_MAGIC_VALUE &&
            rd(n, VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_NET) {
            return true;
        }
    }
    return false;
}

static void set_queue(struct vnet *n, unsigned q, struct vnet_queue *vq)
{
    uint64_t desc = (uintptr_t)vq->desc, avail = (uintptr_t)&vq->avail;
    uint64_t used = (uintptr_t)&vq->used;

    wr(n, VIRTIO_MMIO_QUEUE_SEL, q);
    wr(n, VIRTIO_MMIO_QUEUE_NUM, VNET_QSIZE);
    wr(n, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    wr(n, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    wr(n, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
    wr(n, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    wr(n, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
    wr(n, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
    wr(n, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Makes buffer i of vq available as one descriptor of len bytes. */
static void post(struct vnet_queue *vq, unsigned i, uint32_t len, bool writable)
{
    vq->desc[i] = (struct virtq_desc){
        .addr = (uintptr_t)vq->buf[i], .len = len, .flags = writable ? VIRTQ_DESC_F_WRITE : 0};
    vq->avail.ring[vq->avail_idx % VNET_QSIZE] = (uint16_t)i;
    wmb();
    vq->avail.idx = ++vq->avail_idx;
}

bool vnet_init(struct vnet *n)
{
    const uint32_t driver = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

    if (!guest.fdt_ok || !find(n)) {
        printf("vnet: no virtio-net device in the device tree\n");
        return false;
    }
    wr(n, VIRTIO_MMIO_STATUS, 0);
    wr(n, VIRTIO_MMIO_STATUS, driver);
    wr(n, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(n, VIRTIO_MMIO_DRIVER_FEATURES, BIT(VIRTIO_NET_F_MAC));
    wr(n, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(n, VIRTIO_MMIO_DRIVER_FEATURES, BIT(VIRTIO_F_VERSION_1 - 32));
    wr(n, VIRTIO_MMIO_STATUS, driver | VIRTIO_STATUS_FEATURES_OK);
    if (!(rd(n, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
        printf("vnet: the device at 0x%lx refused our features\n", (unsigned long)n->base);
        return false;
    }
    set_queue(n, 0, &n->rx);
    set_queue(n, 1, &n->tx);
    for (unsigned i = 0; i < 6; i++) {
        n->mac[i] = (uint8_t)(rd(n, VIRTIO_MMIO_CONFIG + (i & ~3u)) >> (8 * (i & 3)));
    }
    for (unsigned i = 0; i < VNET_QSIZE; i++) {
        post(&n->rx, i, VNET_BUF, true);
    }
    wr(n, VIRTIO_MMIO_STATUS, driver | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    if (rd(n, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET) {
        printf("vnet: the device at 0x%lx refused our queues\n", (unsigned long)n->base);
        return false;
    }
    return true;
}

/* TX buffers the device gave back are free again. */
static void reclaim_tx(struct vnet *n)
{
    struct vnet_queue *vq = &n->tx;
    uint16_t used = *(volatile uint16_t *)&vq->used.idx;

    rmb();
    vq->in_flight -= (uint16_t)(used - vq->used_seen);
    vq->used_seen = used;
}

bool vnet_send(struct vnet *n, const void *frame, size_t len, bool kick)
{
    struct vnet_queue *vq = &n->tx;

    if (len > VNET_BUF - VNET_HDR) {
        return false;
    }
    if (vq->in_flight == VNET_QSIZE) {
        reclaim_tx(n);
        if (vq->in_flight == VNET_QSIZE) {
            return false;
        }
    }
    /* Buffers are given back in order: the next free one follows the last made available. */
    unsigned i = vq->avail_idx % VNET_QSIZE;
    memset(vq->buf[i], 0, VNET_HDR);
    memcpy(vq->buf[i] + VNET_HDR, frame, len);
    vq->in_flight++;
    post(vq, i, (uint32_t)(VNET_HDR + len), false);
    if (kick) {
        vnet_kick(n);
    }
    return true;
}

void vnet_kick(struct vnet *n)
{
    asm volatile("dsb ish" ::: "memory");
    wr(n, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
}

size_t vnet_recv(struct vnet *n, void *buf, size_t max)
{
    struct vnet_queue *vq = &n->rx;

    if (*(volatile uint16_t *)&vq->used.idx == vq->used_seen) {
        return 0;
    }
    rmb();
    unsigned slot = vq->used_seen++ % VNET_QSIZE;
    unsigned i = vq->used.ring[slot].id % VNET_QSIZE;
    uint32_t len = vq->used.ring[slot].len;
    size_t frame = len > VNET_HDR ? MIN(len - VNET_HDR, max) : 0;
    memcpy(buf, vq->buf[i] + VNET_HDR, frame);
    post(vq, i, VNET_BUF, true);
    return frame;
}

void vnet_ack(struct vnet *n)
{
    wr(n, VIRTIO_MMIO_INTERRUPT_ACK, rd(n, VIRTIO_MMIO_INTERRUPT_STATUS));
}
