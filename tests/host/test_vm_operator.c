/*
 * el2/vm.c: the console monitor's controls of one VM (vm_operator_stop, vm_operator_restart and
 * vm_serve_restart, vm_write_guest). None waits for another CPU: a stop halts the VM's vCPUs; a
 * restart only marks the VM and wakes its boot vCPU's CPU, whose run loop reloads it, also when
 * the VM was stopped or off; the other VM is never touched. The fixture is test_vm.c's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/stage2.h"
#include "bulkhead/vm.h"
#include "fake/fake.h"
#include "support/capture.h"

#define BLOCK MiB(2)
#define RAM_IPA 0x40000000ULL
#define RAM_SIZE MiB(8) /* blocks 0..3 */
#define KERNEL_IPA (RAM_IPA + 0x80000)
#define KERNEL_SIZE 0x3000
/* An initrd where DC ZVA cannot reach its edges: the bytes around it are zeroed by stores. */
#define INITRD_IPA (RAM_IPA + BLOCK + 0x1010) /* block 1 */
#define INITRD_SIZE 0x33
#define DTB_IPA (RAM_IPA + MiB(6)) /* block 3 */
#define DTB_SIZE 0x100
#define BOOT_COUNT_AT 0x10
#define KASLR_SEED_AT 0x20

#define GARBAGE 0xa5 /* what RAM holds before the VM's first life, or after a guest used it */

static uint8_t *ram;
static uint8_t kernel_image[KERNEL_SIZE];
static uint8_t initrd_image[INITRD_SIZE];
static uint8_t dtb_image[DTB_SIZE];
static struct vm *vm = &vms[0];

static int group_setup(void **state)
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

static int group_teardown(void **state)
{
    (void)state;
    free(ram);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    fake_reset();
    capture_reset();
    memset(ram, GARBAGE, RAM_SIZE);
    fake_sysreg.dczid_el0 = 4; /* DC ZVA zeroes 64 bytes */

    memset(vm, 0, sizeof(*vm));
    strcpy(vm->cfg.name, "vm3");
    vm->cfg.nr_vcpus = 2;
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

static uint8_t *host(ipa_t ipa)
{
    return ram + (ipa - RAM_IPA);
}

static void both_on(void)
{
    vm->vcpus[0].state = VCPU_ON;
    vm->vcpus[1].state = VCPU_ON;
}

static void test_stop_halts_that_vm_only(void **state)
{
    (void)state;

    both_on();
    assert_true(vm_operator_stop(vm));
    assert_int_equal(vm->state, VM_STOPPED);
    assert_int_equal(vm->vcpus[0].state, VCPU_OFF);
    assert_int_equal(vm->vcpus[1].state, VCPU_OFF);
    assert_int_equal(fake.vcpu_kick, 2);
    assert_true(capture_contains("bulkhead: vm3: stopped by the operator\n"));
    assert_int_equal(vms[1].state, VM_RUNNING);
    assert_int_equal(fake.machine_power_off, 0);
    /* Once stopped, again: nothing to stop. */
    assert_false(vm_operator_stop(vm));
}

static void test_stop_of_a_paused_vm_ends_the_pause(void **state)
{
    (void)state;

    both_on();
    assert_true(vm_pause(vm));
    assert_true(vm_operator_stop(vm));
    assert_false(vm->paused);
}

static void test_stop_of_the_last_vm_powers_the_machine_off(void **state)
{
    (void)state;

    vms[1].state = VM_OFF;
    both_on();
    assert_true(FAKE_CATCH_NORETURN(vm_operator_stop(vm)));
    assert_true(capture_contains("bulkhead: no VM running, powering off\n"));
    assert_int_equal(fake.machine_power_off, 1);
}

static void test_stop_during_a_reset_is_refused(void **state)
{
    (void)state;

    vm->state = VM_RESETTING;
    assert_false(vm_operator_stop(vm));
    assert_int_equal(vm->state, VM_RESETTING);
}

/* The restart is asked, not done: the VM is marked and its boot vCPU's CPU woken. Only that
 * vCPU's run loop reloads it. */
static void test_restart_is_left_to_the_boot_vcpus_cpu(void **state)
{
    (void)state;

    both_on();
    assert_true(vm_operator_restart(vm));
    assert_int_equal(vm->state, VM_RESETTING);
    assert_true(vm->restart_requested);
    assert_int_equal(vm->boot_count, 1);
    assert_ptr_equal(fake.woken, &vm->vcpus[0]);
    assert_int_equal(vm->vcpus[1].state, VCPU_OFF);
    assert_true(capture_contains("bulkhead: vm3: restart by the operator\n"));
    assert_false(vm_operator_restart(vm)); /* one at a time */

    vm_serve_restart(&vm->vcpus[1]); /* not the boot vCPU: nothing */
    assert_int_equal(vm->state, VM_RESETTING);
    assert_true(vm->restart_requested);

    vm_serve_restart(&vm->vcpus[0]);
    assert_false(vm->restart_requested);
    assert_int_equal(vm->state, VM_RUNNING);
    assert_int_equal(vm->vcpus[0].state, VCPU_ON_PENDING);
    assert_int_equal(vm->vcpus[0].entry, KERNEL_IPA);
    assert_memory_equal(host(KERNEL_IPA), kernel_image, KERNEL_SIZE);
    /* The boot count the guest reads in its device tree. */
    assert_int_equal(host(DTB_IPA)[BOOT_COUNT_AT + 3], 1);
    assert_int_equal(vms[1].state, VM_RUNNING);

    vm_serve_restart(&vm->vcpus[0]); /* served once */
    assert_int_equal(vm->boot_count, 1);
}

static void test_restart_of_a_stopped_or_off_vm(void **state)
{
    static const enum vm_state states[] = {VM_STOPPED, VM_OFF};
    (void)state;

    for (unsigned i = 0; i < 2; i++) {
        vm->state = states[i];
        assert_true(vm_operator_restart(vm));
        assert_int_equal(vm->state, VM_RESETTING);
        vm_serve_restart(&vm->vcpus[0]);
        assert_int_equal(vm->state, VM_RUNNING);
        assert_int_equal(vm->vcpus[0].state, VCPU_ON_PENDING);
    }
    assert_int_equal(vm->boot_count, 2);
}

static void test_restart_during_a_reset_is_refused(void **state)
{
    (void)state;

    vm->state = VM_RESETTING;
    assert_false(vm_operator_restart(vm));
    assert_false(vm->restart_requested);
    assert_int_equal(vm->boot_count, 0);
}

static void test_write_guest_populates_then_copies(void **state)
{
    static const char msg[] = "bulkhead: log";
    (void)state;

    assert_int_equal(vm_write_guest(vm, RAM_IPA + BLOCK - 4, msg, sizeof(msg)), 0);
    assert_memory_equal(host(RAM_IPA + BLOCK - 4), msg, sizeof(msg));
    assert_true(vm->populated[0] & 3); /* both blocks it spans */
    assert_int_equal(vm->populated[0] & 3, 3);
    /* The rest of those blocks is zeroed, as at a guest's first touch. */
    assert_int_equal(host(RAM_IPA)[0], 0);
    assert_int_equal(vm_write_guest(vm, RAM_IPA + RAM_SIZE - 4, msg, sizeof(msg)), -1);
    assert_int_equal(vm_write_guest(vm, RAM_IPA - 4, msg, 2), -1);
    assert_int_equal(vm_write_guest(vm, 0x1000, msg, 2), -1);
    assert_int_equal(vm_write_guest(vm, RAM_IPA + RAM_SIZE - 2, msg, 2), 0);
}

#define T(fn) cmocka_unit_test_setup(fn, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_stop_halts_that_vm_only),
        T(test_stop_of_a_paused_vm_ends_the_pause),
        T(test_stop_of_the_last_vm_powers_the_machine_off),
        T(test_stop_during_a_reset_is_refused),
        T(test_restart_is_left_to_the_boot_vcpus_cpu),
        T(test_restart_of_a_stopped_or_off_vm),
        T(test_restart_during_a_reset_is_refused),
        T(test_write_guest_populates_then_copies),
    };

    return cmocka_run_group_tests_name("vm_operator", tests, group_setup, group_teardown);
}
