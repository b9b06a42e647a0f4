/* vmcfg_parse(): our binding, Xen's dom0less, QEMU's guest-loader, defaults, pinning, mistakes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "bulkhead/config.h"
#include "support/capture.h"
#include "support/dtb_file.h"

#define SLACK 4096 /* room for the edits some tests make */

static struct board board;
static struct vm_config vms[MAX_VMS];
static void *fdt;
/* Where the hypervisor (image to __image_end) and the host DTB are, as on QEMU virt: clear of
 * every module of the test trees. */
static const struct module_limits limits = {.hyp = {0x40200000, 0x2fb000},
                                            .dtb = {0x7fe00000, 0x100000}};

static int setup(void **state)
{
    (void)state;
    fdt = NULL;
    memset(vms, 0xa5, sizeof(vms)); /* whatever vmcfg_parse does not set shows */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(fdt);
    return 0;
}

/* Loads a test tree (kept in the global for edits) and its board. */
static void load(const char *name)
{
    fdt = dtb_load(name, SLACK);
    assert_int_equal(fdt_open_into(fdt, fdt, (int)fdt_totalsize(fdt) + SLACK), 0);
    assert_int_equal(board_parse(fdt, &board), 0);
}

static unsigned parse(uint64_t mem_size, unsigned nr_vcpus)
{
    struct vm_defaults defaults = {.mem_size = mem_size, .nr_vcpus = nr_vcpus};

    capture_reset();
    return vmcfg_parse(fdt, &board, &defaults, &limits, vms);
}

static void assert_pcpus(const struct vm_config *vm, unsigned n, const uint8_t *expected)
{
    assert_int_equal(vm->nr_vcpus, n);
    assert_memory_equal(vm->pcpu, expected, n);
}

static int node(const char *path)
{
    int off = fdt_path_offset(fdt, path);

    assert_true(off >= 0);
    return off;
}

static void test_explicit_nodes(void **state)
{
    (void)state;
    load("vms-explicit");
    assert_int_equal(parse(0, 0), 3);

    assert_string_equal(vms[0].name, "alpha");
    assert_string_equal(vms[0].node, "/chosen/vm@0");
    assert_int_equal(vms[0].mem_size, 256 << 20);
    assert_pcpus(&vms[0], 2, (const uint8_t[]){2, 3});
    assert_int_equal(vms[0].kernel.base, 0x48000000);
    assert_int_equal(vms[0].kernel.size, 0x200000);
    assert_int_equal(vms[0].ramdisk.base, 0x49000000);
    assert_int_equal(vms[0].ramdisk.size, 0x100000);
    assert_string_equal(vms[0].bootargs, "console=ttyAMA0 root=/dev/ram");

    /* 1 + 1 cells, no name, bootargs from the VM node, the first free CPU. */
    assert_string_equal(vms[1].name, "vm@1");
    assert_int_equal(vms[1].mem_size, 128 << 20);
    assert_pcpus(&vms[1], 1, (const uint8_t[]){0});
    assert_int_equal(vms[1].kernel.base, 0x4a000000);
    assert_int_equal(vms[1].kernel.size, 0x100000);
    assert_int_equal(vms[1].ramdisk.size, 0);
    assert_string_equal(vms[1].bootargs, "from the vm node");

    assert_string_equal(vms[2].name, "gamma-with-a-name-longer-than-t");
    assert_string_equal(vms[2].node, "/chosen/vm@2");
    assert_int_equal(vms[2].mem_size, 64 << 20);
    assert_pcpus(&vms[2], 1, (const uint8_t[]){1});
    assert_string_equal(vms[2].bootargs, "");

    /* Each refused VM is named, with its reason. */
    assert_true(capture_contains("/chosen/nokernel: no \"multiboot,kernel\" module"));
    assert_true(capture_contains("bulkhead: /chosen/nokernel: VM not started"));
    assert_true(capture_contains("/chosen/oddmemory: memory size 0x8100000 is not a non-zero "
                                 "multiple of 2 MiB"));
    assert_true(capture_contains("/chosen/toomanycpus: 9 vCPUs asked: from 1 to 8 per VM"));
    assert_true(capture_contains("/chosen/badpriority: bulkhead,priority 256 is out of range (0 "
                                 "to 255)") &&
                capture_contains("bulkhead: /chosen/badpriority: VM not started"));
    assert_true(capture_contains("/chosen/noreg/kernel: kernel module without reg"));
    assert_true(capture_contains("bulkhead: /chosen/noreg: VM not started"));
    assert_false(capture_contains("/chosen/off"));
    assert_int_equal(capture_count("error:"), 5);
    assert_int_equal(capture_count(": VM not started"), 5);
}

/* bulkhead,on-crash and bulkhead,restart-limit; without them, the hypervisor's default. */
static void test_crash_policy(void **state)
{
    (void)state;
    load("vms-explicit");
    int vm0 = node("/chosen/vm@0");
    assert_int_equal(fdt_setprop_string(fdt, vm0, "bulkhead,on-crash", "restart"), 0);
    assert_int_equal(fdt_setprop_u32(fdt, vm0, "bulkhead,restart-limit", 5), 0);
    assert_int_equal(parse(0, 0), 3);
    assert_int_equal(vms[0].on_crash, VM_ON_CRASH_RESTART);
    assert_int_equal(vms[0].restart_limit, 5);
    assert_int_equal(vms[1].on_crash, VM_ON_CRASH_STOP);
    assert_int_equal(vms[1].restart_limit, VM_DEFAULT_RESTART_LIMIT);

    assert_int_equal(fdt_setprop_string(fdt, vm0, "bulkhead,on-crash", "reboot"), 0);
    unsigned n = parse(0, 0);
    for (unsigned i = 0; i < n; i++) {
        assert_string_not_equal(vms[i].name, "alpha");
    }
    assert_true(capture_contains("bulkhead: /chosen/vm@0: VM not started"));
    assert_true(capture_contains("/chosen/vm@0: bulkhead,on-crash is not \"stop\""));
}

static void test_explicit_memory_default(void **state)
{
    int vm1;
    (void)state;
    load("vms-explicit");
    vm1 = node("/chosen/vm@1");
    assert_int_equal(fdt_delprop(fdt, vm1, "memory-size"), 0);

    assert_int_equal(parse(32 << 20, 0), 3);
    assert_int_equal(vms[1].mem_size, 32 << 20);
    /* Explicit nodes take 1 vCPU, not bulkhead.vm-cpus, when they say nothing. */
    assert_int_equal(parse(32 << 20, 3), 3);
    assert_int_equal(vms[1].nr_vcpus, 1);

    assert_int_equal(parse(0, 0), 2);
    assert_true(capture_contains("/chosen/vm@1: no memory-size (nor bulkhead.vm-memory= in the "
                                 "bootargs)"));
}

static void test_explicit_pcpus_mistakes(void **state)
{
    int vm0;
    (void)state;
    load("vms-explicit");
    vm0 = node("/chosen/vm@0");

    /* Each time alpha is refused, which leaves its CPUs to the others. */
    assert_int_equal(fdt_setprop_u32(fdt, vm0, "pcpus", 2), 0);
    assert_int_equal(parse(0, 0), 2);
    assert_true(capture_contains("/chosen/vm@0: pcpus has 1 cells, one per vCPU (2) is needed"));

    assert_int_equal(fdt_appendprop_u32(fdt, vm0, "pcpus", 4), 0);
    assert_int_equal(parse(0, 0), 2);
    assert_true(capture_contains("/chosen/vm@0: pcpu 4 is out of range (the board has 4 CPUs)"));
    assert_string_equal(vms[0].name, "vm@1");
    assert_pcpus(&vms[0], 1, (const uint8_t[]){0});
}

/* pcpus may name a CPU twice: the two vCPUs take turns on it. Nothing is said: it was asked. */
static void test_repeated_pcpus(void **state)
{
    int vm0;
    (void)state;
    load("vms-explicit");
    vm0 = node("/chosen/vm@0");
    assert_int_equal(fdt_setprop_u32(fdt, vm0, "pcpus", 2), 0);
    assert_int_equal(fdt_appendprop_u32(fdt, vm0, "pcpus", 2), 0);
    assert_int_equal(parse(0, 0), 3);
    assert_pcpus(&vms[0], 2, (const uint8_t[]){2, 2});
    /* CPU 2 is not free for the others. */
    assert_pcpus(&vms[1], 1, (const uint8_t[]){0});
    assert_pcpus(&vms[2], 1, (const uint8_t[]){1});
    assert_false(capture_contains("time-shared"));
    assert_false(capture_contains("pcpu"));
}

/* Several VMs may name one CPU. */
static void test_cpu_shared_between_vms(void **state)
{
    (void)state;
    load("vms-explicit");
    assert_int_equal(fdt_setprop_u32(fdt, node("/chosen/vm@1"), "pcpus", 3), 0); /* alpha's */
    assert_int_equal(fdt_setprop_u32(fdt, node("/chosen/vm@2"), "pcpus", 3), 0);
    assert_int_equal(parse(0, 0), 3);
    assert_pcpus(&vms[0], 2, (const uint8_t[]){2, 3});
    assert_pcpus(&vms[1], 1, (const uint8_t[]){3});
    assert_pcpus(&vms[2], 1, (const uint8_t[]){3});
    assert_false(capture_contains("time-shared"));
    assert_int_equal(capture_count(": VM not started"), 5);
}

/* More vCPUs than the board has CPUs, pinned: up to 8. */
static void test_more_vcpus_than_cpus_pinned(void **state)
{
    static const uint8_t five[] = {0, 1, 2, 3, 0};
    int vm1;
    (void)state;
    load("vms-explicit");
    vm1 = node("/chosen/vm@1");
    assert_int_equal(fdt_setprop_u32(fdt, vm1, "cpus", 5), 0);
    assert_int_equal(fdt_setprop_u32(fdt, vm1, "pcpus", 0), 0);
    for (unsigned i = 1; i < sizeof(five); i++) {
        assert_int_equal(fdt_appendprop_u32(fdt, vm1, "pcpus", five[i]), 0);
    }
    assert_int_equal(parse(0, 0), 3);
    assert_pcpus(&vms[1], 5, five);

    assert_int_equal(fdt_setprop_u32(fdt, vm1, "cpus", 9), 0);
    assert_int_equal(parse(0, 0), 2);
    assert_true(capture_contains("/chosen/vm@1: 9 vCPUs asked: from 1 to 8 per VM"));
}

/* Without pcpus: the free CPUs first, then the least loaded, a VM's own vCPUs apart while the
 * board has CPUs enough; one line per VM that shares. */
static void test_spread_without_pcpus(void **state)
{
    (void)state;
    load("vms-explicit");
    assert_int_equal(fdt_setprop_u32(fdt, node("/chosen/vm@1"), "cpus", 6), 0);
    assert_int_equal(parse(0, 0), 3);
    /* alpha has 2 and 3; vm@1 takes the free 0 and 1, then the CPUs it has none on (2, 3),
     * then the least loaded. */
    assert_pcpus(&vms[0], 2, (const uint8_t[]){2, 3});
    assert_pcpus(&vms[1], 6, (const uint8_t[]){0, 1, 2, 3, 0, 1});
    assert_pcpus(&vms[2], 1, (const uint8_t[]){0}); /* every CPU has 2: the lowest */
    assert_true(capture_contains("bulkhead: /chosen/vm@1: 6 vCPUs share CPUs 0,1,2,3 with other "
                                 "vCPUs (time-shared)\n"));
    assert_true(capture_contains("bulkhead: /chosen/vm@2: 1 vCPU shares CPU 0 with other vCPUs "
                                 "(time-shared)\n"));
    assert_int_equal(capture_count("time-shared"), 2);
    assert_int_equal(capture_count("error:"), 5);
}

/* bulkhead,priority: 0 by default, SCHED_MAX_PRIORITY at most. */
static void test_priority(void **state)
{
    int vm0;
    (void)state;
    load("vms-explicit");
    vm0 = node("/chosen/vm@0");
    assert_int_equal(fdt_setprop_u32(fdt, vm0, "bulkhead,priority", 7), 0);
    assert_int_equal(fdt_setprop_u32(fdt, node("/chosen/vm@2"), "bulkhead,priority", 255), 0);
    assert_int_equal(parse(0, 0), 3);
    assert_int_equal(vms[0].priority, 7);
    assert_int_equal(vms[1].priority, 0);
    assert_int_equal(vms[2].priority, SCHED_MAX_PRIORITY);

    assert_int_equal(fdt_setprop_u32(fdt, vm0, "bulkhead,priority", 256), 0);
    assert_int_equal(parse(0, 0), 2);
    assert_true(capture_contains("error: /chosen/vm@0: bulkhead,priority 256 is out of range (0 to "
                                 "255)\n"));
    assert_true(capture_contains("bulkhead: /chosen/vm@0: VM not started"));

    assert_int_equal(fdt_setprop_u64(fdt, vm0, "bulkhead,priority", 1), 0);
    assert_int_equal(parse(0, 0), 2);
    assert_true(capture_contains("/chosen/vm@0: bulkhead,priority must be 1 cell"));
}

static void test_explicit_module_mistakes(void **state)
{
    char args[BOOTARGS_LEN + 1];
    int vm1, extra;
    (void)state;
    load("vms-explicit");
    vm1 = node("/chosen/vm@1");

    extra = fdt_add_subnode(fdt, vm1, "again");
    assert_true(extra >= 0);
    assert_int_equal(fdt_setprop_string(fdt, extra, "compatible", "multiboot,kernel"), 0);
    assert_int_equal(fdt_setprop_u64(fdt, extra, "reg", 0x4a800000ULL << 32 | 0x1000), 0);
    assert_int_equal(parse(0, 0), 2);
    assert_true(capture_contains("/chosen/vm@1/kernel@4a000000: a second kernel module"));
    assert_true(capture_contains("bulkhead: /chosen/vm@1: VM not started"));

    assert_int_equal(fdt_del_node(fdt, node("/chosen/vm@1/again")), 0);
    memset(args, 'x', sizeof(args) - 1);
    args[sizeof(args) - 1] = '\0';
    assert_int_equal(fdt_setprop_string(fdt, node("/chosen/vm@1"), "bootargs", args), 0);
    assert_int_equal(parse(0, 0), 2);
    assert_true(capture_contains("/chosen/vm@1: bootargs longer than 511 bytes"));

    assert_int_equal(fdt_setprop_u64(fdt, node("/chosen/vm@1"), "cpus", 1), 0);
    assert_int_equal(parse(0, 0), 2);
    assert_true(capture_contains("/chosen/vm@1: cpus must be 1 cell, not 8 bytes"));
}

static void test_xen_dom0less(void **state)
{
    (void)state;
    load("vms-xen");
    assert_int_equal(parse(64 << 20, 0), 3);

    assert_string_equal(vms[0].name, "domU1");
    assert_int_equal(vms[0].mem_size, 128 << 20); /* <0 131072> KiB */
    assert_pcpus(&vms[0], 2, (const uint8_t[]){0, 1});
    assert_int_equal(vms[0].kernel.base, 0x4a000000);
    assert_int_equal(vms[0].kernel.size, 0xffffff);
    assert_int_equal(vms[0].ramdisk.base, 0x4b000000);
    assert_int_equal(vms[0].ramdisk.size, 0x80000);
    assert_string_equal(vms[0].bootargs, "console=ttyAMA0");

    assert_string_equal(vms[1].name, "domU2");
    assert_int_equal(vms[1].mem_size, 64 << 20); /* <65536> KiB, 1 cell */
    assert_pcpus(&vms[1], 1, (const uint8_t[]){2});
    assert_int_equal(vms[1].kernel.base, 0x4c000000);
    assert_int_equal(vms[1].kernel.size, 0x400000);

    /* dom0's top-level kernel: after the VM nodes, with its ramdisk and bulkhead.vm-memory. */
    assert_string_equal(vms[2].name, "vm2");
    assert_string_equal(vms[2].node, "/chosen/module@60000000");
    assert_int_equal(vms[2].mem_size, 64 << 20);
    assert_pcpus(&vms[2], 1, (const uint8_t[]){3});
    assert_int_equal(vms[2].kernel.size, 0x800000);
    assert_int_equal(vms[2].ramdisk.base, 0x61000000);
    assert_int_equal(vms[2].ramdisk.size, 0x200000);
    assert_string_equal(vms[2].bootargs, "console=hvc0");

    assert_true(capture_contains("/chosen/domU3: memory size 0xfa000 is not"));
    assert_int_equal(capture_count("error:"), 1);
    assert_int_equal(capture_count(": VM not started"), 1);

    /* Without bulkhead.vm-memory the implicit VM leaves its size to layout. */
    assert_int_equal(parse(0, 0), 3);
    assert_int_equal(vms[2].mem_size, 0);
}

static void test_guest_loader(void **state)
{
    (void)state;
    load("qemu-virt-v3");
    assert_int_equal(parse(0, 0), 2);

    /* Command-line order, which is the reverse of /chosen's. */
    assert_string_equal(vms[0].name, "vm0");
    assert_string_equal(vms[0].node, "/chosen/module@0x48000000");
    assert_int_equal(vms[0].kernel.base, 0x48000000);
    assert_int_equal(vms[0].kernel.size, 3000000);
    assert_int_equal(vms[0].ramdisk.base, 0x49000000);
    assert_int_equal(vms[0].ramdisk.size, 700000);
    assert_string_equal(vms[0].bootargs, "console=ttyAMA0 vm=one");
    assert_int_equal(vms[0].mem_size, 0);
    assert_pcpus(&vms[0], 1, (const uint8_t[]){0});

    assert_string_equal(vms[1].name, "vm1");
    assert_int_equal(vms[1].kernel.base, 0x4a000000);
    assert_int_equal(vms[1].ramdisk.size, 0);
    assert_string_equal(vms[1].bootargs, "vm=two");
    assert_pcpus(&vms[1], 1, (const uint8_t[]){1});
    assert_string_equal(capture_text(), "");
}

static void test_guest_loader_defaults(void **state)
{
    (void)state;
    load("qemu-virt-v3");

    assert_int_equal(parse(128 << 20, 2), 2);
    assert_int_equal(vms[0].mem_size, 128 << 20);
    assert_pcpus(&vms[0], 2, (const uint8_t[]){0, 1});
    assert_pcpus(&vms[1], 2, (const uint8_t[]){2, 3});

    /* 3 + 3 > 4: the second VM takes the free CPU and shares two, each with one of vm0's. */
    assert_int_equal(parse(0, 3), 2);
    assert_pcpus(&vms[0], 3, (const uint8_t[]){0, 1, 2});
    assert_pcpus(&vms[1], 3, (const uint8_t[]){3, 0, 1});
    assert_int_equal(vms[0].priority, 0);
    assert_int_equal(vms[1].priority, 0);
    assert_string_equal(capture_text(), "bulkhead: /chosen/module@0x4a000000: 2 vCPUs share CPUs "
                                        "0,1 with other vCPUs (time-shared)\n");

    /* 8 vCPUs each on 4 CPUs: 4 per CPU, each VM's spread evenly. */
    assert_int_equal(parse(0, 8), 2);
    assert_pcpus(&vms[0], 8, (const uint8_t[]){0, 1, 2, 3, 0, 1, 2, 3});
    assert_pcpus(&vms[1], 8, (const uint8_t[]){0, 1, 2, 3, 0, 1, 2, 3});
    assert_int_equal(capture_count("8 vCPUs share CPUs 0,1,2,3 with other vCPUs"), 2);
}

static void test_lone_guest_gets_every_cpu(void **state)
{
    (void)state;
    load("qemu-virt-v2");
    assert_int_equal(parse(0, 0), 1);
    assert_string_equal(vms[0].name, "vm0");
    assert_pcpus(&vms[0], 2, (const uint8_t[]){0, 1});
    assert_int_equal(vms[0].ramdisk.base, 0x4a000000); /* before its kernel in /chosen */
    assert_string_equal(vms[0].bootargs, "console=ttyAMA0");

    assert_int_equal(parse(0, 1), 1); /* unless bulkhead.vm-cpus says otherwise */
    assert_pcpus(&vms[0], 1, (const uint8_t[]){0});

    /* More than the board has: they take turns. */
    assert_int_equal(parse(0, 4), 1);
    assert_pcpus(&vms[0], 4, (const uint8_t[]){0, 1, 0, 1});
    assert_string_equal(capture_text(), "bulkhead: /chosen/module@0x48000000: 4 vCPUs share CPUs "
                                        "0,1 with other vCPUs (time-shared)\n");
}

static void test_guest_loader_mistakes(void **state)
{
    (void)state;
    load("vms-loader");
    assert_int_equal(parse(0, 0), 2);

    assert_string_equal(vms[0].bootargs, "A");
    assert_int_equal(vms[0].ramdisk.base, 0x49000000);
    assert_int_equal(vms[0].ramdisk.size, 0x2000);
    assert_pcpus(&vms[0], 1, (const uint8_t[]){0});
    /* B is refused; C still starts, named after its index. */
    assert_string_equal(vms[1].name, "vm1");
    assert_string_equal(vms[1].bootargs, "C");
    assert_pcpus(&vms[1], 1, (const uint8_t[]){1});

    assert_true(capture_contains("/chosen/module@0x47000000: ramdisk module has no kernel module"));
    assert_true(capture_contains("/chosen/module@0x49800000: a second ramdisk for one kernel"));
    assert_true(capture_contains("/chosen/module@0x4a000000: kernel module without reg, or of "
                                 "size 0"));
    assert_int_equal(capture_count("error:"), 3);
    assert_int_equal(capture_count(": VM not started"), 1);
}

static void test_too_many_vms(void **state)
{
    char args[4];
    (void)state;
    load("vms-many");
    assert_int_equal(parse(0, 0), MAX_VMS);
    for (unsigned i = 0; i < MAX_VMS; i++) {
        snprintf(args, sizeof(args), "k%u", i);
        assert_string_equal(vms[i].bootargs, args);
        assert_pcpus(&vms[i], 1, (const uint8_t[]){(uint8_t)i});
    }
    assert_true(capture_contains("/chosen/module@0x50000000: more than 8 VMs: not started"));
    assert_int_equal(capture_count("error:"), 1);
}

/* Moves a module of the qemu-virt trees (2 + 2 cells) to base + size. */
static void move_module(const char *path, uint64_t base, uint64_t size)
{
    fdt64_t reg[2] = {cpu_to_fdt64(base), cpu_to_fdt64(size)};

    assert_int_equal(fdt_setprop(fdt, node(path), "reg", reg, sizeof(reg)), 0);
}

/* vm1's kernel moved to base + size is refused with `why`; vm0 still starts as vm0. */
static void assert_vm1_kernel_refused(uint64_t base, uint64_t size, const char *why)
{
    move_module("/chosen/module@0x4a000000", base, size);
    assert_int_equal(parse(0, 0), 1);
    assert_string_equal(vms[0].node, "/chosen/module@0x48000000");
    assert_true(capture_contains(why));
    assert_true(capture_contains("bulkhead: /chosen/module@0x4a000000: VM not started"));
    assert_int_equal(capture_count("error:"), 1);
}

static void test_module_inside_hypervisor(void **state)
{
    (void)state;
    load("qemu-virt-v3");
    /* vm0's initrd in the hypervisor's bss: vm0 is refused before anything reads it, and the VM
     * after it takes its number and its CPU. */
    move_module("/chosen/module@0x49000000", 0x4021c000, 0x1000);
    assert_int_equal(parse(0, 0), 1);
    assert_string_equal(vms[0].name, "vm0");
    assert_string_equal(vms[0].node, "/chosen/module@0x4a000000");
    assert_pcpus(&vms[0], 1, (const uint8_t[]){0});
    assert_true(
        capture_contains("error: /chosen/module@0x49000000: ramdisk module "
                         "0x4021c000+0x1000 overlaps the hypervisor (0x40200000+0x2fb000)"));
    assert_true(capture_contains("bulkhead: /chosen/module@0x48000000: VM not started"));
    assert_int_equal(capture_count("error:"), 1);

    /* A kernel over the footprint's last byte. */
    move_module("/chosen/module@0x49000000", 0x49000000, 0x1000);
    assert_vm1_kernel_refused(0x404fa000, 0x2000,
                              "error: /chosen/module@0x4a000000: kernel module "
                              "0x404fa000+0x2000 overlaps the hypervisor");
}

static void test_module_over_host_dtb(void **state)
{
    (void)state;
    load("qemu-virt-v3");
    assert_vm1_kernel_refused(0x7fd00000, 0x100001,
                              "error: /chosen/module@0x4a000000: kernel "
                              "module 0x7fd00000+0x100001 overlaps the host "
                              "DTB (0x7fe00000+0x100000)");
}

static void test_module_outside_ram(void **state)
{
    static const struct {
        uint64_t base, size;
    } bad[] = {
        {0x100000, 0x1000},       /* flash, below RAM */
        {0x10000000, 0x1000},     /* PCIe MMIO */
        {0x100000000, 0x1000},    /* above RAM */
        {0x3ffff000, 0x2000},     /* straddling RAM's start */
        {0x7ffff000, 0x2000},     /* straddling RAM's end */
        {0x40000000, 0x40000001}, /* one byte too many */
    };
    char why[128];
    (void)state;

    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        load("qemu-virt-v3");
        snprintf(why, sizeof(why),
                 "error: /chosen/module@0x4a000000: kernel module 0x%lx+0x%lx "
                 "lies outside RAM",
                 (unsigned long)bad[i].base, (unsigned long)bad[i].size);
        assert_vm1_kernel_refused(bad[i].base, bad[i].size, why);
        free(fdt);
        fdt = NULL;
    }
}

/* Caught as the reg is read (config_module_reg), before the check of where the module lies. */
static void test_module_wrapping(void **state)
{
    (void)state;
    load("qemu-virt-v3");
    assert_vm1_kernel_refused(0xfffffffffffff000, 0x2000,
                              "error: /chosen/module@0x4a000000: reg 0xfffffffffffff000+0x2000 "
                              "wraps around");
}

static void test_modules_overlapping_each_other(void **state)
{
    (void)state;
    load("qemu-virt-v3");
    /* vm1's kernel over the end of vm0's kernel: the later VM is refused. */
    assert_vm1_kernel_refused(0x482dc000, 0x1000,
                              "error: /chosen/module@0x4a000000: kernel "
                              "module 0x482dc000+0x1000 overlaps the kernel "
                              "module of /chosen/module@0x48000000");
    /* ... over vm0's initrd. */
    assert_vm1_kernel_refused(0x49000000, 0x1000,
                              "overlaps the ramdisk module of "
                              "/chosen/module@0x48000000");
    /* One file for both VMs is fine: modules are only read. */
    move_module("/chosen/module@0x4a000000", 0x48000000, 0x2dc6c0);
    assert_int_equal(parse(0, 0), 2);
    assert_string_equal(capture_text(), "");

    /* A VM's own initrd over its kernel. */
    move_module("/chosen/module@0x4a000000", 0x4a000000, 0x100000);
    move_module("/chosen/module@0x49000000", 0x482d0000, 0x10000);
    assert_int_equal(parse(0, 0), 1);
    assert_true(capture_contains("error: /chosen/module@0x48000000: ramdisk module "
                                 "0x482d0000+0x10000 overlaps the kernel module 0x48000000+"));
    assert_true(capture_contains("bulkhead: /chosen/module@0x48000000: VM not started"));
}

/* Banks that touch are one range; a hole between two is not RAM. */
static void test_module_across_banks(void **state)
{
    (void)state;
    load("qemu-virt-v3");
    board.ram[0] = (struct mem_range){0x40000000, 0x10000000};
    board.ram[1] = (struct mem_range){0x50000000, 0x10000000};
    board.nr_ram = 2;
    move_module("/chosen/module@0x4a000000", 0x4ffff000, 0x2000);
    assert_int_equal(parse(0, 0), 2);
    assert_string_equal(capture_text(), "");

    board.ram[1].base = 0x50200000;
    assert_vm1_kernel_refused(0x4ffff000, 0x2000,
                              "kernel module 0x4ffff000+0x2000 lies outside "
                              "RAM");
}

static void test_no_vms(void **state)
{
    (void)state;
    load("raspi4b");
    assert_int_equal(parse(0, 0), 0);
    assert_string_equal(capture_text(), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_explicit_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_explicit_memory_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_explicit_pcpus_mistakes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeated_pcpus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_shared_between_vms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_more_vcpus_than_cpus_pinned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spread_without_pcpus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority, setup, teardown),
        cmocka_unit_test_setup_teardown(test_explicit_module_mistakes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xen_dom0less, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_loader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_loader_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lone_guest_gets_every_cpu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_loader_mistakes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_vms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_inside_hypervisor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_over_host_dtb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_outside_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_wrapping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modules_overlapping_each_other, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_across_banks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_vms, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
