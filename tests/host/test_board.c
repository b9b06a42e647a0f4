/* board_parse(): real QEMU trees, a Raspberry Pi 4 tree, and broken ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "bulkhead/config.h"
#include "bulkhead/fdt_read.h"
#include "support/capture.h"
#include "support/dtb_file.h"

static struct board board;

/* Parses a test tree into the global board; returns board_parse's result. */
static int parse(const char *name, void **fdt)
{
    *fdt = dtb_load(name, 0);
    capture_reset();
    return board_parse(*fdt, &board);
}

static bool reserved_has(uint64_t base, uint64_t size)
{
    for (unsigned i = 0; i < board.nr_reserved; i++) {
        if (board.reserved[i].base == base && board.reserved[i].size == size) {
            return true;
        }
    }
    return false;
}

static void test_qemu_virt_v3(void **state)
{
    void *fdt;
    (void)state;

    assert_int_equal(parse("qemu-virt-v3", &fdt), 0);
    assert_string_equal(board.model, "linux,dummy-virt");
    assert_string_equal(board.bootargs, "bulkhead.vm-memory=128M");
    assert_int_equal(board.nr_ram, 1);
    assert_int_equal(board.ram[0].base, 0x40000000);
    assert_int_equal(board.ram[0].size, 0x40000000);

    assert_int_equal(board.nr_cpus, 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(board.cpus[i].mpidr, i);
        assert_int_equal(board.cpus[i].enable_method, CPU_ENABLE_PSCI);
    }
    assert_int_equal(board.psci, PSCI_CONDUIT_SMC);

    assert_int_equal(board.gic.version, GIC_V3);
    assert_int_equal(board.gic.dist.base, 0x8000000);
    assert_int_equal(board.gic.dist.size, 0x10000);
    assert_int_equal(board.gic.redist.base, 0x80a0000);
    assert_int_equal(board.gic.redist.size, 0xf60000);
    assert_int_equal(board.gic.cpuif.size, 0);
    assert_int_equal(board.gic.maint_irq, 9);

    assert_int_equal(board.timer.irq_sec_phys, 13);
    assert_int_equal(board.timer.irq_phys, 14);
    assert_int_equal(board.timer.irq_virt, 11);
    assert_int_equal(board.timer.irq_hyp, 10);
    assert_int_equal(board.timer.freq, 0);

    assert_int_equal(board.uart.regs.base, 0x9000000);
    assert_int_equal(board.uart.regs.size, 0x1000);
    assert_int_equal(board.uart.spi, 1);
    assert_string_equal(board.uart.path, "/pl011@9000000");

    /* The DTB itself and the three guest-loader modules, nothing else. */
    assert_int_equal(board.nr_reserved, 4);
    assert_true(reserved_has((uintptr_t)fdt, fdt_totalsize(fdt)));
    assert_true(reserved_has(0x48000000, 3000000));
    assert_true(reserved_has(0x49000000, 700000));
    assert_true(reserved_has(0x4a000000, 0x100000));
    assert_string_equal(capture_text(), "");
    free(fdt);
}

static void test_qemu_virt_v2(void **state)
{
    void *fdt;
    (void)state;

    assert_int_equal(parse("qemu-virt-v2", &fdt), 0);
    assert_int_equal(board.ram[0].size, 0x20000000);
    assert_int_equal(board.nr_cpus, 2);
    assert_int_equal(board.gic.version, GIC_V2);
    assert_int_equal(board.gic.dist.base, 0x8000000);
    assert_int_equal(board.gic.cpuif.base, 0x8010000);
    assert_int_equal(board.gic.hyp.base, 0x8030000);
    assert_int_equal(board.gic.vcpu.base, 0x8040000);
    assert_int_equal(board.gic.vcpu.size, 0x10000);
    assert_int_equal(board.gic.redist.size, 0);
    assert_int_equal(board.gic.maint_irq, 9);
    assert_int_equal(board.timer.irq_virt, 11);
    assert_int_equal(board.uart.spi, 1);
    assert_int_equal(board.nr_reserved, 3);
    assert_true(reserved_has(0x4a000000, 700000));
    assert_string_equal(capture_text(), "");
    free(fdt);
}

static void test_raspi4b(void **state)
{
    void *fdt;
    (void)state;

    assert_int_equal(parse("raspi4b", &fdt), 0);
    assert_string_equal(board.model, "Raspberry Pi 4 Model B");
    /* Sorted, whatever the order in reg. */
    assert_int_equal(board.nr_ram, 2);
    assert_int_equal(board.ram[0].base, 0);
    assert_int_equal(board.ram[0].size, 0x3b400000);
    assert_int_equal(board.ram[1].base, 0x40000000);
    assert_int_equal(board.ram[1].size, 0x40000000);

    /* /memreserve/, the nvram node (not the size-only CMA pool, not the disabled one), the DTB. */
    assert_int_equal(board.nr_reserved, 3);
    assert_true(reserved_has(0, 0x1000));
    assert_true(reserved_has(0x3b3f0000, 0x10000));
    assert_true(reserved_has((uintptr_t)fdt, fdt_totalsize(fdt)));

    assert_int_equal(board.nr_cpus, 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(board.cpus[i].mpidr, i);
        assert_int_equal(board.cpus[i].enable_method, CPU_ENABLE_SPIN_TABLE);
        assert_int_equal(board.cpus[i].release_addr, 0xd8 + 8 * i);
    }
    assert_int_equal(board.psci, PSCI_CONDUIT_NONE);

    /* Through /soc's ranges. */
    assert_int_equal(board.gic.version, GIC_V2);
    assert_int_equal(board.gic.dist.base, 0xff841000);
    assert_int_equal(board.gic.cpuif.base, 0xff842000);
    assert_int_equal(board.gic.hyp.base, 0xff844000);
    assert_int_equal(board.gic.vcpu.base, 0xff846000);
    assert_int_equal(board.gic.vcpu.size, 0x2000);
    assert_int_equal(board.gic.maint_irq, 9);
    assert_int_equal(board.timer.irq_phys, 14);

    /* stdout-path "serial1:115200n8" -> alias -> /soc/serial@7e201000. */
    assert_int_equal(board.uart.regs.base, 0xfe201000);
    assert_int_equal(board.uart.regs.size, 0x200);
    assert_int_equal(board.uart.spi, 121);
    assert_string_equal(board.uart.path, "/soc/serial@7e201000");
    assert_int_equal(board.aux_console.regs.size, 0);
    assert_ptr_equal(board_console(&board), &board.uart);
    assert_string_equal(capture_text(), "");
    free(fdt);
}

/* stdout-path naming the mini UART, as the Pi's own DTB does: the console is the mini UART and
 * the VMs' PL011 the board's first enabled one. */
static void test_raspi4b_mini_uart_console(void **state)
{
    void *fdt = dtb_load("raspi4b", 64);
    (void)state;

    fdt_set_totalsize(fdt, fdt_totalsize(fdt) + 64);
    assert_int_equal(
        fdt_setprop_string(fdt, fdt_path_offset(fdt, "/chosen"), "stdout-path", "serial0:115200n8"),
        0);
    capture_reset();
    assert_int_equal(board_parse(fdt, &board), 0);
    assert_int_equal(board.aux_console.regs.base, 0xfe215040);
    assert_int_equal(board.aux_console.regs.size, 0x40);
    assert_int_equal(board.aux_console.spi, 93);
    assert_string_equal(board.aux_console.path, "/soc/serial@7e215040");
    assert_ptr_equal(board_console(&board), &board.aux_console);
    assert_int_equal(board.uart.regs.base, 0xfe201000);
    assert_int_equal(board.uart.spi, 121);
    assert_string_equal(capture_text(), "");

    /* A mini UART whose reg cannot hold its registers is named and not the console. */
    uint32_t short_reg[] = {cpu_to_fdt32(0x7e215040), cpu_to_fdt32(0x20)};
    assert_int_equal(fdt_setprop_inplace(fdt, fdt_path_offset(fdt, "/soc/serial@7e215040"), "reg",
                                         short_reg, sizeof(short_reg)),
                     0);
    capture_reset();
    assert_int_equal(board_parse(fdt, &board), 0);
    assert_true(capture_contains("/soc/serial@7e215040: mini UART reg of 0x20 bytes, not 0x40"));
    assert_ptr_equal(board_console(&board), &board.uart);
    assert_int_equal(board.uart.regs.base, 0xfe201000);
    free(fdt);
}

static void test_malformed_parts_are_reported_and_left_zero(void **state)
{
    void *fdt;
    (void)state;

    assert_int_equal(parse("board-malformed", &fdt), 0);
    /* The bad bank is reported; the good one is used. */
    assert_true(capture_contains("/memory@40000000: reg is 12 bytes"));
    assert_int_equal(board.nr_ram, 1);
    assert_int_equal(board.ram[0].base, 0x80000000);

    /* cpu@0, cpu@1 (not startable), cpu@100 (unknown method); cpu@2 and cpu@3 refused. */
    assert_int_equal(board.nr_cpus, 3);
    assert_int_equal(board.cpus[0].enable_method, CPU_ENABLE_PSCI);
    assert_int_equal(board.cpus[1].mpidr, 1);
    assert_int_equal(board.cpus[1].enable_method, CPU_ENABLE_NONE);
    assert_int_equal(board.cpus[2].mpidr, 0x100);
    assert_int_equal(board.cpus[2].enable_method, CPU_ENABLE_NONE);
    assert_true(capture_contains("/cpus/cpu@1: spin-table without cpu-release-addr"));
    assert_true(capture_contains("/cpus/cpu@2: reg must be 1 cell"));
    assert_true(capture_contains("/cpus/cpu@3: MPIDR 0x0 is already used"));
    assert_true(capture_contains("/cpus/cpu@100: unsupported enable-method \"magic\""));
    assert_false(capture_contains("cpu@200"));

    assert_int_equal(board.psci, PSCI_CONDUIT_NONE);
    assert_true(capture_contains("/psci: method must be"));
    assert_int_equal(board.gic.version, GIC_NONE);
    assert_int_equal(board.gic.dist.base, 0);
    assert_true(capture_contains("/intc@8000000: reg needs GICD, GICC, GICH and GICV"));
    assert_int_equal(board.timer.irq_phys, 0);
    assert_true(capture_contains("/timer: interrupts is 36 bytes"));

    /* The missing alias is reported, then the first PL011 is used, without its bad interrupt. */
    assert_true(capture_contains("/chosen: stdout-path \"serial7:115200n8\" names no node"));
    assert_int_equal(board.uart.regs.base, 0x9000000);
    assert_int_equal(board.uart.spi, 0);
    assert_true(capture_contains("/pl011@9000000: interrupt <1 1 ...> is not an SPI"));
    free(fdt);
}

static void test_no_cpus_fails(void **state)
{
    void *fdt;
    (void)state;

    assert_int_equal(parse("board-nocpus", &fdt), -1);
    assert_true(capture_contains("/cpus: no usable cpu node"));
    free(fdt);
}

static void test_no_memory_fails(void **state)
{
    void *fdt;
    (void)state;

    assert_int_equal(parse("board-nomemory", &fdt), -1);
    assert_true(capture_contains("/memory@40000000: reg is 8 bytes, not a multiple of 16"));
    assert_true(capture_contains("no usable /memory node"));
    free(fdt);
}

static void test_too_many_reserved_fails(void **state)
{
    void *fdt;
    (void)state;

    assert_int_equal(parse("board-toomanyreserved", &fdt), -1);
    assert_true(capture_contains("more than 24 reserved ranges"));
    free(fdt);
}

static void test_bad_header_fails(void **state)
{
    static uint32_t junk[64] = {0xdeadbeef};
    (void)state;

    capture_reset();
    assert_int_equal(board_parse(junk, &board), -1);
    assert_true(capture_contains("host DTB: malformed"));
}

/* A header that passes the quick check but a structure that does not: the full check refuses. */
static void test_corrupt_structure_fails(void **state)
{
    void *fdt = dtb_load("qemu-virt-v2", 0);
    (void)state;

    /* The root node's FDT_BEGIN_NODE tag becomes junk. */
    *(uint32_t *)((char *)fdt + fdt_off_dt_struct(fdt)) = 0xdeadbeef;
    capture_reset();
    assert_int_equal(board_parse(fdt, &board), -1);
    assert_true(capture_contains("host DTB: malformed"));
    free(fdt);
}

static void test_modules_in_vm_nodes_are_reserved(void **state)
{
    void *fdt;
    (void)state;

    assert_int_equal(parse("vms-xen", &fdt), 0);
    /* dom0's two top-level modules, domU1's two (1+1 cells), domU2's and domU3's (2+2), the DTB. */
    assert_int_equal(board.nr_reserved, 7);
    assert_true(reserved_has(0x60000000, 0x800000));
    assert_true(reserved_has(0x61000000, 0x200000));
    assert_true(reserved_has(0x4a000000, 0xffffff));
    assert_true(reserved_has(0x4b000000, 0x80000));
    assert_true(reserved_has(0x4c000000, 0x400000));
    assert_true(reserved_has(0x4d000000, 0x400000));
    free(fdt);
}

static void test_module_without_reg_is_not_reserved(void **state)
{
    void *fdt;
    (void)state;

    assert_int_equal(parse("vms-explicit", &fdt), 0);
    /* Every module with a reg (8), the DTB; /chosen/noreg/kernel has nothing to reserve. */
    assert_int_equal(board.nr_reserved, 9);
    assert_true(reserved_has(0x4a000000, 0x100000)); /* vm@1: 1 + 1 cells */
    assert_string_equal(capture_text(), "");
    free(fdt);
}

/* Found by fuzz_fdt_config: libfdt follows an alias whose value is not a full path as another
 * alias, so one naming itself (or two naming each other) recursed until the stack ran out. An
 * alias is followed once, to a full path; anything else names no node. */
static void test_alias_loops_name_no_node(void **state)
{
    void *fdt = dtb_load("qemu-virt-v3", 512);
    (void)state;

    assert_int_equal(fdt_open_into(fdt, fdt, (int)fdt_totalsize(fdt) + 512), 0);
    int aliases = fdt_path_offset(fdt, "/aliases");
    assert_true(aliases >= 0);
    assert_int_equal(fdt_setprop_string(fdt, aliases, "loop", "loop"), 0);
    assert_int_equal(fdt_setprop_string(fdt, aliases, "ping", "pong/x"), 0);
    assert_int_equal(fdt_setprop_string(fdt, aliases, "pong", "ping"), 0);
    assert_int_equal(fdt_setprop(fdt, aliases, "nonul", "/pl011@9000000", 14), 0);
    assert_int_equal(fdt_setprop_string(fdt, aliases, "uart", "serial0"), 0);

    assert_int_equal(config_path_offset(fdt, "serial0", 7), fdt_path_offset(fdt, "/pl011@9000000"));
    assert_int_equal(config_path_offset(fdt, "serial0:115200", 7),
                     fdt_path_offset(fdt, "/pl011@9000000"));
    assert_int_equal(config_path_offset(fdt, "/pl011@9000000", 14),
                     fdt_path_offset(fdt, "/pl011@9000000"));
    assert_true(config_path_offset(fdt, "loop", 4) < 0);
    assert_true(config_path_offset(fdt, "ping", 4) < 0);
    assert_true(config_path_offset(fdt, "pong/x", 6) < 0);
    assert_true(config_path_offset(fdt, "nonul", 5) < 0);
    assert_true(config_path_offset(fdt, "uart", 4) < 0); /* an alias of an alias */
    assert_true(config_path_offset(fdt, "", 0) < 0);

    int chosen = fdt_path_offset(fdt, "/chosen"); /* after the edits above */
    assert_true(chosen >= 0);
    assert_int_equal(fdt_setprop_string(fdt, chosen, "stdout-path", "loop:115200n8"), 0);
    capture_reset();
    (void)board_parse(fdt, &board);
    assert_true(capture_contains("/chosen: stdout-path \"loop:115200n8\" names no node"));
    free(fdt);
}

static void test_shared_readers(void **state)
{
    void *fdt = dtb_load("raspi4b", 0);
    int soc = fdt_path_offset(fdt, "/soc");
    int cpu = fdt_path_offset(fdt, "/cpus/cpu@1");
    struct mem_range r[4];
    uint64_t v64;
    uint32_t v32;
    char path[8];
    (void)state;

    capture_reset();
    assert_int_equal(config_read_pairs(fdt, cpu, "cpu-release-addr", 1, 2, r, 4), -1);
    assert_true(capture_contains("/cpus/cpu@1: cpu-release-addr is 8 bytes, not a multiple of 12"));
    assert_int_equal(config_read_pairs(fdt, soc, "ranges", 2, 2, r, 2), 3);
    assert_int_equal(r[1].base, 0x7c00000000000000ULL);
    assert_int_equal(config_read_pairs(fdt, soc, "nothing", 2, 2, r, 2), 0);
    assert_int_equal(config_read_pairs(fdt, soc, "ranges", 3, 1, r, 2), -1);

    assert_int_equal(config_read_u64(fdt, cpu, "cpu-release-addr", &v64), 1);
    assert_int_equal(v64, 0xe0);
    assert_int_equal(config_read_u64(fdt, cpu, "reg", &v64), 1);
    assert_int_equal(v64, 1);
    assert_int_equal(config_read_u32(fdt, cpu, "cpu-release-addr", &v32), -1);
    assert_int_equal(config_read_u32(fdt, cpu, "absent", &v32), 0);
    assert_null(config_get_string(fdt, cpu, "reg")); /* binary, not a string */
    assert_string_equal(config_get_string(fdt, cpu, "enable-method"), "spin-table");

    config_node_path(fdt, cpu, path, sizeof(path));
    assert_string_equal(path, "cpu@1"); /* too long for the buffer: the node's name */
    free(fdt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qemu_virt_v3),
        cmocka_unit_test(test_qemu_virt_v2),
        cmocka_unit_test(test_raspi4b),
        cmocka_unit_test(test_malformed_parts_are_reported_and_left_zero),
        cmocka_unit_test(test_no_cpus_fails),
        cmocka_unit_test(test_no_memory_fails),
        cmocka_unit_test(test_too_many_reserved_fails),
        cmocka_unit_test(test_bad_header_fails),
        cmocka_unit_test(test_corrupt_structure_fails),
        cmocka_unit_test(test_modules_in_vm_nodes_are_reserved),
        cmocka_unit_test(test_module_without_reg_is_not_reserved),
        cmocka_unit_test(test_alias_loops_name_no_node),
        cmocka_unit_test(test_shared_readers),
        cmocka_unit_test(test_raspi4b_mini_uart_console),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
