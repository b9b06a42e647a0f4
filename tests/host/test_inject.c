/*
 * el2/inject.c: exceptions delivered to a guest's EL1 as the architecture takes them (Arm ARM
 * D1.3): the vector offset from the interrupted state, the syndrome's class (current EL or lower
 * EL), ESR/FAR/ELR/SPSR_EL1, and the state the guest resumes in. Expected values are written from
 * the architecture's numbers, not from the code's own macros; registers are the fake CPU's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bulkhead/inject.h"
#include "bulkhead/vcpu.h"
#include "fake/fake.h"

#define VBAR 0xffff800010010000ULL
#define OLD_PC 0x40081234ULL
#define FAR_SENTINEL 0x5a5a5a5a5a5a5a5aULL

/* SPSR values of an interrupted AArch64 context: M[3:0], with NZCV and some DAIF bits set so
 * that a copy that drops bits shows. */
#define SPSR_FLAGS 0x60000180ULL /* Z, C, A, I */
#define M_EL0T 0x0ULL
#define M_EL1T 0x4ULL
#define M_EL1H 0x5ULL
#define M_AARCH32_USR 0x10ULL /* M[4] = 1: AArch32, User mode */

/* ESR_ELx fields. */
#define EC_SHIFT 26
#define IL (1ULL << 25)
#define WNR (1ULL << 6)
#define FSC_SYNC_EXT 0x10ULL

/* Exception entry: EL1h with D, A, I and F masked. */
#define SPSR_ENTRY 0x3c5ULL

static struct vcpu vcpu;

static int setup(void **state)
{
    (void)state;
    fake_reset();
    vcpu = (struct vcpu){0};
    vcpu.regs.elr = OLD_PC;
    fake_sysreg.vbar_el1 = VBAR;
    fake_sysreg.far_el1 = FAR_SENTINEL;
    return 0;
}

static void from(uint64_t mode)
{
    vcpu.regs.spsr = SPSR_FLAGS | mode;
}

/* The interrupted state went to ELR/SPSR_EL1 whole; the vCPU resumes at the vector, in EL1h with
 * DAIF masked. */
static void assert_taken(uint64_t mode, uint64_t vector_offset)
{
    assert_int_equal(fake_sysreg.elr_el1, OLD_PC);
    assert_int_equal(fake_sysreg.spsr_el1, SPSR_FLAGS | mode);
    assert_int_equal(vcpu.regs.elr, VBAR + vector_offset);
    assert_int_equal(vcpu.regs.spsr, SPSR_ENTRY);
}

static void test_undef_from_el1h_uses_current_el_spx_vector(void **state)
{
    (void)state;

    from(M_EL1H);
    inject_undef(&vcpu);
    assert_taken(M_EL1H, 0x200);
    assert_int_equal(fake_sysreg.esr_el1, (0x00ULL << EC_SHIFT) | IL);
    /* An undefined instruction has no fault address: FAR_EL1 is left alone. */
    assert_int_equal(fake_sysreg.far_el1, FAR_SENTINEL);
}

static void test_undef_from_el1t_uses_current_el_sp0_vector(void **state)
{
    (void)state;

    from(M_EL1T);
    inject_undef(&vcpu);
    assert_taken(M_EL1T, 0x000);
    assert_int_equal(fake_sysreg.esr_el1, IL);
}

static void test_undef_from_el0_uses_lower_el_a64_vector(void **state)
{
    (void)state;

    from(M_EL0T);
    inject_undef(&vcpu);
    assert_taken(M_EL0T, 0x400);
    assert_int_equal(fake_sysreg.esr_el1, IL);
}

static void test_undef_from_aarch32_uses_lower_el_a32_vector(void **state)
{
    (void)state;

    from(M_AARCH32_USR);
    inject_undef(&vcpu);
    assert_taken(M_AARCH32_USR, 0x600);
}

static void test_dabt_from_el1h_is_a_current_el_abort(void **state)
{
    (void)state;

    from(M_EL1H);
    inject_dabt(&vcpu, 0x9000fe0, false);
    assert_taken(M_EL1H, 0x200);
    assert_int_equal(fake_sysreg.esr_el1, (0x25ULL << EC_SHIFT) | IL | FSC_SYNC_EXT);
    assert_int_equal(fake_sysreg.far_el1, 0x9000fe0);
}

static void test_dabt_write_sets_wnr(void **state)
{
    (void)state;

    from(M_EL1H);
    inject_dabt(&vcpu, 0x1000, true);
    assert_int_equal(fake_sysreg.esr_el1, (0x25ULL << EC_SHIFT) | IL | WNR | FSC_SYNC_EXT);
}

static void test_dabt_from_el1t_is_current_el_at_sp0_vector(void **state)
{
    (void)state;

    from(M_EL1T);
    inject_dabt(&vcpu, 0x2000, false);
    assert_taken(M_EL1T, 0x000);
    assert_int_equal(fake_sysreg.esr_el1, (0x25ULL << EC_SHIFT) | IL | FSC_SYNC_EXT);
}

static void test_dabt_from_el0_is_a_lower_el_abort(void **state)
{
    (void)state;

    from(M_EL0T);
    inject_dabt(&vcpu, 0xdead000, true);
    assert_taken(M_EL0T, 0x400);
    assert_int_equal(fake_sysreg.esr_el1, (0x24ULL << EC_SHIFT) | IL | WNR | FSC_SYNC_EXT);
    assert_int_equal(fake_sysreg.far_el1, 0xdead000);
}

static void test_dabt_from_aarch32_is_lower_el_at_a32_vector(void **state)
{
    (void)state;

    from(M_AARCH32_USR);
    inject_dabt(&vcpu, 0x3000, false);
    assert_taken(M_AARCH32_USR, 0x600);
    assert_int_equal(fake_sysreg.esr_el1, (0x24ULL << EC_SHIFT) | IL | FSC_SYNC_EXT);
}

static void test_iabt_classes_by_source(void **state)
{
    (void)state;

    from(M_EL1H);
    inject_iabt(&vcpu, 0x50000000);
    assert_taken(M_EL1H, 0x200);
    assert_int_equal(fake_sysreg.esr_el1, (0x21ULL << EC_SHIFT) | IL | FSC_SYNC_EXT);
    assert_int_equal(fake_sysreg.far_el1, 0x50000000);

    setup(NULL);
    from(M_EL0T);
    inject_iabt(&vcpu, 0x60000000);
    assert_taken(M_EL0T, 0x400);
    assert_int_equal(fake_sysreg.esr_el1, (0x20ULL << EC_SHIFT) | IL | FSC_SYNC_EXT);
    assert_int_equal(fake_sysreg.far_el1, 0x60000000);
}

/* A second exception while the guest handles the first (its handler faults): the return state
 * saved is the handler's, and the vector is the current-EL one. */
/* A guest's own BRK #0x800 (Linux's BUG) taken to EL2: EL1 gets EC 0x3c with the immediate, at
 * its current-EL vector, as if EL2 had not been there. */
static void test_brk_goes_to_the_guest_as_it_came(void **state)
{
    (void)state;

    from(M_EL1H);
    inject_brk(&vcpu, (0x3cULL << EC_SHIFT) | IL | 0x800);
    assert_taken(M_EL1H, 0x200);
    assert_int_equal(fake_sysreg.esr_el1, (0x3cULL << EC_SHIFT) | IL | 0x800);
    assert_int_equal(fake_sysreg.far_el1, FAR_SENTINEL);
    setup(NULL);
    from(M_EL0T);
    inject_brk(&vcpu, (0x3cULL << EC_SHIFT) | IL | 0x5);
    assert_taken(M_EL0T, 0x400);
    assert_int_equal(fake_sysreg.esr_el1, (0x3cULL << EC_SHIFT) | IL | 0x5);
}

static void test_nested_injection_returns_to_the_handler(void **state)
{
    (void)state;

    from(M_EL0T);
    inject_dabt(&vcpu, 0x1000, false);
    uint64_t handler_pc = vcpu.regs.elr;
    inject_undef(&vcpu);
    assert_int_equal(fake_sysreg.elr_el1, handler_pc);
    assert_int_equal(fake_sysreg.spsr_el1, SPSR_ENTRY);
    assert_int_equal(vcpu.regs.elr, VBAR + 0x200);
}

/* A vCPU whose vector faults each time it is sent there can never run its handler; one that
 * faults elsewhere in between (a handler that runs, then faults again later) can. */
static void test_a_vector_that_faults_at_once_is_seen_broken(void **state)
{
    (void)state;
    from(M_EL1H);
    inject_iabt(&vcpu, OLD_PC);
    for (unsigned i = 1; i < INJECT_VECTOR_FAULTS; i++) {
        assert_false(inject_vector_broken(&vcpu));
        inject_iabt(&vcpu, vcpu.regs.elr); /* fetching the vector itself aborts */
    }
    assert_false(inject_vector_broken(&vcpu));
    inject_iabt(&vcpu, vcpu.regs.elr);
    assert_true(inject_vector_broken(&vcpu));
}

static void test_a_handler_that_runs_is_not_broken(void **state)
{
    (void)state;
    from(M_EL1H);
    for (unsigned i = 0; i < 4 * INJECT_VECTOR_FAULTS; i++) {
        inject_dabt(&vcpu, 0x9000000, false);
        vcpu.regs.elr += 0x40; /* the handler ran on, and faulted again further down */
        assert_false(inject_vector_broken(&vcpu));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_undef_from_el1h_uses_current_el_spx_vector, setup),
        cmocka_unit_test_setup(test_undef_from_el1t_uses_current_el_sp0_vector, setup),
        cmocka_unit_test_setup(test_undef_from_el0_uses_lower_el_a64_vector, setup),
        cmocka_unit_test_setup(test_undef_from_aarch32_uses_lower_el_a32_vector, setup),
        cmocka_unit_test_setup(test_dabt_from_el1h_is_a_current_el_abort, setup),
        cmocka_unit_test_setup(test_dabt_write_sets_wnr, setup),
        cmocka_unit_test_setup(test_dabt_from_el1t_is_current_el_at_sp0_vector, setup),
        cmocka_unit_test_setup(test_dabt_from_el0_is_a_lower_el_abort, setup),
        cmocka_unit_test_setup(test_dabt_from_aarch32_is_lower_el_at_a32_vector, setup),
        cmocka_unit_test_setup(test_iabt_classes_by_source, setup),
        cmocka_unit_test_setup(test_brk_goes_to_the_guest_as_it_came, setup),
        cmocka_unit_test_setup(test_nested_injection_returns_to_the_handler, setup),
        cmocka_unit_test_setup(test_a_vector_that_faults_at_once_is_seen_broken, setup),
        cmocka_unit_test_setup(test_a_handler_that_runs_is_not_broken, setup),
    };

    return cmocka_run_group_tests_name("inject", tests, NULL, NULL);
}
