/* guest_fdt_build(): build a VM's DTB, read it back with libfdt, check what a guest would see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "bulkhead/guest_fdt.h"

static struct board board;
static struct vm_config vm;
static struct vm_layout layout;
static uint8_t dtb[16384];

static void board_v2(void)
{
    memset(&board, 0, sizeof(board));
    board.ram[0] = (struct mem_range){0x40000000, 0x40000000};
    board.nr_ram = 1;
    board.nr_cpus = 4;
    board.gic.version = GIC_V2;
    board.gic.dist = (struct mem_range){0x8000000, 0x10000};
    board.gic.cpuif = (struct mem_range){0x8010000, 0x10000};
    board.gic.hyp = (struct mem_range){0x8030000, 0x10000};
    board.gic.vcpu = (struct mem_range){0x8040000, 0x10000};
    board.gic.maint_irq = 9;
    board.timer = (struct board_timer){13, 14, 11, 10, 0};
    board.uart.regs = (struct mem_range){0x9000000, 0x1000};
    board.uart.spi = 1;
}

static void board_v3(void)
{
    board_v2();
    board.gic.version = GIC_V3;
    board.gic.cpuif = board.gic.hyp = board.gic.vcpu = (struct mem_range){0, 0};
    board.gic.redist = (struct mem_range){0x80a0000, 0xf60000};
    board.timer.freq = 62500000;
}

static int setup(void **state)
{
    (void)state;
    board_v2();
    memset(&vm, 0, sizeof(vm));
    strcpy(vm.name, "vm0");
    strcpy(vm.node, "/chosen/module@0x48000000");
    strcpy(vm.bootargs, "console=ttyAMA0 earlycon");
    vm.nr_vcpus = 2;
    vm.mem_size = 0x8000000;
    memset(&layout, 0, sizeof(layout));
    layout.ram_pa = 0x70000000;
    layout.ram_ipa = 0x40000000;
    layout.ram_size = 0x8000000;
    layout.kernel_ipa = 0x40080000;
    layout.dtb_ipa = 0x47e00000;
    memset(dtb, 0xa5, sizeof(dtb));
    return 0;
}

static void build(void)
{
    assert_int_equal(guest_fdt_build(dtb, sizeof(dtb), &board, &vm, &layout, NULL), 0);
    assert_int_equal(fdt_check_full(dtb, sizeof(dtb)), 0);
}

static int node(const char *path)
{
    int off = fdt_path_offset(dtb, path);

    if (off < 0) {
        fail_msg("no node %s", path);
    }
    return off;
}

static const void *prop(const char *path, const char *name, int *len)
{
    const void *p = fdt_getprop(dtb, node(path), name, len);

    if (!p) {
        fail_msg("no %s in %s", name, path);
    }
    return p;
}

static void assert_string_prop(const char *path, const char *name, const char *expected)
{
    int len;
    const char *s = prop(path, name, &len);

    assert_int_equal(len, strlen(expected) + 1);
    assert_string_equal(s, expected);
}

/* A property of n cells equal to expected[]. */
static void assert_cells(const char *path, const char *name, const uint32_t *expected, unsigned n)
{
    int len;
    const fdt32_t *p = prop(path, name, &len);

    assert_int_equal(len, n * 4);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(fdt32_to_cpu(p[i]), expected[i]);
    }
}

#define CELLS(...) (const uint32_t[]){__VA_ARGS__}, sizeof((uint32_t[]){__VA_ARGS__}) / 4

static void test_root_memory_cpus_psci(void **state)
{
    int len, cpu, n = 0;
    (void)state;
    build();

    assert_cells("/", "#address-cells", CELLS(2));
    assert_cells("/", "#size-cells", CELLS(2));
    assert_string_prop("/", "compatible", "linux,dummy-virt");
    assert_string_prop("/", "model", "Bulkhead VM");
    uint32_t gic_phandle = fdt_get_phandle(dtb, node("/intc@8000000"));
    assert_true(gic_phandle != 0);
    assert_cells("/", "interrupt-parent", CELLS(gic_phandle));

    assert_string_prop("/memory@40000000", "device_type", "memory");
    assert_cells("/memory@40000000", "reg", CELLS(0, 0x40000000, 0, 0x8000000));

    assert_cells("/cpus", "#address-cells", CELLS(1));
    assert_cells("/cpus", "#size-cells", CELLS(0));
    fdt_for_each_subnode(cpu, dtb, node("/cpus"))
    {
        assert_string_equal(fdt_getprop(dtb, cpu, "device_type", NULL), "cpu");
        assert_string_equal(fdt_getprop(dtb, cpu, "compatible", NULL), "arm,armv8");
        assert_string_equal(fdt_getprop(dtb, cpu, "enable-method", NULL), "psci");
        assert_int_equal(fdt32_to_cpu(*(const fdt32_t *)fdt_getprop(dtb, cpu, "reg", NULL)), n);
        n++;
    }
    assert_int_equal(n, 2);
    node("/cpus/cpu@1");

    assert_string_prop("/psci", "method", "hvc");
    const char *compat = prop("/psci", "compatible", &len);
    assert_int_equal(len, sizeof("arm,psci-1.0\0arm,psci-0.2\0arm,psci"));
    assert_memory_equal(compat, "arm,psci-1.0\0arm,psci-0.2\0arm,psci", len);
    assert_cells("/psci", "cpu_on", CELLS(0xc4000003));
}

static void test_gic_v2(void **state)
{
    (void)state;
    build();

    assert_string_prop("/intc@8000000", "compatible", "arm,cortex-a15-gic");
    /* GICD, and the GICV frame shown where the board's GICC is. */
    assert_cells("/intc@8000000", "reg", CELLS(0, 0x8000000, 0, 0x1000, 0, 0x8010000, 0, 0x2000));
    assert_cells("/intc@8000000", "#interrupt-cells", CELLS(3));
    assert_non_null(fdt_getprop(dtb, node("/intc@8000000"), "interrupt-controller", NULL));

    /* PPIs with the mask of the VM's 2 CPUs. */
    assert_string_prop("/timer", "compatible", "arm,armv8-timer");
    assert_cells("/timer", "interrupts",
                 CELLS(1, 13, 0x304, 1, 14, 0x304, 1, 11, 0x304, 1, 10, 0x304));
    assert_non_null(fdt_getprop(dtb, node("/timer"), "always-on", NULL));
    assert_null(fdt_getprop(dtb, node("/timer"), "clock-frequency", NULL));
}

static void test_gic_v3(void **state)
{
    (void)state;
    board_v3();
    vm.nr_vcpus = 3;
    build();

    assert_string_prop("/intc@8000000", "compatible", "arm,gic-v3");
    assert_cells("/intc@8000000", "reg",
                 CELLS(0, 0x8000000, 0, 0x10000, 0, 0x80a0000, 0, 3 * 0x20000));
    assert_cells("/intc@8000000", "#redistributor-regions", CELLS(1));
    assert_cells("/timer", "interrupts", CELLS(1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4));
    assert_cells("/timer", "clock-frequency", CELLS(62500000));
    node("/cpus/cpu@2");
}

static void test_no_gic(void **state)
{
    (void)state;
    board.gic.version = GIC_NONE;
    build();

    assert_true(fdt_node_offset_by_prop_value(dtb, -1, "interrupt-controller", NULL, 0) < 0);
    assert_null(fdt_getprop(dtb, 0, "interrupt-parent", NULL));
    assert_null(fdt_getprop(dtb, node("/pl011@9000000"), "interrupts", NULL));
}

static void test_uart_and_chosen(void **state)
{
    int len;
    (void)state;
    build();

    const char *compat = prop("/pl011@9000000", "compatible", &len);
    assert_int_equal(len, sizeof("arm,pl011\0arm,primecell"));
    assert_memory_equal(compat, "arm,pl011\0arm,primecell", len);
    assert_cells("/pl011@9000000", "reg", CELLS(0, 0x9000000, 0, 0x1000));
    assert_cells("/pl011@9000000", "interrupts", CELLS(0, 1, 4));
    uint32_t clk = fdt_get_phandle(dtb, node("/apb-pclk"));
    assert_true(clk != 0);
    assert_cells("/pl011@9000000", "clocks", CELLS(clk, clk));
    const char *names = prop("/pl011@9000000", "clock-names", &len);
    assert_memory_equal(names, "uartclk\0apb_pclk", len);
    assert_string_prop("/apb-pclk", "compatible", "fixed-clock");
    assert_cells("/apb-pclk", "#clock-cells", CELLS(0));
    assert_cells("/apb-pclk", "clock-frequency", CELLS(24000000));

    assert_string_prop("/chosen", "bootargs", "console=ttyAMA0 earlycon");
    assert_string_prop("/chosen", "stdout-path", "/pl011@9000000");
    assert_string_prop("/aliases", "serial0", "/pl011@9000000");
    assert_null(fdt_getprop(dtb, node("/chosen"), "linux,initrd-start", NULL));
    /* The alias resolves, as a guest's earlycon would resolve it. */
    assert_int_equal(fdt_path_offset(dtb, "serial0"), node("/pl011@9000000"));
}

static void test_raspi_uart_address(void **state)
{
    (void)state;
    board.uart.regs = (struct mem_range){0xfe201000, 0x200};
    board.uart.spi = 121;
    build();

    /* The PL011's 4 KiB frame whatever the board says: the PrimeCell ID at its end is what
     * Linux's AMBA bus probes. */
    assert_cells("/pl011@fe201000", "reg", CELLS(0, 0xfe201000, 0, 0x1000));
    assert_cells("/pl011@fe201000", "interrupts", CELLS(0, 121, 4));
    assert_string_prop("/chosen", "stdout-path", "/pl011@fe201000");
}

static void test_no_uart(void **state)
{
    (void)state;
    memset(&board.uart, 0, sizeof(board.uart));
    build();

    assert_true(fdt_node_offset_by_compatible(dtb, -1, "arm,pl011") < 0);
    assert_null(fdt_getprop(dtb, node("/chosen"), "stdout-path", NULL));
    assert_true(fdt_path_offset(dtb, "/aliases") < 0);
}

static void test_initrd(void **state)
{
    int len;
    (void)state;
    layout.initrd_ipa = 0x47d55000;
    layout.initrd_size = 700000;
    build();

    const fdt64_t *start = prop("/chosen", "linux,initrd-start", &len);
    assert_int_equal(len, 8);
    assert_int_equal(fdt64_ld(start), 0x47d55000);
    const fdt64_t *end = prop("/chosen", "linux,initrd-end", &len);
    assert_int_equal(len, 8);
    assert_int_equal(fdt64_ld(end), 0x47d55000 + 700000);
}

static void test_buffer_too_small(void **state)
{
    (void)state;
    assert_int_equal(guest_fdt_build(dtb, 512, &board, &vm, &layout, NULL), -1);
    assert_int_equal(guest_fdt_build(dtb, 16, &board, &vm, &layout, NULL), -1);
    /* What it needs is well within the 2 MiB a DTB may take, even with 8 vCPUs. */
    vm.nr_vcpus = MAX_VCPUS;
    memset(vm.bootargs, 'x', sizeof(vm.bootargs) - 1);
    vm.bootargs[sizeof(vm.bootargs) - 1] = '\0';
    build();
    assert_true(fdt_totalsize(dtb) < 4096);
}

/* The restart path writes the reset count at the offset found once, without libfdt. */
static void test_boot_count_patchable(void **state)
{
    (void)state;
    build();

    long at = guest_fdt_boot_count_at(dtb);
    assert_true(at > 0 && (size_t)at + 4 <= fdt_totalsize(dtb));
    assert_cells("/chosen", GUEST_FDT_BOOT_COUNT, CELLS(0));
    uint8_t three[4] = {0, 0, 0, 3};
    memcpy(dtb + at, three, sizeof(three));
    assert_cells("/chosen", GUEST_FDT_BOOT_COUNT, CELLS(3));
    assert_int_equal(fdt_check_full(dtb, sizeof(dtb)), 0);
    assert_int_equal(guest_fdt_boot_count_at("not a dtb, not a dtb, not a dtb, not a dtb"), -1);
    /* Linux warns "KASLR disabled due to lack of seed" without one, unlike on the bare board. */
    long seed = guest_fdt_chosen_prop_at(dtb, "kaslr-seed", 8);
    assert_true(seed > 0 && seed != at);
    assert_int_equal(guest_fdt_chosen_prop_at(dtb, "kaslr-seed", 4), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_root_memory_cpus_psci, setup),
        cmocka_unit_test_setup(test_gic_v2, setup),
        cmocka_unit_test_setup(test_gic_v3, setup),
        cmocka_unit_test_setup(test_no_gic, setup),
        cmocka_unit_test_setup(test_uart_and_chosen, setup),
        cmocka_unit_test_setup(test_raspi_uart_address, setup),
        cmocka_unit_test_setup(test_no_uart, setup),
        cmocka_unit_test_setup(test_initrd, setup),
        cmocka_unit_test_setup(test_buffer_too_small, setup),
        cmocka_unit_test_setup(test_boot_count_patchable, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
