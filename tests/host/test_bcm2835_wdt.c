/* The Raspberry Pi's reset and halt through its PM watchdog: where the block is found, and what
 * is written to it (drivers/bcm2835_wdt.c over memory standing in for the registers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "bulkhead/bcm2835_wdt.h"
#include "support/capture.h"
#include "support/dtb_file.h"

/* The PM block's first registers as QEMU's raspi4b resets them (hw/misc/bcm2835_powermgt.c). */
#define RSTC_AT_RESET 0x00000102u
#define RSTS_AT_RESET 0x00001000u

static uint32_t regs[0x30 / 4];

static void power_on(void)
{
    memset(regs, 0, sizeof(regs));
    regs[BCM2835_PM_RSTC / 4] = RSTC_AT_RESET;
    regs[BCM2835_PM_RSTS / 4] = RSTS_AT_RESET;
}

static void test_found_behind_soc_ranges(void **state)
{
    struct mem_range pm;
    (void)state;

    void *fdt = dtb_load("raspi4b-pm", 0);
    capture_reset();
    assert_int_equal(bcm2835_wdt_find(fdt, &pm), 1);
    assert_int_equal(pm.base, 0xfe100000); /* the disabled one at 0xfe0ff000 passed over */
    assert_int_equal(pm.size, 0x114);
    assert_string_equal(capture_text(), "");
    free(fdt);
}

static void test_none_on_qemu_virt(void **state)
{
    struct mem_range pm = {0};
    (void)state;

    void *fdt = dtb_load("qemu-virt-v3", 0);
    capture_reset();
    assert_int_equal(bcm2835_wdt_find(fdt, &pm), 0);
    assert_string_equal(capture_text(), "");
    free(fdt);
}

/* A PM node whose reg is too short for PM_WDOG, or absent: named, and not used. */
static void test_unusable_reg_named(void **state)
{
    static const uint32_t short_reg[] = {0, 0x7e100000, 0x20};
    char buf[1024];
    struct mem_range pm;
    (void)state;

    assert_int_equal(fdt_create_empty_tree(buf, sizeof(buf)), 0);
    int node = fdt_add_subnode(buf, 0, "watchdog@7e100000");
    assert_true(node >= 0);
    assert_int_equal(fdt_setprop_string(buf, node, "compatible", "brcm,bcm2835-pm"), 0);
    capture_reset();
    assert_int_equal(bcm2835_wdt_find(buf, &pm), -1);
    assert_true(capture_contains("/watchdog@7e100000: no reg that holds PM_WDOG"));

    uint32_t be[ARRAY_SIZE(short_reg)];
    for (unsigned i = 0; i < ARRAY_SIZE(short_reg); i++) {
        be[i] = cpu_to_fdt32(short_reg[i]);
    }
    assert_int_equal(fdt_setprop(buf, node, "reg", be, sizeof(be)), 0);
    capture_reset();
    assert_int_equal(bcm2835_wdt_find(buf, &pm), -1);
    assert_true(capture_contains("/watchdog@7e100000: no reg that holds PM_WDOG"));
}

/* Linux's PM_RSTS_PARTITION: bit i of the partition number in bit 2i. */
static void test_partition_field(void **state)
{
    (void)state;
    assert_int_equal(bcm2835_wdt_rsts(0, BCM2835_PARTITION_HALT), 0x555);
    assert_int_equal(bcm2835_wdt_rsts(0, BCM2835_PARTITION_BOOT), 0);
    assert_int_equal(bcm2835_wdt_rsts(0, 5), 0x11);
    /* The field replaced, the other bits (the reset-cause flags) kept. */
    assert_int_equal(bcm2835_wdt_rsts(0x1555, BCM2835_PARTITION_BOOT), 0x1000);
    assert_int_equal(bcm2835_wdt_rsts(0xfffff000, BCM2835_PARTITION_HALT), 0xfffff555);
}

/* A reboot: partition 0, a 10-tick watchdog and RSTC's full reset, each with the password. */
static void test_restart_writes(void **state)
{
    (void)state;
    power_on();
    bcm2835_wdt_restart((paddr_t)(uintptr_t)regs, BCM2835_PARTITION_BOOT);
    assert_int_equal(regs[BCM2835_PM_RSTS / 4], BCM2835_PM_PASSWORD | RSTS_AT_RESET);
    assert_int_equal(regs[BCM2835_PM_WDOG / 4], BCM2835_PM_PASSWORD | 10);
    /* WRCFG (bits 4-5) becomes full reset (0x20); the rest of RSTC stays. */
    assert_int_equal(regs[BCM2835_PM_RSTC / 4], BCM2835_PM_PASSWORD | 0x122);
}

/* A halt: the same with partition 63, which the Pi's firmware takes as "stay off". */
static void test_halt_writes(void **state)
{
    (void)state;
    power_on();
    regs[BCM2835_PM_RSTC / 4] = 0x132; /* a WRCFG already set is replaced, not ORed */
    bcm2835_wdt_restart((paddr_t)(uintptr_t)regs, BCM2835_PARTITION_HALT);
    assert_int_equal(regs[BCM2835_PM_RSTS / 4], BCM2835_PM_PASSWORD | 0x1555);
    assert_int_equal(regs[BCM2835_PM_WDOG / 4], BCM2835_PM_PASSWORD | 10);
    assert_int_equal(regs[BCM2835_PM_RSTC / 4], BCM2835_PM_PASSWORD | 0x122);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_found_behind_soc_ranges), cmocka_unit_test(test_none_on_qemu_virt),
        cmocka_unit_test(test_unusable_reg_named),      cmocka_unit_test(test_partition_field),
        cmocka_unit_test(test_restart_writes),          cmocka_unit_test(test_halt_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
