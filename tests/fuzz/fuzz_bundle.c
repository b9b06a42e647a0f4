/*
 * A bundle as a boot loader leaves it (config/bundle.c): the input is the whole initramfs. The
 * archive's walk (bundle_read), every name looked up (bundle_find), then the merge of its
 * description into a copy of a small host tree (bundle_merge). None of it may crash or read
 * outside the input, which is copied into a buffer of exactly its size so that AddressSanitizer
 * sees any read past it.
 *
 * Checked besides "no crash": a merge that says it produced a tree produced a valid one
 * (fdt_check_full), and every file indexed lies inside the archive.
 */
#include <libfdt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulkhead/bundle.h"
#include "support/capture.h"

#define HOST_TREE 4096
#define LOAD_PA 0x48000000ull /* where QEMU virt puts an initrd */

static uint64_t host[HOST_TREE / 8];
static uint64_t out[BUNDLE_FDT_COPY_MAX / 8];
static struct bundle b;

/* A host tree with 2/2 cells and a /chosen holding one module, as QEMU's with a guest-loader. */
static void make_host(void)
{
    static const char compat[] = "multiboot,kernel\0multiboot,module";

    if (fdt_create_empty_tree(host, HOST_TREE) != 0 ||
        fdt_setprop_u32(host, 0, "#address-cells", 2) != 0 ||
        fdt_setprop_u32(host, 0, "#size-cells", 2) != 0) {
        abort();
    }
    int chosen = fdt_add_subnode(host, 0, "chosen");
    int module = chosen < 0 ? chosen : fdt_add_subnode(host, chosen, "module@44000000");
    if (module < 0 || fdt_setprop(host, module, "compatible", compat, sizeof(compat)) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *archive = malloc(size ? size : 1);

    if (!archive) {
        return 0;
    }
    memcpy(archive, data, size);
    if (fdt_magic(host) != FDT_MAGIC) {
        make_host();
    }
    capture_reset();
    bundle_read(archive, size, LOAD_PA, &b);
    for (unsigned i = 0; i < b.nr_files; i++) {
        const struct bundle_file *f = &b.files[i];
        if (f->data < archive || f->size > size || f->data + f->size > archive + size ||
            f->pa != LOAD_PA + (uint64_t)(f->data - archive) || bundle_find(&b, f->name) != f) {
            abort();
        }
    }
    if (bundle_merge(&b, host, out, sizeof(out)) >= 0 &&
        fdt_check_full(out, fdt_totalsize(out)) != 0) {
        abort();
    }
    free(archive);
    return 0;
}
