/* The SMMUv3's encodings against the specification's field layouts (Arm IHI 0070: STE, level-1
 * descriptor, commands, event records, ID registers, queue indexes); the driver
 * (drivers/smmuv3.c) over a register file in memory that a thread answers as the SMMU would
 * (CR0ACK, IRQ_CTRLACK, the command queue consumed); and a PCIe bridge behind QEMU 10 virt's SMMU
 * read from its tree: the SMMU found, the bridge's windows, INTx SPIs and stream IDs given to a
 * VM, and the bridge in the VM's device tree without IOMMU or MSI. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "arch/sysreg.h"
#include "bulkhead/config.h"
#include "bulkhead/gic.h"
#include "bulkhead/guest_fdt.h"
#include "bulkhead/layout.h"
#include "bulkhead/passthrough.h"
#include "bulkhead/pcie.h"
#include "bulkhead/smmuv3.h"
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

/* ---- the driver over a register file in memory ---- */

/* The GIC calls of the SMMU's interrupts: recorded. */
static unsigned spis_enabled[4], nr_spis_enabled;

void gic_spi_configure(unsigned intid, bool edge)
{
    (void)intid;
    assert_true(edge); /* the SMMU's interrupts are edges (QEMU pulses them) */
}

void gic_enable_spi(unsigned intid, unsigned pcpu)
{
    assert_int_equal(pcpu, 0);
    spis_enabled[nr_spis_enabled++ % 4] = intid;
}

static uint32_t regs[SMMU_MMIO_SIZE / 4] __attribute__((aligned(4096)));
static uint64_t consumed[64][SMMU_CMD_DWORDS]; /* the commands the fake SMMU took, in order */
static unsigned nr_consumed;
static volatile bool running;
static pthread_t smmu_thread;

static uint32_t reg(unsigned off)
{
    return __atomic_load_n(&regs[off / 4], __ATOMIC_ACQUIRE);
}

static uint64_t reg64(unsigned off)
{
    return reg(off) | (uint64_t)reg(off + 4) << 32;
}

static void set_reg(unsigned off, uint32_t v)
{
    __atomic_store_n(&regs[off / 4], v, __ATOMIC_RELEASE);
}

/* The SMMU: acknowledges CR0 and IRQ_CTRL, and consumes every command the driver produces. */
static void *fake_smmu(void *arg)
{
    (void)arg;
    while (running) {
        set_reg(SMMU_CR0ACK, reg(SMMU_CR0));
        set_reg(SMMU_IRQ_CTRLACK, reg(SMMU_IRQ_CTRL));
        uint64_t base = reg64(SMMU_CMDQ_BASE);
        unsigned log2 = (unsigned)(base & 31);
        const uint64_t *q = (const uint64_t *)(uintptr_t)(base & 0x000fffffffffffe0ULL);
        uint32_t cons = reg(SMMU_CMDQ_CONS), prod = reg(SMMU_CMDQ_PROD);
        if ((reg(SMMU_CR0) & SMMU_CR0_CMDQEN) && !smmu_q_empty(prod, cons, log2)) {
            const uint64_t *c = &q[smmu_q_slot(cons, log2) * SMMU_CMD_DWORDS];
            if (nr_consumed < ARRAY_SIZE(consumed)) {
                consumed[nr_consumed][0] = c[0];
                consumed[nr_consumed][1] = c[1];
            }
            __atomic_fetch_add(&nr_consumed, 1, __ATOMIC_RELEASE);
            set_reg(SMMU_CMDQ_CONS, smmu_q_inc(cons, log2));
        }
    }
    return NULL;
}

/* QEMU 10's: stage 2, 2-level table, coherent, 16-bit stream IDs, 44-bit output, 4 KiB. */
static const struct board_smmu board_smmu = {
    .event_spi = 74, .gerror_spi = 77, .path = "/smmuv3@9050000"};

/* The driver's polls yield: the fake SMMU's thread gets the CPU even on a loaded host, where
 * it could otherwise miss the driver's whole bounded wait. */
static void let_the_smmu_run(void)
{
    sched_yield();
}

static int driver_setup(void **state)
{
    (void)state;
    fake_sysreg.on_yield = let_the_smmu_run;
    memset(regs, 0, sizeof(regs));
    set_reg(SMMU_IDR0, 1u | (1u << 4) | (2u << 21) | (1u << 27));
    set_reg(SMMU_IDR1, 16u | (19u << 16) | (19u << 21));
    set_reg(SMMU_IDR5, 4u | (1u << 4));
    nr_consumed = nr_spis_enabled = 0;
    running = true;
    assert_int_equal(pthread_create(&smmu_thread, NULL, fake_smmu, NULL), 0);
    capture_reset();
    return 0;
}

static int driver_teardown(void **state)
{
    (void)state;
    running = false;
    pthread_join(smmu_thread, NULL);
    return 0;
}

static bool init(void)
{
    struct board_smmu b = board_smmu;

    b.regs = (struct mem_range){(uint64_t)(uintptr_t)regs, SMMU_MMIO_SIZE};
    return smmu_init(&b);
}

static unsigned opcode(unsigned i)
{
    return (unsigned)(consumed[i][0] & 0xff);
}

static void test_driver_init(void **state)
{
    (void)state;
    assert_true(init());
    assert_true(smmu_active());
    assert_int_equal(reg(SMMU_CR0), SMMU_CR0_SMMUEN | SMMU_CR0_EVENTQEN | SMMU_CR0_CMDQEN);
    assert_int_equal(reg(SMMU_STRTAB_BASE_CFG), (1u << 16) | (8u << 6) | 16u);
    assert_int_equal(reg(SMMU_CR2), SMMU_CR2_RECINVSID);
    assert_int_equal(reg(SMMU_IRQ_CTRL), SMMU_IRQ_CTRL_GERROR | SMMU_IRQ_CTRL_EVENTQ);
    /* Queues: read- and write-allocate, 256 commands, 128 events. */
    assert_int_equal(reg64(SMMU_CMDQ_BASE) & 31, 8);
    assert_int_equal(reg64(SMMU_EVENTQ_BASE) & 31, 7);
    assert_true(reg64(SMMU_STRTAB_BASE) & SMMU_Q_BASE_ALLOC);
    /* Every stream aborts: no level-2 table anywhere. */
    const uint64_t *l1 = (const uint64_t *)(uintptr_t)(reg64(SMMU_STRTAB_BASE) & 0xffffffffffc0ULL);
    for (unsigned i = 0; i < 256; i++) {
        assert_int_equal(l1[i], 0);
    }
    /* The caches forgotten, then a sync. */
    assert_int_equal(nr_consumed, 4);
    assert_int_equal(opcode(0), SMMU_CMD_CFGI_ALL);
    assert_int_equal(opcode(1), SMMU_CMD_TLBI_EL2_ALL);
    assert_int_equal(opcode(2), SMMU_CMD_TLBI_NSNH_ALL);
    assert_int_equal(opcode(3), SMMU_CMD_SYNC);
    assert_int_equal(nr_spis_enabled, 2);
    assert_int_equal(spis_enabled[0], 74 + 32);
    assert_int_equal(spis_enabled[1], 77 + 32);
    assert_true(smmu_owns_irq(106));
    assert_true(smmu_owns_irq(109));
    assert_false(smmu_owns_irq(107));
    assert_true(capture_contains("SMMU /smmuv3@9050000: 16 stream ID bits (2-level"));
}

static void test_driver_no_stage2(void **state)
{
    (void)state;
    set_reg(SMMU_IDR0, reg(SMMU_IDR0) & ~1u);
    assert_false(init());
    assert_false(smmu_active());
    assert_true(capture_contains("SMMU: not used: it has no stage 2"));
    assert_int_equal(reg(SMMU_CR0), 0);
    assert_false(smmu_owns_irq(106));
}

static unsigned faults_a, faults_b;

static void fault(void *ctx)
{
    (*(unsigned *)ctx)++;
}

static const struct smmu_owner owner_a = {
    .name = "a",
    .s2 = {.vmid = 1, .ttb = 0x41000000, .ipa_bits = 40, .start_level = 1, .ps_code = 2},
    .dma_fault = fault,
    .ctx = &faults_a};
static const struct smmu_owner owner_b = {
    .name = "b",
    .s2 = {.vmid = 2, .ttb = 0x42000000, .ipa_bits = 40, .start_level = 1, .ps_code = 2},
    .dma_fault = fault,
    .ctx = &faults_b};

static const uint64_t *ste(uint32_t sid)
{
    const uint64_t *l1 = (const uint64_t *)(uintptr_t)(reg64(SMMU_STRTAB_BASE) & 0xffffffffffc0ULL);
    uint64_t desc = l1[sid >> 8];

    assert_int_equal(desc & 31, 9); /* Span: 256 STEs */
    return (const uint64_t *)(uintptr_t)(desc & 0xffffffffffc0ULL) + (sid & 255) * 8;
}

static void test_driver_bind(void **state)
{
    (void)state;
    assert_true(init());
    nr_consumed = 0;
    /* A bridge's 65536 streams: every span whole, all on one shared table. */
    assert_int_equal(smmu_bind(0, 0x10000, &owner_a), 0);
    assert_ptr_equal(ste(0), ste(0x100));
    assert_int_equal(ste(0x1234)[0], 0xd);          /* V, Config stage 2 */
    assert_int_equal(ste(0xffff)[2] & 0xffff, 1);   /* VMID */
    assert_int_equal(ste(8)[3], 0x41000000);        /* the VM's stage-2 root */
    assert_int_equal(opcode(0), SMMU_CMD_CFGI_ALL); /* then the SMMU forgets old STEs */
    assert_int_equal(opcode(nr_consumed - 1), SMMU_CMD_SYNC);
    assert_true(capture_contains("a: SMMU: streams 0x0-0xffff translate through its stage 2"));
    /* Streams of a span another VM has whole are refused. */
    assert_int_equal(smmu_bind(0x10, 2, &owner_b), -1);
    assert_true(capture_contains("b: SMMU: streams 0x10-0x11 already belong to a"));
}

static void test_driver_partial_spans(void **state)
{
    (void)state;
    assert_true(init());
    /* Two owners in one span: a table of its own, the rest of it aborting. */
    assert_int_equal(smmu_bind(0x300, 8, &owner_a), 0);
    assert_int_equal(smmu_bind(0x308, 8, &owner_b), 0);
    assert_int_equal(ste(0x307)[2] & 0xffff, 1);
    assert_int_equal(ste(0x308)[2] & 0xffff, 2);
    assert_int_equal(ste(0x310)[0], 1); /* V, Config abort */
    /* Beyond the table's 2^16 streams. */
    assert_int_equal(smmu_bind(0xffff0, 0x20, &owner_a), -1);
}

static void test_driver_invalidate(void **state)
{
    (void)state;
    assert_true(init());
    nr_consumed = 0;
    smmu_invalidate_s2(3, 0x40123000, 4096);
    assert_int_equal(nr_consumed, 2);
    assert_int_equal(opcode(0), SMMU_CMD_TLBI_S2_IPA);
    assert_int_equal((consumed[0][0] >> 32) & 0xffff, 3);
    assert_int_equal(consumed[0][1], 0x40123000);
    assert_int_equal(opcode(1), SMMU_CMD_SYNC);
    smmu_invalidate_s2(3, 0x40200000, 0x200000);
    assert_int_equal(nr_consumed, 4);
    assert_int_equal(opcode(2), SMMU_CMD_TLBI_S12_VMALL);
    assert_int_equal(opcode(3), SMMU_CMD_SYNC);
}

static void put_event(unsigned slot, uint8_t type, uint32_t sid, bool read, uint64_t addr)
{
    uint64_t *q = (uint64_t *)(uintptr_t)(reg64(SMMU_EVENTQ_BASE) & 0x000fffffffffffe0ULL);

    q[slot * 4] = type | (uint64_t)sid << 32;
    q[slot * 4 + 1] = (read ? 1ULL << 35 : 0) | 1ULL << 39;
    q[slot * 4 + 2] = addr;
    q[slot * 4 + 3] = addr;
}

static void test_driver_events(void **state)
{
    (void)state;
    assert_true(init());
    assert_int_equal(smmu_bind(0, 0x100, &owner_a), 0);
    assert_int_equal(smmu_bind(0x100, 0x100, &owner_b), 0);
    faults_a = faults_b = 0;
    capture_reset();
    /* One transfer of owner a (three accesses), one read of b's, one stream nobody owns. */
    put_event(0, SMMU_EVT_TRANSLATION, 8, false, 0xbc200000);
    put_event(1, SMMU_EVT_TRANSLATION, 8, false, 0xbc200004);
    put_event(2, SMMU_EVT_TRANSLATION, 8, false, 0xbc200008);
    put_event(3, SMMU_EVT_PERMISSION, 0x108, true, 0x1000);
    put_event(4, SMMU_EVT_BAD_STREAMID, 0x2000, false, 0);
    set_reg(SMMU_EVENTQ_PROD, 5);
    smmu_irq();
    assert_int_equal(reg(SMMU_EVENTQ_CONS), 5);
    assert_true(
        capture_contains("bulkhead: a: DMA blocked by the SMMU: stream 0x8 wrote to address "
                         "0xbc200000 (address not mapped; 3 accesses up to 0xbc200008)\n"));
    assert_true(capture_contains("bulkhead: b: DMA blocked by the SMMU: stream 0x108 read from "
                                 "address 0x1000 (permission fault)\n"));
    assert_true(capture_contains("bulkhead: no VM: DMA blocked by the SMMU: stream 0x2000 (stream "
                                 "owned by no VM)\n"));
    assert_int_equal(faults_a, 1);
    assert_int_equal(faults_b, 1);
    /* A full queue QEMU reports as an event-queue abort: said, acknowledged. */
    set_reg(SMMU_GERROR, SMMU_GERROR_EVTQ_ABT);
    capture_reset();
    smmu_irq();
    assert_true(capture_contains("SMMU: global error 0x4 (an event could not be queued"));
    assert_int_equal(reg(SMMU_GERRORN), SMMU_GERROR_EVTQ_ABT);
}

static void test_driver_rate_limit(void **state)
{
    (void)state;
    assert_true(init());
    assert_int_equal(smmu_bind(0, 0x100, &owner_a), 0);
    capture_reset();
    fake_sysreg.cntfrq_el0 = 100;
    fake_sysreg.cntpct_el0 = 5000;
    /* 40 transfers (each a separate line) in one second: 32 said, the rest counted. */
    uint32_t prod = 0;
    for (unsigned i = 0; i < 40; i++) {
        put_event(smmu_q_slot(prod, 7), SMMU_EVT_TRANSLATION, 8, false, 0x10000000 + i * 0x1000);
        prod = smmu_q_inc(prod, 7);
    }
    set_reg(SMMU_EVENTQ_PROD, prod);
    smmu_irq();
    assert_int_equal(capture_count("DMA blocked"), 32);
    fake_sysreg.cntpct_el0 += 1000; /* 10 s later */
    put_event(smmu_q_slot(prod, 7), SMMU_EVT_TRANSLATION, 8, true, 0x20000000);
    set_reg(SMMU_EVENTQ_PROD, smmu_q_inc(prod, 7));
    capture_reset();
    smmu_irq();
    assert_true(capture_contains("bulkhead: a: SMMU: 8 more blocked DMAs not reported\n"));
    assert_true(capture_contains("read from address 0x20000000"));
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
        cmocka_unit_test_setup_teardown(test_driver_init, driver_setup, driver_teardown),
        cmocka_unit_test_setup_teardown(test_driver_no_stage2, driver_setup, driver_teardown),
        cmocka_unit_test_setup_teardown(test_driver_bind, driver_setup, driver_teardown),
        cmocka_unit_test_setup_teardown(test_driver_partial_spans, driver_setup, driver_teardown),
        cmocka_unit_test_setup_teardown(test_driver_invalidate, driver_setup, driver_teardown),
        cmocka_unit_test_setup_teardown(test_driver_events, driver_setup, driver_teardown),
        cmocka_unit_test_setup_teardown(test_driver_rate_limit, driver_setup, driver_teardown),
        cmocka_unit_test_setup_teardown(test_board_smmu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bridge_passed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smmu_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bridge_ipa_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bridge_in_guest_tree, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
