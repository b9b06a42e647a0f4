/*
 * Shared memory between VMs: config/shmem.c's reading of both bindings (ours and Xen 4.17's),
 * its checks naming the node, member numbering, doorbell pages and SPIs, placement from the RAM
 * pool; the guest's reserved-memory and doorbell nodes; and the doorbell's registers
 * (vdev/doorbell.c) and hypercalls between two VMs' I/O.
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
#include "bulkhead/hvcall.h"
#include "bulkhead/layout.h"
#include "bulkhead/shmem.h"
#include "bulkhead/vdev.h"
#include "support/capture.h"
#include "support/dtb_file.h"

#define SLACK 8192
#define GUEST_DTB 65536

static struct board board;
static struct vm_config vms[MAX_VMS];
static struct shm_config shm;
static void *fdt;
static const struct module_limits limits = {.hyp = {0x40200000, 0x2fb000},
                                            .dtb = {0x48000000, 0x100000}};

static unsigned load(const char *name)
{
    struct vm_defaults defaults = {0};

    fdt = dtb_load(name, SLACK);
    assert_int_equal(board_parse(fdt, &board), 0);
    unsigned n = vmcfg_parse(fdt, &board, &defaults, &limits, vms);
    capture_reset();
    return shm_parse(fdt, &board, &limits, vms, n, &shm);
}

static int teardown(void **state)
{
    (void)state;
    free(fdt);
    fdt = NULL;
    return 0;
}

static const struct vm_config *vm_named(unsigned n, const char *name)
{
    for (unsigned i = 0; i < n; i++) {
        if (strcmp(vms[i].name, name) == 0) {
            return &vms[i];
        }
    }
    fail_msg("no VM %s", name);
    return NULL;
}

static void test_our_binding(void **state)
{
    (void)state;
    unsigned n = load("shmem-ok");

    assert_int_equal(n, 5);
    assert_int_equal(shm.nr, 3);
    assert_string_equal(shm.regions[0].id, "telemetry");
    assert_int_equal(shm.regions[0].size, 0x100000);
    assert_false(shm.regions[0].fixed);
    assert_int_equal(shm.regions[0].nr_members, 2);
    assert_string_equal(shm.regions[1].id, "fixed");
    assert_true(shm.regions[1].fixed);
    assert_int_equal(shm.regions[1].pa, 0x7e000000);

    const struct vm_config *vm0 = vm_named(n, "vm0"), *vm1 = vm_named(n, "vm1");
    assert_int_equal(vm0->shm.nr, 2);
    assert_int_equal(vm0->shm.maps[0].ipa, 0x70000000);
    assert_int_equal(vm0->shm.maps[0].member, 0);
    assert_int_equal(vm0->shm.maps[0].members, 3);
    assert_false(vm0->shm.maps[0].ro);
    assert_int_equal(vm0->shm.maps[0].doorbell_ipa, 0x70100000);
    /* From SPI 95 down, each of the VM's doorbells its own. */
    assert_int_equal(vm0->shm.maps[0].doorbell_spi, SHM_DOORBELL_SPI_TOP);
    assert_int_equal(vm0->shm.maps[1].doorbell_spi, SHM_DOORBELL_SPI_TOP - 1);
    assert_int_equal(vm0->shm.maps[1].ipa, 0x71000000); /* one cell */
    assert_int_equal(vm1->shm.nr, 1);
    assert_true(vm1->shm.maps[0].ro);
    assert_int_equal(vm1->shm.maps[0].member, 1);
    assert_int_equal(vm1->shm.maps[0].doorbell_spi, SHM_DOORBELL_SPI_TOP);
    assert_string_equal(capture_text(), "");
}

static void test_xen_binding(void **state)
{
    (void)state;
    unsigned n = load("shmem-ok");
    const struct vm_config *d1 = vm_named(n, "domU1"), *d2 = vm_named(n, "domU2");

    assert_string_equal(shm.regions[2].id, "xenshm");
    assert_true(shm.regions[2].fixed);
    assert_true(shm.regions[2].has_owner);
    assert_int_equal(shm.regions[2].pa, 0x7f000000);
    assert_int_equal(shm.regions[2].size, 0x10000);
    /* Xen's cells: 1/1 in domU1, the 2/2 default in domU2. */
    assert_int_equal(d1->shm.maps[0].ipa, 0x60000000);
    assert_int_equal(d2->shm.maps[0].ipa, 0x70000000);
    assert_int_equal(d1->shm.maps[0].member, 0);
    assert_int_equal(d2->shm.maps[0].member, 1);
    assert_int_equal(d2->shm.maps[0].members, 3);
}

static void test_place(void **state)
{
    (void)state;
    unsigned n = load("shmem-ok");
    struct mem_range taken[1 + MAX_SHM_REGIONS] = {limits.hyp};
    struct ram_pool pool;

    unsigned nr = 1 + shm_fixed_ranges(&shm, taken + 1, MAX_SHM_REGIONS);
    assert_int_equal(nr, 3);
    ram_pool_init(&pool, &board, taken, nr);
    shm_place(&shm, &pool, vms, n);
    const struct vm_config *vm0 = vm_named(n, "vm0"), *vm1 = vm_named(n, "vm1");
    /* From the top of the pool (whole 2 MiB blocks), clear of the fixed regions below it. */
    assert_int_equal(vm0->shm.maps[0].pa, 0x7fe00000);
    assert_int_equal(vm1->shm.maps[0].pa, 0x7fe00000);
    assert_int_equal(vm0->shm.maps[1].pa, 0x7e000000);
    for (unsigned i = 0; i < n; i++) {
        assert_true(shm_vm_ready(&shm, &vms[i]));
    }
    /* The VMs' RAM never gets a shared region's bytes. */
    paddr_t pa;
    while (ram_pool_alloc(&pool, MiB(2), &pa) == 0) {
        for (unsigned i = 0; i < shm.nr; i++) {
            assert_false(ranges_overlap(pa, MiB(2), shm.regions[i].pa, shm.regions[i].size));
        }
    }
}

static void test_mistakes(void **state)
{
    (void)state;
    unsigned n = load("shmem-mistakes");
    const char *out = capture_text();

    assert_int_equal(n, 1);
    assert_string_equal(vms[0].name, "xsize1");
    assert_true(capture_contains("/chosen/shm-odd: region \"odd\": size 0x1800"));
    assert_true(capture_contains("/chosen/shm-overhyp: host range 0x40200000+0x1000 overlaps the "
                                 "hypervisor"));
    assert_true(capture_contains("/chosen/shm-outside: host range 0x90000000+0x1000 is not inside "
                                 "one RAM bank"));
    assert_true(capture_contains("/chosen/shm-both: give the region either a size or a reg"));
    assert_true(capture_contains("/chosen/inram/shm@48000000: IPA 0x48000000+0x11000 overlaps the "
                                 "VM's RAM (0x40000000+0x10000000)"));
    assert_true(capture_contains("/chosen/ondevice/shm@8fff000: IPA 0x8ff0000+0x11000 (the region "
                                 "and its doorbell page) overlaps a device of the VM at "
                                 "0x9000000+0x1000"));
    assert_true(capture_contains("/chosen/overlapping/xshm@70008000: IPA 0x70008000+0x2000 "
                                 "overlaps region \"good\" of this VM"));
    assert_true(capture_contains("/chosen/unknown/shm@70000000: no shared-memory region \"odd\""));
    assert_true(capture_contains("/chosen/badaccess/shm@70000000: bulkhead,access must be"));
    assert_true(capture_contains("/chosen/xsize2/xshm: region \"xs\" is 0x4000 bytes here but "
                                 "0x2000 in /chosen/xsize1/xshm"));
    assert_true(capture_contains("/chosen/xcells/xshm: xen,shared-mem must be <paddr gaddr size>"));
    assert_int_equal(capture_count("VM not started"), 7);
    (void)out;
}

/* Xen's role: owner or borrower, and one owner. */
static void test_xen_roles(void **state)
{
    (void)state;
    struct vm_defaults defaults = {0};

    fdt = dtb_load("shmem-ok", SLACK);
    assert_int_equal(fdt_open_into(fdt, fdt, (int)fdt_totalsize(fdt) + SLACK), 0);
    assert_int_equal(board_parse(fdt, &board), 0);
    int node = fdt_path_offset(fdt, "/chosen/domU2/domU2-shared-mem@7f000000");
    assert_true(node >= 0);
    assert_int_equal(fdt_setprop_string(fdt, node, "role", "lender"), 0);
    unsigned n = vmcfg_parse(fdt, &board, &defaults, &limits, vms);
    capture_reset();
    assert_int_equal(shm_parse(fdt, &board, &limits, vms, n, &shm), n - 1);
    assert_true(capture_contains("/chosen/domU2/domU2-shared-mem@7f000000: role must be "
                                 "\"owner\" or \"borrower\""));

    node = fdt_path_offset(fdt, "/chosen/domU2/domU2-shared-mem@7f000000");
    assert_int_equal(fdt_setprop_string(fdt, node, "role", "owner"), 0);
    n = vmcfg_parse(fdt, &board, &defaults, &limits, vms);
    capture_reset();
    assert_int_equal(shm_parse(fdt, &board, &limits, vms, n, &shm), n - 1);
    assert_true(capture_contains("region \"xenshm\" has a second owner"));
}

static void test_guest_tree(void **state)
{
    (void)state;
    static uint8_t guest[GUEST_DTB];
    unsigned n = load("shmem-ok");
    struct vm_layout layout;
    const struct vm_config *vm1 = vm_named(n, "vm1");

    assert_int_equal(layout_vm(&board, vm1, 0x60000000, NULL, 0, &layout), 0);
    assert_int_equal(guest_fdt_build(guest, sizeof(guest), &board, vm1, &layout, fdt), 0);
    int node = fdt_path_offset(guest, "/reserved-memory/shm@60000000");
    assert_true(node >= 0);
    assert_int_equal(fdt_node_check_compatible(guest, node, "xen,shared-memory-v1"), 0);
    assert_int_equal(fdt_node_check_compatible(guest, node, "bulkhead,shared-memory-v1"), 0);
    assert_non_null(fdt_getprop(guest, node, "no-map", NULL));
    assert_string_equal(fdt_getprop(guest, node, "xen,id", NULL), "telemetry");
    assert_string_equal(fdt_getprop(guest, node, "bulkhead,access", NULL), "ro");
    int len = 0;
    const fdt32_t *reg = fdt_getprop(guest, node, "reg", &len);
    assert_int_equal(len, 16);
    assert_int_equal(fdt32_to_cpu(reg[1]), 0x60000000);
    assert_int_equal(fdt32_to_cpu(reg[3]), 0x100000);

    int db = fdt_path_offset(guest, "/doorbell@60100000");
    assert_true(db >= 0);
    assert_int_equal(fdt_node_check_compatible(guest, db, "bulkhead,doorbell"), 0);
    const fdt32_t *irq = fdt_getprop(guest, db, "interrupts", &len);
    assert_int_equal(len, 12);
    assert_int_equal(fdt32_to_cpu(irq[1]), SHM_DOORBELL_SPI_TOP);
    const fdt32_t *member = fdt_getprop(guest, db, "bulkhead,member", &len);
    assert_int_equal(fdt32_to_cpu(*member), 1);
}

/* ---- the doorbell between two VMs ---- */

struct member {
    struct vgic_dist vgic;
    struct vgic_cpu cpu;
    struct vm_io io;
};

static struct member *member_new(const char *name, unsigned member, ipa_t page)
{
    struct member *m = calloc(1, sizeof(*m));
    const struct shm_doorbell_params params = {.channel = 5, .member = member, .members = 3};
    struct vdev_desc desc = {
        .compatible = "bulkhead,doorbell",
        .reg = {{page, SHM_DOORBELL_SIZE}},
        .nr_reg = 1,
        .spis = {SHM_DOORBELL_SPI_TOP},
        .nr_spis = 1,
        .params = &params,
    };

    assert_non_null(m);
    vgic_dist_init(&m->vgic, GIC_V3, 128, 1);
    vgic_cpu_init(&m->vgic, &m->cpu, 0, 4);
    vm_io_init(&m->io, name, 1, &m->vgic, NULL, NULL);
    assert_int_equal(vdev_create(&m->io, &desc), 0);
    return m;
}

static uint32_t rd(struct member *m, ipa_t page, uint64_t reg)
{
    const struct mmio_region *r = mmio_bus_find(&m->io.bus, page + reg);
    uint64_t v = 0xdead;

    assert_non_null(r);
    assert_int_equal(r->ops->read(r->dev, 0, reg, 4, &v), MMIO_OK);
    return (uint32_t)v;
}

static void wr(struct member *m, ipa_t page, uint64_t reg, uint32_t v)
{
    const struct mmio_region *r = mmio_bus_find(&m->io.bus, page + reg);

    assert_non_null(r);
    assert_int_equal(r->ops->write(r->dev, 0, reg, 4, v), MMIO_OK);
}

static bool line(struct member *m)
{
    return vgic_get_irq(&m->vgic, 0, SHM_DOORBELL_SPI_TOP + 32)->line;
}

#define PAGE_A 0x70100000ULL
#define PAGE_B 0x60100000ULL

static void test_doorbell(void **state)
{
    (void)state;
    struct member *a = member_new("vma", 0, PAGE_A), *b = member_new("vmb", 1, PAGE_B);

    assert_int_equal(rd(a, PAGE_A, SHM_DB_ID), 0);
    assert_int_equal(rd(b, PAGE_B, SHM_DB_ID), 1);
    assert_int_equal(rd(a, PAGE_A, SHM_DB_MEMBERS), 3);
    assert_int_equal(rd(a, PAGE_A, SHM_DB_MAGIC), SHM_DB_MAGIC_VALUE);

    /* A rings B: B's line goes up with A's bit pending, until B acknowledges it. */
    wr(a, PAGE_A, SHM_DB_RING, 2);
    assert_true(line(b));
    assert_false(line(a));
    assert_int_equal(rd(b, PAGE_B, SHM_DB_PENDING), 1);
    wr(b, PAGE_B, SHM_DB_PENDING, 1);
    assert_false(line(b));
    assert_int_equal(rd(b, PAGE_B, SHM_DB_PENDING), 0);

    /* A member that is not on the channel: refused whole, counted, nobody rung. */
    wr(a, PAGE_A, SHM_DB_RING, 6);
    assert_false(line(b));
    assert_int_equal(rd(a, PAGE_A, SHM_DB_REFUSED), 1);

    /* The hypercalls. */
    assert_int_equal(doorbell_hvc_ring(&b->io, 0, 1), 0);
    assert_true(line(a));
    assert_int_equal(doorbell_hvc_ring(&b->io, 0, 8), PSCI_RET_DENIED);
    assert_int_equal(doorbell_hvc_ring(&b->io, 1, 1), PSCI_RET_INVALID_PARAMS);
    assert_int_equal(doorbell_hvc_ack(&a->io, 0), 2);
    assert_false(line(a));
    assert_int_equal(doorbell_hvc_ack(&a->io, 0), 0);

    /* A reset of B forgets who rang it and its refusals (its first: it rings nobody). */
    wr(a, PAGE_A, SHM_DB_RING, 3);
    assert_true(line(a) && line(b));
    vgic_reset(&b->vgic);
    vm_io_reset(&b->io);
    assert_int_equal(rd(b, PAGE_B, SHM_DB_PENDING), 0);
    assert_false(line(b));
    assert_true(line(a));

    /* B's first reset started its first life; a restart rings its peers in its name. */
    doorbell_hvc_ack(&a->io, 0);
    vgic_reset(&b->vgic);
    vm_io_reset(&b->io);
    assert_true(line(a));
    assert_int_equal(doorbell_hvc_ack(&a->io, 0), 2);
    assert_false(line(b));
    free(a);
    free(b);
}

/* LIVE: who runs. A halt for a reset changes nothing; a power-off or stop takes the member out
 * and rings its peers in its name. */
static void test_doorbell_live(void **state)
{
    (void)state;
    struct member *a = member_new("vma", 0, PAGE_A), *b = member_new("vmb", 1, PAGE_B);

    assert_int_equal(rd(a, PAGE_A, SHM_DB_LIVE), 0); /* neither started */
    vm_io_reset(&a->io);
    vm_io_reset(&b->io);
    assert_int_equal(rd(a, PAGE_A, SHM_DB_LIVE), 3);
    vm_io_halt(&b->io, false);
    assert_int_equal(rd(a, PAGE_A, SHM_DB_LIVE), 3);
    assert_false(line(a));
    vm_io_halt(&b->io, true);
    assert_int_equal(rd(a, PAGE_A, SHM_DB_LIVE), 1);
    assert_true(line(a));
    assert_int_equal(rd(a, PAGE_A, SHM_DB_PENDING), 2);
    free(a);
    free(b);
}

static uint32_t rd8(struct member *m, ipa_t page, uint64_t reg)
{
    const struct mmio_region *r = mmio_bus_find(&m->io.bus, page + reg);
    uint64_t v = 0xdead;

    assert_non_null(r);
    assert_int_equal(r->ops->read(r->dev, 0, reg, 1, &v), MMIO_OK);
    return (uint32_t)v;
}

/* The page's PL061 face, as Linux's gpio-pl061 drives it: IDs, a rising edge on input line 1
 * when member 1 rings, GPIOIC clearing it, output line 4 ringing member 0. */
static void test_doorbell_pl061(void **state)
{
    (void)state;
    struct member *a = member_new("vma", 0, PAGE_A), *b = member_new("vmb", 1, PAGE_B);

    assert_int_equal(rd8(a, PAGE_A, PL061_ID), 0x61);
    assert_int_equal(rd8(a, PAGE_A, PL061_ID + 0x1c), 0xb1);
    /* The driver's probe writes GPIOIE: from then on the SPI follows GPIOMIS. */
    wr(a, PAGE_A, PL061_IE, 0);
    wr(a, PAGE_A, PL061_IS, 0);
    wr(a, PAGE_A, PL061_IBE, 0);
    wr(a, PAGE_A, PL061_IEV, 2);
    wr(b, PAGE_B, SHM_DB_RING, 1);
    assert_int_equal(rd(a, PAGE_A, PL061_RIS), 2);
    assert_false(line(a));                     /* line 1 not enabled */
    assert_int_equal(rd(a, PAGE_A, 0x3fc), 2); /* GPIODATA, every line: member 1 rang */
    assert_int_equal(rd(a, PAGE_A, 0x4), 0);   /* GPIODATA, line 0 only */
    wr(a, PAGE_A, PL061_IE, 2);
    assert_true(line(a));
    assert_int_equal(rd(a, PAGE_A, PL061_MIS), 2);
    wr(a, PAGE_A, PL061_IC, 2);
    assert_false(line(a));
    assert_int_equal(rd(a, PAGE_A, PL061_RIS), 0);
    assert_int_equal(rd(a, PAGE_A, SHM_DB_PENDING), 0);
    /* A second ring is a second edge. */
    assert_int_equal(doorbell_hvc_ring(&b->io, 0, 1), 0);
    assert_true(line(a));
    wr(a, PAGE_A, PL061_IC, 2);

    /* B rings A through its output line 4 (member 0): a rising edge rings, a fall does not. */
    wr(b, PAGE_B, PL061_DIR, 0x10);
    wr(b, PAGE_B, 0x10 << 2, 0x10);
    assert_int_equal(rd(a, PAGE_A, SHM_DB_PENDING), 2);
    wr(a, PAGE_A, PL061_IC, 2);
    wr(b, PAGE_B, 0x10 << 2, 0);
    assert_int_equal(rd(a, PAGE_A, SHM_DB_PENDING), 0);
    assert_int_equal(rd(b, PAGE_B, 0x10 << 2), 0);
    /* A's first reset starts its first life; the second is a restart: B is rung in A's name. */
    vgic_reset(&a->vgic);
    vm_io_reset(&a->io);
    vgic_reset(&a->vgic);
    vm_io_reset(&a->io);
    assert_int_equal(rd(b, PAGE_B, SHM_DB_PENDING), 1);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_our_binding, teardown),
        cmocka_unit_test_teardown(test_xen_binding, teardown),
        cmocka_unit_test_teardown(test_place, teardown),
        cmocka_unit_test_teardown(test_mistakes, teardown),
        cmocka_unit_test_teardown(test_xen_roles, teardown),
        cmocka_unit_test_teardown(test_guest_tree, teardown),
        cmocka_unit_test(test_doorbell),
        cmocka_unit_test(test_doorbell_live),
        cmocka_unit_test(test_doorbell_pl061),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
