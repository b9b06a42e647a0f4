/*
 * One walk of a device tree that answers what libfdt finds by walking it again each time (
 * include/bulkhead/fdt_read.h, "The tree's index"): a node's parent, its children, its path, the
 * node at a path, the nodes with a compatible string, a node's properties.
 *
 * libfdt keeps no state, so its parent lookup walks the tree from the root, its path lookup walks
 * every node before the one it finds, and it steps over each node name one byte at a time, each
 * byte a bounds-checked call: most of the hypervisor's boot went there. The walk here checks the
 * tree as fdt_check_full() does (it replaces it at boot), so the lookups that follow read the
 * structure block directly.
 *
 * An index belongs to one tree at one address; a tree whose header says it changed (its blocks'
 * sizes or places) is walked again when next asked about. A tree with more nodes than an index
 * holds, an old version (before 16) or a malformed one is not indexed: its lookups go to libfdt.
 */
#include <libfdt.h>

#include "bulkhead/fdt_read.h"
#include "bulkhead/string.h"

/* QEMU's virt tree has about 60 nodes, the Raspberry Pi 4's about 250. */
#define INDEX_MAX_NODES 512
/* The host tree and one other (a bundle's copy of it, a guest tree a check reads). */
#define NR_INDEXES 2

struct index_node {
    int offset; /* its FDT_BEGIN_NODE tag, as libfdt's node offsets */
    int props;  /* the first tag after its name: its properties, then its children */
    int16_t parent;
    int16_t end; /* the first node after its subtree */
    int compat;  /* the structure offset of its compatible's value, or -1 */
    int compat_len;
};

struct fdt_index {
    const void *fdt;
    uint32_t totalsize, off_struct, size_struct, off_strings, size_strings;
    unsigned nr;
    struct index_node node[INDEX_MAX_NODES];
};

static struct fdt_index indexes[NR_INDEXES];
static unsigned next_index;

static uint32_t be32_at(const char *p)
{
    return fdt32_ld((const fdt32_t *)(const void *)p);
}

static uint32_t align4(uint32_t v)
{
    return (v + 3u) & ~3u;
}

static bool header_matches(const struct fdt_index *ix, const void *fdt)
{
    return ix->fdt == fdt && ix->totalsize == fdt_totalsize(fdt) &&
           ix->off_struct == fdt_off_dt_struct(fdt) && ix->size_struct == fdt_size_dt_struct(fdt) &&
           ix->off_strings == fdt_off_dt_strings(fdt) &&
           ix->size_strings == fdt_size_dt_strings(fdt);
}

/* The name at nameoff in the strings block, or NULL when it leaves the block unterminated. */
static const char *string_at(const struct fdt_index *ix, uint32_t nameoff)
{
    const char *strings = (const char *)ix->fdt + ix->off_strings;

    if (nameoff >= ix->size_strings ||
        !memchr(strings + nameoff, '\0', ix->size_strings - nameoff)) {
        return NULL;
    }
    return strings + nameoff;
}

/* One FDT_BEGIN_NODE at off (after its tag): its entry. 0, or a libfdt error. */
static int walk_begin(struct fdt_index *ix, const char *st, uint32_t *off, int *open, int *depth,
                      bool *overflow)
{
    const char *name = st + *off;
    const char *nul = memchr(name, '\0', ix->size_struct - *off);

    if (!nul) {
        return -FDT_ERR_TRUNCATED;
    }
    /* The root's name is empty, and nothing follows it at its level. */
    if (*depth == 0 && (ix->nr > 0 || *overflow || nul != name)) {
        return -FDT_ERR_BADSTRUCTURE;
    }
    uint32_t props = align4((uint32_t)(nul + 1 - st));
    if (props > ix->size_struct) {
        return -FDT_ERR_TRUNCATED;
    }
    if (ix->nr == INDEX_MAX_NODES) {
        *overflow = true;
    } else if (!*overflow) {
        ix->node[ix->nr] = (struct index_node){
            .offset = (int)(*off - 4), .props = (int)props, .parent = (int16_t)*open, .compat = -1};
        *open = (int)ix->nr++;
    }
    *off = props;
    (*depth)++;
    return 0;
}

/* One FDT_PROP at off (after its tag). 0, or a libfdt error. */
static int walk_prop(struct fdt_index *ix, const char *st, uint32_t *off, int open, int depth,
                     bool overflow)
{
    if (ix->size_struct - *off < 8) {
        return -FDT_ERR_TRUNCATED;
    }
    uint32_t len = be32_at(st + *off);
    const char *name = string_at(ix, be32_at(st + *off + 4));
    uint32_t value = *off + 8;
    if (!name) {
        return -FDT_ERR_BADOFFSET;
    }
    if (len > ix->size_struct - value) {
        return -FDT_ERR_TRUNCATED;
    }
    /* A property outside every node is well-formed to libfdt, and belongs to no node. */
    if (depth > 0 && !overflow && strcmp(name, "compatible") == 0) {
        ix->node[open].compat = (int)value;
        ix->node[open].compat_len = (int)len;
    }
    *off = align4(value + len);
    return 0;
}

/*
 * Walks the structure block once: what fdt_check_full() checks (tags, nesting, one root with an
 * empty name, names and values inside their blocks), and each node's entry. 0, or a libfdt
 * error; *indexed: the index holds the whole tree.
 */
static int walk(struct fdt_index *ix, const void *fdt, bool *indexed)
{
    const char *st = (const char *)fdt + fdt_off_dt_struct(fdt);
    uint32_t off = 0;
    int open = -1, depth = 0;
    bool overflow = false;
    int err;

    *ix = (struct fdt_index){.fdt = fdt,
                             .totalsize = fdt_totalsize(fdt),
                             .off_struct = fdt_off_dt_struct(fdt),
                             .size_struct = fdt_size_dt_struct(fdt),
                             .off_strings = fdt_off_dt_strings(fdt),
                             .size_strings = fdt_size_dt_strings(fdt)};
    *indexed = false;
    for (;;) {
        /* A value's padding may run past a block whose size is not a multiple of 4. */
        if (off > ix->size_struct || ix->size_struct - off < 4) {
            return -FDT_ERR_TRUNCATED;
        }
        uint32_t tag = be32_at(st + off);
        off += 4;
        switch (tag) {
        case FDT_BEGIN_NODE: err = walk_begin(ix, st, &off, &open, &depth, &overflow); break;
        case FDT_PROP: err = walk_prop(ix, st, &off, open, depth, overflow); break;
        case FDT_END_NODE:
            if (depth == 0) {
                return -FDT_ERR_BADSTRUCTURE;
            }
            if (!overflow) {
                ix->node[open].end = (int16_t)ix->nr;
                open = ix->node[open].parent;
            }
            depth--;
            err = 0;
            break;
        case FDT_NOP: err = 0; break;
        case FDT_END:
            if (depth != 0) {
                return -FDT_ERR_BADSTRUCTURE;
            }
            *indexed = !overflow && ix->nr > 0;
            return 0;
        default: return -FDT_ERR_BADSTRUCTURE;
        }
        if (err) {
            return err;
        }
    }
}

/* A free slot (the one indexed longest ago) for fdt, walked. NULL if it cannot be indexed. */
static const struct fdt_index *build(const void *fdt, int *err)
{
    struct fdt_index *ix = &indexes[next_index];
    bool indexed = false;

    *err = fdt_check_header(fdt);
    if (*err == 0 && fdt_num_mem_rsv(fdt) < 0) {
        *err = fdt_num_mem_rsv(fdt);
    }
    if (*err == 0 && fdt_version(fdt) < 16) {
        /* Older versions align some values to 8 bytes: left to libfdt, and checked by it. */
        *err = fdt_check_full(fdt, fdt_totalsize(fdt));
        ix->fdt = NULL;
        return NULL;
    }
    if (*err == 0) {
        *err = walk(ix, fdt, &indexed);
    }
    if (*err || !indexed) {
        ix->fdt = NULL;
        return NULL;
    }
    next_index = (next_index + 1) % NR_INDEXES;
    return ix;
}

int config_index_tree(const void *fdt)
{
    int err;

    for (unsigned i = 0; i < NR_INDEXES; i++) {
        if (indexes[i].fdt == fdt) {
            indexes[i].fdt = NULL;
        }
    }
    build(fdt, &err);
    return err;
}

/* fdt's index, walked now if it has none or changed since; NULL if it cannot be indexed. */
static const struct fdt_index *index_of(const void *fdt)
{
    int err;

    for (unsigned i = 0; i < NR_INDEXES; i++) {
        if (header_matches(&indexes[i], fdt)) {
            return &indexes[i];
        }
    }
    return build(fdt, &err);
}

/* The entry of the node at offset, or -1. */
static int entry_at(const struct fdt_index *ix, int offset)
{
    unsigned lo = 0, hi = ix->nr;

    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (ix->node[mid].offset == offset) {
            return (int)mid;
        }
        if (ix->node[mid].offset < offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

static const char *name_of(const struct fdt_index *ix, int e)
{
    return (const char *)ix->fdt + ix->off_struct + ix->node[e].offset + 4;
}

const char *config_node_name(const void *fdt, int node)
{
    const struct fdt_index *ix = index_of(fdt);
    int e = ix ? entry_at(ix, node) : -1;

    return e < 0 ? fdt_get_name(fdt, node, NULL) : name_of(ix, e);
}

int config_parent(const void *fdt, int node)
{
    const struct fdt_index *ix = index_of(fdt);
    int e = ix ? entry_at(ix, node) : -1;

    if (e < 0) {
        return fdt_parent_offset(fdt, node);
    }
    return e == 0 ? -FDT_ERR_NOTFOUND : ix->node[ix->node[e].parent].offset;
}

/* The next child of entry parent after entry child (-1: its first), or -1. */
static int next_child(const struct fdt_index *ix, int parent, int child)
{
    int e = child < 0 ? parent + 1 : ix->node[child].end;

    return e < ix->node[parent].end ? e : -1;
}

int config_first_child(const void *fdt, int node)
{
    const struct fdt_index *ix = index_of(fdt);
    int e = ix ? entry_at(ix, node) : -1;

    if (e < 0) {
        return fdt_first_subnode(fdt, node);
    }
    int c = next_child(ix, e, -1);
    return c < 0 ? -FDT_ERR_NOTFOUND : ix->node[c].offset;
}

int config_next_child(const void *fdt, int node)
{
    const struct fdt_index *ix = index_of(fdt);
    int e = ix ? entry_at(ix, node) : -1;

    if (e <= 0) {
        return e == 0 ? -FDT_ERR_NOTFOUND : fdt_next_subnode(fdt, node);
    }
    int c = next_child(ix, ix->node[e].parent, e);
    return c < 0 ? -FDT_ERR_NOTFOUND : ix->node[c].offset;
}

/* libfdt's rule: "name" also finds "name@unit" when the path gives no unit address. */
static bool name_matches(const char *node_name, const char *s, int len)
{
    if (strncmp(node_name, s, (size_t)len) != 0) {
        return false;
    }
    return node_name[len] == '\0' || (node_name[len] == '@' && !memchr(s, '@', (size_t)len));
}

/* The entry at a full path of len bytes, or -1 (a path libfdt would reject included). */
static int entry_at_path(const struct fdt_index *ix, const char *path, int len)
{
    const char *end = path + len;
    const char *p = path;
    int e = 0;

    while (p < end) {
        while (p < end && *p == '/') {
            p++;
        }
        if (p == end) {
            break;
        }
        const char *q = memchr(p, '/', (size_t)(end - p));
        int part = (int)((q ? q : end) - p);
        int c = next_child(ix, e, -1);
        while (c >= 0 && !name_matches(name_of(ix, c), p, part)) {
            c = next_child(ix, e, c);
        }
        if (c < 0) {
            return -1;
        }
        e = c;
        p += part;
    }
    return e;
}

int config_full_path_offset(const void *fdt, const char *path, int len)
{
    const struct fdt_index *ix = index_of(fdt);

    if (!ix || len <= 0 || path[0] != '/') {
        return fdt_path_offset_namelen(fdt, path, len);
    }
    int e = entry_at_path(ix, path, len);
    return e < 0 ? -FDT_ERR_NOTFOUND : ix->node[e].offset;
}

int config_node_offset(const void *fdt, const char *path)
{
    return config_full_path_offset(fdt, path, (int)strlen(path));
}

int config_get_path(const void *fdt, int node, char *buf, int size)
{
    const struct fdt_index *ix = index_of(fdt);
    int e = ix ? entry_at(ix, node) : -1;
    int chain[64];
    int n = 0;

    if (e < 0) {
        return fdt_get_path(fdt, node, buf, size);
    }
    for (; e > 0 && n < (int)ARRAY_SIZE(chain); e = ix->node[e].parent) {
        chain[n++] = e;
    }
    if (e > 0) {
        return fdt_get_path(fdt, node, buf, size); /* deeper than chain */
    }
    int pos = 0;
    if (size < 2) {
        return -FDT_ERR_NOSPACE;
    }
    buf[pos++] = '/';
    while (n-- > 0) {
        const char *name = name_of(ix, chain[n]);
        size_t len = strlen(name);
        if ((size_t)pos + len + 2 > (size_t)size) {
            return -FDT_ERR_NOSPACE;
        }
        memcpy(buf + pos, name, len);
        pos += (int)len;
        if (n > 0) {
            buf[pos++] = '/';
        }
    }
    buf[pos] = '\0';
    return 0;
}

const void *config_getprop(const void *fdt, int node, const char *name, int *lenp)
{
    const struct fdt_index *ix = index_of(fdt);
    int e = ix ? entry_at(ix, node) : -1;

    if (e < 0) {
        return fdt_getprop(fdt, node, name, lenp);
    }
    /* The walk checked every tag, length and name offset up to FDT_END. */
    const char *st = (const char *)fdt + ix->off_struct;
    uint32_t off = (uint32_t)ix->node[e].props;
    for (;;) {
        uint32_t tag = be32_at(st + off);
        if (tag == FDT_NOP) {
            off += 4;
            continue;
        }
        if (tag != FDT_PROP) {
            break;
        }
        uint32_t len = be32_at(st + off + 4);
        if (strcmp(string_at(ix, be32_at(st + off + 8)), name) == 0) {
            if (lenp) {
                *lenp = (int)len;
            }
            return st + off + 12;
        }
        off = align4(off + 12 + len);
    }
    if (lenp) {
        *lenp = -FDT_ERR_NOTFOUND;
    }
    return NULL;
}

int config_next_compatible(const void *fdt, int from, const char *compat)
{
    const struct fdt_index *ix = index_of(fdt);

    if (!ix) {
        return fdt_node_offset_by_compatible(fdt, from, compat);
    }
    const char *st = (const char *)fdt + ix->off_struct;
    /* from is -1 (start at the root) or a node: the search starts after it, as libfdt's. */
    unsigned e = 0;
    if (from >= 0) {
        int f = entry_at(ix, from);
        if (f < 0) {
            return fdt_node_offset_by_compatible(fdt, from, compat);
        }
        e = (unsigned)f + 1;
    }
    for (; e < ix->nr; e++) {
        const struct index_node *n = &ix->node[e];
        if (n->compat >= 0 && fdt_stringlist_contains(st + n->compat, n->compat_len, compat)) {
            return n->offset;
        }
    }
    return -FDT_ERR_NOTFOUND;
}
