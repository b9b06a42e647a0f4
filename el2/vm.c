/* VM life cycle: creation from a validated description, start, reset, power-off and stop. */
#include "bulkhead/vm.h"

#include "arch/sysreg.h"
#include "bulkhead/boot.h"
#include "bulkhead/cpu.h"
#include "bulkhead/esr.h"
#include "bulkhead/firmware.h"
#include "bulkhead/gic.h"
#include "bulkhead/guest_fdt.h"
#include "bulkhead/mm.h"
#include "bulkhead/passthrough_irq.h"
#include "bulkhead/printk.h"
#include "bulkhead/sbsa_gwdt.h"
#include "bulkhead/sched.h"
#include "bulkhead/shmem.h"
#include "bulkhead/smmuv3.h"
#include "bulkhead/stage2.h"
#include "bulkhead/string.h"
#include "bulkhead/traps.h"
#include "bulkhead/virtio.h"

#define VM_RAM_BLOCK_LEVEL 2 /* VM_RAM_BLOCK: what a level-2 entry maps */
#define VM_NR_IRQS 128       /* at least: SGIs, PPIs and SPIs 32..127 */

struct vm *vms;
unsigned nr_vms;

/* What the SMMU knows of each VM that owns streams behind it (it keeps the pointer); name NULL:
 * none. The CPU's stage-2 invalidation, which such a VM's stage 2 calls before the SMMU's. */
static struct smmu_owner smmu_owners[MAX_VMS];
static void (*cpu_s2_invalidate)(void *ctx, uint64_t ipa, uint64_t size);

static bool dma_through_smmu(const struct vm *vm)
{
    return smmu_owners[vm->id].name != NULL;
}
/* Each VM's RAM population (its populated bitmap and RAM blocks' mappings): a leaf lock, so that
 * a device may populate its VM's RAM under its own lock (vdev_mem_ops), which comes after
 * vm->lock. */
static spinlock_t ram_locks[MAX_VMS];

static void *guest_ram(const struct vm *vm, ipa_t ipa)
{
    return (void *)(uintptr_t)(vm->layout.ram_pa + (ipa - vm->layout.ram_ipa));
}

static void copy_to_guest(struct vm *vm, ipa_t ipa, const void *src, uint64_t size)
{
    void *dst = guest_ram(vm, ipa);
    memcpy(dst, src, size);
    dcache_clean_poc(dst, size);
}

/* A seed for the guest's KASLR: the CPU's random number generator where there is one, else the
 * counter stirred (unpredictable enough for layout randomization, not for keys). */
static uint64_t entropy64(void)
{
    uint64_t v = read_cntpct_el0();

    if (BITS(read_id_aa64isar0_el1(), 63, 60) >= 1) {
        uint64_t rnd;
        if (read_rndr(&rnd)) {
            return rnd;
        }
    }
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdULL;
    v ^= v >> 33;
    v *= 0xc4ceb9fe1a85ec53ULL;
    return v ^ (v >> 33);
}

/* Writes a big-endian value of len bytes at offset at of the VM's copy of its DTB. */
static void patch_guest_dtb(struct vm *vm, long at, uint64_t value, unsigned len)
{
    uint8_t bytes[8];

    if (at < 0) {
        return;
    }
    for (unsigned i = 0; i < len; i++) {
        bytes[i] = (uint8_t)(value >> (8 * (len - 1 - i)));
    }
    uint8_t *dst = (uint8_t *)guest_ram(vm, vm->layout.dtb_ipa) + at;
    memcpy(dst, bytes, len);
    dcache_clean_poc(dst, len);
}

static bool block_populated(const struct vm *vm, uint64_t block)
{
    return vm->populated[block / 64] & BIT(block % 64);
}

static void zero_guest(struct vm *vm, ipa_t from, ipa_t to)
{
    if (to > from) {
        zero_ram(guest_ram(vm, from), to - from);
        dcache_clean_poc(guest_ram(vm, from), to - from);
    }
}

/* Zeroes one block of the VM's RAM but [keep_from, keep_to) (an image about to be copied
 * there), cleans it to the point of coherency (a guest starting with its MMU and caches off must
 * see the zeroes, not what the RAM held before) and maps it.
 *
 * By pages, not as a 2 MiB block: QEMU's TLB files a two-stage translation under the larger of
 * the two stages' page sizes, and a guest's TLBI by address that falls in the span such large
 * entries cover flushes the guest's whole TLB. With blocks at stage 2 that is every TLBI Linux
 * issues (its boot patches kernel text through the fixmap 70,000 times, a TLBI each), and
 * Debian's kernel reached user space 1.26 times slower than on the bare board; with pages, as
 * fast (docs/LINUX-BOOT.md). On hardware blocks would save TLB entries; the price here is a
 * level-3 table per 2 MiB of RAM (0.2 %). */
static int populate_block(struct vm *vm, uint64_t block, ipa_t keep_from, ipa_t keep_to)
{
    const struct vm_layout *l = &vm->layout;
    ipa_t ipa = l->ram_ipa + block * VM_RAM_BLOCK, end = ipa + VM_RAM_BLOCK;

    keep_from = MIN(MAX(keep_from, ipa), end);
    keep_to = MAX(MIN(keep_to, end), keep_from);
    zero_guest(vm, ipa, keep_from);
    zero_guest(vm, keep_to, end);
    if (pt_map(&vm->s2, ipa, l->ram_pa + block * VM_RAM_BLOCK, VM_RAM_BLOCK,
               PT_R | PT_W | PT_X | PT_PAGES, PT_MEM_NORMAL) != 0) {
        return -1;
    }
    vm->populated[block / 64] |= BIT(block % 64);
    return 0;
}

static int populate_range(struct vm *vm, ipa_t ipa, uint64_t size)
{
    const struct vm_layout *l = &vm->layout;
    int rc = 0;

    if (!size) {
        return 0;
    }
    spin_lock(&ram_locks[vm->id]);
    for (uint64_t b = (ipa - l->ram_ipa) / VM_RAM_BLOCK;
         b <= (ipa + size - 1 - l->ram_ipa) / VM_RAM_BLOCK && rc == 0; b++) {
        if (!block_populated(vm, b)) {
            rc = populate_block(vm, b, ipa, ipa + size);
        }
    }
    spin_unlock(&ram_locks[vm->id]);
    return rc;
}

/* vdev_mem_ops: a device's view of the VM's RAM. Blocks it populates are zeroed whole: a
 * device reading them must not see what the RAM held before. */
static void *vm_mem_map(void *ctx, ipa_t ipa, uint64_t len)
{
    struct vm *vm = ctx;
    const struct vm_layout *l = &vm->layout;
    int rc = 0;

    if (len == 0 || ipa < l->ram_ipa || ipa - l->ram_ipa >= l->ram_size ||
        len > l->ram_size - (ipa - l->ram_ipa)) {
        return NULL;
    }
    uint64_t last = (ipa + len - 1 - l->ram_ipa) / VM_RAM_BLOCK;
    for (uint64_t b = (ipa - l->ram_ipa) / VM_RAM_BLOCK; b <= last; b++) {
        if (block_populated(vm, b)) {
            continue;
        }
        spin_lock(&ram_locks[vm->id]);
        if (!block_populated(vm, b)) {
            rc = populate_block(vm, b, 0, 0);
        }
        spin_unlock(&ram_locks[vm->id]);
        if (rc != 0) {
            return NULL;
        }
    }
    /* A block another CPU populated: its zeroes before the caller reads it. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return guest_ram(vm, ipa);
}

static const struct vdev_mem_ops vm_mem_ops = {.map = vm_mem_map};

static bool io_report_allowed(void *ctx)
{
    return guest_report_allowed(ctx);
}

/* Every block not populated yet, zeroed. */
static int populate_all(struct vm *vm)
{
    int rc = 0;

    spin_lock(&ram_locks[vm->id]);
    for (uint64_t b = 0; b < vm->layout.ram_size / VM_RAM_BLOCK && rc == 0; b++) {
        if (!block_populated(vm, b)) {
            rc = populate_block(vm, b, 0, 0);
        }
    }
    spin_unlock(&ram_locks[vm->id]);
    return rc;
}

/* Forgets every block: the next life of the VM starts from zeroed RAM again. Its vCPUs are out
 * of the guest, and the unmapping flushes its TLB entries by VMID. */
static void unpopulate_all(struct vm *vm)
{
    const struct vm_layout *l = &vm->layout;

    spin_lock(&ram_locks[vm->id]);
    for (uint64_t b = 0; b < l->ram_size / VM_RAM_BLOCK; b++) {
        if (block_populated(vm, b)) {
            pt_unmap(&vm->s2, l->ram_ipa + b * VM_RAM_BLOCK, VM_RAM_BLOCK);
        }
    }
    memset(vm->populated, 0, sizeof(vm->populated));
    spin_unlock(&ram_locks[vm->id]);
}

bool vm_ram_fault(struct vcpu *vcpu, ipa_t ipa, uint64_t esr)
{
    struct vm *vm = vcpu->vm;
    const struct vm_layout *l = &vm->layout;
    int rc = 0;

    /* Only a missing translation means a block not yet populated; anything else in RAM is the
     * guest's own doing and reported as such by the caller. */
    if ((ESR_ISS(esr) & FSC_TYPE_MASK) != FSC_TRANSLATION || ipa < l->ram_ipa ||
        ipa - l->ram_ipa >= l->ram_size) {
        return false;
    }
    uint64_t block = (ipa - l->ram_ipa) / VM_RAM_BLOCK;
    spin_lock(&ram_locks[vm->id]);
    if (!block_populated(vm, block)) {
        rc = populate_block(vm, block, 0, 0);
    }
    spin_unlock(&ram_locks[vm->id]);
    if (rc != 0) {
        vm_stop(vm, vcpu, "out of page-table memory for its RAM", esr, ipa);
    }
    return true;
}

/* Puts pristine images in the VM's RAM, resets its devices, interrupts and timers, and makes its
 * boot vCPU ready to start. */
static void vm_load(struct vm *vm)
{
    const struct vm_layout *l = &vm->layout;

    unpopulate_all(vm);
    /* The blocks the images go in now; the rest when the guest first touches them. */
    if (populate_range(vm, l->kernel_ipa, l->kernel_size) != 0 ||
        populate_range(vm, l->initrd_ipa, l->initrd_size) != 0 ||
        populate_range(vm, l->dtb_ipa, vm->dtb_size) != 0) {
        printk("bulkhead: %s: out of page-table memory for its RAM\n", vm->cfg.name);
    }
    copy_to_guest(vm, l->kernel_ipa, (const void *)(uintptr_t)vm->cfg.kernel.base, l->kernel_size);
    if (l->initrd_size) {
        copy_to_guest(vm, l->initrd_ipa, (const void *)(uintptr_t)vm->cfg.ramdisk.base,
                      l->initrd_size);
    }
    copy_to_guest(vm, l->dtb_ipa, vm->dtb, vm->dtb_size);
    /* A device may DMA anywhere in the VM's RAM before its CPUs touch it, and an SMMU fault
     * aborts the transaction (nothing retries it once a block is populated): all of it now. */
    if (dma_through_smmu(vm) && populate_all(vm) != 0) {
        printk("bulkhead: %s: out of page-table memory for its RAM\n", vm->cfg.name);
    }
    patch_guest_dtb(vm, vm->dtb_boot_count_at, (uint32_t)vm->boot_count, 4);
    patch_guest_dtb(vm, vm->dtb_kaslr_seed_at, entropy64(), 8);
    console_port_reset(&vm->console);
    console_port_set_running(&vm->console, true);
    vgic_reset(&vm->vgic);
    vm_io_reset(&vm->io);

    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        vm->vcpus[i].state = VCPU_OFF;
        vtimer_reset(&vm->vcpus[i].timer);
    }
    vm->vcpus[0].entry = l->kernel_ipa;
    vm->vcpus[0].context_id = l->dtb_ipa;
    vm->started_at = read_cntpct_el0();
    vm->state = VM_RUNNING;
}

/* Lets the VM's boot vCPU go. Called with vm->lock held. */
static void vm_release(struct vm *vm)
{
    __atomic_store_n(&vm->vcpus[0].state, VCPU_ON_PENDING, __ATOMIC_RELEASE);
    vcpu_wake(&vm->vcpus[0]);
}

/* The vGIC's kick: vCPU idx has something new to take. */
static void vm_kick(void *ctx, unsigned idx)
{
    struct vm *vm = ctx;

    vcpu_kick(&vm->vcpus[idx]);
}

static void vm_init_vgic(struct vm *vm)
{
    /* Enough SPIs for the devices the VM mirrors from the board (the PL011 is SPI 121 on a
     * Raspberry Pi 4) and those passed through, which keep their INTIDs. */
    unsigned nr_irqs = MAX(VM_NR_IRQS, VGIC_NR_PRIVATE + board.uart.spi + 1);
    for (unsigned i = 0; i < vm->cfg.pt.nr_irqs; i++) {
        nr_irqs = MAX(nr_irqs, vm->cfg.pt.irqs[i].intid + 1u);
    }
    nr_irqs = MIN(ALIGN_UP(nr_irqs, 32), (unsigned)VGIC_MAX_IRQS);
    vgic_dist_init(&vm->vgic, board.gic.version, nr_irqs, vm->cfg.nr_vcpus);
    vm->vgic.kick = vm_kick;
    vm->vgic.kick_ctx = vm;
    vm->vgic.phys = &passthrough_vgic_ops;
    vm->vgic.phys_ctx = vm;
    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        vgic_cpu_init(&vm->vgic, &vm->vcpus[i].vgic, i, gic_nr_lrs());
        vtimer_init_vcpu(&vm->vcpus[i].timer, &vm->vgic, i);
    }
    vm->dev_deadline = UINT64_MAX;
    vm->vcpus[0].timer.hyp_deadline = &vm->dev_deadline;
}

/* A host device given to the VM (config/passthrough.c checked it). */
static int vm_create_passthrough(struct vm *vm, const struct pt_device *dev)
{
    const struct vm_passthrough *pt = &vm->cfg.pt;
    struct vdev_desc desc = {.compatible = passthrough_model.compatible};

    if (dev->nr_ranges > VDEV_MAX_REGS || dev->nr_irqs > VDEV_MAX_IRQS) {
        pr_err("%s: %s: more than %d windows or %d SPIs in one device\n", vm->cfg.node, dev->path,
               VDEV_MAX_REGS, VDEV_MAX_IRQS);
        return -1;
    }
    for (unsigned i = 0; i < dev->nr_ranges; i++) {
        const struct pt_range *r = &pt->ranges[dev->first_range + i];
        desc.reg[i] = (struct mem_range){r->ipa, r->size};
        desc.host[i] = (struct mem_range){r->pa, r->size};
    }
    desc.nr_reg = desc.nr_host = dev->nr_ranges;
    for (unsigned i = 0; i < dev->nr_irqs; i++) {
        const struct pt_irq *q = &pt->irqs[dev->first_irq + i];
        desc.spis[i] = q->intid - VGIC_NR_PRIVATE;
        desc.spi_edge[i] = q->edge;
    }
    desc.nr_spis = dev->nr_irqs;
    return vdev_create(&vm->io, &desc);
}

/* The doorbell of each shared-memory region the VM maps (config/shmem.c chose its page and
 * SPI). */
static int vm_create_doorbells(struct vm *vm)
{
    for (unsigned i = 0; i < vm->cfg.shm.nr; i++) {
        const struct shm_map *m = &vm->cfg.shm.maps[i];
        const struct shm_doorbell_params params = {
            .channel = m->region, .member = m->member, .members = m->members, .index = i};
        struct vdev_desc desc = {
            .compatible = doorbell_model.compatible,
            .reg = {{m->doorbell_ipa, SHM_DOORBELL_SIZE}},
            .nr_reg = 1,
            .spis = {m->doorbell_spi},
            .nr_spis = 1,
            .params = &params,
        };
        if (vdev_create(&vm->io, &desc) != 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- the VM's clock, for a device that keeps time (its watchdog) ---- */

static uint64_t clock_now(void *ctx)
{
    (void)ctx;
    return read_cntpct_el0();
}

/* The deadline is served by vCPU 0's CPU (vtimer_ptimer_sync programs CNTHP for it there): a
 * deadline moved from another CPU is brought to it by a kick. */
static void clock_arm(void *ctx, struct vdev *dev, uint64_t deadline)
{
    struct vm *vm = ctx;
    struct vcpu *boot = &vm->vcpus[0];

    vm->timed_dev = dev;
    __atomic_store_n(&vm->dev_deadline, deadline, __ATOMIC_RELEASE);
    if (boot->pcpu == this_pcpu()->index) {
        vtimer_ptimer_sync(&boot->timer);
    } else {
        __atomic_store_n(&boot->timer.resync, true, __ATOMIC_RELEASE);
        vcpu_kick(boot);
    }
}

static void clock_watchdog_expired(void *ctx, const struct vdev *dev)
{
    (void)dev;
    vm_watchdog_expired(ctx);
}

static const struct vdev_clock_ops vm_clock_ops = {
    .now = clock_now, .arm = clock_arm, .watchdog_expired = clock_watchdog_expired};

void vm_hyp_timer(struct vcpu *vcpu)
{
    struct vm *vm = vcpu->vm;
    uint64_t deadline = __atomic_load_n(&vm->dev_deadline, __ATOMIC_ACQUIRE);
    uint64_t now = read_cntpct_el0();

    /* Once: the device arms its next deadline itself. */
    if (vcpu->index == 0 && now >= deadline &&
        __atomic_compare_exchange_n(&vm->dev_deadline, &deadline, UINT64_MAX, false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        vm->timed_dev->ops->expire(vm->timed_dev, now);
    }
    vtimer_ptimer_sync(&vcpu->timer);
}

static int vm_create_watchdog(struct vm *vm)
{
    const struct vm_watchdog *wd = &vm->cfg.watchdog;
    struct vdev_desc desc = {
        .compatible = sbsa_gwdt_model.compatible,
        .reg = {{wd->ipa, GWDT_FRAME_SIZE}, {wd->ipa + GWDT_FRAME_SIZE, GWDT_FRAME_SIZE}},
        .nr_reg = 2,
        .spis = {wd->spi},
        .nr_spis = 1,
    };

    return wd->present ? vdev_create(&vm->io, &desc) : 0;
}

/* Its virtio devices (config/virtio.c placed them). A writable disk's image is copied once, here,
 * into the memory set aside for it: the VM's resets keep what it wrote. */
static int vm_create_virtio(struct vm *vm)
{
    for (unsigned i = 0; i < vm->cfg.virtio.nr; i++) {
        const struct vm_virtio_dev *v = &vm->cfg.virtio.devs[i];
        struct virtio_blk_params blk = {
            .image = (uint8_t *)(uintptr_t)(v->read_only ? v->image_base : v->disk_pa),
            .size = v->image_size,
            .read_only = v->read_only,
        };
        struct vdev_desc desc = {
            .compatible = virtio_model_compatible(v->kind),
            .reg = {{v->ipa, VIRTIO_MMIO_SIZE}},
            .nr_reg = 1,
            .spis = {v->spi},
            .nr_spis = 1,
            /* The others read their entry (virtio-net: its switch and MAC). */
            .params = v->kind == VIRTIO_ID_BLOCK ? (const void *)&blk : (const void *)v,
        };
        if (v->kind == VIRTIO_ID_BLOCK && !v->read_only) {
            memcpy(blk.image, (const void *)(uintptr_t)v->image_base, v->image_size);
        }
        if (vdev_create(&vm->io, &desc) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Shared memory is mapped once, for the VM's whole life: a reset unmaps only RAM blocks, so the
 * region keeps its content (and its mapping) across the VM's restarts. Normal write-back like
 * RAM, never executable; read-only where the VM's access says so, a write then faulting as a
 * permission fault, reported and injected like any access to nothing. */
static int vm_map_shm(struct vm *vm)
{
    if (!shm_check_ram(&vm->cfg, vm->layout.ram_ipa, vm->layout.ram_size)) {
        return -1;
    }
    for (unsigned i = 0; i < vm->cfg.shm.nr; i++) {
        const struct shm_map *m = &vm->cfg.shm.maps[i];
        /* By pages, as RAM (populate_block): guests use these regions as much. */
        unsigned prot = (m->ro ? PT_R : PT_R | PT_W) | PT_PAGES;
        if (pt_map(&vm->s2, m->ipa, m->pa, m->size, prot, PT_MEM_NORMAL) != 0) {
            pr_err("%s: region \"%s\" at IPA 0x%llx: beyond stage 2's reach or out of "
                   "page-table memory\n",
                   vm->cfg.node, m->id, (unsigned long long)m->ipa);
            return -1;
        }
    }
    return 0;
}

/* The devices every VM has: the board's GIC and its console UART, at the board's addresses;
 * then the host devices it is given. */
static int vm_create_devices(struct vm *vm)
{
    const struct board_gic *gic = &board.gic;
    struct vdev_desc uart = {
        .compatible = "arm,pl011",
        .reg = {board.uart.regs},
        .nr_reg = 1,
        .spis = {board.uart.spi},
        .nr_spis = board.uart.spi ? 1 : 0,
    };
    struct vdev_desc v2 = {
        .compatible = "arm,cortex-a15-gic",
        .reg = {gic->dist, gic->cpuif},
        .nr_reg = 2,
        .host = {gic->vcpu},
        .nr_host = 1,
    };
    struct vdev_desc v3 = {
        .compatible = "arm,gic-v3",
        .reg = {gic->dist, gic->redist},
        .nr_reg = 2,
    };

    vm_io_init(&vm->io, vm->cfg.name, vm->cfg.nr_vcpus, &vm->vgic, &vm->s2, &vm->console);
    vm->io.clock = &vm_clock_ops;
    vm->io.clock_ctx = vm;
    vm->io.mem = &vm_mem_ops;
    vm->io.mem_ctx = vm;
    vm->io.report_allowed = io_report_allowed;
    vm->io.report_ctx = vm;
    if (gic->version != GIC_NONE) {
        vm->io.phys_irqs = passthrough_phys_ops(gic->version);
        vm->io.phys_ctx = vm;
        if (vdev_create(&vm->io, gic->version == GIC_V3 ? &v3 : &v2) != 0) {
            return -1;
        }
    }
    if (vdev_create(&vm->io, &uart) != 0) {
        return -1;
    }
    for (unsigned i = 0; i < vm->cfg.pt.nr_devs; i++) {
        if (vm_create_passthrough(vm, &vm->cfg.pt.devs[i]) != 0) {
            return -1;
        }
    }
    if (vm_create_doorbells(vm) != 0 || vm_create_watchdog(vm) != 0) {
        return -1;
    }
    return vm_create_virtio(vm);
}

/* Break-before-make for both walkers: the CPUs' TLBs, then the SMMU's (ctx is the VM's VTTBR),
 * before the new entry is written. */
static void s2_invalidate_cpu_and_smmu(void *ctx, uint64_t ipa, uint64_t size)
{
    cpu_s2_invalidate(ctx, ipa, size);
    smmu_invalidate_s2((uint16_t)(*(const uint64_t *)ctx >> 48), ipa, size);
}

static void vm_dma_fault(void *ctx);

/* The stream IDs of the VM's devices behind the SMMU translate through its stage 2. */
static int vm_bind_streams(struct vm *vm)
{
    struct smmu_owner *owner = &smmu_owners[vm->id];

    for (unsigned i = 0; i < vm->cfg.pt.nr_devs; i++) {
        const struct pt_device *dev = &vm->cfg.pt.devs[i];
        if (!dev->nr_sids) {
            continue;
        }
        if (!smmu_active()) {
            printk("bulkhead: %s: warning: %s is behind an SMMU the hypervisor does not use: its "
                   "DMA is not confined (nor translated: give %s direct-map)\n",
                   vm->cfg.name, dev->path, vm->cfg.node);
            continue;
        }
        if (!owner->name) {
            *owner = (struct smmu_owner){
                .name = vm->cfg.name,
                .s2 = {.vmid = (uint16_t)(vm->id + 1),
                       .ttb = (uint64_t)(uintptr_t)vm->s2.root,
                       .ipa_bits = vm->s2.va_bits,
                       .start_level = vm->s2.start_level,
                       .ps_code = smmu_ps_code(vm->s2.va_bits)},
                .dma_fault = vm_dma_fault,
                .ctx = vm,
            };
            cpu_s2_invalidate = vm->s2.ops.invalidate;
            vm->s2.ops.invalidate = s2_invalidate_cpu_and_smmu;
        }
        if (smmu_bind(dev->sid_base, dev->nr_sids, owner) != 0) {
            return -1;
        }
    }
    return 0;
}

/* "2, 3": the physical CPU of each vCPU, in vCPU order. */
static const char *pcpu_list(const struct vm_config *cfg, char *buf, size_t size)
{
    size_t n = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < cfg->nr_vcpus && n < size; i++) {
        n += (size_t)snprintf(buf + n, size - n, "%s%u", i ? ", " : "", cfg->pcpu[i]);
    }
    return buf;
}

int vm_create(struct vm *vm, unsigned id, const struct vm_config *cfg, paddr_t ram_pa,
              const void *host_fdt)
{
    vm->cfg = *cfg;
    vm->id = id;
    console_port_init(&vm->console, cfg->name);
    vm->state = VM_OFF;
    if (layout_vm(&board, cfg, ram_pa, (const void *)(uintptr_t)cfg->kernel.base, cfg->kernel.size,
                  &vm->layout) != 0) {
        return -1;
    }
    /* Written where the hypervisor's memory ends, then kept at the size it came to. */
    uint64_t room;
    void *dtb = hyp_mem_room(8, &room);
    if (guest_fdt_build(dtb, MIN(room, VM_DTB_MAX), &board, cfg, &vm->layout, host_fdt) != 0) {
        pr_err("%s: guest device tree not built (see above) or larger than %llu KiB (the "
               "hypervisor's memory has %llu KiB left)\n",
               cfg->node, (unsigned long long)(VM_DTB_MAX >> 10), (unsigned long long)(room >> 10));
        return -1;
    }
    vm->dtb_size = __builtin_bswap32(((const uint32_t *)dtb)[1]);
    vm->dtb = hyp_mem_alloc(vm->dtb_size, 8, HYP_MEM_DTBS);
    vm->dtb_boot_count_at = guest_fdt_boot_count_at(vm->dtb);
    vm->dtb_kaslr_seed_at = guest_fdt_chosen_prop_at(vm->dtb, "kaslr-seed", 8);

    if (vm->layout.ram_size / VM_RAM_BLOCK > VM_MAX_RAM_BLOCKS) {
        pr_err("%s: more than %llu GiB of RAM\n", cfg->node,
               (unsigned long long)((VM_MAX_RAM_BLOCKS * VM_RAM_BLOCK) >> 30));
        return -1;
    }
    /* RAM is mapped block by block when first touched (vm_ram_fault). */
    if (s2_create(&vm->s2, id + 1, &vm->vttbr) != 0) {
        pr_err("%s: out of page-table memory for stage 2\n", cfg->node);
        return -1;
    }
    /* The tables down to its RAM's level-2 entries now; a block's level-3 table (its pages) when
     * the block is first populated, from what hyp_mem_needed() reserved for them (zeroing them
     * all here cost the boot 130,000 instructions for a 900 MiB VM). */
    if (pt_prepare(&vm->s2, vm->layout.ram_ipa, vm->layout.ram_size, VM_RAM_BLOCK_LEVEL) != 0) {
        pr_err("%s: out of page-table memory for its RAM's stage 2 (%llu KiB of the hypervisor's "
               "memory left)\n",
               cfg->node, (unsigned long long)((hyp_mem_limit() - hyp_mem_end()) >> 10));
        return -1;
    }
    vm->vcpus =
        hyp_mem_alloc(cfg->nr_vcpus * sizeof(struct vcpu), _Alignof(struct vcpu), HYP_MEM_VMS);
    if (!vm->vcpus) {
        pr_err("%s: no room for its %u vCPUs in the hypervisor's memory\n", cfg->node,
               cfg->nr_vcpus);
        return -1;
    }
    for (unsigned i = 0; i < cfg->nr_vcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        *v = (struct vcpu){
            .vm = vm, .index = i, .pcpu = cfg->pcpu[i], .state = VCPU_OFF, .move_to = -1};
    }
    vm_init_vgic(vm);
    if (vm_map_shm(vm) != 0 || vm_create_devices(vm) != 0 || vm_bind_streams(vm) != 0) {
        return -1;
    }
    for (unsigned i = 0; i < cfg->nr_vcpus; i++) {
        sched_add_vcpu(&vm->vcpus[i]);
    }
    console_port_add(&vm->console);
    char cpus[MAX_VCPUS * 5];
    printk("bulkhead: %s: %u vCPU, %llu MiB RAM at 0x%llx (IPA 0x%llx), kernel at IPA 0x%llx, "
           "from %s, on CPU%s %s\n",
           cfg->name, cfg->nr_vcpus, (unsigned long long)(vm->layout.ram_size >> 20),
           (unsigned long long)ram_pa, (unsigned long long)vm->layout.ram_ipa,
           (unsigned long long)vm->layout.kernel_ipa, cfg->node, cfg->nr_vcpus == 1 ? "" : "s",
           pcpu_list(cfg, cpus, sizeof(cpus)));
    return 0;
}

void vm_prepare(struct vm *vm)
{
    spin_lock(&vm->lock);
    vm_load(vm);
    spin_unlock(&vm->lock);
}

void vm_start(struct vm *vm)
{
    spin_lock(&vm->lock);
    vm_release(vm);
    spin_unlock(&vm->lock);
    printk("bulkhead: %s: started\n", vm->cfg.name);
}

static void kick_all(const struct vm *vm)
{
    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        vcpu_wake(&vm->vcpus[i]);
    }
}

bool vm_pause(struct vm *vm)
{
    spin_lock(&vm->lock);
    bool paused = vm->state == VM_RUNNING && !vm->paused;
    if (paused) {
        __atomic_store_n(&vm->paused, true, __ATOMIC_SEQ_CST);
        kick_all(vm);
    }
    spin_unlock(&vm->lock);
    return paused;
}

bool vm_resume(struct vm *vm)
{
    spin_lock(&vm->lock);
    bool resumed = vm->paused;
    if (resumed) {
        __atomic_store_n(&vm->paused, false, __ATOMIC_SEQ_CST);
        kick_all(vm); /* vcpu_wake: one started while paused waits in the scheduler */
    }
    spin_unlock(&vm->lock);
    return resumed;
}

bool vm_move(struct vm *vm, const uint8_t *cpus, unsigned nr, char *why, size_t len)
{
    bool ok = false;

    spin_lock(&vm->lock);
    if (nr != vm->cfg.nr_vcpus) {
        snprintf(why, len, "give one CPU for each of its %u vCPUs", vm->cfg.nr_vcpus);
    } else if (vm->state != VM_RUNNING) {
        snprintf(why, len, "it is not running");
    } else if (vm->moves_pending) {
        snprintf(why, len, "a move of it is under way");
    } else if (sched_move_check(vm, cpus, why, len)) {
        unsigned moving = 0;
        for (unsigned i = 0; i < nr; i++) {
            moving += cpus[i] != vm->vcpus[i].pcpu;
        }
        ok = true;
        if (!moving) {
            spin_unlock(&vm->lock);
            return ok; /* there already */
        }
        __atomic_store_n(&vm->moves_pending, moving, __ATOMIC_RELEASE);
        vm->move_paused = moving && !vm->paused;
        for (unsigned i = 0; i < nr; i++) {
            if (cpus[i] != vm->vcpus[i].pcpu) {
                __atomic_store_n(&vm->vcpus[i].move_to, cpus[i], __ATOMIC_RELEASE);
            }
        }
        /* Paused: each vCPU stops at its next exit (vcpu_hold), where it moves. */
        __atomic_store_n(&vm->paused, true, __ATOMIC_SEQ_CST);
        kick_all(vm);
    }
    spin_unlock(&vm->lock);
    return ok;
}

void vm_move_done(struct vm *vm)
{
    if (__atomic_sub_fetch(&vm->moves_pending, 1, __ATOMIC_ACQ_REL)) {
        return;
    }
    char cpus[MAX_VCPUS * 5];
    printk("bulkhead: %s: moved to CPU%s %s\n", vm->cfg.name, vm->cfg.nr_vcpus == 1 ? "" : "s",
           pcpu_list(&vm->cfg, cpus, sizeof(cpus)));
    if (vm->move_paused) {
        vm->move_paused = false;
        vm_resume(vm);
    }
}

bool vm_is_held(const struct vm *vm)
{
    if (!__atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE)) {
        return false;
    }
    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        const struct vcpu *v = &vm->vcpus[i];
        if (__atomic_load_n(&v->state, __ATOMIC_ACQUIRE) == VCPU_ON &&
            !__atomic_load_n(&v->held, __ATOMIC_ACQUIRE)) {
            return false;
        }
    }
    return true;
}

/* A VM being reset is still running: it must not let the machine power off. */
static bool any_vm_running(void)
{
    for (unsigned i = 0; i < nr_vms; i++) {
        /* Under its lock: a VM that ends says so before its lock is let go, so its last line
         * is out before the machine can power off for it. */
        spin_lock(&vms[i].lock);
        enum vm_state state = vms[i].state;
        spin_unlock(&vms[i].lock);
        if (state == VM_RUNNING || state == VM_RESETTING) {
            return true;
        }
    }
    return false;
}

/* Ends the VM's current life: the VM goes to state and every vCPU off. Called with vm->lock
 * held. Other vCPUs still in the guest leave at their next exit (vcpu_should_run). Only one
 * caller ends a life: false, and nothing changed, if the VM is not running (another of its
 * vCPUs is resetting it, or has powered it off or stopped it already); that caller just leaves
 * its CPU to the scheduler. */
static bool vm_halt_vcpus(struct vm *vm, enum vm_state state)
{
    if (vm->state != VM_RUNNING) {
        return false;
    }
    /* Sequentially consistent: wait_for_other_vcpus() and schedule_loop() pair on it with the
     * vCPUs' loaded flags. */
    __atomic_store_n(&vm->state, state, __ATOMIC_SEQ_CST);
    __atomic_store_n(&vm->paused, false, __ATOMIC_RELEASE); /* its next life starts running */
    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        __atomic_store_n(&vm->vcpus[i].state, VCPU_OFF, __ATOMIC_RELEASE);
        vcpu_kick(&vm->vcpus[i]);
    }
    vm_io_halt(&vm->io, state != VM_RESETTING);
    console_port_set_running(&vm->console, false);
    console_port_flush(&vm->console);
    return true;
}

static void power_off_if_idle(void)
{
    static bool powering_off;

    /* Two VMs ending at once must not both report it. */
    if (!any_vm_running() && !__atomic_exchange_n(&powering_off, true, __ATOMIC_ACQ_REL)) {
        printk("bulkhead: no VM running, powering off\n");
        machine_power_off();
    }
}

static bool request_restart(struct vm *vm);

/* A policy's restart of a running VM, from any of its CPUs, under vm->lock: counted against
 * the restart limit, after the back-off, by its boot vCPU's CPU. False once the limit is spent
 * (or the VM no longer runs): the caller stops it instead. */
static bool policy_restart(struct vm *vm, const char *policy)
{
    if (vm->state != VM_RUNNING || vm->restarts >= vm->cfg.restart_limit) {
        return false;
    }
    vm->restarts++;
    vm->restart_delay_ms = 100ULL << MIN(vm->restarts - 1, 5u);
    printk("bulkhead: %s: restarting (%s restart: %u of %u)\n", vm->cfg.name, policy, vm->restarts,
           vm->cfg.restart_limit);
    request_restart(vm);
    return true;
}

void vm_power_off(struct vm *vm)
{
    enum vm_crash_policy policy = vm->cfg.on_poweroff;

    spin_lock(&vm->lock);
    if (policy == VM_ON_CRASH_RESTART && vm->state == VM_RUNNING) {
        printk("bulkhead: %s: powered off by its guest\n", vm->cfg.name);
        if (policy_restart(vm, "on-poweroff")) {
            spin_unlock(&vm->lock);
            return;
        }
    }
    bool halted = vm_halt_vcpus(vm, VM_OFF);
    if (halted) {
        printk("bulkhead: %s: powered off\n", vm->cfg.name);
        if (policy == VM_ON_CRASH_RESTART) {
            printk("bulkhead: %s: restarted %u times already: it stays off\n", vm->cfg.name,
                   vm->restarts);
        }
    }
    spin_unlock(&vm->lock);
    if (halted && policy == VM_ON_CRASH_RESET_MACHINE) {
        printk("bulkhead: %s: on-poweroff reset-machine: resetting the machine\n", vm->cfg.name);
        machine_reset();
    }
    if (halted) {
        power_off_if_idle();
    }
}

static void wait_for_other_vcpus(struct vm *vm, const struct vcpu *caller);

/* Waits ms milliseconds on the counter: the back-off between restarts, on the crashed VM's own
 * CPU, so no other VM waits with it. */
static void delay_ms(uint64_t ms)
{
    uint64_t end = read_cntpct_el0() + read_cntfrq_el0() / 1000 * ms;

    while (read_cntpct_el0() < end) {
        sched_relax(); /* a CPU it shares runs its other vCPUs meanwhile */
    }
}

/* Loads the VM's pristine images and lets its boot vCPU go; its vCPUs are all off and the
 * caller owns its reset (VM_RESETTING). */
static void vm_reload(struct vm *vm, const struct vcpu *caller)
{
    wait_for_other_vcpus(vm, caller);
    spin_lock(&vm->lock);
    vm_load(vm);
    vm_release(vm);
    spin_unlock(&vm->lock);
}

void vm_stop(struct vm *vm, struct vcpu *vcpu, const char *reason, uint64_t esr, uint64_t far)
{
    spin_lock(&vm->lock);
    bool restart = vm->cfg.on_crash == VM_ON_CRASH_RESTART && vm->restarts < vm->cfg.restart_limit;
    bool halted = vm_halt_vcpus(vm, restart ? VM_RESETTING : VM_STOPPED);
    if (halted && restart) {
        vm->restarts++;
        vm->boot_count++;
    }
    if (halted) {
        printk("bulkhead: %s: stopped: %s (pc=0x%llx esr=0x%llx far=0x%llx)\n", vm->cfg.name,
               reason, (unsigned long long)vcpu->regs.elr, (unsigned long long)esr,
               (unsigned long long)far);
        if (!restart && vm->cfg.on_crash == VM_ON_CRASH_RESTART) {
            printk("bulkhead: %s: restarted %u times already: it stays stopped\n", vm->cfg.name,
                   vm->restarts);
        }
    }
    spin_unlock(&vm->lock);
    if (!halted) {
        return;
    }
    if (restart) {
        /* Back-off: 100 ms, then 200, 400...: a VM that crashes at once is not restarted in a
         * tight loop. */
        printk("bulkhead: %s: restarting (on-crash restart: %u of %u)\n", vm->cfg.name,
               vm->restarts, vm->cfg.restart_limit);
        delay_ms(100ULL << MIN(vm->restarts - 1, 5u));
        vm_reload(vm, vcpu);
        return;
    }
    if (vm->cfg.on_crash == VM_ON_CRASH_RESET_MACHINE) {
        printk("bulkhead: %s: on-crash reset-machine: resetting the machine\n", vm->cfg.name);
        machine_reset();
    }
    power_off_if_idle();
}

void vm_watchdog_expired(struct vm *vm)
{
    enum vm_crash_policy policy = vm->cfg.on_watchdog;

    spin_lock(&vm->lock);
    if (vm->state != VM_RUNNING) {
        spin_unlock(&vm->lock);
        return;
    }
    vm->watchdog_expiries++;
    printk("bulkhead: %s: watchdog expired: its guest stopped refreshing it (expiry %u)\n",
           vm->cfg.name, vm->watchdog_expiries);
    if (policy == VM_ON_CRASH_RESTART && policy_restart(vm, "on-watchdog")) {
        spin_unlock(&vm->lock);
        return;
    }
    vm_halt_vcpus(vm, VM_STOPPED);
    if (policy == VM_ON_CRASH_RESTART) {
        printk("bulkhead: %s: restarted %u times already: it stays stopped\n", vm->cfg.name,
               vm->restarts);
    } else if (policy == VM_ON_CRASH_STOP) {
        printk("bulkhead: %s: stopped (on-watchdog stop)\n", vm->cfg.name);
    }
    spin_unlock(&vm->lock);
    if (policy == VM_ON_CRASH_RESET_MACHINE) {
        printk("bulkhead: %s: on-watchdog reset-machine: resetting the machine\n", vm->cfg.name);
        machine_reset();
    }
    power_off_if_idle();
}

/* A device of the VM did DMA outside its memory (the SMMU's event, from whichever CPU took it):
 * already said with the stream and address; then its on-crash policy applies, as for a fault
 * of its CPUs. */
static void vm_dma_fault(void *ctx)
{
    struct vm *vm = ctx;
    enum vm_crash_policy policy = vm->cfg.on_crash;

    __atomic_fetch_add(&vm->faults, 1, __ATOMIC_RELAXED);
    spin_lock(&vm->lock);
    if (policy == VM_ON_CRASH_RESTART && policy_restart(vm, "on-crash")) {
        spin_unlock(&vm->lock);
        return;
    }
    bool halted = vm_halt_vcpus(vm, VM_STOPPED);
    if (halted) {
        printk("bulkhead: %s: stopped: a device of it did DMA outside its memory\n", vm->cfg.name);
    }
    spin_unlock(&vm->lock);
    if (halted && policy == VM_ON_CRASH_RESET_MACHINE) {
        printk("bulkhead: %s: on-crash reset-machine: resetting the machine\n", vm->cfg.name);
        machine_reset();
    }
    if (halted) {
        power_off_if_idle();
    }
}

bool vm_operator_stop(struct vm *vm)
{
    spin_lock(&vm->lock);
    bool halted = vm_halt_vcpus(vm, VM_STOPPED);
    if (halted) {
        printk("bulkhead: %s: stopped by the operator\n", vm->cfg.name);
    }
    spin_unlock(&vm->lock);
    if (halted) {
        power_off_if_idle();
    }
    return halted;
}

/* Called with vm->lock held: the VM's life ends (if it still runs) and a reset is under way,
 * which its boot vCPU's CPU does. False if a reset already is. */
static bool request_restart(struct vm *vm)
{
    if (vm->state == VM_RESETTING) {
        return false;
    }
    if (vm->state == VM_RUNNING) {
        vm_halt_vcpus(vm, VM_RESETTING);
    } else {
        /* Off or stopped: its vCPUs are off and their CPUs idle in the run loop. */
        __atomic_store_n(&vm->state, VM_RESETTING, __ATOMIC_SEQ_CST);
    }
    vm->boot_count++;
    __atomic_store_n(&vm->restart_requested, true, __ATOMIC_RELEASE);
    vcpu_wake(&vm->vcpus[0]);
    return true;
}

bool vm_operator_restart(struct vm *vm)
{
    spin_lock(&vm->lock);
    bool requested = request_restart(vm);
    spin_unlock(&vm->lock);
    if (requested) {
        printk("bulkhead: %s: restart by the operator\n", vm->cfg.name);
    }
    return requested;
}

void vm_serve_restart(struct vcpu *vcpu)
{
    struct vm *vm = vcpu->vm;

    if (vcpu->index != 0 || !__atomic_load_n(&vm->restart_requested, __ATOMIC_ACQUIRE) ||
        !__atomic_exchange_n(&vm->restart_requested, false, __ATOMIC_ACQ_REL)) {
        return;
    }
    /* A policy's restart backs off as vm_stop's does: 100 ms, 200, 400... */
    delay_ms(vm->restart_delay_ms);
    vm->restart_delay_ms = 0;
    vm_reload(vm, vcpu);
}

int vm_write_guest(struct vm *vm, ipa_t ipa, const void *src, uint64_t len)
{
    const struct vm_layout *l = &vm->layout;
    int rc;

    if (ipa < l->ram_ipa || ipa - l->ram_ipa > l->ram_size ||
        len > l->ram_size - (ipa - l->ram_ipa)) {
        return -1;
    }
    /* Its blocks populated first: one populated later would be zeroed over what was copied. */
    spin_lock(&vm->lock);
    rc = populate_range(vm, ipa, len);
    spin_unlock(&vm->lock);
    if (rc == 0) {
        copy_to_guest(vm, ipa, src, len);
    }
    return rc;
}

static bool any_vcpu_on(const struct vm *vm)
{
    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        if (vm->vcpus[i].state != VCPU_OFF) {
            return true;
        }
    }
    return false;
}

void vm_cpu_off(struct vcpu *vcpu)
{
    struct vm *vm = vcpu->vm;

    spin_lock(&vm->lock);
    __atomic_store_n(&vcpu->state, VCPU_OFF, __ATOMIC_RELEASE);
    /* Only a vCPU of the VM could start another again (CPU_ON): with none on or about to start,
     * the VM can never run again. */
    bool halted = !any_vcpu_on(vm) && vm_halt_vcpus(vm, VM_OFF);
    if (halted) {
        printk("bulkhead: %s: powered off (no vCPU left on)\n", vm->cfg.name);
    }
    spin_unlock(&vm->lock);
    if (halted) {
        power_off_if_idle();
    }
}

/* The VM's other vCPUs have been told to stop; their RAM must not change under them. They may
 * need vm->lock to leave an exit (a RAM fault, CPU_ON), so this waits without it. The VM's state
 * was stored before and each CPU stores loaded before it checks that state (schedule_loop):
 * either this sees a CPU loaded and waits for it, or that CPU sees the VM resetting and stays
 * out. */
static void wait_for_other_vcpus(struct vm *vm, const struct vcpu *caller)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        const struct vcpu *v = &vm->vcpus[i];
        while (v != caller && __atomic_load_n(&v->loaded, __ATOMIC_ACQUIRE)) {
            sched_relax(); /* v may be a vCPU of this CPU, which must run to leave */
        }
    }
}

/* The guest asked for a reset and its on-reset policy says stop or reset-machine. */
static void refuse_reset(struct vm *vm)
{
    enum vm_crash_policy policy = vm->cfg.on_reset;

    spin_lock(&vm->lock);
    bool halted = vm_halt_vcpus(vm, VM_STOPPED);
    if (halted) {
        printk("bulkhead: %s: reset by its guest: stopped (on-reset %s)\n", vm->cfg.name,
               policy == VM_ON_CRASH_STOP ? "stop" : "reset-machine");
    }
    spin_unlock(&vm->lock);
    if (!halted) {
        return;
    }
    if (policy == VM_ON_CRASH_RESET_MACHINE) {
        printk("bulkhead: %s: on-reset reset-machine: resetting the machine\n", vm->cfg.name);
        machine_reset();
    }
    power_off_if_idle();
}

void vm_reset(struct vm *vm, const struct vcpu *caller)
{
    if (vm->cfg.on_reset != VM_ON_CRASH_RESTART) {
        refuse_reset(vm);
        return;
    }
    spin_lock(&vm->lock);
    /* The first SYSTEM_RESET owns the reset; one from another vCPU meanwhile changes nothing. */
    bool owner = vm_halt_vcpus(vm, VM_RESETTING);
    if (owner) {
        vm->boot_count++;
    }
    spin_unlock(&vm->lock);
    if (!owner) {
        return;
    }
    printk("bulkhead: %s: reset\n", vm->cfg.name);
    vm_reload(vm, caller);
}
