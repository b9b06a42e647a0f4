/*
 * A guest that breaks virtio's rules on purpose (tests/qemu/test_virtio.py, virtio_bad): it
 * drives the VM's virtio-blk device (vdev/virtio_blk.c) with one malformed ring after another:
 * a buffer outside its RAM, a descriptor loop, a huge length, an available index far ahead, a
 * head beyond the queue, an indirect table inside an indirect table, rings outside its RAM.
 * Each must put the device into DEVICE_NEEDS_RESET (the hypervisor says so on the console) and
 * nothing else: the guest resets the device, sets it up again, and a good read of sector 0
 * must work after each. The disk's first bytes are "BULKHEAD-DISK" (the test's image).
 * Lines: "virtio_bad: ..." and the report's PASS/FAIL/DONE.
 */
#include <libfdt.h>

#include "guest.h"
#include "report.h"
#include "sysreg.h"
#include "vnet.h" /* virtio's register names */

#define VIRTIO_ID_BLOCK 2
#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_INDIRECT 4u
#define QSIZE 8
#define DISK_MAGIC "BULKHEAD-DISK"

struct blk_req {
    uint32_t type, reserved;
    uint64_t sector;
};

static struct {
    struct virtq_desc desc[QSIZE] __attribute__((aligned(16)));
    struct {
        uint16_t flags, idx, ring[QSIZE];
    } avail;
    struct {
        uint16_t flags, idx;
        struct {
            uint32_t id, len;
        } ring[QSIZE];
    } used __attribute__((aligned(4)));
    struct virtq_desc table[2][2] __attribute__((aligned(16)));
    struct blk_req req;
    uint8_t data[512];
    uint8_t status;
} q;

static uintptr_t base;

static uint32_t rd(unsigned off)
{
    return mmio_read32(base + off);
}

static void wr(unsigned off, uint32_t v)
{
    mmio_write32(base + off, v);
}

static bool find_disk(void)
{
    int node = -1;

    while ((node = fdt_node_offset_by_compatible(guest.fdt, node, "virtio,mmio")) >= 0) {
        int len = 0;
        const fdt32_t *reg = fdt_getprop(guest.fdt, node, "reg", &len);
        if (!reg || len < 8) {
            continue;
        }
        base = (uintptr_t)(((uint64_t)fdt32_to_cpu(reg[0]) << 32) | fdt32_to_cpu(reg[1]));
        if (rd(VIRTIO_MMIO_MAGIC) == VIRTIO_MMIO_MAGIC_VALUE &&
            rd(VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_BLOCK) {
            return true;
        }
    }
    return false;
}

static void set_addr(unsigned low, uint64_t addr)
{
    wr(low, (uint32_t)addr);
    wr(low + 4, (uint32_t)(addr >> 32));
}

/* Reset, negotiate VERSION_1 only, queue 0 at desc (its rings in q unless moved), DRIVER_OK. */
static void setup(uint64_t desc)
{
    memset(&q, 0, sizeof(q));
    wr(VIRTIO_MMIO_STATUS, 0);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 1); /* bit 32: VERSION_1 */
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
    wr(VIRTIO_MMIO_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    wr(VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
    set_addr(VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
    set_addr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uintptr_t)&q.avail);
    set_addr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uintptr_t)&q.used);
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                               VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    q.desc[i] = (struct virtq_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

/* Makes chain head available (after `ahead` more phantom entries) and notifies. */
static void submit(uint16_t head, uint16_t ahead)
{
    q.avail.ring[q.avail.idx % QSIZE] = head;
    dsb();
    q.avail.idx = (uint16_t)(q.avail.idx + 1 + ahead);
    dsb();
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* A read of sector 0: header, 512 bytes, status. True if it came back with the disk's bytes. */
static bool good_read(void)
{
    uint16_t used_before = q.used.idx;

    q.req = (struct blk_req){.type = 0, .sector = 0};
    q.status = 0xff;
    desc(0, (uintptr_t)&q.req, sizeof(q.req), VIRTQ_DESC_F_NEXT, 1);
    desc(1, (uintptr_t)q.data, sizeof(q.data), VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    desc(2, (uintptr_t)&q.status, 1, VIRTQ_DESC_F_WRITE, 0);
    submit(0, 0);
    dsb();
    return q.used.idx == (uint16_t)(used_before + 1) && q.status == 0 &&
           memcmp(q.data, DISK_MAGIC, sizeof(DISK_MAGIC) - 1) == 0;
}

/* After a malformed ring: the device says it needs a reset; after one, it works again. */
static void expect_reset(const char *what)
{
    char check[64];
    uint32_t status = rd(VIRTIO_MMIO_STATUS);
    uint32_t isr = rd(VIRTIO_MMIO_INTERRUPT_STATUS);

    snprintf(check, sizeof(check), "%s: device needs a reset", what);
    if (status & VIRTIO_STATUS_NEEDS_RESET) {
        pass(check);
    } else {
        fail(check, "status 0x%x interrupt status 0x%x", status, isr);
    }
    /* Failed, it serves nothing: a good request now is not answered. */
    snprintf(check, sizeof(check), "%s: nothing served before the reset", what);
    if (!good_read()) {
        pass(check);
    } else {
        fail(check, "a request was answered");
    }
    setup((uintptr_t)q.desc);
    snprintf(check, sizeof(check), "%s: a good read after the reset", what);
    if (good_read()) {
        pass(check);
    } else {
        fail(check, "used %u status 0x%x data %02x %02x", q.used.idx, q.status, q.data[0],
             q.data[1]);
    }
}

static void bad_rings(void)
{
    uint64_t outside = guest.ram_base + guest.ram_size + 0x1000;

    printf("virtio_bad: a buffer outside its RAM (0x%lx)\n", (unsigned long)outside);
    desc(0, (uintptr_t)&q.req, sizeof(q.req), VIRTQ_DESC_F_NEXT, 1);
    desc(1, outside, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    desc(2, (uintptr_t)&q.status, 1, VIRTQ_DESC_F_WRITE, 0);
    submit(0, 0);
    expect_reset("outside RAM");

    printf("virtio_bad: a descriptor loop\n");
    desc(0, (uintptr_t)&q.req, sizeof(q.req), VIRTQ_DESC_F_NEXT, 1);
    desc(1, (uintptr_t)q.data, 512, VIRTQ_DESC_F_NEXT, 0);
    submit(0, 0);
    expect_reset("loop");

    printf("virtio_bad: a huge length\n");
    desc(0, (uintptr_t)&q.req, 0xffffffffu, 0, 0);
    submit(0, 0);
    expect_reset("huge length");

    printf("virtio_bad: an available index far ahead\n");
    desc(0, (uintptr_t)&q.req, sizeof(q.req), 0, 0);
    submit(0, 1000);
    expect_reset("index ahead");

    printf("virtio_bad: a head beyond the queue\n");
    submit(200, 0);
    expect_reset("head beyond");

    printf("virtio_bad: an indirect table inside an indirect table\n");
    q.table[0][0] = (struct virtq_desc){
        .addr = (uintptr_t)q.table[1], .len = 32, .flags = VIRTQ_DESC_F_INDIRECT};
    desc(0, (uintptr_t)q.table[0], 32, VIRTQ_DESC_F_INDIRECT, 0);
    submit(0, 0);
    expect_reset("nested indirect");

    printf("virtio_bad: rings outside its RAM\n");
    setup(outside);
    expect_reset("rings outside RAM");
}

int main(void *dtb)
{
    guest_init(dtb);
    printf("virtio_bad: RAM 0x%lx+0x%lx\n", (unsigned long)guest.ram_base,
           (unsigned long)guest.ram_size);
    if (!find_disk()) {
        fail("virtio-blk found", "no virtio,mmio node with a block device");
        finish();
    }
    printf("virtio_bad: virtio-blk at 0x%lx\n", (unsigned long)base);
    setup((uintptr_t)q.desc);
    if (good_read()) {
        pass("a good read first");
    } else {
        fail("a good read first", "used %u status 0x%x", q.used.idx, q.status);
    }
    bad_rings();
    finish();
}
