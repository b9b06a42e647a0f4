/*
 * A bundle: VMs from the one initramfs a boot loader can load (docs/CONFIG.md, "Booting from a
 * bundle"). The firmware (the Pi's `initramfs ... followkernel`, U-Boot's booti, QEMU's -initrd)
 * leaves a cpio newc archive in RAM and names it with /chosen's linux,initrd-start/-end. The
 * archive holds a device tree, BUNDLE_DESCRIPTION, whose /chosen (or a dtc overlay of /chosen)
 * has the VM nodes of docs/CONFIG.md, with modules that name a file of the archive
 * (BUNDLE_FILE_PROP) instead of a reg. Before the VMs are read, bundle_merge() copies the host DTB
 * and adds those nodes to its /chosen, each file turned into the reg of its bytes inside the loaded
 * archive: vmcfg_parse() then reads them as any other module. Pure C, host-tested.
 */
#ifndef BULKHEAD_BUNDLE_H
#define BULKHEAD_BUNDLE_H

#include "config.h"

#define BUNDLE_DESCRIPTION "bulkhead.dtb"
#define BUNDLE_FILE_PROP "bulkhead,file"
#define BUNDLE_MAX_FILES 64
/* The description is read from an 8-byte-aligned copy of at most this (libfdt's alignment). */
#define BUNDLE_DESCRIPTION_MAX KiB(32)
/* The copy of the host DTB with the bundle's nodes (el2/main.c, config/check.c). */
#define BUNDLE_FDT_COPY_MAX KiB(128)
/* A partial device tree is read where it lies: libfdt wants it 8-byte aligned. */
#define BUNDLE_FDT_ALIGN 8

/* A regular file of the archive. */
struct bundle_file {
    const char *name;    /* NUL-terminated, in the archive, leading "./" skipped */
    const uint8_t *data; /* inside the archive, as this code reads it */
    uint64_t pa;         /* where the data is in the machine's memory: the module's reg */
    uint64_t size;
    uint64_t offset;       /* of its header in the archive, for messages */
    uint64_t twice_offset; /* the header of a second entry of the same name; 0: none */
};

struct bundle {
    const uint8_t *base; /* the archive, as this code reads it */
    uint64_t size;
    /* Where the boot loader left it: base in the hypervisor, elsewhere in the host tool. */
    uint64_t pa;
    struct bundle_file files[BUNDLE_MAX_FILES];
    unsigned nr_files;
};

/*
 * Indexes the archive's regular files up to its "TRAILER!!!" entry. A bad magic, a malformed or
 * truncated entry ends the walk with an error naming it (its offset, its name when readable);
 * the files before it stay usable, so VMs that name only those still start. Returns 0 when the
 * whole archive was read, -1 otherwise (reported).
 */
int bundle_read(const void *archive, uint64_t size, uint64_t pa, struct bundle *b);

/* The file of that name ("./" prefixes skipped), or NULL. */
const struct bundle_file *bundle_find(const struct bundle *b, const char *name);

/*
 * Copies host_fdt into out (out_size bytes, 8-byte aligned) and adds every node of the
 * description's /chosen (or its overlay fragment for /chosen) to out's /chosen, in the
 * description's order and before the host's own nodes, each bulkhead,file replaced by a reg (in the
 * cells vmcfg_parse reads it with). A node with a problem (a file missing, in the archive twice, a
 * partial device tree not 8-byte aligned, a bulkhead,file beside a reg, a name the host's /chosen
 * already has, nesting deeper than 6 levels) is reported with its path and file and left out whole;
 * the others are merged. Returns the number of nodes merged, or -1 when out holds no usable tree
 * (no description, one that does not parse, out too small: reported), and then the host DTB is to
 * be used as it is.
 */
int bundle_merge(const struct bundle *b, const void *host_fdt, void *out, int out_size);

/*
 * The whole step at boot: when board->initrd is set, checks its range as a boot module's
 * (layout_check_module: in RAM, clear of *limits, the hypervisor and its DTB), reads it (its
 * bytes at initrd: where the hypervisor finds them, board->initrd.base; a copy in the host tool)
 * as a bundle and merges it into out, packed (its totalsize is what it holds). Returns out, or
 * host_fdt when there is no bundle or
 * nothing of it could be used (reported).
 */
const void *bundle_apply(const struct board *board, const struct module_limits *limits,
                         const void *initrd, const void *host_fdt, void *out, int out_size);

#endif
