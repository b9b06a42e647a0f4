/* The tree's index (config/fdt_index.c): every answer equals libfdt's, on every test tree and
 * every node of it; broken trees are refused as fdt_check_full() refuses them; a tree edited in
 * place is walked again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "bulkhead/fdt_read.h"
#include "support/dtb_file.h"

static const char *const trees[] = {
    "qemu-virt-v3", "qemu-virt-v2", "qemu-virt-pt", "raspi4b",  "raspi4b-pm",
    "vms-xen",      "vms-many",     "check-clean",  "shmem-ok", "watchdog",
};

static void same_properties(const void *fdt, int node)
{
    int prop;

    fdt_for_each_property_offset(prop, fdt, node)
    {
        const char *name;
        int len, ours_len;
        const void *val = fdt_getprop_by_offset(fdt, prop, &name, &len);
        assert_ptr_equal(config_getprop(fdt, node, name, &ours_len), val);
        assert_int_equal(ours_len, len);
    }
    assert_null(config_getprop(fdt, node, "no-such-property", NULL));
}

static void same_node(const void *fdt, int node)
{
    char path[512], ours[512];
    int len;

    assert_int_equal(config_parent(fdt, node), fdt_parent_offset(fdt, node));
    assert_int_equal(config_first_child(fdt, node), fdt_first_subnode(fdt, node));
    if (node > 0) {
        assert_int_equal(config_next_child(fdt, node), fdt_next_subnode(fdt, node));
    }
    assert_string_equal(config_node_name(fdt, node), fdt_get_name(fdt, node, &len));
    assert_int_equal(fdt_get_path(fdt, node, path, sizeof(path)), 0);
    assert_int_equal(config_get_path(fdt, node, ours, sizeof(ours)), 0);
    assert_string_equal(ours, path);
    assert_int_equal(config_node_offset(fdt, path), fdt_path_offset(fdt, path));
    /* Too small a buffer: libfdt's answer, which callers fall back from. */
    assert_int_equal(config_get_path(fdt, node, ours, (int)strlen(path)),
                     fdt_get_path(fdt, node, path, (int)strlen(path)));
    same_properties(fdt, node);

    const char *compat = fdt_getprop(fdt, node, "compatible", NULL);
    if (compat) {
        assert_int_equal(config_next_compatible(fdt, -1, compat),
                         fdt_node_offset_by_compatible(fdt, -1, compat));
        assert_int_equal(config_next_compatible(fdt, node, compat),
                         fdt_node_offset_by_compatible(fdt, node, compat));
    }
}

static void test_same_answers_as_libfdt(void **state)
{
    (void)state;
    for (unsigned t = 0; t < sizeof(trees) / sizeof(trees[0]); t++) {
        void *fdt = dtb_load(trees[t], 0);
        int node;
        assert_int_equal(config_index_tree(fdt), 0);
        for (node = 0; node >= 0; node = fdt_next_node(fdt, node, NULL)) {
            same_node(fdt, node);
        }
        free(fdt);
    }
}

static void test_paths(void **state)
{
    void *fdt = dtb_load("qemu-virt-v3", 0);
    static const char *const paths[] = {
        "/",
        "/chosen",
        "/cpus/cpu@1",
        "/cpus/cpu",
        "/cpus//cpu@2",
        "/pl011",
        "/pl011@9000000",
        "/nosuch",
        "/cpus/nosuch",
        "/chosen/",
        "/memory@40000000/x",
        "//",
        "/cpus/cpu@1/",
    };
    (void)state;

    for (unsigned i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        assert_int_equal(config_node_offset(fdt, paths[i]), fdt_path_offset(fdt, paths[i]));
    }
    /* A path given by length, as stdout-path's before its options. */
    assert_int_equal(config_full_path_offset(fdt, "/pl011@9000000:115200", 14),
                     fdt_path_offset_namelen(fdt, "/pl011@9000000:115200", 14));
    free(fdt);
}

/* Every truncation and every byte flip of a small tree: refused exactly when libfdt refuses it,
 * and answered as libfdt answers when accepted. */
static void test_broken_trees_as_fdt_check_full(void **state)
{
    void *good = dtb_load("board-malformed", 0);
    uint32_t size = fdt_totalsize(good);
    uint8_t *fdt = malloc(size);
    (void)state;

    assert_non_null(fdt);
    for (uint32_t at = fdt_off_dt_struct(good); at < size; at++) {
        for (unsigned flip = 0; flip < 3; flip++) {
            static const uint8_t masks[] = {0x01, 0x80, 0xff};
            memcpy(fdt, good, size);
            fdt[at] ^= masks[flip];
            int want = fdt_check_full(fdt, size);
            int got = config_index_tree(fdt);
            assert_int_equal(got == 0, want == 0);
            if (want == 0) {
                for (int node = 0; node >= 0; node = fdt_next_node(fdt, node, NULL)) {
                    assert_int_equal(config_parent(fdt, node), fdt_parent_offset(fdt, node));
                }
            }
        }
    }
    free(fdt);
    free(good);
}

/* A tree edited in place: its header changes, and the next question walks it again. */
static void test_edited_tree_walked_again(void **state)
{
    void *fdt = dtb_load("qemu-virt-v3", 4096);
    (void)state;

    assert_int_equal(fdt_open_into(fdt, fdt, (int)fdt_totalsize(fdt) + 4096), 0);
    int chosen = config_node_offset(fdt, "/chosen");
    assert_true(chosen >= 0);
    int vm = fdt_add_subnode(fdt, 0, "aaa");
    assert_true(vm >= 0);
    assert_int_equal(config_node_offset(fdt, "/aaa"), vm);
    assert_int_equal(config_node_offset(fdt, "/chosen"), fdt_path_offset(fdt, "/chosen"));
    assert_int_equal(fdt_setprop_string(fdt, vm, "compatible", "bulkhead,test"), 0);
    assert_int_equal(config_next_compatible(fdt, -1, "bulkhead,test"), vm);
    assert_int_equal(fdt_del_node(fdt, vm), 0);
    assert_int_equal(config_node_offset(fdt, "/aaa"), -FDT_ERR_NOTFOUND);
    assert_int_equal(config_next_compatible(fdt, -1, "bulkhead,test"), -FDT_ERR_NOTFOUND);
    free(fdt);
}

/* More nodes than an index holds: libfdt answers. */
static void test_big_tree_left_to_libfdt(void **state)
{
    size_t size = 256 * 1024;
    void *fdt = malloc(size);
    char name[32];
    (void)state;

    assert_non_null(fdt);
    assert_int_equal(fdt_create_empty_tree(fdt, (int)size), 0);
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "n@%d", i);
        assert_true(fdt_add_subnode(fdt, 0, name) >= 0);
    }
    assert_int_equal(config_index_tree(fdt), 0);
    int last = fdt_path_offset(fdt, "/n@0");
    assert_int_equal(config_node_offset(fdt, "/n@0"), last);
    assert_int_equal(config_parent(fdt, last), 0);
    assert_int_equal(config_node_offset(fdt, "/n@999"), fdt_path_offset(fdt, "/n@999"));
    free(fdt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_answers_as_libfdt),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_broken_trees_as_fdt_check_full),
        cmocka_unit_test(test_edited_tree_walked_again),
        cmocka_unit_test(test_big_tree_left_to_libfdt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
