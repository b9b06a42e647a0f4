/* The GIC's set-up and per-interrupt registers (gic.h). */
#include "gic.h"

struct gic gic;

/* Registers of INTID intid's bank: the GICD for SPIs (and GICv2's banked private ones), this
 * CPU's redistributor SGI frame for a GICv3 private one. */
static uintptr_t bank(unsigned intid)
{
    if (gic.version == 3 && intid < 32) {
        return gic.rd[guest_cpu_index()] + GICR_SGI;
    }
    return gic.gicd;
}

static void bit_write(unsigned reg, unsigned intid)
{
    mmio_write32(bank(intid) + reg + intid / 32 * 4, 1u << (intid % 32));
}

static bool bit_read(unsigned reg, unsigned intid)
{
    return (mmio_read32(bank(intid) + reg + intid / 32 * 4) >> (intid % 32)) & 1;
}

/* One byte of a byte-per-interrupt register, by a word read-modify-write. */
static void byte_write(unsigned reg, unsigned intid, uint8_t v)
{
    uintptr_t a = bank(intid) + reg + (intid & ~3u);
    unsigned shift = (intid & 3) * 8;
    uint32_t w = mmio_read32(a);
    mmio_write32(a, (w & ~(0xffu << shift)) | ((uint32_t)v << shift));
}

void gic_enable(unsigned intid, bool on)
{
    bit_write(on ? GICD_ISENABLER : GICD_ICENABLER, intid);
}

void gic_set_priority(unsigned intid, uint8_t prio)
{
    byte_write(GICD_IPRIORITYR, intid, prio);
}

void gic_set_pending(unsigned intid, bool on)
{
    bit_write(on ? GICD_ISPENDR : GICD_ICPENDR, intid);
}

bool gic_pending(unsigned intid)
{
    return bit_read(GICD_ISPENDR, intid);
}

void gic_set_level(unsigned intid, bool level)
{
    uintptr_t a = bank(intid) + GICD_ICFGR + intid / 16 * 4;
    unsigned shift = (intid % 16) * 2 + 1;
    uint32_t w = mmio_read32(a);
    mmio_write32(a, level ? w & ~(1u << shift) : w | (1u << shift));
}

void gic_route_spi(unsigned intid, unsigned cpu)
{
    if (gic.version == 2) {
        byte_write(GICD_ITARGETSR, intid, gic.cpu_if[cpu]);
    } else {
        uintptr_t a = gic.gicd + GICD_IROUTER + intid * 8;
        uint64_t v = gic.mpidr[cpu] & MPIDR_AFF_MASK;
        mmio_write32(a, (uint32_t)v);
        mmio_write32(a + 4, (uint32_t)(v >> 32));
    }
}

uint64_t gic_spi_route(unsigned intid)
{
    if (gic.version == 2) {
        return (mmio_read32(gic.gicd + GICD_ITARGETSR + (intid & ~3u)) >> ((intid & 3) * 8)) & 0xff;
    }
    uintptr_t a = gic.gicd + GICD_IROUTER + intid * 8;
    return mmio_read32(a) | (uint64_t)mmio_read32(a + 4) << 32;
}

void gic_pend_sgi(unsigned sgi)
{
    if (gic.version == 2) {
        /* A byte write: QEMU's GICv2 marks an SGI pending (with no source) for every byte of
         * GICD_SPENDSGIR written, zeros included, and then asserts when it is acknowledged. */
        uint8_t v = gic.cpu_if[guest_cpu_index()];
        asm volatile("strb %w0, [%1]" : : "r"(v), "r"(gic.gicd + GICD_SPENDSGIR + sgi) : "memory");
    } else {
        gic_set_pending(sgi, true);
    }
}

void gic_set_pmr(uint8_t pmr)
{
    if (gic.version == 2) {
        mmio_write32(gic.gicc + GICC_PMR, pmr);
    } else {
        write_icc_pmr(pmr);
        isb();
    }
}

static void gicd_wait_rwp(void)
{
    for (unsigned i = 0; i < 1000000 && (mmio_read32(gic.gicd + GICD_CTLR) & GICD_CTLR_RWP); i++) {
    }
}

void gic_dist_init(void)
{
    uint32_t typer = mmio_read32(gic.gicd + GICD_TYPER);

    gic.nr_irqs = MIN(((typer & 0x1f) + 1) * 32, 1020u);
    mmio_write32(gic.gicd + GICD_CTLR, 0);
    if (gic.version == 3) {
        gicd_wait_rwp();
    }
    for (unsigned i = 32; i < gic.nr_irqs; i += 32) {
        mmio_write32(gic.gicd + GICD_ICENABLER + i / 8, 0xffffffff);
        mmio_write32(gic.gicd + GICD_ICPENDR + i / 8, 0xffffffff);
        mmio_write32(gic.gicd + GICD_ICACTIVER + i / 8, 0xffffffff);
        mmio_write32(gic.gicd + GICD_IGROUPR + i / 8, gic.version == 3 ? 0xffffffff : 0);
    }
    for (unsigned i = 32; i < gic.nr_irqs; i += 4) {
        mmio_write32(gic.gicd + GICD_IPRIORITYR + i, GIC_PRIO_DEFAULT * 0x01010101u);
    }
    if (gic.version == 3) {
        gicd_wait_rwp();
        mmio_write32(gic.gicd + GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_GRP1);
        gicd_wait_rwp();
    } else {
        mmio_write32(gic.gicd + GICD_CTLR, GICD_CTLR_GRP0);
    }
}

/* A CPU's GICv3 redistributor: the frame whose GICR_TYPER affinity is its MPIDR's. */
static uintptr_t find_redist(uint64_t mpidr)
{
    uint32_t want = (uint32_t)(((mpidr >> 8) & 0xff000000) | (mpidr & 0xffffff));
    uintptr_t a = gic.gicr_base;

    while (a + 0x20000 <= gic.gicr_base + gic.gicr_size) {
        uint32_t lo = mmio_read32(a + GICR_TYPER), hi = mmio_read32(a + GICR_TYPER + 4);
        if (hi == want) {
            return a;
        }
        if (lo & GICR_TYPER_LAST) {
            break;
        }
        a += (lo & GICR_TYPER_VLPIS) ? 0x40000 : 0x20000;
    }
    return 0;
}

/* A CPU's 32 private interrupts in a GICD-like bank: SGIs enabled, PPIs disabled, nothing
 * pending or active, priority GIC_PRIO_DEFAULT. */
static void private_init(uintptr_t regs)
{
    mmio_write32(regs + GICD_ICENABLER, 0xffff0000);
    mmio_write32(regs + GICD_ICPENDR, 0xffffffff);
    mmio_write32(regs + GICD_ICACTIVER, 0xffffffff);
    for (unsigned i = 0; i < 32; i += 4) {
        mmio_write32(regs + GICD_IPRIORITYR + i, GIC_PRIO_DEFAULT * 0x01010101u);
    }
    mmio_write32(regs + GICD_ISENABLER, 0x0000ffff);
}

static bool cpu_init_v2(unsigned cpu)
{
    gic.cpu_if[cpu] = (uint8_t)mmio_read32(gic.gicd + GICD_ITARGETSR);
    private_init(gic.gicd);
    mmio_write32(gic.gicc + GICC_PMR, GIC_PMR_OPEN);
    mmio_write32(gic.gicc + GICC_BPR, 0);
    mmio_write32(gic.gicc + GICC_CTLR, 1); /* EnableGrp0; FIQEn = 0: group 0 is IRQ */
    return gic.cpu_if[cpu] != 0;
}

static bool cpu_init_v3(unsigned cpu)
{
    uintptr_t rd = find_redist(gic.mpidr[cpu]);

    gic.rd[cpu] = rd;
    if (!rd) {
        return false;
    }
    mmio_write32(rd + GICR_WAKER, mmio_read32(rd + GICR_WAKER) & ~GICR_WAKER_SLEEP);
    for (unsigned i = 0; i < 1000000 && (mmio_read32(rd + GICR_WAKER) & GICR_WAKER_CHILDREN_ASLEEP);
         i++) {
    }
    mmio_write32(rd + GICR_SGI + GICD_IGROUPR, 0xffffffff);
    private_init(rd + GICR_SGI);
    write_icc_sre(read_icc_sre() | 1);
    isb(); /* the system-register interface is on before the ICC_* writes below */
    write_icc_pmr(GIC_PMR_OPEN);
    write_icc_bpr1(0);
    write_icc_ctlr(0);
    write_icc_igrpen1(1);
    isb();
    return true;
}

bool gic_cpu_init(unsigned cpu)
{
    gic.mpidr[cpu] = read_mpidr_aff();
    return gic.version == 2 ? cpu_init_v2(cpu) : cpu_init_v3(cpu);
}
