/*
 * The guest device tree's writer, shared by config/guest_fdt.c and config/guest_fdt_copy.c:
 * libfdt's sequential-write calls, made no-ops after the first failure so that a builder reads
 * straight. Private to config/.
 */
#ifndef BULKHEAD_CONFIG_FDT_WRITER_H
#define BULKHEAD_CONFIG_FDT_WRITER_H

#include <libfdt.h>

#include "bulkhead/config.h"
#include "bulkhead/string.h"

#define MAX_PROP_CELLS 12

struct writer {
    void *fdt;
    int err;
};

static inline void begin(struct writer *w, const char *name)
{
    if (!w->err) {
        w->err = fdt_begin_node(w->fdt, name);
    }
}

static inline void end(struct writer *w)
{
    if (!w->err) {
        w->err = fdt_end_node(w->fdt);
    }
}

static inline void prop(struct writer *w, const char *name, const void *val, int len)
{
    if (!w->err) {
        w->err = fdt_property(w->fdt, name, val, len);
    }
}

/* A string list given as one literal with embedded NULs: its sizeof is its length. */
#define PROP_STRINGS(w, name, lit) prop((w), (name), (lit), (int)sizeof(lit))

static inline void prop_string(struct writer *w, const char *name, const char *s)
{
    prop(w, name, s, (int)strlen(s) + 1);
}

static inline void prop_u32(struct writer *w, const char *name, uint32_t v)
{
    if (!w->err) {
        w->err = fdt_property_u32(w->fdt, name, v);
    }
}

static inline void prop_u64(struct writer *w, const char *name, uint64_t v)
{
    if (!w->err) {
        w->err = fdt_property_u64(w->fdt, name, v);
    }
}

static inline void prop_empty(struct writer *w, const char *name)
{
    prop(w, name, "", 0);
}

static inline void prop_cells(struct writer *w, const char *name, const uint32_t *cells, unsigned n)
{
    fdt32_t be[MAX_PROP_CELLS];

    for (unsigned i = 0; i < n && i < MAX_PROP_CELLS; i++) {
        be[i] = cpu_to_fdt32(cells[i]);
    }
    prop(w, name, be, (int)(MIN(n, MAX_PROP_CELLS) * sizeof(be[0])));
}

/* reg of <address size> pairs, in the root's 2 + 2 cells. */
static inline void prop_reg(struct writer *w, const struct mem_range *ranges, unsigned n)
{
    uint32_t cells[MAX_PROP_CELLS];

    for (unsigned i = 0; i < n && i < MAX_PROP_CELLS / 4; i++) {
        cells[i * 4] = (uint32_t)(ranges[i].base >> 32);
        cells[i * 4 + 1] = (uint32_t)ranges[i].base;
        cells[i * 4 + 2] = (uint32_t)(ranges[i].size >> 32);
        cells[i * 4 + 3] = (uint32_t)ranges[i].size;
    }
    prop_cells(w, "reg", cells, MIN(n, MAX_PROP_CELLS / 4) * 4);
}

/* Writes the VM's passed-through devices at the guest's root (config/guest_fdt_copy.c), from
 * the host tree (ours) or the VM's partial tree (Xen's). Names in root_names are the VM's own
 * nodes; gic_phandle and clock_phandle the VM's own phandles. Returns 0, or -1 after printing
 * why. */
int guest_fdt_write_passthrough(struct writer *w, const void *host, const struct board *board,
                                const struct vm_config *vm, uint32_t gic_phandle,
                                uint32_t clock_phandle, const char *const *root_names,
                                unsigned nr_root_names);
/* Inside /aliases: the passed devices' aliases (from the host tree, or the partial tree's), but
 * for the names in taken, which the VM's own devices have. root_names as for
 * guest_fdt_write_passthrough(). */
void guest_fdt_write_aliases(struct writer *w, const void *host, const struct vm_config *vm,
                             const char *const *taken, unsigned nr_taken,
                             const char *const *root_names, unsigned nr_root_names);
bool guest_fdt_has_aliases(const void *host, const struct vm_config *vm);

#endif
