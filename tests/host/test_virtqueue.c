/*
 * vdev/virtqueue.c against virtio 1.2's split virtqueue (2.7): chains popped and validated
 * against a fake VM RAM (what vm_io's mem hook answers for), copies in and out, the used ring,
 * and every malformed ring a guest can write: buffers outside RAM, loops, huge lengths, indices
 * beyond the queue, a wrapped available index, bad indirect tables, readable after writable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/virtio.h"
#include "virtio_fake_ram.h"

#define QSIZE 8

static struct fake_ram ram;
static struct vm_io io;
static struct virtq q;
static char err[VIRTQ_ERR_LEN];

static int setup(void **state)
{
    (void)state;
    fake_ram_init(&ram, &io);
    q = (struct virtq){
        .num = QSIZE, .desc_ipa = RING_DESC, .avail_ipa = RING_AVAIL, .used_ipa = RING_USED};
    assert_int_equal(virtq_enable(&q, &io, err), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_ram_free(&ram);
    return 0;
}

static void test_empty_ring_gives_nothing(void **state)
{
    struct virtq_chain c;

    (void)state;
    assert_int_equal(virtq_pop(&q, &io, &c, err), 0);
}

static void test_chain_of_readable_then_writable_buffers(void **state)
{
    struct virtq_chain c;
    char out[16] = "hello, device", in[8];

    (void)state;
    memcpy(fake_ram_ptr(&ram, DATA), out, sizeof(out));
    set_desc(&ram, 0, DATA, 6, VIRTQ_DESC_F_NEXT, 1);
    set_desc(&ram, 1, DATA + 6, 10, VIRTQ_DESC_F_NEXT, 2);
    set_desc(&ram, 2, DATA + 0x100, 8, VIRTQ_DESC_F_WRITE, 0);
    offer(&ram, QSIZE, 0);
    assert_int_equal(virtq_pop(&q, &io, &c, err), 1);
    assert_int_equal(c.head, 0);
    assert_int_equal(c.nr_out, 2);
    assert_int_equal(c.nr_in, 1);
    assert_int_equal(c.out_len, 16);
    assert_int_equal(c.in_len, 8);
    char got[16];
    assert_int_equal(virtq_read(&c, 0, got, sizeof(got)), 16);
    assert_memory_equal(got, out, 16);
    /* A read across the two buffers, from an offset. */
    assert_int_equal(virtq_read(&c, 4, got, 4), 4);
    assert_memory_equal(got, "o, d", 4);
    memcpy(in, "answered", 8);
    assert_int_equal(virtq_write(&c, 0, in, 8), 8);
    assert_memory_equal(fake_ram_ptr(&ram, DATA + 0x100), "answered", 8);
    /* Nothing beyond the writable part. */
    assert_int_equal(virtq_write(&c, 4, in, 8), 4);
    virtq_push(&q, c.head, 8);
    assert_int_equal(used_idx(&ram), 1);
    assert_int_equal(used_elem(&ram, QSIZE, 0)[0], 0);
    assert_int_equal(used_elem(&ram, QSIZE, 0)[1], 8);
    assert_int_equal(virtq_pop(&q, &io, &c, err), 0);
}

static void test_indices_wrap_at_65536(void **state)
{
    struct virtq_chain c;

    (void)state;
    q.last_avail = 0xffff;
    q.used_idx = 0xffff;
    set_avail_idx(&ram, 0xffff);
    set_desc(&ram, 3, DATA, 4, 0, 0);
    offer(&ram, QSIZE, 3);
    assert_int_equal(virtq_pop(&q, &io, &c, err), 1);
    assert_int_equal(c.head, 3);
    assert_int_equal(q.last_avail, 0);
    virtq_push(&q, c.head, 0);
    assert_int_equal(used_idx(&ram), 0);
}

static void expect_error(const char *what)
{
    struct virtq_chain c;
    uint16_t before = q.last_avail;

    assert_int_equal(virtq_pop(&q, &io, &c, err), -1);
    assert_non_null(strstr(err, what));
    assert_int_equal(q.last_avail, before); /* the position did not move */
}

static void test_buffer_outside_ram_is_refused(void **state)
{
    (void)state;
    set_desc(&ram, 0, RAM_IPA + RAM_SIZE - 4, 8, 0, 0);
    offer(&ram, QSIZE, 0);
    expect_error("outside the VM's RAM");
    set_desc(&ram, 0, 0x1000, 8, 0, 0); /* below RAM: another VM's, or the hypervisor's */
    expect_error("buffer 0x1000+0x8 outside the VM's RAM");
}

static void test_huge_length_is_refused(void **state)
{
    (void)state;
    set_desc(&ram, 0, DATA, 0xffffffffu, 0, 0);
    offer(&ram, QSIZE, 0);
    expect_error("outside the VM's RAM");
}

static void test_address_that_wraps_is_refused(void **state)
{
    (void)state;
    set_desc(&ram, 0, 0xfffffffffffff000ULL, 0x2000, 0, 0);
    offer(&ram, QSIZE, 0);
    expect_error("outside the VM's RAM");
}

static void test_loop_is_refused(void **state)
{
    (void)state;
    set_desc(&ram, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
    set_desc(&ram, 1, DATA, 4, VIRTQ_DESC_F_NEXT, 0);
    offer(&ram, QSIZE, 0);
    expect_error("loops");
}

static void test_self_loop_is_refused(void **state)
{
    (void)state;
    set_desc(&ram, 5, DATA, 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
    offer(&ram, QSIZE, 5);
    expect_error("loops");
}

static void test_head_beyond_queue_is_refused(void **state)
{
    (void)state;
    offer(&ram, QSIZE, QSIZE);
    expect_error("head 8 beyond");
}

static void test_next_beyond_queue_is_refused(void **state)
{
    (void)state;
    set_desc(&ram, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 200);
    offer(&ram, QSIZE, 0);
    expect_error("next 200 beyond");
}

static void test_available_index_far_ahead_is_refused(void **state)
{
    (void)state;
    set_desc(&ram, 0, DATA, 4, 0, 0);
    set_avail_idx(&ram, QSIZE + 1);
    expect_error("ahead");
    set_avail_idx(&ram, 0xfff0); /* "wrapped" backwards */
    expect_error("ahead");
}

static void test_readable_after_writable_is_refused(void **state)
{
    (void)state;
    set_desc(&ram, 0, DATA, 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    set_desc(&ram, 1, DATA, 4, 0, 0);
    offer(&ram, QSIZE, 0);
    expect_error("readable after writable");
}

static void test_too_long_chain_is_refused(void **state)
{
    struct virtq big = {
        .num = 128, .desc_ipa = RING_DESC, .avail_ipa = RING_AVAIL, .used_ipa = RING_USED};
    struct virtq_chain c;

    (void)state;
    assert_int_equal(virtq_enable(&big, &io, err), 0);
    for (unsigned i = 0; i < 100; i++) {
        set_desc(&ram, i, DATA, 4, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
    }
    set_desc(&ram, 100, DATA, 4, 0, 0);
    offer(&ram, 128, 0);
    assert_int_equal(virtq_pop(&big, &io, &c, err), -1);
    assert_non_null(strstr(err, "longer than 64"));
}

static void test_indirect_table_is_followed(void **state)
{
    struct virtq_chain c;

    (void)state;
    set_desc_at(&ram, TABLE, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
    set_desc_at(&ram, TABLE, 1, DATA + 0x100, 1, VIRTQ_DESC_F_WRITE, 0);
    set_desc(&ram, 2, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
    offer(&ram, QSIZE, 2);
    assert_int_equal(virtq_pop(&q, &io, &c, err), 1);
    assert_int_equal(c.head, 2);
    assert_int_equal(c.nr_out, 1);
    assert_int_equal(c.nr_in, 1);
    assert_int_equal(c.in_len, 1);
}

static void test_bad_indirect_tables_are_refused(void **state)
{
    (void)state;
    set_desc(&ram, 0, TABLE, 24, VIRTQ_DESC_F_INDIRECT, 0); /* not a multiple of 16 */
    offer(&ram, QSIZE, 0);
    expect_error("indirect table of 24 bytes");
    set_desc(&ram, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    expect_error("indirect with NEXT");
    set_desc(&ram, 0, RAM_IPA + RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
    expect_error("outside the VM's RAM");
    set_desc_at(&ram, TABLE, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
    set_desc(&ram, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
    expect_error("indirect table inside an indirect table");
    set_desc_at(&ram, TABLE, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 0); /* loops on itself */
    expect_error("loops");
    set_desc_at(&ram, TABLE, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1); /* next beyond the table */
    expect_error("next 1 beyond its table's 1");
}

static void test_enable_checks_the_rings(void **state)
{
    struct virtq bad = {
        .num = 6, .desc_ipa = RING_DESC, .avail_ipa = RING_AVAIL, .used_ipa = RING_USED};

    (void)state;
    assert_int_equal(virtq_enable(&bad, &io, err), -1);
    assert_non_null(strstr(err, "not a power of 2"));
    bad.num = 512;
    assert_int_equal(virtq_enable(&bad, &io, err), -1);
    bad.num = 8;
    bad.desc_ipa = RING_DESC + 8;
    assert_int_equal(virtq_enable(&bad, &io, err), -1);
    assert_non_null(strstr(err, "misaligned"));
    bad.desc_ipa = RAM_IPA + RAM_SIZE - 64;
    assert_int_equal(virtq_enable(&bad, &io, err), -1);
    assert_non_null(strstr(err, "outside the VM's RAM"));
    assert_false(bad.ready);
}

static void test_zero_length_buffer_is_harmless(void **state)
{
    struct virtq_chain c;

    (void)state;
    set_desc(&ram, 0, 0, 0, VIRTQ_DESC_F_NEXT, 1); /* address 0, but nothing to touch */
    set_desc(&ram, 1, DATA, 4, VIRTQ_DESC_F_WRITE, 0);
    offer(&ram, QSIZE, 0);
    assert_int_equal(virtq_pop(&q, &io, &c, err), 1);
    assert_int_equal(c.nr_out + c.nr_in, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_ring_gives_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_of_readable_then_writable_buffers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_indices_wrap_at_65536, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffer_outside_ram_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_length_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_address_that_wraps_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loop_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_loop_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_beyond_queue_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_beyond_queue_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_available_index_far_ahead_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readable_after_writable_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_long_chain_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_table_is_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_indirect_tables_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enable_checks_the_rings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_length_buffer_is_harmless, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
