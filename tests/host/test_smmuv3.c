/* The SMMUv3's encodings against the specification's field layouts (Arm IHI 0070: STE, level-1
 * descriptor, commands, event records, ID registers, queue indexes), and a PCIe bridge behind
 * QEMU 10 virt's SMMU read from its tree: the SMMU found, the bridge's windows, INTx SPIs and
 * stream IDs given to a VM, and the bridge in the VM's device tree without IOMMU or MSI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "bulkhead/config.h"
#include "bulkhead/guest_fdt.h"
#include "bulkhead/layout.h"
#include "bulkhead/passthrough.h"
#include "bulkhead/pcie.h"
#include "bulkhead/smmuv3_enc.h"
#include "support/capture.h"
#include "support/dtb_file.h"

#define SLACK 8192

/* ---- encodings ---- */

/* Bits hi..lo of a little-endian structure of 64-bit words, numbered as the spec does. */
static uint64_t field(const uint64_t *words, unsigned hi, unsigned lo)
{
    uint64_t w = words[lo / 64] >> (lo % 64);
    unsigned width = hi - lo + 1;

    return width == 64 ? w : w & ((1ULL << width) - 1);
}

static void test_ste_stage2(void **state)
{
    uint64_t ste[SMMU_STE_DWORDS];
    const struct smmu_s2 s2 = {
        .vmid = 7, .ttb = 0x4123f000, .ipa_bits = 40, .start_level = 1, .ps_code = 2};

    (void)state;
    smmu_ste_s2(ste, &s2);
    assert_int_equal(field(ste, 0, 0), 1);      /* V */
    assert_int_equal(field(ste, 3, 1), 6);      /* Config: stage 2 translate, stage 1 bypass */
    assert_int_equal(field(ste, 109, 108), 1);  /* SHCFG: incoming */
    assert_int_equal(field(ste, 143, 128), 7);  /* S2VMID */
    assert_int_equal(field(ste, 165, 160), 24); /* S2T0SZ = 64 - 40 */
    assert_int_equal(field(ste, 167, 166), 1);  /* S2SL0: start at level 1 */
    assert_int_equal(field(ste, 169, 168), 1);  /* S2IR0: write-back */
    assert_int_equal(field(ste, 171, 170), 1);  /* S2OR0 */
    assert_int_equal(field(ste, 173, 172), 3);  /* S2SH0: inner shareable */
    assert_int_equal(field(ste, 175, 174), 0);  /* S2TG: 4 KiB */
    assert_int_equal(field(ste, 178, 176), 2);  /* S2PS: 40 bits */
    assert_int_equal(field(ste, 179, 179), 1);  /* S2AA64 */
    assert_int_equal(field(ste, 180, 180), 0);  /* S2ENDI: little-endian */
    assert_int_equal(field(ste, 181, 181), 1);  /* S2AFFD */
    assert_int_equal(field(ste, 182, 182), 1);  /* S2PTW */
    assert_int_equal(field(ste, 186, 186), 1);  /* S2R: faults recorded */
    assert_int_equal(field(ste, 251, 196), 0x4123f000 >> 4); /* S2TTB[55:4] */
    assert_int_equal(ste[4] | ste[5] | ste[6] | ste[7], 0);
}

static void test_ste_abort_and_l1(void **state)
{
    uint64_t ste[SMMU_STE_DWORDS];

    (void)state;
    memset(ste, 0xff, sizeof(ste));
    smmu_ste_abort(ste);
    assert_int_equal(ste[0], 1); /* V, Config 0: abort */
    for (unsigned i = 1; i < SMMU_STE_DWORDS; i++) {
        assert_int_equal(ste[i], 0);
    }
    /* Span 9: 2^8 STEs; L2Ptr 51:6. */
    uint64_t d = smmu_l1_desc(0x40a04000, 8);
    assert_int_equal(field(&d, 4, 0), 9);
    assert_int_equal(field(&d, 51, 6), 0x40a04000 >> 6);
}

static void test_commands(void **state)
{
    uint64_t c[SMMU_CMD_DWORDS];

    (void)state;
    smmu_cmd_cfgi_ste(c, 0x1234);
    assert_int_equal(field(c, 7, 0), 0x03);
    assert_int_equal(field(c, 63, 32), 0x1234);
    assert_int_equal(field(c, 64, 64), 1); /* Leaf */
    smmu_cmd_cfgi_all(c);
    assert_int_equal(field(c, 7, 0), 0x04);
    assert_int_equal(field(c, 68, 64), 31); /* Range: all */
    smmu_cmd_tlbi_s12_vmall(c, 5);
    assert_int_equal(field(c, 7, 0), 0x28);
    assert_int_equal(field(c, 47, 32), 5);
    assert_int_equal(c[1], 0);
    smmu_cmd_tlbi_s2_ipa(c, 3, 0x80201234);
    assert_int_equal(field(c, 7, 0), 0x2a);
    assert_int_equal(field(c, 47, 32), 3);
    assert_int_equal(field(c, 64, 64), 0);                 /* Leaf 0: walk caches too */
    assert_int_equal(field(c, 115, 76), 0x80201234 >> 12); /* Address[51:12] */
    smmu_cmd_sync(c);
    assert_int_equal(field(c, 7, 0), 0x46);
    assert_int_equal(field(c, 13, 12), 0); /* CS: none, CONS is polled */
    assert_int_equal(field(c, 23, 22), 3); /* MSH: inner shareable */
    smmu_cmd_tlbi_nsnh_all(c);
    assert_int_equal(c[0], 0x30);
    smmu_cmd_tlbi_el2_all(c);
    assert_int_equal(c[0], 0x20);
}

static void test_event_decode(void **state)
{
    /* F_TRANSLATION from stream 8, a write, stage 2, InputAddr 0xbc200000. */
    const uint64_t ev[SMMU_EVENT_DWORDS] = {0x0000000800000010ULL, (1ULL << 39), 0xbc200000,
                                            0xbc200000};
    const uint64_t rd[SMMU_EVENT_DWORDS] = {0x0000ffff00000010ULL, (1ULL << 35), 0x1000, 0};
    struct smmu_event e;

    (void)state;
    smmu_decode_event(ev, &e);
    assert_int_equal(e.type, SMMU_EVT_TRANSLATION);
    assert_int_equal(e.sid, 8);
    assert_false(e.read);
    assert_true(e.stage2);
    assert_int_equal(e.addr, 0xbc200000);
    smmu_decode_event(rd, &e);
    assert_int_equal(e.sid, 0xffff);
    assert_true(e.read);
    assert_string_equal(smmu_event_name(SMMU_EVT_TRANSLATION), "address not mapped");
    assert_string_equal(smmu_event_name(SMMU_EVT_BAD_STREAMID), "stream owned by no VM");
    assert_null(smmu_event_name(0x7f));
}

static void test_idr_and_strtab(void **state)
{
    struct smmu_caps caps;
    unsigned entries;
    bool two;

    (void)state;
    /* QEMU 10 with stage=2: S2P, ST_LEVEL 2-level, TTENDIAN mixed, VMID16; SIDSIZE 16, EVENTQS
     * 19, CMDQS 19; OAS 44 bits, GRAN4K. */
    uint32_t idr0 = 1u | (1u << 27) | (2u << 21) | (1u << 18) | (1u << 4);
    uint32_t idr1 = 16u | (19u << 16) | (19u << 21);
    smmu_decode_idr(idr0, idr1, 4u | (1u << 4), &caps);
    assert_true(caps.s2);
    assert_true(caps.two_level);
    assert_true(caps.vmid16);
    assert_false(caps.big_endian);
    assert_int_equal(caps.sid_bits, 16);
    assert_int_equal(caps.eventq_log2, 19);
    assert_int_equal(caps.cmdq_log2, 19);
    assert_int_equal(caps.oas_code, 4);
    assert_true(caps.gran4k);
    uint32_t cfg = smmu_strtab_cfg(&caps, &entries, &two);
    assert_true(two);
    assert_int_equal(entries, 256);
    assert_int_equal(BITS(cfg, 17, 16), 1); /* FMT: 2-level */
    assert_int_equal(BITS(cfg, 10, 6), 8);  /* SPLIT */
    assert_int_equal(BITS(cfg, 5, 0), 16);  /* LOG2SIZE */
    caps.two_level = false;
    caps.sid_bits = 6;
    cfg = smmu_strtab_cfg(&caps, &entries, &two);
    assert_false(two);
    assert_int_equal(entries, 64);
    assert_int_equal(cfg, 6);
    assert_int_equal(smmu_ps_code(32), 0);
    assert_int_equal(smmu_ps_code(33), 1);
    assert_int_equal(smmu_ps_code(40), 2);
    assert_int_equal(smmu_ps_code(48), 5);
}

static void test_queue_indexes(void **state)
{
    (void)state;
    /* 4 entries (log2 2): index in bits 1:0, wrap bit 2; other bits (OVFLG) kept. */
    assert_int_equal(smmu_q_inc(3, 2), 4);
    assert_int_equal(smmu_q_inc(7, 2), 0);
    assert_int_equal(smmu_q_inc(0x80000003u, 2), 0x80000004u);
    assert_int_equal(smmu_q_slot(6, 2), 2);
    assert_true(smmu_q_empty(5, 5, 2));
    assert_false(smmu_q_empty(5, 1, 2));
    assert_true(smmu_q_full(4, 0, 2));
    assert_true(smmu_q_full(1, 5, 2));
    assert_false(smmu_q_full(3, 0, 2));
    assert_int_equal(smmu_q_base(0x40a01000, 8), 0x40a01008);
}

/* ---- QEMU's tree: the SMMU and the bridge behind it ---- */

static struct board board;
static struct vm_config vm;
static void *fdt;

static int setup(void **state)
{
    (void)state;
    fdt = dtb_load("qemu-virt-smmu", SLACK);
    assert_int_equal(fdt_open_into(fdt, fdt, (int)fdt_totalsize(fdt) + SLACK), 0);
    assert_int_equal(board_parse(fdt, &board), 0);
    memset(&vm, 0, sizeof(vm));
    strcpy(vm.name, "vm0");
    strcpy(vm.node, "/chosen/vm0");
    vm.nr_vcpus = 1;
    capture_reset();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(fdt);
    return 0;
}

static int vm_with(const char *path)
{
    int node = fdt_add_subnode(fdt, fdt_path_offset(fdt, "/chosen"), "vm0");

    assert_true(node >= 0);
    assert_int_equal(fdt_setprop_string(fdt, node, "compatible", "bulkhead,vm"), 0);
    assert_int_equal(fdt_setprop_string(fdt, node, "bulkhead,passthrough", path), 0);
    return fdt_path_offset(fdt, "/chosen/vm0");
}

static void test_board_smmu(void **state)
{
    (void)state;
    assert_int_equal(board.smmu.regs.base, 0x9050000);
    assert_int_equal(board.smmu.regs.size, 0x20000);
    assert_int_equal(board.smmu.phandle, 0x8004);
    assert_int_equal(board.smmu.event_spi, 74);
    assert_int_equal(board.smmu.gerror_spi, 77);
    assert_string_equal(board.smmu.path, "/smmuv3@9050000");
    /* The bridge's 64-bit window ends at 1 TiB: stage 2 must reach it. */
    assert_int_equal(board.smmu.fronted_top, 0xffffffffffULL);
}

static void test_bridge_passed(void **state)
{
    (void)state;
    assert_true(pt_parse(fdt, vm_with("/pcie@10000000"), &board, &vm));
    const struct pt_device *dev = &vm.pt.devs[0];
    assert_int_equal(vm.pt.nr_devs, 1);
    assert_true(dev->dma);
    assert_int_equal(dev->sid_base, 0);
    assert_int_equal(dev->nr_sids, 0x10000);
    /* ECAM, then the I/O, 32-bit and 64-bit windows, at their host addresses. */
    assert_int_equal(vm.pt.nr_ranges, 4);
    assert_int_equal(vm.pt.ranges[0].pa, 0x4010000000ULL);
    assert_int_equal(vm.pt.ranges[0].size, 0x10000000);
    assert_int_equal(vm.pt.ranges[1].pa, 0x3eff0000);
    assert_int_equal(vm.pt.ranges[1].size, 0x10000);
    assert_int_equal(vm.pt.ranges[2].pa, 0x10000000);
    assert_int_equal(vm.pt.ranges[2].size, 0x2eff0000);
    assert_int_equal(vm.pt.ranges[3].pa, 0x8000000000ULL);
    assert_int_equal(vm.pt.ranges[3].ipa, 0x8000000000ULL);
    /* INTx: SPIs 3-6, level, each once although interrupt-map names them 4 times. */
    assert_int_equal(vm.pt.nr_irqs, 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(vm.pt.irqs[i].intid, 32 + 3 + i);
        assert_false(vm.pt.irqs[i].edge);
    }
    /* Behind the SMMU: no warning that its DMA misses the VM's RAM. */
    pt_warn_dma(&vm);
    assert_false(capture_contains("DMA"));
}

static void test_smmu_refused(void **state)
{
    (void)state;
    assert_false(pt_parse(fdt, vm_with("/smmuv3@9050000"), &board, &vm));
    assert_true(capture_contains("error: /chosen/vm0: /smmuv3@9050000: reg 0x9050000+0x20000 is "
                                 "the hypervisor's SMMU (/smmuv3@9050000)"));
}

static void test_bridge_ipa_refused(void **state)
{
    uint64_t ipa = cpu_to_fdt64(0x20000000);
    int node = vm_with("/pcie@10000000");

    (void)state;
    assert_int_equal(fdt_setprop(fdt, node, "bulkhead,passthrough-ipa", &ipa, 8), 0);
    node = fdt_path_offset(fdt, "/chosen/vm0");
    assert_false(pt_parse(fdt, node, &board, &vm));
    assert_true(capture_contains("/pcie@10000000: a PCIe bridge stays at its host addresses"));
}

static void test_bridge_in_guest_tree(void **state)
{
    static uint8_t guest[65536];
    int len;

    (void)state;
    assert_true(pt_parse(fdt, vm_with("/pcie@10000000"), &board, &vm));
    struct vm_layout layout = {.ram_ipa = 0x40000000,
                               .ram_size = 0x10000000,
                               .kernel_ipa = 0x40200000,
                               .dtb_ipa = 0x4fe00000};
    assert_int_equal(guest_fdt_build(guest, sizeof(guest), &board, &vm, &layout, fdt), 0);
    int node = fdt_path_offset(guest, "/pcie@10000000");
    assert_true(node >= 0);
    assert_null(fdt_getprop(guest, node, "iommu-map", NULL));
    assert_null(fdt_getprop(guest, node, "msi-map", NULL));
    assert_non_null(fdt_getprop(guest, node, "ranges", NULL));
    /* 16 entries of <3 address cells, pin, the guest GIC (no address cells), 3 cells>. */
    const fdt32_t *map = fdt_getprop(guest, node, "interrupt-map", &len);
    assert_non_null(map);
    assert_int_equal(len, 16 * 8 * 4);
    assert_int_equal(fdt32_to_cpu(map[3]), 1);     /* pin INTA of slot 0 */
    assert_int_equal(fdt32_to_cpu(map[4]), 65000); /* the guest's GIC */
    assert_int_equal(fdt32_to_cpu(map[5]), 0);     /* SPI */
    assert_int_equal(fdt32_to_cpu(map[6]), 3);
    assert_int_equal(fdt32_to_cpu(map[7]), 4); /* level */
    assert_int_equal(fdt32_to_cpu(map[8]), 0);
    assert_int_equal(fdt32_to_cpu(map[11]), 2); /* the next entry: INTB */
    const fdt32_t *reg = fdt_getprop(guest, node, "reg", &len);
    assert_int_equal(len, 16);
    assert_int_equal(fdt32_to_cpu(reg[0]), 0x40);
    assert_int_equal(fdt32_to_cpu(reg[1]), 0x10000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ste_stage2),
        cmocka_unit_test(test_ste_abort_and_l1),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_event_decode),
        cmocka_unit_test(test_idr_and_strtab),
        cmocka_unit_test(test_queue_indexes),
        cmocka_unit_test_setup_teardown(test_board_smmu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bridge_passed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smmu_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bridge_ipa_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bridge_in_guest_tree, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
