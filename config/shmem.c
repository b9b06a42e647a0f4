/*
 * Shared memory between VMs: the regions and each VM's maps, read from the device tree and
 * checked (include/bulkhead/shmem.h; binding in docs/CONFIG.md). Everything is decided here, at
 * boot, so that creating the VMs only maps what was validated.
 */
#include "bulkhead/shmem.h"
#include "bulkhead/sbsa_gwdt.h"

#include "bulkhead/fdt_read.h"
#include "bulkhead/printk.h"
#include "bulkhead/pt.h"
#include "bulkhead/string.h"

#define OUR_REGION "bulkhead,shared-memory"
#define OUR_MAP "bulkhead,shared-memory-map"
#define XEN_MAP "xen,domain-shared-memory-v1"
#define GICV2_DIST_SIZE 0x1000
#define GICV2_CPUIF_SIZE 0x2000
#define GICV3_DIST_SIZE 0x10000
#define GICV3_REDIST_STRIDE 0x20000

/* ---- ranges ---- */

/* Does [base, base + size) wrap around the address space? */
static bool wraps(uint64_t base, uint64_t size)
{
    return size > UINT64_MAX - base;
}

/* What a map takes in the VM's address space: the region, then its doorbell's page. */
static uint64_t map_span(const struct shm_map *m)
{
    return m->size + SHM_DOORBELL_SIZE;
}

/* ---- regions ---- */

static int find_region(const struct shm_config *shm, const char *id)
{
    for (unsigned i = 0; i < shm->nr; i++) {
        if (strcmp(shm->regions[i].id, id) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* The id property: a non-empty string that fits. NULL after naming the node. */
static const char *read_id(const void *fdt, int node, const char *prop)
{
    const char *id = config_get_string(fdt, node, prop);

    if (!id) {
        config_node_err(fdt, node, "no \"%s\": name the shared-memory region", prop);
        return NULL;
    }
    if (!id[0] || strlen(id) >= SHM_ID_LEN) {
        config_node_err(fdt, node, "\"%s\" must be 1 to %d characters", prop, SHM_ID_LEN - 1);
        return NULL;
    }
    return id;
}

/* A fixed host range: inside one RAM bank (the hypervisor zeroes it and maps it cacheable),
 * clear of the hypervisor, its DTB and the reserved memory (boot modules included). */
static bool check_fixed(const void *fdt, int node, const struct board *board,
                        const struct module_limits *limits, uint64_t pa, uint64_t size)
{
    bool in_ram = false;

    for (unsigned i = 0; i < board->nr_ram; i++) {
        const struct mem_range *r = &board->ram[i];
        in_ram |= pa >= r->base && pa - r->base <= r->size && size <= r->size - (pa - r->base);
    }
    if (!in_ram) {
        config_node_err(fdt, node, "host range 0x%lx+0x%lx is not inside one RAM bank", pa, size);
        return false;
    }
    if (limits && (ranges_overlap(pa, size, limits->hyp.base, limits->hyp.size) ||
                   ranges_overlap(pa, size, limits->dtb.base, limits->dtb.size))) {
        config_node_err(fdt, node,
                        "host range 0x%lx+0x%lx overlaps the hypervisor (0x%lx+0x%lx) or its DTB "
                        "(0x%lx+0x%lx)",
                        pa, size, limits->hyp.base, limits->hyp.size, limits->dtb.base,
                        limits->dtb.size);
        return false;
    }
    for (unsigned i = 0; i < board->nr_reserved; i++) {
        const struct mem_range *r = &board->reserved[i];
        if (ranges_overlap(pa, size, r->base, r->size)) {
            config_node_err(fdt, node,
                            "host range 0x%lx+0x%lx overlaps reserved memory or a boot module "
                            "(0x%lx+0x%lx)",
                            pa, size, r->base, r->size);
            return false;
        }
    }
    return true;
}

/* Two fixed regions must not share a byte: they would be one region under two names. */
static bool check_fixed_clash(const void *fdt, int node, const struct shm_config *shm, uint64_t pa,
                              uint64_t size)
{
    for (unsigned i = 0; i < shm->nr; i++) {
        const struct shm_region *r = &shm->regions[i];
        if (r->fixed && ranges_overlap(pa, size, r->pa, r->size)) {
            config_node_err(fdt, node, "host range 0x%lx+0x%lx overlaps region \"%s\" of %s", pa,
                            size, r->id, r->node);
            return false;
        }
    }
    return true;
}

/*
 * Adds region id (size bytes, at pa if fixed) described by node, or checks it against the one
 * of that id already known: one size, one host range. Returns its index, or -1 after naming
 * the node.
 */
static int add_region(const void *fdt, int node, const struct board *board,
                      const struct module_limits *limits, struct shm_config *shm, const char *id,
                      uint64_t size, uint64_t pa, bool fixed)
{
    int i = find_region(shm, id);

    if (size == 0 || !IS_ALIGNED(size, PAGE_SIZE) || (fixed && !IS_ALIGNED(pa, PAGE_SIZE)) ||
        (fixed && wraps(pa, size))) {
        config_node_err(fdt, node,
                        "region \"%s\": size 0x%lx (and host address 0x%lx) must be non-zero "
                        "multiples of 4 KiB",
                        id, size, fixed ? pa : 0);
        return -1;
    }
    if (i >= 0) {
        const struct shm_region *r = &shm->regions[i];
        if (r->size != size) {
            config_node_err(fdt, node, "region \"%s\" is 0x%lx bytes here but 0x%lx in %s", id,
                            size, r->size, r->node);
            return -1;
        }
        if (fixed && (!r->fixed || r->pa != pa)) {
            config_node_err(fdt, node, "region \"%s\" is at host 0x%lx here but %s%lx in %s", id,
                            pa, r->fixed ? "0x" : "allocated, not ", r->fixed ? r->pa : pa,
                            r->node);
            return -1;
        }
        return i;
    }
    if (shm->nr == MAX_SHM_REGIONS) {
        config_node_err(fdt, node, "more than %d shared-memory regions", MAX_SHM_REGIONS);
        return -1;
    }
    if (fixed && (!check_fixed(fdt, node, board, limits, pa, size) ||
                  !check_fixed_clash(fdt, node, shm, pa, size))) {
        return -1;
    }
    struct shm_region *r = &shm->regions[shm->nr];
    memset(r, 0, sizeof(*r));
    strlcpy(r->id, id, sizeof(r->id));
    config_node_path(fdt, node, r->node, sizeof(r->node));
    r->size = size;
    r->pa = fixed ? pa : 0;
    r->fixed = r->placed = fixed;
    return (int)shm->nr++;
}

/* Our region node under /chosen: an id and a size, or a fixed host range in reg. */
static void read_our_region(const void *fdt, int node, const struct board *board,
                            const struct module_limits *limits, struct shm_config *shm)
{
    const char *id = read_id(fdt, node, "bulkhead,shm-id");
    struct vm_module reg = {0};
    uint64_t size = 0;

    if (!id) {
        return;
    }
    int has_size = config_read_u64(fdt, node, "size", &size);
    int has_reg = config_module_reg(fdt, node, &reg);
    if (has_size < 0 || has_reg < 0) {
        return;
    }
    if (has_size == has_reg) {
        config_node_err(fdt, node, "give the region either a size or a reg (a fixed host range)");
        return;
    }
    if (find_region(shm, id) >= 0) {
        config_node_err(fdt, node, "region \"%s\" is described twice", id);
        return;
    }
    if (has_reg) {
        add_region(fdt, node, board, limits, shm, id, reg.size, reg.base, true);
    } else {
        add_region(fdt, node, board, limits, shm, id, size, 0, false);
    }
}

static void read_chosen_regions(const void *fdt, const struct board *board,
                                const struct module_limits *limits, struct shm_config *shm)
{
    int chosen = config_chosen(fdt);
    int node;

    if (chosen < 0) {
        return;
    }
    fdt_for_each_subnode(node, fdt, chosen)
    {
        if (config_node_enabled(fdt, node) && config_is_compatible(fdt, node, OUR_REGION)) {
            read_our_region(fdt, node, board, limits, shm);
        }
    }
}

/* ---- a VM's maps ---- */

/* access = "rw" (the default) or "ro". */
static bool read_access(const void *fdt, int node, bool *ro)
{
    int len = 0;
    const char *s = fdt_getprop(fdt, node, "bulkhead,access", &len);

    *ro = false;
    if (!s) {
        return true;
    }
    if (len == 3 && strcmp(s, "ro") == 0) {
        *ro = true;
        return true;
    }
    if (len == 3 && strcmp(s, "rw") == 0) {
        return true;
    }
    config_node_err(fdt, node, "bulkhead,access must be \"rw\" or \"ro\"");
    return false;
}

static struct shm_map *new_map(const void *fdt, int node, struct vm_config *vm)
{
    if (vm->shm.nr == MAX_VM_SHM) {
        config_node_err(fdt, node, "a VM maps at most %d shared-memory regions", MAX_VM_SHM);
        return NULL;
    }
    struct shm_map *m = &vm->shm.maps[vm->shm.nr];
    memset(m, 0, sizeof(*m));
    return m;
}

static bool fill_map(const void *fdt, int node, const struct shm_config *shm, int region,
                     uint64_t ipa, struct shm_map *m)
{
    if (region < 0) {
        return false;
    }
    if (!IS_ALIGNED(ipa, PAGE_SIZE) || wraps(ipa, shm->regions[region].size + SHM_DOORBELL_SIZE)) {
        config_node_err(fdt, node, "IPA 0x%lx is not a multiple of 4 KiB", ipa);
        return false;
    }
    m->region = (uint8_t)region;
    m->ipa = ipa;
    m->size = shm->regions[region].size;
    strlcpy(m->id, shm->regions[region].id, sizeof(m->id));
    return read_access(fdt, node, &m->ro);
}

/* Ours: bulkhead,shm-id names a region of /chosen; bulkhead,ipa says where the VM sees it. */
static bool read_our_map(const void *fdt, int node, struct vm_config *vm,
                         const struct shm_config *shm)
{
    struct shm_map *m = new_map(fdt, node, vm);
    const char *id = read_id(fdt, node, "bulkhead,shm-id");
    uint64_t ipa = 0;

    if (!m || !id) {
        return false;
    }
    int region = find_region(shm, id);
    if (region < 0) {
        config_node_err(fdt, node,
                        "no shared-memory region \"%s\": describe it under /chosen (compatible "
                        "\"" OUR_REGION "\") or fix the errors above",
                        id);
        return false;
    }
    if (config_read_u64(fdt, node, "bulkhead,ipa", &ipa) != 1) {
        config_node_err(fdt, node, "no bulkhead,ipa: where the VM sees the region");
        return false;
    }
    return fill_map(fdt, node, shm, region, ipa, m);
}

/* Xen 4.17/4.18: xen,shared-mem = <paddr gaddr size> in the domain node's cells; role
 * "owner" or "borrower" (optional; at most one owner). The region is the fixed range. */
static bool read_xen_map(const void *fdt, int vm_node, int node, const struct board *board,
                         const struct module_limits *limits, struct vm_config *vm,
                         struct shm_config *shm)
{
    int ac = config_own_cells(fdt, vm_node, "#address-cells", 2);
    int sc = config_own_cells(fdt, vm_node, "#size-cells", 2);
    struct shm_map *m = new_map(fdt, node, vm);
    const char *id = read_id(fdt, node, "xen,shm-id");
    int len = 0;
    const fdt32_t *cells = fdt_getprop(fdt, node, "xen,shared-mem", &len);

    if (!m || !id) {
        return false;
    }
    if (ac < 1 || ac > 2 || sc < 1 || sc > 2) {
        config_node_err(fdt, node, "the VM node's #address-cells and #size-cells must be 1 or 2");
        return false;
    }
    if (!cells || len != (2 * ac + sc) * 4) {
        config_node_err(fdt, node,
                        "xen,shared-mem must be <paddr gaddr size> (%d, %d and %d cells: Xen "
                        "4.17's form)",
                        ac, ac, sc);
        return false;
    }
    uint64_t pa = config_read_cells(cells, ac);
    uint64_t ipa = config_read_cells(cells + ac, ac);
    uint64_t size = config_read_cells(cells + 2 * ac, sc);
    bool has_role = fdt_getprop(fdt, node, "role", NULL) != NULL;
    const char *role = has_role ? config_get_string(fdt, node, "role") : NULL;
    bool owner = role && strcmp(role, "owner") == 0;
    if (has_role && (!role || (!owner && strcmp(role, "borrower") != 0))) {
        config_node_err(fdt, node, "role must be \"owner\" or \"borrower\"");
        return false;
    }
    int region = add_region(fdt, node, board, limits, shm, id, size, pa, true);
    if (region >= 0 && owner && shm->regions[region].has_owner) {
        config_node_err(fdt, node, "region \"%s\" has a second owner", id);
        return false;
    }
    if (region >= 0 && owner) {
        shm->regions[region].has_owner = true;
    }
    return fill_map(fdt, node, shm, region, ipa, m);
}

/* The VM's devices as it sees them: the GIC's frames, the console UART, its passed windows. */
unsigned shm_vm_devices(const struct board *board, const struct vm_config *vm,
                        struct mem_range *out, unsigned max)
{
    const struct board_gic *gic = &board->gic;
    unsigned n = 0;

    if (gic->version == GIC_V3) {
        out[n++] = (struct mem_range){gic->dist.base, GICV3_DIST_SIZE};
        out[n++] = (struct mem_range){gic->redist.base, GICV3_REDIST_STRIDE * vm->nr_vcpus};
    } else if (gic->version == GIC_V2) {
        out[n++] = (struct mem_range){gic->dist.base, GICV2_DIST_SIZE};
        out[n++] = (struct mem_range){gic->cpuif.base, GICV2_CPUIF_SIZE};
    }
    out[n++] = board->uart.regs;
    for (unsigned i = 0; i < vm->pt.nr_ranges && n < max; i++) {
        out[n++] = (struct mem_range){vm->pt.ranges[i].ipa, vm->pt.ranges[i].size};
    }
    if (vm->watchdog.present && n < max) {
        out[n++] = (struct mem_range){vm->watchdog.ipa, GWDT_SIZE};
    }
    for (unsigned i = 0; i < vm->virtio.nr && n < max; i++) {
        out[n++] = (struct mem_range){vm->virtio.devs[i].ipa, VIRTIO_IPA_STRIDE};
    }
    return n;
}

/* One map against the VM's devices and its maps before it. */
static bool check_map_place(const void *fdt, int node, const struct board *board,
                            const struct vm_config *vm, unsigned index)
{
    struct mem_range dev[5 + MAX_PT_RANGES + MAX_VM_VIRTIO];
    const struct shm_map *m = &vm->shm.maps[index];
    unsigned nr = shm_vm_devices(board, vm, dev, ARRAY_SIZE(dev));

    for (unsigned i = 0; i < nr; i++) {
        if (ranges_overlap(m->ipa, map_span(m), dev[i].base, dev[i].size)) {
            config_node_err(fdt, node,
                            "IPA 0x%lx+0x%lx (the region and its doorbell page) overlaps a "
                            "device of the VM at 0x%lx+0x%lx",
                            m->ipa, map_span(m), dev[i].base, dev[i].size);
            return false;
        }
    }
    for (unsigned i = 0; i < index; i++) {
        const struct shm_map *o = &vm->shm.maps[i];
        if (o->region == m->region) {
            config_node_err(fdt, node, "region \"%s\" is mapped twice in this VM", m->id);
            return false;
        }
        if (ranges_overlap(m->ipa, map_span(m), o->ipa, map_span(o))) {
            config_node_err(fdt, node, "IPA 0x%lx+0x%lx overlaps region \"%s\" of this VM", m->ipa,
                            map_span(m), o->id);
            return false;
        }
    }
    return true;
}

static bool check_map_ram(const void *fdt, int node, const struct board *board,
                          const struct vm_config *vm, const struct shm_map *m)
{
    for (unsigned i = 0; i < board->nr_ram; i++) {
        const struct mem_range *r = &board->ram[i];
        /* A direct-mapped VM's RAM is somewhere in the board's: all of it is refused. */
        bool ram = vm->direct_map
                       ? ranges_overlap(m->ipa, map_span(m), r->base, r->size)
                       : i == 0 && ranges_overlap(m->ipa, map_span(m), r->base, vm->mem_size);
        if (ram) {
            config_node_err(fdt, node, "IPA 0x%lx+0x%lx overlaps the VM's RAM (0x%lx+0x%lx)",
                            m->ipa, map_span(m), r->base, vm->direct_map ? r->size : vm->mem_size);
            return false;
        }
    }
    return true;
}

/* Reads and checks every map of the VM. False (reported) if one is wrong. */
static bool read_vm_maps(const void *fdt, const struct board *board,
                         const struct module_limits *limits, struct vm_config *vm,
                         struct shm_config *shm)
{
    int vm_node = config_node_offset(fdt, vm->node);
    int child;

    vm->shm.nr = 0;
    if (vm_node < 0) {
        return true; /* a top-level kernel module: no children */
    }
    fdt_for_each_subnode(child, fdt, vm_node)
    {
        bool ours = config_is_compatible(fdt, child, OUR_MAP);
        if (!config_node_enabled(fdt, child) ||
            (!ours && !config_is_compatible(fdt, child, XEN_MAP))) {
            continue;
        }
        bool ok = ours ? read_our_map(fdt, child, vm, shm)
                       : read_xen_map(fdt, vm_node, child, board, limits, vm, shm);
        if (!ok || !check_map_place(fdt, child, board, vm, vm->shm.nr) ||
            !check_map_ram(fdt, child, board, vm, &vm->shm.maps[vm->shm.nr])) {
            return false;
        }
        vm->shm.nr++;
    }
    return true;
}

/* ---- channels ---- */

bool shm_spi_taken(const struct board *board, const struct vm_config *vm, unsigned nr_maps,
                   uint32_t spi)
{
    if (board->uart.spi == spi || (vm->watchdog.present && vm->watchdog.spi == spi)) {
        return true;
    }
    for (unsigned i = 0; i < vm->pt.nr_irqs; i++) {
        if (vm->pt.irqs[i].intid == spi + 32) {
            return true;
        }
    }
    for (unsigned i = 0; i < vm->virtio.nr; i++) {
        if (vm->virtio.devs[i].spi == spi) {
            return true;
        }
    }
    for (unsigned i = 0; i < nr_maps; i++) {
        if (vm->shm.maps[i].doorbell_spi == spi) {
            return true;
        }
    }
    return false;
}

/* Member numbers in VM order, the channel masks, and each doorbell's page and SPI. */
static void number_members(const struct board *board, struct vm_config *vms, unsigned nr_vms,
                           struct shm_config *shm)
{
    for (unsigned r = 0; r < shm->nr; r++) {
        shm->regions[r].nr_members = 0;
    }
    for (unsigned v = 0; v < nr_vms; v++) {
        uint32_t spi = SHM_DOORBELL_SPI_TOP;
        for (unsigned i = 0; i < vms[v].shm.nr; i++) {
            struct shm_map *m = &vms[v].shm.maps[i];
            m->member = (uint8_t)shm->regions[m->region].nr_members++;
            m->doorbell_ipa = m->ipa + m->size;
            while (shm_spi_taken(board, &vms[v], i, spi)) {
                spi--;
            }
            m->doorbell_spi = spi;
        }
    }
    for (unsigned v = 0; v < nr_vms; v++) {
        for (unsigned i = 0; i < vms[v].shm.nr; i++) {
            struct shm_map *m = &vms[v].shm.maps[i];
            m->members = (uint32_t)BIT(shm->regions[m->region].nr_members) - 1;
        }
    }
}

unsigned shm_parse(const void *fdt, const struct board *board, const struct module_limits *limits,
                   struct vm_config *vms, unsigned nr_vms, struct shm_config *shm)
{
    unsigned kept = 0;

    memset(shm, 0, sizeof(*shm));
    read_chosen_regions(fdt, board, limits, shm);
    for (unsigned i = 0; i < nr_vms; i++) {
        if (!read_vm_maps(fdt, board, limits, &vms[i], shm)) {
            printk("bulkhead: %s: VM not started\n", vms[i].node);
            continue;
        }
        if (kept != i) {
            vms[kept] = vms[i];
        }
        kept++;
    }
    number_members(board, vms, kept, shm);
    return kept;
}

unsigned shm_fixed_ranges(const struct shm_config *shm, struct mem_range *out, unsigned max)
{
    unsigned n = 0;

    for (unsigned i = 0; i < shm->nr && n < max; i++) {
        if (shm->regions[i].fixed) {
            out[n++] = (struct mem_range){shm->regions[i].pa, shm->regions[i].size};
        }
    }
    return n;
}

void shm_place(struct shm_config *shm, struct ram_pool *pool, struct vm_config *vms,
               unsigned nr_vms)
{
    for (unsigned i = 0; i < shm->nr; i++) {
        struct shm_region *r = &shm->regions[i];
        paddr_t pa;
        if (r->placed || r->nr_members == 0) {
            continue;
        }
        if (ram_pool_alloc(pool, r->size, &pa) != 0) {
            pr_err("%s: no free RAM for the 0x%lx bytes of region \"%s\"\n", r->node, r->size,
                   r->id);
            continue;
        }
        r->pa = pa;
        r->placed = true;
    }
    for (unsigned v = 0; v < nr_vms; v++) {
        for (unsigned i = 0; i < vms[v].shm.nr; i++) {
            vms[v].shm.maps[i].pa = shm->regions[vms[v].shm.maps[i].region].pa;
        }
    }
}

bool shm_vm_ready(const struct shm_config *shm, const struct vm_config *vm)
{
    for (unsigned i = 0; i < vm->shm.nr; i++) {
        if (!shm->regions[vm->shm.maps[i].region].placed) {
            return false;
        }
    }
    return true;
}

bool shm_check_ram(const struct vm_config *vm, uint64_t ram_ipa, uint64_t ram_size)
{
    for (unsigned i = 0; i < vm->shm.nr; i++) {
        const struct shm_map *m = &vm->shm.maps[i];
        if (ranges_overlap(m->ipa, map_span(m), ram_ipa, ram_size)) {
            pr_err("%s: region \"%s\" at IPA 0x%lx+0x%lx overlaps the VM's RAM (0x%lx+0x%lx)\n",
                   vm->node, m->id, m->ipa, map_span(m), ram_ipa, ram_size);
            return false;
        }
    }
    return true;
}
