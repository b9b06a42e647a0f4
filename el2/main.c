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

/* The hypervisor's RAM once the VMs exist: its image as loaded with .bss and .noinit, of which
 * the page-table pool (stage 1 and every VM's stage 2, which grows as VMs touch their RAM). */
static void print_footprint(void)
{
    uint64_t image = (paddr_t)__image_end - hyp_load_base;

    printk("bulkhead: memory: %llu KiB for the hypervisor, of which page tables %u KiB (%u KiB in "
           "use)\n",
           (unsigned long long)(image >> 10), table_pages_total() * (unsigned)(PAGE_SIZE >> 10),
           table_pages_used() * (unsigned)(PAGE_SIZE >> 10));
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
    /* A bundle's VMs join the host DTB's in a copy of it, which every VM then reads: the copy
     * outlives boot, as resets rebuild guest trees from it. */
    static uint64_t fdt_with_bundle[BUNDLE_FDT_COPY_MAX / sizeof(uint64_t)] NOINIT;
    static struct shm_config shm;
    static struct vm_config cfgs[MAX_VMS];
    struct ram_pool pool;
    /* The hypervisor's whole footprint: the image as loaded, then .bss and .noinit. */
    struct mem_range image = {hyp_load_base, (paddr_t)__image_end - hyp_load_base};
    paddr_t dtb = (paddr_t)(uintptr_t)host_fdt;
    /* Modules are checked against these and the board's RAM before anything reads them. */
    const struct module_limits limits = {.hyp = image, .dtb = {dtb, fdt_header_word(dtb, 1)}};
    const void *fdt = bundle_apply(&board, &limits, (const void *)(uintptr_t)board.initrd.base,
                                   host_fdt, fdt_with_bundle, sizeof(fdt_with_bundle));

    check_chosen(fdt);
    unsigned n = vmcfg_parse(fdt, &board, defaults, &limits, cfgs);
    n = shm_parse(fdt, &board, &limits, cfgs, n, &shm);
    /* Fixed shared regions are no VM's RAM; sized ones are taken before any VM's RAM. */
    struct mem_range taken[1 + MAX_SHM_REGIONS] = {image};
    unsigned nr_taken = 1 + shm_fixed_ranges(&shm, taken + 1, MAX_SHM_REGIONS);
    ram_pool_init(&pool, &board, taken, nr_taken);
    shm_place(&shm, &pool, cfgs, n);
    zero_shared_regions(&shm);
    virtio_place(&pool, cfgs, n); /* writable disks' copies, kept across their VM's resets */
    place_snapshots(&pool, cfgs, n);
    layout_default_memory(&pool, cfgs, n);

    for (unsigned i = 0; i < n; i++) {
        paddr_t pa;
        struct vm *vm = &vms[nr_vms];
        if (!shm_vm_ready(&shm, &cfgs[i]) || !virtio_vm_ready(&cfgs[i])) {
            printk("bulkhead: %s: VM not started\n", cfgs[i].node);
            continue;
        }
        if (!check_vm_ram(&pool, &cfgs[i], &pa)) {
            continue;
        }
        if (vm_create(vm, nr_vms, &cfgs[i], pa, fdt) != 0) {
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
    print_footprint();
    gdbstub_init(defaults.gdb_vm);
    smp_boot_secondaries();
    monitor_init();
    console_input_init();
    if (console->spi) {
        gic_enable_spi(console->spi + VGIC_NR_PRIVATE, 0);
    }
    for (unsigned i = 0; i < nr_vms; i++) {
        vm_prepare(&vms[i]);
    }
    for (unsigned i = 0; i < nr_vms; i++) {
        vm_start(&vms[i]);
    }
    sched_start_cpu();
    pcpu_schedule();
}
