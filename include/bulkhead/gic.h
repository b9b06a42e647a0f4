/*
 * The physical GIC (v2 or v3) as the hypervisor drives it, and the virtual CPU interface of the
 * calling CPU (GICH_* or ICH_*_EL2). The hypervisor never takes IRQs through its vector: it
 * polls the CPU interface after a guest exits on an IRQ and after WFI wakes it.
 */
#ifndef BULKHEAD_GIC_H
#define BULKHEAD_GIC_H

#include "vgic.h"

#define SGI_KICK 0 /* "look at your vCPU again" between physical CPUs */
#define GIC_SPURIOUS 1023

/* Boot CPU: distributor. Every CPU: its redistributor / banked registers and CPU interface. */
void gic_init(const struct board_gic *gic);
void gic_cpu_init(unsigned cpu);

/* Acknowledge (returns the raw IAR value: GICv2 keeps an SGI's source CPU in it, and EOIR and
 * DIR must get it back whole), priority drop, deactivate. gic_iar_intid() >= 1020: nothing. */
uint32_t gic_ack(void);
void gic_eoi(uint32_t iar);
void gic_deactivate(uint32_t iar);

/* GICv3 INTIDs are the whole value (LPIs aside); GICv2 has the source CPU in bits 12:10. */
unsigned gic_iar_intid(uint32_t iar);
/* Clears an interrupt's active state (private to this CPU for INTIDs below 32). */
void gic_clear_active(unsigned intid);
void gic_send_sgi(unsigned pcpu, unsigned sgi);
/* Enables a physical SPI the hypervisor itself handles, routed to physical CPU pcpu. */
void gic_enable_spi(unsigned intid, unsigned pcpu);

/* Call right before WFI at EL2 (see gic_hw.c for the emulator bug it works around). */
void gic_before_wfi(void);

/* The virtual CPU interface of this CPU. */
unsigned gic_nr_lrs(void);
void gic_vcpu_reset(void);
extern const struct vgic_hw_ops gic_lr_ops;

#endif
