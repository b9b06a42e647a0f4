/*
 * The GIC, v2 or v3, as the test guests drive it. guest_init() finds it in the DTB (gic.version
 * 0: none); gic_dist_init() on the boot CPU, then gic_cpu_init() on each CPU, set it up:
 *   GICv2: GICD and GICC; every interrupt in group 0, signalled as IRQ (GICC_CTLR EnableGrp0,
 *          FIQEn clear).
 *   GICv3: GICD and the redistributors, affinity routing, every interrupt in group 1, the CPU
 *          interface through the ICC_* system registers.
 * Every interrupt gets priority GIC_PRIO_DEFAULT; SGIs are enabled, PPIs and SPIs disabled.
 * Functions taking an INTID below 32 act on the calling CPU's copy.
 */
#ifndef GUEST_GIC_H
#define GUEST_GIC_H

#include "guest.h"
#include "sysreg.h"

#define GICD_CTLR 0x000
#define GICD_TYPER 0x004
#define GICD_IIDR 0x008
#define GICD_IGROUPR 0x080
#define GICD_ISENABLER 0x100
#define GICD_ICENABLER 0x180
#define GICD_ISPENDR 0x200
#define GICD_ICPENDR 0x280
#define GICD_ICACTIVER 0x380
#define GICD_IPRIORITYR 0x400
#define GICD_ITARGETSR 0x800
#define GICD_ICFGR 0xc00
#define GICD_SGIR 0xf00
#define GICD_SPENDSGIR 0xf20
#define GICD_IROUTER 0x6000
#define GICD_CTLR_RWP BIT(31)
#define GICD_CTLR_ARE BIT(4)
#define GICD_CTLR_GRP1 BIT(1)
#define GICD_CTLR_GRP0 BIT(0)

#define GICC_CTLR 0x00
#define GICC_PMR 0x04
#define GICC_BPR 0x08
#define GICC_IAR 0x0c
#define GICC_EOIR 0x10

#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_WAKER_SLEEP BIT(1)
#define GICR_WAKER_CHILDREN_ASLEEP BIT(2)
#define GICR_TYPER_VLPIS BIT(1)
#define GICR_TYPER_LAST BIT(4)
#define GICR_SGI 0x10000 /* the SGI frame: GICD-like registers for INTIDs 0..31 */

#define GIC_SPURIOUS 1020 /* INTIDs from here up are special */
#define GIC_PRIO_DEFAULT 0x80
#define GIC_PMR_OPEN 0xff

struct gic {
    unsigned version;     /* 2 or 3; 0: none in the DTB */
    uintptr_t gicd, gicc; /* gicc: GICv2 only */
    uintptr_t gicr_base;  /* GICv3: the first redistributor region */
    uint64_t gicr_size;
    unsigned nr_irqs;               /* from GICD_TYPER.ITLinesNumber */
    uintptr_t rd[GUEST_MAX_CPUS];   /* GICv3: each CPU's redistributor */
    uint8_t cpu_if[GUEST_MAX_CPUS]; /* GICv2: each CPU's interface mask (ITARGETSR0) */
    uint64_t mpidr[GUEST_MAX_CPUS]; /* affinity, as each CPU reads it */
};

extern struct gic gic;

/* The distributor: every SPI disabled, not pending, routed to CPU 0; then on. Boot CPU only,
 * before the others. */
void gic_dist_init(void);
/* CPU cpu's (the caller's) private interrupts and CPU interface (PMR open, smallest binary
 * point, EOImode 0, its group on). False if it has no redistributor or CPU interface. */
bool gic_cpu_init(unsigned cpu);

void gic_enable(unsigned intid, bool on);
void gic_set_priority(unsigned intid, uint8_t prio);
void gic_set_pending(unsigned intid, bool on);
bool gic_pending(unsigned intid);
/* Level-sensitive (ICFGR Int_config[1] = 0) or edge. */
void gic_set_level(unsigned intid, bool level);
/* Routes SPI intid to CPU cpu: GICv2 ITARGETSR, GICv3 IROUTER (Interrupt_Routing_Mode 0). */
void gic_route_spi(unsigned intid, unsigned cpu);
/* The SPI's ITARGETSR byte (GICv2) or IROUTER (GICv3). */
uint64_t gic_spi_route(unsigned intid);
/* Makes SGI sgi pending on this CPU through the pending registers, as if this CPU sent it:
 * GICD_SPENDSGIR (GICv2), GICR_ISPENDR0 (GICv3). */
void gic_pend_sgi(unsigned sgi);
void gic_set_pmr(uint8_t pmr);

/* The hot paths, inline: bench's IPI figure counts the sender's instructions. */

/* ICC_SGI1R_EL1 for one target CPU (affinity routing, no range selector beyond Aff0/16). */
static inline uint64_t gic_sgi1r_value(unsigned sgi, uint64_t mpidr)
{
    uint64_t aff0 = mpidr & 0xff, aff1 = (mpidr >> 8) & 0xff, aff2 = (mpidr >> 16) & 0xff,
             aff3 = (mpidr >> 32) & 0xff;
    return (aff3 << 48) | (aff2 << 32) | ((aff0 >> 4) << 44) | (aff1 << 16) |
           ((uint64_t)sgi << 24) | (1ull << (aff0 & 0xf));
}

static inline void gic_send_sgi(unsigned sgi, unsigned cpu)
{
    if (gic.version == 2) {
        mmio_write32(gic.gicd + GICD_SGIR, ((uint32_t)gic.cpu_if[cpu] << 16) | sgi);
    } else {
        write_icc_sgi1r(gic_sgi1r_value(sgi, gic.mpidr[cpu]));
        isb();
    }
}

/* The raw IAR value: GICv2 keeps an SGI's source CPU in it, and EOIR must get it back whole. */
static inline uint32_t gic_ack(void)
{
    if (gic.version == 2) {
        return mmio_read32(gic.gicc + GICC_IAR);
    }
    uint32_t v = (uint32_t)read_icc_iar1();
    dsb(); /* acknowledged before anything the handler then does */
    return v;
}

static inline unsigned gic_iar_intid(uint32_t iar)
{
    return gic.version == 2 ? iar & 0x3ff : iar & 0xffffff;
}

static inline void gic_eoi(uint32_t iar)
{
    if (gic.version == 2) {
        mmio_write32(gic.gicc + GICC_EOIR, iar);
    } else {
        write_icc_eoir1(iar);
        isb();
    }
}

#endif
