/*
 * Device-tree readers shared by the parsers in config/ (config/fdt_read.c). Nodes are libfdt
 * offsets. Whatever is malformed is reported with config_node_err(), which names the node.
 */
#ifndef BULKHEAD_FDT_READ_H
#define BULKHEAD_FDT_READ_H

#include <libfdt.h>

#include "config.h"

/* The DT spec's defaults when a node has no #address-cells / #size-cells. */
#define DT_DEFAULT_ADDR_CELLS 2
#define DT_DEFAULT_SIZE_CELLS 1
/* The GIC binding's interrupt specifier: <type number flags>. */
#define INTR_CELLS 3
#define INTR_TYPE_SPI 0
#define INTR_TYPE_PPI 1

/* Prints "error: <node path>: <message>". */
void config_node_err(const void *fdt, int node, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* The node's full path (truncated to size, never fails). */
void config_node_path(const void *fdt, int node, char *buf, size_t size);

/* The node at path (len bytes, no NUL needed) as a device tree's own property names it: a full
 * path, or an alias (and a path under it) whose value is a full path. What libfdt's
 * fdt_path_offset_namelen() returns; never follows an alias to another alias. */
int config_path_offset(const void *fdt, const char *path, int len);
/* The offset of /chosen, which every parser asks for (config_node_offset). */
int config_chosen(const void *fdt);

/* The property as a NUL-terminated string; NULL if absent or not a string (reported). */
const char *config_get_string(const void *fdt, int node, const char *prop);

/* Is compat one of the strings of the node's compatible list? */
bool config_is_compatible(const void *fdt, int node, const char *compat);

/* Is the node usable: no status, or status "okay"/"ok"? */
bool config_node_enabled(const void *fdt, int node);

/* A property of 1 or 2 cells (u32 or u64, by its length). 1: read, 0: absent, -1: malformed. */
int config_read_u64(const void *fdt, int node, const char *prop, uint64_t *val);

/* A property of exactly one cell. 1: read, 0: absent, -1: malformed (reported). */
int config_read_u32(const void *fdt, int node, const char *prop, uint32_t *val);

/*
 * Reads up to max <address size> pairs of prop (addr_cells and size_cells are 0..2). Returns the
 * number of pairs in the property (may be more than max; only max are stored), 0 if absent, or
 * -1 if malformed (reported). No `ranges` translation: config_read_reg() does that.
 */
int config_read_pairs(const void *fdt, int node, const char *prop, int addr_cells, int size_cells,
                      struct mem_range *out, unsigned max);

/*
 * The reg of a boot module (a node under /chosen or under a VM node in /chosen). Its cells are
 * those of its parent: a VM node's own #address-cells/#size-cells (2/2 if absent, Xen's
 * dom0less default); for /chosen, inherited from the nearest ancestor that has them, as QEMU's
 * guest-loader writes reg in the root's cells into a /chosen that has none. 1: read, 0: no reg,
 * -1: malformed (reported). Only one <address size> entry is allowed.
 */
int config_module_reg(const void *fdt, int module, struct vm_module *out);

/* Is the node a boot module: any compatible string beginning with "multiboot,"? */
bool config_is_module(const void *fdt, int node);

/* A big-endian value of cells (0..2) 32-bit cells. */
uint64_t config_read_cells(const fdt32_t *p, int cells);

/* The node's own #address-cells or #size-cells (name), dflt if absent; -1 if malformed. */
int config_own_cells(const void *fdt, int node, const char *name, int dflt);

/*
 * Reads a device node's reg in its parent's cells, translated to physical addresses through
 * every ancestor bus's `ranges`. Returns the number of entries (only max stored), 0 if there is
 * no reg, -1 if malformed (reported).
 */
int config_read_reg(const void *fdt, int node, struct mem_range *out, unsigned max);

/* Interrupt specifier index of a 3-cell GIC `interrupts`: its type and number. 0, or -1 if
 * malformed or absent (reported). */
int config_read_irq(const void *fdt, int node, int index, uint32_t *type, uint32_t *num);

/*
 * The tree's index (config/fdt_index.c): libfdt keeps no state, so each of its lookups of a
 * parent, a path or a compatible walks the tree again. These answer the same from one walk of
 * the tree, made when a tree is first asked about and again when its header shows it changed
 * (a tree edited in place to the same block sizes must be indexed again: config_index_tree).
 * A tree that cannot be indexed is answered by libfdt; the results are libfdt's either way.
 */

/* Checks the tree as fdt_check_full(fdt, fdt_totalsize(fdt)) does and indexes it: 0 or a libfdt
 * error. */
int config_index_tree(const void *fdt);
/* fdt_get_name (without its length), fdt_parent_offset, fdt_first_subnode, fdt_next_subnode. */
const char *config_node_name(const void *fdt, int node);
int config_parent(const void *fdt, int node);
int config_first_child(const void *fdt, int node);
int config_next_child(const void *fdt, int node);
#define config_for_each_child(node, fdt, parent)                                                   \
    for ((node) = config_first_child((fdt), (parent)); (node) >= 0;                                \
         (node) = config_next_child((fdt), (node)))
/* fdt_path_offset_namelen for a full path (an alias goes to libfdt), fdt_path_offset. */
int config_full_path_offset(const void *fdt, const char *path, int len);
int config_node_offset(const void *fdt, const char *path);
/* fdt_get_path, fdt_getprop, fdt_node_offset_by_compatible. */
int config_get_path(const void *fdt, int node, char *buf, int size);
const void *config_getprop(const void *fdt, int node, const char *name, int *lenp);
int config_next_compatible(const void *fdt, int from, const char *compat);

#endif
