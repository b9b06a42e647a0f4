/*
 * el2/psci.c: the SMCCC calls a guest makes (PSCI 1.1, DEN0022; SMCCC 1.1, DEN0028) and
 * Bulkhead's vendor calls, against one VM of four vCPUs. Function IDs and return codes are the
 * specification's numbers; the scheduler and the VM's power calls are fakes that record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/psci.h"
#include "bulkhead/vm.h"
#include "fake/fake.h"

/* PSCI function IDs (SMC32; the SMC64 form adds 0x40000000). */
#define VERSION 0x84000000u
#define CPU_SUSPEND 0x84000001u
#define CPU_OFF 0x84000002u
#define CPU_ON 0x84000003u
#define AFFINITY_INFO 0x84000004u
#define MIGRATE 0x84000005u
#define MIGRATE_INFO_TYPE 0x84000006u
#define MIGRATE_INFO_UP_CPU 0x84000007u
#define SYSTEM_OFF 0x84000008u
#define SYSTEM_RESET 0x84000009u
#define FEATURES 0x8400000Au
#define CPU_FREEZE 0x8400000Bu
#define SYSTEM_SUSPEND 0x8400000Eu
#define SYSTEM_RESET2 0x84000012u
#define SMC64 0x40000000u
#define SMCCC_VERSION_ID 0x80000000u
#define SMCCC_ARCH_FEATURES_ID 0x80000001u
#define SMCCC_ARCH_WORKAROUND_1 0x80008000u

/* Return codes. */
#define SUCCESS 0
#define NOT_SUPPORTED (-1)
#define INVALID_PARAMS (-2)
#define ALREADY_ON (-4)
#define ON_PENDING (-5)

/* AFFINITY_INFO answers. */
#define AFF_ON 0
#define AFF_OFF 1
#define AFF_ON_PENDING 2

#define NR_VCPUS 4

static struct vm vm;
static struct vcpu vm_vcpus[MAX_VCPUS];

static int setup(void **state)
{
    (void)state;
    fake_reset();
    memset(&vm, 0, sizeof(vm));
    memset(vm_vcpus, 0, sizeof(vm_vcpus));
    vm.vcpus = vm_vcpus;
    strcpy(vm.cfg.name, "vm0");
    vm.cfg.nr_vcpus = NR_VCPUS;
    vm.state = VM_RUNNING;
    for (unsigned i = 0; i < NR_VCPUS; i++) {
        vm.vcpus[i] = (struct vcpu){.vm = &vm, .index = i, .pcpu = i, .state = VCPU_OFF};
    }
    vm.vcpus[0].state = VCPU_ON;
    return 0;
}

/* The call in x0..x3 from vCPU `from`; returns whether the vCPU resumes. x[0] holds the result. */
static bool call_from(unsigned from, uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3)
{
    uint64_t *x = vm.vcpus[from].regs.x;

    x[0] = fid;
    x[1] = a1;
    x[2] = a2;
    x[3] = a3;
    return smccc_handle(&vm.vcpus[from]);
}

/* A call from vCPU 0 that must resume it; returns x0 as a signed result. */
static int64_t call(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3)
{
    assert_true(call_from(0, fid, a1, a2, a3));
    return (int64_t)vm.vcpus[0].regs.x[0];
}

static void test_versions(void **state)
{
    (void)state;

    assert_int_equal(call(VERSION, 0, 0, 0), 0x00010001);          /* PSCI 1.1 */
    assert_int_equal(call(SMCCC_VERSION_ID, 0, 0, 0), 0x00010001); /* SMCCC 1.1 */
    assert_int_equal(call(MIGRATE_INFO_TYPE, 0, 0, 0), 2);         /* no trusted OS to migrate */
}

/* The function ID is W0: what the guest leaves in x0's upper half does not change the call. */
static void test_function_id_is_w0(void **state)
{
    (void)state;

    assert_int_equal(call(0xdeadbeef00000000ULL | VERSION, 0, 0, 0), 0x00010001);
}

static void test_smccc_arch_features(void **state)
{
    (void)state;

    assert_int_equal(call(SMCCC_ARCH_FEATURES_ID, SMCCC_VERSION_ID, 0, 0), SUCCESS);
    /* No firmware workaround is offered (and none is needed: nothing here reaches firmware). */
    assert_int_equal(call(SMCCC_ARCH_FEATURES_ID, SMCCC_ARCH_WORKAROUND_1, 0, 0), NOT_SUPPORTED);
}

static void test_features_of_implemented_functions(void **state)
{
    static const uint32_t implemented[] = {
        VERSION,        CPU_SUSPEND,   CPU_SUSPEND | SMC64,   CPU_OFF,           CPU_ON,
        CPU_ON | SMC64, AFFINITY_INFO, AFFINITY_INFO | SMC64, MIGRATE_INFO_TYPE, SYSTEM_OFF,
        SYSTEM_RESET,   FEATURES,      SMCCC_VERSION_ID,
    };
    (void)state;

    for (unsigned i = 0; i < ARRAY_SIZE(implemented); i++) {
        assert_int_equal(call(FEATURES, implemented[i], 0, 0), SUCCESS);
    }
}

static void test_features_of_missing_functions(void **state)
{
    static const uint32_t missing[] = {
        MIGRATE,       MIGRATE_INFO_UP_CPU,   CPU_FREEZE,  SYSTEM_SUSPEND, SYSTEM_SUSPEND | SMC64,
        SYSTEM_RESET2, SYSTEM_RESET2 | SMC64, 0x8400001Fu, 0x00000000u,    0xffffffffu,
    };
    (void)state;

    for (unsigned i = 0; i < ARRAY_SIZE(missing); i++) {
        assert_int_equal(call(FEATURES, missing[i], 0, 0), NOT_SUPPORTED);
    }
}

/* PSCI defines no SMC64 form of these: FEATURES must not advertise one, and a call of one is not
 * supported either (nothing happens to the vCPU or the VM). */
static void test_features_agree_with_calls_for_smc64_forms_that_do_not_exist(void **state)
{
    static const uint32_t smc32_only[] = {VERSION,    CPU_OFF,      MIGRATE_INFO_TYPE,
                                          SYSTEM_OFF, SYSTEM_RESET, FEATURES};
    (void)state;

    for (unsigned i = 0; i < ARRAY_SIZE(smc32_only); i++) {
        uint32_t fid = smc32_only[i] | SMC64;
        assert_int_equal(call(fid, 0, 0, 0), NOT_SUPPORTED);
        assert_int_equal(call(FEATURES, fid, 0, 0), NOT_SUPPORTED);
    }
    assert_int_equal(vm.vcpus[0].state, VCPU_ON);
    assert_int_equal(fake.vm_power_off + fake.vm_reset, 0);
}

static void test_unknown_ids_are_not_supported(void **state)
{
    static const uint32_t unknown[] = {MIGRATE,     CPU_FREEZE,  SYSTEM_RESET2, 0x84000020u,
                                       0x80000002u, 0x86000000u, 0x8600FF02u,   0xC600FF01u,
                                       0x00000000u, 0xffffffffu};
    (void)state;

    for (unsigned i = 0; i < ARRAY_SIZE(unknown); i++) {
        assert_true(call_from(0, unknown[i], 1, 2, 3));
        /* -1 in all 64 bits, and the other registers as the guest left them. */
        assert_int_equal(vm.vcpus[0].regs.x[0], 0xffffffffffffffffULL);
        assert_int_equal(vm.vcpus[0].regs.x[1], 1);
        assert_int_equal(vm.vcpus[0].regs.x[2], 2);
        assert_int_equal(vm.vcpus[0].regs.x[3], 3);
    }
    assert_int_equal(fake.vcpu_wake + fake.vcpu_block + fake.vm_power_off + fake.vm_reset, 0);
}

static void test_cpu_on_starts_an_off_vcpu(void **state)
{
    struct vcpu *t = &vm.vcpus[2];
    (void)state;

    assert_int_equal(call(CPU_ON, 2, 0x40080000, 0x1234), SUCCESS);
    assert_int_equal(t->state, VCPU_ON_PENDING);
    assert_int_equal(t->entry, 0x40080000);
    assert_int_equal(t->context_id, 0x1234);
    assert_int_equal(fake.vcpu_wake, 1);
    assert_ptr_equal(fake.woken, t);
    /* No other vCPU changed. */
    assert_int_equal(vm.vcpus[1].state, VCPU_OFF);
    assert_int_equal(vm.vcpus[3].state, VCPU_OFF);
}

static void test_cpu_on_smc64_takes_64_bit_arguments(void **state)
{
    struct vcpu *t = &vm.vcpus[3];
    (void)state;

    assert_int_equal(call(CPU_ON | SMC64, 3, 0x1234567890ULL, 0xfedcba9876543210ULL), SUCCESS);
    assert_int_equal(t->state, VCPU_ON_PENDING);
    assert_int_equal(t->entry, 0x1234567890ULL);
    assert_int_equal(t->context_id, 0xfedcba9876543210ULL);
    assert_ptr_equal(fake.woken, t);
}

static void test_cpu_on_of_a_running_vcpu_is_already_on(void **state)
{
    (void)state;

    vm.vcpus[1].state = VCPU_ON;
    vm.vcpus[1].entry = 0x1111;
    assert_int_equal(call(CPU_ON, 1, 0x40080000, 0), ALREADY_ON);
    assert_int_equal(call(CPU_ON, 0, 0x40080000, 0), ALREADY_ON); /* the caller itself */
    assert_int_equal(vm.vcpus[1].state, VCPU_ON);
    assert_int_equal(vm.vcpus[1].entry, 0x1111);
    assert_int_equal(fake.vcpu_wake, 0);
}

static void test_cpu_on_of_a_starting_vcpu_is_on_pending(void **state)
{
    (void)state;

    assert_int_equal(call(CPU_ON, 1, 0x40080000, 7), SUCCESS);
    assert_int_equal(call(CPU_ON, 1, 0x50000000, 8), ON_PENDING);
    /* The first request's entry point stands. */
    assert_int_equal(vm.vcpus[1].entry, 0x40080000);
    assert_int_equal(vm.vcpus[1].context_id, 7);
    assert_int_equal(fake.vcpu_wake, 1);
}

static void test_cpu_on_of_a_cpu_the_vm_does_not_have(void **state)
{
    static const uint64_t bad[] = {
        NR_VCPUS,       /* one past the last vCPU */
        0xff,           /* Aff0 far out */
        0x100,          /* Aff1 = 1: our vCPUs are all in cluster 0 */
        0x10000,        /* Aff2 */
        0x100000000ULL, /* Aff3 */
    };
    (void)state;

    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(call(CPU_ON, bad[i], 0x40080000, 0), INVALID_PARAMS);
        assert_int_equal(call(CPU_ON | SMC64, bad[i], 0x40080000, 0), INVALID_PARAMS);
    }
    for (unsigned i = 1; i < NR_VCPUS; i++) {
        assert_int_equal(vm.vcpus[i].state, VCPU_OFF);
    }
    assert_int_equal(fake.vcpu_wake, 0);
}

/* Bits outside the affinity fields (MPIDR_EL1's RES1 bit 31, MT, U) do not name another CPU. */
static void test_cpu_on_ignores_non_affinity_mpidr_bits(void **state)
{
    (void)state;

    assert_int_equal(call(CPU_ON, 0x80000000ULL | 0x1000000 | 1, 0x40080000, 0), SUCCESS);
    assert_int_equal(vm.vcpus[1].state, VCPU_ON_PENDING);
}

static void test_affinity_info_states(void **state)
{
    (void)state;

    vm.vcpus[1].state = VCPU_ON_PENDING;
    assert_int_equal(call(AFFINITY_INFO, 0, 0, 0), AFF_ON);
    assert_int_equal(call(AFFINITY_INFO, 1, 0, 0), AFF_ON_PENDING);
    assert_int_equal(call(AFFINITY_INFO, 2, 0, 0), AFF_OFF);
    assert_int_equal(call(AFFINITY_INFO | SMC64, 0, 0, 0), AFF_ON);
    assert_int_equal(call(AFFINITY_INFO | SMC64, 1, 0, 0), AFF_ON_PENDING);
    assert_int_equal(call(AFFINITY_INFO | SMC64, 3, 0, 0), AFF_OFF);
}

static void test_affinity_info_bad_arguments(void **state)
{
    (void)state;

    assert_int_equal(call(AFFINITY_INFO, 0, 1, 0), INVALID_PARAMS); /* level 1 */
    assert_int_equal(call(AFFINITY_INFO, 0, 3, 0), INVALID_PARAMS);
    assert_int_equal(call(AFFINITY_INFO, NR_VCPUS, 0, 0), INVALID_PARAMS);
    assert_int_equal(call(AFFINITY_INFO | SMC64, 0x100, 0, 0), INVALID_PARAMS);
}

/* CPU_OFF is the VM's to carry out (vm_cpu_off): under its lock, and it alone knows whether
 * this was the VM's last vCPU on. The caller leaves the guest. */
static void test_cpu_off_goes_to_the_vm(void **state)
{
    (void)state;

    vm.vcpus[1].state = VCPU_ON;
    assert_false(call_from(1, CPU_OFF, 0, 0, 0));
    assert_ptr_equal(fake.vm, &vm);
    assert_ptr_equal(fake.vcpu, &vm.vcpus[1]); /* vm_cpu_off's: none of the others was called */
    assert_int_equal(fake.vm_power_off + fake.vm_stop + fake.vm_reset + fake.vm_ram_fault, 0);
    assert_int_equal(vm.vcpus[0].state, VCPU_ON);
}

/* CPU_OFF of the last vCPU on goes the same way: psci.c does not power the VM off itself. */
static void test_cpu_off_of_the_last_vcpu_goes_to_the_vm(void **state)
{
    (void)state;

    assert_false(call_from(0, CPU_OFF, 0, 0, 0));
    assert_ptr_equal(fake.vcpu, &vm.vcpus[0]);
    assert_int_equal(fake.vm_power_off + fake.vm_stop + fake.vm_reset, 0);
}

static void test_cpu_suspend_waits_like_wfi(void **state)
{
    (void)state;

    vm.vcpus[0].regs.x[0] = 0;
    assert_int_equal(call(CPU_SUSPEND, 0x10000, 0x40080000, 0), SUCCESS);
    assert_int_equal(fake.vcpu_block, 1);
    assert_ptr_equal(fake.blocked, &vm.vcpus[0]);
    assert_int_equal(call(CPU_SUSPEND | SMC64, 0, 0x40080000, 0), SUCCESS);
    assert_int_equal(fake.vcpu_block, 2);
    assert_int_equal(vm.vcpus[0].state, VCPU_ON);
}

static void test_system_off_powers_off_this_vm(void **state)
{
    (void)state;

    assert_false(call_from(0, SYSTEM_OFF, 0, 0, 0));
    assert_int_equal(fake.vm_power_off, 1);
    assert_ptr_equal(fake.vm, &vm);
    assert_int_equal(fake.vm_reset, 0);
}

static void test_system_reset_resets_this_vm(void **state)
{
    (void)state;

    vm.vcpus[2].state = VCPU_ON;
    assert_false(call_from(2, SYSTEM_RESET, 0, 0, 0));
    assert_int_equal(fake.vm_reset, 1);
    assert_ptr_equal(fake.vm, &vm);
    assert_ptr_equal(fake.vcpu, &vm.vcpus[2]);
    assert_int_equal(fake.vm_power_off, 0);
}

static void test_vendor_calls(void **state)
{
    uint64_t *x = vm.vcpus[0].regs.x;
    (void)state;

    assert_true(call_from(0, 0x8600FF01u, 0, 0, 0)); /* UID */
    assert_int_equal(x[0], 0x6b6c7542);              /* "Bulk" */
    assert_int_equal(x[1], 0x64616568);              /* "head" */
    assert_int_equal(x[2], 1);
    assert_int_equal(x[3], 0);
    assert_int_equal(call(0x8600FF00u, 0, 0, 0), 2); /* call count */
    assert_int_equal(call(0x86000002u, 0, 0, 0), 0); /* null */
    vm.boot_count = 3;
    assert_int_equal(call(0x86000001u, 0, 0, 0), 3); /* boot count */
}

#define T(fn) cmocka_unit_test_setup(fn, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_versions),
        T(test_function_id_is_w0),
        T(test_smccc_arch_features),
        T(test_features_of_implemented_functions),
        T(test_features_of_missing_functions),
        T(test_features_agree_with_calls_for_smc64_forms_that_do_not_exist),
        T(test_unknown_ids_are_not_supported),
        T(test_cpu_on_starts_an_off_vcpu),
        T(test_cpu_on_smc64_takes_64_bit_arguments),
        T(test_cpu_on_of_a_running_vcpu_is_already_on),
        T(test_cpu_on_of_a_starting_vcpu_is_on_pending),
        T(test_cpu_on_of_a_cpu_the_vm_does_not_have),
        T(test_cpu_on_ignores_non_affinity_mpidr_bits),
        T(test_affinity_info_states),
        T(test_affinity_info_bad_arguments),
        T(test_cpu_off_goes_to_the_vm),
        T(test_cpu_off_of_the_last_vcpu_goes_to_the_vm),
        T(test_cpu_suspend_waits_like_wfi),
        T(test_system_off_powers_off_this_vm),
        T(test_system_reset_resets_this_vm),
        T(test_vendor_calls),
    };

    return cmocka_run_group_tests_name("psci", tests, NULL, NULL);
}
