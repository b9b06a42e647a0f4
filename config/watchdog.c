/*
 * A VM's watchdog in its node (docs/CONFIG.md, "A watchdog for each VM"): `bulkhead,watchdog`
 * asks for an emulated SBSA generic watchdog (vdev/sbsa_gwdt.c); `bulkhead,on-watchdog`, what its
 * expiry does, is read with the VM's other policies (config/vmconfig.c). Pure C, host-tested.
 */
#include "bulkhead/fdt_read.h"
#include "bulkhead/pt.h"
#include "bulkhead/sbsa_gwdt.h"
#include "bulkhead/shmem.h"
#include "bulkhead/string.h"

#include <libfdt.h>

ipa_t watchdog_default_ipa(const struct board *board)
{
    uint64_t end = 0;

    for (unsigned i = 0; i < board->nr_ram; i++) {
        end = MAX(end, board->ram[i].base + board->ram[i].size);
    }
    return ALIGN_UP(end, WATCHDOG_IPA_ALIGN);
}

static bool read_ipa(const void *fdt, int node, const struct board *board, ipa_t *ipa)
{
    int len;
    const fdt32_t *cells = fdt_getprop(fdt, node, "bulkhead,watchdog", &len);
    int parent_cells = fdt_address_cells(fdt, node);

    if (len == 0) {
        *ipa = watchdog_default_ipa(board);
        return true;
    }
    if (parent_cells < 1 || parent_cells > 2 || len != parent_cells * 4) {
        config_node_err(fdt, node,
                        "bulkhead,watchdog is empty or the frames' IPA in %d cells "
                        "(#address-cells)",
                        parent_cells);
        return false;
    }
    *ipa = fdt32_to_cpu(cells[0]);
    if (len == 8) {
        *ipa = (*ipa << 32) | fdt32_to_cpu(cells[1]);
    }
    if (*ipa % PAGE_SIZE) {
        config_node_err(fdt, node, "bulkhead,watchdog: IPA 0x%lx is not page-aligned", *ipa);
        return false;
    }
    return true;
}

/* The frames clear of the board's RAM (any VM's RAM may be there) and of the VM's devices. */
static bool check_place(const void *fdt, int node, const struct board *board,
                        const struct vm_config *vm)
{
    struct mem_range dev[5 + MAX_PT_RANGES];
    unsigned nr = shm_vm_devices(board, vm, dev, ARRAY_SIZE(dev));
    ipa_t ipa = vm->watchdog.ipa;

    for (unsigned i = 0; i < board->nr_ram; i++) {
        if (ranges_overlap(ipa, GWDT_SIZE, board->ram[i].base, board->ram[i].size)) {
            config_node_err(fdt, node, "bulkhead,watchdog: IPA 0x%lx+0x%x overlaps RAM", ipa,
                            GWDT_SIZE);
            return false;
        }
    }
    for (unsigned i = 0; i < nr; i++) {
        if (ranges_overlap(ipa, GWDT_SIZE, dev[i].base, dev[i].size)) {
            config_node_err(fdt, node,
                            "bulkhead,watchdog: IPA 0x%lx+0x%x overlaps a device of the VM at "
                            "0x%lx+0x%lx",
                            ipa, GWDT_SIZE, dev[i].base, dev[i].size);
            return false;
        }
    }
    return true;
}

bool watchdog_parse(const void *fdt, int vm_node, const struct board *board, struct vm_config *vm)
{
    vm->watchdog = (struct vm_watchdog){0};
    if (!fdt_getprop(fdt, vm_node, "bulkhead,watchdog", NULL)) {
        return true;
    }
    if (board->gic.version == GIC_NONE) {
        config_node_err(fdt, vm_node, "bulkhead,watchdog needs a GIC for its interrupt");
        return false;
    }
    if (!read_ipa(fdt, vm_node, board, &vm->watchdog.ipa) ||
        !check_place(fdt, vm_node, board, vm)) {
        return false;
    }
    uint32_t spi = WATCHDOG_SPI_TOP;
    /* Before the VM's shared memory is read (config/shmem.c then skips this SPI). */
    while (spi > 0 && shm_spi_taken(board, vm, 0, spi)) {
        spi--;
    }
    vm->watchdog.spi = spi;
    vm->watchdog.present = true;
    return true;
}
