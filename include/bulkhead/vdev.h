/*
 * Device models and the VM's I/O they plug into.
 *
 * A device is an object: a model's state struct that begins with a struct vdev. When a model
 * creates one in a VM it registers, together, the device itself (for reset, and save/restore
 * when vCPUs move), its MMIO ranges (each with its own state pointer, as KVM's kvm_io_bus and
 * Bao's vm_emul_add_mem do) and the interrupts it drives. Models are chosen by device-tree
 * `compatible`, as Xvisor does: adding a model is one new file and one line in vdev/vdev.c's
 * table. Nothing outside the model knows its fields.
 *
 * The VM's side of this is struct vm_io: the MMIO bus searched on a data abort, the list of
 * devices a reset walks, which interrupts are taken, and the services a device uses (the vGIC,
 * stage 2, the console port). It is pure C and host-tested.
 *
 * Locking: the MMIO bus and the device list are written only while the VM is created, before
 * any vCPU runs, and read without a lock after. A device protects its own state with its own
 * lock (a model's MMIO handlers are called with no lock held). Lock order: a device's lock, then
 * the vGIC's, then the console's.
 */
#ifndef BULKHEAD_VDEV_H
#define BULKHEAD_VDEV_H

#include "config.h"
#include "mmio.h"
#include "pt.h"
#include "vgic.h"

struct vdev;
struct console_port;

struct vdev_ops {
    /* Back to the state after creation: the VM is being (re)started and none of its vCPUs
     * runs. NULL if the device keeps no state of its own. */
    void (*reset)(struct vdev *dev);
    /* The VM stopped running: for good (powered off, stopped), or to be reset (for_good
     * false; reset() follows). Its vCPUs may still be on their way out. A device that passes
     * hardware through silences it. May be NULL. */
    void (*halt)(struct vdev *dev, bool for_good);
    /* The deadline the device armed (vm_io's clock) has come: now is the counter. May be
     * NULL for a device that arms none. */
    void (*expire)(struct vdev *dev, uint64_t now);
};

struct vdev {
    const struct vdev_ops *ops;
    char name[NAME_LEN]; /* "pl011@9000000": in messages and the MMIO table */
    struct vdev *next;   /* in its VM's list, in creation order */
    size_t size;         /* of the whole object, this header included (a snapshot copies it) */
};

/* An interrupt line from a device into its VM's vGIC. */
struct vdev_irq {
    struct vgic_dist *vgic;
    struct virq *virq; /* the SPI's state in vgic, looked up once; NULL: not connected */
    unsigned intid;    /* 0: not connected */
};

#define VDEV_MAX_REGS 4
#define VDEV_MAX_IRQS 4

/* What a device is created from: a node of the VM's board (its compatible, its reg ranges as
 * the VM sees them, its SPIs), built from the host device tree or the VM's configuration. */
struct vdev_desc {
    const char *compatible;
    struct mem_range reg[VDEV_MAX_REGS];
    unsigned nr_reg;
    uint32_t spis[VDEV_MAX_IRQS]; /* SPI numbers as a DT gives them (INTID - 32) */
    unsigned nr_spis;
    bool spi_edge[VDEV_MAX_IRQS]; /* for passed-through SPIs: edge-triggered (else level) */
    /* Host physical ranges a model maps into the VM, when it passes hardware through (the GICv2
     * virtual CPU interface; a passed-through device's reg[i] is backed by host[i]). */
    struct mem_range host[VDEV_MAX_REGS];
    unsigned nr_host;
    /* What a model needs beyond the node (the doorbell's channel: struct shm_doorbell_params);
     * NULL for the others. */
    const void *params;
};

/* The physical interrupt controller, for devices that give a VM hardware interrupts. */
struct vdev_phys_irq_ops {
    /* Physical SPI intid now belongs to the VM: configured edge or level, routed to where the
     * VM's vCPU 0 runs, left disabled. Returns 0, or -1 after printing why. */
    int (*claim)(void *ctx, unsigned intid, bool edge);
    /* The VM (re)starts: what a previous life left pending or active is cleared, then the SPI
     * is enabled. */
    void (*start)(void *ctx, unsigned intid);
    /* The VM stopped: the SPI is disabled, its pending and active state cleared. */
    void (*stop)(void *ctx, unsigned intid);
    /* Linked interrupts are held: the hypervisor, not the guest's EOI, deactivates them
     * (vgic_link_hw). */
    bool held;
};

/* Time, for a device that keeps it (a watchdog). */
struct vdev_clock_ops {
    uint64_t (*now)(void *ctx); /* the system counter (CNTPCT, which is the guest's CNTVCT) */
    /* Calls dev's expire() once, on the CPU of the VM's vCPU 0, at or soon after counter value
     * deadline (UINT64_MAX: cancels). One deadline per VM: the last call wins. */
    void (*arm)(void *ctx, struct vdev *dev, uint64_t deadline);
    /* The guest let dev, its watchdog, expire: the VM's bulkhead,on-watchdog policy applies.
     * Call with no lock held: it may halt the VM, which calls every device's halt(). */
    void (*watchdog_expired)(void *ctx, const struct vdev *dev);
};

/* The VM's RAM, for devices that read and write it (virtio's rings and buffers). */
struct vdev_mem_ops {
    /* A hypervisor pointer to [ipa, ipa + len) of the VM's RAM, whose blocks not yet touched
     * are populated first; NULL unless the whole range (len > 0) is the VM's RAM. Takes only the
     * VM's RAM lock, a leaf: callable under a device's lock. */
    void *(*map)(void *ctx, ipa_t ipa, uint64_t len);
};

#define VM_IO_IRQ_WORDS ((VGIC_MAX_IRQS + 63) / 64)

struct vm_io {
    const char *vm_name;
    unsigned nr_vcpus;
    struct mmio_bus bus;
    struct vdev *devices;
    uint64_t irqs_taken[VM_IO_IRQ_WORDS]; /* INTIDs a device drives */
    /* What devices use. */
    struct vgic_dist *vgic;
    struct pt *s2;
    struct console_port *console;
    const struct vdev_phys_irq_ops *phys_irqs; /* NULL: no device may pass interrupts */
    void *phys_ctx;
    const struct vdev_clock_ops *clock; /* NULL: no device may keep time */
    void *clock_ctx;
    const struct vdev_mem_ops *mem; /* NULL: no device may touch the VM's RAM */
    void *mem_ctx;
    /* Whether a guest's misuse of a device may be said now: the budget its CPU faults share, so
     * that a guest breaking and resetting a device in a loop cannot flood the console. NULL:
     * always. */
    bool (*report_allowed)(void *ctx);
    void *report_ctx;
};

struct vdev_model {
    const char *compatible;
    /* Creates the device in io from desc. Returns 0, or -1 after printing why. */
    int (*create)(struct vm_io *io, const struct vdev_desc *desc);
};

void vm_io_init(struct vm_io *io, const char *vm_name, unsigned nr_vcpus, struct vgic_dist *vgic,
                struct pt *s2, struct console_port *console);

/* Creates the device whose model matches desc->compatible. Returns 0, or -1 after printing why
 * (no such model, or the model refused); a VM whose device failed must not be started, since
 * the device may be left half-registered. */
int vdev_create(struct vm_io *io, const struct vdev_desc *desc);

/* For models. Allocates a device of size bytes (its state struct, starting with struct vdev),
 * names it "<model>@<hex base>" and appends it to the VM's list. NULL if memory ran out. */
struct vdev *vdev_alloc(struct vm_io *io, size_t size, const struct vdev_ops *ops,
                        const char *model, ipa_t base);
/* Routes [base, base+size) of the VM's address space to ops with state. Returns 0, or -1 after
 * printing why (overlap with another device, table full). */
int vdev_add_mmio(struct vm_io *io, const struct vdev *dev, ipa_t base, uint64_t size,
                  const struct mmio_ops *ops, void *state);
/* Takes SPI spi (INTID spi + 32) for dev and connects irq to it. Returns 0, or -1 after printing
 * why (another device has it, or the vGIC has no such SPI). */
int vdev_connect_spi(struct vm_io *io, const struct vdev *dev, uint32_t spi, struct vdev_irq *irq);
/* Drives a connected line (a no-op if not connected). Takes the vGIC lock when the level
 * changes; devices report it after every access, and most reports change nothing, told here
 * without a call or the lock (the line is the vGIC's own, so a reset of either side is seen). */
static inline void vdev_irq_set(const struct vdev_irq *irq, bool level)
{
    if (irq->virq && __atomic_load_n(&irq->virq->line, __ATOMIC_RELAXED) != level) {
        vgic_change_line(irq->vgic, 0, irq->virq, level);
    }
}

/* Resets every device of the VM, in creation order. Call after vgic_reset(): devices link
 * their interrupts again. */
void vm_io_reset(struct vm_io *io);
/* Tells every device of the VM that it stopped running, for good or to be reset. */
void vm_io_halt(struct vm_io *io, bool for_good);

/* The models (each defined in its own file). */
extern const struct vdev_model vpl011_model;
extern const struct vdev_model vgic_v2_model;
extern const struct vdev_model vgic_v3_model;
extern const struct vdev_model passthrough_model;
extern const struct vdev_model doorbell_model;
extern const struct vdev_model sbsa_gwdt_model;

#endif
