/*
 * A bundle of VMs in the initramfs (include/bulkhead/bundle.h, docs/CONFIG.md "Booting from a
 * bundle"): the cpio newc reader and the merge of the description into a copy of the host DTB.
 * What an archive or a description gets wrong is named (the entry, or the node and its file) and
 * costs only the VMs it touches.
 */
#include <libfdt.h>

#include "bulkhead/bundle.h"
#include "bulkhead/fdt_read.h"
#include "bulkhead/layout.h"
#include "bulkhead/printk.h"
#include "bulkhead/string.h"

/* cpio newc: "070701" (or "070702", the same with a checksum), 13 fields of 8 hex digits, the
 * name (NUL included), padding to 4 bytes, the data, padding to 4 bytes. */
#define CPIO_HEADER_LEN 110
#define CPIO_MAGIC_LEN 6
#define CPIO_FIELD_LEN 8
#define CPIO_FIELD_MODE 1
#define CPIO_FIELD_FILESIZE 6
#define CPIO_FIELD_NAMESIZE 11
#define CPIO_ALIGN 4
#define CPIO_TRAILER "TRAILER!!!"
#define S_IFMT_BITS 0170000u
#define S_IFREG_BITS 0100000u

/* The nodes of one level copied at a time, for their order (libfdt adds a subnode first). */
#define MAX_CHILDREN 64
/* Levels below the description's /chosen: a VM node, its modules and maps, and some spare. */
#define MAX_DEPTH 6

/* One header, decoded. */
struct cpio_entry {
    uint32_t mode;
    uint64_t filesize;
    uint64_t namesize;
    const char *name;
    uint64_t data_offset;
    uint64_t next_offset;
};

/* Field index of the header at h. false if it is not 8 hex digits. */
static bool cpio_field(const uint8_t *h, unsigned index, uint32_t *out)
{
    const char *f = (const char *)h + CPIO_MAGIC_LEN + index * CPIO_FIELD_LEN;
    uint32_t v = 0;

    for (unsigned i = 0; i < CPIO_FIELD_LEN; i++) {
        int d = hex_digit(f[i]);
        if (d < 0) {
            return false;
        }
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return true;
}

static const char *skip_dot_slash(const char *name)
{
    while (name[0] == '.' && name[1] == '/') {
        name += 2;
    }
    return name;
}

static void archive_err(const struct bundle *b, uint64_t offset, const char *name, const char *why)
{
    pr_err("bundle at 0x%lx: entry at offset 0x%lx%s%s%s: %s; the archive is read up to there\n",
           b->pa, offset, name ? " (\"" : "", name ? name : "", name ? "\")" : "", why);
}

/* Decodes the entry at offset. 0, or -1 after naming what is wrong with it. */
static int cpio_decode(const struct bundle *b, uint64_t offset, struct cpio_entry *e)
{
    const uint8_t *h = b->base + offset;
    uint32_t mode, filesize, namesize;

    if (b->size - offset < CPIO_HEADER_LEN) {
        archive_err(b, offset, NULL, "truncated header");
        return -1;
    }
    if (offset == 0 && h[0] == 0x1f && h[1] == 0x8b) {
        archive_err(b, offset, NULL,
                    "bad magic: gzip-compressed, and a bundle is read as it lies: leave it "
                    "uncompressed");
        return -1;
    }
    if (memcmp(h, "07070", 5) != 0 || (h[5] != '1' && h[5] != '2')) {
        archive_err(b, offset, NULL, "bad magic, not a cpio newc header (070701)");
        return -1;
    }
    if (!cpio_field(h, CPIO_FIELD_MODE, &mode) || !cpio_field(h, CPIO_FIELD_FILESIZE, &filesize) ||
        !cpio_field(h, CPIO_FIELD_NAMESIZE, &namesize)) {
        archive_err(b, offset, NULL, "a header field is not hexadecimal");
        return -1;
    }
    uint64_t name_end = offset + CPIO_HEADER_LEN + namesize;
    if (namesize == 0 || name_end > b->size) {
        archive_err(b, offset, NULL, "truncated name");
        return -1;
    }
    e->name = (const char *)h + CPIO_HEADER_LEN;
    if (e->name[namesize - 1] != '\0' || strlen(e->name) + 1 != namesize) {
        archive_err(b, offset, NULL, "its name is not one NUL-terminated string of namesize");
        return -1;
    }
    e->mode = mode;
    e->filesize = filesize;
    e->namesize = namesize;
    e->data_offset = ALIGN_UP(name_end, CPIO_ALIGN);
    if (e->data_offset > b->size || filesize > b->size - e->data_offset) {
        archive_err(b, offset, e->name, "truncated data");
        return -1;
    }
    e->next_offset = ALIGN_UP(e->data_offset + filesize, CPIO_ALIGN);
    return 0;
}

/* The index of the file of that name, or -1. */
static int find_file(const struct bundle *b, const char *name)
{
    for (unsigned i = 0; i < b->nr_files; i++) {
        if (strcmp(b->files[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* A regular file into the index. false when the index is full (reported). */
static bool index_file(struct bundle *b, uint64_t offset, const struct cpio_entry *e)
{
    const char *name = skip_dot_slash(e->name);
    int seen = find_file(b, name);
    struct bundle_file *f;

    if (seen >= 0) {
        f = &b->files[seen];
        if (!f->twice_offset) {
            f->twice_offset = offset;
        }
        return true;
    }
    if (b->nr_files == BUNDLE_MAX_FILES) {
        pr_err("bundle at 0x%lx: entry at offset 0x%lx (\"%s\"): more than %d files; the archive "
               "is read up to there\n",
               b->pa, offset, e->name, BUNDLE_MAX_FILES);
        return false;
    }
    f = &b->files[b->nr_files++];
    f->name = name;
    f->data = b->base + e->data_offset;
    f->pa = b->pa + e->data_offset;
    f->size = e->filesize;
    f->offset = offset;
    f->twice_offset = 0;
    return true;
}

int bundle_read(const void *archive, uint64_t size, uint64_t pa, struct bundle *b)
{
    uint64_t offset = 0;

    memset(b, 0, sizeof(*b));
    b->base = archive;
    b->pa = pa;
    b->size = size;
    for (;;) {
        struct cpio_entry e;
        if (offset == size) {
            archive_err(b, offset, NULL, "truncated: the archive ends before its TRAILER!!!");
            return -1;
        }
        if (cpio_decode(b, offset, &e) != 0) {
            return -1;
        }
        if (strcmp(e.name, CPIO_TRAILER) == 0) {
            return 0;
        }
        if ((e.mode & S_IFMT_BITS) == S_IFREG_BITS && !index_file(b, offset, &e)) {
            return -1;
        }
        offset = e.next_offset;
        if (offset > size) {
            offset = size; /* the last entry's padding was cut: the end is missing */
        }
    }
}

const struct bundle_file *bundle_find(const struct bundle *b, const char *name)
{
    int i = find_file(b, skip_dot_slash(name));

    return i < 0 ? NULL : &b->files[i];
}

/* ---- the description ---- */

static bool is_vm(const void *fdt, int node)
{
    return config_is_compatible(fdt, node, "bulkhead,vm") ||
           config_is_compatible(fdt, node, "xen,domain") ||
           config_is_compatible(fdt, node, "multiboot,kernel");
}

/* A node's bulkhead,file: the archive's file, or NULL after naming the problem. */
static const struct bundle_file *named_file(const struct bundle *b, const void *desc, int node,
                                            const char *file, int len)
{
    if (len < 2 || file[len - 1] != '\0' || strlen(file) + 1 != (size_t)len) {
        config_node_err(desc, node, "%s is not one string", BUNDLE_FILE_PROP);
        return NULL;
    }
    if (fdt_getprop(desc, node, "reg", NULL)) {
        config_node_err(desc, node, "both %s \"%s\" and a reg: give one of them", BUNDLE_FILE_PROP,
                        file);
        return NULL;
    }
    const struct bundle_file *f = bundle_find(b, file);
    if (!f) {
        config_node_err(desc, node, "file \"%s\" is not in the bundle's archive", file);
        return NULL;
    }
    if (f->twice_offset) {
        config_node_err(desc, node,
                        "file \"%s\" is in the bundle's archive twice (entries at offsets 0x%lx "
                        "and 0x%lx): which one is meant is unclear",
                        file, f->offset, f->twice_offset);
        return NULL;
    }
    if (f->size == 0) {
        config_node_err(desc, node, "file \"%s\" of the bundle is empty", file);
        return NULL;
    }
    if (config_is_compatible(desc, node, "multiboot,device-tree") &&
        !IS_ALIGNED(f->pa, BUNDLE_FDT_ALIGN)) {
        config_node_err(desc, node,
                        "device tree \"%s\" is not 8-byte aligned in the bundle's archive, and "
                        "it is read where it lies; tools/mkbundle.py aligns it",
                        file);
        return NULL;
    }
    return f;
}

/* Every bulkhead,file of the subtree names a usable file. Reports each problem. */
static bool subtree_ok(const struct bundle *b, const void *desc, int node, unsigned depth)
{
    int prop, child, seen = 0;
    bool ok = true;

    /* Every property of the name: a malformed tree may repeat one. */
    fdt_for_each_property_offset(prop, desc, node)
    {
        const char *name;
        int len;
        const char *file = fdt_getprop_by_offset(desc, prop, &name, &len);
        if (!file || strcmp(name, BUNDLE_FILE_PROP) != 0) {
            continue;
        }
        if (++seen == 2) {
            config_node_err(desc, node, "more than one %s", BUNDLE_FILE_PROP);
            ok = false;
        }
        ok = named_file(b, desc, node, file, len) && ok;
    }
    fdt_for_each_subnode(child, desc, node)
    {
        /* The copy recurses as deep: the hypervisor's stack is small. */
        if (depth == MAX_DEPTH) {
            config_node_err(desc, child, "nested more than %d levels below /chosen", MAX_DEPTH);
            return false;
        }
        ok = subtree_ok(b, desc, child, depth + 1) && ok;
    }
    return ok;
}

/* The cells vmcfg_parse reads a module's reg with (config_module_reg). */
static bool module_cells(const void *fdt, int parent, int *ac, int *sc)
{
    if (config_is_compatible(fdt, parent, "bulkhead,vm") ||
        config_is_compatible(fdt, parent, "xen,domain")) {
        *ac = config_own_cells(fdt, parent, "#address-cells", 2);
        *sc = config_own_cells(fdt, parent, "#size-cells", 2);
    } else {
        *ac = fdt_address_cells(fdt, parent);
        *sc = fdt_size_cells(fdt, parent);
    }
    return *ac >= 1 && *ac <= 2 && *sc >= 1 && *sc <= 2;
}

static int put_cells(fdt32_t *p, int cells, uint64_t v)
{
    if (cells == 1 && v > UINT32_MAX) {
        return -1;
    }
    if (cells == 2) {
        p[0] = cpu_to_fdt32((uint32_t)(v >> 32));
    }
    p[cells - 1] = cpu_to_fdt32((uint32_t)v);
    return cells;
}

/* The file's reg on node (in out), in its parent's cells. 0, or a libfdt error (-1: cells). */
static int set_file_reg(void *out, int parent, int node, const struct bundle_file *f)
{
    fdt32_t reg[4];
    int ac, sc;

    if (!module_cells(out, parent, &ac, &sc) || put_cells(reg, ac, f->pa) < 0 ||
        put_cells(reg + ac, sc, f->size) < 0) {
        return -1;
    }
    return fdt_setprop(out, node, "reg", reg, (int)sizeof(fdt32_t) * (ac + sc));
}

static int copy_props(const struct bundle *b, const void *desc, int dnode, void *out, int parent,
                      int node)
{
    int prop, err = 0;

    fdt_for_each_property_offset(prop, desc, dnode)
    {
        const char *name;
        int len;
        const void *val = fdt_getprop_by_offset(desc, prop, &name, &len);
        if (!val) {
            return len;
        }
        if (strcmp(name, BUNDLE_FILE_PROP) == 0) {
            /* subtree_ok checked it: this only keeps a bad value from being read. */
            const char *file = val;
            bool string = len > 0 && file[len - 1] == '\0';
            const struct bundle_file *f = string ? bundle_find(b, file) : NULL;
            err = f ? set_file_reg(out, parent, node, f) : -FDT_ERR_BADVALUE;
        } else {
            err = fdt_setprop(out, node, name, val, len);
        }
        if (err) {
            return err;
        }
    }
    return 0;
}

/* The subtree dnode of desc as a new first child of parent in out. 0 or a libfdt error. */
static int copy_node(const struct bundle *b, const void *desc, int dnode, void *out, int parent)
{
    int children[MAX_CHILDREN], nr = 0, child;
    int node = fdt_add_subnode(out, parent, fdt_get_name(desc, dnode, NULL));

    if (node < 0) {
        return node;
    }
    int err = copy_props(b, desc, dnode, out, parent, node);
    fdt_for_each_subnode(child, desc, dnode)
    {
        if (nr == MAX_CHILDREN) {
            return -FDT_ERR_NOSPACE;
        }
        children[nr++] = child;
    }
    /* Each is added first: the last one first keeps the description's order. */
    while (!err && nr > 0) {
        err = copy_node(b, desc, children[--nr], out, node);
    }
    return err;
}

static void left_out(const void *desc, int node)
{
    char path[NAME_LEN * 4];

    config_node_path(desc, node, path, sizeof(path));
    printk("bulkhead: %s: %s\n", path,
           is_vm(desc, node) ? "VM not started" : "left out of the bundle");
}

/* Can the node of the description's /chosen be merged: its name free in out's /chosen, its
 * files usable? Names every problem, then the VM left out. */
static bool node_mergeable(const struct bundle *b, const void *desc, int dnode, const void *out,
                           int chosen)
{
    bool ok = true;

    if (fdt_subnode_offset(out, chosen, fdt_get_name(desc, dnode, NULL)) >= 0) {
        config_node_err(desc, dnode, "the host DTB's /chosen has a node of that name too");
        ok = false;
    }
    ok = subtree_ok(b, desc, dnode, 1) && ok;
    if (!ok) {
        left_out(desc, dnode);
    }
    return ok;
}

/* One checked node of the description's /chosen into out's. true if merged. */
static bool merge_node(const struct bundle *b, const void *desc, int dnode, void *out, int chosen)
{
    int err = copy_node(b, desc, dnode, out, chosen);

    if (err == 0) {
        return true;
    }
    config_node_err(desc, dnode, "cannot be added to the hypervisor's copy of the DTB (%s)",
                    err == -1 ? "an address or size does not fit the module's cells"
                              : fdt_strerror(err));
    int partial = fdt_subnode_offset(out, chosen, fdt_get_name(desc, dnode, NULL));
    if (partial >= 0) {
        fdt_del_node(out, partial);
    }
    left_out(desc, dnode);
    return false;
}

/* The description, copied where libfdt can read it (the archive aligns data to 4 bytes only).
 * NULL after naming why it cannot be used. */
static const void *load_description(const struct bundle *b)
{
    static uint64_t copy[BUNDLE_DESCRIPTION_MAX / sizeof(uint64_t)] NOINIT; /* written first */
    const struct bundle_file *f = bundle_find(b, BUNDLE_DESCRIPTION);
    int err;

    if (!f) {
        pr_err("bundle at 0x%lx: no " BUNDLE_DESCRIPTION " in the archive: no VM from it\n", b->pa);
        return NULL;
    }
    if (f->twice_offset) {
        pr_err("bundle: " BUNDLE_DESCRIPTION " is in the archive twice (offsets 0x%lx and 0x%lx): "
               "no VM from it\n",
               f->offset, f->twice_offset);
        return NULL;
    }
    if (f->size > sizeof(copy)) {
        pr_err("bundle: " BUNDLE_DESCRIPTION " is 0x%lx bytes, more than %lu KiB: no VM from it\n",
               f->size, (uint64_t)(BUNDLE_DESCRIPTION_MAX >> 10));
        return NULL;
    }
    const void *desc = copy;
    memset(copy, 0, sizeof(copy));
    memcpy(copy, f->data, f->size);
    err = fdt_check_header(desc);
    if (!err && fdt_totalsize(desc) > f->size) {
        err = -FDT_ERR_TRUNCATED;
    }
    /* What dtc writes; libfdt 1.6's full check dereferences NULL on some older-version trees. */
    if (!err && fdt_version(desc) < 17) {
        err = -FDT_ERR_BADVERSION;
    }
    /* Our own walk, not libfdt 1.6's fdt_check_full(), which loops forever on some trees (a
     * property length that wraps its offset, found by fuzz/bundle). */
    if (!err) {
        err = config_index_tree(desc);
    }
    if (err) {
        pr_err("bundle: " BUNDLE_DESCRIPTION " does not parse as a device tree (%s): no VM from "
               "it\n",
               fdt_strerror(err));
        return NULL;
    }
    return desc;
}

/* The host DTB's blocks, without its free space, into out (totalsize out_size). fdt_open_into
 * would copy the whole totalsize, and QEMU's trees are 1 MiB of mostly nothing. */
static int compact_copy(const void *host, void *out, int out_size)
{
    uint32_t rsv = (uint32_t)(fdt_num_mem_rsv(host) + 1) * sizeof(struct fdt_reserve_entry);
    uint32_t head = (uint32_t)ALIGN_UP(sizeof(struct fdt_header), 8);
    uint32_t str_off = head + rsv + fdt_size_dt_struct(host);

    if (fdt_num_mem_rsv(host) < 0 || fdt_version(host) < 17 ||
        (uint64_t)str_off + fdt_size_dt_strings(host) > (uint64_t)out_size) {
        return -FDT_ERR_NOSPACE;
    }
    uint8_t *o = out;
    const uint8_t *h = host;
    memcpy(o, h, sizeof(struct fdt_header));
    memcpy(o + head, h + fdt_off_mem_rsvmap(host), rsv);
    memcpy(o + head + rsv, h + fdt_off_dt_struct(host), fdt_size_dt_struct(host));
    memcpy(o + str_off, h + fdt_off_dt_strings(host), fdt_size_dt_strings(host));
    fdt_set_off_mem_rsvmap(out, head);
    fdt_set_off_dt_struct(out, head + rsv);
    fdt_set_off_dt_strings(out, str_off);
    fdt_set_totalsize(out, (uint32_t)out_size);
    return fdt_open_into(out, out, out_size);
}

/* The node whose children are merged: the description's /chosen, or in an overlay (dtc's
 * /plugin/, `&{/chosen} { ... };`) the __overlay__ of the fragment whose target-path is
 * "/chosen". */
static int description_chosen(const void *desc)
{
    int node = fdt_path_offset(desc, "/chosen");
    int fragment, len;

    if (node >= 0) {
        return node;
    }
    fdt_for_each_subnode(fragment, desc, 0)
    {
        const char *target = fdt_getprop(desc, fragment, "target-path", &len);
        if (target && len == sizeof("/chosen") && memcmp(target, "/chosen", (size_t)len) == 0) {
            return fdt_subnode_offset(desc, fragment, "__overlay__");
        }
    }
    return -FDT_ERR_NOTFOUND;
}

int bundle_merge(const struct bundle *b, const void *host_fdt, void *out, int out_size)
{
    int children[MAX_CHILDREN], nr = 0, merged = 0, child;
    const void *desc = load_description(b);

    if (!desc) {
        return -1;
    }
    int dchosen = description_chosen(desc);
    if (dchosen < 0) {
        pr_err("bundle: " BUNDLE_DESCRIPTION " has no /chosen, nor an overlay fragment for it: no "
               "VM from it\n");
        return -1;
    }
    int err = compact_copy(host_fdt, out, out_size);
    int chosen = err ? err : fdt_path_offset(out, "/chosen");
    if (chosen == -FDT_ERR_NOTFOUND) {
        chosen = fdt_add_subnode(out, 0, "chosen");
    }
    if (chosen < 0) {
        pr_err("bundle: the host DTB cannot be copied with room for the bundle's nodes (%s, %d "
               "KiB): no VM from it\n",
               fdt_strerror(chosen), out_size >> 10);
        return -1;
    }
    fdt_for_each_subnode(child, desc, dchosen)
    {
        if (nr == MAX_CHILDREN) {
            config_node_err(desc, child, "more than %d nodes in the bundle's /chosen: left out",
                            MAX_CHILDREN);
            break;
        }
        if (node_mergeable(b, desc, child, out, chosen)) {
            children[nr++] = child;
        }
    }
    /* Each is added first in /chosen: the last one first keeps the description's order. */
    while (nr > 0) {
        merged += merge_node(b, desc, children[--nr], out, chosen);
    }
    return merged;
}

const void *bundle_apply(const struct board *board, const struct module_limits *limits,
                         const void *initrd, const void *host_fdt, void *out, int out_size)
{
    static struct bundle b;
    const struct vm_module range = {board->initrd.base, board->initrd.size};

    if (!board->initrd.size) {
        return host_fdt;
    }
    printk("bulkhead: bundle at 0x%lx (0x%lx bytes)\n", board->initrd.base, board->initrd.size);
    /* Nothing outside RAM is mapped to be read, and the hypervisor's .bss is zeroed at boot. */
    if (layout_check_module(board, limits, "/chosen", "initrd (bundle)", &range) != 0) {
        pr_err("bundle at 0x%lx: not read: no VM from it\n", board->initrd.base);
        return host_fdt;
    }
    bundle_read(initrd, board->initrd.size, board->initrd.base, &b);
    int merged = bundle_merge(&b, host_fdt, out, out_size);
    if (merged < 0) {
        return host_fdt;
    }
    printk("bulkhead: bundle: %u file%s, %d node%s of " BUNDLE_DESCRIPTION "'s /chosen taken\n",
           b.nr_files, b.nr_files == 1 ? "" : "s", merged, merged == 1 ? "" : "s");
    /* Only what it holds is kept (its totalsize): the caller keeps no more of out than that. */
    fdt_pack(out);
    return out;
}
