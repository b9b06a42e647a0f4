/* The physical side of passed-through interrupts (el2/passthrough.c). */
#ifndef BULKHEAD_PASSTHROUGH_IRQ_H
#define BULKHEAD_PASSTHROUGH_IRQ_H

#include "config.h"
#include "vdev.h"
#include "vgic.h"

/* What a VM's passthrough devices use to claim, start and stop their SPIs (struct vm_io), for
 * the board's GIC version. ctx is the struct vm. */
const struct vdev_phys_irq_ops *passthrough_phys_ops(enum gic_version version);
/* The vGIC's physical side for those SPIs (struct vgic_dist.phys); ctx is the struct vm. */
extern const struct vgic_phys_ops passthrough_vgic_ops;

struct vm;
/* A VM that failed to be created gives back the SPIs it claimed (its slot is reused). */
void passthrough_release(const struct vm *vm);

/* A physical interrupt just acknowledged (and priority-dropped): if a VM owns it, it is
 * injected there, linked (or, the VM not running, deactivated), and true returned. */
bool passthrough_irq(uint32_t iar);

#endif
