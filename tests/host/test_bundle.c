/*
 * Bundles (config/bundle.c): the cpio newc reader (files indexed, "./" skipped, truncation, bad
 * magic, a name twice) and the merge of the description into a copy of the host DTB (order,
 * reg in the module's cells, every error named while the other VMs are kept), then vmcfg_parse
 * over the result, as the hypervisor runs it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "bulkhead/bundle.h"
#include "bulkhead/check.h"
#include "bulkhead/config.h"
#include "support/capture.h"
#include "support/dtb_file.h"

#define ARCHIVE_MAX 65536
#define TREE_MAX 16384
#define OUT_MAX 65536
/* 110 header bytes and "TRAILER!!!" with its NUL, padded to 4. */
#define TRAILER_LEN 124
#define CPIO_HEADER 110

static const char kernel_compat[] = "multiboot,kernel\0multiboot,module";
static const char ramdisk_compat[] = "multiboot,ramdisk\0multiboot,module";
static const char dt_compat[] = "multiboot,device-tree\0multiboot,module";

/* An archive being written: 8-byte aligned, as a boot loader loads it. */
static uint64_t archive_buf[ARCHIVE_MAX / 8];
static size_t archive_len;
static uint64_t out_buf[OUT_MAX / 8];
static uint64_t desc_buf[TREE_MAX / 8];
static uint64_t host_buf[TREE_MAX / 8];
static struct bundle b;

static uint8_t *archive(void)
{
    return (uint8_t *)archive_buf;
}

static void put_entry(const char *name, const void *data, size_t size, unsigned mode)
{
    size_t namesize = strlen(name) + 1;
    char header[160];

    snprintf(header, sizeof(header), "070701%08x%08x%08x%08x%08x%08x%08zx%08x%08x%08x%08x%08zx%08x",
             1u, mode, 0u, 0u, 1u, 0u, size, 0u, 0u, 0u, 0u, namesize, 0u);
    assert_true(archive_len + 110 + namesize + size + 8 <= ARCHIVE_MAX);
    memcpy(archive() + archive_len, header, 110);
    memcpy(archive() + archive_len + 110, name, namesize);
    archive_len = (archive_len + 110 + namesize + 3) & ~(size_t)3;
    memcpy(archive() + archive_len, data, size);
    archive_len = (archive_len + size + 3) & ~(size_t)3;
}

static void put_file(const char *name, const void *data, size_t size)
{
    put_entry(name, data, size, 0100644);
}

static void put_trailer(void)
{
    put_entry("TRAILER!!!", "", 0, 0);
}

/* ---- trees ---- */

static void *desc(void)
{
    return desc_buf;
}

/* Adds name under parent's path; the node's offset. */
static int add_node(void *fdt, const char *parent, const char *name)
{
    int p = fdt_path_offset(fdt, parent);

    assert_true(p >= 0);
    int n = fdt_add_subnode(fdt, p, name);
    assert_true(n >= 0);
    return n;
}

static void set_string(void *fdt, const char *path, const char *prop, const char *value)
{
    assert_int_equal(fdt_setprop_string(fdt, fdt_path_offset(fdt, path), prop, value), 0);
}

static void set_u32(void *fdt, const char *path, const char *prop, uint32_t value)
{
    assert_int_equal(fdt_setprop_u32(fdt, fdt_path_offset(fdt, path), prop, value), 0);
}

static void set_compat(void *fdt, const char *path, const char *list, size_t len)
{
    assert_int_equal(fdt_setprop(fdt, fdt_path_offset(fdt, path), "compatible", list, (int)len), 0);
}

/* A description with an empty /chosen. */
static void desc_start(void)
{
    assert_int_equal(fdt_create_empty_tree(desc(), TREE_MAX), 0);
    add_node(desc(), "/", "chosen");
}

/* Adds a bulkhead,vm node with a kernel (and a ramdisk when rd is not NULL) named by file.
 * Nodes are added first in their parent: add VMs in reverse order. */
static void desc_vm(const char *name, const char *kernel, const char *rd)
{
    char path[64], mod[96];

    add_node(desc(), "/chosen", name);
    snprintf(path, sizeof(path), "/chosen/%s", name);
    set_string(desc(), path, "compatible", "bulkhead,vm");
    set_u32(desc(), path, "memory-size", 0x8000000);
    set_u32(desc(), path, "cpus", 1);
    if (rd) {
        add_node(desc(), path, "ramdisk");
        snprintf(mod, sizeof(mod), "%s/ramdisk", path);
        set_compat(desc(), mod, ramdisk_compat, sizeof(ramdisk_compat));
        set_string(desc(), mod, BUNDLE_FILE_PROP, rd);
    }
    add_node(desc(), path, "kernel");
    snprintf(mod, sizeof(mod), "%s/kernel", path);
    set_compat(desc(), mod, kernel_compat, sizeof(kernel_compat));
    set_string(desc(), mod, BUNDLE_FILE_PROP, kernel);
    set_string(desc(), mod, "bootargs", "console=ttyAMA0");
}

static void put_desc(void)
{
    assert_int_equal(fdt_pack(desc()), 0);
    put_file("./" BUNDLE_DESCRIPTION, desc(), fdt_totalsize(desc()));
}

/* A host tree with 2/2 cells and a /chosen holding one node, "module@0". */
static void *host(void)
{
    void *fdt = host_buf;

    assert_int_equal(fdt_create_empty_tree(fdt, TREE_MAX), 0);
    set_u32(fdt, "/", "#address-cells", 2);
    set_u32(fdt, "/", "#size-cells", 2);
    add_node(fdt, "/", "chosen");
    add_node(fdt, "/chosen", "module@0");
    return fdt;
}

static const uint8_t kernel_a[] = "kernel A: any bytes";
static const uint8_t kernel_b[] = "kernel B, a little longer";
static const uint8_t initrd_a[] = "initrd";

/* The usual archive: the description first, then the files, then the trailer. */
static void standard_archive(void)
{
    archive_len = 0;
    put_desc();
    put_entry(".", "", 0, 040755);
    put_entry("linux", "", 0, 040755);
    put_file("linux/Image", kernel_a, sizeof(kernel_a));
    put_file("./linux/initrd", initrd_a, sizeof(initrd_a));
    put_file("demo.bin", kernel_b, sizeof(kernel_b));
    put_trailer();
}

static int merge(void)
{
    capture_reset();
    assert_int_equal(bundle_read(archive(), archive_len, (uintptr_t)archive(), &b), 0);
    return bundle_merge(&b, host(), out_buf, OUT_MAX);
}

/* reg of a module in the merged tree, read as 2/2 cells. */
static void assert_reg(const char *path, const void *data, uint64_t size)
{
    int len;
    const fdt32_t *reg = fdt_getprop(out_buf, fdt_path_offset(out_buf, path), "reg", &len);

    assert_non_null(reg);
    assert_int_equal(len, 16);
    assert_int_equal(((uint64_t)fdt32_to_cpu(reg[0]) << 32) | fdt32_to_cpu(reg[1]),
                     (uint64_t)(uintptr_t)data);
    assert_int_equal(((uint64_t)fdt32_to_cpu(reg[2]) << 32) | fdt32_to_cpu(reg[3]), size);
    assert_null(fdt_getprop(out_buf, fdt_path_offset(out_buf, path), BUNDLE_FILE_PROP, NULL));
}

/* ---- the archive ---- */

static void test_read_indexes_regular_files(void **state)
{
    (void)state;
    desc_start();
    standard_archive();
    capture_reset();
    assert_int_equal(bundle_read(archive(), archive_len, (uintptr_t)archive(), &b), 0);
    assert_int_equal(b.nr_files, 4); /* directories are not files */
    const struct bundle_file *f = bundle_find(&b, "linux/Image");
    assert_non_null(f);
    assert_int_equal(f->size, sizeof(kernel_a));
    assert_memory_equal(f->data, kernel_a, sizeof(kernel_a));
    assert_true(((uintptr_t)f->data & 3) == 0);
    /* "./" is skipped on both sides. */
    assert_ptr_equal(bundle_find(&b, "./linux/initrd"), bundle_find(&b, "linux/initrd"));
    assert_non_null(bundle_find(&b, BUNDLE_DESCRIPTION));
    assert_null(bundle_find(&b, "linux"));
    assert_string_equal(capture_text(), "");
}

static void test_truncated_archive_keeps_what_came_before(void **state)
{
    (void)state;
    desc_start();
    standard_archive();
    const struct bundle_file *f;
    assert_int_equal(bundle_read(archive(), archive_len, (uintptr_t)archive(), &b), 0);
    f = bundle_find(&b, "demo.bin");
    size_t cut = (size_t)(f->data - archive()) + 3; /* inside demo.bin's data */

    capture_reset();
    assert_int_equal(bundle_read(archive(), cut, (uintptr_t)archive(), &b), -1);
    assert_true(capture_contains("(\"demo.bin\"): truncated data"));
    assert_null(bundle_find(&b, "demo.bin"));
    assert_non_null(bundle_find(&b, "linux/Image"));

    /* Cut inside a header, and right after an entry (no trailer). */
    capture_reset();
    assert_int_equal(bundle_read(archive(), (size_t)f->offset + 50, (uintptr_t)archive(), &b), -1);
    assert_true(capture_contains("truncated header"));
    capture_reset();
    assert_int_equal(bundle_read(archive(), archive_len - TRAILER_LEN, (uintptr_t)archive(), &b),
                     -1);
    assert_true(capture_contains("the archive ends before its TRAILER!!!"));
    assert_non_null(bundle_find(&b, "demo.bin"));
}

static void test_bad_magic_named(void **state)
{
    (void)state;
    desc_start();
    standard_archive();
    archive()[1] = 'X';
    capture_reset();
    assert_int_equal(bundle_read(archive(), archive_len, (uintptr_t)archive(), &b), -1);
    assert_true(capture_contains("entry at offset 0x0: bad magic, not a cpio newc header"));
    assert_int_equal(b.nr_files, 0);

    /* Further on: the files before it are kept. */
    standard_archive();
    assert_int_equal(bundle_read(archive(), archive_len, (uintptr_t)archive(), &b), 0);
    const struct bundle_file *f = bundle_find(&b, "demo.bin");
    size_t header = (size_t)f->offset;
    archive()[header] = 'Z';
    capture_reset();
    assert_int_equal(bundle_read(archive(), archive_len, (uintptr_t)archive(), &b), -1);
    char expect[64];
    snprintf(expect, sizeof(expect), "entry at offset 0x%zx: bad magic", header);
    assert_true(capture_contains(expect));
    assert_non_null(bundle_find(&b, "linux/Image"));
    assert_null(bundle_find(&b, "demo.bin"));
}

static void test_compressed_archive_named(void **state)
{
    (void)state;
    static const uint8_t gzip[CPIO_HEADER] = {0x1f, 0x8b, 0x08};

    memcpy(archive(), gzip, sizeof(gzip));
    capture_reset();
    assert_int_equal(bundle_read(archive(), sizeof(gzip), 0x48000000, &b), -1);
    assert_true(capture_contains("error: bundle at 0x48000000: entry at offset 0x0: bad magic: "
                                 "gzip-compressed"));
}

static void test_bad_name_size_named(void **state)
{
    (void)state;
    archive_len = 0;
    put_file("a", "x", 1);
    put_trailer();
    memcpy(archive() + 6 + 11 * 8, "00000009", 8); /* namesize past "a\0" */
    capture_reset();
    assert_int_equal(bundle_read(archive(), archive_len, (uintptr_t)archive(), &b), -1);
    assert_true(capture_contains("its name is not one NUL-terminated string"));
}

/* ---- the merge ---- */

static void test_merge_in_order_with_regs(void **state)
{
    (void)state;
    desc_start();
    desc_vm("beta", "demo.bin", NULL);
    desc_vm("alpha", "linux/Image", "./linux/initrd");
    standard_archive();
    assert_int_equal(merge(), 2);
    assert_string_equal(capture_text(), "");

    int chosen = fdt_path_offset(out_buf, "/chosen");
    int first = fdt_first_subnode(out_buf, chosen);
    assert_string_equal(fdt_get_name(out_buf, first, NULL), "alpha");
    int second = fdt_next_subnode(out_buf, first);
    assert_string_equal(fdt_get_name(out_buf, second, NULL), "beta");
    assert_string_equal(fdt_get_name(out_buf, fdt_next_subnode(out_buf, second), NULL), "module@0");
    /* Modules in the VM's order: kernel, then ramdisk, as the description has them. */
    int k = fdt_first_subnode(out_buf, first);
    assert_string_equal(fdt_get_name(out_buf, k, NULL), "kernel");
    assert_string_equal(fdt_get_name(out_buf, fdt_next_subnode(out_buf, k), NULL), "ramdisk");

    assert_reg("/chosen/alpha/kernel", bundle_find(&b, "linux/Image")->data, sizeof(kernel_a));
    assert_reg("/chosen/alpha/ramdisk", bundle_find(&b, "linux/initrd")->data, sizeof(initrd_a));
    assert_reg("/chosen/beta/kernel", bundle_find(&b, "demo.bin")->data, sizeof(kernel_b));
    assert_string_equal(
        fdt_getprop(out_buf, fdt_path_offset(out_buf, "/chosen/alpha/kernel"), "bootargs", NULL),
        "console=ttyAMA0");
}

/* The host tool reads a copy of the archive: regs are where the boot loader puts it. */
static void test_regs_at_the_load_address(void **state)
{
    (void)state;
    desc_start();
    desc_vm("alpha", "linux/Image", NULL);
    standard_archive();
    capture_reset();
    assert_int_equal(bundle_read(archive(), archive_len, 0x48000000, &b), 0);
    assert_int_equal(bundle_merge(&b, host(), out_buf, OUT_MAX), 1);
    const struct bundle_file *f = bundle_find(&b, "linux/Image");
    assert_int_equal(f->pa, 0x48000000 + (uint64_t)(f->data - archive()));
    assert_reg("/chosen/alpha/kernel", (const void *)(uintptr_t)f->pa, sizeof(kernel_a));
}

static void test_missing_file_named_others_merged(void **state)
{
    (void)state;
    desc_start();
    desc_vm("beta", "demo.bin", NULL);
    desc_vm("alpha", "linux/Image", "linux/initrd.gz");
    standard_archive();
    assert_int_equal(merge(), 1);
    assert_true(capture_contains("error: /chosen/alpha/ramdisk: file \"linux/initrd.gz\" is not in "
                                 "the bundle's archive"));
    assert_true(capture_contains("bulkhead: /chosen/alpha: VM not started"));
    assert_true(fdt_path_offset(out_buf, "/chosen/alpha") < 0);
    assert_reg("/chosen/beta/kernel", bundle_find(&b, "demo.bin")->data, sizeof(kernel_b));
}

static void test_file_twice_named(void **state)
{
    (void)state;
    desc_start();
    desc_vm("beta", "demo.bin", NULL);
    desc_vm("alpha", "linux/Image", NULL);
    standard_archive();
    archive_len -= TRAILER_LEN; /* the trailer, put back after a second linux/Image */
    put_file("./linux/Image", kernel_b, sizeof(kernel_b));
    put_trailer();
    assert_int_equal(merge(), 1);
    assert_true(capture_contains("error: /chosen/alpha/kernel: file \"linux/Image\" is in the "
                                 "bundle's archive twice"));
    assert_true(capture_contains("bulkhead: /chosen/alpha: VM not started"));
    assert_true(fdt_path_offset(out_buf, "/chosen/beta") >= 0);
}

static void test_file_and_reg_named(void **state)
{
    (void)state;
    desc_start();
    desc_vm("beta", "demo.bin", NULL);
    desc_vm("alpha", "linux/Image", NULL);
    uint32_t reg[4] = {0, cpu_to_fdt32(0x48000000), 0, cpu_to_fdt32(0x1000)};
    assert_int_equal(fdt_setprop(desc(), fdt_path_offset(desc(), "/chosen/alpha/kernel"), "reg",
                                 reg, sizeof(reg)),
                     0);
    standard_archive();
    assert_int_equal(merge(), 1);
    assert_true(capture_contains("error: /chosen/alpha/kernel: both bulkhead,file \"linux/Image\" "
                                 "and a reg"));
    assert_true(capture_contains("bulkhead: /chosen/alpha: VM not started"));
    assert_true(fdt_path_offset(out_buf, "/chosen/beta") >= 0);
}

/* A tree can hold a property name twice: each is checked, none read unchecked (found by
 * fuzz_bundle: the copy took the second one's file, which the checks had not seen). */
static void test_file_property_twice_named(void **state)
{
    (void)state;
    desc_start();
    desc_vm("beta", "demo.bin", NULL);
    desc_vm("alpha", "linux/Image", NULL);
    int kernel = fdt_path_offset(desc(), "/chosen/alpha/kernel");
    uint32_t nameoff =
        fdt32_to_cpu(fdt_get_property(desc(), kernel, BUNDLE_FILE_PROP, NULL)->nameoff);
    assert_int_equal(fdt_setprop_string(desc(), kernel, "bulkhead,fil2", "other.bin"), 0);
    fdt_get_property_w(desc(), kernel, "bulkhead,fil2", NULL)->nameoff = cpu_to_fdt32(nameoff);
    standard_archive();
    assert_int_equal(merge(), 1);
    assert_true(capture_contains("error: /chosen/alpha/kernel: more than one bulkhead,file"));
    assert_true(capture_contains("error: /chosen/alpha/kernel: file \"other.bin\" is not in"));
    assert_true(capture_contains("bulkhead: /chosen/alpha: VM not started"));
    assert_true(fdt_path_offset(out_buf, "/chosen/beta") >= 0);
}

/* Checks and copy recurse: a deep description is refused before either goes too far. */
static void test_deep_description_named(void **state)
{
    (void)state;
    char path[128] = "/chosen/alpha/kernel";

    desc_start();
    desc_vm("beta", "demo.bin", NULL);
    desc_vm("alpha", "linux/Image", NULL);
    for (int i = 0; i < 5; i++) {
        add_node(desc(), path, "deeper");
        strcat(path, "/deeper");
    }
    standard_archive();
    assert_int_equal(merge(), 1);
    assert_true(capture_contains("error: /chosen/alpha/kernel/deeper/deeper/deeper/deeper/deeper: "
                                 "nested more than 6 levels below /chosen"));
    assert_true(capture_contains("bulkhead: /chosen/alpha: VM not started"));
    assert_true(fdt_path_offset(out_buf, "/chosen/beta") >= 0);
}

static void test_description_that_does_not_parse(void **state)
{
    (void)state;
    archive_len = 0;
    put_file(BUNDLE_DESCRIPTION, "not a device tree at all, just text", 36);
    put_file("demo.bin", kernel_b, sizeof(kernel_b));
    put_trailer();
    assert_int_equal(merge(), -1);
    assert_true(capture_contains("bulkhead.dtb does not parse as a device tree"));

    /* A real tree cut short. */
    desc_start();
    desc_vm("alpha", "demo.bin", NULL);
    assert_int_equal(fdt_pack(desc()), 0);
    archive_len = 0;
    put_file(BUNDLE_DESCRIPTION, desc(), fdt_totalsize(desc()) - 8);
    put_trailer();
    assert_int_equal(merge(), -1);
    assert_true(capture_contains("bulkhead.dtb does not parse as a device tree"));

    /* An older format than dtc writes (libfdt's full check is not safe on those). */
    fdt_set_version(desc(), 16);
    archive_len = 0;
    put_file(BUNDLE_DESCRIPTION, desc(), fdt_totalsize(desc()));
    put_trailer();
    assert_int_equal(merge(), -1);
    assert_true(
        capture_contains("bulkhead.dtb does not parse as a device tree (FDT_ERR_BADVERSION)"));
}

/* dtc's overlay form: `/plugin/; &{/chosen} { vm { ... }; };`. */
static void test_overlay_description(void **state)
{
    (void)state;
    assert_int_equal(fdt_create_empty_tree(desc(), TREE_MAX), 0);
    add_node(desc(), "/", "fragment@0");
    set_string(desc(), "/fragment@0", "target-path", "/chosen");
    add_node(desc(), "/fragment@0", "__overlay__");
    int overlay = fdt_path_offset(desc(), "/fragment@0/__overlay__");
    assert_true(fdt_add_subnode(desc(), overlay, "alpha") >= 0);
    set_string(desc(), "/fragment@0/__overlay__/alpha", "compatible", "bulkhead,vm");
    add_node(desc(), "/fragment@0/__overlay__/alpha", "kernel");
    set_compat(desc(), "/fragment@0/__overlay__/alpha/kernel", kernel_compat,
               sizeof(kernel_compat));
    set_string(desc(), "/fragment@0/__overlay__/alpha/kernel", BUNDLE_FILE_PROP, "demo.bin");
    standard_archive();
    assert_int_equal(merge(), 1);
    assert_reg("/chosen/alpha/kernel", bundle_find(&b, "demo.bin")->data, sizeof(kernel_b));

    set_string(desc(), "/fragment@0", "target-path", "/memory");
    standard_archive();
    assert_int_equal(merge(), -1);
    assert_true(capture_contains("has no /chosen, nor an overlay fragment for it"));
}

static void test_no_description(void **state)
{
    (void)state;
    archive_len = 0;
    put_file("demo.bin", kernel_b, sizeof(kernel_b));
    put_trailer();
    assert_int_equal(merge(), -1);
    assert_true(capture_contains("no bulkhead.dtb in the archive"));
}

static void test_name_clash_with_host_node(void **state)
{
    (void)state;
    desc_start();
    desc_vm("module@0", "demo.bin", NULL);
    desc_vm("alpha", "linux/Image", NULL);
    standard_archive();
    assert_int_equal(merge(), 1);
    assert_true(capture_contains("error: /chosen/module@0: the host DTB's /chosen has a node of "
                                 "that name too"));
    assert_true(fdt_path_offset(out_buf, "/chosen/alpha") >= 0);
}

/* Xen's domain nodes often say 1/1 cells: the reg is written in them. */
static void test_reg_in_the_vm_nodes_cells(void **state)
{
    (void)state;
    desc_start();
    desc_vm("alpha", "linux/Image", NULL);
    set_string(desc(), "/chosen/alpha", "compatible", "xen,domain");
    set_u32(desc(), "/chosen/alpha", "#address-cells", 1);
    set_u32(desc(), "/chosen/alpha", "#size-cells", 1);
    standard_archive();
    const uint8_t *data;
    capture_reset();
    assert_int_equal(bundle_read(archive(), archive_len, (uintptr_t)archive(), &b), 0);
    data = bundle_find(&b, "linux/Image")->data;
    int merged = bundle_merge(&b, host(), out_buf, OUT_MAX);
    if ((uintptr_t)data > UINT32_MAX) {
        assert_int_equal(merged, 0);
        assert_true(capture_contains("error: /chosen/alpha: cannot be added to the hypervisor's "
                                     "copy of the DTB (an address or size does not fit"));
        assert_true(fdt_path_offset(out_buf, "/chosen/alpha") < 0);
    } else {
        int len;
        assert_int_equal(merged, 1);
        fdt_getprop(out_buf, fdt_path_offset(out_buf, "/chosen/alpha/kernel"), "reg", &len);
        assert_int_equal(len, 8);
    }
}

/* A partial device tree is read in place by libfdt: its data must be 8-byte aligned. */
static void test_misaligned_device_tree_named(void **state)
{
    (void)state;
    static const char *const names[] = {"p.dtb", "pp.dtb", "ppp.dtb", "pppp.dtb"};
    desc_start();
    desc_vm("beta", "demo.bin", NULL);
    desc_vm("alpha", "linux/Image", NULL);
    int alpha = fdt_path_offset(desc(), "/chosen/alpha");
    assert_true(fdt_add_subnode(desc(), alpha, "devices") >= 0);
    set_compat(desc(), "/chosen/alpha/devices", dt_compat, sizeof(dt_compat));
    for (unsigned i = 0; i < 4; i++) {
        set_string(desc(), "/chosen/alpha/devices", BUNDLE_FILE_PROP, names[i]);
        standard_archive();
        archive_len -= TRAILER_LEN;
        put_file(names[i], host(), 64);
        put_trailer();
        assert_int_equal(bundle_read(archive(), archive_len, (uintptr_t)archive(), &b), 0);
        if ((uintptr_t)bundle_find(&b, names[i])->data & 7) {
            assert_int_equal(merge(), 1);
            assert_true(capture_contains("error: /chosen/alpha/devices: device tree"));
            assert_true(capture_contains("is not 8-byte aligned"));
            assert_true(capture_contains("bulkhead: /chosen/alpha: VM not started"));
            return;
        }
    }
    fail_msg("no name gave a misaligned file");
}

static void test_host_copy_too_small(void **state)
{
    (void)state;
    desc_start();
    desc_vm("alpha", "linux/Image", NULL);
    standard_archive();
    capture_reset();
    assert_int_equal(bundle_read(archive(), archive_len, (uintptr_t)archive(), &b), 0);
    assert_int_equal(bundle_merge(&b, host(), out_buf, 64), -1);
    assert_true(capture_contains("the host DTB cannot be copied"));
}

/* ---- end to end: the board's initrd, bundle_apply, vmcfg_parse ---- */

static void test_apply_then_vmcfg_parse(void **state)
{
    (void)state;
    static struct board board;
    static struct vm_config vms[MAX_VMS];
    const struct module_limits limits = {{0, 0}, {0, 0}};
    struct vm_defaults defaults = {0};
    void *fdt = dtb_load("qemu-virt-v3", 4096);

    /* The firmware's initrd range: reserved, and read as the bundle. */
    desc_start();
    desc_vm("beta", "demo.bin", NULL);
    desc_vm("alpha", "linux/Image", "linux/initrd");
    standard_archive();
    assert_int_equal(fdt_open_into(fdt, fdt, (int)fdt_totalsize(fdt) + 4096), 0);
    int chosen = fdt_path_offset(fdt, "/chosen");
    assert_int_equal(fdt_setprop_u64(fdt, chosen, "linux,initrd-start", (uintptr_t)archive()), 0);
    assert_int_equal(
        fdt_setprop_u64(fdt, chosen, "linux,initrd-end", (uintptr_t)archive() + archive_len), 0);
    assert_int_equal(board_parse(fdt, &board), 0);
    assert_int_equal(board.initrd.base, (uintptr_t)archive());
    assert_int_equal(board.initrd.size, archive_len);
    bool reserved = false;
    for (unsigned i = 0; i < board.nr_reserved; i++) {
        reserved |=
            board.reserved[i].base == (uintptr_t)archive() && board.reserved[i].size == archive_len;
    }
    assert_true(reserved);

    /* The test's archive is in the test's memory: make that the board's RAM. */
    board.ram[0].base = 0;
    board.ram[0].size = 1ULL << 47;
    board.nr_ram = 1;
    capture_reset();
    const void *merged = bundle_apply(&board, NULL, archive(), fdt, out_buf, OUT_MAX);
    assert_ptr_equal(merged, out_buf);
    unsigned n = vmcfg_parse(merged, &board, &defaults, &limits, vms);
    /* The two of the bundle first, then the host tree's two guest-loader kernels. */
    assert_int_equal(n, 2 + 2);
    assert_int_equal(bundle_read(archive(), archive_len, (uintptr_t)archive(), &b),
                     0); /* what bundle_apply read */
    assert_string_equal(vms[0].name, "alpha");
    assert_int_equal(vms[0].kernel.base, (uintptr_t)bundle_find(&b, "linux/Image")->data);
    assert_int_equal(vms[0].kernel.size, sizeof(kernel_a));
    assert_int_equal(vms[0].ramdisk.size, sizeof(initrd_a));
    assert_string_equal(vms[0].bootargs, "console=ttyAMA0");
    assert_string_equal(vms[1].name, "beta");
    assert_int_equal(vms[1].kernel.size, sizeof(kernel_b));
    free(fdt);
}

static void test_apply_without_initrd_or_with_garbage(void **state)
{
    (void)state;
    static struct board board;

    memset(&board, 0, sizeof(board));
    capture_reset();
    assert_ptr_equal(bundle_apply(&board, NULL, archive(), host(), out_buf, OUT_MAX), host_buf);
    assert_string_equal(capture_text(), "");

    memset(archive(), 0x1f, 256); /* a gzip-like start: no cpio */
    board.initrd.base = (uintptr_t)archive();
    board.initrd.size = 256;
    board.ram[0].size = 1ULL << 47;
    board.nr_ram = 1;
    assert_ptr_equal(bundle_apply(&board, NULL, archive(), host(), out_buf, OUT_MAX), host_buf);
    assert_true(capture_contains("bad magic"));
    assert_true(capture_contains("no bulkhead.dtb in the archive"));
}

/* An initrd where nothing may be read (outside RAM, over the hypervisor's .bss, which boot
 * zeroes, or over the DTB) is refused before a byte of it is read. */
static void test_apply_refuses_a_misplaced_initrd(void **state)
{
    (void)state;
    static struct board board;
    const struct module_limits limits = {.hyp = {0x40200000, 0x400000}, .dtb = {0x4a400000, 4096}};

    memset(&board, 0, sizeof(board));
    board.ram[0].base = 0x40000000;
    board.ram[0].size = 0x40000000;
    board.nr_ram = 1;
    board.initrd.base = 0x40500000;
    board.initrd.size = 0x100000;
    capture_reset();
    /* initrd NULL: reading it would crash the test. */
    assert_ptr_equal(bundle_apply(&board, &limits, NULL, host(), out_buf, OUT_MAX), host_buf);
    assert_true(capture_contains("error: /chosen: initrd (bundle) module 0x40500000+0x100000 "
                                 "overlaps the hypervisor (0x40200000+0x400000); load it above "
                                 "0x40600000"));
    assert_true(capture_contains("error: bundle at 0x40500000: not read: no VM from it"));

    board.initrd.base = 0xc0000000;
    capture_reset();
    assert_ptr_equal(bundle_apply(&board, &limits, NULL, host(), out_buf, OUT_MAX), host_buf);
    assert_true(capture_contains("lies outside RAM"));
}

/* The host tool's run (check_config) reads a copy of the bundle, placed where the loader will. */
static void test_check_config_with_bundle(void **state)
{
    (void)state;
    void *fdt = dtb_load("qemu-virt-v3", 0);
    struct check_options opt = {.initrd_addr = 0x60000000};

    desc_start();
    desc_vm("beta", "demo.bin", NULL);
    desc_vm("alpha", "linux/Image", "linux/initrd");
    standard_archive();
    opt.initrd = archive();
    opt.initrd_size = archive_len;
    capture_reset();
    /* The bundle's two VMs, then the host tree's two guest-loader kernels. */
    assert_int_equal(check_config(fdt, &opt), 4);
    assert_true(capture_contains("bulkhead: bundle at 0x60000000"));
    assert_false(capture_contains("error: "));

    desc_start();
    desc_vm("beta", "demo.bin", NULL);
    desc_vm("alpha", "linux/Image", "linux/initrd.gz");
    standard_archive();
    opt.initrd_size = archive_len;
    capture_reset();
    assert_int_equal(check_config(fdt, &opt), 3);
    assert_true(capture_contains("error: /chosen/alpha/ramdisk: file \"linux/initrd.gz\""));
    free(fdt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_indexes_regular_files),
        cmocka_unit_test(test_truncated_archive_keeps_what_came_before),
        cmocka_unit_test(test_bad_magic_named),
        cmocka_unit_test(test_compressed_archive_named),
        cmocka_unit_test(test_bad_name_size_named),
        cmocka_unit_test(test_merge_in_order_with_regs),
        cmocka_unit_test(test_regs_at_the_load_address),
        cmocka_unit_test(test_missing_file_named_others_merged),
        cmocka_unit_test(test_file_twice_named),
        cmocka_unit_test(test_file_and_reg_named),
        cmocka_unit_test(test_file_property_twice_named),
        cmocka_unit_test(test_deep_description_named),
        cmocka_unit_test(test_description_that_does_not_parse),
        cmocka_unit_test(test_overlay_description),
        cmocka_unit_test(test_no_description),
        cmocka_unit_test(test_name_clash_with_host_node),
        cmocka_unit_test(test_reg_in_the_vm_nodes_cells),
        cmocka_unit_test(test_misaligned_device_tree_named),
        cmocka_unit_test(test_host_copy_too_small),
        cmocka_unit_test(test_apply_then_vmcfg_parse),
        cmocka_unit_test(test_apply_without_initrd_or_with_garbage),
        cmocka_unit_test(test_apply_refuses_a_misplaced_initrd),
        cmocka_unit_test(test_check_config_with_bundle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
