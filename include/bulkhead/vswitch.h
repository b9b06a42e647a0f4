/*
 * Ethernet switches inside the hypervisor: each VM's virtio-net device is a port of a named
 * switch (`bulkhead,switch`). A frame a port sends goes to the port that owns its destination
 * MAC, learned from the source MACs of earlier frames; broadcast, multicast and destinations
 * not learned yet go to every other port of the switch. Nothing crosses from one switch to
 * another. Pure C, host-tested (tests/host/test_vswitch.c).
 *
 * A port is whatever can take a frame (struct vswitch_port_ops): the switch never sees guest
 * memory, only the flat frame the sending device copied out of its guest's TX buffers.
 *
 * Locking: switches and their ports are made while VMs are created, before any vCPU runs, and
 * read without a lock after. The learned addresses are under the switch's lock, which is never
 * held while a frame is delivered: vswitch_send() calls a receiver's receive() with no switch
 * lock held, so a device may take its own RX lock there (a sending device's TX lock, then a
 * receiving device's RX lock: never the other way round). Counters are atomic.
 */
#ifndef BULKHEAD_VSWITCH_H
#define BULKHEAD_VSWITCH_H

#include "config.h"
#include "spinlock.h"

#define VSWITCH_MAX 4          /* switches */
#define VSWITCH_MAX_PORTS 8    /* ports of one switch */
#define VSWITCH_FDB_SIZE 32    /* MACs one switch remembers (the oldest is forgotten first) */
#define VSWITCH_MAX_FRAME 1518 /* a 1500-byte MTU, an 802.1Q tag: no offloads, no jumbo frames */
#define ETH_ALEN 6
#define ETH_HLEN 14 /* destination, source, EtherType: the least a frame is */

enum vswitch_rx {
    VSWITCH_RX_OK,   /* the frame is in the receiver's buffers */
    VSWITCH_RX_FULL, /* no buffer free (a full RX ring): dropped, counted */
    VSWITCH_RX_DOWN, /* the port takes nothing (its driver is not ready): dropped, not counted */
};

struct vswitch_port_ops {
    /* Copies frame (len bytes, ETH_HLEN..VSWITCH_MAX_FRAME) into the port's receiver. Called
     * with no switch lock held, on the sender's CPU. */
    enum vswitch_rx (*receive)(void *ctx, const uint8_t *frame, size_t len);
};

/* Per port, counted by the switch: what the port sent into it and what it was given. */
struct vswitch_counters {
    uint64_t tx_frames, tx_bytes;
    uint64_t tx_errors; /* frames shorter than a header or longer than VSWITCH_MAX_FRAME */
    uint64_t rx_frames, rx_bytes;
    uint64_t rx_drops; /* frames for it that found its RX ring full */
};

struct vswitch;

struct vswitch_port {
    struct vswitch *sw;
    unsigned index;      /* in its switch */
    char name[NAME_LEN]; /* its device's, with the VM: "vm0 virtio-net@a000000" */
    uint8_t mac[ETH_ALEN];
    const struct vswitch_port_ops *ops;
    void *ctx;
    struct vswitch_counters counters;
};

struct vswitch_fdb_entry {
    uint8_t mac[ETH_ALEN];
    uint8_t port; /* index in the switch */
    bool used;
    uint32_t stamp; /* when it was last seen as a source: the oldest goes first */
};

struct vswitch {
    char name[NAME_LEN];
    struct vswitch_port ports[VSWITCH_MAX_PORTS];
    unsigned nr_ports;
    spinlock_t lock; /* the learned addresses, below */
    struct vswitch_fdb_entry fdb[VSWITCH_FDB_SIZE];
    uint32_t clock;
};

/* Every switch of the machine. */
struct vswitches {
    struct vswitch sw[VSWITCH_MAX];
    unsigned nr;
};

/* The switch called name, made if it is new. NULL if VSWITCH_MAX switches exist already. */
struct vswitch *vswitch_get(struct vswitches *all, const char *name);

/*
 * Adds a port to sw, with the MAC its device tells its guest. Returns it, or NULL after printing
 * why (the switch is full, or another port of it has that MAC), with owner (the VM's name) and
 * port_name in the message.
 */
struct vswitch_port *vswitch_add_port(struct vswitch *sw, const char *owner, const char *port_name,
                                      const uint8_t mac[ETH_ALEN],
                                      const struct vswitch_port_ops *ops, void *ctx);

/*
 * Port from sends a frame: its source MAC is learned, then it goes to the learned owner of its
 * destination, or to every other port (broadcast, multicast, unknown). Frames with a destination
 * learned on the sender itself go nowhere. Returns the number of ports it reached.
 */
unsigned vswitch_send(struct vswitch_port *from, const uint8_t *frame, size_t len);

/* Forgets what was learned on port (its VM restarts: its guest may choose other MACs). */
void vswitch_port_forget(struct vswitch_port *port);

/* A copy of port's counters (each read atomically). */
void vswitch_port_counters(const struct vswitch_port *port, struct vswitch_counters *out);

/* A MAC a port may own: not multicast (bit 0 of byte 0), not all zero. */
static inline bool vswitch_mac_valid(const uint8_t mac[ETH_ALEN])
{
    uint8_t any = 0;

    for (unsigned i = 0; i < ETH_ALEN; i++) {
        any |= mac[i];
    }
    return !(mac[0] & 1) && any != 0;
}

#endif
