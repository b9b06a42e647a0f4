/*
 * The VMs, read once from the host DTB's /chosen (binding: docs/CONFIG.md). A VM that is
 * described wrongly is reported, naming its node, and left out; the others still start, so that
 * one typo does not take the whole machine down.
 */
#include <libfdt.h>

#include "bulkhead/check.h"
#include "bulkhead/config.h"
#include "bulkhead/fdt_read.h"
#include "bulkhead/layout.h"
#include "bulkhead/passthrough.h"
#include "bulkhead/printk.h"
#include "bulkhead/sbsa_gwdt.h"
#include "bulkhead/string.h"

/* The line every rejected VM gets after the reason, so that a user (and a test) finds it. */
static void report_not_started(const char *node)
{
    printk("bulkhead: %s: VM not started\n", node);
}

#define MAX_SOURCES (4 * MAX_VMS)     /* VM nodes and kernel modules looked at; the rest refused */
#define MAX_TOP_MODULES (4 * MAX_VMS) /* top-level kernel and ramdisk modules */

/* Where a VM comes from: a VM node, or a top-level kernel module (and its ramdisk). */
struct vm_source {
    int node;
    int ramdisk; /* implicit VMs only: the ramdisk module, or -1 */
    bool implicit;
};

/* What vmcfg_parse remembers about each parsed VM until the end. */
struct vm_slot {
    bool implicit;
    bool pinned; /* pcpu[] came from the node's pcpus */
    bool valid;
};

struct top_module {
    int node;
    bool kernel;
    int source; /* kernels: index into the sources */
};

static bool is_vm_node(const void *fdt, int node)
{
    return config_is_compatible(fdt, node, "bulkhead,vm") ||
           config_is_compatible(fdt, node, "xen,domain");
}

static bool add_source(const void *fdt, struct vm_source *src, unsigned *nr, int node,
                       bool implicit)
{
    if (*nr == MAX_SOURCES) {
        config_node_err(fdt, node, "more than %d VMs: not started", MAX_VMS);
        return false;
    }
    src[*nr].node = node;
    src[*nr].ramdisk = -1;
    src[*nr].implicit = implicit;
    (*nr)++;
    return true;
}

/*
 * Gives each top-level ramdisk to its kernel: the nearest one after it in DT order, which is the
 * one added to the tree just before it (see vmcfg_parse in config.h); or the only kernel there is.
 */
static void attach_ramdisks(const void *fdt, const struct top_module *mods, unsigned nr_mods,
                            unsigned nr_kernels, int only_kernel, struct vm_source *src)
{
    int following = -1;

    for (unsigned i = nr_mods; i-- > 0;) {
        if (mods[i].kernel) {
            following = mods[i].source;
            continue;
        }
        int target = following >= 0 ? following : (nr_kernels == 1 ? only_kernel : -1);
        if (target < 0) {
            config_node_err(fdt, mods[i].node, "ramdisk module has no kernel module: ignored");
        } else if (src[target].ramdisk >= 0) {
            config_node_err(fdt, mods[i].node, "a second ramdisk for one kernel module: ignored");
        } else {
            src[target].ramdisk = mods[i].node;
        }
    }
}

/* The VM sources in VM order: VM nodes in DT order, then kernel modules in the order added. */
static unsigned collect_sources(const void *fdt, struct vm_source *src)
{
    struct top_module mods[MAX_TOP_MODULES];
    unsigned nr_mods = 0, nr_kernels = 0, nr_src = 0;
    int chosen = config_chosen(fdt);
    int node, only_kernel = -1;

    if (chosen < 0) {
        return 0;
    }
    fdt_for_each_subnode(node, fdt, chosen)
    {
        if (!config_node_enabled(fdt, node)) {
            continue;
        }
        bool kernel = config_is_compatible(fdt, node, "multiboot,kernel");
        if (is_vm_node(fdt, node)) {
            add_source(fdt, src, &nr_src, node, false);
        } else if (kernel || config_is_compatible(fdt, node, "multiboot,ramdisk")) {
            if (nr_mods == MAX_TOP_MODULES) {
                config_node_err(fdt, node, "more than %d boot modules: ignored", MAX_TOP_MODULES);
                continue;
            }
            mods[nr_mods].node = node;
            mods[nr_mods].kernel = kernel;
            mods[nr_mods].source = -1;
            nr_mods++;
        }
    }
    for (unsigned i = nr_mods; i-- > 0;) {
        if (mods[i].kernel) {
            nr_kernels++;
            if (add_source(fdt, src, &nr_src, mods[i].node, true)) {
                mods[i].source = (int)nr_src - 1;
                only_kernel = mods[i].source;
            }
        }
    }
    attach_ramdisks(fdt, mods, nr_mods, nr_kernels, only_kernel, src);
    return nr_src;
}

/* A module's reg, which must be there and not empty, and where a module may be: in RAM, clear of
 * the hypervisor and the host DTB (layout_check_module). Nothing reads a module before this. */
static bool read_module(const void *fdt, int node, const char *what, const struct board *board,
                        const struct module_limits *limits, struct vm_module *m)
{
    char path[NAME_LEN * 2];
    int r = config_module_reg(fdt, node, m);

    if (r == 0 || (r > 0 && m->size == 0)) {
        config_node_err(fdt, node, "%s module without reg, or of size 0", what);
    }
    if (r <= 0 || m->size == 0) {
        return false;
    }
    if (layout_module_ok(board, limits, m)) {
        return true;
    }
    config_node_path(fdt, node, path, sizeof(path));
    return layout_check_module(board, limits, path, what, m) == 0;
}

/* Two modules partly over each other cannot both hold the file their loader put there; the same
 * range twice (one file for two VMs) is fine, since modules are only ever read. */
static bool modules_clash(const struct vm_module *a, const struct vm_module *b)
{
    return layout_modules_overlap(a, b) && !(a->base == b->base && a->size == b->size);
}

/* The new VM's modules against its own and those of the VMs kept before it. */
static bool check_module_overlaps(const struct vm_config *vms, const struct vm_slot *slots,
                                  unsigned nr, const struct vm_config *vm)
{
    static const char *const what[] = {"kernel", "ramdisk"};
    const struct vm_module *mine[] = {&vm->kernel, &vm->ramdisk};

    if (modules_clash(&vm->ramdisk, &vm->kernel)) {
        pr_err("%s: ramdisk module 0x%lx+0x%lx overlaps the kernel module 0x%lx+0x%lx; give "
               "each module its own range\n",
               vm->node, vm->ramdisk.base, vm->ramdisk.size, vm->kernel.base, vm->kernel.size);
        return false;
    }
    for (unsigned i = 0; i < nr; i++) {
        const struct vm_module *theirs[] = {&vms[i].kernel, &vms[i].ramdisk};
        for (unsigned a = 0; a < 2 && slots[i].valid; a++) {
            for (unsigned b = 0; b < 2; b++) {
                if (modules_clash(mine[a], theirs[b])) {
                    pr_err("%s: %s module 0x%lx+0x%lx overlaps the %s module of %s; give each "
                           "module its own range\n",
                           vm->node, what[a], mine[a]->base, mine[a]->size, what[b], vms[i].node);
                    return false;
                }
            }
        }
    }
    return true;
}

static bool copy_bootargs(const void *fdt, int node, struct vm_config *vm)
{
    const char *args = config_get_string(fdt, node, "bootargs");

    if (args && strlcpy(vm->bootargs, args, sizeof(vm->bootargs)) >= sizeof(vm->bootargs)) {
        config_node_err(fdt, node, "bootargs longer than %zu bytes", sizeof(vm->bootargs) - 1);
        return false;
    }
    return true;
}

/* More vCPUs than the board has CPUs is fine: they take turns (docs/CONFIG.md, "Sharing CPUs
 * between vCPUs"). */
static bool check_vcpus(const void *fdt, int node, uint64_t n)
{
    if (n == 0 || n > MAX_VCPUS) {
        config_node_err(fdt, node, "%lu vCPUs asked: from 1 to %d per VM", n, MAX_VCPUS);
        return false;
    }
    return true;
}

static bool read_priority(const void *fdt, int node, struct vm_config *vm)
{
    uint32_t priority = 0;

    if (config_read_u32(fdt, node, "bulkhead,priority", &priority) < 0) {
        return false;
    }
    if (priority > SCHED_MAX_PRIORITY) {
        config_node_err(fdt, node, "bulkhead,priority %u is out of range (0 to %d)", priority,
                        SCHED_MAX_PRIORITY);
        return false;
    }
    vm->priority = priority;
    return true;
}

/* The memory size of a VM node: ours in bytes, Xen's in KiB. */
static bool read_memory(const void *fdt, int node, const struct vm_defaults *defaults,
                        uint64_t *mem)
{
    bool xen = !config_is_compatible(fdt, node, "bulkhead,vm");
    const char *prop = xen ? "memory" : "memory-size";
    int r = config_read_u64(fdt, node, prop, mem);

    if (r < 0) {
        return false;
    }
    if (r == 0) {
        *mem = defaults->mem_size;
        if (*mem == 0) {
            config_node_err(fdt, node, "no %s (nor bulkhead.vm-memory= in the bootargs)", prop);
            return false;
        }
    } else if (xen) {
        if (*mem > (UINT64_MAX >> 10)) {
            config_node_err(fdt, node, "memory (KiB) is too large");
            return false;
        }
        *mem <<= 10;
    }
    if (*mem == 0 || !IS_ALIGNED(*mem, VM_RAM_ALIGN)) {
        config_node_err(fdt, node, "memory size 0x%lx is not a non-zero multiple of 2 MiB", *mem);
        return false;
    }
    return true;
}

static bool read_pcpus(const void *fdt, int node, const struct board *board, struct vm_config *vm,
                       bool *pinned)
{
    int len;
    const fdt32_t *p = fdt_getprop(fdt, node, "pcpus", &len);

    *pinned = p != NULL;
    if (!p) {
        return true;
    }
    if (len != (int)vm->nr_vcpus * 4) {
        config_node_err(fdt, node, "pcpus has %d cells, one per vCPU (%u) is needed", len / 4,
                        vm->nr_vcpus);
        return false;
    }
    for (unsigned i = 0; i < vm->nr_vcpus; i++) {
        uint32_t cpu = fdt32_ld(&p[i]);
        if (cpu >= board->nr_cpus) {
            config_node_err(fdt, node, "pcpu %u is out of range (the board has %u CPUs)", cpu,
                            board->nr_cpus);
            return false;
        }
        vm->pcpu[i] = (uint8_t)cpu;
    }
    return true;
}

/* Xen's partial device tree module: the devices the VM is given. */
static bool read_device_tree_module(const void *fdt, int child, const struct board *board,
                                    const struct module_limits *limits, struct vm_config *vm)
{
    struct vm_module m;

    if (vm->pt.partial_fdt) {
        config_node_err(fdt, child, "a second multiboot,device-tree module");
        return false;
    }
    if (!read_module(fdt, child, "device-tree", board, limits, &m)) {
        return false;
    }
    const void *pfdt = check_module_contents(&m);
    return !pfdt || pt_parse_partial(pfdt, m.size, fdt, board, vm);
}

/* The kernel, ramdisk and device-tree children of a VM node (other children are not ours:
 * ignored). */
static bool read_vm_modules(const void *fdt, int node, const struct board *board,
                            const struct module_limits *limits, struct vm_config *vm)
{
    int child, kernel = -1, ramdisk = -1;

    fdt_for_each_subnode(child, fdt, node)
    {
        if (!config_node_enabled(fdt, child)) {
            continue;
        }
        if (config_is_compatible(fdt, child, "multiboot,device-tree")) {
            if (!read_device_tree_module(fdt, child, board, limits, vm)) {
                return false;
            }
            continue;
        }
        bool is_kernel = config_is_compatible(fdt, child, "multiboot,kernel");
        if (!is_kernel && !config_is_compatible(fdt, child, "multiboot,ramdisk")) {
            continue;
        }
        int *seen = is_kernel ? &kernel : &ramdisk;
        if (*seen >= 0) {
            config_node_err(fdt, child, "a second %s module", is_kernel ? "kernel" : "ramdisk");
            return false;
        }
        *seen = child;
        if (!read_module(fdt, child, is_kernel ? "kernel" : "ramdisk", board, limits,
                         is_kernel ? &vm->kernel : &vm->ramdisk)) {
            return false;
        }
    }
    if (kernel < 0) {
        config_node_err(fdt, node, "no \"multiboot,kernel\" module");
        return false;
    }
    /* The kernel module's bootargs, as in Xen's binding; else the VM node's. */
    int args = fdt_getprop(fdt, kernel, "bootargs", NULL) ? kernel : node;
    return copy_bootargs(fdt, args, vm);
}

/* A policy property (`prop`: bulkhead,on-crash, -reset, -poweroff), left as *out if absent. */
static bool read_policy(const void *fdt, int node, const char *prop, enum vm_crash_policy *out)
{
    int len;
    const char *policy = fdt_getprop(fdt, node, prop, &len);

    if (policy && (len < 1 || policy[len - 1] != '\0' ||
                   !vm_crash_policy_parse(policy, (size_t)len - 1, out))) {
        config_node_err(fdt, node, "%s is not \"stop\", \"restart\" or \"reset-machine\"", prop);
        return false;
    }
    return true;
}

/* bulkhead,on-crash (the hypervisor's default if absent), bulkhead,on-reset (restart),
 * bulkhead,on-poweroff (stop), bulkhead,on-watchdog (restart: a watchdog is there to bring a
 * hung guest back) and bulkhead,restart-limit. */
static bool read_crash_policy(const void *fdt, int node, const struct vm_defaults *defaults,
                              struct vm_config *vm)
{
    uint32_t limit = VM_DEFAULT_RESTART_LIMIT;

    vm->on_crash = defaults->on_crash;
    vm->on_reset = VM_ON_CRASH_RESTART;
    vm->on_poweroff = VM_ON_CRASH_STOP;
    vm->on_watchdog = VM_ON_CRASH_RESTART;
    if (!read_policy(fdt, node, "bulkhead,on-crash", &vm->on_crash) ||
        !read_policy(fdt, node, "bulkhead,on-reset", &vm->on_reset) ||
        !read_policy(fdt, node, "bulkhead,on-poweroff", &vm->on_poweroff) ||
        !read_policy(fdt, node, "bulkhead,on-watchdog", &vm->on_watchdog)) {
        return false;
    }
    if (config_read_u32(fdt, node, "bulkhead,restart-limit", &limit) < 0) {
        return false;
    }
    vm->restart_limit = limit;
    return true;
}

static bool parse_vm_node(const void *fdt, int node, const struct board *board,
                          const struct vm_defaults *defaults, const struct module_limits *limits,
                          struct vm_config *vm, bool *pinned)
{
    /* dtc refuses a "name" unlike the node's (an Open Firmware leftover): "bulkhead,name" is the
     * spelling that goes through it; "name" still works in trees built otherwise. */
    const char *name = config_get_string(fdt, node, "bulkhead,name");
    uint32_t cpus = 1;

    if (!name) {
        name = config_get_string(fdt, node, "name");
    }
    if (!name) {
        name = fdt_get_name(fdt, node, NULL);
    }
    strlcpy(vm->name, name ? name : "?", sizeof(vm->name));
    if (config_read_u32(fdt, node, "cpus", &cpus) < 0 || !check_vcpus(fdt, node, cpus) ||
        !read_priority(fdt, node, vm)) {
        return false;
    }
    vm->nr_vcpus = cpus;
    /* The console monitor's hypercalls (docs/HYPERCALLS.md): only for a VM that says so. */
    vm->monitor = fdt_getprop(fdt, node, "bulkhead,monitor", NULL) != NULL;
    vm->snapshot = fdt_getprop(fdt, node, "bulkhead,snapshot", NULL) != NULL;
    return read_crash_policy(fdt, node, defaults, vm) &&
           read_memory(fdt, node, defaults, &vm->mem_size) &&
           read_pcpus(fdt, node, board, vm, pinned) &&
           read_vm_modules(fdt, node, board, limits, vm) && pt_parse(fdt, node, board, vm) &&
           watchdog_parse(fdt, node, board, vm) && virtio_parse(fdt, node, board, limits, vm);
}

static bool parse_kernel_module(const void *fdt, const struct vm_source *src, bool lone,
                                const struct board *board, const struct vm_defaults *defaults,
                                const struct module_limits *limits, struct vm_config *vm)
{
    unsigned cpus = defaults->nr_vcpus ? defaults->nr_vcpus : (lone ? board->nr_cpus : 1);

    if (!check_vcpus(fdt, src->node, cpus)) {
        return false;
    }
    vm->nr_vcpus = cpus;
    vm->mem_size = defaults->mem_size; /* 0: layout_default_memory() decides */
    vm->on_crash = defaults->on_crash;
    vm->restart_limit = VM_DEFAULT_RESTART_LIMIT;
    vm->on_watchdog = VM_ON_CRASH_RESTART;
    vm->on_reset = VM_ON_CRASH_RESTART;
    vm->on_poweroff = VM_ON_CRASH_STOP;
    if (!read_module(fdt, src->node, "kernel", board, limits, &vm->kernel)) {
        return false;
    }
    if (src->ramdisk >= 0 &&
        !read_module(fdt, src->ramdisk, "ramdisk", board, limits, &vm->ramdisk)) {
        return false;
    }
    return copy_bootargs(fdt, src->node, vm);
}

/* VMs with pcpus put their vCPUs where they say, on CPUs other vCPUs may name too. */
static void place_pinned(const struct vm_config *vms, const struct vm_slot *slots, unsigned nr,
                         unsigned load[MAX_CPUS])
{
    for (unsigned i = 0; i < nr; i++) {
        for (unsigned v = 0; v < vms[i].nr_vcpus && slots[i].valid && slots[i].pinned; v++) {
            load[vms[i].pcpu[v]]++;
        }
    }
}

/* The next CPU no vCPU runs on, round robin from *cursor; false if there is none. */
static bool next_free(const struct board *board, const unsigned load[MAX_CPUS], unsigned *cursor,
                      unsigned *cpu)
{
    for (unsigned n = 0; n < board->nr_cpus; n++) {
        unsigned c = (*cursor + n) % board->nr_cpus;
        if (load[c] == 0) {
            *cpu = c;
            *cursor = (c + 1) % board->nr_cpus;
            return true;
        }
    }
    return false;
}

/* For a vCPU that finds no free CPU: the CPU with the fewest of its VM's own vCPUs (a VM gains
 * nothing from two of its vCPUs taking turns on one CPU while another CPU has none of them),
 * then the fewest vCPUs, then the lowest index. */
static unsigned least_loaded(const struct board *board, const unsigned load[MAX_CPUS],
                             const unsigned mine[MAX_CPUS])
{
    unsigned best = 0;

    for (unsigned c = 1; c < board->nr_cpus; c++) {
        if (mine[c] < mine[best] || (mine[c] == mine[best] && load[c] < load[best])) {
            best = c;
        }
    }
    return best;
}

/* The line that tells a user why a VM runs slower than on CPUs of its own. */
static void report_shared(const struct board *board, const struct vm_config *vm,
                          const unsigned load[MAX_CPUS])
{
    char list[MAX_CPUS * 4] = "";
    size_t len = 0;
    unsigned vcpus = 0, cpus = 0;

    for (unsigned v = 0; v < vm->nr_vcpus; v++) {
        vcpus += load[vm->pcpu[v]] > 1;
    }
    for (unsigned c = 0; c < board->nr_cpus; c++) {
        bool mine = false;
        for (unsigned v = 0; v < vm->nr_vcpus; v++) {
            mine |= vm->pcpu[v] == c;
        }
        if (mine && load[c] > 1 && len < sizeof(list)) {
            len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%u", cpus ? "," : "", c);
            cpus++;
        }
    }
    printk("bulkhead: %s: %u vCPU%s share%s CPU%s %s with other vCPUs (time-shared)\n", vm->node,
           vcpus, vcpus == 1 ? "" : "s", vcpus == 1 ? "s" : "", cpus == 1 ? "" : "s", list);
}

/* The VMs without pcpus take the next free CPUs, round robin, in VM order; the vCPUs that find
 * none free share the least loaded CPUs. */
static void assign_unpinned(const struct board *board, struct vm_config *vms,
                            const struct vm_slot *slots, unsigned nr, unsigned load[MAX_CPUS])
{
    unsigned cursor = 0;

    for (unsigned i = 0; i < nr; i++) {
        unsigned mine[MAX_CPUS] = {0};
        bool shared = false;
        if (slots[i].pinned || !slots[i].valid) {
            continue;
        }
        for (unsigned v = 0; v < vms[i].nr_vcpus; v++) {
            unsigned cpu;
            if (!next_free(board, load, &cursor, &cpu)) {
                cpu = least_loaded(board, load, mine);
                shared = true;
            }
            vms[i].pcpu[v] = (uint8_t)cpu;
            load[cpu]++;
            mine[cpu]++;
        }
        if (shared) {
            report_shared(board, &vms[i], load);
        }
    }
}

/* A device passed to two VMs stays with the first. */
static void check_passthrough_claims(struct vm_config *vms, struct vm_slot *slots, unsigned nr)
{
    for (unsigned i = 0; i < nr; i++) {
        for (unsigned j = 0; j < i && slots[i].valid; j++) {
            if (slots[j].valid && !pt_check_claims(&vms[i], &vms[j])) {
                report_not_started(vms[i].node);
                slots[i].valid = false;
            }
        }
    }
}

/* Drops the VMs marked invalid, keeping the order; names implicit VMs after their index. */
static unsigned compact(struct vm_config *vms, struct vm_slot *slots, unsigned nr)
{
    unsigned out = 0;

    for (unsigned i = 0; i < nr; i++) {
        if (!slots[i].valid) {
            continue;
        }
        if (out != i) {
            vms[out] = vms[i];
            slots[out] = slots[i];
        }
        if (slots[out].implicit) {
            snprintf(vms[out].name, sizeof(vms[out].name), "vm%u", out);
        }
        out++;
    }
    return out;
}

unsigned vmcfg_parse(const void *fdt, const struct board *board, const struct vm_defaults *defaults,
                     const struct module_limits *limits, struct vm_config vms[MAX_VMS])
{
    struct vm_source src[MAX_SOURCES];
    struct vm_slot slots[MAX_VMS];
    unsigned nr_src = collect_sources(fdt, src);
    unsigned nr = 0;

    for (unsigned i = 0; i < nr_src; i++) {
        struct vm_config *vm = &vms[nr];
        bool pinned = false, ok;

        if (nr == MAX_VMS) {
            config_node_err(fdt, src[i].node, "more than %d VMs: not started", MAX_VMS);
            continue;
        }
        memset(vm, 0, sizeof(*vm));
        config_node_path(fdt, src[i].node, vm->node, sizeof(vm->node));
        if (src[i].implicit) {
            ok = parse_kernel_module(fdt, &src[i], nr_src == 1, board, defaults, limits, vm);
        } else {
            ok = parse_vm_node(fdt, src[i].node, board, defaults, limits, vm, &pinned);
        }
        if (!ok || !check_module_overlaps(vms, slots, nr, vm)) {
            report_not_started(vm->node);
            continue;
        }
        slots[nr].implicit = src[i].implicit;
        slots[nr].pinned = pinned;
        slots[nr].valid = true;
        nr++;
    }
    unsigned load[MAX_CPUS] = {0};
    place_pinned(vms, slots, nr, load);
    assign_unpinned(board, vms, slots, nr, load);
    check_passthrough_claims(vms, slots, nr);
    nr = compact(vms, slots, nr);
    for (unsigned i = 0; i < nr; i++) {
        pt_warn_dma(&vms[i]);
    }
    return nr;
}
