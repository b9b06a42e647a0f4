/*
 * The switch side of a "bulkhead,virtio-net" node (docs/CONFIG.md, "A network between VMs"):
 * which switch the VM's port is on, and its MAC. Pure C, host-tested (test_virtio_net), also in
 * the configuration checker. See bulkhead/virtio_net.h.
 */
#include "bulkhead/fdt_read.h"
#include "bulkhead/string.h"
#include "bulkhead/virtio_net.h"

#include <libfdt.h>

void vnet_default_mac(const char *vm_name, unsigned port, uint8_t mac[ETH_ALEN])
{
    /* FNV-1a: the same name gives the same bytes on every build and boot. */
    uint32_t h = 2166136261u;

    for (const char *p = vm_name; *p; p++) {
        h = (h ^ (uint8_t)*p) * 16777619u;
    }
    mac[0] = 0x02; /* locally administered, unicast */
    mac[1] = 0xb4;
    mac[2] = (uint8_t)(h >> 16);
    mac[3] = (uint8_t)(h >> 8);
    mac[4] = (uint8_t)h;
    mac[5] = (uint8_t)port;
}

static bool read_switch(const void *fdt, int node, struct vm_virtio_dev *d)
{
    int len;
    const char *name = fdt_getprop(fdt, node, "bulkhead,switch", &len);

    if (!name || len < 2 || name[len - 1] != '\0' || strlen(name) != (size_t)len - 1) {
        config_node_err(fdt, node,
                        "a virtio-net device needs bulkhead,switch = \"<name>\": the switch it "
                        "is a port of");
        return false;
    }
    if ((size_t)len > sizeof(d->net_switch)) {
        config_node_err(fdt, node, "bulkhead,switch \"%s\" is longer than %u characters", name,
                        (unsigned)sizeof(d->net_switch) - 1);
        return false;
    }
    memcpy(d->net_switch, name, (size_t)len);
    return true;
}

static bool read_mac(const void *fdt, int node, const char *vm_name, unsigned port,
                     struct vm_virtio_dev *d)
{
    int len;
    const uint8_t *mac = fdt_getprop(fdt, node, "local-mac-address", &len);

    if (!mac) {
        vnet_default_mac(vm_name, port, d->mac);
        d->has_mac = false;
        return true;
    }
    if (len != ETH_ALEN || !vswitch_mac_valid(mac)) {
        config_node_err(fdt, node,
                        "local-mac-address must be 6 bytes of a unicast address, e.g. [02 00 00 "
                        "00 00 01]");
        return false;
    }
    memcpy(d->mac, mac, ETH_ALEN);
    d->has_mac = true;
    return true;
}

bool vnet_parse_node(const void *fdt, int node, const char *vm_name, unsigned port,
                     struct vm_virtio_dev *d)
{
    return read_switch(fdt, node, d) && read_mac(fdt, node, vm_name, port, d);
}
