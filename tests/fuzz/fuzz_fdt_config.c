/*
 * A whole host DTB through what the hypervisor does with it at boot (el2/main.c's hyp_main and
 * create_vms, el2/vm.c's vm_create): the board (board_parse), the hypervisor's own options
 * (vm_defaults_parse), /chosen's checks (check_chosen), the VMs with their modules and
 * passed-through devices (vmcfg_parse, pt_parse, pt_parse_partial), shared memory (shm_parse,
 * shm_place, shm_check_ram), RAM and layout (ram_pool_*, layout_*), and each VM's device tree
 * (guest_fdt_build). None of it may crash or read outside the input.
 *
 * The input is the DTB, then optional bytes after its totalsize that stand for what the modules'
 * addresses hold: a multiboot,device-tree module (Xen's partial tree) reads them when they are at
 * least the module's size, and the kernel's Image header is read from them. Each part is copied
 * into a buffer of exactly its size, so that AddressSanitizer sees any read past it.
 *
 * Checked besides "no crash": every guest device tree built is a valid tree (fdt_check_full).
 */
#include <libfdt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulkhead/check.h"
#include "bulkhead/config.h"
#include "bulkhead/guest_fdt.h"
#include "bulkhead/layout.h"
#include "bulkhead/shmem.h"
#include "support/capture.h"

#define GUEST_DTB_BUF (64 * 1024) /* el2/vm.c's */

static const uint8_t *tail;
static size_t tail_len;
/* Module contents handed out during one input, freed at its end. */
static void *modules[MAX_VMS * 4];
static unsigned nr_modules;

/* The hypervisor reads a module where it is in memory; here, from the input's tail. */
const void *check_module_contents(const struct vm_module *m)
{
    if (!tail_len || m->size > tail_len || nr_modules == sizeof(modules) / sizeof(modules[0])) {
        return NULL;
    }
    void *copy = malloc(m->size ? m->size : 1);
    if (!copy) {
        return NULL;
    }
    memcpy(copy, tail, m->size);
    modules[nr_modules++] = copy;
    return copy;
}

static void release_modules(void)
{
    for (unsigned i = 0; i < nr_modules; i++) {
        free(modules[i]);
    }
    nr_modules = 0;
}

/* vm_create's part that needs no hardware: the layout and the guest's device tree. */
static void build_vm(const struct board *board, const struct vm_config *cfg, paddr_t ram_pa,
                     const void *host_fdt, void *dtb)
{
    struct vm_layout layout;
    size_t head_len = tail_len < cfg->kernel.size ? tail_len : (size_t)cfg->kernel.size;
    uint8_t *head = malloc(head_len ? head_len : 1);

    if (!head) {
        return;
    }
    memcpy(head, tail, head_len);
    int rc = layout_vm(board, cfg, ram_pa, head, head_len, &layout);
    free(head);
    if (rc != 0 || !shm_check_ram(cfg, layout.ram_ipa, layout.ram_size)) {
        return;
    }
    if (guest_fdt_build(dtb, GUEST_DTB_BUF, board, cfg, &layout, host_fdt) != 0) {
        return;
    }
    if (fdt_check_full(dtb, GUEST_DTB_BUF) != 0) {
        fprintf(stderr, "fuzz_fdt_config: %s's guest device tree is not valid\n", cfg->node);
        abort();
    }
    (void)guest_fdt_boot_count_at(dtb);
    (void)guest_fdt_chosen_prop_at(dtb, "kaslr-seed", 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct board board;
    static struct vm_config cfgs[MAX_VMS];
    static struct shm_config shm;
    static uint8_t dtb[GUEST_DTB_BUF] __attribute__((aligned(8)));

    /* hyp_main: a DTB with the magic; the hypervisor maps totalsize bytes of it. */
    if (size < sizeof(struct fdt_header) || fdt_magic(data) != FDT_MAGIC) {
        return 0;
    }
    size_t total = fdt_totalsize(data);
    if (total < sizeof(struct fdt_header) || total > size) {
        return 0;
    }
    void *fdt = malloc(total);
    if (!fdt) {
        return 0;
    }
    memcpy(fdt, data, total);
    tail = data + total;
    tail_len = size - total;
    capture_reset();

    memset(&board, 0, sizeof(board));
    if (board_parse(fdt, &board) != 0) {
        free(fdt);
        return 0;
    }
    struct vm_defaults defaults;
    (void)vm_defaults_parse(board.bootargs, &defaults);

    /* create_vms: the hypervisor where QEMU virt loads it, the DTB where it is. */
    struct mem_range image = {board.nr_ram ? board.ram[0].base + 0x200000 : 0x40200000, 0x300000};
    const struct module_limits limits = {.hyp = image, .dtb = {(uintptr_t)fdt, total}};
    struct mem_range taken[1 + MAX_SHM_REGIONS] = {image};
    struct ram_pool pool;

    check_chosen(fdt);
    unsigned n = vmcfg_parse(fdt, &board, &defaults, &limits, cfgs);
    memset(&shm, 0, sizeof(shm));
    n = shm_parse(fdt, &board, &limits, cfgs, n, &shm);
    unsigned nr_taken = 1 + shm_fixed_ranges(&shm, taken + 1, MAX_SHM_REGIONS);
    ram_pool_init(&pool, &board, taken, nr_taken);
    shm_place(&shm, &pool, cfgs, n);
    layout_default_memory(&pool, cfgs, n);
    for (unsigned i = 0; i < n; i++) {
        paddr_t pa;
        if (shm_vm_ready(&shm, &cfgs[i]) && check_vm_ram(&pool, &cfgs[i], &pa)) {
            build_vm(&board, &cfgs[i], pa, fdt, dtb);
        }
    }
    release_modules();
    free(fdt);
    return 0;
}
