/*
 * How each physical CPU shares its time among the vCPUs placed on it: /chosen's
 * `bulkhead,schedule` nodes (binding: docs/CONFIG.md, "Sharing CPUs between vCPUs"), checked
 * here against the VMs that will run, so that the scheduler (el2/sched.c) only follows tables
 * that add up.
 */
#include <libfdt.h>

#include "bulkhead/config.h"
#include "bulkhead/fdt_read.h"
#include "bulkhead/printk.h"
#include "bulkhead/string.h"

#define SCHEDULE_COMPAT "bulkhead,schedule"
#define MIN_SLICE_US 100
#define WINDOW_CELLS 3 /* <owner start-us length-us> */

/* Only what the default policy reads: the windows are not (a memset of them all, for each CPU,
 * was a twentieth of the hypervisor's boot). */
static void set_default(struct cpu_schedule *s)
{
    s->policy = SCHED_PRIORITY;
    s->slice_us = SCHED_DEFAULT_SLICE_US;
    s->frame_us = 0;
    s->nr_windows = 0;
}

static bool has_vcpu_on(const struct vm_config *vm, unsigned cpu)
{
    for (unsigned v = 0; v < vm->nr_vcpus; v++) {
        if (vm->pcpu[v] == cpu) {
            return true;
        }
    }
    return false;
}

/* The CPUs of the node (a mask), each in range and not claimed by an earlier node. Every CPU the
 * node names is claimed, even if it is refused, so that a CPU named twice is reported at once. */
static bool read_cpus(const void *fdt, int node, const struct board *board, int claimed[MAX_CPUS],
                      uint32_t *mask, unsigned *first)
{
    int len;
    const fdt32_t *p = fdt_getprop(fdt, node, "bulkhead,cpus", &len);
    bool ok = true;

    *mask = 0;
    if (!p || len <= 0 || len % 4) {
        config_node_err(fdt, node, "needs bulkhead,cpus: the CPUs it schedules, one cell each");
        return false;
    }
    for (int i = 0; i < len / 4; i++) {
        uint32_t cpu = fdt32_ld(&p[i]);
        if (cpu >= board->nr_cpus) {
            config_node_err(fdt, node, "CPU %u is out of range (the board has %u CPUs)", cpu,
                            board->nr_cpus);
            return false;
        }
        if (*mask & BIT(cpu)) {
            config_node_err(fdt, node, "names CPU %u twice", cpu);
            return false;
        }
        if (claimed[cpu] >= 0 && ok) {
            char other[NAME_LEN * 2];
            config_node_path(fdt, claimed[cpu], other, sizeof(other));
            config_node_err(fdt, node, "CPU %u already has a schedule, from %s", cpu, other);
            ok = false;
        }
        if (claimed[cpu] < 0) {
            claimed[cpu] = node;
        }
        if (!*mask) {
            *first = cpu;
        }
        *mask |= (uint32_t)BIT(cpu);
    }
    return ok;
}

static bool read_priority_policy(const void *fdt, int node, struct cpu_schedule *s)
{
    uint32_t slice = SCHED_DEFAULT_SLICE_US;

    if (config_read_u32(fdt, node, "bulkhead,time-slice-us", &slice) < 0) {
        return false;
    }
    if (slice < MIN_SLICE_US) {
        config_node_err(fdt, node, "bulkhead,time-slice-us is %u: at least %d us", slice,
                        MIN_SLICE_US);
        return false;
    }
    s->slice_us = slice;
    return true;
}

/* The index in vms[] of the VM node a window's phandle names; -1 after reporting it. */
static int window_owner(const void *fdt, int node, uint32_t phandle, uint32_t start,
                        const struct vm_config *const *vms, unsigned nr)
{
    int target = fdt_node_offset_by_phandle(fdt, phandle);
    char path[NAME_LEN * 2];

    if (target < 0 || !(config_is_compatible(fdt, target, "bulkhead,vm") ||
                        config_is_compatible(fdt, target, "xen,domain"))) {
        config_node_err(fdt, node,
                        "the window at %u us: phandle 0x%x is not a VM node (bulkhead,vm or "
                        "xen,domain)",
                        start, phandle);
        return -1;
    }
    for (unsigned i = 0; i < nr; i++) {
        if (fdt_path_offset(fdt, vms[i]->node) == target) {
            return (int)i;
        }
    }
    config_node_path(fdt, target, path, sizeof(path));
    config_node_err(fdt, node, "the window at %u us belongs to %s, which is not started", start,
                    path);
    return -1;
}

/* Insertion sort by start: a table has at most SCHED_MAX_WINDOWS windows. */
static void sort_windows(struct cpu_schedule *s)
{
    for (unsigned i = 1; i < s->nr_windows; i++) {
        struct sched_window w = s->windows[i];
        unsigned j = i;
        for (; j > 0 && s->windows[j - 1].start_us > w.start_us; j--) {
            s->windows[j] = s->windows[j - 1];
        }
        s->windows[j] = w;
    }
}

/* Sorted windows inside the frame, none over another. */
static bool check_table(const void *fdt, int node, const struct cpu_schedule *s)
{
    for (unsigned i = 0; i < s->nr_windows; i++) {
        const struct sched_window *w = &s->windows[i];
        uint64_t end = (uint64_t)w->start_us + w->len_us;
        if (i > 0) {
            const struct sched_window *prev = &s->windows[i - 1];
            if ((uint64_t)prev->start_us + prev->len_us > w->start_us) {
                config_node_err(fdt, node, "the windows at %u us and at %u us overlap",
                                prev->start_us, w->start_us);
                return false;
            }
        }
        if (end > s->frame_us) {
            config_node_err(fdt, node,
                            "the windows do not fit the %u us major frame: the window at %u us "
                            "ends at %lu us",
                            s->frame_us, w->start_us, (unsigned long)end);
            return false;
        }
    }
    return true;
}

/* Every VM with a vCPU on the CPU has a window there, or it would never run. */
static bool check_every_vm_has_window(const void *fdt, int node, unsigned cpu,
                                      const struct cpu_schedule *s,
                                      const struct vm_config *const *vms, unsigned nr)
{
    for (unsigned i = 0; i < nr; i++) {
        bool owns = false;
        for (unsigned w = 0; w < s->nr_windows; w++) {
            owns |= s->windows[w].vm == (int)i;
        }
        if (has_vcpu_on(vms[i], cpu) && !owns) {
            config_node_err(fdt, node,
                            "%s has a vCPU on CPU %u but no window there: it would never run",
                            vms[i]->node, cpu);
            return false;
        }
    }
    return true;
}

static bool read_windows(const void *fdt, int node, unsigned cpu, struct cpu_schedule *s,
                         const struct vm_config *const *vms, unsigned nr)
{
    int len;
    const fdt32_t *p = fdt_getprop(fdt, node, "bulkhead,windows", &len);
    unsigned count = p ? (unsigned)len / (WINDOW_CELLS * 4) : 0;

    if (p && (len <= 0 || len % (WINDOW_CELLS * 4))) {
        config_node_err(fdt, node, "bulkhead,windows is not a list of <owner start-us length-us>");
        return false;
    }
    if (count > SCHED_MAX_WINDOWS) {
        config_node_err(fdt, node, "%u windows: at most %d", count, SCHED_MAX_WINDOWS);
        return false;
    }
    for (unsigned i = 0; i < count; i++, p += WINDOW_CELLS) {
        struct sched_window *w = &s->windows[i];
        uint32_t owner = fdt32_ld(&p[0]);
        w->start_us = fdt32_ld(&p[1]);
        w->len_us = fdt32_ld(&p[2]);
        w->vm = owner ? window_owner(fdt, node, owner, w->start_us, vms, nr) : -1;
        if (owner && w->vm < 0) {
            return false;
        }
        if (w->len_us == 0) {
            config_node_err(fdt, node, "the window at %u us has length 0", w->start_us);
            return false;
        }
        if (w->vm >= 0 && !has_vcpu_on(vms[w->vm], cpu)) {
            config_node_err(fdt, node,
                            "the window at %u us belongs to %s, which has no vCPU on "
                            "CPU %u",
                            w->start_us, vms[w->vm]->node, cpu);
            return false;
        }
    }
    s->nr_windows = count;
    sort_windows(s);
    return check_table(fdt, node, s) && check_every_vm_has_window(fdt, node, cpu, s, vms, nr);
}

static bool read_partition_policy(const void *fdt, int node, uint32_t cpus, unsigned cpu,
                                  struct cpu_schedule *s, const struct vm_config *const *vms,
                                  unsigned nr)
{
    uint32_t frame = 0;

    if (cpus != BIT(cpu)) {
        config_node_err(fdt, node,
                        "a partition table belongs to one CPU: bulkhead,cpus must name one");
        return false;
    }
    int r = config_read_u32(fdt, node, "bulkhead,major-frame-us", &frame);
    if (r < 0) {
        return false;
    }
    if (r == 0 || frame == 0) {
        config_node_err(fdt, node, "the partition policy needs bulkhead,major-frame-us, not 0");
        return false;
    }
    s->policy = SCHED_PARTITION;
    s->frame_us = frame;
    return read_windows(fdt, node, cpu, s, vms, nr);
}

/* One node into *s; false after reporting what is wrong with it. */
static bool read_schedule(const void *fdt, int node, const struct board *board,
                          const struct vm_config *const *vms, unsigned nr, int claimed[MAX_CPUS],
                          uint32_t *cpus, struct cpu_schedule *s)
{
    unsigned first = 0;
    int len;
    const char *policy;

    set_default(s);
    if (!read_cpus(fdt, node, board, claimed, cpus, &first)) {
        return false;
    }
    policy = fdt_getprop(fdt, node, "bulkhead,policy", &len);
    if (!policy || (len == sizeof("priority") && memcmp(policy, "priority", (size_t)len) == 0)) {
        return read_priority_policy(fdt, node, s);
    }
    if (len == sizeof("partition") && memcmp(policy, "partition", (size_t)len) == 0) {
        return read_partition_policy(fdt, node, *cpus, first, s, vms, nr);
    }
    config_node_err(fdt, node, "bulkhead,policy is not \"priority\" or \"partition\"");
    return false;
}

int sched_parse(const void *fdt, const struct board *board, const struct vm_config *const *vms,
                unsigned nr, struct cpu_schedule out[MAX_CPUS])
{
    struct cpu_schedule s;
    int claimed[MAX_CPUS];
    int chosen = config_chosen(fdt);
    int node, refused = 0;

    for (unsigned c = 0; c < MAX_CPUS; c++) {
        set_default(&out[c]);
        claimed[c] = -1;
    }
    if (chosen < 0) {
        return 0;
    }
    config_for_each_child(node, fdt, chosen)
    {
        uint32_t cpus = 0;
        if (!config_node_enabled(fdt, node) || !config_is_compatible(fdt, node, SCHEDULE_COMPAT)) {
            continue;
        }
        if (!read_schedule(fdt, node, board, vms, nr, claimed, &cpus, &s)) {
            refused++;
            continue;
        }
        for (unsigned c = 0; c < board->nr_cpus; c++) {
            if (cpus & BIT(c)) {
                out[c] = s;
            }
        }
    }
    return refused;
}
