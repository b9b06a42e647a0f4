/*
 * The virtio binding (config/virtio.c) over tests/host/dts/virtio.dts: disks (read-only and
 * writable) and a console beside a watchdog, each placed a page apart above the watchdog's
 * default IPA with a free SPI, the writable disk's copy set aside from the RAM pool, the guest's
 * virtio,mmio nodes; and every refusal, naming the node.
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

#include "bulkhead/check.h"
#include "bulkhead/config.h"
#include "bulkhead/guest_fdt.h"
#include "bulkhead/layout.h"
#include "bulkhead/sbsa_gwdt.h"
#include "bulkhead/shmem.h"
#include "bulkhead/virtio.h"
#include "support/capture.h"
#include "support/dtb_file.h"

static struct board board;
static struct vm_config vms[MAX_VMS];
static void *fdt;
static const struct module_limits limits = {.hyp = {0x40200000, 0x2fb000},
                                            .dtb = {0x48000000, 0x100000}};

static unsigned load(void)
{
    struct vm_defaults defaults = {0};

    fdt = dtb_load("virtio", 8192);
    assert_int_equal(board_parse(fdt, &board), 0);
    capture_reset();
    return vmcfg_parse(fdt, &board, &defaults, &limits, vms);
}

static int teardown(void **state)
{
    (void)state;
    free(fdt);
    fdt = NULL;
    return 0;
}

static void test_devices_are_placed_and_given_spis(void **state)
{
    (void)state;
    unsigned n = load();

    assert_int_equal(n, 1);
    const struct vm_config *vm = &vms[0];
    assert_string_equal(vm->name, "disks");
    assert_int_equal(vm->virtio.nr, 3);
    const struct vm_virtio_dev *ro = &vm->virtio.devs[0], *rw = &vm->virtio.devs[1],
                               *con = &vm->virtio.devs[2];
    assert_int_equal(ro->kind, VIRTIO_ID_BLOCK);
    assert_true(ro->read_only);
    assert_int_equal(ro->image_base, 0x60000000);
    assert_int_equal(ro->image_size, 0x100000);
    assert_int_equal(rw->kind, VIRTIO_ID_BLOCK);
    assert_false(rw->read_only);
    assert_int_equal(con->kind, VIRTIO_ID_CONSOLE);
    /* A page each from 1 MiB above the watchdog's default frames (0x80000000 here). */
    assert_int_equal(ro->ipa, 0x80100000);
    assert_int_equal(rw->ipa, 0x80101000);
    assert_int_equal(con->ipa, 0x80102000);
    /* From 87 down; the watchdog has 91. */
    assert_int_equal(vm->watchdog.spi, WATCHDOG_SPI_TOP);
    assert_int_equal(ro->spi, VIRTIO_SPI_TOP);
    assert_int_equal(rw->spi, VIRTIO_SPI_TOP - 1);
    assert_int_equal(con->spi, VIRTIO_SPI_TOP - 2);
    assert_true(shm_spi_taken(&board, vm, 0, VIRTIO_SPI_TOP - 2));
    assert_string_equal(virtio_model_compatible(VIRTIO_ID_BLOCK), "bulkhead,virtio-blk");
    assert_string_equal(virtio_model_compatible(VIRTIO_ID_CONSOLE), "bulkhead,virtio-console");
}

static void test_mistakes_are_named(void **state)
{
    (void)state;
    load();
    assert_true(capture_contains("/chosen/nomodule/disk@60400000: a virtio-blk disk is a boot "
                                 "module: add \"multiboot,module\" to its compatible"));
    assert_true(capture_contains("/chosen/small/disk@60500000: a virtio-blk disk needs a reg of "
                                 "at least 512 bytes"));
    assert_true(capture_contains("/chosen/outside/disk@20000000"));
    assert_true(capture_contains("/chosen/many/console8: more than 8 virtio devices in one VM"));
    assert_true(capture_contains("bulkhead: /chosen/many: VM not started"));
    /* The configuration checker knows the devices' properties. */
    capture_reset();
    assert_int_equal(check_chosen(fdt), 1);
    assert_true(capture_contains("/chosen/small/disk@60500000: unknown property \"read-onyl\" "
                                 "is ignored; did you mean \"read-only\"?"));
}

static void test_writable_disk_gets_its_copy(void **state)
{
    (void)state;
    struct ram_pool pool;
    unsigned n = load();

    ram_pool_init(&pool, &board, NULL, 0);
    assert_false(virtio_vm_ready(&vms[0]));
    virtio_place(&pool, vms, n);
    assert_true(virtio_vm_ready(&vms[0]));
    assert_int_equal(vms[0].virtio.devs[0].disk_pa, 0); /* read-only: served in place */
    uint64_t pa = vms[0].virtio.devs[1].disk_pa;
    assert_int_not_equal(pa, 0);
    assert_int_equal(pa % VM_RAM_ALIGN, 0);
    assert_true(pa >= board.ram[0].base && pa + 0x400000 <= board.ram[0].base + board.ram[0].size);
    /* No room: reported, and the VM is not ready. */
    struct ram_pool empty = {0};
    vms[0].virtio.devs[1].disk_pa = 0;
    capture_reset();
    virtio_place(&empty, vms, n);
    assert_false(virtio_vm_ready(&vms[0]));
    assert_true(capture_contains("/chosen/disks: no free RAM for a copy of its 0x300000-byte "
                                 "writable disk"));
}

static void test_guest_tree_has_virtio_mmio_nodes(void **state)
{
    (void)state;
    static uint8_t guest[65536];
    struct vm_layout layout;

    load();
    assert_int_equal(layout_vm(&board, &vms[0], 0x60000000, NULL, 0, &layout), 0);
    assert_int_equal(guest_fdt_build(guest, sizeof(guest), &board, &vms[0], &layout, fdt), 0);
    for (unsigned i = 0; i < 3; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/virtio_mmio@%x", 0x80100000 + 0x1000 * i);
        int node = fdt_path_offset(guest, path);
        assert_true(node >= 0);
        assert_int_equal(fdt_node_check_compatible(guest, node, "virtio,mmio"), 0);
        int len = 0;
        const fdt32_t *reg = fdt_getprop(guest, node, "reg", &len);
        assert_int_equal(len, 16);
        assert_int_equal(fdt32_to_cpu(reg[1]), 0x80100000 + 0x1000 * i);
        assert_int_equal(fdt32_to_cpu(reg[3]), VIRTIO_MMIO_SIZE);
        const fdt32_t *irq = fdt_getprop(guest, node, "interrupts", &len);
        assert_int_equal(len, 12);
        assert_int_equal(fdt32_to_cpu(irq[0]), 0); /* SPI */
        assert_int_equal(fdt32_to_cpu(irq[1]), VIRTIO_SPI_TOP - i);
        assert_int_equal(fdt32_to_cpu(irq[2]), 4); /* level, high */
        assert_non_null(fdt_getprop(guest, node, "dma-coherent", NULL));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_devices_are_placed_and_given_spis, teardown),
        cmocka_unit_test_teardown(test_mistakes_are_named, teardown),
        cmocka_unit_test_teardown(test_writable_disk_gets_its_copy, teardown),
        cmocka_unit_test_teardown(test_guest_tree_has_virtio_mmio_nodes, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
