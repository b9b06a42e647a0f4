/*
 * The physical side of passed-through interrupts: which VM owns each SPI, and the physical
 * distributor's state following the VM's life and its guest's routing. See vdev/passthrough.c
 * for the VM's side.
 */
#include "bulkhead/passthrough.h"

#include "bulkhead/gic.h"
#include "bulkhead/passthrough_irq.h"
#include "bulkhead/printk.h"
#include "bulkhead/vm.h"

_Static_assert(PT_MAX_INTID == VGIC_MAX_IRQS - 1, "a passed SPI keeps its INTID in the VM");

/* Written at boot, while VMs are created; read at every physical interrupt. */
static struct vm *spi_owner[PT_MAX_INTID + 1];

static int claim_spi(void *ctx, unsigned intid, bool edge)
{
    struct vm *vm = ctx;

    if (intid > PT_MAX_INTID || spi_owner[intid]) {
        pr_err("%s: SPI %u cannot be given to it (taken by %s)\n", vm->cfg.node, intid - 32,
               intid > PT_MAX_INTID ? "nobody: out of range" : spi_owner[intid]->cfg.node);
        return -1;
    }
    spi_owner[intid] = vm;
    gic_spi_set_enabled(intid, false);
    gic_spi_configure(intid, edge);
    gic_spi_route(intid, vm->vcpus[0].pcpu);
    return 0;
}

static void start_spi(void *ctx, unsigned intid)
{
    (void)ctx;
    gic_spi_quiesce(intid);
    gic_spi_set_enabled(intid, true);
}

static void stop_spi(void *ctx, unsigned intid)
{
    (void)ctx;
    gic_spi_set_enabled(intid, false);
    gic_spi_quiesce(intid);
}

/* QEMU's GICv2 does not signal an interrupt left pending when a guest's EOI deactivates a
 * hardware-linked one (see el2/main.c on the timer): there the hypervisor deactivates. */
static const struct vdev_phys_irq_ops phys_held = {claim_spi, start_spi, stop_spi, true};
static const struct vdev_phys_irq_ops phys_hw = {claim_spi, start_spi, stop_spi, false};

const struct vdev_phys_irq_ops *passthrough_phys_ops(enum gic_version version)
{
    return version == GIC_V3 ? &phys_hw : &phys_held;
}

/* The guest routed a passed SPI to one of its vCPUs: the physical one follows, to that vCPU's
 * CPU, so that it arrives where it is taken. */
static void route_linked(void *ctx, unsigned pintid, int vcpu)
{
    struct vm *vm = ctx;

    if (vcpu >= 0 && (unsigned)vcpu < vm->cfg.nr_vcpus) {
        gic_spi_route(pintid, vm->vcpus[vcpu].pcpu);
    }
}

static void deactivate_linked(void *ctx, unsigned pintid)
{
    (void)ctx;
    gic_clear_active(pintid);
}

static void pend_linked(void *ctx, unsigned pintid)
{
    (void)ctx;
    gic_spi_set_pending(pintid);
}

const struct vgic_phys_ops passthrough_vgic_ops = {
    .route = route_linked,
    .deactivate = deactivate_linked,
    .pend = pend_linked,
};

void passthrough_release(const struct vm *vm)
{
    for (unsigned i = 0; i <= PT_MAX_INTID; i++) {
        if (spi_owner[i] == vm) {
            gic_spi_set_enabled(i, false);
            spi_owner[i] = NULL;
        }
    }
}

bool passthrough_irq(uint32_t iar)
{
    unsigned intid = gic_iar_intid(iar);
    struct vm *vm = intid >= 32 && intid <= PT_MAX_INTID ? spi_owner[intid] : NULL;

    if (!vm) {
        return false;
    }
    if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING) {
        /* Active until the guest's EOI (or the hypervisor's, for a held link) lets it go. */
        vgic_inject_edge(&vm->vgic, 0, intid);
    } else {
        gic_deactivate(iar);
    }
    return true;
}
