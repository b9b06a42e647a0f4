/* The RAM pool, default VM sizes and the placement of kernel, initrd and DTB inside a VM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/layout.h"
#include "bulkhead/pt.h"
#include "support/capture.h"

#define RAM_BASE 0x40000000ULL

static struct board board;
static struct ram_pool pool;

/* QEMU virt with 1 GiB and nothing reserved. */
static int setup(void **state)
{
    (void)state;
    memset(&board, 0, sizeof(board));
    board.ram[0] = (struct mem_range){RAM_BASE, GiB(1)};
    board.nr_ram = 1;
    capture_reset();
    return 0;
}

static void reserve(uint64_t base, uint64_t size)
{
    board.reserved[board.nr_reserved++] = (struct mem_range){base, size};
}

static void assert_free(unsigned i, uint64_t base, uint64_t size)
{
    assert_true(i < pool.nr_free);
    assert_int_equal(pool.free[i].base, base);
    assert_int_equal(pool.free[i].size, size);
}

static paddr_t alloc_ok(uint64_t size)
{
    paddr_t pa = 0;

    assert_int_equal(ram_pool_alloc(&pool, size, &pa), 0);
    assert_true(IS_ALIGNED(pa, VM_RAM_ALIGN));
    return pa;
}

static void test_pool_holes(void **state)
{
    const struct mem_range hyp = {RAM_BASE + 0x80000, MiB(1)};
    (void)state;

    reserve(0x48000000, 3000000);
    reserve(0x49000000, 700000);
    reserve(0x90000000, MiB(1)); /* outside RAM: no effect */
    reserve(0x7ff00000, MiB(2)); /* sticks out of the top */
    ram_pool_init(&pool, &board, &hyp, 1);

    assert_int_equal(pool.nr_free, 4);
    assert_free(0, RAM_BASE, 0x80000);
    assert_free(1, RAM_BASE + 0x180000, 0x48000000 - RAM_BASE - 0x180000);
    assert_free(2, 0x48000000 + 3000000, 0x49000000 - 0x48000000 - 3000000);
    assert_free(3, 0x49000000 + 700000, 0x7ff00000 - 0x49000000 - 700000);
    /* [0x49000000 + 700000 -> 2 MiB up, 0x7fe00000) */
    assert_int_equal(ram_pool_largest(&pool), 0x7fe00000 - 0x49200000);
}

/* How far RAM is free from an address up: to the next reserved range, to the bank's end. */
static void test_pool_free_end(void **state)
{
    const struct mem_range hyp = {RAM_BASE + MiB(2), 0x61000};
    (void)state;

    reserve(RAM_BASE + MiB(8), PAGE_SIZE);
    ram_pool_init(&pool, &board, &hyp, 1);
    assert_int_equal(ram_pool_free_end(&pool, RAM_BASE + MiB(2) + 0x61000), RAM_BASE + MiB(8));
    assert_int_equal(ram_pool_free_end(&pool, RAM_BASE + MiB(8) + PAGE_SIZE), RAM_BASE + GiB(1));
    assert_int_equal(ram_pool_free_end(&pool, RAM_BASE + MiB(8)), RAM_BASE + MiB(8));
    assert_int_equal(ram_pool_free_end(&pool, RAM_BASE + MiB(2) + PAGE_SIZE),
                     RAM_BASE + MiB(2) + PAGE_SIZE);
    assert_int_equal(ram_pool_free_end(&pool, RAM_BASE + GiB(1)), RAM_BASE + GiB(1));
}

/* A 2 GiB board at 1 GiB with a 32-bit IPA (root at level 1): RAM needs a level-2 table per
 * GiB it touches; a 4 KiB window a level-2 and a level-3 table, one straddling a 2 MiB boundary
 * two level-3 tables. */
static void test_s2_tables_max(void **state)
{
    static struct vm_config cfg;
    const struct mem_range none = {0, 0}, gicv = {0x08010000, KiB(8)};
    (void)state;

    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(layout_s2_tables_max(&cfg, GiB(1), GiB(3), none, 1), 2);
    assert_int_equal(layout_s2_tables_max(&cfg, GiB(1), GiB(3) + MiB(2), none, 1), 3);
    assert_int_equal(layout_s2_tables_max(&cfg, GiB(1), GiB(3), gicv, 1), 4);
    cfg.shm.nr = 1;
    cfg.shm.maps[0].ipa = 0x70000000;
    cfg.shm.maps[0].size = MiB(2);
    cfg.pt.nr_ranges = 1;
    cfg.pt.ranges[0] =
        (struct pt_range){.pa = 0x0a000000, .ipa = MiB(2) - PAGE_SIZE, .size = 2 * PAGE_SIZE};
    assert_int_equal(layout_s2_tables_max(&cfg, GiB(1), GiB(3), gicv, 1), 4 + 2 + 3);
    /* A level-0 root (48-bit IPA): a level-1 table more for each. */
    assert_int_equal(layout_s2_tables_max(&cfg, GiB(1), GiB(3), gicv, 0), 4 + 2 + 3 + 4);
}

/* RAM mapped by pages: a level-3 table per 2 MiB of the VMs' sizes together, at most of the
 * board's RAM span (all of it if a VM has no size yet), and one more each for a RAM whose IPA is
 * not on a 2 MiB boundary. */
static void test_s2_ram_page_tables_max(void **state)
{
    static struct vm_config cfgs[2];
    (void)state;

    memset(cfgs, 0, sizeof(cfgs));
    assert_int_equal(layout_s2_ram_page_tables_max(cfgs, 2, GiB(1), GiB(3)), 1024 + 2);
    cfgs[0].mem_size = MiB(256);
    assert_int_equal(layout_s2_ram_page_tables_max(cfgs, 2, GiB(1), GiB(3)), 1024 + 2);
    cfgs[1].mem_size = MiB(64);
    assert_int_equal(layout_s2_ram_page_tables_max(cfgs, 2, GiB(1), GiB(3)), 128 + 32 + 2);
    cfgs[0].mem_size = GiB(4);
    assert_int_equal(layout_s2_ram_page_tables_max(cfgs, 2, GiB(1), GiB(3)), 1024 + 2);
    assert_int_equal(layout_s2_ram_page_tables_max(cfgs, 1, GiB(1), GiB(1) + MiB(3)), 2 + 1);
    assert_int_equal(layout_s2_ram_page_tables_max(cfgs, 0, GiB(1), GiB(3)), 0);
}

static void test_pool_alloc_from_top(void **state)
{
    (void)state;
    reserve(0x7ff00000, 0x1000); /* leaves an unusable sliver above it */
    ram_pool_init(&pool, &board, NULL, 0);

    assert_int_equal(alloc_ok(MiB(2)), 0x7fc00000);
    assert_int_equal(alloc_ok(1), 0x7fa00000); /* rounded up to 2 MiB */
    assert_int_equal(alloc_ok(MiB(256)), 0x6fa00000);
    assert_int_equal(ram_pool_largest(&pool), 0x6fa00000 - RAM_BASE);
    assert_int_equal(alloc_ok(0x6fa00000 - RAM_BASE), RAM_BASE);
    assert_int_equal(ram_pool_largest(&pool), 0);
}

static void test_pool_exhausted(void **state)
{
    paddr_t pa = 0x1234;
    (void)state;
    ram_pool_init(&pool, &board, NULL, 0);

    assert_int_equal(ram_pool_alloc(&pool, GiB(1) + MiB(2), &pa), -1);
    assert_int_equal(ram_pool_alloc(&pool, 0, &pa), -1);
    assert_int_equal(pa, 0x1234);
    assert_int_equal(alloc_ok(GiB(1)), RAM_BASE);
    assert_int_equal(ram_pool_alloc(&pool, MiB(2), &pa), -1);
    assert_int_equal(pool.nr_free, 0);
}

static void test_pool_takes_the_highest_range_that_fits(void **state)
{
    (void)state;
    /* Raspberry Pi 4 banks, given out of order. */
    board.ram[0] = (struct mem_range){0x40000000, 0x40000000};
    board.ram[1] = (struct mem_range){0, 0x3b400000};
    board.nr_ram = 2;
    reserve(0x70000000, MiB(2)); /* splits the high bank: 768 MiB below, 254 MiB above */
    ram_pool_init(&pool, &board, NULL, 0);

    assert_int_equal(pool.nr_free, 3);
    assert_free(0, 0, 0x3b400000);
    assert_int_equal(alloc_ok(MiB(200)), 0x80000000 - MiB(200));
    assert_int_equal(alloc_ok(MiB(300)), 0x70000000 - MiB(300));
    assert_int_equal(alloc_ok(MiB(800)), 0x3b400000 - MiB(800)); /* only the low bank has room */
}

/* Far more holes than the pool has entries: RAM may be lost, but no hole may be handed out. */
static void test_pool_overflow_never_hands_out_holes(void **state)
{
    struct mem_range holes[60];
    paddr_t pa;
    (void)state;

    for (unsigned i = 0; i < ARRAY_SIZE(holes); i++) {
        holes[i] = (struct mem_range){RAM_BASE + MiB(8) * i + MiB(3), 0x1000};
    }
    capture_reset();
    ram_pool_init(&pool, &board, holes, ARRAY_SIZE(holes));
    assert_true(pool.nr_free <= ARRAY_SIZE(pool.free));
    assert_true(capture_contains("warning: RAM pool: too many free ranges"));
    while (ram_pool_alloc(&pool, MiB(2), &pa) == 0) {
        for (unsigned i = 0; i < ARRAY_SIZE(holes); i++) {
            assert_false(ranges_overlap(pa, MiB(2), holes[i].base, holes[i].size));
        }
    }
}

static void test_default_memory_lone_vm(void **state)
{
    const struct mem_range hyp = {RAM_BASE, MiB(4)};
    struct vm_config vm = {.node = "/chosen/module@0x48000000"};
    (void)state;

    reserve(0x48000000, MiB(3));
    ram_pool_init(&pool, &board, &hyp, 1);
    assert_int_equal(layout_default_memory(&pool, &vm, 1), 0);
    assert_int_equal(vm.mem_size, 0x80000000 - 0x48400000); /* all above the module */
    assert_int_equal(pool.nr_free, 2);                      /* untouched */
}

static void test_default_memory_shared(void **state)
{
    struct vm_config vms[3] = {{.mem_size = 0}, {.mem_size = MiB(256)}, {.mem_size = 0}};
    struct ram_pool trial;
    paddr_t pa;
    (void)state;

    ram_pool_init(&pool, &board, NULL, 0);
    assert_int_equal(layout_default_memory(&pool, vms, 3), 0);
    /* (1 GiB - 256 MiB) / 2 each, and all three really fit in that order. */
    assert_int_equal(vms[0].mem_size, MiB(384));
    assert_int_equal(vms[1].mem_size, MiB(256));
    assert_int_equal(vms[2].mem_size, MiB(384));
    trial = pool;
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(ram_pool_alloc(&trial, vms[i].mem_size, &pa), 0);
    }
}

static void test_default_memory_fragmented(void **state)
{
    struct vm_config vms[2] = {{.mem_size = 0}, {.mem_size = 0}};
    (void)state;

    /* 300 MiB and 700 MiB free (plus the hole): shares must each fit in one range. */
    reserve(RAM_BASE + MiB(300), MiB(24));
    ram_pool_init(&pool, &board, NULL, 0);
    assert_int_equal(layout_default_memory(&pool, vms, 2), 0);
    assert_int_equal(vms[0].mem_size, MiB(350));
    assert_int_equal(vms[1].mem_size, MiB(350));

    struct vm_config three[3] = {{.mem_size = 0}, {.mem_size = 0}, {.mem_size = 0}};
    assert_int_equal(layout_default_memory(&pool, three, 3), 0);
    assert_int_equal(three[0].mem_size, MiB(300)); /* 2 x 300 in the 700, 1 x 300 below */
}

static void test_default_memory_nothing_left(void **state)
{
    struct vm_config vms[2] = {{.node = "/chosen/big", .mem_size = GiB(1)},
                               {.node = "/chosen/module@0x4a000000"}};
    (void)state;

    ram_pool_init(&pool, &board, NULL, 0);
    assert_int_equal(layout_default_memory(&pool, vms, 2), -1);
    assert_int_equal(vms[1].mem_size, 0);
    assert_true(capture_contains("/chosen/module@0x4a000000: no free RAM left"));
    assert_false(capture_contains("/chosen/big"));

    /* A VM with its own size that cannot fit anyway does not starve the others. */
    vms[0].mem_size = GiB(2);
    assert_int_equal(layout_default_memory(&pool, vms, 2), 0);
    assert_int_equal(vms[1].mem_size, GiB(1));
}

/* ---- layout_check_module ---- */

/* The hypervisor at 0x40200000 with a 3 MiB footprint (its image is far smaller: the rest is
 * .bss and .noinit), QEMU's DTB at RAM + 128 MiB. */
static const struct module_limits limits = {.hyp = {0x40200000, 0x2fb000},
                                            .dtb = {0x48000000, 0x100000}};

static int check(uint64_t base, uint64_t size)
{
    const struct vm_module m = {base, size};

    capture_reset();
    return layout_check_module(&board, &limits, "/chosen/module@x", "ramdisk", &m);
}

static void test_module_good(void **state)
{
    (void)state;
    assert_int_equal(check(0x44000000, 0x1000), 0);
    assert_int_equal(check(RAM_BASE, 0x200000), 0);     /* right below the hypervisor */
    assert_int_equal(check(0x404fb000, 0x1000), 0);     /* right after its footprint */
    assert_int_equal(check(0x48100000, 0x37f00000), 0); /* from the DTB's end to RAM's */
    assert_int_equal(check(0x7ffff000, 0x1000), 0);     /* RAM's last page */
    assert_string_equal(capture_text(), "");
}

static void test_module_inside_hypervisor(void **state)
{
    (void)state;
    /* In the bss, where QEMU lets a guest-loader initrd go: the image file ends long before. */
    assert_int_equal(check(0x4021c000, 0x1000), -1);
    assert_string_equal(
        capture_text(),
        "error: /chosen/module@x: ramdisk module 0x4021c000+0x1000 "
        "overlaps the hypervisor (0x40200000+0x2fb000); load it above 0x404fb000\n");
    assert_int_equal(check(0x401ff000, 0x1001), -1); /* its first byte */
    assert_int_equal(check(0x404fafff, 1), -1);      /* its last byte */
    assert_int_equal(check(RAM_BASE, GiB(1)), -1);   /* all of RAM */
    assert_true(capture_contains("overlaps the hypervisor"));
}

static void test_module_over_dtb(void **state)
{
    (void)state;
    assert_int_equal(check(0x47fff000, 0x2000), -1);
    assert_string_equal(capture_text(),
                        "error: /chosen/module@x: ramdisk module 0x47fff000+0x2000 "
                        "overlaps the host DTB (0x48000000+0x100000); load it clear of the DTB "
                        "(QEMU virt puts it at RAM + 128 MiB)\n");
    assert_int_equal(check(0x480ff000, 0x1000), -1);
    assert_true(capture_contains("overlaps the host DTB"));
}

static void test_module_outside_ram(void **state)
{
    static const struct mem_range bad[] = {
        {0x100000, 0x1000},     {0x10000000, 0x1000}, {0x100000000, 0x1000}, /* below, above */
        {0x3ffff000, 0x2000},   {0x7ffff000, 0x2000}, /* straddling the start, the end */
        {RAM_BASE, GiB(1) + 1}, {0, 0x1000},          {0xfffffffffffff000, 0x1000},
    };
    (void)state;
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(check(bad[i].base, bad[i].size), -1);
        assert_true(capture_contains("lies outside RAM"));
    }
    assert_int_equal(check(0x100000, 0x1000), -1);
    assert_string_equal(
        capture_text(),
        "error: /chosen/module@x: ramdisk module 0x100000+0x1000 lies outside RAM; put it inside "
        "RAM, 0x40000000+0x40000000\n");
}

static void test_module_wraps(void **state)
{
    (void)state;
    assert_int_equal(check(0xfffffffffffff000, 0x2000), -1);
    assert_string_equal(capture_text(), "error: /chosen/module@x: ramdisk module "
                                        "0xfffffffffffff000+0x2000 wraps around the address "
                                        "space\n");
    assert_int_equal(check(0x44000000, UINT64_MAX), -1);
    assert_true(capture_contains("wraps around"));
    assert_int_equal(check(0x44000000, 0), -1);
    assert_true(capture_contains("of size 0"));
}

/* Banks that touch make one range; a module across a hole between banks is not in RAM. */
static void test_module_across_banks(void **state)
{
    (void)state;
    board.ram[0] = (struct mem_range){0x80000000, GiB(1)};
    board.ram[1] = (struct mem_range){RAM_BASE, GiB(1)}; /* out of order, touching */
    board.ram[2] = (struct mem_range){0x100000000, GiB(1)};
    board.nr_ram = 3;
    assert_int_equal(check(0x7ffff000, 0x2000), 0);
    assert_int_equal(check(0x50000000, 0x40000000), 0);
    assert_int_equal(check(0xbffff000, 0x2000), -1); /* into the hole */
    assert_int_equal(check(0xfffff000, 0x2000), -1); /* out of the hole */
    assert_int_equal(check(0x100000000, GiB(1)), 0);
}

static void test_modules_overlap(void **state)
{
    const struct vm_module a = {0x44000000, 0x1000}, b = {0x44000fff, 0x10}, c = {0x44001000, 8};
    const struct vm_module none = {0x44000000, 0};
    (void)state;
    assert_true(layout_modules_overlap(&a, &b));
    assert_true(layout_modules_overlap(&b, &a));
    assert_true(layout_modules_overlap(&a, &a));
    assert_false(layout_modules_overlap(&a, &c));
    assert_false(layout_modules_overlap(&c, &a));
    assert_false(layout_modules_overlap(&a, &none));
    assert_false(layout_modules_overlap(&none, &a));
}

/* ---- layout_vm ---- */

static struct vm_config vm;
static uint8_t head[64];
static struct vm_layout out;

static int setup_vm(void **state)
{
    setup(state);
    memset(&vm, 0, sizeof(vm));
    strcpy(vm.node, "/chosen/vm@0");
    vm.mem_size = MiB(128);
    vm.kernel = (struct vm_module){0x48000000, MiB(3)};
    memset(head, 0x5a, sizeof(head)); /* no magic */
    memset(&out, 0xa5, sizeof(out));
    return 0;
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void image_header(uint64_t text_offset, uint64_t image_size)
{
    memset(head, 0, sizeof(head));
    put_le(head + offsetof(struct arm64_image_header, text_offset), text_offset, 8);
    put_le(head + offsetof(struct arm64_image_header, image_size), image_size, 8);
    put_le(head + offsetof(struct arm64_image_header, magic), ARM64_IMAGE_MAGIC, 4);
}

static void test_raw_kernel(void **state)
{
    (void)state;
    vm.ramdisk = (struct vm_module){0x49000000, 700000};

    assert_int_equal(layout_vm(&board, &vm, 0x70000000, head, sizeof(head), &out), 0);
    assert_int_equal(out.ram_pa, 0x70000000);
    assert_int_equal(out.ram_ipa, RAM_BASE);
    assert_int_equal(out.ram_size, MiB(128));
    assert_int_equal(out.kernel_ipa, RAM_BASE + RAW_IMAGE_OFFSET);
    assert_int_equal(out.kernel_size, MiB(3));
    assert_int_equal(out.dtb_ipa, RAM_BASE + MiB(126));
    assert_int_equal(out.initrd_size, 700000);
    assert_int_equal(out.initrd_ipa, ALIGN_DOWN(RAM_BASE + MiB(126) - 700000, KiB(4)));
    assert_int_equal(out.initrd_ipa % KiB(4), 0);
}

static void test_short_head_is_raw(void **state)
{
    (void)state;
    image_header(0, MiB(8));

    assert_int_equal(layout_vm(&board, &vm, 0x70000000, head, 32, &out), 0);
    assert_int_equal(out.kernel_ipa, RAM_BASE + RAW_IMAGE_OFFSET);
    assert_int_equal(out.initrd_ipa, 0);
    assert_int_equal(out.initrd_size, 0);
}

static void test_image_header(void **state)
{
    (void)state;
    image_header(0, MiB(8)); /* a modern kernel: text_offset 0 */

    assert_int_equal(layout_vm(&board, &vm, 0x70000000, head, sizeof(head), &out), 0);
    assert_int_equal(out.kernel_ipa, RAM_BASE);
    assert_int_equal(out.kernel_size, MiB(3)); /* what is copied: the module */

    image_header(0x80000, MiB(8));
    assert_int_equal(layout_vm(&board, &vm, 0x70000000, head, sizeof(head), &out), 0);
    assert_int_equal(out.kernel_ipa, RAM_BASE + 0x80000);
}

static void test_old_image_header(void **state)
{
    (void)state;
    image_header(0x1234, 0); /* image_size 0: text_offset is 0x80000, whatever it says */

    assert_int_equal(layout_vm(&board, &vm, 0x70000000, head, sizeof(head), &out), 0);
    assert_int_equal(out.kernel_ipa, RAM_BASE + 0x80000);
}

static void test_ram_base_from_board(void **state)
{
    (void)state;
    board.ram[0].base = 0;

    assert_int_equal(layout_vm(&board, &vm, 0x30000000, head, sizeof(head), &out), 0);
    assert_int_equal(out.ram_ipa, 0);
    assert_int_equal(out.kernel_ipa, RAW_IMAGE_OFFSET);
    assert_int_equal(out.dtb_ipa, MiB(126));
}

static void test_kernel_too_big(void **state)
{
    (void)state;
    image_header(0, MiB(126)); /* image_size up to the DTB: fits exactly */
    assert_int_equal(layout_vm(&board, &vm, 0x70000000, head, sizeof(head), &out), 0);

    image_header(0, MiB(126) + 1);
    assert_int_equal(layout_vm(&board, &vm, 0x70000000, head, sizeof(head), &out), -1);
    assert_true(capture_contains("/chosen/vm@0: the kernel (0x7e00001 bytes at RAM + 0x0) does not "
                                 "fit below the DTB in 128 MiB"));

    image_header(GiB(64), MiB(1)); /* a text_offset past the end */
    assert_int_equal(layout_vm(&board, &vm, 0x70000000, head, sizeof(head), &out), -1);

    vm.kernel.size = MiB(127); /* raw, bigger than the room */
    memset(head, 0, sizeof(head));
    assert_int_equal(layout_vm(&board, &vm, 0x70000000, head, sizeof(head), &out), -1);
}

static void test_initrd_overlapping_kernel(void **state)
{
    (void)state;
    vm.mem_size = MiB(16);
    image_header(0, MiB(12));
    vm.ramdisk = (struct vm_module){0x49000000, MiB(2)};
    /* DTB at 14 MiB, initrd at 12 MiB: just touching the kernel's footprint. */
    assert_int_equal(layout_vm(&board, &vm, 0x70000000, head, sizeof(head), &out), 0);
    assert_int_equal(out.initrd_ipa, RAM_BASE + MiB(12));

    /* 4 KiB alignment pushes it into the kernel. */
    vm.ramdisk.size = MiB(2) - 1;
    image_header(0, MiB(12) + 1);
    assert_int_equal(layout_vm(&board, &vm, 0x70000000, head, sizeof(head), &out), -1);
    assert_true(capture_contains("/chosen/vm@0: the initrd would overlap the kernel"));

    vm.ramdisk.size = MiB(3);
    image_header(0, MiB(12));
    capture_reset();
    assert_int_equal(layout_vm(&board, &vm, 0x70000000, head, sizeof(head), &out), -1);
    assert_true(capture_contains("/chosen/vm@0: the initrd (0x300000 bytes) does not fit"));
}

static void test_bad_ram(void **state)
{
    (void)state;
    assert_int_equal(layout_vm(&board, &vm, 0x70100000, head, sizeof(head), &out), -1);
    assert_true(capture_contains("/chosen/vm@0: RAM 0x8000000 bytes at 0x70100000 is not 2 MiB"));

    vm.mem_size = MiB(3);
    assert_int_equal(layout_vm(&board, &vm, 0x70000000, head, sizeof(head), &out), -1);
    vm.mem_size = 0;
    assert_int_equal(layout_vm(&board, &vm, 0x70000000, head, sizeof(head), &out), -1);

    vm.mem_size = MiB(2);
    capture_reset();
    assert_int_equal(layout_vm(&board, &vm, 0x70000000, head, sizeof(head), &out), -1);
    assert_true(capture_contains("/chosen/vm@0: 2 MiB of RAM leaves no room"));

    vm.mem_size = MiB(128);
    board.ram[0].base = 0x40100000;
    assert_int_equal(layout_vm(&board, &vm, 0x70000000, head, sizeof(head), &out), -1);
    assert_true(capture_contains("the board's RAM base is not 2 MiB-aligned"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_pool_holes, setup),
        cmocka_unit_test_setup(test_pool_free_end, setup),
        cmocka_unit_test_setup(test_s2_tables_max, setup),
        cmocka_unit_test(test_s2_ram_page_tables_max),
        cmocka_unit_test_setup(test_pool_alloc_from_top, setup),
        cmocka_unit_test_setup(test_pool_exhausted, setup),
        cmocka_unit_test_setup(test_pool_takes_the_highest_range_that_fits, setup),
        cmocka_unit_test_setup(test_pool_overflow_never_hands_out_holes, setup),
        cmocka_unit_test_setup(test_default_memory_lone_vm, setup),
        cmocka_unit_test_setup(test_default_memory_shared, setup),
        cmocka_unit_test_setup(test_default_memory_fragmented, setup),
        cmocka_unit_test_setup(test_default_memory_nothing_left, setup),
        cmocka_unit_test_setup(test_module_good, setup),
        cmocka_unit_test_setup(test_module_inside_hypervisor, setup),
        cmocka_unit_test_setup(test_module_over_dtb, setup),
        cmocka_unit_test_setup(test_module_outside_ram, setup),
        cmocka_unit_test_setup(test_module_wraps, setup),
        cmocka_unit_test_setup(test_module_across_banks, setup),
        cmocka_unit_test_setup(test_modules_overlap, setup),
        cmocka_unit_test_setup(test_raw_kernel, setup_vm),
        cmocka_unit_test_setup(test_short_head_is_raw, setup_vm),
        cmocka_unit_test_setup(test_image_header, setup_vm),
        cmocka_unit_test_setup(test_old_image_header, setup_vm),
        cmocka_unit_test_setup(test_ram_base_from_board, setup_vm),
        cmocka_unit_test_setup(test_kernel_too_big, setup_vm),
        cmocka_unit_test_setup(test_initrd_overlapping_kernel, setup_vm),
        cmocka_unit_test_setup(test_bad_ram, setup_vm),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
