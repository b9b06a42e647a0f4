/*
 * vdev/vswitch.c: switches by name, ports, MAC learning, unicast to the learned port, flooding of
 * broadcast, multicast and unknown destinations, counters (a full RX ring counted as a drop),
 * forgetting a restarted port's MACs, default MACs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/virtio_net.h"
#include "bulkhead/vswitch.h"
#include "support/capture.h"

/* A receiver: what it was given, and whether its ring is full or its driver down. */
struct sink {
    unsigned frames;
    size_t last_len;
    uint8_t last[VSWITCH_MAX_FRAME];
    enum vswitch_rx answer;
};

static enum vswitch_rx sink_receive(void *ctx, const uint8_t *frame, size_t len)
{
    struct sink *s = ctx;

    if (s->answer == VSWITCH_RX_OK) {
        s->frames++;
        s->last_len = len;
        memcpy(s->last, frame, len);
    }
    return s->answer;
}

static const struct vswitch_port_ops sink_ops = {.receive = sink_receive};

static const uint8_t BCAST[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t MCAST[ETH_ALEN] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};

struct lan {
    struct vswitches all;
    struct vswitch *sw;
    struct vswitch_port *port[4];
    struct sink sink[4];
    uint8_t mac[4][ETH_ALEN];
};

/* Switch "lan0" with n ports, port i's MAC 02:00:00:00:00:0i. */
static void lan_init(struct lan *lan, unsigned n)
{
    memset(lan, 0, sizeof(*lan));
    lan->sw = vswitch_get(&lan->all, "lan0");
    assert_non_null(lan->sw);
    for (unsigned i = 0; i < n; i++) {
        char name[16];
        uint8_t mac[ETH_ALEN] = {0x02, 0, 0, 0, 0, (uint8_t)i};
        memcpy(lan->mac[i], mac, ETH_ALEN);
        snprintf(name, sizeof(name), "vm%u", i);
        lan->port[i] =
            vswitch_add_port(lan->sw, name, "virtio-net@a000000", mac, &sink_ops, &lan->sink[i]);
        assert_non_null(lan->port[i]);
    }
}

/* A frame of len bytes from src to dst, its payload bytes numbered from seed. */
static size_t frame(uint8_t *buf, const uint8_t *dst, const uint8_t *src, size_t len, uint8_t seed)
{
    memcpy(buf, dst, ETH_ALEN);
    memcpy(buf + ETH_ALEN, src, ETH_ALEN);
    buf[12] = 0x08;
    buf[13] = 0x00;
    for (size_t i = ETH_HLEN; i < len; i++) {
        buf[i] = (uint8_t)(seed + i);
    }
    return len;
}

static unsigned send(struct lan *lan, unsigned from, const uint8_t *dst, size_t len)
{
    uint8_t buf[VSWITCH_MAX_FRAME + 16];

    frame(buf, dst, lan->mac[from], len, (uint8_t)from);
    return vswitch_send(lan->port[from], buf, len);
}

static void test_switches_are_found_by_name_and_limited(void **state)
{
    struct vswitches all = {0};
    char name[16];
    (void)state;

    struct vswitch *a = vswitch_get(&all, "lan0");
    struct vswitch *b = vswitch_get(&all, "lan1");
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_ptr_equal(vswitch_get(&all, "lan0"), a);
    assert_string_equal(b->name, "lan1");
    for (unsigned i = 2; i < VSWITCH_MAX; i++) {
        snprintf(name, sizeof(name), "sw%u", i);
        assert_non_null(vswitch_get(&all, name));
    }
    assert_null(vswitch_get(&all, "one-too-many"));
    assert_ptr_equal(vswitch_get(&all, "lan1"), b);
}

static void test_broadcast_and_multicast_reach_every_other_port(void **state)
{
    struct lan lan;
    (void)state;

    lan_init(&lan, 3);
    assert_int_equal(send(&lan, 0, BCAST, 60), 2);
    assert_int_equal(lan.sink[0].frames, 0);
    assert_int_equal(lan.sink[1].frames, 1);
    assert_int_equal(lan.sink[2].frames, 1);
    assert_int_equal(send(&lan, 1, MCAST, 100), 2);
    assert_int_equal(lan.sink[0].frames, 1);
    assert_int_equal(lan.sink[1].frames, 1);
    assert_int_equal(lan.sink[2].frames, 2);
    /* The bytes arrive as sent. */
    uint8_t want[100];
    frame(want, MCAST, lan.mac[1], 100, 1);
    assert_int_equal(lan.sink[0].last_len, 100);
    assert_memory_equal(lan.sink[0].last, want, 100);
}

static void test_unknown_unicast_floods_then_learned_goes_to_one_port(void **state)
{
    struct lan lan;
    (void)state;

    lan_init(&lan, 3);
    /* Nobody has sent yet: port 2's MAC is unknown, so everyone but the sender gets it. */
    assert_int_equal(send(&lan, 0, lan.mac[2], 64), 2);
    assert_int_equal(lan.sink[1].frames, 1);
    /* Port 2 answers: port 0 was learned from the first frame, so only port 0 gets it. */
    assert_int_equal(send(&lan, 2, lan.mac[0], 64), 1);
    assert_int_equal(lan.sink[0].frames, 1);
    assert_int_equal(lan.sink[1].frames, 1);
    /* And now port 2 is known too. */
    assert_int_equal(send(&lan, 0, lan.mac[2], 1514), 1);
    assert_int_equal(lan.sink[2].frames, 2);
    assert_int_equal(lan.sink[1].frames, 1);
    assert_int_equal(lan.sink[2].last_len, 1514);
}

static void test_a_mac_that_moves_is_learned_on_its_new_port(void **state)
{
    struct lan lan;
    uint8_t buf[64];
    (void)state;

    lan_init(&lan, 3);
    send(&lan, 1, BCAST, 64); /* port 1's MAC learned */
    /* Port 2 now sends with port 1's MAC as its source (a guest changed its address). */
    frame(buf, BCAST, lan.mac[1], sizeof(buf), 0);
    vswitch_send(lan.port[2], buf, sizeof(buf));
    memset(lan.sink, 0, sizeof(lan.sink));
    assert_int_equal(send(&lan, 0, lan.mac[1], 64), 1);
    assert_int_equal(lan.sink[2].frames, 1);
    assert_int_equal(lan.sink[1].frames, 0);
}

static void test_a_frame_for_the_sender_itself_goes_nowhere(void **state)
{
    struct lan lan;
    (void)state;

    lan_init(&lan, 2);
    send(&lan, 0, BCAST, 64);
    assert_int_equal(send(&lan, 0, lan.mac[0], 64), 0);
    assert_int_equal(lan.sink[0].frames, 0);
    assert_int_equal(lan.sink[1].frames, 1);
}

static void test_counters_count_frames_bytes_and_full_rings(void **state)
{
    struct lan lan;
    struct vswitch_counters c;
    (void)state;

    lan_init(&lan, 3);
    send(&lan, 0, BCAST, 100);
    lan.sink[2].answer = VSWITCH_RX_FULL;
    send(&lan, 0, BCAST, 200);
    lan.sink[2].answer = VSWITCH_RX_DOWN;
    send(&lan, 0, BCAST, 300);

    vswitch_port_counters(lan.port[0], &c);
    assert_int_equal(c.tx_frames, 3);
    assert_int_equal(c.tx_bytes, 600);
    assert_int_equal(c.rx_frames, 0);
    vswitch_port_counters(lan.port[1], &c);
    assert_int_equal(c.rx_frames, 3);
    assert_int_equal(c.rx_bytes, 600);
    assert_int_equal(c.rx_drops, 0);
    vswitch_port_counters(lan.port[2], &c);
    assert_int_equal(c.rx_frames, 1);
    assert_int_equal(c.rx_bytes, 100);
    /* A full ring is a drop; a port whose driver is not up is not. */
    assert_int_equal(c.rx_drops, 1);
}

static void test_runt_and_oversized_frames_are_errors_and_go_nowhere(void **state)
{
    struct lan lan;
    struct vswitch_counters c;
    uint8_t big[VSWITCH_MAX_FRAME + 1];
    (void)state;

    lan_init(&lan, 2);
    frame(big, BCAST, lan.mac[0], sizeof(big), 0);
    assert_int_equal(vswitch_send(lan.port[0], big, ETH_HLEN - 1), 0);
    assert_int_equal(vswitch_send(lan.port[0], big, sizeof(big)), 0);
    assert_int_equal(vswitch_send(lan.port[0], big, VSWITCH_MAX_FRAME), 1);
    assert_int_equal(vswitch_send(lan.port[0], big, ETH_HLEN), 1);
    vswitch_port_counters(lan.port[0], &c);
    assert_int_equal(c.tx_errors, 2);
    assert_int_equal(c.tx_frames, 2);
    assert_int_equal(lan.sink[1].frames, 2);
}

static void test_switches_are_separate(void **state)
{
    struct vswitches all = {0};
    struct sink sinks[3] = {0};
    uint8_t macs[3][ETH_ALEN] = {{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 0, 3}};
    uint8_t buf[64];
    (void)state;

    struct vswitch *lan0 = vswitch_get(&all, "lan0"), *lan1 = vswitch_get(&all, "lan1");
    struct vswitch_port *a = vswitch_add_port(lan0, "vm0", "net0", macs[0], &sink_ops, &sinks[0]);
    struct vswitch_port *b = vswitch_add_port(lan0, "vm1", "net0", macs[1], &sink_ops, &sinks[1]);
    struct vswitch_port *c = vswitch_add_port(lan1, "vm2", "net0", macs[2], &sink_ops, &sinks[2]);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    /* The same MAC may exist on two switches: they never meet. */
    assert_non_null(vswitch_add_port(lan1, "vm3", "net0", macs[0], &sink_ops, &sinks[2]));

    frame(buf, BCAST, macs[2], sizeof(buf), 0);
    vswitch_send(c, buf, sizeof(buf));
    frame(buf, macs[0], macs[2], sizeof(buf), 0);
    vswitch_send(c, buf, sizeof(buf));
    assert_int_equal(sinks[0].frames + sinks[1].frames, 0);
    frame(buf, BCAST, macs[0], sizeof(buf), 0);
    assert_int_equal(vswitch_send(a, buf, sizeof(buf)), 1);
    assert_int_equal(sinks[1].frames, 1);
}

static void test_a_vm_may_have_several_ports(void **state)
{
    struct vswitches all = {0};
    struct sink sinks[3] = {0};
    uint8_t m[3][ETH_ALEN];
    uint8_t buf[64];
    (void)state;

    vnet_default_mac("vm0", 0, m[0]);
    vnet_default_mac("vm0", 1, m[1]);
    vnet_default_mac("vm1", 0, m[2]);
    struct vswitch *sw = vswitch_get(&all, "lan0");
    struct vswitch_port *p0 = vswitch_add_port(sw, "vm0", "net0", m[0], &sink_ops, &sinks[0]);
    struct vswitch_port *p1 = vswitch_add_port(sw, "vm0", "net1", m[1], &sink_ops, &sinks[1]);
    struct vswitch_port *p2 = vswitch_add_port(sw, "vm1", "net0", m[2], &sink_ops, &sinks[2]);
    assert_non_null(p0);
    assert_non_null(p1);
    assert_non_null(p2);
    frame(buf, BCAST, m[1], 64, 0);
    vswitch_send(p1, buf, 64);
    frame(buf, m[1], m[2], 64, 0);
    assert_int_equal(vswitch_send(p2, buf, 64), 1);
    assert_int_equal(sinks[1].frames, 1);
    assert_int_equal(sinks[0].frames, 1); /* only the broadcast */
}

static void test_a_duplicate_mac_or_a_full_switch_is_refused_by_name(void **state)
{
    struct lan lan;
    struct sink extra = {0};
    (void)state;

    lan_init(&lan, 2);
    capture_reset();
    assert_null(
        vswitch_add_port(lan.sw, "vm7", "virtio-net@a000200", lan.mac[1], &sink_ops, &extra));
    assert_true(capture_contains("vm7: virtio-net@a000200: MAC 02:00:00:00:00:01 is port vm1 "
                                 "virtio-net@a000000's on switch \"lan0\""));
    for (unsigned i = 2; i < VSWITCH_MAX_PORTS; i++) {
        uint8_t mac[ETH_ALEN] = {0x02, 1, 0, 0, 0, (uint8_t)i};
        assert_non_null(vswitch_add_port(lan.sw, "vmx", "net", mac, &sink_ops, &extra));
    }
    uint8_t mac[ETH_ALEN] = {0x02, 2, 0, 0, 0, 0};
    capture_reset();
    assert_null(vswitch_add_port(lan.sw, "vm9", "net0", mac, &sink_ops, &extra));
    assert_true(capture_contains("vm9: net0: switch \"lan0\" has 8 ports already"));
}

static void test_a_restarted_port_is_forgotten(void **state)
{
    struct lan lan;
    (void)state;

    lan_init(&lan, 3);
    send(&lan, 1, BCAST, 64);
    assert_int_equal(send(&lan, 0, lan.mac[1], 64), 1);
    vswitch_port_forget(lan.port[1]);
    /* Unknown again: flooded. Port 0's own entry survives. */
    assert_int_equal(send(&lan, 0, lan.mac[1], 64), 2);
    assert_int_equal(send(&lan, 2, lan.mac[0], 64), 1);
}

static void test_the_oldest_mac_is_forgotten_when_the_table_is_full(void **state)
{
    struct lan lan;
    uint8_t buf[64];
    (void)state;

    lan_init(&lan, 3);
    send(&lan, 1, BCAST, 64); /* port 1's own MAC: the oldest */
    /* Port 2 sends from as many other MACs as the table holds. */
    for (unsigned i = 0; i < VSWITCH_FDB_SIZE; i++) {
        uint8_t src[ETH_ALEN] = {0x02, 9, 0, 0, (uint8_t)(i >> 8), (uint8_t)i};
        frame(buf, BCAST, src, sizeof(buf), 0);
        vswitch_send(lan.port[2], buf, sizeof(buf));
    }
    memset(lan.sink, 0, sizeof(lan.sink));
    /* Port 1's MAC was the oldest: forgotten, so flooded; the newest are still known. */
    assert_int_equal(send(&lan, 0, lan.mac[1], 64), 2);
    uint8_t newest[ETH_ALEN] = {0x02, 9, 0, 0, 0, VSWITCH_FDB_SIZE - 1};
    assert_int_equal(send(&lan, 0, newest, 64), 1);
    assert_int_equal(lan.sink[2].frames, 2);
}

static void test_a_multicast_or_zero_source_is_not_learned(void **state)
{
    struct lan lan;
    uint8_t buf[64];
    static const uint8_t zero[ETH_ALEN];
    (void)state;

    lan_init(&lan, 3);
    frame(buf, BCAST, MCAST, sizeof(buf), 0);
    vswitch_send(lan.port[1], buf, sizeof(buf));
    frame(buf, BCAST, zero, sizeof(buf), 0);
    vswitch_send(lan.port[1], buf, sizeof(buf));
    memset(lan.sink, 0, sizeof(lan.sink));
    assert_int_equal(send(&lan, 0, zero, 64), 2);
    assert_false(vswitch_mac_valid(zero));
    assert_false(vswitch_mac_valid(MCAST));
    assert_true(vswitch_mac_valid(lan.mac[0]));
}

static void test_default_macs_are_stable_local_unicast_and_distinct(void **state)
{
    uint8_t a[ETH_ALEN], b[ETH_ALEN], c[ETH_ALEN], again[ETH_ALEN];
    (void)state;

    vnet_default_mac("vm0", 0, a);
    vnet_default_mac("vm0", 1, b);
    vnet_default_mac("vm1", 0, c);
    vnet_default_mac("vm0", 0, again);
    assert_memory_equal(a, again, ETH_ALEN);
    assert_memory_not_equal(a, b, ETH_ALEN);
    assert_memory_not_equal(a, c, ETH_ALEN);
    assert_int_equal(a[0], 0x02); /* locally administered, unicast */
    assert_int_equal(a[1], 0xb4);
    assert_int_equal(b[5], 1);
    assert_true(vswitch_mac_valid(a));
    /* The same bytes on every build: docs/CONFIG.md gives vm0's. */
    static const uint8_t vm0[ETH_ALEN] = {0x02, 0xb4, 0x1c, 0x92, 0x14, 0x00};
    assert_memory_equal(a, vm0, ETH_ALEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_switches_are_found_by_name_and_limited),
        cmocka_unit_test(test_broadcast_and_multicast_reach_every_other_port),
        cmocka_unit_test(test_unknown_unicast_floods_then_learned_goes_to_one_port),
        cmocka_unit_test(test_a_mac_that_moves_is_learned_on_its_new_port),
        cmocka_unit_test(test_a_frame_for_the_sender_itself_goes_nowhere),
        cmocka_unit_test(test_counters_count_frames_bytes_and_full_rings),
        cmocka_unit_test(test_runt_and_oversized_frames_are_errors_and_go_nowhere),
        cmocka_unit_test(test_switches_are_separate),
        cmocka_unit_test(test_a_vm_may_have_several_ports),
        cmocka_unit_test(test_a_duplicate_mac_or_a_full_switch_is_refused_by_name),
        cmocka_unit_test(test_a_restarted_port_is_forgotten),
        cmocka_unit_test(test_the_oldest_mac_is_forgotten_when_the_table_is_full),
        cmocka_unit_test(test_a_multicast_or_zero_source_is_not_learned),
        cmocka_unit_test(test_default_macs_are_stable_local_unicast_and_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
