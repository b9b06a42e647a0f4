/*
 * el2/vm.c: the console monitor's controls of one VM (vm_operator_stop, vm_operator_restart and
 * vm_serve_restart, vm_write_guest). None waits for another CPU: a stop halts the VM's vCPUs; a
 * restart only marks the VM and wakes its boot vCPU's CPU, whose run loop reloads it, also when
 * the VM was stopped or off; the other VM is never touched. The fixture is vm_fixture.c's.
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
#include "vm_fixture.h"

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

#define T(fn) cmocka_unit_test_setup(fn, vm_fixture_setup)

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

    return cmocka_run_group_tests_name("vm_operator", tests, vm_fixture_group_setup,
                                       vm_fixture_group_teardown);
}
