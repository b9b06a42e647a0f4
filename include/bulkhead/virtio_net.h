/*
 * virtio-net: a VM's network device, a port of a switch in the hypervisor (vdev/vswitch.c).
 * Binding and what the guest sees: docs/CONFIG.md, "Virtio devices", "A network between VMs".
 *
 * The device (vdev/virtio_net.c) is a virtio-mmio backend (include/bulkhead/virtio.h): device ID
 * 1, queue 0 receives, queue 1 transmits, VIRTIO_NET_F_MAC and no offloads (the guest checksums
 * and segments itself; frames are at most VSWITCH_MAX_FRAME bytes). Its config node
 * (config/vswitch.c, pure) names the switch and may give the MAC.
 */
#ifndef BULKHEAD_VIRTIO_NET_H
#define BULKHEAD_VIRTIO_NET_H

#include "config.h"
#include "vswitch.h"

#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_HDR_LEN 12 /* struct virtio_net_hdr with num_buffers: VERSION_1's size */
#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1

/*
 * Reads a "bulkhead,virtio-net" node into d: `bulkhead,switch` (the switch's name, required)
 * and `local-mac-address` (6 bytes, a unicast address; when absent, vnet_default_mac(vm_name,
 * port)). port: the device's number among its VM's virtio-net devices. False after a message
 * naming the node.
 */
bool vnet_parse_node(const void *fdt, int node, const char *vm_name, unsigned port,
                     struct vm_virtio_dev *d);

/*
 * The MAC a VM's port gets without `local-mac-address`: locally administered and unicast
 * (02:b4), three bytes of a hash of the VM's name, then the port's number, so it stays the same
 * across boots and when VMs are reordered.
 */
void vnet_default_mac(const char *vm_name, unsigned port, uint8_t mac[ETH_ALEN]);

/* The machine's switches (made as the VMs' devices are created): for the monitor's figures and
 * the host tests. */
struct vswitches *vnet_switches(void);

struct vdev_model;

/* The model ("bulkhead,virtio-net"); desc->params is the VM's struct vm_virtio_dev for it. */
extern const struct vdev_model virtio_net_model;

#endif
