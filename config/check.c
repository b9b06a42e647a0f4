/*
 * The configuration checker (include/bulkhead/check.h): the checks no parser makes on its way
 * (names under /chosen that nothing reads, with a "did you mean"). The host tool's whole run over
 * a DTB is config/check_run.c's.
 */
#include "bulkhead/check.h"

#include <libfdt.h>

#include "bulkhead/bundle.h"
#include "bulkhead/fdt_read.h"
#include "bulkhead/printk.h"
#include "bulkhead/shmem.h"
#include "bulkhead/string.h"

#define WORD_MAX 64
#define FAR_AWAY 1000u

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

unsigned check_edit_distance(const char *a, const char *b)
{
    unsigned row[WORD_MAX + 1];
    size_t la = strlen(a), lb = strlen(b);

    if (la > WORD_MAX || lb > WORD_MAX) {
        return FAR_AWAY;
    }
    for (size_t j = 0; j <= lb; j++) {
        row[j] = (unsigned)j;
    }
    for (size_t i = 1; i <= la; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned up = row[j];
            unsigned best = MIN(row[j] + 1, row[j - 1] + 1);
            row[j] = MIN(best, diag + (lower(a[i - 1]) != lower(b[j - 1])));
            diag = up;
        }
    }
    return row[lb];
}

const char *check_did_you_mean(const char *word, const char *const *known, unsigned nr)
{
    size_t len = strlen(word);
    unsigned limit = len <= 4 ? 1 : (len <= 12 ? 2 : 3);
    const char *best = NULL;
    unsigned best_d = FAR_AWAY;

    for (unsigned i = 0; i < nr; i++) {
        unsigned d = check_edit_distance(word, known[i]);
        if (d == 0) {
            return NULL;
        }
        if (d <= limit && d < best_d) {
            best = known[i];
            best_d = d;
        }
    }
    return best;
}

/* ---- names under /chosen ---- */

static const char *const known_compats[] = {
    "bulkhead,vm",
    "xen,domain",
    "multiboot,kernel",
    "multiboot,ramdisk",
    "multiboot,module",
    "multiboot,device-tree",
    "bulkhead,shared-memory",
    "bulkhead,shared-memory-map",
    "xen,domain-shared-memory-v1",
    "bulkhead,virtio-blk",
    "bulkhead,virtio-console",
    "bulkhead,virtio-net",
    "bulkhead,schedule",
};

/* What vmconfig.c, passthrough.c and fdt_read.c read in a VM node (docs/CONFIG.md). */
#define VM_PROPS                                                                                   \
    "compatible", "status", "phandle", "linux,phandle", "name", "bulkhead,name", "cpus", "pcpus",  \
        "bootargs", "bulkhead,on-crash", "bulkhead,restart-limit", "bulkhead,watchdog",            \
        "bulkhead,on-watchdog", "#address-cells", "#size-cells", "bulkhead,passthrough",           \
        "bulkhead,passthrough-ipa", "direct-map", "bulkhead,monitor", "bulkhead,priority",         \
        "bulkhead,snapshot"
static const char *const ours_props[] = {VM_PROPS, "memory-size"};
/* vpl011: every VM has its PL011, so Xen's request for one is met, not ignored. */
static const char *const xen_props[] = {VM_PROPS, "memory", "vpl011"};
static const char *const module_props[] = {"compatible", "reg",           "bootargs", "status",
                                           "phandle",    "linux,phandle", "name"};
/* What config/shmem.c reads (docs/CONFIG.md, "Sharing memory between VMs"). */
#define SHM_COMMON_PROPS "compatible", "status", "phandle", "linux,phandle", "name"
static const char *const shm_region_props[] = {SHM_COMMON_PROPS, "bulkhead,shm-id", "size", "reg"};
static const char *const shm_map_props[] = {SHM_COMMON_PROPS, "bulkhead,shm-id", "bulkhead,ipa",
                                            "bulkhead,access"};
/* What config/virtio.c (and config/vswitch.c for a network card) reads (docs/CONFIG.md,
 * "Virtio devices"). */
static const char *const virtio_blk_props[] = {SHM_COMMON_PROPS, "reg", "read-only"};
static const char *const virtio_console_props[] = {SHM_COMMON_PROPS};
static const char *const virtio_net_props[] = {SHM_COMMON_PROPS, "bulkhead,switch",
                                               "local-mac-address"};
static const char *const xen_shm_props[] = {SHM_COMMON_PROPS, "xen,shm-id", "role",
                                            "xen,shared-mem"};
/* What config/sched_config.c reads (docs/CONFIG.md, "Sharing CPUs between vCPUs"). */
static const char *const schedule_props[] = {SHM_COMMON_PROPS,          "bulkhead,cpus",
                                             "bulkhead,policy",         "bulkhead,time-slice-us",
                                             "bulkhead,major-frame-us", "bulkhead,windows"};

struct prop_list {
    const char *const *names;
    unsigned nr;
    const char *what; /* for messages */
};

static const struct prop_list ours = {ours_props, ARRAY_SIZE(ours_props), "bulkhead,vm"};
static const struct prop_list xen = {xen_props, ARRAY_SIZE(xen_props), "xen,domain"};
static const struct prop_list module = {module_props, ARRAY_SIZE(module_props), "boot module"};
static const struct prop_list shm_region = {shm_region_props, ARRAY_SIZE(shm_region_props),
                                            "bulkhead,shared-memory"};
static const struct prop_list shm_map = {shm_map_props, ARRAY_SIZE(shm_map_props),
                                         "bulkhead,shared-memory-map"};
static const struct prop_list virtio_lists[] = {
    {virtio_blk_props, ARRAY_SIZE(virtio_blk_props), "bulkhead,virtio-blk"},
    {virtio_console_props, ARRAY_SIZE(virtio_console_props), "bulkhead,virtio-console"},
    {virtio_net_props, ARRAY_SIZE(virtio_net_props), "bulkhead,virtio-net"},
};
static const struct prop_list xen_shm = {xen_shm_props, ARRAY_SIZE(xen_shm_props),
                                         "xen,domain-shared-memory-v1"};
static const struct prop_list schedule = {schedule_props, ARRAY_SIZE(schedule_props),
                                          "bulkhead,schedule"};

static bool listed(const char *name, const struct prop_list *list)
{
    for (unsigned i = 0; i < list->nr; i++) {
        if (strcmp(name, list->names[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* One property no reader of this node knows. Returns 1 if that is an error. */
static unsigned unknown_prop(const char *path, const char *name, const struct prop_list *list,
                             const struct prop_list *other)
{
    const char *near = check_did_you_mean(name, list->names, list->nr);

    if (near) {
        pr_err("%s: unknown property \"%s\" is ignored; did you mean \"%s\"?\n", path, name, near);
        return 1;
    }
    if (other && listed(name, other)) {
        pr_warn("%s: \"%s\" is a property of %s nodes, ignored in a %s node; see docs/CONFIG.md\n",
                path, name, other->what, list->what);
    } else if (list == &xen) {
        pr_warn("%s: Xen's \"%s\" is not implemented by Bulkhead: ignored; see docs/CONFIG.md for "
                "what a xen,domain node may hold\n",
                path, name);
    } else {
        pr_warn("%s: unknown property \"%s\" is ignored; remove it (docs/CONFIG.md lists the %s "
                "properties)\n",
                path, name, list->what);
    }
    return 0;
}

static unsigned check_props(const void *fdt, int node, const struct prop_list *list,
                            const struct prop_list *other)
{
    char path[NAME_LEN * 4];
    unsigned errors = 0;
    int prop;

    config_node_path(fdt, node, path, sizeof(path));
    fdt_for_each_property_offset(prop, fdt, node)
    {
        const char *name = NULL;
        if (!fdt_getprop_by_offset(fdt, prop, &name, NULL) || !name || listed(name, list)) {
            continue;
        }
        errors += unknown_prop(path, name, list, other);
    }
    return errors;
}

/* A node none of whose compatible strings is ours: an error if one is nearly ours. */
static unsigned check_compat_typo(const void *fdt, int node)
{
    int nr = fdt_stringlist_count(fdt, node, "compatible");

    for (int i = 0; i < nr; i++) {
        const char *c = fdt_stringlist_get(fdt, node, "compatible", i, NULL);
        const char *near =
            c ? check_did_you_mean(c, known_compats, ARRAY_SIZE(known_compats)) : NULL;
        if (near) {
            config_node_err(fdt, node,
                            "unknown compatible \"%s\": the node is ignored; did you mean \"%s\"?",
                            c, near);
            return 1;
        }
    }
    return 0;
}

static bool is_any(const void *fdt, int node, const char *a, const char *b)
{
    return config_is_compatible(fdt, node, a) || config_is_compatible(fdt, node, b);
}

/* The properties a virtio child of a VM node may have, NULL if it is none. */
static const struct prop_list *virtio_list(const void *fdt, int node)
{
    for (unsigned i = 0; i < ARRAY_SIZE(virtio_lists); i++) {
        if (config_is_compatible(fdt, node, virtio_lists[i].what)) {
            return &virtio_lists[i];
        }
    }
    return NULL;
}

/* A VM node's properties, then its children: modules, or nodes nothing reads. */
static unsigned check_vm_node(const void *fdt, int node)
{
    bool is_ours = config_is_compatible(fdt, node, "bulkhead,vm");
    unsigned errors = check_props(fdt, node, is_ours ? &ours : &xen, is_ours ? &xen : &ours);
    int child;

    fdt_for_each_subnode(child, fdt, node)
    {
        if (!config_node_enabled(fdt, child)) {
            continue;
        }
        if (is_any(fdt, child, "multiboot,kernel", "multiboot,ramdisk") ||
            config_is_compatible(fdt, child, "multiboot,device-tree")) {
            errors += check_props(fdt, child, &module, NULL);
        } else if (config_is_compatible(fdt, child, "bulkhead,shared-memory-map")) {
            errors += check_props(fdt, child, &shm_map, &xen_shm);
        } else if (config_is_compatible(fdt, child, "xen,domain-shared-memory-v1")) {
            errors += check_props(fdt, child, &xen_shm, &shm_map);
        } else if (virtio_list(fdt, child)) {
            errors += check_props(fdt, child, virtio_list(fdt, child), NULL);
        } else {
            errors += check_compat_typo(fdt, child);
        }
    }
    return errors;
}

unsigned check_chosen(const void *fdt)
{
    int chosen = config_chosen(fdt);
    unsigned errors = 0;
    int node;

    if (chosen < 0) {
        return 0;
    }
    fdt_for_each_subnode(node, fdt, chosen)
    {
        if (!config_node_enabled(fdt, node)) {
            continue;
        }
        if (is_any(fdt, node, "bulkhead,vm", "xen,domain")) {
            errors += check_vm_node(fdt, node);
        } else if (is_any(fdt, node, "multiboot,kernel", "multiboot,ramdisk")) {
            errors += check_props(fdt, node, &module, NULL);
        } else if (config_is_compatible(fdt, node, "bulkhead,shared-memory")) {
            errors += check_props(fdt, node, &shm_region, NULL);
        } else if (config_is_compatible(fdt, node, "bulkhead,schedule")) {
            errors += check_props(fdt, node, &schedule, NULL);
        } else if (config_is_compatible(fdt, node, "multiboot,device-tree")) {
            config_node_err(fdt, node,
                            "a multiboot,device-tree module at the top of /chosen belongs to no "
                            "VM: ignored; move it into the xen,domain or bulkhead,vm node whose "
                            "devices it describes");
            errors++;
        } else if (config_is_compatible(fdt, node, "multiboot,module")) {
            char path[NAME_LEN * 4];
            config_node_path(fdt, node, path, sizeof(path));
            pr_warn("%s: a boot module that is neither a kernel nor a ramdisk: ignored; add "
                    "\"multiboot,kernel\" or \"multiboot,ramdisk\" to its compatible\n",
                    path);
        } else {
            errors += check_compat_typo(fdt, node);
        }
    }
    return errors;
}

/* ---- the whole run ---- */

bool check_vm_ram(struct ram_pool *pool, const struct vm_config *cfg, paddr_t *pa)
{
    if (!cfg->mem_size || ram_pool_alloc(pool, cfg->mem_size, pa) != 0) {
        pr_err("%s: not enough free RAM for %llu MiB; give it less memory, or the other VMs\n",
               cfg->node, (unsigned long long)(cfg->mem_size >> 20));
        printk("bulkhead: %s: VM not started\n", cfg->node);
        return false;
    }
    return true;
}

/* Weak: the host tool, which has no module in memory, has its own. */
__attribute__((weak)) const void *check_module_contents(const struct vm_module *m)
{
    return (const void *)(uintptr_t)m->base;
}
