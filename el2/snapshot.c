/*
 * Snapshots of paused VMs (include/bulkhead/snapshot.h). Everything is copied while the VM is
 * held: its vCPUs wait in EL2 at the end of an exit (their list registers empty, their general
 * registers in struct vcpu), and the EL1 context of each is read and written on its own CPU
 * (vcpu_call_held), where it is live.
 */
#include "bulkhead/snapshot.h"

#include "arch/sysreg.h"
#include "bulkhead/printk.h"
#include "bulkhead/sched.h"
#include "bulkhead/string.h"
#include "bulkhead/vm.h"

struct vcpu_image {
    enum vcpu_state state;
    uint64_t entry, context_id;
    struct guest_regs regs;
    struct vcpu_el1 el1;
    struct fpsimd_state fp;
    struct gic_vcpu_if gic;
    struct vgic_cpu vgic;
    struct ptimer ptimer;
};

/* What is kept beside the RAM copy, after it in the snapshot's RAM. */
struct snapshot_state {
    bool valid;
    uint64_t taken_at; /* CNTPCT */
    uint64_t populated[VM_MAX_RAM_BLOCKS / 64];
    struct vcpu_image vcpus[MAX_VCPUS];
    uint64_t dev_deadline;
    struct vgic_dist vgic; /* its lock is not copied */
    size_t dev_bytes;
    uint8_t devices[]; /* each device's object but its struct vdev header, in list order */
};

_Static_assert(sizeof(struct snapshot_state) < SNAPSHOT_STATE_SIZE / 2, "room for devices");

static uint8_t *snapshot_ram(const struct vm *vm)
{
    return (uint8_t *)(uintptr_t)vm->cfg.snapshot_pa;
}

static struct snapshot_state *snapshot_state(const struct vm *vm)
{
    return (struct snapshot_state *)(uintptr_t)(vm->cfg.snapshot_pa + vm->cfg.mem_size);
}

static uint8_t *guest_ram_at(const struct vm *vm, uint64_t offset)
{
    return (uint8_t *)(uintptr_t)(vm->layout.ram_pa + offset);
}

static bool block_populated(const uint64_t *populated, uint64_t block)
{
    return populated[block / 64] & BIT(block % 64);
}

/* Why vm cannot be snapshotted or restored now, or NULL. */
static const char *refusal(const struct vm *vm)
{
    if (!vm->cfg.snapshot) {
        return "it has no bulkhead,snapshot (no RAM set aside for one)";
    }
    if (vm->cfg.pt.nr_devs || vm->cfg.pt.nr_irqs || vm->cfg.pt.partial_fdt || vm->cfg.shm.nr ||
        vm->cfg.virtio.nr) {
        return "its passed-through devices, shared memory or virtio devices have state outside "
               "the hypervisor";
    }
    if (!vm_is_held(vm)) {
        return "it is not paused (pause it first and let its vCPUs stop)";
    }
    return NULL;
}

/* vgic_dist after its lock: the rest is the VM's interrupt state. */
#define VGIC_STATE_OFFSET (offsetof(struct vgic_dist, lock) + sizeof(spinlock_t))

static void copy_vgic_state(struct vgic_dist *to, const struct vgic_dist *from)
{
    memcpy((uint8_t *)to + VGIC_STATE_OFFSET, (const uint8_t *)from + VGIC_STATE_OFFSET,
           sizeof(struct vgic_dist) - VGIC_STATE_OFFSET);
}

/* On the vCPU's CPU: its live context, read without disturbing it. */
static void capture_context(struct vcpu *v, void *arg)
{
    struct vcpu_image *img = arg;

    vcpu_context_save(v);
    vcpu_context_restore(v);
    img->el1 = v->ctx.el1;
    img->fp = v->ctx.fp;
    img->gic = v->ctx.gic;
}

static void reload_context(struct vcpu *v, void *arg)
{
    (void)arg;
    /* Its timer interrupt's physical active state is the snapshot's, set again by the restore. */
    gic_clear_active(vtimer_virq());
    vcpu_context_restore(v);
    vtimer_ptimer_sync(&v->timer);
}

static bool save_devices(struct vm *vm, struct snapshot_state *s, size_t room)
{
    s->dev_bytes = 0;
    for (struct vdev *d = vm->io.devices; d; d = d->next) {
        size_t n = d->size - sizeof(struct vdev);
        if (s->dev_bytes + n > room) {
            return false;
        }
        memcpy(s->devices + s->dev_bytes, (uint8_t *)d + sizeof(struct vdev), n);
        s->dev_bytes += n;
    }
    return true;
}

static void load_devices(struct vm *vm, const struct snapshot_state *s)
{
    size_t at = 0;

    for (struct vdev *d = vm->io.devices; d; d = d->next) {
        size_t n = d->size - sizeof(struct vdev);
        memcpy((uint8_t *)d + sizeof(struct vdev), s->devices + at, n);
        at += n;
    }
}

bool vm_snapshot_take(struct vm *vm, char *why, size_t len)
{
    const char *no = refusal(vm);
    struct snapshot_state *s = snapshot_state(vm);

    if (no) {
        snprintf(why, len, "%s", no);
        return false;
    }
    s->valid = false;
    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        struct vcpu_image *img = &s->vcpus[i];
        img->state = v->state;
        img->entry = v->entry;
        img->context_id = v->context_id;
        img->regs = v->regs;
        img->ptimer = v->timer.ptimer;
        if (v->state == VCPU_ON && !vcpu_call_held(v, capture_context, img)) {
            snprintf(why, len, "vCPU %u stopped being held", i);
            return false;
        }
    }
    spin_lock(&vm->vgic.lock);
    copy_vgic_state(&s->vgic, &vm->vgic);
    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        s->vcpus[i].vgic = vm->vcpus[i].vgic;
    }
    spin_unlock(&vm->vgic.lock);
    if (!save_devices(vm, s, SNAPSHOT_STATE_SIZE - sizeof(*s))) {
        snprintf(why, len, "its devices' state is larger than %llu KiB",
                 (unsigned long long)(SNAPSHOT_STATE_SIZE >> 10));
        return false;
    }
    s->dev_deadline = vm->dev_deadline;
    memcpy(s->populated, vm->populated, sizeof(s->populated));
    for (uint64_t b = 0; b < vm->layout.ram_size / VM_RAM_BLOCK; b++) {
        if (block_populated(s->populated, b)) {
            memcpy(snapshot_ram(vm) + b * VM_RAM_BLOCK, guest_ram_at(vm, b * VM_RAM_BLOCK),
                   VM_RAM_BLOCK);
        }
    }
    s->taken_at = read_cntpct_el0();
    s->valid = true;
    return true;
}

static bool same_vcpus_on(const struct vm *vm, const struct snapshot_state *s)
{
    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        if ((vm->vcpus[i].state == VCPU_ON) != (s->vcpus[i].state == VCPU_ON)) {
            return false;
        }
    }
    return true;
}

static bool restore_ram(struct vm *vm, const struct snapshot_state *s)
{
    for (uint64_t b = 0; b < vm->layout.ram_size / VM_RAM_BLOCK; b++) {
        uint64_t at = b * VM_RAM_BLOCK;
        if (block_populated(s->populated, b)) {
            /* Populated first if the guest has not touched it since (its zeroing comes first). */
            if (vm_write_guest(vm, vm->layout.ram_ipa + at, snapshot_ram(vm) + at, VM_RAM_BLOCK) !=
                0) {
                return false;
            }
        } else if (block_populated(vm->populated, b)) {
            /* Touched only after the snapshot: as it was then, zeroes. */
            memset(guest_ram_at(vm, at), 0, VM_RAM_BLOCK);
            dcache_clean_poc(guest_ram_at(vm, at), VM_RAM_BLOCK);
        }
    }
    return true;
}

bool vm_snapshot_restore(struct vm *vm, char *why, size_t len)
{
    const char *no = refusal(vm);
    const struct snapshot_state *s = snapshot_state(vm);

    if (no) {
        snprintf(why, len, "%s", no);
        return false;
    }
    if (!s->valid) {
        snprintf(why, len, "it has no snapshot yet");
        return false;
    }
    if (!same_vcpus_on(vm, s)) {
        snprintf(why, len, "its vCPUs on and off are not those of its snapshot");
        return false;
    }
    if (!restore_ram(vm, s)) {
        snprintf(why, len, "its RAM could not be written");
        return false;
    }
    load_devices(vm, s);
    vm->dev_deadline = s->dev_deadline;
    spin_lock(&vm->vgic.lock);
    copy_vgic_state(&vm->vgic, &s->vgic);
    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        vm->vcpus[i].vgic = s->vcpus[i].vgic;
        vm->vcpus[i].vgic.must_flush = true;
        vm->vcpus[i].vgic.maint_known = false;
    }
    vm->vgic.generation++;
    spin_unlock(&vm->vgic.lock);
    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        const struct vcpu_image *img = &s->vcpus[i];
        v->regs = img->regs;
        v->entry = img->entry;
        v->context_id = img->context_id;
        v->timer.ptimer = img->ptimer;
        v->ctx.el1 = img->el1;
        v->ctx.fp = img->fp;
        v->ctx.gic = img->gic;
        if (v->state == VCPU_ON && !vcpu_call_held(v, reload_context, NULL)) {
            snprintf(why, len, "vCPU %u stopped being held", i);
            return false;
        }
    }
    return true;
}
