/*
 * vdev/vdev.c, the PL011 device object (vdev/vpl011.c) and the GIC device (vgic/vgic_dev.c) as a
 * VM sees them: created by compatible in a VM's I/O, reached through its MMIO bus, driving its
 * vGIC's lines and its console port, reset by a walk of the device list, and refusing what would
 * make two devices share an address or an interrupt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/console.h"
#include "bulkhead/vdev.h"
#include "support/capture.h"

#define UART_BASE 0x09000000ULL
#define UART_SPI 1
#define UART_INTID (UART_SPI + 32)
#define GICD_BASE 0x08000000ULL
#define GICC_BASE 0x08010000ULL
#define GICV_PA 0x08040000ULL
#define GICR_BASE 0x080a0000ULL

#define DR 0x000
#define FR 0x018
#define CR 0x030
#define IMSC 0x038
#define FR_RXFE (1u << 4)
#define INT_RX (1u << 4)

struct env {
    struct vgic_dist vgic;
    struct vgic_cpu cpus[2];
    struct pt s2;
    struct console_port port;
    struct vm_io io;
    uint64_t *pages[64];
    unsigned npages;
};

/* One console port for the whole binary: the console keeps every port it is given. */
static struct console_port *shared_port;

static void *page_alloc(void *ctx)
{
    struct env *e = ctx;
    void *p = aligned_alloc(4096, 4096);

    assert_non_null(p);
    assert_true(e->npages < 64);
    memset(p, 0, 4096);
    e->pages[e->npages++] = p;
    return p;
}

static struct env *env_new(enum gic_version version)
{
    struct env *e = calloc(1, sizeof(*e));
    struct pt_ops ops = {.alloc_table = page_alloc, .ctx = e};

    assert_non_null(e);
    vgic_dist_init(&e->vgic, version, 128, 2);
    vgic_cpu_init(&e->vgic, &e->cpus[0], 0, 4);
    vgic_cpu_init(&e->vgic, &e->cpus[1], 1, 4);
    pt_init(&e->s2, PT_STAGE2, 32, 1, page_alloc(e), &ops);
    vm_io_init(&e->io, "vmt", 2, &e->vgic, &e->s2, shared_port);
    capture_reset();
    return e;
}

static void env_free(struct env *e)
{
    for (unsigned i = 0; i < e->npages; i++) {
        free(e->pages[i]);
    }
    free(e);
}

static struct vdev_desc uart_desc(uint64_t base, uint32_t spi)
{
    return (struct vdev_desc){
        .compatible = "arm,pl011",
        .reg = {{base, 0x200}},
        .nr_reg = 1,
        .spis = {spi},
        .nr_spis = 1,
    };
}

static uint64_t mmio(struct env *e, uint64_t ipa, bool write, uint64_t val)
{
    struct mmio_access a = {.ipa = ipa, .size = 4, .write = write};

    assert_int_equal(mmio_bus_access(&e->io.bus, 0, &a, &val), MMIO_OK);
    return val;
}

static bool spi_line(struct env *e, unsigned intid)
{
    return vgic_get_irq(&e->vgic, 0, intid)->line;
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

static void test_unknown_compatible_is_refused_by_name(void **state)
{
    struct env *e = env_new(GIC_V3);
    struct vdev_desc d = {.compatible = "acme,widget", .nr_reg = 1};

    (void)state;
    assert_int_equal(vdev_create(&e->io, &d), -1);
    assert_true(capture_contains("vmt: no device model for \"acme,widget\""));
    assert_null(e->io.devices);
    env_free(e);
}

static void test_pl011_is_a_named_device_with_a_4k_frame(void **state)
{
    struct env *e = env_new(GIC_V3);
    struct vdev_desc d = uart_desc(UART_BASE, UART_SPI);

    (void)state;
    assert_int_equal(vdev_create(&e->io, &d), 0);
    assert_non_null(e->io.devices);
    assert_string_equal(e->io.devices->name, "pl011@9000000");
    /* The board's node says 0x200; the PrimeCell ID at the 4 KiB frame's end must answer. */
    const struct mmio_region *r = mmio_bus_find(&e->io.bus, UART_BASE + 0xfe0);
    assert_non_null(r);
    assert_int_equal(r->size, 0x1000);
    assert_int_equal(mmio(e, UART_BASE + 0xfe0, false, 0), 0x11);
    env_free(e);
}

static void test_pl011_output_reaches_its_console_port_as_lines(void **state)
{
    struct env *e = env_new(GIC_V3);
    struct vdev_desc d = uart_desc(UART_BASE, UART_SPI);

    (void)state;
    assert_int_equal(vdev_create(&e->io, &d), 0);
    mmio(e, UART_BASE + DR, true, 'h');
    mmio(e, UART_BASE + DR, true, 'i');
    assert_false(capture_contains("hi")); /* held back to a whole line */
    mmio(e, UART_BASE + DR, true, '\n');
    assert_true(capture_contains("[vmt] hi\n"));
    env_free(e);
}

static void test_pl011_input_raises_its_spi_and_reading_lowers_it(void **state)
{
    struct env *e = env_new(GIC_V3);
    struct vdev_desc d = uart_desc(UART_BASE, UART_SPI);

    (void)state;
    assert_int_equal(vdev_create(&e->io, &d), 0);
    mmio(e, UART_BASE + IMSC, true, INT_RX);
    assert_false(spi_line(e, UART_INTID));
    console_route('x'); /* typed on the board's UART: the only port has the focus */
    assert_true(spi_line(e, UART_INTID));
    assert_int_equal(mmio(e, UART_BASE + FR, false, 0) & FR_RXFE, 0);
    assert_int_equal(mmio(e, UART_BASE + DR, false, 0), 'x');
    assert_false(spi_line(e, UART_INTID));
    env_free(e);
}

static void test_reset_walks_the_devices(void **state)
{
    struct env *e = env_new(GIC_V3);
    struct vdev_desc d = uart_desc(UART_BASE, UART_SPI);

    (void)state;
    assert_int_equal(vdev_create(&e->io, &d), 0);
    mmio(e, UART_BASE + IMSC, true, INT_RX);
    mmio(e, UART_BASE + CR, true, 0);
    console_route('y');
    vm_io_reset(&e->io);
    assert_int_equal(mmio(e, UART_BASE + IMSC, false, 0), 0);
    assert_int_equal(mmio(e, UART_BASE + CR, false, 0), 0x301);
    assert_int_equal(mmio(e, UART_BASE + FR, false, 0) & FR_RXFE, FR_RXFE);
    env_free(e);
}

static void test_two_devices_cannot_share_an_spi(void **state)
{
    struct env *e = env_new(GIC_V3);
    struct vdev_desc a = uart_desc(UART_BASE, UART_SPI);
    struct vdev_desc b = uart_desc(UART_BASE + 0x10000, UART_SPI);

    (void)state;
    assert_int_equal(vdev_create(&e->io, &a), 0);
    assert_int_equal(vdev_create(&e->io, &b), -1);
    assert_true(capture_contains("vmt: pl011@9010000: SPI 1 is taken by another device"));
    assert_null(mmio_bus_find(&e->io.bus, UART_BASE + 0x10000));
    env_free(e);
}

static void test_an_spi_beyond_the_vgic_is_refused(void **state)
{
    struct env *e = env_new(GIC_V3);
    struct vdev_desc d = uart_desc(UART_BASE, 200);

    (void)state;
    assert_int_equal(vdev_create(&e->io, &d), -1);
    assert_true(capture_contains("SPI 200 is beyond the VM's interrupt controller"));
    env_free(e);
}

static void test_two_devices_cannot_overlap(void **state)
{
    struct env *e = env_new(GIC_V3);
    struct vdev_desc a = uart_desc(UART_BASE, 1);
    struct vdev_desc b = uart_desc(UART_BASE + 0x800, 2);

    (void)state;
    assert_int_equal(vdev_create(&e->io, &a), 0);
    assert_int_equal(vdev_create(&e->io, &b), -1);
    assert_true(capture_contains("pl011@9000800: cannot map [0x9000800, 0x9001800)"));
    env_free(e);
}

static void test_gicv3_frames_cover_one_redistributor_per_vcpu(void **state)
{
    struct env *e = env_new(GIC_V3);
    struct vdev_desc d = {
        .compatible = "arm,gic-v3",
        .reg = {{GICD_BASE, 0x10000}, {GICR_BASE, 0xf60000}},
        .nr_reg = 2,
    };

    (void)state;
    assert_int_equal(vdev_create(&e->io, &d), 0);
    assert_non_null(mmio_bus_find(&e->io.bus, GICD_BASE + 0xffff));
    assert_non_null(mmio_bus_find(&e->io.bus, GICR_BASE + 2 * GICV3_REDIST_SIZE - 1));
    assert_null(mmio_bus_find(&e->io.bus, GICR_BASE + 2 * GICV3_REDIST_SIZE));
    /* GICR_TYPER of the second vCPU's frame: its index, and Last. */
    struct mmio_access a = {.ipa = GICR_BASE + GICV3_REDIST_SIZE + 8, .size = 8};
    uint64_t v = 0;
    assert_int_equal(mmio_bus_access(&e->io.bus, 0, &a, &v), MMIO_OK);
    assert_int_equal(v >> 32, 1);
    assert_true(v & (1u << 4));
    env_free(e);
}

/* The distributor's first words through the device (whose shadow answers 32-bit reads of
 * TYPER, IIDR and TYPER2) read as the emulation reads them, at every width and offset, on both
 * versions; CTLR, not shadowed, follows the guest's writes. */
static void test_gicd_id_words_read_as_the_emulation(void **state)
{
    static const enum gic_version versions[] = {GIC_V2, GIC_V3};
    (void)state;

    for (unsigned v = 0; v < ARRAY_SIZE(versions); v++) {
        struct env *e = env_new(versions[v]);
        struct vdev_desc d = {
            .compatible = versions[v] == GIC_V3 ? "arm,gic-v3" : "arm,cortex-a15-gic",
            .reg = {{GICD_BASE, 0x10000}, {versions[v] == GIC_V3 ? GICR_BASE : GICC_BASE, 0x10000}},
            .nr_reg = 2,
            .host = {{GICV_PA, 0x10000}},
            .nr_host = 1,
        };
        bool (*emulation)(struct vgic_dist *, unsigned, uint64_t, unsigned, uint64_t *) =
            versions[v] == GIC_V3 ? vgic_v3_dist_read : vgic_v2_dist_read;

        assert_int_equal(vdev_create(&e->io, &d), 0);
        for (uint64_t off = 0; off < 0x14; off++) {
            for (unsigned size = 1; size <= 8; size *= 2) {
                struct mmio_access a = {.ipa = GICD_BASE + off, .size = (uint8_t)size};
                uint64_t got = 0xdead, want = 0xbeef;
                assert_int_equal(mmio_bus_access(&e->io.bus, 1, &a, &got), MMIO_OK);
                assert_true(emulation(&e->vgic, 1, off, size, &want));
                assert_int_equal(got, want);
            }
        }
        struct mmio_access iidr = {.ipa = GICD_BASE + 8, .size = 4};
        uint64_t val = 0;
        assert_int_equal(mmio_bus_access(&e->io.bus, 0, &iidr, &val), MMIO_OK);
        assert_int_equal(val, 0x43b);
        struct mmio_access ctlr = {.ipa = GICD_BASE, .size = 4, .write = true};
        val = 2;
        assert_int_equal(mmio_bus_access(&e->io.bus, 0, &ctlr, &val), MMIO_OK);
        ctlr.write = false;
        assert_int_equal(mmio_bus_access(&e->io.bus, 0, &ctlr, &val), MMIO_OK);
        assert_int_equal(val & 3, 2);
        env_free(e);
    }
}

static void test_gicv2_maps_the_hardware_cpu_interface_at_gicc(void **state)
{
    struct env *e = env_new(GIC_V2);
    struct vdev_desc d = {
        .compatible = "arm,cortex-a15-gic",
        .reg = {{GICD_BASE, 0x10000}, {GICC_BASE, 0x10000}},
        .nr_reg = 2,
        .host = {{GICV_PA, 0x10000}},
        .nr_host = 1,
    };
    uint64_t pa = 0;

    (void)state;
    assert_int_equal(vdev_create(&e->io, &d), 0);
    assert_non_null(mmio_bus_find(&e->io.bus, GICD_BASE));
    assert_null(mmio_bus_find(&e->io.bus, GICD_BASE + 0x1000));
    assert_true(pt_lookup(&e->s2, GICC_BASE + 0x1000, &pa, NULL, NULL));
    assert_int_equal(pa, GICV_PA + 0x1000);
    assert_false(pt_lookup(&e->s2, GICC_BASE + 0x2000, NULL, NULL, NULL));
    env_free(e);
}

static void test_gicv2_without_a_virtual_interface_is_refused(void **state)
{
    struct env *e = env_new(GIC_V2);
    struct vdev_desc d = {
        .compatible = "arm,cortex-a15-gic",
        .reg = {{GICD_BASE, 0x10000}, {GICC_BASE, 0x10000}},
        .nr_reg = 2,
    };

    (void)state;
    assert_int_equal(vdev_create(&e->io, &d), -1);
    assert_true(capture_contains("the board's GIC has no virtual CPU interface"));
    env_free(e);
}

/* ---- a passed-through device ---- */

static struct {
    unsigned claimed, started, stopped, last;
    bool edge;
} hw_irqs;

static int claim_irq(void *ctx, unsigned intid, bool edge)
{
    (void)ctx;
    hw_irqs.claimed++;
    hw_irqs.last = intid;
    hw_irqs.edge = edge;
    return 0;
}

static void start_irq(void *ctx, unsigned intid)
{
    (void)ctx;
    hw_irqs.started++;
    hw_irqs.last = intid;
}

static void stop_irq(void *ctx, unsigned intid)
{
    (void)ctx;
    hw_irqs.stopped++;
    hw_irqs.last = intid;
}

static const struct vdev_phys_irq_ops held_irqs = {claim_irq, start_irq, stop_irq, true};

static void test_passthrough_maps_device_memory_and_links_its_spi(void **state)
{
    struct env *e = env_new(GIC_V2);
    struct vdev_desc d = {
        .compatible = "bulkhead,passthrough",
        .reg = {{0x20000000, 0x1000}},
        .nr_reg = 1,
        .host = {{0x09040000, 0x1000}},
        .nr_host = 1,
        .spis = {8},
        .spi_edge = {true},
        .nr_spis = 1,
    };
    uint64_t pa = 0;
    enum pt_mem mem = PT_MEM_NORMAL;

    (void)state;
    memset(&hw_irqs, 0, sizeof(hw_irqs));
    e->io.phys_irqs = &held_irqs;
    assert_int_equal(vdev_create(&e->io, &d), 0);
    /* Straight to the device: no MMIO handler, a Device mapping. */
    assert_null(mmio_bus_find(&e->io.bus, 0x20000000));
    unsigned prot = 0;
    assert_true(pt_lookup(&e->s2, 0x20000010, &pa, &prot, &mem));
    assert_int_equal(pa, 0x09040010);
    assert_int_equal(mem, PT_MEM_DEVICE);
    assert_int_equal(prot, PT_R | PT_W); /* never executable */
    assert_int_equal(hw_irqs.claimed, 1);
    assert_int_equal(hw_irqs.last, 40);
    assert_true(hw_irqs.edge);

    /* A (re)start links the SPI to the physical one and enables it; a stop silences it. */
    vgic_reset(&e->vgic);
    vm_io_reset(&e->io);
    assert_true(vgic_get_irq(&e->vgic, 0, 40)->held);
    assert_int_equal(vgic_get_irq(&e->vgic, 0, 40)->pintid, 40);
    assert_int_equal(hw_irqs.started, 1);
    vm_io_halt(&e->io, true);
    assert_int_equal(hw_irqs.stopped, 1);
    env_free(e);
}

static void test_passthrough_spi_taken_by_an_emulated_device_is_refused(void **state)
{
    struct env *e = env_new(GIC_V3);
    struct vdev_desc uart = {
        .compatible = "arm,pl011",
        .reg = {{UART_BASE, 0x1000}},
        .nr_reg = 1,
        .spis = {UART_SPI},
        .nr_spis = 1,
    };
    struct vdev_desc d = {
        .compatible = "bulkhead,passthrough",
        .reg = {{0x09040000, 0x1000}},
        .nr_reg = 1,
        .host = {{0x09040000, 0x1000}},
        .nr_host = 1,
        .spis = {UART_SPI},
        .nr_spis = 1,
    };

    (void)state;
    memset(&hw_irqs, 0, sizeof(hw_irqs));
    e->io.phys_irqs = &held_irqs;
    assert_int_equal(vdev_create(&e->io, &uart), 0);
    assert_int_equal(vdev_create(&e->io, &d), -1);
    assert_true(capture_contains("SPI 1 is taken by another device"));
    assert_int_equal(hw_irqs.claimed, 0);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_compatible_is_refused_by_name),
        cmocka_unit_test(test_pl011_is_a_named_device_with_a_4k_frame),
        cmocka_unit_test(test_pl011_output_reaches_its_console_port_as_lines),
        cmocka_unit_test(test_pl011_input_raises_its_spi_and_reading_lowers_it),
        cmocka_unit_test(test_reset_walks_the_devices),
        cmocka_unit_test(test_two_devices_cannot_share_an_spi),
        cmocka_unit_test(test_an_spi_beyond_the_vgic_is_refused),
        cmocka_unit_test(test_two_devices_cannot_overlap),
        cmocka_unit_test(test_gicv3_frames_cover_one_redistributor_per_vcpu),
        cmocka_unit_test(test_gicd_id_words_read_as_the_emulation),
        cmocka_unit_test(test_gicv2_maps_the_hardware_cpu_interface_at_gicc),
        cmocka_unit_test(test_gicv2_without_a_virtual_interface_is_refused),
        cmocka_unit_test(test_passthrough_maps_device_memory_and_links_its_spi),
        cmocka_unit_test(test_passthrough_spi_taken_by_an_emulated_device_is_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
