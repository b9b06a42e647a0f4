/*
 * vdev/mmio.c: the sorted region table of a VM, lookups at every edge, and access routing with
 * offsets, sizes and results.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/mmio.h"
#include "support/fake_mmio.h"

static struct mmio_region region(ipa_t base, uint64_t size, struct fake_dev *dev, const char *name)
{
    return (struct mmio_region){
        .base = base, .size = size, .ops = &fake_dev_ops, .dev = dev, .name = name};
}

static int add(struct mmio_bus *bus, ipa_t base, uint64_t size, struct fake_dev *dev)
{
    struct mmio_region r = region(base, size, dev, "dev");

    return mmio_bus_add(bus, &r);
}

static void assert_sorted(const struct mmio_bus *bus)
{
    for (unsigned i = 1; i < bus->count; i++) {
        const struct mmio_region *a = &bus->regions[i - 1], *b = &bus->regions[i];
        assert_true(a->base + a->size <= b->base);
    }
}

static void test_add_keeps_regions_sorted_whatever_the_order(void **state)
{
    static const ipa_t orders[][4] = {
        {0x1000, 0x2000, 0x8000, 0x9000000},
        {0x9000000, 0x8000, 0x2000, 0x1000},
        {0x8000, 0x1000, 0x9000000, 0x2000},
        {0x2000, 0x9000000, 0x1000, 0x8000},
    };
    struct fake_dev devs[4];
    (void)state;

    for (unsigned o = 0; o < ARRAY_SIZE(orders); o++) {
        struct mmio_bus bus = {0};
        for (unsigned i = 0; i < 4; i++) {
            struct mmio_region r = region(orders[o][i], 0x1000, &devs[i], "dev");
            assert_int_equal(mmio_bus_add(&bus, &r), 0);
        }
        assert_int_equal(bus.count, 4);
        assert_int_equal(bus.regions[0].base, 0x1000);
        assert_int_equal(bus.regions[1].base, 0x2000);
        assert_int_equal(bus.regions[2].base, 0x8000);
        assert_int_equal(bus.regions[3].base, 0x9000000);
        assert_sorted(&bus);
        /* Each region kept its own device and size. */
        for (unsigned i = 0; i < 4; i++) {
            const struct mmio_region *r = mmio_bus_find(&bus, orders[o][i]);
            assert_non_null(r);
            assert_ptr_equal(r->dev, &devs[i]);
            assert_int_equal(r->size, 0x1000);
            assert_ptr_equal(r->ops, &fake_dev_ops);
            assert_string_equal(r->name, "dev");
        }
    }
}

static void test_add_rejects_overlaps(void **state)
{
    struct mmio_bus bus = {0};
    struct fake_dev dev;
    (void)state;

    assert_int_equal(add(&bus, 0x10000, 0x1000, &dev), 0);
    assert_int_equal(add(&bus, 0x10000, 0x1000, &dev), -1); /* identical */
    assert_int_equal(add(&bus, 0xf000, 0x1001, &dev), -1);  /* covers the first byte */
    assert_int_equal(add(&bus, 0x10fff, 0x10, &dev), -1);   /* covers the last byte */
    assert_int_equal(add(&bus, 0x10800, 0x100, &dev), -1);  /* inside */
    assert_int_equal(add(&bus, 0x8000, 0x10000, &dev), -1); /* around */
    assert_int_equal(bus.count, 1);

    /* Touching at either end is not overlapping. */
    assert_int_equal(add(&bus, 0xf000, 0x1000, &dev), 0);
    assert_int_equal(add(&bus, 0x11000, 0x1000, &dev), 0);
    assert_int_equal(bus.count, 3);
    /* An overlap with a region that is not the neighbour by base is still caught. */
    assert_int_equal(add(&bus, 0x1000, 0x20000, &dev), -1);
    assert_int_equal(bus.count, 3);
    assert_sorted(&bus);
}

static void test_add_rejects_zero_size_and_wrap_around(void **state)
{
    struct mmio_bus bus = {0};
    struct fake_dev dev;
    (void)state;

    assert_int_equal(add(&bus, 0x1000, 0, &dev), -1);
    assert_int_equal(add(&bus, 0xfffffffffffff000ULL, 0x2000, &dev), -1);
    assert_int_equal(add(&bus, 0x1000, ~0ULL, &dev), -1);
    assert_int_equal(bus.count, 0);
    /* A region that wrapped would otherwise hide one at the bottom of the space. */
    assert_int_equal(add(&bus, 0x0, 0x1000, &dev), 0);
    assert_int_equal(add(&bus, 0xfffffffffffff000ULL, 0x2000, &dev), -1);
    assert_int_equal(bus.count, 1);
}

static void test_add_rejects_full_table(void **state)
{
    struct mmio_bus bus = {0};
    struct fake_dev dev;
    (void)state;

    for (unsigned i = 0; i < MAX_MMIO_REGIONS; i++) {
        /* Descending bases: every insertion shifts the whole table. */
        assert_int_equal(add(&bus, 0x100000 - i * 0x1000, 0x1000, &dev), 0);
    }
    assert_int_equal(bus.count, MAX_MMIO_REGIONS);
    assert_int_equal(add(&bus, 0x200000, 0x1000, &dev), -1);
    assert_int_equal(add(&bus, 0x0, 0x1000, &dev), -1);
    assert_int_equal(bus.count, MAX_MMIO_REGIONS);
    assert_sorted(&bus);
    assert_int_equal(bus.regions[0].base, 0x100000 - (MAX_MMIO_REGIONS - 1) * 0x1000);
    assert_int_equal(bus.regions[MAX_MMIO_REGIONS - 1].base, 0x100000);
}

static void test_find_at_edges_and_gaps(void **state)
{
    struct mmio_bus bus = {0};
    struct fake_dev a, b, c;
    (void)state;

    assert_null(mmio_bus_find(&bus, 0));
    assert_null(mmio_bus_find(&bus, 0x9000000));

    assert_int_equal(add(&bus, 0x9000000, 0x1000, &b), 0);
    assert_int_equal(add(&bus, 0x8000000, 0x10000, &a), 0);
    assert_int_equal(add(&bus, 0x9001000, 0x1000, &c), 0); /* adjacent to b */

    assert_ptr_equal(mmio_bus_find(&bus, 0x8000000)->dev, &a);
    assert_ptr_equal(mmio_bus_find(&bus, 0x800ffff)->dev, &a);
    assert_null(mmio_bus_find(&bus, 0x8010000)); /* one past the end, gap after */
    assert_null(mmio_bus_find(&bus, 0x7ffffff)); /* just below the first */
    assert_null(mmio_bus_find(&bus, 0x8ffffff)); /* just below b */
    assert_ptr_equal(mmio_bus_find(&bus, 0x9000000)->dev, &b);
    assert_ptr_equal(mmio_bus_find(&bus, 0x9000fff)->dev, &b);
    assert_ptr_equal(mmio_bus_find(&bus, 0x9001000)->dev, &c); /* one past b is c */
    assert_ptr_equal(mmio_bus_find(&bus, 0x9001fff)->dev, &c);
    assert_null(mmio_bus_find(&bus, 0x9002000));
    assert_null(mmio_bus_find(&bus, 0));
    assert_null(mmio_bus_find(&bus, ~0ULL));
}

static void test_find_in_a_full_table(void **state)
{
    struct mmio_bus bus = {0};
    struct fake_dev devs[MAX_MMIO_REGIONS];
    (void)state;

    /* Regions of varying sizes with gaps, inserted out of order. */
    for (unsigned k = 0; k < MAX_MMIO_REGIONS; k++) {
        unsigned i = (k * 7) % MAX_MMIO_REGIONS;
        assert_int_equal(add(&bus, 0x100000ULL * (i + 1), 0x1000ULL * (i + 1), &devs[i]), 0);
    }
    for (unsigned i = 0; i < MAX_MMIO_REGIONS; i++) {
        ipa_t base = 0x100000ULL * (i + 1), size = 0x1000ULL * (i + 1);
        assert_ptr_equal(mmio_bus_find(&bus, base)->dev, &devs[i]);
        assert_ptr_equal(mmio_bus_find(&bus, base + size - 1)->dev, &devs[i]);
        assert_null(mmio_bus_find(&bus, base + size));
        assert_null(mmio_bus_find(&bus, base - 1));
    }
}

/* Two regions sharing one page (virtio-mmio transports are 0x200 apart): each page's hint
 * names one region, and the other is still found, as is the gap between them, whatever the
 * order of the lookups. */
static void test_find_regions_sharing_a_page(void **state)
{
    struct mmio_bus bus = {0};
    struct fake_dev a, b;
    (void)state;

    assert_int_equal(add(&bus, 0xa000000, 0x200, &a), 0);
    assert_int_equal(add(&bus, 0xa000400, 0x200, &b), 0);
    for (unsigned round = 0; round < 3; round++) {
        assert_ptr_equal(mmio_bus_find(&bus, 0xa000000)->dev, &a);
        assert_ptr_equal(mmio_bus_find(&bus, 0xa0005fc)->dev, &b);
        assert_ptr_equal(mmio_bus_find(&bus, 0xa0001ff)->dev, &a);
        assert_null(mmio_bus_find(&bus, 0xa000200)); /* the gap, with a hint for the page */
        assert_null(mmio_bus_find(&bus, 0xa000600));
        assert_ptr_equal(mmio_bus_find(&bus, 0xa000400)->dev, &b);
    }
}

/* Adjacent regions: the hint of one is never taken for the other's first or last byte. */
static void test_find_adjacent_regions_after_hits(void **state)
{
    struct mmio_bus bus = {0};
    struct fake_dev a, b;
    (void)state;

    assert_int_equal(add(&bus, 0x9000000, 0x1800, &a), 0);
    assert_int_equal(add(&bus, 0x9001800, 0x800, &b), 0); /* shares a's second page */
    assert_ptr_equal(mmio_bus_find(&bus, 0x9001000)->dev, &a);
    assert_ptr_equal(mmio_bus_find(&bus, 0x9001800)->dev, &b);
    assert_ptr_equal(mmio_bus_find(&bus, 0x90017ff)->dev, &a);
    assert_ptr_equal(mmio_bus_find(&bus, 0x9001fff)->dev, &b);
    assert_null(mmio_bus_find(&bus, 0x9002000));
    assert_null(mmio_bus_find(&bus, 0x8ffffff));
}

/* Pages whose hints share a slot: each lookup is right, the other's hint or not. */
static void test_find_pages_sharing_a_hint_slot(void **state)
{
    struct mmio_bus bus = {0};
    struct fake_dev a, b;
    ipa_t first = 0x9000000, second = 0;
    (void)state;

    for (ipa_t page = first + 0x1000; !second; page += 0x1000) {
        if (mmio_hint_slot(page) == mmio_hint_slot(first)) {
            second = page;
        }
    }
    assert_int_equal(add(&bus, first, 0x1000, &a), 0);
    assert_int_equal(add(&bus, second, 0x1000, &b), 0);
    for (unsigned round = 0; round < 3; round++) {
        assert_ptr_equal(mmio_bus_find(&bus, first + 0x10)->dev, &a);
        assert_ptr_equal(mmio_bus_find(&bus, second + 0x10)->dev, &b);
        assert_null(mmio_bus_find(&bus, second + 0x1000));
    }
}

/* A region added after lookups filled the hints (the table's regions moved): every lookup is
 * still right, the new region's included. */
static void test_find_after_a_region_is_added(void **state)
{
    struct mmio_bus bus = {0};
    struct fake_dev devs[MAX_MMIO_REGIONS];
    (void)state;

    for (unsigned k = 0; k < MAX_MMIO_REGIONS; k++) {
        /* Descending bases: each one shifts every region found so far. */
        ipa_t base = 0x1000000 - 0x1000ULL * k;
        assert_int_equal(add(&bus, base, 0x1000, &devs[k]), 0);
        for (unsigned i = 0; i <= k; i++) {
            ipa_t b = 0x1000000 - 0x1000ULL * i;
            assert_ptr_equal(mmio_bus_find(&bus, b + 0xffc)->dev, &devs[i]);
            assert_ptr_equal(mmio_bus_find(&bus, b)->dev, &devs[i]);
        }
        assert_null(mmio_bus_find(&bus, base - 1));
        assert_null(mmio_bus_find(&bus, 0x1001000));
    }
}

/* A caller's own last region: asked first, kept when the lookup finds another, left as it was
 * when nothing is there, and still right after the table's regions moved under it. */
static void test_find_from_last_region(void **state)
{
    struct mmio_bus bus = {0};
    struct fake_dev a, b, c;
    const struct mmio_region *last = NULL;
    (void)state;

    assert_int_equal(add(&bus, 0x9000000, 0x1000, &a), 0);
    assert_int_equal(add(&bus, 0x9010000, 0x1000, &b), 0);
    assert_ptr_equal(mmio_bus_find_from(&bus, &last, 0x9000004)->dev, &a);
    assert_ptr_equal(last->dev, &a);
    assert_ptr_equal(mmio_bus_find_from(&bus, &last, 0x9000ffc)->dev, &a);
    assert_ptr_equal(mmio_bus_find_from(&bus, &last, 0x9010000)->dev, &b);
    assert_ptr_equal(last->dev, &b);
    assert_null(mmio_bus_find_from(&bus, &last, 0x9011000));
    assert_ptr_equal(last->dev, &b);
    /* A region added below both shifts them: the entry last points at now describes a. */
    assert_int_equal(add(&bus, 0x8000000, 0x1000, &c), 0);
    assert_ptr_equal(mmio_bus_find_from(&bus, &last, 0x9010008)->dev, &b);
    assert_ptr_equal(mmio_bus_find_from(&bus, &last, 0x9000008)->dev, &a);
    assert_ptr_equal(mmio_bus_find_from(&bus, &last, 0x8000008)->dev, &c);
}

static struct mmio_access acc(ipa_t ipa, unsigned size, bool write)
{
    return (struct mmio_access){.ipa = ipa, .size = (uint8_t)size, .write = write, .reg64 = true};
}

static void test_access_routes_to_device_with_offset(void **state)
{
    struct mmio_bus bus = {0};
    struct fake_dev uart = {.result = MMIO_OK}, gic = {.result = MMIO_OK};
    uint64_t val;
    (void)state;

    assert_int_equal(add(&bus, 0x8000000, 0x10000, &gic), 0);
    assert_int_equal(add(&bus, 0x9000000, 0x1000, &uart), 0);

    struct mmio_access w = acc(0x9000030, 4, true);
    val = 0x301;
    assert_int_equal(mmio_bus_access(&bus, 0, &w, &val), MMIO_OK);
    assert_int_equal(uart.writes, 1);
    assert_int_equal(uart.offset, 0x30);
    assert_int_equal(uart.size, 4);
    assert_int_equal(uart.written, 0x301);
    assert_int_equal(gic.writes + gic.reads, 0);

    gic.read_value = 0x43b;
    struct mmio_access r = acc(0x8000008, 4, false);
    val = 0xdead;
    assert_int_equal(mmio_bus_access(&bus, 0, &r, &val), MMIO_OK);
    assert_int_equal(val, 0x43b);
    assert_int_equal(gic.reads, 1);
    assert_int_equal(gic.offset, 0x8);
    assert_int_equal(gic.size, 4);
    assert_int_equal(uart.reads, 0);

    /* Offset 0 and the last byte. */
    struct mmio_access first = acc(0x9000000, 1, false);
    assert_int_equal(mmio_bus_access(&bus, 0, &first, &val), MMIO_OK);
    assert_int_equal(uart.offset, 0);
    assert_int_equal(uart.size, 1);
    struct mmio_access last = acc(0x9000fff, 1, true);
    val = 0x5a;
    assert_int_equal(mmio_bus_access(&bus, 0, &last, &val), MMIO_OK);
    assert_int_equal(uart.offset, 0xfff);
    assert_int_equal(uart.written, 0x5a);
}

static void test_access_outside_regions_is_unmapped(void **state)
{
    struct mmio_bus bus = {0};
    struct fake_dev dev = {.result = MMIO_OK};
    uint64_t val = 0;
    (void)state;

    struct mmio_access nothing = acc(0x9000000, 4, false);
    assert_int_equal(mmio_bus_access(&bus, 0, &nothing, &val), MMIO_UNMAPPED);

    assert_int_equal(add(&bus, 0x9000000, 0x1000, &dev), 0);
    struct mmio_access below = acc(0x8fffffc, 4, false);
    struct mmio_access past = acc(0x9001000, 4, true);
    assert_int_equal(mmio_bus_access(&bus, 0, &below, &val), MMIO_UNMAPPED);
    assert_int_equal(mmio_bus_access(&bus, 0, &past, &val), MMIO_UNMAPPED);
    assert_int_equal(dev.reads + dev.writes, 0);
}

static void test_access_straddling_region_end_aborts(void **state)
{
    struct mmio_bus bus = {0};
    struct fake_dev dev = {.result = MMIO_OK}, next = {.result = MMIO_OK};
    uint64_t val = 0;
    (void)state;

    assert_int_equal(add(&bus, 0x9000000, 0x1000, &dev), 0);
    assert_int_equal(add(&bus, 0x9001000, 0x1000, &next), 0);

    /* The last bytes that fit are fine... */
    struct mmio_access fits8 = acc(0x9000ff8, 8, false);
    struct mmio_access fits4 = acc(0x9000ffc, 4, true);
    assert_int_equal(mmio_bus_access(&bus, 0, &fits8, &val), MMIO_OK);
    assert_int_equal(mmio_bus_access(&bus, 0, &fits4, &val), MMIO_OK);
    assert_int_equal(dev.reads, 1);
    assert_int_equal(dev.writes, 1);

    /* ...one more byte is not, even with a device right behind. */
    struct mmio_access over4 = acc(0x9000ffe, 4, false);
    struct mmio_access over8 = acc(0x9000ffc, 8, true);
    struct mmio_access over2 = acc(0x9000fff, 2, true);
    assert_int_equal(mmio_bus_access(&bus, 0, &over4, &val), MMIO_ABORT);
    assert_int_equal(mmio_bus_access(&bus, 0, &over8, &val), MMIO_ABORT);
    assert_int_equal(mmio_bus_access(&bus, 0, &over2, &val), MMIO_ABORT);
    assert_int_equal(dev.reads, 1);
    assert_int_equal(dev.writes, 1);
    assert_int_equal(next.reads + next.writes, 0);
}

static void test_access_passes_vcpu_index_to_device(void **state)
{
    struct mmio_bus bus = {0};
    struct fake_dev dev = {.result = MMIO_OK, .vcpu = 99};
    uint64_t val = 1;
    (void)state;

    assert_int_equal(add(&bus, 0x8000000, 0x10000, &dev), 0);
    struct mmio_access w = acc(0x8000100, 4, true);
    struct mmio_access r = acc(0x8000100, 4, false);
    assert_int_equal(mmio_bus_access(&bus, 3, &w, &val), MMIO_OK);
    assert_int_equal(dev.vcpu, 3);
    assert_int_equal(mmio_bus_access(&bus, 7, &r, &val), MMIO_OK);
    assert_int_equal(dev.vcpu, 7);
    assert_int_equal(mmio_bus_access(&bus, 0, &r, &val), MMIO_OK);
    assert_int_equal(dev.vcpu, 0);
}

static void test_access_passes_device_results_through(void **state)
{
    struct mmio_bus bus = {0};
    struct fake_dev dev = {.result = MMIO_ABORT, .read_value = 7};
    uint64_t val = 0;
    (void)state;

    assert_int_equal(add(&bus, 0x1000, 0x1000, &dev), 0);
    struct mmio_access r = acc(0x1004, 4, false);
    struct mmio_access w = acc(0x1004, 4, true);
    assert_int_equal(mmio_bus_access(&bus, 0, &r, &val), MMIO_ABORT);
    assert_int_equal(mmio_bus_access(&bus, 0, &w, &val), MMIO_ABORT);
    dev.result = MMIO_OK;
    assert_int_equal(mmio_bus_access(&bus, 0, &r, &val), MMIO_OK);
    assert_int_equal(val, 7);
}

static void test_access_sizes_reach_device(void **state)
{
    static const unsigned sizes[] = {1, 2, 4, 8};
    struct mmio_bus bus = {0};
    struct fake_dev dev = {.result = MMIO_OK, .read_value = 0x1122334455667788ULL};
    uint64_t val;
    (void)state;

    assert_int_equal(add(&bus, 0x40000, 0x100, &dev), 0);
    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
        struct mmio_access r = acc(0x40010, sizes[i], false);
        val = 0;
        assert_int_equal(mmio_bus_access(&bus, 0, &r, &val), MMIO_OK);
        assert_int_equal(dev.size, sizes[i]);
        assert_int_equal(dev.offset, 0x10);
        /* What the guest register gets, once the load is applied, is the low bytes. */
        uint64_t mask = sizes[i] == 8 ? ~0ULL : (1ULL << (8 * sizes[i])) - 1;
        assert_int_equal(mmio_load_value(&r, val), 0x1122334455667788ULL & mask);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_keeps_regions_sorted_whatever_the_order),
        cmocka_unit_test(test_add_rejects_overlaps),
        cmocka_unit_test(test_add_rejects_zero_size_and_wrap_around),
        cmocka_unit_test(test_add_rejects_full_table),
        cmocka_unit_test(test_find_at_edges_and_gaps),
        cmocka_unit_test(test_find_in_a_full_table),
        cmocka_unit_test(test_find_regions_sharing_a_page),
        cmocka_unit_test(test_find_adjacent_regions_after_hits),
        cmocka_unit_test(test_find_pages_sharing_a_hint_slot),
        cmocka_unit_test(test_find_after_a_region_is_added),
        cmocka_unit_test(test_find_from_last_region),
        cmocka_unit_test(test_access_routes_to_device_with_offset),
        cmocka_unit_test(test_access_outside_regions_is_unmapped),
        cmocka_unit_test(test_access_straddling_region_end_aborts),
        cmocka_unit_test(test_access_passes_vcpu_index_to_device),
        cmocka_unit_test(test_access_passes_device_results_through),
        cmocka_unit_test(test_access_sizes_reach_device),
    };

    return cmocka_run_group_tests_name("mmio", tests, NULL, NULL);
}
