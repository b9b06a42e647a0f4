/*
 * The configuration checker (config/check.c): what the parsers do not look at on their own way
 * (unknown compatibles and properties under /chosen, with a "did you mean"), and one whole run of
 * every check over a DTB for the host tool (tools/check_config.c, `make check-config`). The
 * hypervisor runs check_chosen() at boot, before vmcfg_parse(): the same lines on its console.
 *
 * Every problem is one printk line, "error: <node path>: <problem>; <fix>" or "warning: ...":
 * an error is a configuration that does not do what it says (a VM refused or not even seen, a
 * setting lost to a typo), a warning something ignored. The host tool counts the lines.
 */
#ifndef BULKHEAD_CHECK_H
#define BULKHEAD_CHECK_H

#include "layout.h"

/* Levenshtein distance between two words, letters compared without case; a large number for
 * words longer than 64 characters. */
unsigned check_edit_distance(const char *a, const char *b);

/* The word of known[] nearest to word, if it is near enough to be a typo of it (1 edit for
 * words up to 4 characters, 2 up to 12, 3 beyond); NULL if none or if word is one of them. */
const char *check_did_you_mean(const char *word, const char *const *known, unsigned nr);

/*
 * The nodes of /chosen and of its VM nodes: a compatible that is nearly one of ours (or Xen's, or
 * a boot module's) is an error with the right spelling; properties of VM nodes and boot modules
 * that no reader knows are reported (an error when nearly a known one, a warning otherwise; Xen
 * properties Bulkhead does not implement: a warning); top-level modules that no VM takes are
 * reported. Prints every problem; returns the number of errors.
 */
unsigned check_chosen(const void *fdt);

/*
 * Gives the VM cfg its RAM from pool, as the hypervisor does (layout_default_memory() first).
 * Returns true and *pa, or false after "error: <node>: not enough free RAM ..." and the VM's
 * "VM not started" line.
 */
bool check_vm_ram(struct ram_pool *pool, const struct vm_config *cfg, paddr_t *pa);

/*
 * The bytes of a boot module, for the parsers that read one (Xen's partial device tree): on the
 * hypervisor, the module where the boot loader left it; NULL where it is not in memory (the host
 * tool, which has only the DTB), and then its contents are not checked.
 */
const void *check_module_contents(const struct vm_module *m);

/* Where the host tool assumes the hypervisor and its DTB are (see check_config()). */
struct check_options {
    uint64_t dtb_addr;    /* 0: where QEMU virt puts it, RAM + min(RAM / 2, 128 MiB) */
    struct mem_range hyp; /* size 0: RAM + CHECK_HYP_OFFSET, CHECK_HYP_SIZE bytes */
    /* A bundle loaded as the initramfs (docs/CONFIG.md, "Booting from a bundle"): its bytes
     * (NULL: none), its size and where the boot loader puts it (0: where QEMU virt does, RAM +
     * min(RAM / 2, 128 MiB); the DTB's default then follows it, 2 MiB-aligned, as QEMU puts it). */
    const void *initrd;
    uint64_t initrd_size;
    uint64_t initrd_addr;
};
#define CHECK_HYP_OFFSET 0x200000 /* the image's text_offset: QEMU and U-Boot load it there */
#define CHECK_HYP_SIZE 0x400000   /* the image, .bss and its tables, rounded up */

/* Where QEMU virt loads the DTB of a kernel with an Image header, on this board. */
uint64_t check_default_dtb_addr(const struct board *board);

/*
 * Every check the hypervisor makes before it starts VMs, on the DTB fdt (of fdt_totalsize bytes,
 * loaded at opt->dtb_addr): the board, the hypervisor's options, check_chosen(), every VM
 * (vmcfg_parse: modules against RAM, the hypervisor, the DTB and each other; CPUs and devices
 * claimed twice) and their RAM. Prints every problem. Returns the number of VMs that would start,
 * or -1 if the board itself is unusable.
 */
int check_config(const void *fdt, const struct check_options *opt);

#endif
