/*
 * The physical GIC (v2 or v3) as the hypervisor drives it, and the virtual CPU interface of the
 * calling CPU (GICH_* or ICH_*_EL2). The hypervisor never takes IRQs through its vector: it
 * polls the CPU interface after a guest exits on an IRQ and after WFI wakes it.
 *
 * drivers/gic.c is the front: gic_init() picks the version's struct gic_ops (drivers/gicv2.c or
 * drivers/gicv3.c) once, and every function below dispatches through it. Those on the exit path
 * are inline here, so that each costs one indirect call into the version's code.
 */
#ifndef BULKHEAD_GIC_H
#define BULKHEAD_GIC_H

#include "vgic.h"

#define SGI_KICK 0 /* "look at your vCPU again" between physical CPUs */
#define GIC_SPURIOUS 1023

/* The private interrupts the hypervisor itself takes, as PPI numbers (0..15, as in the DT). */
struct gic_hyp_ppis {
    uint32_t maint;      /* the virtual interface's maintenance interrupt */
    uint32_t hyp_timer;  /* CNTHP, EL2's own timer */
    uint32_t virt_timer; /* CNTV, linked to the vCPU's virtual timer */
};

/* Boot CPU, once: the distributor. cpus[0..nr_cpus) are the physical CPUs that gic_cpu_init(),
 * gic_send_sgi() and gic_enable_spi() number (their MPIDRs are copied). A board without a GIC
 * (version GIC_NONE) makes every function below a no-op. */
void gic_init(const struct board_gic *gic, const struct board_cpu *cpus, unsigned nr_cpus,
              const struct gic_hyp_ppis *ppis);
/* Every CPU, cpu being its index in cpus[]: its redistributor / banked registers and CPU
 * interface. */
void gic_cpu_init(unsigned cpu);

/* Acknowledge (returns the raw IAR value: GICv2 keeps an SGI's source CPU in it, and EOIR and
 * DIR must get it back whole), priority drop, deactivate. gic_iar_intid() >= 1020: nothing. */
static inline uint32_t gic_ack(void);
static inline void gic_eoi(uint32_t iar);
static inline void gic_deactivate(uint32_t iar);

/* GICv3 INTIDs are the whole value (LPIs aside); GICv2 has the source CPU in bits 12:10. */
static inline unsigned gic_iar_intid(uint32_t iar);
/* Clears an interrupt's active state (private to this CPU for INTIDs below 32). */
void gic_clear_active(unsigned intid);
static inline void gic_send_sgi(unsigned pcpu, unsigned sgi);
/* Enables a physical SPI the hypervisor itself handles, routed to physical CPU pcpu. */
void gic_enable_spi(unsigned intid, unsigned pcpu);

/* SPIs passed through to VMs: trigger (ICFGR), routing to physical CPU pcpu, enable, and
 * pending and active state cleared (the state a VM's previous life left). Out-of-range INTIDs
 * are ignored. */
void gic_spi_configure(unsigned intid, bool edge);
void gic_spi_route(unsigned intid, unsigned pcpu);
void gic_spi_set_enabled(unsigned intid, bool on);
void gic_spi_quiesce(unsigned intid);
void gic_spi_set_pending(unsigned intid);

/* Call right before WFI at EL2 (see drivers/gicv2.c for the emulator bug it works around). */
static inline void gic_before_wfi(void);

/* Sets an interrupt's active state (private to this CPU for INTIDs below 32): a time-shared vCPU
 * coming back to its CPU with its virtual timer's interrupt still active in the guest. */
void gic_set_active(unsigned intid);

/* The virtual CPU interface of this CPU. */
unsigned gic_nr_lrs(void);
void gic_vcpu_reset(void);
/* What of the virtual CPU interface belongs to the vCPU on it beyond its list registers (which the
 * vGIC keeps: vgic_sync empties them at every exit): the guest's priority mask, binary point and
 * enables (VMCR) and its active priorities (APRs). Saved and restored when a CPU shared by
 * several vCPUs switches between them. */
struct gic_vcpu_if {
    uint64_t vmcr;
    uint32_t ap0r, ap1r;
};
void gic_vcpu_if_save(struct gic_vcpu_if *s);
void gic_vcpu_if_restore(const struct gic_vcpu_if *s);
/* The list registers for vgic_flush() and vgic_sync(): gic_init() copies the version's own
 * here, so that each access is one indirect call. */
extern struct vgic_hw_ops gic_lr_ops;

/*
 * Between drivers/gic.c and the two versions, and the inline functions above; nothing else uses
 * what follows.
 */

/* One GIC version. gic_init() calls init after reading the number of interrupts; gic_enable_spi()
 * has checked the INTID, and enables the SPI itself after route_spi. */
struct gic_ops {
    uint32_t iar_intid_mask; /* gic_iar_intid() = iar & this */
    void (*init)(const struct board_gic *gic, const struct board_cpu *cpus, unsigned nr_cpus);
    void (*cpu_init)(unsigned cpu);
    uint32_t (*ack)(void);
    void (*eoi)(uint32_t iar);
    void (*deactivate)(uint32_t iar);
    void (*clear_active)(unsigned intid);
    void (*set_active)(unsigned intid);
    void (*route_spi)(unsigned intid, unsigned pcpu);
    void (*send_sgi)(unsigned pcpu, unsigned sgi);
    void (*before_wfi)(void);
    unsigned (*nr_lrs)(void);
    void (*vcpu_reset)(void);
    void (*vcpu_if_save)(struct gic_vcpu_if *s);
    void (*vcpu_if_restore)(const struct gic_vcpu_if *s);
    struct vgic_hw_ops lr; /* copied to gic_lr_ops */
};

extern const struct gic_ops gicv2_ops;
extern const struct gic_ops gicv3_ops;
/* The version in use: gic_init() sets it once; until then, and without a GIC, do-nothing ops. */
extern const struct gic_ops *gic_impl;

static inline uint32_t gic_ack(void)
{
    return gic_impl->ack();
}

static inline void gic_eoi(uint32_t iar)
{
    gic_impl->eoi(iar);
}

static inline void gic_deactivate(uint32_t iar)
{
    gic_impl->deactivate(iar);
}

static inline unsigned gic_iar_intid(uint32_t iar)
{
    return iar & gic_impl->iar_intid_mask;
}

static inline void gic_send_sgi(unsigned pcpu, unsigned sgi)
{
    gic_impl->send_sgi(pcpu, sgi);
}

static inline void gic_before_wfi(void)
{
    gic_impl->before_wfi();
}

/* Distributor registers both versions have; GICv3's redistributor SGI frame repeats the first
 * word of each for the private interrupts. */
#define GICD_CTLR 0x000
#define GICD_TYPER 0x004
#define GICD_IGROUPR 0x080
#define GICD_ISENABLER 0x100
#define GICD_ICENABLER 0x180
#define GICD_ISPENDR 0x200
#define GICD_ICPENDR 0x280
#define GICD_ISACTIVER 0x300
#define GICD_ICACTIVER 0x380
#define GICD_IPRIORITYR 0x400
#define GICD_ICFGR 0xc00

#define GIC_PMR_ALL 0xf0 /* priority mask: every priority the hypervisor uses is signalled */

static inline uint32_t gic_read32(uintptr_t a)
{
    return *(volatile uint32_t *)a;
}

static inline void gic_write32(uintptr_t a, uint32_t v)
{
    *(volatile uint32_t *)a = v;
}

/* Shared setup, in drivers/gic.c. The SPIs of the distributor at dist: disabled, inactive, each
 * GICD_IGROUPR word set to igroupr (0: all in group 0, 0xffffffff: all in group 1), at the
 * hypervisor's priority. */
void gic_dist_init_spis(uintptr_t dist, uint32_t igroupr);
/* The 32 private interrupts of the calling CPU, whose SGI/PPI registers start at base (GICv2:
 * the distributor, banked; GICv3: the redistributor's SGI frame): inactive, at the hypervisor's
 * priority, only the hypervisor's own enabled. */
void gic_private_irqs_init(uintptr_t base);

#endif
