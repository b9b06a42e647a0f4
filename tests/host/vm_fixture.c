/* The VM fixture of test_vm.c and test_vm_operator.c (vm_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/stage2.h"
#include "bulkhead/traps.h"
#include "bulkhead/vm.h"
#include "fake/fake.h"
#include "support/capture.h"
#include "vm_fixture.h"

uint8_t *ram;
uint8_t kernel_image[KERNEL_SIZE];
uint8_t initrd_image[INITRD_SIZE];
uint8_t dtb_image[DTB_SIZE];
static struct vm fixture_vms[2];
static struct vcpu fixture_vcpus[MAX_VCPUS];
struct vm *const vm = &fixture_vms[0];

/* el2/traps.c's report budget is not linked here: every report is said. */
bool guest_report_allowed(struct vm *v)
{
    (void)v;
    return true;
}

int vm_fixture_group_setup(void **state)
{
    (void)state;
    ram = aligned_alloc(BLOCK, RAM_SIZE);
    assert_non_null(ram);
    for (unsigned i = 0; i < KERNEL_SIZE; i++) {
        kernel_image[i] = (uint8_t)(i * 7 + 1);
    }
    for (unsigned i = 0; i < INITRD_SIZE; i++) {
        initrd_image[i] = (uint8_t)(0x31 + i);
    }
    for (unsigned i = 0; i < DTB_SIZE; i++) {
        dtb_image[i] = (uint8_t)(0xd0 ^ i);
    }
    return 0;
}

int vm_fixture_group_teardown(void **state)
{
    (void)state;
    free(ram);
    return 0;
}

int vm_fixture_setup(void **state)
{
    (void)state;
    fake_reset();
    capture_reset();
    memset(ram, GARBAGE, RAM_SIZE);
    fake_sysreg.dczid_el0 = 4; /* DC ZVA zeroes 64 bytes */

    vms = fixture_vms;
    memset(vm, 0, sizeof(*vm));
    memset(fixture_vcpus, 0, sizeof(fixture_vcpus));
    vm->vcpus = fixture_vcpus;
    strcpy(vm->cfg.name, "vm3");
    vm->cfg.nr_vcpus = 2;
    vm->cfg.on_reset = VM_ON_CRASH_RESTART; /* the parsers' default */
    vm->cfg.kernel = (struct vm_module){.base = (uintptr_t)kernel_image, .size = KERNEL_SIZE};
    vm->cfg.ramdisk = (struct vm_module){.base = (uintptr_t)initrd_image, .size = INITRD_SIZE};
    vm->layout = (struct vm_layout){
        .ram_pa = (uintptr_t)ram,
        .ram_ipa = RAM_IPA,
        .ram_size = RAM_SIZE,
        .kernel_ipa = KERNEL_IPA,
        .kernel_size = KERNEL_SIZE,
        .initrd_ipa = INITRD_IPA,
        .initrd_size = INITRD_SIZE,
        .dtb_ipa = DTB_IPA,
    };
    vm->dtb = dtb_image;
    vm->dtb_size = DTB_SIZE;
    vm->dtb_boot_count_at = BOOT_COUNT_AT;
    vm->dtb_kaslr_seed_at = KASLR_SEED_AT;
    assert_int_equal(s2_create(&vm->s2, 1, &vm->vttbr), 0);
    vgic_dist_init(&vm->vgic, GIC_V3, 64, 2);
    console_port_init(&vm->console, "vm3");
    vm_io_init(&vm->io, vm->cfg.name, 2, &vm->vgic, &vm->s2, &vm->console);
    for (unsigned i = 0; i < 2; i++) {
        vm->vcpus[i] = (struct vcpu){.vm = vm, .index = i, .pcpu = i, .state = VCPU_OFF};
        vgic_cpu_init(&vm->vgic, &vm->vcpus[i].vgic, i, 4);
    }
    vm->state = VM_RUNNING;
    /* Another VM keeps running: stopping this one does not power the machine off. */
    memset(&vms[1], 0, sizeof(vms[1]));
    vms[1].state = VM_RUNNING;
    nr_vms = 2;
    return 0;
}
