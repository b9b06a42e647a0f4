/*
 * The virtio-mmio transport (vdev/virtio_mmio.c) and its disk and console (vdev/virtio_blk.c,
 * vdev/virtio_console.c) as a guest's driver sees them, through the VM's MMIO bus: registers,
 * feature negotiation, a queue's set-up, requests and their answers, the interrupt, the budget,
 * DEVICE_NEEDS_RESET with its report, the driver's and the VM's resets; hvc0's output on the
 * console port and the keyboard's input into its receive buffers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/console.h"
#include "bulkhead/virtio.h"
#include "support/capture.h"
#include "virtio_fake_ram.h"

#define DEV_BASE 0x0a000000ULL
#define DEV_SPI 16
#define DEV_INTID (DEV_SPI + 32)
#define QSIZE 128
#define DISK_SECTORS 64
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_T_GET_ID 8
#define BLK_T_DISCARD 11
#define REQ (DATA)              /* request headers, 16 bytes each */
#define BUF (DATA + 0x8000)     /* data buffers, 512 bytes each */
#define STATUS (DATA + 0x40000) /* status bytes, one each */

struct env {
    struct vgic_dist vgic;
    struct vgic_cpu cpu;
    struct pt s2;
    struct vm_io io;
    struct fake_ram ram;
    uint8_t disk[DISK_SECTORS * 512];
    uint16_t avail_idx;
    uint64_t *pages[16];
    unsigned npages;
};

static struct console_port *shared_port;

static void *page_alloc(void *ctx)
{
    struct env *e = ctx;
    void *p = aligned_alloc(4096, 4096);

    assert_non_null(p);
    assert_true(e->npages < 16);
    memset(p, 0, 4096);
    e->pages[e->npages++] = p;
    return p;
}

static struct env *env_new(void)
{
    struct env *e = calloc(1, sizeof(*e));
    struct pt_ops ops = {.alloc_table = page_alloc, .ctx = e};

    assert_non_null(e);
    vgic_dist_init(&e->vgic, GIC_V3, 128, 1);
    vgic_cpu_init(&e->vgic, &e->cpu, 0, 4);
    pt_init(&e->s2, PT_STAGE2, 32, 1, page_alloc(e), &ops);
    vm_io_init(&e->io, "vmt", 1, &e->vgic, &e->s2, shared_port);
    fake_ram_init(&e->ram, &e->io);
    for (unsigned i = 0; i < sizeof(e->disk); i++) {
        e->disk[i] = (uint8_t)(i / 512 + i);
    }
    capture_reset();
    return e;
}

static void env_free(struct env *e)
{
    fake_ram_free(&e->ram);
    for (unsigned i = 0; i < e->npages; i++) {
        free(e->pages[i]);
    }
    free(e);
}

static uint32_t rd(struct env *e, uint64_t off)
{
    struct mmio_access a = {.ipa = DEV_BASE + off, .size = 4};
    uint64_t val = 0;

    assert_int_equal(mmio_bus_access(&e->io.bus, 0, &a, &val), MMIO_OK);
    return (uint32_t)val;
}

static void wr(struct env *e, uint64_t off, uint32_t v)
{
    struct mmio_access a = {.ipa = DEV_BASE + off, .size = 4, .write = true};
    uint64_t val = v;

    assert_int_equal(mmio_bus_access(&e->io.bus, 0, &a, &val), MMIO_OK);
}

static bool line(struct env *e)
{
    return vgic_get_irq(&e->vgic, 0, DEV_INTID)->line;
}

static void create_blk(struct env *e, bool read_only)
{
    struct virtio_blk_params p = {
        .image = e->disk, .size = sizeof(e->disk), .read_only = read_only};
    struct vdev_desc d = {
        .compatible = "bulkhead,virtio-blk",
        .reg = {{DEV_BASE, VIRTIO_MMIO_SIZE}},
        .nr_reg = 1,
        .spis = {DEV_SPI},
        .nr_spis = 1,
        .params = &p,
    };
    assert_int_equal(vdev_create(&e->io, &d), 0);
}

static void create_console(struct env *e)
{
    struct vdev_desc d = {
        .compatible = "bulkhead,virtio-console",
        .reg = {{DEV_BASE, VIRTIO_MMIO_SIZE}},
        .nr_reg = 1,
        .spis = {DEV_SPI},
        .nr_spis = 1,
    };
    assert_int_equal(vdev_create(&e->io, &d), 0);
}

/* A driver's set-up of queue q at the fake RAM's rings (queue 1 a page further); returns the
 * status read back. */
static uint32_t driver_init(struct env *e, unsigned nr_queues, uint64_t features)
{
    wr(e, VIRTIO_MMIO_STATUS, 0);
    wr(e, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(e, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(e, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    wr(e, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(e, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    wr(e, VIRTIO_MMIO_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    if (!(rd(e, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
        return rd(e, VIRTIO_MMIO_STATUS);
    }
    for (unsigned q = 0; q < nr_queues; q++) {
        uint64_t shift = 0x10000ULL * q;
        wr(e, VIRTIO_MMIO_QUEUE_SEL, q);
        wr(e, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
        wr(e, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(RING_DESC + shift));
        wr(e, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(RING_AVAIL + shift));
        wr(e, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(RING_USED + shift));
        wr(e, VIRTIO_MMIO_QUEUE_READY, 1);
    }
    wr(e, VIRTIO_MMIO_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
           VIRTIO_STATUS_DRIVER_OK);
    e->avail_idx = 0;
    return rd(e, VIRTIO_MMIO_STATUS);
}

static const uint64_t VERSION_1 = 1ULL << VIRTIO_F_VERSION_1;

/* Request n (slot n % 32 of the headers and buffers): header, data (len bytes, device-writable
 * for reads), status; made available without a notify. */
static void queue_req(struct env *e, unsigned n, uint32_t type, uint64_t sector, uint32_t len,
                      bool data_in)
{
    unsigned slot = n % 32, d = (3 * n) % QSIZE;
    uint64_t req = REQ + 16ULL * slot, buf = BUF + 0x1000ULL * slot, st = STATUS + slot;
    uint32_t hdr[4] = {type, 0, (uint32_t)sector, (uint32_t)(sector >> 32)};

    memcpy(fake_ram_ptr(&e->ram, req), hdr, sizeof(hdr));
    *fake_ram_ptr(&e->ram, st) = 0xee;
    set_desc(&e->ram, d, req, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1));
    if (len) {
        set_desc(&e->ram, d + 1, buf, len, VIRTQ_DESC_F_NEXT | (data_in ? VIRTQ_DESC_F_WRITE : 0),
                 (uint16_t)(d + 2));
        set_desc(&e->ram, d + 2, st, 1, VIRTQ_DESC_F_WRITE, 0);
    } else {
        set_desc(&e->ram, d + 1, st, 1, VIRTQ_DESC_F_WRITE, 0);
    }
    offer(&e->ram, QSIZE, (uint16_t)d);
}

static uint8_t status_of(struct env *e, unsigned n)
{
    return *fake_ram_ptr(&e->ram, STATUS + n % 32);
}

static uint8_t *buf_of(struct env *e, unsigned n)
{
    return fake_ram_ptr(&e->ram, BUF + 0x1000ULL * (n % 32));
}

static int group_setup(void **state)
{
    (void)state;
    shared_port = calloc(1, sizeof(*shared_port));
    if (!shared_port) {
        return -1;
    }
    console_port_init(shared_port, "vmt");
    console_port_add(shared_port);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(shared_port);
    return 0;
}

static void test_registers_say_a_modern_block_device(void **state)
{
    struct env *e = env_new();

    (void)state;
    create_blk(e, true);
    assert_string_equal(e->io.devices->name, "virtio-blk@a000000");
    assert_int_equal(rd(e, VIRTIO_MMIO_MAGIC), VIRTIO_MMIO_MAGIC_VALUE);
    assert_int_equal(rd(e, VIRTIO_MMIO_VERSION), 2);
    assert_int_equal(rd(e, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
    wr(e, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    assert_int_equal(rd(e, VIRTIO_MMIO_DEVICE_FEATURES), 1); /* VERSION_1 */
    wr(e, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint32_t lo = rd(e, VIRTIO_MMIO_DEVICE_FEATURES);
    assert_true(lo & (1u << VIRTIO_BLK_F_RO));
    assert_true(lo & (1u << VIRTIO_BLK_F_FLUSH));
    assert_false(lo & (1u << VIRTIO_BLK_F_DISCARD)); /* not on a read-only disk */
    assert_true(lo & (1u << VIRTIO_F_INDIRECT_DESC));
    assert_int_equal(rd(e, VIRTIO_MMIO_CONFIG), DISK_SECTORS); /* capacity, low word */
    assert_int_equal(rd(e, VIRTIO_MMIO_CONFIG + 4), 0);
    assert_int_equal(rd(e, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
    wr(e, VIRTIO_MMIO_QUEUE_SEL, 1);
    assert_int_equal(rd(e, VIRTIO_MMIO_QUEUE_NUM_MAX), 0); /* one queue only */
    assert_int_equal(rd(e, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu);
    env_free(e);
}

static void test_features_without_version_1_are_refused(void **state)
{
    struct env *e = env_new();

    (void)state;
    create_blk(e, false);
    assert_false(driver_init(e, 1, 0) & VIRTIO_STATUS_FEATURES_OK);
    assert_false(driver_init(e, 1, VERSION_1 | (1ULL << 40)) & VIRTIO_STATUS_FEATURES_OK);
    assert_true(driver_init(e, 1, VERSION_1) & VIRTIO_STATUS_DRIVER_OK);
    env_free(e);
}

static void test_read_fills_the_buffer_and_raises_the_interrupt(void **state)
{
    struct env *e = env_new();

    (void)state;
    create_blk(e, true);
    driver_init(e, 1, VERSION_1);
    queue_req(e, 0, BLK_T_IN, 3, 1024, true);
    assert_false(line(e));
    wr(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(status_of(e, 0), 0);
    assert_memory_equal(buf_of(e, 0), e->disk + 3 * 512, 1024);
    assert_int_equal(used_idx(&e->ram), 1);
    assert_int_equal(used_elem(&e->ram, QSIZE, 0)[1], 1025); /* data and status */
    assert_true(line(e));
    assert_int_equal(rd(e, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_USED);
    wr(e, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED);
    assert_false(line(e));
    env_free(e);
}

static void test_requests_of_a_writable_disk(void **state)
{
    struct env *e = env_new();
    char id[20];

    (void)state;
    create_blk(e, false);
    driver_init(e, 1, VERSION_1);
    memset(buf_of(e, 0), 0x5a, 512);
    queue_req(e, 0, BLK_T_OUT, 5, 512, false);
    queue_req(e, 1, BLK_T_FLUSH, 0, 0, false);
    queue_req(e, 2, BLK_T_IN, DISK_SECTORS - 1, 1024, true); /* one sector beyond the end */
    queue_req(e, 3, 77, 0, 0, false);                        /* no such request */
    queue_req(e, 4, BLK_T_GET_ID, 0, 20, true);
    uint64_t discard[2] = {6, 2}; /* sector 6, 2 sectors, flags 0 */
    memcpy(buf_of(e, 5), discard, sizeof(discard));
    queue_req(e, 5, BLK_T_DISCARD, 0, 16, false);
    wr(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(used_idx(&e->ram), 6);
    assert_int_equal(status_of(e, 0), 0);
    assert_int_equal(e->disk[5 * 512], 0x5a);
    assert_int_equal(e->disk[6 * 512 - 1], 0x5a);
    assert_int_equal(status_of(e, 1), 0);
    assert_int_equal(status_of(e, 2), 1); /* IOERR */
    assert_int_equal(status_of(e, 3), 2); /* UNSUPP */
    assert_int_equal(status_of(e, 4), 0);
    memcpy(id, buf_of(e, 4), sizeof(id));
    assert_memory_equal(id, "virtio-blk@a000000", 18);
    assert_int_equal(status_of(e, 5), 0);
    static const uint8_t zeroes[1024];
    assert_memory_equal(e->disk + 6 * 512, zeroes, 1024);
    env_free(e);
}

static void test_read_only_disk_refuses_writes(void **state)
{
    struct env *e = env_new();

    (void)state;
    create_blk(e, true);
    driver_init(e, 1, VERSION_1);
    uint8_t before = e->disk[512];
    memset(buf_of(e, 0), 0x77, 512);
    queue_req(e, 0, BLK_T_OUT, 1, 512, false);
    wr(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(status_of(e, 0), 1);
    assert_int_equal(e->disk[512], before);
    env_free(e);
}

static void test_broken_ring_needs_a_reset_and_is_reported(void **state)
{
    struct env *e = env_new();

    (void)state;
    create_blk(e, false);
    driver_init(e, 1, VERSION_1);
    set_desc(&e->ram, 0, 0x1000, 16, 0, 0); /* outside the VM's RAM */
    offer(&e->ram, QSIZE, 0);
    wr(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_true(rd(e, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    assert_true(rd(e, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
    assert_true(line(e));
    assert_true(capture_contains("bulkhead: vmt: virtio-blk@a000000: queue 0: descriptor 0: "
                                 "buffer 0x1000+0x10 outside the VM's RAM: device needs a "
                                 "reset\n"));
    /* Nothing is served until the driver resets it; the driver's status write keeps the bit. */
    queue_req(e, 1, BLK_T_IN, 0, 512, true);
    wr(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(used_idx(&e->ram), 0);
    wr(e, VIRTIO_MMIO_STATUS, rd(e, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER);
    assert_true(rd(e, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(capture_count("device needs a reset"), 1);
    memset(e->ram.bytes, 0, RAM_SIZE);
    driver_init(e, 1, VERSION_1);
    assert_false(rd(e, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    assert_false(line(e));
    queue_req(e, 0, BLK_T_IN, 0, 512, true);
    wr(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(status_of(e, 0), 0);
    env_free(e);
}

static unsigned reports_asked;

static bool budget_spent(void *ctx)
{
    (void)ctx;
    reports_asked++;
    return false;
}

/* A guest breaking and resetting its device in a loop is held to its VM's report budget: once
 * that is spent, the device still fails, silently. */
static void test_a_spent_report_budget_silences_the_failure_only(void **state)
{
    struct env *e = env_new();

    (void)state;
    e->io.report_allowed = budget_spent;
    reports_asked = 0;
    create_blk(e, false);
    for (unsigned round = 0; round < 3; round++) {
        driver_init(e, 1, VERSION_1);
        set_desc(&e->ram, 0, 0x1000, 16, 0, 0); /* outside the VM's RAM */
        offer(&e->ram, QSIZE, 0);
        wr(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
        assert_true(rd(e, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
        assert_true(line(e));
        memset(e->ram.bytes, 0, RAM_SIZE);
    }
    assert_int_equal(reports_asked, 3);
    assert_int_equal(capture_count("device needs a reset"), 0);
    env_free(e);
}

static void test_rings_outside_ram_fail_at_queue_ready(void **state)
{
    struct env *e = env_new();

    (void)state;
    create_blk(e, false);
    wr(e, VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(e, VIRTIO_MMIO_QUEUE_NUM, 8);
    wr(e, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
    wr(e, VIRTIO_MMIO_QUEUE_READY, 1);
    assert_int_equal(rd(e, VIRTIO_MMIO_QUEUE_READY), 0);
    assert_true(rd(e, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    assert_true(capture_contains("queue 0: rings outside the VM's RAM"));
    env_free(e);
}

static void test_a_notify_serves_a_budget_and_the_next_access_the_rest(void **state)
{
    struct env *e = env_new();

    (void)state;
    create_blk(e, true);
    driver_init(e, 1, VERSION_1);
    for (unsigned n = 0; n < 40; n++) {
        queue_req(e, n, BLK_T_IN, 0, 512, true);
    }
    /* 40 chains of 3 descriptors: QSIZE 128 holds them; a second notify-less batch follows. */
    wr(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(used_idx(&e->ram), 40);
    for (unsigned n = 40; n < 40 + VIRTIO_BUDGET + 10; n++) {
        /* Reuse descriptors 0..: the device has given back every chain. */
        queue_req(e, n % 40, BLK_T_IN, 0, 512, true);
    }
    wr(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(used_idx(&e->ram), 40 + VIRTIO_BUDGET);
    wr(e, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED);
    assert_int_equal(used_idx(&e->ram), 40 + VIRTIO_BUDGET + 10);
    assert_true(line(e)); /* the rest raised it again */
    env_free(e);
}

static void test_vm_reset_and_halt(void **state)
{
    struct env *e = env_new();

    (void)state;
    create_blk(e, true);
    driver_init(e, 1, VERSION_1);
    vm_io_halt(&e->io, false);
    queue_req(e, 0, BLK_T_IN, 0, 512, true);
    wr(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(used_idx(&e->ram), 0); /* a halted VM's RAM is not touched */
    vm_io_reset(&e->io);
    assert_int_equal(rd(e, VIRTIO_MMIO_STATUS), 0);
    wr(e, VIRTIO_MMIO_QUEUE_SEL, 0);
    assert_int_equal(rd(e, VIRTIO_MMIO_QUEUE_READY), 0);
    memset(e->ram.bytes, 0, RAM_SIZE);
    driver_init(e, 1, VERSION_1);
    queue_req(e, 0, BLK_T_IN, 0, 512, true);
    wr(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(used_idx(&e->ram), 1);
    env_free(e);
}

/* The console's transmit queue is queue 1: its rings a page (0x10000) after queue 0's. */
static void console_tx(struct env *e, const char *s)
{
    uint64_t shift = 0x10000, buf = BUF + 0x20000;
    struct fake_ram *r = &e->ram;

    memcpy(fake_ram_ptr(r, buf), s, strlen(s));
    set_desc_at(r, RING_DESC + shift, 0, buf, (uint32_t)strlen(s), 0, 0);
    uint16_t *a = (uint16_t *)fake_ram_ptr(r, RING_AVAIL + shift);
    a[2 + a[1] % QSIZE] = 0;
    a[1]++;
    wr(e, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
}

static void test_console_output_and_input(void **state)
{
    struct env *e = env_new();
    bool (*before)(void *, char) = shared_port->input;

    (void)state;
    create_console(e);
    assert_int_equal(rd(e, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
    driver_init(e, 2, VERSION_1);
    /* Receive buffers: 4 of 8 bytes. */
    for (unsigned i = 0; i < 4; i++) {
        set_desc(&e->ram, i, BUF + 16ULL * i, 8, VIRTQ_DESC_F_WRITE, 0);
        offer(&e->ram, QSIZE, (uint16_t)i);
    }
    wr(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    console_tx(e, "hvc0 says hi\n");
    assert_true(capture_contains("[vmt] hvc0 says hi\n"));
    /* Written to, it has the keyboard now: typed bytes land in its receive buffers. */
    assert_true(shared_port->input != before);
    console_route('k');
    console_route('y');
    assert_int_equal(used_idx(&e->ram), 2);
    assert_int_equal(*fake_ram_ptr(&e->ram, BUF), 'k');
    assert_int_equal(*fake_ram_ptr(&e->ram, BUF + 16), 'y');
    assert_int_equal(used_elem(&e->ram, QSIZE, 0)[1], 1);
    assert_true(line(e));
    /* The driver's reset gives the keyboard back. */
    wr(e, VIRTIO_MMIO_STATUS, 0);
    assert_true(shared_port->input == before);
    env_free(e);
}

static void test_console_input_waits_for_receive_buffers(void **state)
{
    struct env *e = env_new();

    (void)state;
    create_console(e);
    driver_init(e, 2, VERSION_1);
    console_tx(e, "prompt> ");
    console_route('a'); /* no receive buffer yet: it waits in the console's queue */
    assert_int_equal(used_idx(&e->ram), 0);
    set_desc(&e->ram, 0, BUF, 8, VIRTQ_DESC_F_WRITE, 0);
    offer(&e->ram, QSIZE, 0);
    wr(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0); /* the new buffer takes it */
    assert_int_equal(used_idx(&e->ram), 1);
    assert_int_equal(*fake_ram_ptr(&e->ram, BUF), 'a');
    wr(e, VIRTIO_MMIO_STATUS, 0);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registers_say_a_modern_block_device),
        cmocka_unit_test(test_features_without_version_1_are_refused),
        cmocka_unit_test(test_read_fills_the_buffer_and_raises_the_interrupt),
        cmocka_unit_test(test_requests_of_a_writable_disk),
        cmocka_unit_test(test_read_only_disk_refuses_writes),
        cmocka_unit_test(test_broken_ring_needs_a_reset_and_is_reported),
        cmocka_unit_test(test_a_spent_report_budget_silences_the_failure_only),
        cmocka_unit_test(test_rings_outside_ram_fail_at_queue_ready),
        cmocka_unit_test(test_a_notify_serves_a_budget_and_the_next_access_the_rest),
        cmocka_unit_test(test_vm_reset_and_halt),
        cmocka_unit_test(test_console_output_and_input),
        cmocka_unit_test(test_console_input_waits_for_receive_buffers),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
