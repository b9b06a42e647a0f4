/*
 * vdev/virtio_net.c over the transport and a switch, with a small virtio driver written here
 * (each VM's RAM is a host buffer behind vm_io's mem hook): the device's identity and MAC,
 * frames between two VMs' devices with their header and interrupt, a full RX ring counted as a
 * drop, the budget of frames per notify, a device whose driver is not ready, oversized frames,
 * switches kept apart; and config/vswitch.c's node binding (bulkhead,switch, local-mac-address,
 * the default MAC, each mistake named).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "bulkhead/virtio.h"
#include "bulkhead/virtio_net.h"
#include "support/capture.h"

#define RAM_IPA 0x40000000ULL
#define RAM_SIZE 0x100000ULL
#define DEV_IPA 0x0a000000ULL
#define DEV_SPI 40
#define QSIZE 128
/* Where the test's driver keeps each queue's tables, and its buffers, in the VM's RAM. */
#define Q_DESC(q) (0x00000 + (q)*0x4000)
#define Q_AVAIL(q) (0x02000 + (q)*0x4000)
#define Q_USED(q) (0x03000 + (q)*0x4000)
#define BUF(q, i) (0x10000 + (q)*0x60000 + (i)*0x600)

/* One VM: its RAM, its vGIC, its device, and its driver's position in each queue. */
struct vm {
    uint8_t *ram;
    struct vgic_dist vgic;
    struct vgic_cpu cpu;
    struct vm_io io;
    const struct mmio_region *regs;
    uint16_t avail_idx[2];
    uint16_t used_seen[2];
};

static void *ram_map(void *ctx, ipa_t ipa, uint64_t len)
{
    struct vm *vm = ctx;

    if (len == 0 || ipa < RAM_IPA || ipa - RAM_IPA > RAM_SIZE || len > RAM_SIZE - (ipa - RAM_IPA)) {
        return NULL;
    }
    return vm->ram + (ipa - RAM_IPA);
}

static const struct vdev_mem_ops ram_ops = {.map = ram_map};

static uint32_t rd(struct vm *vm, uint64_t off)
{
    uint64_t v = 0;

    assert_int_equal(vm->regs->ops->read(vm->regs->dev, 0, off, 4, &v), MMIO_OK);
    return (uint32_t)v;
}

static void wr(struct vm *vm, uint64_t off, uint32_t v)
{
    assert_int_equal(vm->regs->ops->write(vm->regs->dev, 0, off, 4, v), MMIO_OK);
}

static bool line(struct vm *vm)
{
    return vgic_get_irq(&vm->vgic, 0, DEV_SPI + 32)->line;
}

/* A VM named name with a virtio-net device on switch sw, MAC 02:00:00:00:00:<last>. */
static struct vm *vm_new(const char *name, const char *sw, uint8_t last)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    struct vm_virtio_dev cfg = {.kind = VIRTIO_ID_NET, .mac = {0x02, 0, 0, 0, 0, last}};
    struct vdev_desc desc = {
        .compatible = "bulkhead,virtio-net",
        .reg = {{DEV_IPA, VIRTIO_MMIO_SIZE}},
        .nr_reg = 1,
        .spis = {DEV_SPI},
        .nr_spis = 1,
        .params = &cfg,
    };

    assert_non_null(vm);
    vm->ram = calloc(1, RAM_SIZE);
    assert_non_null(vm->ram);
    snprintf(cfg.net_switch, sizeof(cfg.net_switch), "%s", sw);
    vgic_dist_init(&vm->vgic, GIC_V3, 128, 1);
    vgic_cpu_init(&vm->vgic, &vm->cpu, 0, 4);
    vm_io_init(&vm->io, name, 1, &vm->vgic, NULL, NULL);
    vm->io.mem = &ram_ops;
    vm->io.mem_ctx = vm;
    assert_int_equal(vdev_create(&vm->io, &desc), 0);
    vm->regs = mmio_bus_find(&vm->io.bus, DEV_IPA);
    assert_non_null(vm->regs);
    vm_io_reset(&vm->io);
    return vm;
}

/* The boot-time arena is small and never given back: the tests share three VMs, vma and vmb
 * on switch lan0 and vmc on lan1, made once. */
static struct vm *vma, *vmb, *vmc;

static int make_vms(void **state)
{
    (void)state;
    vma = vm_new("vma", "lan0", 1);
    vmb = vm_new("vmb", "lan0", 2);
    vmc = vm_new("vmc", "lan1", 3);
    return 0;
}

static int free_vms(void **state)
{
    struct vm *all[] = {vma, vmb, vmc};
    (void)state;

    for (unsigned i = 0; i < 3; i++) {
        free(all[i]->ram);
        free(all[i]);
    }
    return 0;
}

/* Before each test: RAM cleared, drivers reset (the VM's reset, as a reboot would). */
static int fresh(void **state)
{
    struct vm *all[] = {vma, vmb, vmc};
    (void)state;

    for (unsigned i = 0; i < 3; i++) {
        memset(all[i]->ram, 0, RAM_SIZE);
        memset(all[i]->avail_idx, 0, sizeof(all[i]->avail_idx));
        vm_io_reset(&all[i]->io);
    }
    return 0;
}

/* The driver's side of virtio 1.2 3.1.1, both queues QSIZE entries. */
static void driver_up(struct vm *vm)
{
    wr(vm, VIRTIO_MMIO_STATUS, 0);
    wr(vm, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(vm, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(vm, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)BIT(VIRTIO_NET_F_MAC));
    wr(vm, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(vm, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
    wr(vm, VIRTIO_MMIO_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    assert_true(rd(vm, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
    for (unsigned q = 0; q < 2; q++) {
        wr(vm, VIRTIO_MMIO_QUEUE_SEL, q);
        wr(vm, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
        wr(vm, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(RAM_IPA + Q_DESC(q)));
        wr(vm, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(RAM_IPA + Q_AVAIL(q)));
        wr(vm, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(RAM_IPA + Q_USED(q)));
        wr(vm, VIRTIO_MMIO_QUEUE_READY, 1);
        assert_int_equal(rd(vm, VIRTIO_MMIO_QUEUE_READY), 1);
    }
    wr(vm, VIRTIO_MMIO_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
           VIRTIO_STATUS_DRIVER_OK);
}

/* Makes descriptor i of queue q one buffer (its own, BUF(q, i)) of len bytes, and available. */
static void post(struct vm *vm, unsigned q, unsigned i, uint32_t len, bool writable)
{
    struct virtq_desc *d = (struct virtq_desc *)(vm->ram + Q_DESC(q)) + i;
    uint16_t *avail = (uint16_t *)(vm->ram + Q_AVAIL(q));

    *d = (struct virtq_desc){
        .addr = RAM_IPA + BUF(q, i), .len = len, .flags = writable ? VIRTQ_DESC_F_WRITE : 0};
    avail[2 + vm->avail_idx[q] % QSIZE] = (uint16_t)i;
    __atomic_store_n(&avail[1], ++vm->avail_idx[q], __ATOMIC_RELEASE);
}

/* How many chains the device has used in queue q. */
static uint16_t used_idx(struct vm *vm, unsigned q)
{
    return (uint16_t)(*(uint32_t *)(vm->ram + Q_USED(q)) >> 16);
}

/* Used entry n of queue q: its chain's head and length. */
static void used_entry(struct vm *vm, unsigned q, unsigned n, uint32_t *id, uint32_t *len)
{
    uint32_t *e = (uint32_t *)(vm->ram + Q_USED(q)) + 1 + 2 * (n % QSIZE);

    *id = e[0];
    *len = e[1];
}

static void give_rx_buffers(struct vm *vm, unsigned n, uint32_t len)
{
    for (unsigned i = 0; i < n; i++) {
        post(vm, VIRTIO_NET_RXQ, i, len, true);
    }
}

/* Queues a frame of len bytes (a header, then dst, src, type, numbered payload) in descriptor i
 * of the TX queue; does not notify. */
static void queue_frame(struct vm *vm, unsigned i, const uint8_t *dst, uint8_t src_last, size_t len)
{
    uint8_t *b = vm->ram + BUF(VIRTIO_NET_TXQ, i);
    const uint8_t src[ETH_ALEN] = {0x02, 0, 0, 0, 0, src_last};

    memset(b, 0, VIRTIO_NET_HDR_LEN);
    memcpy(b + VIRTIO_NET_HDR_LEN, dst, ETH_ALEN);
    memcpy(b + VIRTIO_NET_HDR_LEN + ETH_ALEN, src, ETH_ALEN);
    b[VIRTIO_NET_HDR_LEN + 12] = 0x08;
    for (size_t k = ETH_HLEN; k < len; k++) {
        b[VIRTIO_NET_HDR_LEN + k] = (uint8_t)(k + i);
    }
    post(vm, VIRTIO_NET_TXQ, i, (uint32_t)(VIRTIO_NET_HDR_LEN + len), false);
}

static void notify_tx(struct vm *vm)
{
    wr(vm, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_TXQ);
}

static const uint8_t BCAST[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static void test_the_device_says_net_with_its_mac_and_no_offloads(void **state)
{
    struct vm *a = vma;
    (void)state;

    assert_int_equal(rd(a, VIRTIO_MMIO_MAGIC), VIRTIO_MMIO_MAGIC_VALUE);
    assert_int_equal(rd(a, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
    wr(a, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    assert_int_equal(rd(a, VIRTIO_MMIO_DEVICE_FEATURES), BIT(VIRTIO_NET_F_MAC));
    wr(a, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    assert_int_equal(rd(a, VIRTIO_MMIO_DEVICE_FEATURES), 1); /* VERSION_1 */
    assert_int_equal(rd(a, VIRTIO_MMIO_CONFIG), 0x00000002);
    assert_int_equal(rd(a, VIRTIO_MMIO_CONFIG + 4), 0x0100); /* then status: 0 */
    wr(a, VIRTIO_MMIO_QUEUE_SEL, 2);
    assert_int_equal(rd(a, VIRTIO_MMIO_QUEUE_NUM_MAX), 0); /* two queues, no control queue */
}

static void test_a_frame_goes_from_one_vm_into_the_others_rx_buffer(void **state)
{
    struct vm *a = vma, *b = vmb;
    uint32_t id, len;
    (void)state;

    driver_up(a);
    driver_up(b);
    give_rx_buffers(b, 4, 1526);
    queue_frame(a, 0, BCAST, 1, 1514);
    assert_false(line(b));
    notify_tx(a);

    /* A got its TX chain back (nothing written into it); B got the frame after a header. */
    assert_int_equal(used_idx(a, VIRTIO_NET_TXQ), 1);
    used_entry(a, VIRTIO_NET_TXQ, 0, &id, &len);
    assert_int_equal(id, 0);
    assert_int_equal(len, 0);
    assert_int_equal(used_idx(b, VIRTIO_NET_RXQ), 1);
    used_entry(b, VIRTIO_NET_RXQ, 0, &id, &len);
    assert_int_equal(id, 0);
    assert_int_equal(len, VIRTIO_NET_HDR_LEN + 1514);
    const uint8_t *rx = b->ram + BUF(VIRTIO_NET_RXQ, 0);
    static const uint8_t hdr[VIRTIO_NET_HDR_LEN] = {[10] = 1};
    assert_memory_equal(rx, hdr, VIRTIO_NET_HDR_LEN);
    assert_memory_equal(rx + VIRTIO_NET_HDR_LEN,
                        a->ram + BUF(VIRTIO_NET_TXQ, 0) + VIRTIO_NET_HDR_LEN, 1514);
    assert_true(line(b));
    assert_int_equal(rd(b, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_USED);

    /* B answers A by its learned MAC: only A's RX queue sees it. */
    give_rx_buffers(a, 2, 1526);
    const uint8_t mac_a[ETH_ALEN] = {0x02, 0, 0, 0, 0, 1};
    queue_frame(b, 0, mac_a, 2, 60);
    notify_tx(b);
    assert_int_equal(used_idx(a, VIRTIO_NET_RXQ), 1);
    used_entry(a, VIRTIO_NET_RXQ, 0, &id, &len);
    assert_int_equal(len, VIRTIO_NET_HDR_LEN + 60);
}

static void test_a_full_rx_ring_drops_and_counts_but_the_sender_goes_on(void **state)
{
    struct vm *a = vma, *b = vmb;
    (void)state;

    driver_up(a);
    driver_up(b);
    struct vswitch_counters a0, b0;
    vswitch_port_counters(&vswitch_get(vnet_switches(), "lan0")->ports[0], &a0);
    vswitch_port_counters(&vswitch_get(vnet_switches(), "lan0")->ports[1], &b0);
    give_rx_buffers(b, 2, 1526);
    for (unsigned i = 0; i < 5; i++) {
        queue_frame(a, i, BCAST, 1, 100);
    }
    notify_tx(a);
    assert_int_equal(used_idx(a, VIRTIO_NET_TXQ), 5);
    assert_int_equal(used_idx(b, VIRTIO_NET_RXQ), 2);
    /* The drops are B's port's, on the switch's counters. */
    struct vswitch *sw = vswitch_get(vnet_switches(), "lan0");
    struct vswitch_counters c;
    vswitch_port_counters(&sw->ports[1], &c);
    assert_int_equal(c.rx_frames - b0.rx_frames, 2);
    assert_int_equal(c.rx_bytes - b0.rx_bytes, 200);
    assert_int_equal(c.rx_drops - b0.rx_drops, 3);
    vswitch_port_counters(&sw->ports[0], &c);
    assert_int_equal(c.tx_frames - a0.tx_frames, 5);
    assert_int_equal(c.tx_bytes - a0.tx_bytes, 500);
}

static void test_a_notify_sends_at_most_a_budget_of_frames(void **state)
{
    struct vm *a = vma, *b = vmb;
    const unsigned n = VIRTIO_BUDGET + 20;
    (void)state;

    driver_up(a);
    driver_up(b);
    give_rx_buffers(b, QSIZE, 1526);
    for (unsigned i = 0; i < n; i++) {
        queue_frame(a, i, BCAST, 1, 64);
    }
    notify_tx(a);
    assert_int_equal(used_idx(a, VIRTIO_NET_TXQ), VIRTIO_BUDGET);
    assert_int_equal(used_idx(b, VIRTIO_NET_RXQ), VIRTIO_BUDGET);
    /* The driver's next notify serves the rest. */
    notify_tx(a);
    assert_int_equal(used_idx(a, VIRTIO_NET_TXQ), n);
    assert_int_equal(used_idx(b, VIRTIO_NET_RXQ), n);
}

static void test_a_receiver_whose_driver_is_not_ready_gets_nothing(void **state)
{
    struct vm *a = vma, *b = vmb;
    (void)state;

    driver_up(a);
    /* B's driver never set DRIVER_OK: its RAM is not touched. */
    memset(b->ram, 0x5a, RAM_SIZE);
    queue_frame(a, 0, BCAST, 1, 100);
    notify_tx(a);
    assert_int_equal(used_idx(a, VIRTIO_NET_TXQ), 1);
    for (size_t k = 0; k < RAM_SIZE; k++) {
        if (b->ram[k] != 0x5a) {
            fail_msg("byte 0x%zx of the receiver's RAM changed", k);
        }
    }
    assert_false(line(b));
}

static void test_an_oversized_or_runt_frame_is_given_back_and_not_sent(void **state)
{
    struct vm *a = vma, *b = vmb;
    (void)state;

    driver_up(a);
    driver_up(b);
    give_rx_buffers(b, 4, 4096);
    queue_frame(a, 0, BCAST, 1, VSWITCH_MAX_FRAME + 1);
    queue_frame(a, 1, BCAST, 1, 10);
    queue_frame(a, 2, BCAST, 1, VSWITCH_MAX_FRAME);
    notify_tx(a);
    assert_int_equal(used_idx(a, VIRTIO_NET_TXQ), 3);
    assert_int_equal(used_idx(b, VIRTIO_NET_RXQ), 1);
}

static void test_an_rx_buffer_too_small_is_returned_empty(void **state)
{
    struct vm *a = vma, *b = vmb;
    uint32_t id, len;
    (void)state;

    driver_up(a);
    driver_up(b);
    give_rx_buffers(b, 1, 100);
    queue_frame(a, 0, BCAST, 1, 1000);
    notify_tx(a);
    assert_int_equal(used_idx(b, VIRTIO_NET_RXQ), 1);
    used_entry(b, VIRTIO_NET_RXQ, 0, &id, &len);
    assert_int_equal(len, 0);
}

static void test_a_broken_rx_ring_fails_only_the_receiver(void **state)
{
    struct vm *a = vma, *b = vmb;
    (void)state;

    driver_up(a);
    driver_up(b);
    /* B's RX descriptor points outside its RAM. */
    give_rx_buffers(b, 1, 1526);
    ((struct virtq_desc *)(b->ram + Q_DESC(VIRTIO_NET_RXQ)))[0].addr = 0x10000000;
    capture_reset();
    queue_frame(a, 0, BCAST, 1, 100);
    notify_tx(a);
    assert_true(capture_contains("vmb: virtio-net@a000000"));
    assert_true(capture_contains("device needs a reset"));
    assert_true(rd(b, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    assert_false(rd(a, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    /* A goes on. */
    queue_frame(a, 1, BCAST, 1, 100);
    notify_tx(a);
    assert_int_equal(used_idx(a, VIRTIO_NET_TXQ), 2);
}

static void test_switches_are_kept_apart(void **state)
{
    struct vm *a = vma, *c = vmc;
    (void)state;

    driver_up(a);
    driver_up(c);
    give_rx_buffers(c, 4, 1526);
    queue_frame(a, 0, BCAST, 1, 100);
    notify_tx(a);
    assert_int_equal(used_idx(a, VIRTIO_NET_TXQ), 1);
    assert_int_equal(used_idx(c, VIRTIO_NET_RXQ), 0);
    assert_false(line(c));
}

/* ---- config/vswitch.c: the node's binding ---- */

/* A tree with /vm/net: compatible bulkhead,virtio-net, then the given property (if any). */
static void *net_tree(const char *prop, const void *val, int len)
{
    void *fdt = calloc(1, 4096);
    int vm, net;

    assert_int_equal(fdt_create_empty_tree(fdt, 4096), 0);
    vm = fdt_add_subnode(fdt, 0, "vm");
    net = fdt_add_subnode(fdt, vm, "net");
    assert_true(net >= 0);
    fdt_setprop_string(fdt, net, "compatible", "bulkhead,virtio-net");
    if (prop) {
        fdt_setprop(fdt, net, prop, val, len);
    }
    return fdt;
}

static int net_node(const void *fdt)
{
    return fdt_path_offset(fdt, "/vm/net");
}

static void test_the_node_names_its_switch_and_gets_a_default_mac(void **state)
{
    void *fdt = net_tree("bulkhead,switch", "lan0", 5);
    struct vm_virtio_dev d = {0};
    static const uint8_t vm0_port1[ETH_ALEN] = {0x02, 0xb4, 0x1c, 0x92, 0x14, 0x01};
    (void)state;

    assert_true(vnet_parse_node(fdt, net_node(fdt), "vm0", 1, &d));
    assert_string_equal(d.net_switch, "lan0");
    assert_memory_equal(d.mac, vm0_port1, ETH_ALEN);
    assert_false(d.has_mac);
    free(fdt);
}

static void test_local_mac_address_is_taken_when_valid(void **state)
{
    static const uint8_t mac[ETH_ALEN] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    static const uint8_t multicast[ETH_ALEN] = {0x03, 0x11, 0x22, 0x33, 0x44, 0x55};
    struct vm_virtio_dev d = {0};
    void *fdt = net_tree("local-mac-address", mac, ETH_ALEN);
    (void)state;

    fdt_setprop_string(fdt, net_node(fdt), "bulkhead,switch", "lan1");
    assert_true(vnet_parse_node(fdt, net_node(fdt), "vm0", 0, &d));
    assert_memory_equal(d.mac, mac, ETH_ALEN);
    assert_true(d.has_mac);
    free(fdt);

    fdt = net_tree("local-mac-address", multicast, ETH_ALEN);
    fdt_setprop_string(fdt, net_node(fdt), "bulkhead,switch", "lan1");
    capture_reset();
    assert_false(vnet_parse_node(fdt, net_node(fdt), "vm0", 0, &d));
    assert_true(capture_contains("/vm/net"));
    assert_true(capture_contains("local-mac-address must be 6 bytes of a unicast address"));
    free(fdt);

    fdt = net_tree("local-mac-address", mac, 4);
    fdt_setprop_string(fdt, net_node(fdt), "bulkhead,switch", "lan1");
    capture_reset();
    assert_false(vnet_parse_node(fdt, net_node(fdt), "vm0", 0, &d));
    assert_true(capture_contains("local-mac-address must be 6 bytes"));
    free(fdt);
}

static void test_a_missing_or_bad_switch_name_is_named(void **state)
{
    struct vm_virtio_dev d = {0};
    void *fdt = net_tree(NULL, NULL, 0);
    char longname[40];
    (void)state;

    capture_reset();
    assert_false(vnet_parse_node(fdt, net_node(fdt), "vm0", 0, &d));
    assert_true(capture_contains("/vm/net"));
    assert_true(capture_contains("needs bulkhead,switch = \"<name>\""));
    free(fdt);

    fdt = net_tree("bulkhead,switch", "", 1);
    capture_reset();
    assert_false(vnet_parse_node(fdt, net_node(fdt), "vm0", 0, &d));
    assert_true(capture_contains("needs bulkhead,switch"));
    free(fdt);

    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    fdt = net_tree("bulkhead,switch", longname, sizeof(longname));
    capture_reset();
    assert_false(vnet_parse_node(fdt, net_node(fdt), "vm0", 0, &d));
    assert_true(capture_contains("is longer than 31 characters"));
    free(fdt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_the_device_says_net_with_its_mac_and_no_offloads, fresh),
        cmocka_unit_test_setup(test_a_frame_goes_from_one_vm_into_the_others_rx_buffer, fresh),
        cmocka_unit_test_setup(test_a_full_rx_ring_drops_and_counts_but_the_sender_goes_on, fresh),
        cmocka_unit_test_setup(test_a_notify_sends_at_most_a_budget_of_frames, fresh),
        cmocka_unit_test_setup(test_a_receiver_whose_driver_is_not_ready_gets_nothing, fresh),
        cmocka_unit_test_setup(test_an_oversized_or_runt_frame_is_given_back_and_not_sent, fresh),
        cmocka_unit_test_setup(test_an_rx_buffer_too_small_is_returned_empty, fresh),
        cmocka_unit_test_setup(test_a_broken_rx_ring_fails_only_the_receiver, fresh),
        cmocka_unit_test_setup(test_switches_are_kept_apart, fresh),
        cmocka_unit_test(test_the_node_names_its_switch_and_gets_a_default_mac),
        cmocka_unit_test(test_local_mac_address_is_taken_when_valid),
        cmocka_unit_test(test_a_missing_or_bad_switch_name_is_named),
    };
    return cmocka_run_group_tests(tests, make_vms, free_vms);
}
