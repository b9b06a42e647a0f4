/* Ethernet switches between VMs' virtio-net ports. See bulkhead/vswitch.h. */
#include "bulkhead/vswitch.h"

#include "bulkhead/printk.h"
#include "bulkhead/string.h"

struct vswitch *vswitch_get(struct vswitches *all, const char *name)
{
    struct vswitch *sw;

    for (unsigned i = 0; i < all->nr; i++) {
        if (strcmp(all->sw[i].name, name) == 0) {
            return &all->sw[i];
        }
    }
    if (all->nr == VSWITCH_MAX) {
        return NULL;
    }
    sw = &all->sw[all->nr++];
    memset(sw, 0, sizeof(*sw));
    snprintf(sw->name, sizeof(sw->name), "%s", name);
    return sw;
}

static bool mac_equal(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, ETH_ALEN) == 0;
}

static bool mac_multicast(const uint8_t *mac)
{
    return (mac[0] & 1) != 0;
}
struct vswitch_port *vswitch_add_port(struct vswitch *sw, const char *owner, const char *port_name,
                                      const uint8_t mac[ETH_ALEN],
                                      const struct vswitch_port_ops *ops, void *ctx)
{
    struct vswitch_port *port;

    if (sw->nr_ports == VSWITCH_MAX_PORTS) {
        pr_err("%s: %s: switch \"%s\" has %u ports already\n", owner, port_name, sw->name,
               VSWITCH_MAX_PORTS);
        return NULL;
    }
    for (unsigned i = 0; i < sw->nr_ports; i++) {
        if (mac_equal(sw->ports[i].mac, mac)) {
            pr_err("%s: %s: MAC %02x:%02x:%02x:%02x:%02x:%02x is port %s's on switch \"%s\"\n",
                   owner, port_name, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
                   sw->ports[i].name, sw->name);
            return NULL;
        }
    }
    port = &sw->ports[sw->nr_ports];
    *port = (struct vswitch_port){.sw = sw, .index = sw->nr_ports, .ops = ops, .ctx = ctx};
    snprintf(port->name, sizeof(port->name), "%s %s", owner, port_name);
    memcpy(port->mac, mac, ETH_ALEN);
    sw->nr_ports++;
    return port;
}

static void count(uint64_t *counter, uint64_t n)
{
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

/* The entry for mac, or NULL. Switch lock held. */
static struct vswitch_fdb_entry *fdb_find(struct vswitch *sw, const uint8_t *mac)
{
    for (unsigned i = 0; i < VSWITCH_FDB_SIZE; i++) {
        if (sw->fdb[i].used && mac_equal(sw->fdb[i].mac, mac)) {
            return &sw->fdb[i];
        }
    }
    return NULL;
}

/* A free entry, or the one seen longest ago. Switch lock held. */
static struct vswitch_fdb_entry *fdb_victim(struct vswitch *sw)
{
    struct vswitch_fdb_entry *oldest = &sw->fdb[0];

    for (unsigned i = 0; i < VSWITCH_FDB_SIZE; i++) {
        if (!sw->fdb[i].used) {
            return &sw->fdb[i];
        }
        /* Unsigned difference: right across the stamp's wrap-around. */
        if (sw->clock - sw->fdb[i].stamp > sw->clock - oldest->stamp) {
            oldest = &sw->fdb[i];
        }
    }
    return oldest;
}

/* Learns src on port and looks dst up. Returns the port index dst was learned on, or -1. */
static int learn_and_lookup(struct vswitch_port *from, const uint8_t *dst, const uint8_t *src)
{
    struct vswitch *sw = from->sw;
    struct vswitch_fdb_entry *e;
    int to = -1;

    spin_lock(&sw->lock);
    sw->clock++;
    if (vswitch_mac_valid(src)) {
        e = fdb_find(sw, src);
        if (!e) {
            e = fdb_victim(sw);
            memcpy(e->mac, src, ETH_ALEN);
            e->used = true;
        }
        e->port = (uint8_t)from->index;
        e->stamp = sw->clock;
    }
    if (!mac_multicast(dst)) {
        e = fdb_find(sw, dst);
        to = e ? e->port : -1;
    }
    spin_unlock(&sw->lock);
    return to;
}

/* Gives the frame to one port, counting the outcome. Returns whether it took it. */
static bool deliver(struct vswitch_port *to, const uint8_t *frame, size_t len)
{
    switch (to->ops->receive(to->ctx, frame, len)) {
    case VSWITCH_RX_OK:
        count(&to->counters.rx_frames, 1);
        count(&to->counters.rx_bytes, len);
        return true;
    case VSWITCH_RX_FULL: count(&to->counters.rx_drops, 1); return false;
    case VSWITCH_RX_DOWN:
    default: return false;
    }
}

unsigned vswitch_send(struct vswitch_port *from, const uint8_t *frame, size_t len)
{
    struct vswitch *sw = from->sw;
    unsigned reached = 0;
    int to;

    if (len < ETH_HLEN || len > VSWITCH_MAX_FRAME) {
        count(&from->counters.tx_errors, 1);
        return 0;
    }
    count(&from->counters.tx_frames, 1);
    count(&from->counters.tx_bytes, len);
    to = learn_and_lookup(from, frame, frame + ETH_ALEN);
    if (to >= 0) {
        if ((unsigned)to == from->index) {
            return 0;
        }
        return deliver(&sw->ports[to], frame, len) ? 1 : 0;
    }
    for (unsigned i = 0; i < sw->nr_ports; i++) {
        if (i != from->index && deliver(&sw->ports[i], frame, len)) {
            reached++;
        }
    }
    return reached;
}

void vswitch_port_forget(struct vswitch_port *port)
{
    struct vswitch *sw = port->sw;

    spin_lock(&sw->lock);
    for (unsigned i = 0; i < VSWITCH_FDB_SIZE; i++) {
        if (sw->fdb[i].used && sw->fdb[i].port == port->index) {
            sw->fdb[i].used = false;
        }
    }
    spin_unlock(&sw->lock);
}

void vswitch_port_counters(const struct vswitch_port *port, struct vswitch_counters *out)
{
    const struct vswitch_counters *c = &port->counters;

    out->tx_frames = __atomic_load_n(&c->tx_frames, __ATOMIC_RELAXED);
    out->tx_bytes = __atomic_load_n(&c->tx_bytes, __ATOMIC_RELAXED);
    out->tx_errors = __atomic_load_n(&c->tx_errors, __ATOMIC_RELAXED);
    out->rx_frames = __atomic_load_n(&c->rx_frames, __ATOMIC_RELAXED);
    out->rx_bytes = __atomic_load_n(&c->rx_bytes, __ATOMIC_RELAXED);
    out->rx_drops = __atomic_load_n(&c->rx_drops, __ATOMIC_RELAXED);
}
