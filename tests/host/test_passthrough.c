/* Passthrough: our binding and Xen's read from a QEMU 10 virt tree, the checks that keep each
 * window and SPI with one owner, and the devices' nodes in the guest's device tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "bulkhead/config.h"
#include "bulkhead/guest_fdt.h"
#include "bulkhead/layout.h"
#include "bulkhead/passthrough.h"
#include "support/capture.h"
#include "support/dtb_file.h"

#define SLACK 8192
#define GUEST_DTB 65536

static struct board board;
static struct vm_config vm;
static void *fdt;
static uint8_t guest[GUEST_DTB];
static uint8_t partial[4096];

static int setup(void **state)
{
    (void)state;
    fdt = dtb_load("qemu-virt-pt", SLACK);
    assert_int_equal(fdt_open_into(fdt, fdt, (int)fdt_totalsize(fdt) + SLACK), 0);
    assert_int_equal(board_parse(fdt, &board), 0);
    memset(&vm, 0, sizeof(vm));
    strcpy(vm.name, "vm0");
    strcpy(vm.node, "/chosen/vm0");
    vm.nr_vcpus = 2;
    capture_reset();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(fdt);
    return 0;
}

/* /chosen/vm0 with bulkhead,passthrough set to the paths given (a NUL-separated list). */
static int vm_node_with(const char *paths, int len)
{
    int chosen = fdt_path_offset(fdt, "/chosen");
    int node = fdt_add_subnode(fdt, chosen, "vm0");

    assert_true(node >= 0);
    assert_int_equal(fdt_setprop_string(fdt, node, "compatible", "bulkhead,vm"), 0);
    assert_int_equal(fdt_setprop(fdt, node, "bulkhead,passthrough", paths, len), 0);
    return fdt_path_offset(fdt, "/chosen/vm0");
}

#define PATHS(lit) (lit), (int)sizeof(lit)

static bool parse_paths(const char *paths, int len)
{
    int node = vm_node_with(paths, len);
    return pt_parse(fdt, node, &board, &vm);
}

static void test_uart_rtc_gpio(void **state)
{
    (void)state;
    assert_true(parse_paths(PATHS("/pl011@9040000\0/pl031@9010000\0/pl061@9030000\0/gpio-keys")));
    assert_int_equal(vm.pt.nr_devs, 4);
    assert_int_equal(vm.pt.nr_ranges, 3);
    assert_int_equal(vm.pt.ranges[0].pa, 0x9040000);
    assert_int_equal(vm.pt.ranges[0].ipa, 0x9040000);
    assert_int_equal(vm.pt.ranges[0].size, 0x1000);
    assert_int_equal(vm.pt.nr_irqs, 3);
    assert_int_equal(vm.pt.irqs[0].intid, 32 + 8);
    assert_false(vm.pt.irqs[0].edge);
    assert_int_equal(vm.pt.irqs[1].intid, 32 + 2);
    assert_int_equal(vm.pt.irqs[2].intid, 32 + 7);
    assert_string_equal(vm.pt.devs[3].path, "/gpio-keys");
    assert_int_equal(vm.pt.devs[3].nr_ranges, 0);
    assert_false(vm.direct_map);
}

static void test_phandles(void **state)
{
    (void)state;
    /* The PL061 has phandle 0x8004 in QEMU's tree. */
    uint32_t list = cpu_to_fdt32(0x8004);
    int node = vm_node_with((const char *)&list, 4);
    assert_true(pt_parse(fdt, node, &board, &vm));
    assert_int_equal(vm.pt.nr_devs, 1);
    assert_string_equal(vm.pt.devs[0].path, "/pl061@9030000");
}

static void test_virtio_window_rounded_to_its_page(void **state)
{
    (void)state;
    assert_true(parse_paths(PATHS("/virtio_mmio@a003e00")));
    assert_int_equal(vm.pt.ranges[0].pa, 0xa003000);
    assert_int_equal(vm.pt.ranges[0].size, 0x1000);
    assert_true(vm.pt.irqs[0].edge);
    assert_true(vm.pt.devs[0].dma);
    /* No direct-map: the user is told. */
    pt_warn_dma(&vm);
    assert_true(capture_contains("/virtio_mmio@a003e00 can do DMA"));
}

static void test_refused(void **state)
{
    (void)state;
    assert_false(parse_paths(PATHS("/pl011@9000000")));
    assert_true(capture_contains("/chosen/vm0: /pl011@9000000"));
    assert_true(capture_contains("the hypervisor's console"));
}

/* A mini UART console (the Pi's): a window over its page is refused by name too. */
static void test_mini_uart_console_refused(void **state)
{
    (void)state;
    board.aux_console.regs = (struct mem_range){0x9010040, 0x40};
    strcpy(board.aux_console.path, "/soc/serial@7e215040");
    assert_false(parse_paths(PATHS("/pl031@9010000")));
    assert_true(capture_contains("/chosen/vm0: /pl031@9010000: reg 0x9010000+0x1000 holds the "
                                 "hypervisor's console (/soc/serial@7e215040)"));
}

static void test_unknown_path(void **state)
{
    (void)state;
    assert_false(parse_paths(PATHS("/nope@0")));
    assert_true(capture_contains("/chosen/vm0: passthrough device \"/nope@0\" not found"));
}

static void test_ram_and_gic_refused(void **state)
{
    (void)state;
    /* A node describing RAM, then one over the GIC. */
    int n = fdt_add_subnode(fdt, 0, "sram@40000000");
    fdt32_t reg[] = {0, cpu_to_fdt32(0x40000000), 0, cpu_to_fdt32(0x1000)};
    assert_int_equal(fdt_setprop(fdt, n, "reg", reg, sizeof(reg)), 0);
    assert_false(parse_paths(PATHS("/sram@40000000")));
    assert_true(
        capture_contains("/chosen/vm0: /sram@40000000: reg 0x40000000+0x1000 overlaps RAM"));

    memset(&vm, 0, sizeof(vm));
    strcpy(vm.node, "/chosen/vm1");
    capture_reset();
    int chosen = fdt_path_offset(fdt, "/chosen");
    int node = fdt_add_subnode(fdt, chosen, "vm1");
    assert_int_equal(fdt_setprop_string(fdt, node, "bulkhead,passthrough", "/intc@8000000"), 0);
    assert_false(pt_parse(fdt, node, &board, &vm));
    assert_true(capture_contains("overlaps the GIC"));
}

static void test_ipa_override(void **state)
{
    (void)state;
    int node = vm_node_with(PATHS("/pl031@9010000"));
    fdt32_t ipa[] = {0, cpu_to_fdt32(0x20000000)};
    assert_int_equal(fdt_setprop(fdt, node, "bulkhead,passthrough-ipa", ipa, sizeof(ipa)), 0);
    assert_true(pt_parse(fdt, node, &board, &vm));
    assert_int_equal(vm.pt.ranges[0].pa, 0x9010000);
    assert_int_equal(vm.pt.ranges[0].ipa, 0x20000000);

    ipa[1] = cpu_to_fdt32(0x20000100);
    memset(&vm, 0, sizeof(vm));
    assert_int_equal(fdt_setprop(fdt, node, "bulkhead,passthrough-ipa", ipa, sizeof(ipa)), 0);
    assert_false(pt_parse(fdt, node, &board, &vm));
    assert_true(capture_contains("not page-aligned"));
}

static void test_double_claim(void **state)
{
    (void)state;
    struct vm_config other;

    assert_true(parse_paths(PATHS("/pl031@9010000")));
    other = vm;
    strcpy(other.node, "/chosen/vm1");
    assert_false(pt_check_claims(&other, &vm));
    assert_true(capture_contains("/chosen/vm1: /pl031@9010000: already passed to /chosen/vm0"));
}

/* A partial device tree as Xen dom0less users write it. */
static void build_partial(uint32_t xen_reg_pa)
{
    void *p = partial;
    fdt32_t cells2[] = {cpu_to_fdt32(2)}, cells1[] = {cpu_to_fdt32(1)};
    fdt32_t reg[] = {0, cpu_to_fdt32(0x9010000), cpu_to_fdt32(0x1000)};
    fdt32_t irq[] = {0, cpu_to_fdt32(2), cpu_to_fdt32(4)};
    fdt32_t xreg[] = {0, cpu_to_fdt32(xen_reg_pa), cpu_to_fdt32(0x1000), 0,
                      cpu_to_fdt32(0x9010000)};

    assert_int_equal(fdt_create(p, sizeof(partial)), 0);
    assert_int_equal(fdt_finish_reservemap(p), 0);
    assert_int_equal(fdt_begin_node(p, ""), 0);
    assert_int_equal(fdt_property(p, "#address-cells", cells2, 4), 0);
    assert_int_equal(fdt_property(p, "#size-cells", cells1, 4), 0);
    assert_int_equal(fdt_begin_node(p, "passthrough"), 0);
    assert_int_equal(fdt_property_string(p, "compatible", "simple-bus"), 0);
    assert_int_equal(fdt_property(p, "ranges", NULL, 0), 0);
    assert_int_equal(fdt_property(p, "#address-cells", cells2, 4), 0);
    assert_int_equal(fdt_property(p, "#size-cells", cells1, 4), 0);
    assert_int_equal(fdt_begin_node(p, "rtc@9010000"), 0);
    assert_int_equal(fdt_property_string(p, "compatible", "arm,pl031"), 0);
    assert_int_equal(fdt_property(p, "reg", reg, sizeof(reg)), 0);
    assert_int_equal(fdt_property(p, "interrupts", irq, sizeof(irq)), 0);
    assert_int_equal(fdt_property_u32(p, "interrupt-parent", 65000), 0);
    assert_int_equal(fdt_property(p, "xen,reg", xreg, sizeof(xreg)), 0);
    assert_int_equal(fdt_property_string(p, "xen,path", "/pl031@9010000"), 0);
    assert_int_equal(fdt_property(p, "xen,force-assign-without-iommu", NULL, 0), 0);
    assert_int_equal(fdt_end_node(p), 0);
    assert_int_equal(fdt_end_node(p), 0);
    assert_int_equal(fdt_begin_node(p, "aliases"), 0);
    assert_int_equal(fdt_property_string(p, "rtc0", "/passthrough/rtc@9010000"), 0);
    assert_int_equal(fdt_end_node(p), 0);
    assert_int_equal(fdt_end_node(p), 0);
    assert_int_equal(fdt_finish(p), 0);
}

static void test_xen_partial(void **state)
{
    (void)state;
    build_partial(0x9010000);
    assert_true(pt_parse_partial(partial, sizeof(partial), fdt, &board, &vm));
    assert_int_equal(vm.pt.nr_devs, 1);
    assert_string_equal(vm.pt.devs[0].path, "/pl031@9010000");
    assert_int_equal(vm.pt.ranges[0].pa, 0x9010000);
    assert_int_equal(vm.pt.nr_irqs, 1);
    assert_int_equal(vm.pt.irqs[0].intid, 34);
}

static void test_xen_unaligned(void **state)
{
    (void)state;
    build_partial(0x9010100);
    assert_false(pt_parse_partial(partial, sizeof(partial), fdt, &board, &vm));
    assert_true(capture_contains("/chosen/vm0: /pl031@9010000: xen,reg 0x9010100+0x1000"));
    assert_true(capture_contains("not page-aligned"));
}

static void test_xen_bad_module(void **state)
{
    (void)state;
    memset(partial, 0x5a, sizeof(partial));
    assert_false(pt_parse_partial(partial, sizeof(partial), fdt, &board, &vm));
    assert_true(capture_contains("multiboot,device-tree module is not a device tree"));
}

/* ---- the guest's tree ---- */

static void build_guest(void)
{
    struct vm_layout layout = {.ram_pa = 0x60000000,
                               .ram_ipa = 0x40000000,
                               .ram_size = 0x10000000,
                               .kernel_ipa = 0x40200000,
                               .dtb_ipa = 0x4fe00000};
    assert_int_equal(guest_fdt_build(guest, sizeof(guest), &board, &vm, &layout, fdt), 0);
    assert_int_equal(fdt_check_header(guest), 0);
}

static int guest_node(const char *path)
{
    int n = fdt_path_offset(guest, path);
    if (n < 0) {
        fail_msg("no %s in the guest's tree", path);
    }
    return n;
}

static uint32_t guest_u32(int node, const char *prop, int index)
{
    int len;
    const fdt32_t *p = fdt_getprop(guest, node, prop, &len);
    assert_non_null(p);
    assert_true(len >= (index + 1) * 4);
    return fdt32_to_cpu(p[index]);
}

static void test_guest_tree(void **state)
{
    (void)state;
    assert_true(parse_paths(PATHS("/pl011@9040000\0/pl031@9010000\0/pl061@9030000\0/gpio-keys")));
    build_guest();

    int uart = guest_node("/pl011@9040000");
    assert_int_equal(guest_u32(uart, "reg", 1), 0x9040000);
    assert_int_equal(guest_u32(uart, "reg", 3), 0x1000);
    assert_int_equal(guest_u32(uart, "interrupts", 1), 8);
    /* The clock it uses came along, under a node name of its own; its output name is QEMU's,
     * which the VM's own clock does not use. */
    uint32_t clk = guest_u32(uart, "clocks", 0);
    int clock = fdt_node_offset_by_phandle(guest, clk);
    assert_true(clock >= 0);
    assert_string_equal(fdt_get_name(guest, clock, NULL), "apb-pclk-host");
    assert_string_equal(fdt_getprop(guest, clock, "clock-output-names", NULL), "clk24mhz");
    assert_string_not_equal(fdt_getprop(guest, guest_node("/apb-pclk"), "clock-output-names", NULL),
                            "clk24mhz");
    assert_true(fdt_node_check_compatible(guest, clock, "fixed-clock") == 0);
    int len;
    const char *names = fdt_getprop(guest, uart, "clock-names", &len);
    assert_int_equal(len, sizeof("uartclk\0apb_pclk"));
    assert_memory_equal(names, "uartclk\0apb_pclk", len);

    /* gpio-keys still finds its controller. */
    int key = guest_node("/gpio-keys/poweroff");
    int gpio = fdt_node_offset_by_phandle(guest, guest_u32(key, "gpios", 0));
    assert_int_equal(gpio, guest_node("/pl061@9030000"));

    /* The second UART keeps its alias; serial0 is the VM's console. */
    const char *alias = fdt_getprop(guest, guest_node("/aliases"), "serial1", NULL);
    assert_non_null(alias);
    assert_string_equal(alias, "/pl011@9040000");
    assert_string_equal(fdt_getprop(guest, guest_node("/aliases"), "serial0", NULL),
                        "/pl011@9000000");

    /* Interrupts go to the VM's GIC. */
    assert_int_equal(guest_u32(guest_node("/"), "interrupt-parent", 0), PT_GUEST_GIC_PHANDLE);
}

/* Given only the PL061, a VM also gets /gpio-keys, whose power key is one of its lines; given
 * the PL011 alone, it does not. */
static void test_guest_tree_gets_what_is_wired_to_a_gpio_controller(void **state)
{
    (void)state;
    assert_true(parse_paths(PATHS("/pl061@9030000")));
    build_guest();
    int key = guest_node("/gpio-keys/poweroff");
    assert_int_equal(fdt_node_offset_by_phandle(guest, guest_u32(key, "gpios", 0)),
                     guest_node("/pl061@9030000"));

    memset(&vm, 0, sizeof(vm));
    strcpy(vm.node, "/chosen/vm1");
    int chosen = fdt_path_offset(fdt, "/chosen");
    int node = fdt_add_subnode(fdt, chosen, "vm1");
    assert_int_equal(fdt_setprop_string(fdt, node, "bulkhead,passthrough", "/pl011@9040000"), 0);
    assert_true(pt_parse(fdt, node, &board, &vm));
    build_guest();
    assert_true(fdt_path_offset(guest, "/gpio-keys") < 0);
}

/* Found by fuzz_fdt_config: a provider whose #clock-cells is larger than what follows its phandle
 * (here 0x80000000, which made the list's index negative, and 0xffffffff, which stopped it) is a
 * list the guest cannot follow: the clocks are left out, nothing is read outside them. */
static void test_guest_tree_clock_cells_past_the_list(void **state)
{
    static const uint32_t counts[] = {0x80000000u, 0xffffffffu, 2};
    (void)state;

    for (unsigned i = 0; i < ARRAY_SIZE(counts); i++) {
        int clk = fdt_path_offset(fdt, "/apb-pclk");
        assert_true(clk >= 0);
        assert_int_equal(fdt_setprop_u32(fdt, clk, "#clock-cells", counts[i]), 0);
        memset(&vm, 0, sizeof(vm));
        strcpy(vm.node, "/chosen/vm0");
        if (i == 0) {
            assert_true(parse_paths(PATHS("/pl011@9040000")));
        } else {
            assert_true(pt_parse(fdt, fdt_path_offset(fdt, "/chosen/vm0"), &board, &vm));
        }
        build_guest();
        int uart = guest_node("/pl011@9040000");
        assert_null(fdt_getprop(guest, uart, "clocks", NULL));
        assert_null(fdt_getprop(guest, uart, "clock-names", NULL));
    }
}

static void test_guest_tree_moved(void **state)
{
    (void)state;
    int node = vm_node_with(PATHS("/pl031@9010000"));
    fdt32_t ipa[] = {0, cpu_to_fdt32(0x20000000)};
    assert_int_equal(fdt_setprop(fdt, node, "bulkhead,passthrough-ipa", ipa, sizeof(ipa)), 0);
    assert_true(pt_parse(fdt, node, &board, &vm));
    build_guest();
    assert_int_equal(guest_u32(guest_node("/pl031@20000000"), "reg", 1), 0x20000000);
}

static void test_guest_tree_partial(void **state)
{
    (void)state;
    build_partial(0x9010000);
    assert_true(pt_parse_partial(partial, sizeof(partial), fdt, &board, &vm));
    build_guest();
    int rtc = guest_node("/passthrough/rtc@9010000");
    assert_null(fdt_getprop(guest, rtc, "xen,reg", NULL));
    assert_null(fdt_getprop(guest, rtc, "xen,path", NULL));
    assert_int_equal(guest_u32(rtc, "interrupt-parent", 0), 65000);
    assert_int_equal(guest_u32(guest_node("/intc@8000000"), "phandle", 0), 65000);
    assert_string_equal(fdt_getprop(guest, guest_node("/aliases"), "rtc0", NULL),
                        "/passthrough/rtc@9010000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_uart_rtc_gpio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_phandles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtio_window_rounded_to_its_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mini_uart_console_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ram_and_gic_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipa_override, setup, teardown),
        cmocka_unit_test_setup_teardown(test_double_claim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xen_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xen_unaligned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xen_bad_module, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_tree_gets_what_is_wired_to_a_gpio_controller,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_tree_clock_cells_past_the_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_tree_moved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_tree_partial, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
