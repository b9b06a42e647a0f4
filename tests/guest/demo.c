/* The demo guest: says hello with the name from its bootargs ("name=..."), tells what its DTB
 * shows, counts to five and powers off. Given a shared-memory region and its doorbell (make
 * run's tree), it then publishes a counter in the region's second word, ten times a second,
 * until every other member of the channel has left (the doorbell's LIVE mask). Given a
 * virtio-net device and an address (bootargs "ip=A.B.C.D", make run's tree), it meanwhile
 * answers ARP requests for that address and ICMP echo requests to it: `ping` from Linux. With
 * "ping=A.B.C.D" it first pings that address itself (ARP, then PING_COUNT echo requests) and
 * says how many were answered; without a channel, it answers for "serve_s=S" seconds (10)
 * before powering off (docs/CONFIG.md's example of two such guests on a switch). */
#include <libfdt.h>

#include "bulkhead/shmem.h"
#include "guest.h"
#include "vnet.h"

#define COUNT_MS 400
#define PUBLISH_MS 100

static uint64_t reg_base(const void *fdt, const char *compatible)
{
    int node = fdt_node_offset_by_compatible(fdt, -1, compatible);
    int len = 0;
    const fdt32_t *reg = node >= 0 ? fdt_getprop(fdt, node, "reg", &len) : NULL;

    return reg && len >= 8 ? ((uint64_t)fdt32_to_cpu(reg[0]) << 32) | fdt32_to_cpu(reg[1]) : 0;
}

#define PING_COUNT 5
#define PING_WAIT_MS 1000

static struct vnet net;
static bool net_up;
static uint8_t my_ip[4];
static unsigned long pings;
/* The pinger's side: the target's address, its MAC once ARP said it, echo replies counted. */
static uint8_t peer_ip[4], peer_mac[6];
static bool peer_known;
static unsigned replies;
static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* The Internet checksum (RFC 1071) of len bytes. */
static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;

    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += be16(p + i);
    }
    if (len & 1) {
        sum += (uint32_t)p[len - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

/* An ARP request for my address: answered in place (f is the frame, len its length). A reply
 * from the address I ping: its MAC. */
static void answer_arp(uint8_t *f, size_t len)
{
    uint8_t *a = f + 14;

    if (len < 42 || be16(a) != 1 || be16(a + 2) != 0x0800 || memcmp(a + 24, my_ip, 4) != 0) {
        return;
    }
    if (be16(a + 6) == 2 && memcmp(a + 14, peer_ip, 4) == 0) {
        memcpy(peer_mac, a + 8, 6);
        peer_known = true;
        return;
    }
    if (be16(a + 6) != 1) {
        return;
    }
    memcpy(f, f + 6, 6); /* to the asker */
    memcpy(f + 6, net.mac, 6);
    a[7] = 2;                  /* reply */
    memcpy(a + 18, a + 8, 10); /* target: the asker's MAC and IP */
    memcpy(a + 8, net.mac, 6);
    memcpy(a + 14, my_ip, 4);
    vnet_send(&net, f, 42, true);
}

/* An ICMP echo request to my address: the reply, made in place. */
static void answer_icmp(uint8_t *f, size_t len)
{
    uint8_t *ip = f + 14;
    size_t ihl = (size_t)(ip[0] & 15) * 4, total = be16(ip + 2);
    uint8_t *icmp = ip + ihl;

    if (len < 14 + 20 || (ip[0] >> 4) != 4 || ihl < 20 || total > len - 14 || total < ihl + 8 ||
        ip[9] != 1 || memcmp(ip + 16, my_ip, 4) != 0) {
        return;
    }
    if (icmp[0] == 0 && memcmp(ip + 12, peer_ip, 4) == 0) {
        replies++;
        return;
    }
    if (icmp[0] != 8) {
        return;
    }
    uint8_t tmp[6];
    memcpy(tmp, f, 6);
    memcpy(f, f + 6, 6);
    memcpy(f + 6, tmp, 6);
    memcpy(ip + 16, ip + 12, 4); /* the header's checksum stays right: the same words, swapped */
    memcpy(ip + 12, my_ip, 4);
    icmp[0] = 0; /* echo reply */
    put16(icmp + 2, 0);
    put16(icmp + 2, ip_checksum(icmp, total - ihl));
    vnet_send(&net, f, 14 + total, true);
    pings++;
}

/* Answers what came in for about ms milliseconds (just waits without a network). */
static void serve_net(unsigned long ms)
{
    static uint8_t frame[VNET_BUF];

    for (unsigned long t = 0; t < ms; t++) {
        size_t len;
        while (net_up && (len = vnet_recv(&net, frame, sizeof(frame))) >= 14) {
            uint16_t type = be16(frame + 12);
            if (type == 0x0806) {
                answer_arp(frame, len);
            } else if (type == 0x0800) {
                answer_icmp(frame, len);
            }
        }
        delay_ms(1);
    }
}

/* "A.B.C.D" into 4 bytes. */
static void parse_ip(const char *s, uint8_t out[4])
{
    unsigned long part[4] = {0};
    unsigned k = 0;

    for (const char *p = s; *p && k < 4; p++) {
        if (*p == '.') {
            k++;
        } else {
            part[k] = part[k] * 10 + (unsigned long)(*p - '0');
        }
    }
    for (unsigned i = 0; i < 4; i++) {
        out[i] = (uint8_t)part[i];
    }
}

/* An ARP request for peer_ip. */
static void send_arp_request(void)
{
    uint8_t f[42] = {0};

    memcpy(f, broadcast, 6);
    memcpy(f + 6, net.mac, 6);
    put16(f + 12, 0x0806);
    put16(f + 14, 1);      /* Ethernet */
    put16(f + 16, 0x0800); /* IPv4 */
    f[18] = 6;
    f[19] = 4;
    put16(f + 20, 1); /* request */
    memcpy(f + 22, net.mac, 6);
    memcpy(f + 28, my_ip, 4);
    memcpy(f + 38, peer_ip, 4);
    vnet_send(&net, f, sizeof(f), true);
}

/* ICMP echo request number seq to peer_ip. */
static void send_echo(unsigned seq)
{
    uint8_t f[14 + 20 + 8 + 32] = {0};
    uint8_t *ip = f + 14, *icmp = ip + 20;

    memcpy(f, peer_mac, 6);
    memcpy(f + 6, net.mac, 6);
    put16(f + 12, 0x0800);
    ip[0] = 0x45;
    put16(ip + 2, sizeof(f) - 14);
    ip[8] = 64; /* TTL */
    ip[9] = 1;  /* ICMP */
    memcpy(ip + 12, my_ip, 4);
    memcpy(ip + 16, peer_ip, 4);
    put16(ip + 10, ip_checksum(ip, 20));
    icmp[0] = 8; /* echo request */
    put16(icmp + 4, 0x42);
    put16(icmp + 6, (uint16_t)seq);
    for (unsigned i = 8; i < sizeof(f) - 34; i++) {
        icmp[i] = (uint8_t)i;
    }
    put16(icmp + 2, ip_checksum(icmp, sizeof(f) - 34));
    vnet_send(&net, f, sizeof(f), true);
}

/* Waits up to PING_WAIT_MS for done() to hold, answering what comes meanwhile. */
static bool wait_net(bool (*done)(unsigned), unsigned arg)
{
    for (unsigned t = 0; t < PING_WAIT_MS && !done(arg); t++) {
        serve_net(1);
    }
    return done(arg);
}

static bool arp_done(unsigned unused)
{
    (void)unused;
    return peer_known;
}

static bool replies_reached(unsigned n)
{
    return replies >= n;
}

/* Pings peer_ip PING_COUNT times (after asking ARP for it) and says how many answered. */
static void ping_peer(const char *name, const char *peer)
{
    for (unsigned tries = 0; tries < 10 && !peer_known; tries++) {
        send_arp_request();
        wait_net(arp_done, 0);
    }
    for (unsigned seq = 0; peer_known && seq < PING_COUNT; seq++) {
        send_echo(seq);
        wait_net(replies_reached, seq + 1);
    }
    printf("%s: %u of %u pings to %s answered\n", name, replies, PING_COUNT, peer);
}

/* Brings the virtio-net device up if the device tree has one and the bootargs an ip=; pings
 * the bootargs' ping= if given. */
static void net_start(const char *name)
{
    char ip[16], peer[16];

    if (!bootarg("ip", ip, sizeof(ip)) || !vnet_init(&net)) {
        return;
    }
    parse_ip(ip, my_ip);
    net_up = true;
    printf("%s: answering ping at %s on virtio-net (MAC %02x:%02x:%02x:%02x:%02x:%02x)\n", name, ip,
           net.mac[0], net.mac[1], net.mac[2], net.mac[3], net.mac[4], net.mac[5]);
    if (bootarg("ping", peer, sizeof(peer))) {
        parse_ip(peer, peer_ip);
        ping_peer(name, peer);
    }
}

/* Publishes until the peers are gone; returns at once without a channel. */
static void publish(const char *name)
{
    uint64_t region = guest.fdt_ok ? reg_base(guest.fdt, "bulkhead,shared-memory-v1") : 0;
    uintptr_t db = guest.fdt_ok ? (uintptr_t)reg_base(guest.fdt, "bulkhead,doorbell") : 0;

    if (!region || !db) {
        if (net_up) {
            serve_net(bootarg_ul("serve_s", 10) * 1000);
            printf("%s: answered %lu pings\n", name, pings);
        }
        return;
    }
    volatile uint64_t *words = (volatile uint64_t *)(uintptr_t)region;
    uint32_t peers = mmio_read32(db + SHM_DB_MEMBERS) & ~(1u << mmio_read32(db + SHM_DB_ID));
    printf("%s: publishing a counter in shared memory at 0x%lx (read it: devmem 0x%lx 64); "
           "I power off once the other VMs on the channel are gone\n",
           name, (unsigned long)(region + 8), (unsigned long)(region + 8));
    for (uint64_t n = 1; mmio_read32(db + SHM_DB_LIVE) & peers; n++) {
        words[1] = n;
        serve_net(PUBLISH_MS);
    }
    printf("%s: the channel's other members have left, after %lu values\n", name,
           (unsigned long)words[1]);
    if (net_up) {
        printf("%s: answered %lu pings\n", name, pings);
    }
}

int main(void *dtb)
{
    char name[32] = "guest";
    uint64_t el;

    guest_init(dtb);
    bootarg("name", name, sizeof(name));
    asm volatile("mrs %0, CurrentEL" : "=r"(el));
    printf("Hello from %s, a Bulkhead demo guest running at EL%lu!\n", name,
           (unsigned long)BITS(el, 3, 2));
    if (guest.fdt_ok) {
        printf("%s: my DTB at %p shows %lu MiB of RAM at 0x%lx, %u CPU%s, a PL011 at 0x%lx\n", name,
               guest.fdt, (unsigned long)(guest.ram_size >> 20), (unsigned long)guest.ram_base,
               guest.nr_cpus, guest.nr_cpus == 1 ? "" : "s", (unsigned long)guest.uart);
        printf("%s: bootargs \"%s\", PSCI through %s\n", name, guest.bootargs,
               guest.psci_smc ? "SMC" : "HVC");
    } else {
        printf("%s: no valid DTB at %p\n", name, dtb);
    }
    for (int i = 1; i <= 5; i++) {
        printf("%s counts %d\n", name, i);
        delay_ms(COUNT_MS);
    }
    net_start(name);
    publish(name);
    printf("%s says goodbye, powering off\n", name);
    guest_halt();
}
