/* Boot: from firmware's hand-off to every VM running. */
#include "bulkhead/boot.h"

#include "arch/sysreg.h"
#include "bulkhead/bundle.h"
#include "bulkhead/check.h"
#include "bulkhead/console.h"
#include "bulkhead/cpu.h"
#include "bulkhead/firmware.h"
#include "bulkhead/gdbstub.h"
#include "bulkhead/gic.h"
#include "bulkhead/hvcall.h"
#include "bulkhead/layout.h"
#include "bulkhead/mm.h"
#include "bulkhead/monitor.h"
#include "bulkhead/passthrough_irq.h"
#include "bulkhead/printk.h"
#include "bulkhead/sbsa_gwdt.h"
#include "bulkhead/sched.h"
#include "bulkhead/shmem.h"
#include "bulkhead/smmuv3.h"
#include "bulkhead/smp.h"
#include "bulkhead/snapshot.h"
#include "bulkhead/stage2.h"
#include "bulkhead/string.h"
#include "bulkhead/vm.h"
#include "bulkhead/vtimer.h"

#define FDT_MAGIC 0xd00dfeedu

struct board board;
paddr_t hyp_load_base;

static uint32_t fdt_header_word(paddr_t dtb, unsigned index)
{
    return __builtin_bswap32(((const volatile uint32_t *)(uintptr_t)dtb)[index]);
}

static void NORETURN halt(void)
{
    for (;;) {
        wfi();
    }
}

static void map_board_devices(void)
{
    const struct board_gic *gic = &board.gic;
    const struct mem_range *dev[] = {&board.uart.regs, &gic->dist,   &gic->cpuif,     &gic->hyp,
                                     &gic->vcpu,       &gic->redist, &board.smmu.regs};

    for (unsigned i = 0; i < ARRAY_SIZE(dev); i++) {
        if (dev[i]->size) {
            mmu_map_device(ALIGN_DOWN(dev[i]->base, PAGE_SIZE),
                           ALIGN_UP(dev[i]->size + (dev[i]->base & (PAGE_SIZE - 1)), PAGE_SIZE));
        }
    }
}

/* VMs mirror the board's map: the highest address any of them can use is the board's. */
/* The top of what the VMs' stage 2 must reach: the board's RAM (where direct-mapped VMs' RAM
 * is too) and devices. A passed-through window above it is refused when the VM is created. */
static uint64_t highest_guest_address(void)
{
    const struct board_gic *gic = &board.gic;
    const struct mem_range *dev[] = {&board.uart.regs, &gic->dist, &gic->cpuif, &gic->redist};
    uint64_t top = 0;

    for (unsigned i = 0; i < board.nr_ram; i++) {
        top = MAX(top, board.ram[i].base + board.ram[i].size - 1);
    }
    for (unsigned i = 0; i < ARRAY_SIZE(dev); i++) {
        if (dev[i]->size) {
            top = MAX(top, dev[i]->base + dev[i]->size - 1);
        }
    }
    /* The windows of a PCIe bridge behind the SMMU, which a VM may be given. */
    top = MAX(top, board.smmu.fronted_top);
    /* A VM's virtio devices, above where its watchdog goes by default (config/virtio.c). */
    top = MAX(top, watchdog_default_ipa(&board) + VIRTIO_IPA_OFFSET +
                       2 * MAX_VM_VIRTIO * VIRTIO_IPA_STRIDE - 1);
    /* A VM's watchdog, where it goes by default (config/watchdog.c). */
    return MAX(top, watchdog_default_ipa(&board) + GWDT_SIZE - 1);
}

static void print_banner(paddr_t dtb)
{
    uint64_t ram = 0;

    for (unsigned i = 0; i < board.nr_ram; i++) {
        ram += board.ram[i].size;
    }
    printk("\nBulkhead hypervisor (" PLATFORM ") at 0x%llx, DTB at 0x%llx\n",
           (unsigned long long)hyp_load_base, (unsigned long long)dtb);
    printk("bulkhead: board \"%s\": %u CPUs, %llu MiB RAM, GICv%u, IPA %u bits\n", board.model,
           board.nr_cpus, (unsigned long long)(ram >> 20), (unsigned)board.gic.version,
           s2_ipa_bits());
}

/* The hypervisor's RAM once the VMs exist: its image as loaded, with .bss and .noinit (the early
 * page tables among them), and what it took after the image at boot. */
static void print_footprint(void)
{
    uint64_t image = (paddr_t)__image_end - hyp_load_base;
    uint64_t tables = hyp_mem_used(HYP_MEM_TABLES);
    uint64_t rest = hyp_mem_end() - ALIGN_UP((paddr_t)__image_end, PAGE_SIZE) - tables;
    printk("bulkhead: footprint %llu KiB (image %llu KiB, VMs %llu KiB, vCPU stacks %llu KiB, "
           "guest DTBs %llu KiB, bundle %llu KiB, SMMU %llu KiB) + %llu KiB of page tables (and "
           "%u of the image's early pages)\n",
           (unsigned long long)((image + rest) >> 10), (unsigned long long)(image >> 10),
           (unsigned long long)(hyp_mem_used(HYP_MEM_VMS) >> 10),
           (unsigned long long)(hyp_mem_used(HYP_MEM_THREADS) >> 10),
           (unsigned long long)(hyp_mem_used(HYP_MEM_DTBS) >> 10),
           (unsigned long long)(hyp_mem_used(HYP_MEM_BUNDLE) >> 10),
           (unsigned long long)(hyp_mem_used(HYP_MEM_SMMU) >> 10),
           (unsigned long long)(tables >> 10), table_pages_early());
}

/* The hypervisor's memory (include/bulkhead/mm.h) starts at its image's end and may grow up to
 * the next thing RAM holds there: a reserved range, the host DTB, a boot module, the initrd. */
static void open_hyp_mem(void)
{
    static struct ram_pool pool;
    const struct mem_range image = {hyp_load_base, (paddr_t)__image_end - hyp_load_base};

    ram_pool_init(&pool, &board, &image, 1);
    hyp_mem_init(ram_pool_free_end(&pool, (paddr_t)__image_end));
}

/* The most the VMs can take of the hypervisor's memory: each one's struct vm and vCPUs, guest DTB
 * and stage-2 tables (root, RAM, shared regions, passed-through windows), a thread stack per
 * vCPU, and the few tables EL2's own map may still need (the gdb UART, a spin table's release
 * address). */
static uint64_t hyp_mem_needed(const struct vm_config *cfgs, unsigned n)
{
    const struct mem_range gicv = {board.gic.cpuif.base, board.gic.version == GIC_V2 ? KiB(8) : 0};
    paddr_t ram_lo = UINT64_MAX, ram_hi = 0;
    unsigned start_level, root_pages, vcpus = 0;
    uint64_t pages = 4, bytes = 0;

    for (unsigned i = 0; i < board.nr_ram; i++) {
        ram_lo = MIN(ram_lo, board.ram[i].base);
        ram_hi = MAX(ram_hi, board.ram[i].base + board.ram[i].size);
    }
    pt_stage2_geometry(s2_ipa_bits(), &start_level, &root_pages);
    for (unsigned i = 0; i < n; i++) {
        /* A root of several pages is aligned to its size: as many pages again at worst. */
        pages += 2 * root_pages + layout_s2_tables_max(&cfgs[i], ram_lo, ram_hi, gicv, start_level);
        bytes += VM_DTB_MAX + sizeof(struct vm) + cfgs[i].nr_vcpus * sizeof(struct vcpu) +
                 _Alignof(struct vcpu);
        vcpus += cfgs[i].nr_vcpus;
    }
    pages += layout_s2_ram_page_tables_max(cfgs, n, ram_lo, ram_hi);
    return bytes + _Alignof(struct vm) + pages * PAGE_SIZE +
           MIN(vcpus, SCHED_MAX_THREADS) * CPU_STACK_SIZE;
}

/* The copy of the host DTB with a bundle's VMs, kept in the hypervisor's memory at its size. */
static const void *apply_bundle(const void *host_fdt, const struct module_limits *limits)
{
    uint64_t room;
    void *out = hyp_mem_room(8, &room);
    const void *fdt = bundle_apply(&board, limits, (const void *)(uintptr_t)board.initrd.base,
                                   host_fdt, out, (int)MIN(room, BUNDLE_FDT_COPY_MAX));

    if (fdt == out) {
        hyp_mem_alloc(fdt_header_word((paddr_t)(uintptr_t)out, 1), 8, HYP_MEM_BUNDLE);
    }
    return fdt;
}

/* Reads from an address nothing maps: the hypervisor's own data abort, reported as any other
 * hypervisor fault would be. noinline keeps it in the backtrace. */
static __attribute__((noinline)) void selftest_panic(void)
{
    printk("bulkhead: self-test: faulting on purpose\n");
    (void)*(volatile uint64_t *)(uintptr_t)0x7ff0000000ULL;
}

/* Shared regions start zeroed, once: a VM's reset never clears them (el2/vm.c). Cleaned to
 * the point of coherency for a guest that reads them with its caches off. */
static void zero_shared_regions(const struct shm_config *shm)
{
    for (unsigned i = 0; i < shm->nr; i++) {
        const struct shm_region *r = &shm->regions[i];
        if (r->placed) {
            memset((void *)(uintptr_t)r->pa, 0, r->size);
            dcache_clean_poc((void *)(uintptr_t)r->pa, r->size);
        }
    }
}

/* RAM for the snapshot of each VM that asks for one (bulkhead,snapshot), as large as its own:
 * taken before the VMs without a memory size share out what is free. */
static void place_snapshots(struct ram_pool *pool, struct vm_config *cfgs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct vm_config *cfg = &cfgs[i];
        paddr_t pa;
        if (!cfg->snapshot) {
            continue;
        }
        if (!cfg->mem_size || ram_pool_alloc(pool, cfg->mem_size + SNAPSHOT_STATE_SIZE, &pa) != 0) {
            printk("bulkhead: %s: no RAM for its snapshot (bulkhead,snapshot needs a "
                   "memory-size and as much RAM free again): it will have none\n",
                   cfg->node);
            cfg->snapshot = false;
            continue;
        }
        cfg->snapshot_pa = pa;
    }
}

/* How each CPU shared by several vCPUs shares its time, from /chosen's bulkhead,schedule nodes
 * (a node in error is reported, and its CPUs keep the default policy). */
static void configure_cpus(const void *fdt)
{
    static struct cpu_schedule schedules[MAX_CPUS];
    const struct vm_config *cfgs[MAX_VMS];

    for (unsigned i = 0; i < nr_vms; i++) {
        cfgs[i] = &vms[i].cfg;
    }
    sched_parse(fdt, &board, cfgs, nr_vms, schedules);
    sched_configure(schedules);
}

/* fdt: the tree the VMs are read from (the host DTB, or its copy with a bundle's nodes);
 * dtb: the host DTB where the boot loader left it. */
static void create_vms(const void *host_fdt, const struct vm_defaults *defaults)
{
    static struct shm_config shm;
    static struct vm_config cfgs[MAX_VMS];
    struct ram_pool pool;
    struct mem_range image = {hyp_load_base, (paddr_t)__image_end - hyp_load_base};
    paddr_t dtb = (paddr_t)(uintptr_t)host_fdt;
    /* Modules are checked against these and the board's RAM before anything reads them. */
    const struct module_limits limits = {.hyp = image, .dtb = {dtb, fdt_header_word(dtb, 1)}};
    /* A bundle's VMs join the host DTB's in a copy of it, which every VM then reads: the copy
     * outlives boot, as resets rebuild guest trees from it. */
    const void *fdt = apply_bundle(host_fdt, &limits);

    check_chosen(fdt);
    unsigned n = vmcfg_parse(fdt, &board, defaults, &limits, cfgs);
    n = shm_parse(fdt, &board, &limits, cfgs, n, &shm);
    /* The hypervisor's memory is kept from the VMs' RAM as large as these VMs can need. */
    paddr_t reserved_end = hyp_mem_end() + hyp_mem_needed(cfgs, n);
    if (reserved_end > hyp_mem_limit()) {
        printk("bulkhead: the hypervisor's memory after its image may need %llu KiB for these "
               "VMs, but has %llu KiB (0x%llx-0x%llx: a reserved range, the DTB or a module "
               "follows): VMs may not start; load those higher\n",
               (unsigned long long)((reserved_end - hyp_mem_end()) >> 10),
               (unsigned long long)((hyp_mem_limit() - hyp_mem_end()) >> 10),
               (unsigned long long)hyp_mem_end(), (unsigned long long)hyp_mem_limit());
    }
    /* Fixed shared regions are no VM's RAM; sized ones are taken before any VM's RAM. */
    struct mem_range taken[1 + MAX_SHM_REGIONS] = {{hyp_load_base, reserved_end - hyp_load_base}};
    unsigned nr_taken = 1 + shm_fixed_ranges(&shm, taken + 1, MAX_SHM_REGIONS);
    ram_pool_init(&pool, &board, taken, nr_taken);
    shm_place(&shm, &pool, cfgs, n);
    zero_shared_regions(&shm);
    virtio_place(&pool, cfgs, n); /* writable disks' copies, kept across their VM's resets */
    place_snapshots(&pool, cfgs, n);
    layout_default_memory(&pool, cfgs, n);

    paddr_t ram_pa[MAX_VMS];
    bool placed[MAX_VMS];
    unsigned nr_placed = 0;
    for (unsigned i = 0; i < n; i++) {
        placed[i] = shm_vm_ready(&shm, &cfgs[i]) && virtio_vm_ready(&cfgs[i]);
        if (!placed[i]) {
            printk("bulkhead: %s: VM not started\n", cfgs[i].node);
            continue;
        }
        placed[i] = check_vm_ram(&pool, &cfgs[i], &ram_pa[i]);
        nr_placed += placed[i];
    }
    /* Every VM's RAM is placed: the hypervisor's memory may grow up to whatever comes first. */
    hyp_mem_set_limit(MIN(hyp_mem_limit(), ram_pool_free_end(&pool, reserved_end)));
    vms = hyp_mem_alloc(nr_placed * sizeof(struct vm), _Alignof(struct vm), HYP_MEM_VMS);
    if (!vms) {
        printk("bulkhead: no room for %u VMs (%llu KiB) in the hypervisor's memory\n", nr_placed,
               (unsigned long long)((nr_placed * sizeof(struct vm)) >> 10));
        return;
    }
    memset(vms, 0, nr_placed * sizeof(struct vm));
    for (unsigned i = 0; i < n; i++) {
        struct vm *vm = &vms[nr_vms];
        if (!placed[i]) {
            continue;
        }
        if (vm_create(vm, nr_vms, &cfgs[i], ram_pa[i], fdt) != 0) {
            passthrough_release(vm);
            printk("bulkhead: %s: VM not started\n", cfgs[i].node);
            continue;
        }
        nr_vms++;
    }
    configure_cpus(fdt);
}

void hyp_main(paddr_t dtb, paddr_t load_base)
{
    hyp_load_base = load_base;
    cpu_init(0);
    if (!dtb || fdt_header_word(dtb, 0) != FDT_MAGIC) {
        halt(); /* no DTB: no console either */
    }
    mmu_init(dtb, fdt_header_word(dtb, 1));

    const void *fdt = (const void *)(uintptr_t)dtb;
    int rc = board_parse(fdt, &board);
    const struct board_uart *console = board_console(&board);
    if (console->regs.size) {
        mmu_map_device(ALIGN_DOWN(console->regs.base, PAGE_SIZE), PAGE_SIZE);
        console_init(console->regs.base,
                     console == &board.aux_console ? CONSOLE_BCM2835_AUX : CONSOLE_PL011);
    }
    if (rc != 0) {
        printk("bulkhead: cannot run on this board: its device tree is unusable\n");
        halt();
    }
    for (unsigned i = 0; i < board.nr_ram; i++) {
        mmu_map_ram(board.ram[i].base, board.ram[i].size);
    }
    open_hyp_mem();
    map_board_devices();
    firmware_init(fdt);
    s2_global_init(highest_guest_address());
    s2_cpu_init();
    const struct gic_hyp_ppis ppis = {
        .maint = board.gic.maint_irq,
        .hyp_timer = board.timer.irq_hyp,
        .virt_timer = board.timer.irq_virt,
    };
    gic_init(&board.gic, board.cpus, board.nr_cpus, &ppis);
    gic_cpu_init(0);
    /* QEMU's GICv2 does not look for pending interrupts again when a guest's EOI deactivates a
     * hardware-linked one: a timer interrupt pending by then stays unsignalled, and a busy
     * guest loses its ticks. On GICv2 the hypervisor deactivates it, at the guest's EOI. */
    vtimer_init(board.timer.irq_virt, board.timer.irq_phys, board.gic.version == GIC_V3);
    print_banner(dtb);
    smmu_init(&board.smmu);

    struct vm_defaults defaults;
    if (vm_defaults_parse(board.bootargs, &defaults) != 0) {
        printk("bulkhead: ignoring the options above\n");
    }
    if (defaults.selftest_panic) {
        selftest_panic();
    }
    create_vms(fdt, &defaults);
    if (!nr_vms) {
        printk("bulkhead: no VM to run: pass guests with -device guest-loader (see README)\n");
        machine_power_off();
    }
    gdbstub_init(defaults.gdb_vm);
    smp_boot_secondaries();
    monitor_init();
    console_input_init();
    if (console->spi) {
        gic_enable_spi(console->spi + VGIC_NR_PRIVATE, 0);
    }
    /* Once the VMs run, only their RAM's level-3 tables are taken (under the allocator's lock),
     * as blocks are first touched, from the room create_vms kept for them. */
    print_footprint();
    for (unsigned i = 0; i < nr_vms; i++) {
        vm_prepare(&vms[i]);
    }
    for (unsigned i = 0; i < nr_vms; i++) {
        vm_start(&vms[i]);
    }
    sched_start_cpu();
    pcpu_schedule();
}
