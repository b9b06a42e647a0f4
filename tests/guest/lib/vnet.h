/*
 * A small polled virtio-net driver for the bare-metal guests (the demo answers ping over it, the
 * benchmark guest times frames between VMs): the first "virtio,mmio" device of the device tree
 * whose DeviceID is 1, virtio 1.2's modern interface, VIRTIO_NET_F_MAC, no offloads, one RX and
 * one TX queue of VNET_QSIZE entries with buffers of its own. Used TX buffers are taken back as
 * new frames need them; a received buffer is given back at once (Bulkhead's device takes RX
 * buffers as frames come: no notify is needed for them).
 */
#ifndef GUEST_VNET_H
#define GUEST_VNET_H

#include "guest.h"

/* virtio 1.2 4.2.2 (include/bulkhead/virtio.h is the hypervisor's: it brings its device
 * interface along, which a guest must not see). */
#define VIRTIO_MMIO_MAGIC 0x000
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_CONFIG 0x100
#define VIRTIO_MMIO_MAGIC_VALUE 0x74726976u
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 64u
#define VIRTIO_ID_NET 1
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_NET_F_MAC 5
#define VIRTQ_DESC_F_WRITE 2u

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

#define VNET_QSIZE 64
#define VNET_BUF 1536 /* a 1518-byte frame after its 12-byte header, rounded up */
#define VNET_HDR 12

/* The tables' alignments are virtio's (2.7): descriptors 16, available ring 2, used ring 4. */
struct vnet_queue {
    struct virtq_desc desc[VNET_QSIZE] __attribute__((aligned(16)));
    struct {
        uint16_t flags, idx, ring[VNET_QSIZE];
    } avail;
    struct {
        uint16_t flags, idx;
        struct {
            uint32_t id, len;
        } ring[VNET_QSIZE];
    } used __attribute__((aligned(4)));
    uint16_t avail_idx; /* ours: chains made available */
    uint16_t used_seen; /* ours: used entries taken */
    unsigned in_flight; /* TX only: buffers the device has not given back */
    uint8_t buf[VNET_QSIZE][VNET_BUF];
};

struct vnet {
    uintptr_t base; /* its registers */
    unsigned intid; /* its interrupt */
    uint8_t mac[6];
    struct vnet_queue rx, tx;
};

/* Finds the device in guest.fdt and brings it up (DRIVER_OK, every RX buffer posted). False,
 * after a line saying why, if there is none or it refused. */
bool vnet_init(struct vnet *n);
/* Queues a frame of len bytes (at most VNET_BUF - VNET_HDR); with kick, notifies the TX queue.
 * False if the TX ring is full (the device has not taken earlier frames yet). */
bool vnet_send(struct vnet *n, const void *frame, size_t len, bool kick);
/* Notifies the TX queue: the device takes what was queued. */
void vnet_kick(struct vnet *n);
/* Copies the next received frame into buf (at most max bytes) and gives its buffer back. Returns
 * the frame's length, 0 if none came. */
size_t vnet_recv(struct vnet *n, void *buf, size_t max);
/* Acknowledges the device's interrupt (what InterruptStatus says). */
void vnet_ack(struct vnet *n);

#endif
