/*
 * vgic/vgic_mmio*.c: the GICv2 distributor and the GICv3 distributor and redistributors, register
 * by register, against the architecture's register descriptions:
 *   GICv2: IHI0048B chapter 4 ("Programmers' Model"), 4.3 Distributor register descriptions;
 *   GICv3: IHI0069 chapter 12 (GICD_*, GICR_*) and ICC_SGI1R_EL1.
 * Our GICv3 guests run with affinity routing and a single Security state (GICD_CTLR.ARE and .DS
 * RAO/WI), so the GICD registers of INTIDs 0-31 are RAZ/WI and the GICR SGI frame holds them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/vgic.h"

/* Distributor offsets (both versions unless noted). */
#define GICD_CTLR 0x000
#define GICD_TYPER 0x004
#define GICD_IIDR 0x008
#define GICD_IGROUPR 0x080
#define GICD_ISENABLER 0x100
#define GICD_ICENABLER 0x180
#define GICD_ISPENDR 0x200
#define GICD_ICPENDR 0x280
#define GICD_ISACTIVER 0x300
#define GICD_ICACTIVER 0x380
#define GICD_IPRIORITYR 0x400
#define GICD_ITARGETSR 0x800
#define GICD_ICFGR 0xc00
#define GICD_SGIR 0xf00      /* v2 */
#define GICD_CPENDSGIR 0xf10 /* v2 */
#define GICD_SPENDSGIR 0xf20 /* v2 */
#define GICD_IROUTER 0x6000  /* v3 */
#define GICV2_PIDR2 0xfe8
#define GICV3_PIDR2 0xffe8

/* Redistributor: RD_base frame, then SGI_base frame at +64 KiB. */
#define GICR_CTLR 0x0000
#define GICR_IIDR 0x0004
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_PIDR2 0xffe8
#define SGI_BASE 0x10000
#define GICR_IGROUPR0 (SGI_BASE + 0x080)
#define GICR_ISENABLER0 (SGI_BASE + 0x100)
#define GICR_ICENABLER0 (SGI_BASE + 0x180)
#define GICR_ISPENDR0 (SGI_BASE + 0x200)
#define GICR_ICPENDR0 (SGI_BASE + 0x280)
#define GICR_ISACTIVER0 (SGI_BASE + 0x300)
#define GICR_ICACTIVER0 (SGI_BASE + 0x380)
#define GICR_IPRIORITYR (SGI_BASE + 0x400)
#define GICR_ICFGR0 (SGI_BASE + 0xc00)
#define GICR_ICFGR1 (SGI_BASE + 0xc04)

#define CTLR_ENABLE_GRP0 0x1u
#define CTLR_ENABLE_GRP1 0x2u
#define CTLR_ARE 0x10u
#define CTLR_DS 0x40u
#define WAKER_PROCESSOR_SLEEP 0x2u
#define WAKER_CHILDREN_ASLEEP 0x4u
#define IROUTER_IRM (1ull << 31)
#define ALL_EDGE 0xaaaaaaaau /* Int_config[1] set in every 2-bit field */

/* ---- Fixture ---- */

static struct vgic_dist dist;
static struct vgic_cpu cpus[MAX_VCPUS];
static unsigned kicks[MAX_VCPUS];
static unsigned kicks_total;

static void record_kick(void *ctx, unsigned cpu)
{
    (void)ctx;
    assert_true(cpu < MAX_VCPUS);
    kicks[cpu]++;
    kicks_total++;
}

static void kicks_reset(void)
{
    memset(kicks, 0, sizeof(kicks));
    kicks_total = 0;
}

static void init(enum gic_version version, unsigned nr_irqs, unsigned nr_vcpus)
{
    vgic_dist_init(&dist, version, nr_irqs, nr_vcpus);
    for (unsigned i = 0; i < nr_vcpus; i++) {
        vgic_cpu_init(&dist, &cpus[i], i, 4);
    }
    dist.kick = record_kick;
    dist.kick_ctx = NULL;
    kicks_reset();
}

/* A GICv2 VM with 96 interrupts (SPIs 32-95) and 4 vCPUs. */
static void init_v2(void)
{
    init(GIC_V2, 96, 4);
}

/* A GICv3 VM with 128 interrupts (SPIs 32-127) and 3 vCPUs. */
static void init_v3(void)
{
    init(GIC_V3, 128, 3);
}

static uint64_t rd2(unsigned cpu, uint64_t offset, unsigned size)
{
    uint64_t val = 0xdeadbeefdeadbeefull;

    assert_true(vgic_v2_dist_read(&dist, cpu, offset, size, &val));
    return val;
}

static void wr2(unsigned cpu, uint64_t offset, unsigned size, uint64_t val)
{
    assert_true(vgic_v2_dist_write(&dist, cpu, offset, size, val));
}

static uint64_t rd3(unsigned cpu, uint64_t offset, unsigned size)
{
    uint64_t val = 0xdeadbeefdeadbeefull;

    assert_true(vgic_v3_dist_read(&dist, cpu, offset, size, &val));
    return val;
}

static void wr3(unsigned cpu, uint64_t offset, unsigned size, uint64_t val)
{
    assert_true(vgic_v3_dist_write(&dist, cpu, offset, size, val));
}

static uint64_t rdr(unsigned target, uint64_t offset, unsigned size)
{
    uint64_t val = 0xdeadbeefdeadbeefull;

    assert_true(vgic_v3_redist_read(&dist, target, offset, size, &val));
    return val;
}

static void wrr(unsigned target, uint64_t offset, unsigned size, uint64_t val)
{
    assert_true(vgic_v3_redist_write(&dist, target, offset, size, val));
}

static struct virq *irq_of(unsigned cpu, unsigned intid)
{
    struct virq *irq = vgic_get_irq(&dist, cpu, intid);

    assert_non_null(irq);
    return irq;
}

/* Register offset and bit of INTID n in a 1-bit-per-interrupt bank. */
#define REG1(base, n) ((base) + 4 * ((n) / 32))
#define BIT1(n) (1u << ((n) % 32))

/* ======================= GICv2 distributor ======================= */

static void test_v2_ctlr_holds_the_two_group_enables_only(void **state)
{
    (void)state;
    init_v2();
    assert_int_equal(rd2(0, GICD_CTLR, 4), 0);
    wr2(0, GICD_CTLR, 4, CTLR_ENABLE_GRP0);
    assert_int_equal(rd2(0, GICD_CTLR, 4), CTLR_ENABLE_GRP0);
    assert_true(dist.enable_grp0);
    assert_false(dist.enable_grp1);
    wr2(0, GICD_CTLR, 4, CTLR_ENABLE_GRP1);
    assert_int_equal(rd2(1, GICD_CTLR, 4), CTLR_ENABLE_GRP1);
    wr2(0, GICD_CTLR, 4, 0xffffffffu);
    assert_int_equal(rd2(0, GICD_CTLR, 4), CTLR_ENABLE_GRP0 | CTLR_ENABLE_GRP1);
    wr2(0, GICD_CTLR, 4, 0);
    assert_int_equal(rd2(0, GICD_CTLR, 4), 0);
    assert_false(dist.enable_grp0);
    assert_false(dist.enable_grp1);
}

static void test_v2_typer_reports_it_lines_and_cpu_number(void **state)
{
    (void)state;
    init_v2();
    uint64_t typer = rd2(0, GICD_TYPER, 4);
    assert_int_equal(typer & 0x1f, 96 / 32 - 1); /* ITLinesNumber: 32(N+1) interrupts */
    assert_int_equal((typer >> 5) & 7, 4 - 1);   /* CPUNumber */
    assert_false(typer & (1u << 10));            /* SecurityExtn */
    assert_int_equal(typer >> 16, 0);

    init(GIC_V2, 256, 8);
    typer = rd2(0, GICD_TYPER, 4);
    assert_int_equal(typer & 0x1f, 7);
    assert_int_equal((typer >> 5) & 7, 7);

    init(GIC_V2, 40, 1); /* at least one full register of SPIs */
    typer = rd2(0, GICD_TYPER, 4);
    assert_int_equal(typer & 0x1f, 1);
    assert_int_equal((typer >> 5) & 7, 0);
}

static void test_v2_iidr_names_arm_and_pidr2_archrev_is_2(void **state)
{
    (void)state;
    init_v2();
    assert_int_equal(rd2(0, GICD_IIDR, 4) & 0xfff, 0x43b);
    assert_int_equal((rd2(0, GICV2_PIDR2, 4) >> 4) & 0xf, 2);
    /* Read-only: writes are ignored. */
    wr2(0, GICD_TYPER, 4, 0);
    wr2(0, GICD_IIDR, 4, 0);
    assert_int_equal(rd2(0, GICD_TYPER, 4) & 0x1f, 2);
    assert_int_equal(rd2(0, GICD_IIDR, 4) & 0xfff, 0x43b);
}

static void test_v2_isenabler_icenabler_write_one_to_set_and_clear(void **state)
{
    (void)state;
    init_v2();
    wr2(0, REG1(GICD_ISENABLER, 40), 4, BIT1(40));
    assert_int_equal(rd2(0, REG1(GICD_ISENABLER, 40), 4), BIT1(40));
    wr2(0, REG1(GICD_ISENABLER, 41), 4, BIT1(41));
    /* Writing a 0 bit leaves the other enable alone. */
    assert_int_equal(rd2(0, REG1(GICD_ISENABLER, 40), 4), BIT1(40) | BIT1(41));
    assert_int_equal(rd2(0, REG1(GICD_ICENABLER, 40), 4), BIT1(40) | BIT1(41));
    assert_true(irq_of(0, 40)->enabled);

    wr2(0, REG1(GICD_ICENABLER, 40), 4, BIT1(40));
    assert_int_equal(rd2(0, REG1(GICD_ISENABLER, 40), 4), BIT1(41));
    assert_false(irq_of(0, 40)->enabled);
}

static void test_v2_writing_zero_to_set_and_clear_registers_has_no_effect(void **state)
{
    static const uint32_t set_regs[] = {GICD_ISENABLER, GICD_ISPENDR, GICD_ISACTIVER};
    static const uint32_t clr_regs[] = {GICD_ICENABLER, GICD_ICPENDR, GICD_ICACTIVER};

    (void)state;
    init_v2();
    for (unsigned r = 0; r < 3; r++) {
        wr2(0, set_regs[r] + 4, 4, 0xffffffffu);
        assert_int_equal(rd2(0, set_regs[r] + 4, 4), 0xffffffffu);
        wr2(0, set_regs[r] + 4, 4, 0);
        wr2(0, clr_regs[r] + 4, 4, 0);
        assert_int_equal(rd2(0, set_regs[r] + 4, 4), 0xffffffffu);
        wr2(0, clr_regs[r] + 4, 4, 0xffffffffu);
        assert_int_equal(rd2(0, set_regs[r] + 4, 4), 0);
        wr2(0, set_regs[r] + 4, 4, 0);
        assert_int_equal(rd2(0, set_regs[r] + 4, 4), 0);
    }
}

static void test_v2_sgi_enable_bits_are_rao_wi(void **state)
{
    (void)state;
    init_v2();
    assert_int_equal(rd2(0, GICD_ISENABLER, 4), 0x0000ffffu);
    wr2(0, GICD_ICENABLER, 4, 0xffffffffu);
    assert_int_equal(rd2(0, GICD_ISENABLER, 4), 0x0000ffffu);
    assert_int_equal(rd2(0, GICD_ICENABLER, 4), 0x0000ffffu);
    /* PPIs are ordinary, and banked per CPU. */
    wr2(1, GICD_ISENABLER, 4, 0xffff0000u);
    assert_int_equal(rd2(1, GICD_ISENABLER, 4), 0xffffffffu);
    assert_int_equal(rd2(0, GICD_ISENABLER, 4), 0x0000ffffu);
    wr2(1, GICD_ICENABLER, 4, 0xffffffffu);
    assert_int_equal(rd2(1, GICD_ISENABLER, 4), 0x0000ffffu);
}

static void test_v2_ispendr_icpendr_set_and_clear_pending(void **state)
{
    (void)state;
    init_v2();
    wr2(0, REG1(GICD_ISPENDR, 70), 4, BIT1(70));
    assert_int_equal(rd2(0, REG1(GICD_ISPENDR, 70), 4), BIT1(70));
    assert_int_equal(rd2(3, REG1(GICD_ICPENDR, 70), 4), BIT1(70)); /* SPIs are not banked */
    assert_true(virq_pending(irq_of(0, 70)));
    wr2(0, REG1(GICD_ICPENDR, 70), 4, BIT1(70));
    assert_int_equal(rd2(0, REG1(GICD_ISPENDR, 70), 4), 0);
    assert_false(virq_pending(irq_of(0, 70)));

    /* PPI pending state is banked. */
    wr2(2, GICD_ISPENDR, 4, BIT1(25));
    assert_int_equal(rd2(2, GICD_ISPENDR, 4), BIT1(25));
    assert_int_equal(rd2(1, GICD_ISPENDR, 4), 0);
}

static void test_v2_icpendr_does_not_clear_an_asserted_level_line(void **state)
{
    (void)state;
    init_v2();
    wr2(0, GICD_ICFGR + 8, 4, 0); /* SPIs 32-47 level-sensitive */
    assert_true(irq_of(0, 40)->level);
    vgic_set_line(&dist, 0, 40, true);
    assert_int_equal(rd2(0, REG1(GICD_ISPENDR, 40), 4), BIT1(40));
    /* IHI0048B 4.3.8: for a level-sensitive interrupt whose line is asserted, the pending
     * state cannot be removed by GICD_ICPENDR. */
    wr2(0, REG1(GICD_ICPENDR, 40), 4, BIT1(40));
    assert_int_equal(rd2(0, REG1(GICD_ISPENDR, 40), 4), BIT1(40));
    vgic_set_line(&dist, 0, 40, false);
    assert_int_equal(rd2(0, REG1(GICD_ISPENDR, 40), 4), 0);

    /* Set pending by software with the line low: pending until cleared by software. */
    wr2(0, REG1(GICD_ISPENDR, 41), 4, BIT1(41));
    vgic_set_line(&dist, 0, 41, true);
    vgic_set_line(&dist, 0, 41, false);
    assert_int_equal(rd2(0, REG1(GICD_ISPENDR, 41), 4), BIT1(41));
    wr2(0, REG1(GICD_ICPENDR, 41), 4, BIT1(41));
    assert_int_equal(rd2(0, REG1(GICD_ISPENDR, 41), 4), 0);
}

static void test_v2_ispendr_sgi_bits_ignore_writes(void **state)
{
    (void)state;
    init_v2();
    /* IHI0048B 4.3.7 (and IHI0069 GICD_ISPENDR<n>): set-pending bits for SGIs are read-only and
     * ignore writes; GICD_SPENDSGIRn is how software makes an SGI pending. */
    wr2(0, GICD_ISPENDR, 4, 0x0000ffffu);
    assert_int_equal(rd2(0, GICD_ISPENDR, 4), 0);
    assert_false(virq_pending(irq_of(0, 6)));
}

static void test_v2_icpendr_sgi_bits_ignore_writes(void **state)
{
    (void)state;
    init_v2();
    wr2(1, GICD_SGIR, 4, (1u << 16) | 5); /* vCPU 1 sends SGI 5 to vCPU 0 */
    assert_int_equal(rd2(0, GICD_ISPENDR, 4), BIT1(5));
    /* IHI0048B 4.3.8: clear-pending bits for SGIs are RO/WI (use GICD_CPENDSGIRn). */
    wr2(0, GICD_ICPENDR, 4, BIT1(5));
    assert_int_equal(rd2(0, GICD_ISPENDR, 4), BIT1(5));
    assert_int_equal(rd2(0, GICD_SPENDSGIR + 5, 1), 1u << 1);
}

static void test_v2_isactiver_icactiver_set_and_clear_active(void **state)
{
    (void)state;
    init_v2();
    wr2(0, REG1(GICD_ISACTIVER, 50), 4, BIT1(50));
    assert_int_equal(rd2(0, REG1(GICD_ISACTIVER, 50), 4), BIT1(50));
    assert_int_equal(rd2(0, REG1(GICD_ICACTIVER, 50), 4), BIT1(50));
    assert_true(irq_of(0, 50)->active);
    wr2(0, REG1(GICD_ISACTIVER, 51), 4, BIT1(51));
    assert_int_equal(rd2(0, REG1(GICD_ISACTIVER, 50), 4), BIT1(50) | BIT1(51));
    wr2(0, REG1(GICD_ICACTIVER, 50), 4, BIT1(50));
    assert_int_equal(rd2(0, REG1(GICD_ISACTIVER, 50), 4), BIT1(51));
    assert_false(irq_of(0, 50)->active);

    /* PPI active state is banked. */
    wr2(3, GICD_ISACTIVER, 4, BIT1(30));
    assert_int_equal(rd2(3, GICD_ISACTIVER, 4), BIT1(30));
    assert_int_equal(rd2(0, GICD_ISACTIVER, 4), 0);
}

static void test_v2_igroupr_is_a_plain_read_write_register(void **state)
{
    (void)state;
    init_v2();
    wr2(0, GICD_IGROUPR + 4, 4, 0x00ff00ffu);
    assert_int_equal(rd2(0, GICD_IGROUPR + 4, 4), 0x00ff00ffu);
    assert_true(irq_of(0, 32)->group1);
    assert_false(irq_of(0, 40)->group1);
    /* Unlike set/clear registers, a 0 here does clear the bit. */
    wr2(0, GICD_IGROUPR + 4, 4, 0x000000f0u);
    assert_int_equal(rd2(0, GICD_IGROUPR + 4, 4), 0x000000f0u);
    assert_false(irq_of(0, 32)->group1);
}

static void test_v2_ipriorityr_byte_access_keeps_five_high_bits(void **state)
{
    (void)state;
    init_v2();
    /* Software finds the implemented priority bits by writing 0xff and reading back. */
    wr2(0, GICD_IPRIORITYR + 40, 1, 0xff);
    assert_int_equal(rd2(0, GICD_IPRIORITYR + 40, 1), 0xf8);
    assert_int_equal(irq_of(0, 40)->priority, 0xf8);
    wr2(0, GICD_IPRIORITYR + 41, 1, 0x47);
    assert_int_equal(rd2(0, GICD_IPRIORITYR + 41, 1), 0x40);
    wr2(0, GICD_IPRIORITYR + 42, 1, 0x07);
    assert_int_equal(rd2(0, GICD_IPRIORITYR + 42, 1), 0x00);
    /* The word view shows the same bytes, INTID 40 in the low byte. */
    assert_int_equal(rd2(0, GICD_IPRIORITYR + 40, 4), 0x000040f8u);
}

static void test_v2_ipriorityr_word_access_sets_four_priorities(void **state)
{
    (void)state;
    init_v2();
    wr2(0, GICD_IPRIORITYR + 44, 4, 0x12345678u);
    assert_int_equal(rd2(0, GICD_IPRIORITYR + 44, 4), 0x10305078u);
    assert_int_equal(irq_of(0, 44)->priority, 0x78);
    assert_int_equal(irq_of(0, 45)->priority, 0x50);
    assert_int_equal(irq_of(0, 46)->priority, 0x30);
    assert_int_equal(irq_of(0, 47)->priority, 0x10);
    assert_int_equal(rd2(0, GICD_IPRIORITYR + 46, 1), 0x30);
    wr2(0, GICD_IPRIORITYR + 44, 4, 0xffffffffu);
    assert_int_equal(rd2(0, GICD_IPRIORITYR + 44, 4), 0xf8f8f8f8u);
}

static void test_v2_ipriorityr_of_sgis_and_ppis_is_banked(void **state)
{
    (void)state;
    init_v2();
    wr2(0, GICD_IPRIORITYR + 5, 1, 0x80);
    wr2(1, GICD_IPRIORITYR + 20, 4, 0xa0a0a0a0u);
    assert_int_equal(rd2(0, GICD_IPRIORITYR + 5, 1), 0x80);
    assert_int_equal(rd2(1, GICD_IPRIORITYR + 5, 1), 0);
    assert_int_equal(rd2(1, GICD_IPRIORITYR + 20, 4), 0xa0a0a0a0u);
    assert_int_equal(rd2(0, GICD_IPRIORITYR + 20, 4), 0);
}

static void test_v2_itargetsr_spi_byte_access_masked_to_existing_vcpus(void **state)
{
    (void)state;
    init_v2();
    wr2(0, GICD_ITARGETSR + 40, 1, 0x02);
    assert_int_equal(rd2(0, GICD_ITARGETSR + 40, 1), 0x02);
    assert_int_equal(rd2(3, GICD_ITARGETSR + 40, 4), 0x00000002u);
    assert_int_equal(vgic_spi_target(&dist, irq_of(0, 40)), 1);
    /* Only 4 CPU interfaces: bits 4-7 are RAZ/WI. */
    wr2(0, GICD_ITARGETSR + 41, 1, 0xf4);
    assert_int_equal(rd2(0, GICD_ITARGETSR + 41, 1), 0x04);
    wr2(0, GICD_ITARGETSR + 42, 1, 0xf0);
    assert_int_equal(rd2(0, GICD_ITARGETSR + 42, 1), 0x00);
    assert_int_equal(vgic_spi_target(&dist, irq_of(0, 42)), -1);
}

static void test_v2_itargetsr_spi_word_access(void **state)
{
    (void)state;
    init_v2();
    wr2(0, GICD_ITARGETSR + 44, 4, 0x01020408u);
    assert_int_equal(rd2(0, GICD_ITARGETSR + 44, 4), 0x01020408u);
    assert_int_equal(rd2(0, GICD_ITARGETSR + 45, 1), 0x04);
    assert_int_equal(vgic_spi_target(&dist, irq_of(0, 44)), 3);
    assert_int_equal(vgic_spi_target(&dist, irq_of(0, 47)), 0);
    wr2(0, GICD_ITARGETSR + 44, 4, 0xffffffffu);
    assert_int_equal(rd2(0, GICD_ITARGETSR + 44, 4), 0x0f0f0f0fu);
}

static void test_v2_itargetsr_of_private_interrupts_is_read_only_accessing_cpu(void **state)
{
    (void)state;
    init_v2();
    /* IHI0048B 4.3.12: ITARGETSR0-7 are read-only and each field returns the reading CPU. */
    for (unsigned cpu = 0; cpu < 4; cpu++) {
        uint32_t mask = 1u << cpu;
        for (unsigned reg = 0; reg < 8; reg++) {
            assert_int_equal(rd2(cpu, GICD_ITARGETSR + 4 * reg, 4), mask * 0x01010101u);
        }
        assert_int_equal(rd2(cpu, GICD_ITARGETSR + 27, 1), mask);
    }
    wr2(1, GICD_ITARGETSR + 28, 1, 0xff);
    wr2(1, GICD_ITARGETSR + 16, 4, 0x0f0f0f0fu);
    assert_int_equal(rd2(1, GICD_ITARGETSR + 28, 1), 0x02);
    assert_int_equal(rd2(1, GICD_ITARGETSR + 16, 4), 0x02020202u);
}

static void test_v2_icfgr_sgis_read_only_edge(void **state)
{
    (void)state;
    init_v2();
    assert_int_equal(rd2(0, GICD_ICFGR, 4), ALL_EDGE);
    wr2(0, GICD_ICFGR, 4, 0);
    assert_int_equal(rd2(0, GICD_ICFGR, 4), ALL_EDGE);
    assert_false(irq_of(0, 3)->level);
}

static void test_v2_icfgr_ppis_and_spis_are_programmable(void **state)
{
    (void)state;
    init_v2();
    wr2(2, GICD_ICFGR + 4, 4, ALL_EDGE); /* PPIs of vCPU 2 */
    assert_int_equal(rd2(2, GICD_ICFGR + 4, 4), ALL_EDGE);
    assert_false(irq_of(2, 27)->level);
    assert_true(irq_of(1, 27)->level); /* banked: vCPU 1 kept its own */
    wr2(2, GICD_ICFGR + 4, 4, 0);
    assert_int_equal(rd2(2, GICD_ICFGR + 4, 4), 0);
    assert_true(irq_of(2, 27)->level);

    /* SPIs 48-63: one level (field 0 = 0b00), one edge (0b10); Int_config[0] reads 0. */
    wr2(0, GICD_ICFGR + 12, 4, 0xfffffff0u);
    assert_int_equal(rd2(0, GICD_ICFGR + 12, 4), 0xaaaaaaa0u);
    assert_true(irq_of(0, 48)->level);
    assert_true(irq_of(0, 49)->level);
    assert_false(irq_of(0, 50)->level);
}

/* SGI n pending on vCPU cpu from source src, read through cpu's banked GICD_SPENDSGIRn. */
static bool sgi_pending_from(unsigned cpu, unsigned sgi, unsigned src)
{
    return rd2(cpu, GICD_SPENDSGIR + sgi, 1) & (1u << src);
}

static void test_v2_sgir_target_list_filter_0_uses_the_list(void **state)
{
    (void)state;
    init_v2();
    wr2(0, GICD_SGIR, 4, (0u << 24) | (0x06u << 16) | 3);
    assert_false(sgi_pending_from(0, 3, 0));
    assert_true(sgi_pending_from(1, 3, 0));
    assert_true(sgi_pending_from(2, 3, 0));
    assert_false(sgi_pending_from(3, 3, 0));
    assert_int_equal(rd2(1, GICD_ISPENDR, 4), BIT1(3));
    /* Only SGI 3, only from source 0. */
    assert_int_equal(rd2(1, GICD_SPENDSGIR, 4), 0x01000000u);
    assert_int_equal(rd2(1, GICD_SPENDSGIR + 4, 4), 0);
}

static void test_v2_sgir_filter_1_targets_all_but_self(void **state)
{
    (void)state;
    init_v2();
    wr2(2, GICD_SGIR, 4, (1u << 24) | (0x04u << 16) | 4); /* list ignored */
    assert_true(sgi_pending_from(0, 4, 2));
    assert_true(sgi_pending_from(1, 4, 2));
    assert_false(sgi_pending_from(2, 4, 2));
    assert_true(sgi_pending_from(3, 4, 2));
}

static void test_v2_sgir_filter_2_targets_self_only(void **state)
{
    (void)state;
    init_v2();
    wr2(3, GICD_SGIR, 4, (2u << 24) | (0x07u << 16) | 15);
    for (unsigned cpu = 0; cpu < 3; cpu++) {
        assert_int_equal(rd2(cpu, GICD_ISPENDR, 4), 0);
    }
    assert_true(sgi_pending_from(3, 15, 3));
}

static void test_v2_sgir_reserved_filter_and_absent_targets_send_nothing(void **state)
{
    (void)state;
    init_v2();
    wr2(0, GICD_SGIR, 4, (3u << 24) | (0x0fu << 16) | 1);
    wr2(0, GICD_SGIR, 4, (0u << 24) | (0xf0u << 16) | 2); /* vCPUs 4-7 do not exist */
    for (unsigned cpu = 0; cpu < 4; cpu++) {
        assert_int_equal(rd2(cpu, GICD_ISPENDR, 4), 0);
        assert_int_equal(rd2(cpu, GICD_SPENDSGIR, 4), 0);
    }
    assert_int_equal(kicks_total, 0);
}

static void test_v2_sgir_records_each_source_separately(void **state)
{
    (void)state;
    init_v2();
    wr2(1, GICD_SGIR, 4, (0x01u << 16) | 7);
    wr2(3, GICD_SGIR, 4, (0x01u << 16) | 7);
    assert_int_equal(rd2(0, GICD_SPENDSGIR + 7, 1), (1u << 1) | (1u << 3));
    assert_int_equal(irq_of(0, 7)->sgi_sources, (1u << 1) | (1u << 3));
}

static void test_v2_sgir_kicks_the_targets(void **state)
{
    (void)state;
    init_v2();
    wr2(0, GICD_CTLR, 4, CTLR_ENABLE_GRP0);
    kicks_reset();
    wr2(0, GICD_SGIR, 4, (0x0au << 16) | 2);
    assert_int_equal(kicks[1], 1);
    assert_int_equal(kicks[3], 1);
    assert_int_equal(kicks_total, 2);
}

static void test_v2_spendsgir_cpendsgir_per_source_and_banked(void **state)
{
    (void)state;
    init_v2();
    wr2(0, GICD_SPENDSGIR + 2, 1, 0x0a); /* SGI 2 from sources 1 and 3 */
    assert_int_equal(rd2(0, GICD_SPENDSGIR + 2, 1), 0x0a);
    assert_int_equal(rd2(0, GICD_CPENDSGIR + 2, 1), 0x0a);
    assert_int_equal(rd2(0, GICD_SPENDSGIR, 4), 0x000a0000u);
    assert_int_equal(rd2(0, GICD_ISPENDR, 4), BIT1(2));
    assert_int_equal(rd2(1, GICD_SPENDSGIR + 2, 1), 0); /* banked */

    wr2(0, GICD_SPENDSGIR + 2, 1, 0); /* writing 0 has no effect */
    assert_int_equal(rd2(0, GICD_SPENDSGIR + 2, 1), 0x0a);
    wr2(0, GICD_CPENDSGIR + 2, 1, 0x02);
    assert_int_equal(rd2(0, GICD_SPENDSGIR + 2, 1), 0x08);
    assert_int_equal(rd2(0, GICD_ISPENDR, 4), BIT1(2));
    wr2(0, GICD_CPENDSGIR + 2, 1, 0x08);
    assert_int_equal(rd2(0, GICD_SPENDSGIR + 2, 1), 0);
    assert_int_equal(rd2(0, GICD_ISPENDR, 4), 0);
}

static void test_v2_spendsgir_bits_of_absent_cpus_are_raz_wi(void **state)
{
    (void)state;
    init_v2();
    wr2(2, GICD_SPENDSGIR + 9, 1, 0xf1);
    assert_int_equal(rd2(2, GICD_SPENDSGIR + 9, 1), 0x01);
}

static void test_v2_spendsgir_word_access_covers_four_sgis(void **state)
{
    (void)state;
    init_v2();
    wr2(1, GICD_SPENDSGIR + 4, 4, 0x08040201u); /* SGIs 4-7 */
    assert_int_equal(rd2(1, GICD_SPENDSGIR + 4, 4), 0x08040201u);
    assert_int_equal(rd2(1, GICD_SPENDSGIR + 7, 1), 0x08);
    assert_int_equal(rd2(1, GICD_ISPENDR, 4), 0xf0u);
    wr2(1, GICD_CPENDSGIR + 4, 4, 0xffffffffu);
    assert_int_equal(rd2(1, GICD_SPENDSGIR + 4, 4), 0);
}

static void test_v2_out_of_range_intids_are_raz_wi(void **state)
{
    (void)state;
    init_v2(); /* INTIDs 96 and up do not exist */
    static const uint32_t banks[] = {GICD_IGROUPR, GICD_ISENABLER, GICD_ISPENDR, GICD_ISACTIVER};
    for (unsigned b = 0; b < 4; b++) {
        wr2(0, banks[b] + 12, 4, 0xffffffffu);
        assert_int_equal(rd2(0, banks[b] + 12, 4), 0);
        wr2(0, banks[b] + 0x7c, 4, 0xffffffffu);
        assert_int_equal(rd2(0, banks[b] + 0x7c, 4), 0);
    }
    wr2(0, GICD_IPRIORITYR + 100, 1, 0xff);
    assert_int_equal(rd2(0, GICD_IPRIORITYR + 100, 1), 0);
    wr2(0, GICD_IPRIORITYR + 1016, 4, 0xffffffffu);
    assert_int_equal(rd2(0, GICD_IPRIORITYR + 1016, 4), 0);
    wr2(0, GICD_ITARGETSR + 96, 4, 0x01010101u);
    assert_int_equal(rd2(0, GICD_ITARGETSR + 96, 4), 0);
    wr2(0, GICD_ICFGR + 24, 4, 0xffffffffu);
    assert_int_equal(rd2(0, GICD_ICFGR + 24, 4), 0);
    /* ...while the last implemented register still works. */
    wr2(0, GICD_ISENABLER + 8, 4, BIT1(95));
    assert_true(irq_of(0, 95)->enabled);
}

static void test_v2_reserved_offsets_are_raz_wi(void **state)
{
    static const uint32_t reserved[] = {0x00c, 0x010, 0x040, 0x07c, 0xd00, 0xf04, 0xf30, 0xfc0};

    (void)state;
    init_v2();
    for (unsigned i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        wr2(0, reserved[i], 4, 0xffffffffu);
        assert_int_equal(rd2(0, reserved[i], 4), 0);
    }
    /* Nothing else changed. */
    assert_int_equal(rd2(0, GICD_CTLR, 4), 0);
    for (unsigned r = 0; r < 3; r++) {
        assert_int_equal(rd2(0, GICD_ISPENDR + 4 * r, 4), 0);
        assert_int_equal(rd2(0, GICD_ISACTIVER + 4 * r, 4), 0);
    }
    assert_int_equal(rd2(0, GICD_ISENABLER + 4, 4), 0);
    assert_int_equal(kicks_total, 0);
}

static void test_v2_set_pending_of_a_deliverable_spi_kicks_its_target(void **state)
{
    (void)state;
    init_v2();
    wr2(0, GICD_CTLR, 4, CTLR_ENABLE_GRP0);
    wr2(0, GICD_ITARGETSR + 60, 1, 0x04);
    wr2(0, REG1(GICD_ISENABLER, 60), 4, BIT1(60));
    kicks_reset();
    wr2(1, REG1(GICD_ISPENDR, 60), 4, BIT1(60));
    assert_int_equal(kicks[2], 1);
    assert_int_equal(kicks_total, 1);

    /* A disabled one: no kick. */
    kicks_reset();
    wr2(0, GICD_ITARGETSR + 61, 1, 0x04);
    wr2(1, REG1(GICD_ISPENDR, 61), 4, BIT1(61));
    assert_int_equal(kicks_total, 0);
}

static void test_v2_enabling_a_pending_interrupt_of_a_disabled_group_does_not_kick(void **state)
{
    (void)state;
    init_v2();
    wr2(0, GICD_CTLR, 4, CTLR_ENABLE_GRP1); /* group 0 disabled */
    wr2(0, GICD_ITARGETSR + 60, 1, 0x02);
    wr2(0, REG1(GICD_ISPENDR, 60), 4, BIT1(60));
    kicks_reset();
    /* SPI 60 is group 0: enabling it does not give vCPU 1 anything it can take. */
    wr2(0, REG1(GICD_ISENABLER, 60), 4, BIT1(60));
    assert_false(vgic_has_deliverable(&dist, 1));
    assert_int_equal(kicks_total, 0);
}

static void test_v2_enabling_a_group_kicks_vcpus(void **state)
{
    (void)state;
    init_v2();
    wr2(0, GICD_ITARGETSR + 60, 1, 0x08);
    wr2(0, REG1(GICD_ISENABLER, 60), 4, BIT1(60));
    wr2(0, REG1(GICD_ISPENDR, 60), 4, BIT1(60));
    kicks_reset();
    wr2(0, GICD_CTLR, 4, CTLR_ENABLE_GRP0);
    assert_true(kicks[3] >= 1);
}

static void test_v2_has_no_gicv3_registers(void **state)
{
    (void)state;
    init_v2();
    wr2(0, GICD_IROUTER + 8 * 40, 8, 1);
    assert_int_equal(rd2(0, GICD_IROUTER + 8 * 40, 8), 0);
    assert_int_equal(irq_of(0, 40)->irouter, 0);
    assert_int_equal(rd2(0, GICV3_PIDR2, 4), 0);
}

/* ======================= GICv3 distributor ======================= */

static void test_v3_ctlr_are_and_ds_read_as_one(void **state)
{
    (void)state;
    init_v3();
    assert_int_equal(rd3(0, GICD_CTLR, 4), CTLR_ARE | CTLR_DS);
    wr3(0, GICD_CTLR, 4, 0);
    assert_int_equal(rd3(0, GICD_CTLR, 4), CTLR_ARE | CTLR_DS);
    wr3(0, GICD_CTLR, 4, CTLR_ENABLE_GRP1 | CTLR_ARE | CTLR_DS);
    assert_int_equal(rd3(0, GICD_CTLR, 4), CTLR_ENABLE_GRP1 | CTLR_ARE | CTLR_DS);
    assert_true(dist.enable_grp1);
    assert_false(dist.enable_grp0);
    wr3(0, GICD_CTLR, 4, 0xffffffffu); /* RWP (bit 31) reads 0: writes take effect at once */
    assert_int_equal(rd3(0, GICD_CTLR, 4),
                     CTLR_ENABLE_GRP0 | CTLR_ENABLE_GRP1 | CTLR_ARE | CTLR_DS);
}

static void test_v3_typer_reports_it_lines_and_id_bits_without_lpis(void **state)
{
    (void)state;
    init_v3();
    uint64_t typer = rd3(0, GICD_TYPER, 4);
    assert_int_equal(typer & 0x1f, 128 / 32 - 1);   /* ITLinesNumber */
    assert_int_equal((typer >> 19) & 0x1f, 10 - 1); /* IDbits: INTIDs up to 1023 */
    assert_false(typer & (1u << 17));               /* LPIS */
    assert_false(typer & (1u << 16));               /* MBIS */
    assert_false(typer & (1u << 10));               /* SecurityExtn: RAZ with DS = 1 */
}

static void test_v3_typer_cpu_number_is_zero_without_legacy_operation(void **state)
{
    (void)state;
    init_v3();
    /* IHI0069 GICD_TYPER.CPUNumber: the number of PEs usable when affinity routing is not
     * enabled, minus 1; "if the implementation does not support ARE being zero, this field is
     * 000". Our ARE is RAO/WI. */
    assert_int_equal((rd3(0, GICD_TYPER, 4) >> 5) & 7, 0);
}

static void test_v3_iidr_and_pidr2_archrev_is_3(void **state)
{
    (void)state;
    init_v3();
    assert_int_equal(rd3(0, GICD_IIDR, 4) & 0xfff, 0x43b);
    assert_int_equal((rd3(0, GICV3_PIDR2, 4) >> 4) & 0xf, 3);
    for (unsigned t = 0; t < 3; t++) {
        assert_int_equal((rdr(t, GICR_PIDR2, 4) >> 4) & 0xf, 3);
        assert_int_equal(rdr(t, GICR_IIDR, 4) & 0xfff, 0x43b);
    }
}

static void test_v3_dist_registers_of_sgis_and_ppis_are_raz_wi(void **state)
{
    static const uint32_t banks[] = {
        GICD_IGROUPR,
        GICD_ISENABLER,
        GICD_ISPENDR,
        GICD_ISACTIVER,
    };

    (void)state;
    init_v3();
    for (unsigned b = 0; b < 4; b++) {
        wr3(0, banks[b], 4, 0xffffffffu);
        assert_int_equal(rd3(0, banks[b], 4), 0);
    }
    for (unsigned i = 0; i < 32; i += 4) {
        wr3(1, GICD_IPRIORITYR + i, 4, 0xffffffffu);
        assert_int_equal(rd3(1, GICD_IPRIORITYR + i, 4), 0);
    }
    wr3(0, GICD_IPRIORITYR + 27, 1, 0xff);
    assert_int_equal(rd3(0, GICD_IPRIORITYR + 27, 1), 0);
    wr3(0, GICD_ICFGR + 4, 4, ALL_EDGE);
    assert_int_equal(rd3(0, GICD_ICFGR, 4), 0);
    assert_int_equal(rd3(0, GICD_ICFGR + 4, 4), 0);

    /* The redistributors' copies were not touched. */
    for (unsigned t = 0; t < 3; t++) {
        assert_int_equal(rdr(t, GICR_IGROUPR0, 4), 0);
        assert_int_equal(rdr(t, GICR_ISENABLER0, 4), 0);
        assert_int_equal(rdr(t, GICR_ISPENDR0, 4), 0);
        assert_int_equal(rdr(t, GICR_ISACTIVER0, 4), 0);
        assert_int_equal(rdr(t, GICR_IPRIORITYR + 24, 4), 0);
        assert_true(irq_of(t, 27)->level);
    }
}

static void test_v3_dist_registers_of_spis_work(void **state)
{
    (void)state;
    init_v3();
    wr3(0, REG1(GICD_ISENABLER, 100), 4, BIT1(100));
    assert_int_equal(rd3(0, REG1(GICD_ISENABLER, 100), 4), BIT1(100));
    wr3(0, GICD_IPRIORITYR + 100, 1, 0xff);
    assert_int_equal(rd3(0, GICD_IPRIORITYR + 100, 1), 0xf8);
    wr3(0, GICD_ICFGR + 8, 4, 0);
    assert_true(irq_of(0, 32)->level);
    wr3(0, REG1(GICD_ICENABLER, 100), 4, BIT1(100));
    assert_false(irq_of(0, 100)->enabled);
}

static void test_v3_itargetsr_is_raz_wi(void **state)
{
    (void)state;
    init_v3();
    wr3(0, GICD_ITARGETSR + 40, 1, 0x02);
    wr3(0, GICD_ITARGETSR + 44, 4, 0x01010101u);
    assert_int_equal(rd3(0, GICD_ITARGETSR + 40, 1), 0);
    assert_int_equal(rd3(0, GICD_ITARGETSR + 44, 4), 0);
    assert_int_equal(rd3(0, GICD_ITARGETSR, 4), 0); /* no "reading CPU" mask either */
    assert_int_equal(irq_of(0, 40)->targets, 0);
}

static void test_v3_irouter_64_bit_access_masks_reserved_bits(void **state)
{
    (void)state;
    init_v3();
    wr3(0, GICD_IROUTER + 8 * 40, 8, 0xffffffffffffffffull);
    /* [63:40] and [30:24] are RES0: Aff3 [39:32], IRM [31], Aff2, Aff1, Aff0 remain. */
    assert_int_equal(rd3(0, GICD_IROUTER + 8 * 40, 8), 0x000000ff80ffffffull);
    wr3(0, GICD_IROUTER + 8 * 40, 8, 0x0000000000000002ull);
    assert_int_equal(rd3(0, GICD_IROUTER + 8 * 40, 8), 2);
    assert_int_equal(vgic_spi_target(&dist, irq_of(0, 40)), 2);
}

static void test_v3_irouter_32_bit_halves(void **state)
{
    (void)state;
    init_v3();
    uint64_t off = GICD_IROUTER + 8 * 127;
    wr3(0, off, 4, 0x00000001u);
    wr3(0, off + 4, 4, 0x000000abu);
    assert_int_equal(rd3(0, off, 8), 0x000000ab00000001ull);
    assert_int_equal(rd3(0, off, 4), 0x00000001u);
    assert_int_equal(rd3(0, off + 4, 4), 0x000000abu);
    /* Each half leaves the other alone, and reserved bits stay zero. */
    wr3(0, off, 4, 0xff000102u);
    assert_int_equal(rd3(0, off, 8), 0x000000ab80000102ull);
    wr3(0, off + 4, 4, 0xffffffffu);
    assert_int_equal(rd3(0, off, 8), 0x000000ff80000102ull);
    assert_int_equal(rd3(0, off + 4, 4), 0xffu);
}

static void test_v3_irouter_routes_spis(void **state)
{
    (void)state;
    init_v3();
    wr3(0, GICD_IROUTER + 8 * 50, 8, 1);
    assert_int_equal(vgic_spi_target(&dist, irq_of(0, 50)), 1);
    wr3(0, GICD_IROUTER + 8 * 50, 8, IROUTER_IRM);
    assert_int_equal(rd3(0, GICD_IROUTER + 8 * 50, 8), IROUTER_IRM);
    assert_int_equal(vgic_spi_target(&dist, irq_of(0, 50)), 0);
    wr3(0, GICD_IROUTER + 8 * 50, 8, 0x100); /* Aff1 = 1: no such vCPU */
    assert_int_equal(vgic_spi_target(&dist, irq_of(0, 50)), -1);
}

static void test_v3_irouter_of_private_and_absent_intids_is_raz_wi(void **state)
{
    (void)state;
    init_v3();
    wr3(0, GICD_IROUTER + 8 * 5, 8, 2);
    wr3(0, GICD_IROUTER + 8 * 31, 4, 2);
    assert_int_equal(rd3(0, GICD_IROUTER + 8 * 5, 8), 0);
    assert_int_equal(rd3(0, GICD_IROUTER + 8 * 31, 4), 0);
    assert_int_equal(irq_of(0, 5)->irouter, 0);
    wr3(0, GICD_IROUTER + 8 * 128, 8, 2); /* INTID 128: beyond ITLinesNumber */
    assert_int_equal(rd3(0, GICD_IROUTER + 8 * 128, 8), 0);
    wr3(0, GICD_IROUTER + 8 * 1019, 8, 2);
    assert_int_equal(rd3(0, GICD_IROUTER + 8 * 1019, 8), 0);
}

static void test_v3_dist_has_no_gicv2_sgi_registers(void **state)
{
    (void)state;
    init_v3();
    wr3(0, GICD_CTLR, 4, CTLR_ENABLE_GRP1);
    for (unsigned t = 0; t < 3; t++) {
        wrr(t, GICR_ISENABLER0, 4, 0xffff);
    }
    wr3(0, GICD_SGIR, 4, (1u << 24) | 3); /* would be "all but self" on a GICv2 */
    wr3(1, GICD_SPENDSGIR, 4, 0x01010101u);
    assert_int_equal(rd3(1, GICD_SPENDSGIR, 4), 0);
    assert_int_equal(rd3(1, GICD_CPENDSGIR, 4), 0);
    for (unsigned t = 0; t < 3; t++) {
        assert_int_equal(rdr(t, GICR_ISPENDR0, 4), 0);
    }
    assert_int_equal(rd3(0, GICV2_PIDR2, 4), 0);
}

static void test_v3_reserved_dist_offsets_are_raz_wi(void **state)
{
    static const uint32_t reserved[] = {0x010, 0x040, 0x048,  0x050,  0x058,
                                        0xd00, 0xe00, 0x5ffc, 0x7ff8, 0xc000};

    (void)state;
    init_v3();
    for (unsigned i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        wr3(0, reserved[i], 4, 0xffffffffu);
        assert_int_equal(rd3(0, reserved[i], 4), 0);
    }
    assert_int_equal(rd3(0, GICD_CTLR, 4), CTLR_ARE | CTLR_DS);
    for (unsigned r = 1; r < 4; r++) {
        assert_int_equal(rd3(0, GICD_ISPENDR + 4 * r, 4), 0);
    }
}

/* ======================= GICv3 redistributors ======================= */

static void test_v3_gicr_typer_affinity_processor_number_and_last(void **state)
{
    (void)state;
    init_v3();
    for (unsigned t = 0; t < 3; t++) {
        uint64_t typer = rdr(t, GICR_TYPER, 8);
        assert_int_equal(typer >> 32, cpus[t].mpidr & 0xff); /* Aff0 = index, Aff1-3 = 0 */
        assert_int_equal(typer >> 32, t);
        assert_int_equal((typer >> 8) & 0xffff, t);      /* Processor_Number */
        assert_int_equal(!!(typer & (1u << 4)), t == 2); /* Last */
        assert_int_equal(typer & 0xf, 0);                /* no PLPIS, VLPIS, Dirty, DirectLPI */
        /* 32-bit halves. */
        assert_int_equal(rdr(t, GICR_TYPER, 4), (uint32_t)typer);
        assert_int_equal(rdr(t, GICR_TYPER + 4, 4), typer >> 32);
    }
}

static void test_v3_gicr_typer_last_on_a_single_redistributor(void **state)
{
    (void)state;
    init(GIC_V3, 64, 1);
    assert_int_equal(rdr(0, GICR_TYPER, 8), 1u << 4);
}

static void test_v3_gicr_waker_processor_sleep_and_children_asleep(void **state)
{
    (void)state;
    init_v3();
    for (unsigned t = 0; t < 3; t++) {
        assert_int_equal(rdr(t, GICR_WAKER, 4), WAKER_PROCESSOR_SLEEP | WAKER_CHILDREN_ASLEEP);
    }
    /* The boot sequence: clear ProcessorSleep, poll ChildrenAsleep until 0. */
    wrr(1, GICR_WAKER, 4, 0);
    assert_int_equal(rdr(1, GICR_WAKER, 4), 0);
    assert_int_equal(rdr(0, GICR_WAKER, 4), WAKER_PROCESSOR_SLEEP | WAKER_CHILDREN_ASLEEP);
    /* ChildrenAsleep is read-only. */
    wrr(1, GICR_WAKER, 4, WAKER_CHILDREN_ASLEEP);
    assert_int_equal(rdr(1, GICR_WAKER, 4), 0);
    wrr(1, GICR_WAKER, 4, WAKER_PROCESSOR_SLEEP);
    assert_int_equal(rdr(1, GICR_WAKER, 4), WAKER_PROCESSOR_SLEEP | WAKER_CHILDREN_ASLEEP);
}

static void test_v3_gicr_ctlr_reads_zero_without_lpis(void **state)
{
    (void)state;
    init_v3();
    wrr(0, GICR_CTLR, 4, 0xffffffffu);
    assert_int_equal(rdr(0, GICR_CTLR, 4), 0);
}

static void test_v3_gicr_sgi_frame_enables_are_banked_per_redistributor(void **state)
{
    (void)state;
    init_v3();
    wrr(1, GICR_ISENABLER0, 4, 0x80000001u);
    assert_int_equal(rdr(1, GICR_ISENABLER0, 4), 0x80000001u);
    assert_int_equal(rdr(1, GICR_ICENABLER0, 4), 0x80000001u);
    assert_int_equal(rdr(0, GICR_ISENABLER0, 4), 0);
    assert_int_equal(rdr(2, GICR_ISENABLER0, 4), 0);
    assert_true(irq_of(1, 31)->enabled);
    assert_false(irq_of(0, 31)->enabled);

    wrr(1, GICR_ICENABLER0, 4, 0); /* no effect */
    assert_int_equal(rdr(1, GICR_ISENABLER0, 4), 0x80000001u);
    wrr(1, GICR_ICENABLER0, 4, 0x00000001u); /* SGI enables are writable on GICv3 */
    assert_int_equal(rdr(1, GICR_ISENABLER0, 4), 0x80000000u);
}

static void test_v3_gicr_sgi_frame_pending_and_active_are_banked(void **state)
{
    (void)state;
    init_v3();
    wrr(2, GICR_ISPENDR0, 4, BIT1(3) | BIT1(20));
    assert_int_equal(rdr(2, GICR_ISPENDR0, 4), BIT1(3) | BIT1(20));
    assert_int_equal(rdr(2, GICR_ICPENDR0, 4), BIT1(3) | BIT1(20));
    assert_int_equal(rdr(0, GICR_ISPENDR0, 4), 0);
    wrr(2, GICR_ICPENDR0, 4, BIT1(3));
    assert_int_equal(rdr(2, GICR_ISPENDR0, 4), BIT1(20));

    wrr(0, GICR_ISACTIVER0, 4, BIT1(27));
    assert_int_equal(rdr(0, GICR_ISACTIVER0, 4), BIT1(27));
    assert_int_equal(rdr(0, GICR_ICACTIVER0, 4), BIT1(27));
    assert_int_equal(rdr(1, GICR_ISACTIVER0, 4), 0);
    wrr(0, GICR_ICACTIVER0, 4, BIT1(27));
    assert_int_equal(rdr(0, GICR_ISACTIVER0, 4), 0);
}

static void test_v3_gicr_igroupr0_is_read_write(void **state)
{
    (void)state;
    init_v3();
    wrr(0, GICR_IGROUPR0, 4, 0xffffffffu);
    assert_int_equal(rdr(0, GICR_IGROUPR0, 4), 0xffffffffu);
    assert_int_equal(rdr(1, GICR_IGROUPR0, 4), 0);
    wrr(0, GICR_IGROUPR0, 4, 0x0000ffffu);
    assert_int_equal(rdr(0, GICR_IGROUPR0, 4), 0x0000ffffu);
}

static void test_v3_gicr_ipriorityr_banked_with_five_bits(void **state)
{
    (void)state;
    init_v3();
    wrr(2, GICR_IPRIORITYR + 27, 1, 0xff);
    assert_int_equal(rdr(2, GICR_IPRIORITYR + 27, 1), 0xf8);
    assert_int_equal(rdr(2, GICR_IPRIORITYR + 24, 4), 0xf8000000u);
    assert_int_equal(rdr(0, GICR_IPRIORITYR + 27, 1), 0);
    wrr(0, GICR_IPRIORITYR, 4, 0x0f1f2f3fu);
    assert_int_equal(rdr(0, GICR_IPRIORITYR, 4), 0x08182838u);
}

static void test_v3_gicr_icfgr0_sgis_read_only_edge_icfgr1_programmable(void **state)
{
    (void)state;
    init_v3();
    assert_int_equal(rdr(0, GICR_ICFGR0, 4), ALL_EDGE);
    wrr(0, GICR_ICFGR0, 4, 0);
    assert_int_equal(rdr(0, GICR_ICFGR0, 4), ALL_EDGE);
    wrr(1, GICR_ICFGR1, 4, ALL_EDGE);
    assert_int_equal(rdr(1, GICR_ICFGR1, 4), ALL_EDGE);
    assert_false(irq_of(1, 20)->level);
    assert_true(irq_of(0, 20)->level);
    wrr(1, GICR_ICFGR1, 4, 0);
    assert_int_equal(rdr(1, GICR_ICFGR1, 4), 0);
}

static void test_v3_gicr_sgi_frame_ignores_shared_interrupts(void **state)
{
    (void)state;
    init_v3();
    wrr(0, GICR_ISENABLER0 + 4, 4, 0xffffffffu); /* would be SPIs 32-63 */
    assert_int_equal(rdr(0, GICR_ISENABLER0 + 4, 4), 0);
    assert_false(irq_of(0, 32)->enabled);
    wrr(0, GICR_IPRIORITYR + 32, 4, 0xffffffffu);
    assert_int_equal(rdr(0, GICR_IPRIORITYR + 32, 4), 0);
    assert_int_equal(irq_of(0, 32)->priority, 0);
    wrr(0, SGI_BASE + 0x800, 4, 0xffffffffu); /* no ITARGETSR in the SGI frame */
    assert_int_equal(rdr(0, SGI_BASE + 0x800, 4), 0);
}

static void test_v3_gicr_reserved_offsets_are_raz_wi(void **state)
{
    static const uint32_t reserved[] = {0x0010,           0x0040,           0x0070,
                                        0x00a0,           0x0100,           SGI_BASE + 0x000,
                                        SGI_BASE + 0xd00, SGI_BASE + 0xe00, SGI_BASE + 0xf00};

    (void)state;
    init_v3();
    for (unsigned i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        wrr(1, reserved[i], 4, 0xffffffffu);
        assert_int_equal(rdr(1, reserved[i], 4), 0);
    }
    assert_int_equal(rdr(1, GICR_WAKER, 4), WAKER_PROCESSOR_SLEEP | WAKER_CHILDREN_ASLEEP);
    assert_int_equal(rdr(1, GICR_ISENABLER0, 4), 0);
}

static void test_v3_redistributor_of_an_absent_vcpu_is_refused(void **state)
{
    uint64_t val = 0x1234;

    (void)state;
    init_v3();
    assert_false(vgic_v3_redist_read(&dist, 3, GICR_TYPER, 8, &val));
    assert_int_equal(val, 0);
    assert_false(vgic_v3_redist_write(&dist, 3, GICR_WAKER, 4, 0));
    assert_false(vgic_v3_redist_read(&dist, MAX_VCPUS, GICR_TYPER, 8, &val));
}

/* ======================= ICC_SGI1R_EL1 ======================= */

#define SGI1R(intid, list) (((uint64_t)(intid) << 24) | (uint64_t)(list))
#define SGI1R_IRM (1ull << 40)
#define SGI1R_AFF1(a) ((uint64_t)(a) << 16)
#define SGI1R_AFF2(a) ((uint64_t)(a) << 32)
#define SGI1R_AFF3(a) ((uint64_t)(a) << 48)
#define SGI1R_RS(r) ((uint64_t)(r) << 44)

static uint32_t gicr_pending(unsigned target)
{
    return (uint32_t)rdr(target, GICR_ISPENDR0, 4);
}

static void test_sgi1r_target_list_with_range_zero(void **state)
{
    (void)state;
    init(GIC_V3, 64, 4);
    vgic_v3_sgi1r_write(&dist, 0, SGI1R(5, 0x000a)); /* Aff0 1 and 3 */
    assert_int_equal(gicr_pending(0), 0);
    assert_int_equal(gicr_pending(1), BIT1(5));
    assert_int_equal(gicr_pending(2), 0);
    assert_int_equal(gicr_pending(3), BIT1(5));
}

static void test_sgi1r_target_list_may_include_self(void **state)
{
    (void)state;
    init(GIC_V3, 64, 4);
    vgic_v3_sgi1r_write(&dist, 2, SGI1R(15, 0x0004));
    assert_int_equal(gicr_pending(2), BIT1(15));
    assert_int_equal(gicr_pending(0) | gicr_pending(1) | gicr_pending(3), 0);
}

static void test_sgi1r_target_list_bits_of_absent_vcpus_are_ignored(void **state)
{
    (void)state;
    init(GIC_V3, 64, 4);
    vgic_v3_sgi1r_write(&dist, 0, SGI1R(1, 0xfff0));
    for (unsigned t = 0; t < 4; t++) {
        assert_int_equal(gicr_pending(t), 0);
    }
}

static void test_sgi1r_irm_broadcasts_to_all_but_self(void **state)
{
    (void)state;
    init(GIC_V3, 64, 4);
    vgic_v3_sgi1r_write(&dist, 1, SGI1R_IRM | SGI1R(9, 0x0002)); /* list ignored with IRM */
    assert_int_equal(gicr_pending(0), BIT1(9));
    assert_int_equal(gicr_pending(1), 0);
    assert_int_equal(gicr_pending(2), BIT1(9));
    assert_int_equal(gicr_pending(3), BIT1(9));
}

static void test_sgi1r_range_selector_moves_the_target_list(void **state)
{
    (void)state;
    init(GIC_V3, 64, 4);
    /* RS = 1: TargetList bit n is Aff0 = 16 + n, which no vCPU has. */
    vgic_v3_sgi1r_write(&dist, 0, SGI1R_RS(1) | SGI1R(2, 0xffff));
    for (unsigned t = 0; t < 4; t++) {
        assert_int_equal(gicr_pending(t), 0);
    }
}

static void test_sgi1r_nonzero_aff1_aff2_aff3_target_nobody(void **state)
{
    static const uint64_t affs[] = {SGI1R_AFF1(1), SGI1R_AFF2(1), SGI1R_AFF3(1), SGI1R_AFF1(0x80)};

    (void)state;
    init(GIC_V3, 64, 4);
    for (unsigned i = 0; i < sizeof(affs) / sizeof(affs[0]); i++) {
        vgic_v3_sgi1r_write(&dist, 0, affs[i] | SGI1R(4, 0x000f));
        for (unsigned t = 0; t < 4; t++) {
            assert_int_equal(gicr_pending(t), 0);
        }
    }
}

static void test_sgi1r_kicks_targets_whose_sgi_is_enabled(void **state)
{
    (void)state;
    init(GIC_V3, 64, 4);
    wr3(0, GICD_CTLR, 4, CTLR_ENABLE_GRP1);
    wrr(3, GICR_IGROUPR0, 4, 0xffffffffu);
    wrr(3, GICR_ISENABLER0, 4, BIT1(6));
    wrr(2, GICR_IGROUPR0, 4, 0xffffffffu); /* vCPU 2 has SGI 6 disabled */
    kicks_reset();
    vgic_v3_sgi1r_write(&dist, 0, SGI1R(6, 0x000c));
    assert_int_equal(kicks[3], 1);
    assert_int_equal(kicks_total, 1);
    assert_int_equal(gicr_pending(2), BIT1(6)); /* pending, though not deliverable */
}

/* ======================= Register tables: widths, bounds, reserved space =======================
 */

/* The interrupt state of the fixture's VM, to check that an access changed nothing. */
struct snapshot {
    struct virq spis[VGIC_MAX_IRQS - VGIC_NR_PRIVATE];
    struct virq private_irqs[MAX_VCPUS][VGIC_NR_PRIVATE];
    bool enable_grp0, enable_grp1;
    bool waker_asleep[MAX_VCPUS];
};

static void take_snapshot(struct snapshot *s)
{
    memset(s, 0, sizeof(*s));
    memcpy(s->spis, dist.spis, sizeof(s->spis));
    for (unsigned i = 0; i < dist.nr_vcpus; i++) {
        memcpy(s->private_irqs[i], cpus[i].private_irqs, sizeof(s->private_irqs[i]));
        s->waker_asleep[i] = cpus[i].redist_waker_asleep;
    }
    s->enable_grp0 = dist.enable_grp0;
    s->enable_grp1 = dist.enable_grp1;
}

static void assert_unchanged_since(const struct snapshot *before)
{
    static struct snapshot now;

    take_snapshot(&now);
    assert_memory_equal(&now, before, sizeof(now));
}

struct range {
    uint32_t start, end; /* [start, end) */
};

/* Writes all ones to every word of a frame outside live[] and reads it back as zero: the
 * register table has no entry there, and nothing in the VM's interrupt state changes. */
static void sweep_reserved_words(uint64_t (*rd)(unsigned, uint64_t, unsigned),
                                 void (*wr)(unsigned, uint64_t, unsigned, uint64_t), unsigned cpu,
                                 uint32_t frame_size, const struct range *live, unsigned nr_live)
{
    static struct snapshot before;

    take_snapshot(&before);
    kicks_reset();
    for (uint32_t off = 0; off < frame_size; off += 4) {
        bool is_live = false;
        for (unsigned i = 0; i < nr_live; i++) {
            is_live |= off >= live[i].start && off < live[i].end;
        }
        if (is_live) {
            continue;
        }
        wr(cpu, off, 4, 0xffffffffu);
        uint64_t val = rd(cpu, off, 4);
        if (val != 0) {
            fail_msg("offset %#x reads %#llx, not zero", off, (unsigned long long)val);
        }
    }
    assert_unchanged_since(&before);
    assert_int_equal(kicks_total, 0);
}

static void test_v2_every_word_outside_the_registers_is_raz_wi(void **state)
{
    /* What a 96-interrupt, 4-vCPU VM's distributor holds (SGIR: it would send SGIs). */
    static const struct range live[] = {
        {0x000, 0x00c}, {0x080, 0x08c}, {0x100, 0x10c}, {0x180, 0x18c}, {0x200, 0x20c},
        {0x280, 0x28c}, {0x300, 0x30c}, {0x380, 0x38c}, {0x400, 0x460}, {0x800, 0x860},
        {0xc00, 0xc18}, {0xf00, 0xf04}, {0xf10, 0xf30}, {0xfe8, 0xfec},
    };

    (void)state;
    init_v2();
    sweep_reserved_words(rd2, wr2, 1, 0x1000, live, sizeof(live) / sizeof(live[0]));
}

static void test_v3_every_dist_word_outside_the_registers_is_raz_wi(void **state)
{
    /* A 128-interrupt VM: the banks' words of SPIs 32-127, their IROUTERs, no GICv2 register,
     * no word of INTIDs 0-31. */
    static const struct range live[] = {
        {0x000, 0x00c}, {0x084, 0x090}, {0x104, 0x110},   {0x184, 0x190},
        {0x204, 0x210}, {0x284, 0x290}, {0x304, 0x310},   {0x384, 0x390},
        {0x420, 0x480}, {0xc08, 0xc20}, {0x6100, 0x6400}, {0xffe8, 0xffec},
    };

    (void)state;
    init_v3();
    sweep_reserved_words(rd3, wr3, 1, 0x10000, live, sizeof(live) / sizeof(live[0]));
}

static void test_v3_every_redist_word_outside_the_registers_is_raz_wi(void **state)
{
    /* RD frame: IIDR, TYPER, WAKER, PIDR2. SGI frame: the banks' words of INTIDs 0-31. */
    static const struct range live[] = {
        {0x0004, 0x0010},
        {0x0014, 0x0018},
        {0xffe8, 0xffec},
        {SGI_BASE + 0x080, SGI_BASE + 0x084},
        {SGI_BASE + 0x100, SGI_BASE + 0x104},
        {SGI_BASE + 0x180, SGI_BASE + 0x184},
        {SGI_BASE + 0x200, SGI_BASE + 0x204},
        {SGI_BASE + 0x280, SGI_BASE + 0x284},
        {SGI_BASE + 0x300, SGI_BASE + 0x304},
        {SGI_BASE + 0x380, SGI_BASE + 0x384},
        {SGI_BASE + 0x400, SGI_BASE + 0x420},
        {SGI_BASE + 0xc00, SGI_BASE + 0xc08},
    };

    (void)state;
    init_v3();
    sweep_reserved_words(rdr, wrr, 1, GICV3_REDIST_SIZE, live, sizeof(live) / sizeof(live[0]));
}

static void test_v2_registers_take_only_their_access_widths(void **state)
{
    static const unsigned not_word[] = {1, 2, 8};
    static const unsigned not_byte_or_word[] = {2, 8};

    (void)state;
    init_v2();
    wr2(0, GICD_CTLR, 4, CTLR_ENABLE_GRP0);
    wr2(0, REG1(GICD_ISENABLER, 32), 4, 0xffu); /* SPIs 32-39 */
    wr2(0, GICD_IPRIORITYR + 40, 1, 0x80);
    wr2(0, GICD_ITARGETSR + 40, 1, 0x02);
    static struct snapshot before;
    take_snapshot(&before);
    kicks_reset();
    /* Word-only: CTLR, TYPER, IIDR, the bitmaps, ICFGR, SGIR, PIDR2. */
    for (unsigned i = 0; i < 3; i++) {
        unsigned s = not_word[i];
        assert_int_equal(rd2(0, GICD_CTLR, s), 0);
        assert_int_equal(rd2(0, GICD_TYPER, s), 0);
        assert_int_equal(rd2(0, GICD_IIDR, s), 0);
        assert_int_equal(rd2(0, REG1(GICD_ISENABLER, 32), s), 0);
        assert_int_equal(rd2(0, GICD_ICFGR + 8, s), 0);
        assert_int_equal(rd2(0, GICV2_PIDR2, s), 0);
        wr2(0, GICD_CTLR, s, 0);
        wr2(0, REG1(GICD_ICENABLER, 32), s, 0xffu);
        wr2(0, REG1(GICD_ISPENDR, 32), s, 0xffu);
        wr2(0, GICD_ICFGR + 8, s, 0);         /* would make SPIs 32-47 level-sensitive */
        wr2(0, GICD_SGIR, s, (2u << 24) | 1); /* would send SGI 1 to self */
    }
    /* Byte-wide: IPRIORITYR and ITARGETSR take bytes and words only. */
    for (unsigned i = 0; i < 2; i++) {
        unsigned s = not_byte_or_word[i];
        assert_int_equal(rd2(0, GICD_IPRIORITYR + 40, s), 0);
        assert_int_equal(rd2(0, GICD_ITARGETSR + 40, s), 0);
        wr2(0, GICD_IPRIORITYR + 40, s, 0);
        wr2(0, GICD_ITARGETSR + 40, s, 0);
    }
    assert_unchanged_since(&before);
    assert_int_equal(kicks_total, 0);
    /* The same registers at their own widths. */
    assert_int_equal(rd2(0, GICD_CTLR, 4), CTLR_ENABLE_GRP0);
    assert_int_equal(rd2(0, REG1(GICD_ISENABLER, 32), 4), 0xffu);
    assert_int_equal(rd2(0, GICD_IPRIORITYR + 40, 1), 0x80);
    assert_int_equal(rd2(0, GICD_ITARGETSR + 40, 1), 0x02);
    assert_int_equal(rd2(0, GICD_ICFGR + 8, 4), ALL_EDGE);
}

static void test_v3_registers_take_only_their_access_widths(void **state)
{
    static const unsigned not_word[] = {1, 2, 8};

    (void)state;
    init_v3();
    wr3(0, GICD_CTLR, 4, CTLR_ENABLE_GRP1);
    wr3(0, GICD_IROUTER + 8 * 40, 8, 2);
    wr3(0, GICD_IPRIORITYR + 40, 1, 0x80);
    static struct snapshot before;
    take_snapshot(&before);
    kicks_reset();
    for (unsigned i = 0; i < 3; i++) {
        unsigned s = not_word[i];
        /* Distributor, word-only: CTLR, TYPER, IIDR, the bitmaps, PIDR2. */
        assert_int_equal(rd3(0, GICD_CTLR, s), 0);
        assert_int_equal(rd3(0, GICD_TYPER, s), 0);
        assert_int_equal(rd3(0, GICD_IIDR, s), 0);
        assert_int_equal(rd3(0, GICV3_PIDR2, s), 0);
        wr3(0, GICD_CTLR, s, 0);
        wr3(0, REG1(GICD_ISENABLER, 32), s, 0xffu);
        /* Redistributor, word-only: IIDR, WAKER, PIDR2, the SGI frame's bitmaps. */
        assert_int_equal(rdr(0, GICR_IIDR, s), 0);
        assert_int_equal(rdr(0, GICR_WAKER, s), 0);
        assert_int_equal(rdr(0, GICR_PIDR2, s), 0);
        wrr(0, GICR_WAKER, s, 0); /* would wake it */
        wrr(0, GICR_ISENABLER0, s, 0xffu);
        wrr(0, GICR_ISPENDR0, s, 0xffu);
    }
    /* IROUTER and GICR_TYPER: words and doublewords only. */
    for (unsigned s = 1; s <= 2; s++) {
        assert_int_equal(rd3(0, GICD_IROUTER + 8 * 40, s), 0);
        wr3(0, GICD_IROUTER + 8 * 40, s, 1);
        assert_int_equal(rdr(1, GICR_TYPER + 4, s), 0);
    }
    /* IPRIORITYR: bytes and words only. */
    assert_int_equal(rd3(0, GICD_IPRIORITYR + 40, 2), 0);
    assert_int_equal(rd3(0, GICD_IPRIORITYR + 40, 8), 0);
    wr3(0, GICD_IPRIORITYR + 40, 2, 0);
    wr3(0, GICD_IPRIORITYR + 40, 8, 0);
    assert_unchanged_since(&before);
    assert_int_equal(kicks_total, 0);
    assert_int_equal(rd3(0, GICD_IROUTER + 8 * 40, 8), 2);
    assert_int_equal(rd3(0, GICD_IPRIORITYR + 40, 1), 0x80);
    assert_int_equal(rdr(0, GICR_WAKER, 4), WAKER_PROCESSOR_SLEEP | WAKER_CHILDREN_ASLEEP);
}

static void test_an_access_running_past_a_register_is_raz_wi(void **state)
{
    (void)state;
    init_v2();
    /* Four bytes of GICD_SPENDSGIR (SGIs 12-15) and four reserved ones. */
    wr2(0, GICD_SPENDSGIR + 12, 8, 0x0101010101010101ull);
    assert_int_equal(rd2(0, GICD_SPENDSGIR + 12, 4), 0);
    wr2(0, GICD_SPENDSGIR + 12, 4, 0x01010101u);
    assert_int_equal(rd2(0, GICD_SPENDSGIR + 12, 8), 0);
    assert_int_equal(rd2(0, GICD_SPENDSGIR + 12, 4), 0x01010101u);

    init_v3();
    /* GICR_TYPER's upper word and the reserved word after it. */
    assert_int_equal(rdr(1, GICR_TYPER + 4, 8), 0);
    assert_int_equal(rdr(1, GICR_TYPER + 4, 4), 1);
}

/* ---- SPIs linked to physical ones (passed through) ---- */

static struct {
    int routed_to;
    unsigned routed, deactivated, pended, last;
} phys;

static void phys_route(void *ctx, unsigned pintid, int vcpu)
{
    (void)ctx;
    phys.routed++;
    phys.last = pintid;
    phys.routed_to = vcpu;
}

static void phys_deactivate(void *ctx, unsigned pintid)
{
    (void)ctx;
    phys.deactivated++;
    phys.last = pintid;
}

static void phys_pend(void *ctx, unsigned pintid)
{
    (void)ctx;
    phys.pended++;
    phys.last = pintid;
}

static const struct vgic_phys_ops phys_ops = {phys_route, phys_deactivate, phys_pend};

static void init_linked(enum gic_version version, bool held)
{
    init(version, 128, 3);
    memset(&phys, 0, sizeof(phys));
    dist.phys = &phys_ops;
    vgic_link_hw(&dist, 0, 40, 40, held);
}

static void test_linked_spi_follows_the_guests_routing(void **state)
{
    (void)state;
    init_linked(GIC_V2, true);
    wr2(0, GICD_ITARGETSR + 40, 1, 0x4);
    assert_int_equal(phys.routed, 1);
    assert_int_equal(phys.last, 40);
    assert_int_equal(phys.routed_to, 2);
    /* An SPI that is not linked routes nothing physical. */
    wr2(0, GICD_ITARGETSR + 41, 1, 0x2);
    assert_int_equal(phys.routed, 1);

    init_linked(GIC_V3, false);
    wr3(0, GICD_IROUTER + 8 * 40, 8, 1);
    assert_int_equal(phys.routed, 1);
    assert_int_equal(phys.routed_to, 1);
}

static void test_linked_spi_set_pending_goes_to_the_physical_one(void **state)
{
    (void)state;
    init_linked(GIC_V3, false);
    wr3(0, GICD_ISPENDR + 4, 4, 1u << 8);
    assert_int_equal(phys.pended, 1);
    assert_int_equal(phys.last, 40);
    /* Pending comes back through the physical interrupt, not from the guest's write. */
    assert_false(virq_pending(irq_of(0, 40)));
}

static void test_linked_spi_cleared_while_physically_active_is_let_go(void **state)
{
    (void)state;
    init_linked(GIC_V2, true);
    vgic_inject_edge(&dist, 0, 40);
    assert_true(irq_of(0, 40)->phys_active);
    wr2(0, GICD_ICPENDR + 4, 4, 1u << 8);
    assert_int_equal(phys.deactivated, 1);
    assert_false(irq_of(0, 40)->phys_active);
    /* Cleared again: nothing more to let go. */
    wr2(0, GICD_ICACTIVER + 4, 4, 1u << 8);
    assert_int_equal(phys.deactivated, 1);
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
    const struct CMUnitTest tests[] = {
        T(test_linked_spi_follows_the_guests_routing),
        T(test_linked_spi_set_pending_goes_to_the_physical_one),
        T(test_linked_spi_cleared_while_physically_active_is_let_go),
        T(test_v2_ctlr_holds_the_two_group_enables_only),
        T(test_v2_typer_reports_it_lines_and_cpu_number),
        T(test_v2_iidr_names_arm_and_pidr2_archrev_is_2),
        T(test_v2_isenabler_icenabler_write_one_to_set_and_clear),
        T(test_v2_writing_zero_to_set_and_clear_registers_has_no_effect),
        T(test_v2_sgi_enable_bits_are_rao_wi),
        T(test_v2_ispendr_icpendr_set_and_clear_pending),
        T(test_v2_icpendr_does_not_clear_an_asserted_level_line),
        T(test_v2_ispendr_sgi_bits_ignore_writes),
        T(test_v2_icpendr_sgi_bits_ignore_writes),
        T(test_v2_isactiver_icactiver_set_and_clear_active),
        T(test_v2_igroupr_is_a_plain_read_write_register),
        T(test_v2_ipriorityr_byte_access_keeps_five_high_bits),
        T(test_v2_ipriorityr_word_access_sets_four_priorities),
        T(test_v2_ipriorityr_of_sgis_and_ppis_is_banked),
        T(test_v2_itargetsr_spi_byte_access_masked_to_existing_vcpus),
        T(test_v2_itargetsr_spi_word_access),
        T(test_v2_itargetsr_of_private_interrupts_is_read_only_accessing_cpu),
        T(test_v2_icfgr_sgis_read_only_edge),
        T(test_v2_icfgr_ppis_and_spis_are_programmable),
        T(test_v2_sgir_target_list_filter_0_uses_the_list),
        T(test_v2_sgir_filter_1_targets_all_but_self),
        T(test_v2_sgir_filter_2_targets_self_only),
        T(test_v2_sgir_reserved_filter_and_absent_targets_send_nothing),
        T(test_v2_sgir_records_each_source_separately),
        T(test_v2_sgir_kicks_the_targets),
        T(test_v2_spendsgir_cpendsgir_per_source_and_banked),
        T(test_v2_spendsgir_bits_of_absent_cpus_are_raz_wi),
        T(test_v2_spendsgir_word_access_covers_four_sgis),
        T(test_v2_out_of_range_intids_are_raz_wi),
        T(test_v2_reserved_offsets_are_raz_wi),
        T(test_v2_set_pending_of_a_deliverable_spi_kicks_its_target),
        T(test_v2_enabling_a_pending_interrupt_of_a_disabled_group_does_not_kick),
        T(test_v2_enabling_a_group_kicks_vcpus),
        T(test_v2_has_no_gicv3_registers),
        T(test_v3_ctlr_are_and_ds_read_as_one),
        T(test_v3_typer_reports_it_lines_and_id_bits_without_lpis),
        T(test_v3_typer_cpu_number_is_zero_without_legacy_operation),
        T(test_v3_iidr_and_pidr2_archrev_is_3),
        T(test_v3_dist_registers_of_sgis_and_ppis_are_raz_wi),
        T(test_v3_dist_registers_of_spis_work),
        T(test_v3_itargetsr_is_raz_wi),
        T(test_v3_irouter_64_bit_access_masks_reserved_bits),
        T(test_v3_irouter_32_bit_halves),
        T(test_v3_irouter_routes_spis),
        T(test_v3_irouter_of_private_and_absent_intids_is_raz_wi),
        T(test_v3_dist_has_no_gicv2_sgi_registers),
        T(test_v3_reserved_dist_offsets_are_raz_wi),
        T(test_v3_gicr_typer_affinity_processor_number_and_last),
        T(test_v3_gicr_typer_last_on_a_single_redistributor),
        T(test_v3_gicr_waker_processor_sleep_and_children_asleep),
        T(test_v3_gicr_ctlr_reads_zero_without_lpis),
        T(test_v3_gicr_sgi_frame_enables_are_banked_per_redistributor),
        T(test_v3_gicr_sgi_frame_pending_and_active_are_banked),
        T(test_v3_gicr_igroupr0_is_read_write),
        T(test_v3_gicr_ipriorityr_banked_with_five_bits),
        T(test_v3_gicr_icfgr0_sgis_read_only_edge_icfgr1_programmable),
        T(test_v3_gicr_sgi_frame_ignores_shared_interrupts),
        T(test_v3_gicr_reserved_offsets_are_raz_wi),
        T(test_v3_redistributor_of_an_absent_vcpu_is_refused),
        T(test_sgi1r_target_list_with_range_zero),
        T(test_sgi1r_target_list_may_include_self),
        T(test_sgi1r_target_list_bits_of_absent_vcpus_are_ignored),
        T(test_sgi1r_irm_broadcasts_to_all_but_self),
        T(test_sgi1r_range_selector_moves_the_target_list),
        T(test_sgi1r_nonzero_aff1_aff2_aff3_target_nobody),
        T(test_sgi1r_kicks_targets_whose_sgi_is_enabled),
        T(test_v2_every_word_outside_the_registers_is_raz_wi),
        T(test_v3_every_dist_word_outside_the_registers_is_raz_wi),
        T(test_v3_every_redist_word_outside_the_registers_is_raz_wi),
        T(test_v2_registers_take_only_their_access_widths),
        T(test_v3_registers_take_only_their_access_widths),
        T(test_an_access_running_past_a_register_is_raz_wi),
    };
#undef T

    return cmocka_run_group_tests_name("vgic_mmio", tests, NULL, NULL);
}
