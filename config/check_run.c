/*
 * The host tool's run over a DTB (include/bulkhead/check.h): the same parsers and placement the
 * hypervisor boots with, from the board to each VM's RAM. Not in the hypervisor's image (the
 * Makefile leaves it out): its buffers, a bundle's copy of the DTB among them, would be a
 * quarter of it.
 */
#include "bulkhead/check.h"

#include <libfdt.h>

#include "bulkhead/bundle.h"
#include "bulkhead/printk.h"
#include "bulkhead/shmem.h"
#include "bulkhead/string.h"

uint64_t check_default_dtb_addr(const struct board *board)
{
    /* hw/arm/boot.c: the initrd goes at RAM + min(RAM / 2, 128 MiB), the DTB after it, 2 MiB
     * aligned: right there when there is no initrd, as for the hypervisor. */
    uint64_t ram = board->nr_ram ? board->ram[0].size : 0;
    uint64_t base = board->nr_ram ? board->ram[0].base : 0;

    return base + ALIGN_UP(MIN(ram / 2, MiB(128)), MiB(2));
}

int check_config(const void *fdt, const struct check_options *opt)
{
    static struct board board;
    static struct vm_config cfgs[MAX_VMS];
    static struct shm_config shm;
    static struct cpu_schedule sched[MAX_CPUS];
    const struct vm_config *running[MAX_VMS];
    struct vm_defaults defaults;
    struct module_limits limits;
    struct ram_pool pool;
    int started = 0;

    if (board_parse(fdt, &board) != 0) {
        pr_err("/: the hypervisor cannot run on this board; fix the errors above\n");
        return -1;
    }
    vm_defaults_parse(board.bootargs, &defaults);
    limits.hyp = opt->hyp;
    if (!limits.hyp.size) {
        limits.hyp.base = board.ram[0].base + CHECK_HYP_OFFSET;
        limits.hyp.size = CHECK_HYP_SIZE;
    }
    limits.dtb.base = opt->dtb_addr ? opt->dtb_addr : check_default_dtb_addr(&board);
    limits.dtb.size = fdt_totalsize(fdt);
    if (opt->initrd) {
        board.initrd.base = opt->initrd_addr ? opt->initrd_addr : check_default_dtb_addr(&board);
        board.initrd.size = opt->initrd_size;
        limits.dtb.base =
            opt->dtb_addr ? opt->dtb_addr : ALIGN_UP(board.initrd.base + board.initrd.size, MiB(2));
    }
    printk("bulkhead: the DTB at 0x%llx+0x%llx, the hypervisor at 0x%llx+0x%llx\n",
           (unsigned long long)limits.dtb.base, (unsigned long long)limits.dtb.size,
           (unsigned long long)limits.hyp.base, (unsigned long long)limits.hyp.size);
    /* The bundle's VMs as el2/main.c merges them; the initrd's RAM is kept from the pool below. */
    static uint64_t with_bundle[BUNDLE_FDT_COPY_MAX / sizeof(uint64_t)] NOINIT; /* written first */
    if (opt->initrd) {
        fdt = bundle_apply(&board, &limits, opt->initrd, fdt, with_bundle, sizeof(with_bundle));
    }
    check_chosen(fdt);
    unsigned n = vmcfg_parse(fdt, &board, &defaults, &limits, cfgs);
    /* Shared memory as el2/main.c sets it up: the regions' checks, fixed ranges kept from the
     * pool, sized ones taken before any VM's RAM. */
    n = shm_parse(fdt, &board, &limits, cfgs, n, &shm);
    /* The hypervisor's board_parse reserves its DTB where it is; here that is limits.dtb. */
    struct mem_range taken[3 + MAX_SHM_REGIONS] = {limits.hyp, limits.dtb, board.initrd};
    unsigned nr_taken = 3 + shm_fixed_ranges(&shm, taken + 3, MAX_SHM_REGIONS);
    ram_pool_init(&pool, &board, taken, nr_taken);
    shm_place(&shm, &pool, cfgs, n);
    layout_default_memory(&pool, cfgs, n);
    for (unsigned i = 0; i < n; i++) {
        const struct vm_config *cfg = &cfgs[i];
        paddr_t pa;
        if (!shm_vm_ready(&shm, cfg)) {
            printk("bulkhead: %s: VM not started\n", cfg->node);
            continue;
        }
        if (!check_vm_ram(&pool, cfg, &pa)) {
            continue;
        }
        /* vm_create's check, on the RAM IPA that layout_vm gives it. */
        if (!shm_check_ram(cfg, cfg->direct_map ? pa : board.ram[0].base, cfg->mem_size)) {
            printk("bulkhead: %s: VM not started\n", cfg->node);
            continue;
        }
        running[started++] = cfg;
    }
    /* The CPUs' schedules as el2/main.c reads them, against the VMs that would run. */
    sched_parse(fdt, &board, running, (unsigned)started, sched);
    if (!started) {
        pr_err("/chosen: no VM would start; describe one (docs/CONFIG.md) or fix the errors "
               "above\n");
    }
    return started;
}
