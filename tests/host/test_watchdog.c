/*
 * A VM's SBSA generic watchdog: the timing rules and registers (vdev/sbsa_gwdt.c), the device in a
 * VM's I/O with a fake clock (WS0's line, the deadline it arms, WS1 handing the VM to its policy,
 * reset and halt disarming it), the binding (config/watchdog.c: placement, SPI, policy, each
 * mistake naming the node) and the guest's node (config/guest_fdt.c).
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

#include "bulkhead/config.h"
#include "bulkhead/guest_fdt.h"
#include "bulkhead/layout.h"
#include "bulkhead/sbsa_gwdt.h"
#include "bulkhead/shmem.h"
#include "bulkhead/vdev.h"
#include "support/capture.h"
#include "support/dtb_file.h"

/* ---- the timing rules ---- */

static void test_rules(void **state)
{
    (void)state;
    struct gwdt w = {.wor = 100};
    bool ok;

    assert_int_equal(gwdt_deadline(&w), GWDT_NEVER);
    assert_int_equal(gwdt_advance(&w, 1000), GWDT_NONE); /* off: nothing ever happens */
    gwdt_write(&w, true, GWDT_WCS, 4, GWDT_WCS_EN, 1000, &ok);
    assert_true(ok);
    assert_int_equal(gwdt_deadline(&w), 1100); /* enabling refreshes */
    assert_int_equal(gwdt_advance(&w, 1099), GWDT_NONE);
    gwdt_write(&w, false, GWDT_WRR, 4, 0, 1050, &ok); /* in time */
    assert_int_equal(gwdt_deadline(&w), 1150);
    assert_int_equal(gwdt_advance(&w, 1150), GWDT_WS0);
    assert_int_equal(gwdt_read(&w, true, GWDT_WCS, 4, &ok), GWDT_WCS_EN | GWDT_WCS_WS0);
    assert_int_equal(gwdt_deadline(&w), 1250);        /* the timeout refresh: one more period */
    gwdt_write(&w, false, GWDT_WRR, 4, 0, 1200, &ok); /* a refresh drops WS0 */
    assert_int_equal(gwdt_read(&w, true, GWDT_WCS, 4, &ok), GWDT_WCS_EN);
    assert_int_equal(gwdt_advance(&w, 1300), GWDT_WS0);
    assert_int_equal(gwdt_advance(&w, 1399), GWDT_NONE);
    assert_int_equal(gwdt_advance(&w, 1400), GWDT_WS1);
    assert_int_equal(gwdt_read(&w, true, GWDT_WCS, 4, &ok),
                     GWDT_WCS_EN | GWDT_WCS_WS0 | GWDT_WCS_WS1);
    assert_int_equal(gwdt_deadline(&w), GWDT_NEVER); /* WS1 is final until a refresh */
    assert_int_equal(gwdt_advance(&w, 5000), GWDT_NONE);
    gwdt_write(&w, true, GWDT_WCS, 4, 0, 5000, &ok); /* disabled: never again */
    assert_int_equal(gwdt_read(&w, true, GWDT_WCS, 4, &ok), 0);
    assert_int_equal(gwdt_deadline(&w), GWDT_NEVER);
}

static void test_registers(void **state)
{
    (void)state;
    struct gwdt w = {0};
    bool ok;

    assert_int_equal(gwdt_read(&w, true, GWDT_W_IIDR, 4, &ok), GWDT_IIDR_VALUE);
    assert_true(ok);
    assert_int_equal(gwdt_read(&w, false, GWDT_W_IIDR, 4, &ok), GWDT_IIDR_VALUE);
    /* WOR: 48 bits, low word then high word (Linux's lo_hi_writeq); each write refreshes. */
    gwdt_write(&w, true, GWDT_WOR, 4, 0x89abcdef, 10, &ok);
    gwdt_write(&w, true, GWDT_WOR + 4, 4, 0xffff1234, 20, &ok);
    assert_true(ok);
    assert_int_equal(w.wor, 0x123489abcdefULL);
    assert_int_equal(gwdt_read(&w, true, GWDT_WOR + 4, 4, &ok), 0x1234);
    assert_int_equal(gwdt_read(&w, true, GWDT_WOR, 8, &ok), 0x123489abcdefULL);
    assert_int_equal(w.wcv, 20 + 0x123489abcdefULL);
    /* WCV is written as is, without a refresh. */
    gwdt_write(&w, true, GWDT_WCV, 8, 0x1122334455667788ULL, 30, &ok);
    assert_int_equal(gwdt_read(&w, true, GWDT_WCV + 4, 4, &ok), 0x11223344);
    assert_int_equal(gwdt_read(&w, true, GWDT_WCV, 4, &ok), 0x55667788);
    /* Not registers: refused, and the state is untouched. */
    gwdt_read(&w, true, 0x18, 4, &ok);
    assert_false(ok);
    gwdt_read(&w, true, GWDT_WCS, 8, &ok);
    assert_false(ok);
    gwdt_read(&w, true, GWDT_WOR + 4, 8, &ok);
    assert_false(ok);
    gwdt_write(&w, false, GWDT_WOR, 4, 1, 40, &ok);
    assert_false(ok);
    assert_int_equal(w.wor, 0x123489abcdefULL);
    gwdt_write(&w, true, GWDT_W_IIDR, 4, 0, 40, &ok); /* read-only: ignored, not refused */
    assert_true(ok);
    assert_int_equal(gwdt_read(&w, false, GWDT_WRR, 4, &ok), 0);
    assert_true(ok);
}

/* ---- the device, with a fake clock ---- */

static struct {
    uint64_t now;
    struct vdev *dev;
    uint64_t deadline;
    unsigned arms, expiries;
} clk;

static uint64_t fake_now(void *ctx)
{
    (void)ctx;
    return clk.now;
}

static void fake_arm(void *ctx, struct vdev *dev, uint64_t deadline)
{
    (void)ctx;
    clk.dev = dev;
    clk.deadline = deadline;
    clk.arms++;
}

static void fake_expired(void *ctx, const struct vdev *dev)
{
    (void)ctx;
    assert_ptr_equal(dev, clk.dev);
    clk.expiries++;
}

static const struct vdev_clock_ops fake_clock = {
    .now = fake_now, .arm = fake_arm, .watchdog_expired = fake_expired};

#define CTRL 0x20000000ULL
#define REFRESH (CTRL + GWDT_FRAME_SIZE)
#define SPI 91

struct env {
    struct vgic_dist vgic;
    struct vgic_cpu cpu;
    struct vm_io io;
};

static struct env *env_new(bool with_clock)
{
    struct env *e = calloc(1, sizeof(*e));
    struct vdev_desc desc = {
        .compatible = "arm,sbsa-gwdt",
        .reg = {{CTRL, GWDT_FRAME_SIZE}, {REFRESH, GWDT_FRAME_SIZE}},
        .nr_reg = 2,
        .spis = {SPI},
        .nr_spis = 1,
    };

    assert_non_null(e);
    memset(&clk, 0, sizeof(clk));
    vgic_dist_init(&e->vgic, GIC_V3, 128, 1);
    vgic_cpu_init(&e->vgic, &e->cpu, 0, 4);
    vm_io_init(&e->io, "vmw", 1, &e->vgic, NULL, NULL);
    if (with_clock) {
        e->io.clock = &fake_clock;
    }
    capture_reset();
    assert_int_equal(vdev_create(&e->io, &desc), with_clock ? 0 : -1);
    return e;
}

static void access(struct env *e, ipa_t ipa, bool write, uint64_t *val, enum mmio_result want)
{
    const struct mmio_region *r = mmio_bus_find(&e->io.bus, ipa);

    assert_non_null(r);
    if (write) {
        assert_int_equal(r->ops->write(r->dev, 0, ipa - r->base, 4, *val), want);
    } else {
        assert_int_equal(r->ops->read(r->dev, 0, ipa - r->base, 4, val), want);
    }
}

static void wr(struct env *e, ipa_t ipa, uint64_t v)
{
    access(e, ipa, true, &v, MMIO_OK);
}

static uint64_t rd(struct env *e, ipa_t ipa)
{
    uint64_t v = 0xdead;

    access(e, ipa, false, &v, MMIO_OK);
    return v;
}

static bool ws0_line(struct env *e)
{
    return vgic_get_irq(&e->vgic, 0, SPI + 32)->line;
}

static void test_device(void **state)
{
    (void)state;
    struct env *e = env_new(true);

    vm_io_reset(&e->io);
    assert_int_equal(clk.deadline, GWDT_NEVER);
    assert_int_equal(rd(e, CTRL + GWDT_W_IIDR), GWDT_IIDR_VALUE);
    clk.now = 1000;
    wr(e, CTRL + GWDT_WOR, 500);
    wr(e, CTRL + GWDT_WCS, GWDT_WCS_EN);
    assert_int_equal(clk.deadline, 1500);
    clk.now = 1400;
    wr(e, REFRESH + GWDT_WRR, 0);
    assert_int_equal(clk.deadline, 1900);

    /* The clock calls expire() at the deadline: WS0 and its line, one more period armed. */
    clk.now = 1900;
    clk.dev->ops->expire(clk.dev, clk.now);
    assert_true(ws0_line(e));
    assert_int_equal(rd(e, CTRL + GWDT_WCS), GWDT_WCS_EN | GWDT_WCS_WS0);
    assert_int_equal(clk.deadline, 2400);
    assert_int_equal(clk.expiries, 0);
    /* Then WS1: the VM's policy, once; nothing armed after it. */
    clk.now = 2400;
    clk.dev->ops->expire(clk.dev, clk.now);
    assert_int_equal(clk.expiries, 1);
    assert_int_equal(clk.deadline, GWDT_NEVER);

    /* A halted VM's watchdog is disarmed; its reset turns it off. */
    clk.now = 3000;
    wr(e, REFRESH + GWDT_WRR, 0);
    assert_int_equal(clk.deadline, 3500);
    assert_false(ws0_line(e));
    vm_io_halt(&e->io, false);
    assert_int_equal(clk.deadline, GWDT_NEVER);
    vm_io_reset(&e->io);
    assert_int_equal(rd(e, CTRL + GWDT_WCS), 0);
    assert_int_equal(clk.deadline, GWDT_NEVER);

    /* What is not a register is refused (the hypervisor reports it and injects an abort). */
    uint64_t v = 1;
    access(e, REFRESH + GWDT_WOR, true, &v, MMIO_ABORT);
    access(e, CTRL + 0x100, false, &v, MMIO_ABORT);
    free(e);
}

static void test_device_needs_clock(void **state)
{
    (void)state;
    struct env *e = env_new(false);

    assert_true(capture_contains("vmw: this VM cannot keep time for a watchdog"));
    free(e);
}

/* ---- the binding ---- */

static struct board board;
static struct vm_config vms[MAX_VMS];
static struct shm_config shm;
static void *fdt;
static const struct module_limits limits = {.hyp = {0x40200000, 0x2fb000},
                                            .dtb = {0x48000000, 0x100000}};

static unsigned load(void)
{
    struct vm_defaults defaults = {0};

    fdt = dtb_load("watchdog", 8192);
    assert_int_equal(board_parse(fdt, &board), 0);
    capture_reset();
    unsigned n = vmcfg_parse(fdt, &board, &defaults, &limits, vms);
    return shm_parse(fdt, &board, &limits, vms, n, &shm);
}

static const struct vm_config *vm_named(unsigned n, const char *name)
{
    for (unsigned i = 0; i < n; i++) {
        if (strcmp(vms[i].name, name) == 0) {
            return &vms[i];
        }
    }
    return NULL;
}

static int teardown(void **state)
{
    (void)state;
    free(fdt);
    fdt = NULL;
    return 0;
}

static void test_binding(void **state)
{
    (void)state;
    unsigned n = load();

    assert_int_equal(n, 4);
    const struct vm_config *dflt = vm_named(n, "dflt");
    assert_non_null(dflt);
    assert_true(dflt->watchdog.present);
    /* After the board's 1 GiB at 0x40000000, rounded up to 1 GiB. */
    assert_int_equal(dflt->watchdog.ipa, 0x80000000);
    assert_int_equal(watchdog_default_ipa(&board), 0x80000000);
    assert_int_equal(dflt->watchdog.spi, WATCHDOG_SPI_TOP);
    assert_int_equal(dflt->shm.maps[0].doorbell_spi, SHM_DOORBELL_SPI_TOP);
    assert_int_equal(dflt->on_watchdog, VM_ON_CRASH_RESTART);

    const struct vm_config *fixed = vm_named(n, "fixed");
    assert_non_null(fixed);
    assert_int_equal(fixed->watchdog.ipa, 0x20000000);
    assert_int_equal(fixed->on_watchdog, VM_ON_CRASH_STOP);

    const struct vm_config *none = vm_named(n, "nowatchdog");
    assert_non_null(none);
    assert_false(none->watchdog.present);
    assert_int_equal(none->on_watchdog, VM_ON_CRASH_STOP);

    assert_true(capture_contains("/chosen/onram: bulkhead,watchdog: IPA 0x60000000+0x2000 "
                                 "overlaps RAM"));
    assert_true(capture_contains("/chosen/onuart: bulkhead,watchdog: IPA 0x9000000+0x2000 "
                                 "overlaps a device of the VM at 0x9000000+0x1000"));
    assert_true(capture_contains("/chosen/unaligned: bulkhead,watchdog: IPA 0x20000800 is not "
                                 "page-aligned"));
    assert_true(capture_contains("/chosen/badpolicy: bulkhead,on-watchdog is not"));
    assert_true(capture_contains("/chosen/badcells: bulkhead,watchdog is empty or the frames' "
                                 "IPA in 2 cells"));
}

static void test_guest_tree(void **state)
{
    (void)state;
    static uint8_t guest[65536];
    unsigned n = load();
    const struct vm_config *dflt = vm_named(n, "dflt");
    struct vm_layout layout;

    assert_int_equal(layout_vm(&board, dflt, 0x60000000, NULL, 0, &layout), 0);
    assert_int_equal(guest_fdt_build(guest, sizeof(guest), &board, dflt, &layout, fdt), 0);
    int node = fdt_path_offset(guest, "/watchdog@80000000");
    assert_true(node >= 0);
    assert_int_equal(fdt_node_check_compatible(guest, node, "arm,sbsa-gwdt"), 0);
    int len = 0;
    const fdt32_t *reg = fdt_getprop(guest, node, "reg", &len);
    assert_int_equal(len, 32);
    assert_int_equal(fdt32_to_cpu(reg[1]), 0x80000000); /* control */
    assert_int_equal(fdt32_to_cpu(reg[5]), 0x80001000); /* refresh */
    const fdt32_t *irq = fdt_getprop(guest, node, "interrupts", &len);
    assert_int_equal(len, 12);
    assert_int_equal(fdt32_to_cpu(irq[1]), WATCHDOG_SPI_TOP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_registers),
        cmocka_unit_test(test_device),
        cmocka_unit_test(test_device_needs_clock),
        cmocka_unit_test_teardown(test_binding, teardown),
        cmocka_unit_test_teardown(test_guest_tree, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
