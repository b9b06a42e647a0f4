/*
 * el2/traps.c: guest exits as the vectors hand them to guest_exit(), with ESR_EL2, FAR_EL2 and
 * HPFAR_EL2 in the fake CPU. Linked with the real inject.c, psci.c and vcpu.c, so an injected
 * abort is checked in the guest's EL1 registers; the VM's life cycle, the scheduler and the GIC
 * are fakes that record. Syndromes are built here from the Arm ARM's field positions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/asm.h"
#include "bulkhead/boot.h"
#include "bulkhead/gic.h"
#include "bulkhead/traps.h"
#include "bulkhead/vm.h"
#include "fake/fake.h"
#include "support/capture.h"
#include "support/fake_mmio.h"

#define VBAR 0xffff800010010000ULL
#define PC 0xffff800010203040ULL
#define SPSR_EL1H 0x3c5ULL

/* ESR_EL2: EC, IL, and the data-abort ISS (ISV, SAS, SSE, SRT, SF, WnR, DFSC). */
#define EC(ec) ((uint64_t)(ec) << 26)
#define IL (1ULL << 25)
#define ISV (1ULL << 24)
#define SAS(log2) ((uint64_t)(log2) << 22)
#define SSE (1ULL << 21)
#define SRT(r) ((uint64_t)(r) << 16)
#define SF (1ULL << 15)
#define WNR (1ULL << 6)
#define DFSC_TRANSLATION_L3 0x07ULL
#define DFSC_PERMISSION_L3 0x0fULL
#define EC_DABT_LOWER 0x24
#define EC_IABT_LOWER 0x20

/* A device of one page at DEV_BASE that records its accesses and answers reads with read_value. */
#define DEV_BASE 0x09000000ULL
#define DEV_VA 0xffff7dfffe600000ULL /* where the guest maps it; only the page offset matters */
#define NOWHERE 0x0a000010ULL        /* no device there, and not RAM */

static struct fake_dev dev;

static struct vm vm;
static struct vcpu vm_vcpus[MAX_VCPUS];
static struct vcpu *vcpu = &vm_vcpus[1]; /* not vCPU 0, so that an index mix-up shows */

/* The counter's frequency; each case starts an hour after the last, so that the report budget
 * el2/traps.c keeps per VM for the hypervisor's life is full again. */
#define TICKS_PER_S 62500000ULL

static int setup(void **state)
{
    static uint64_t clock;

    (void)state;
    fake_reset();
    clock += 3600 * TICKS_PER_S;
    fake_sysreg.cntfrq_el0 = TICKS_PER_S;
    fake_sysreg.cntpct_el0 = clock;
    capture_reset();
    memset(&board, 0, sizeof(board));
    board.gic.version = GIC_V3;
    board.timer.irq_hyp = 10;
    board.uart.spi = 1;
    vtimer_init(11, 14, true);

    memset(&vm, 0, sizeof(vm));
    memset(vm_vcpus, 0, sizeof(vm_vcpus));
    vm.vcpus = vm_vcpus;
    strcpy(vm.cfg.name, "vm7");
    vm.cfg.nr_vcpus = 2;
    vm.state = VM_RUNNING;
    vgic_dist_init(&vm.vgic, GIC_V3, 64, 2);
    for (unsigned i = 0; i < 2; i++) {
        vm.vcpus[i] = (struct vcpu){.vm = &vm, .index = i, .pcpu = i, .state = VCPU_ON};
        vgic_cpu_init(&vm.vgic, &vm.vcpus[i].vgic, i, 4);
        vtimer_init_vcpu(&vm.vcpus[i].timer, &vm.vgic, i);
    }
    memset(&dev, 0, sizeof(dev));
    struct mmio_region r = {
        .base = DEV_BASE, .size = 0x1000, .ops = &fake_dev_ops, .dev = &dev, .name = "dev"};
    assert_int_equal(mmio_bus_add(&vm.io.bus, &r), 0);

    for (unsigned i = 0; i < 31; i++) {
        vcpu->regs.x[i] = 0x1000 + i;
    }
    vcpu->regs.elr = PC;
    vcpu->regs.spsr = SPSR_EL1H;
    fake_sysreg.vbar_el1 = VBAR;
    return 0;
}

/* An exit of kind `kind` of the vCPU; true if it resumes (guest_exit returned it), false if its
 * CPU went back to the scheduler. */
static bool exit_kind(unsigned kind)
{
    struct vcpu *volatile back = NULL;
    bool scheduled = FAKE_CATCH_NORETURN(back = guest_exit(vcpu, kind));

    if (!scheduled) {
        assert_ptr_equal(back, vcpu);
    }
    return !scheduled;
}

/* A synchronous exit with this syndrome, at guest virtual address far and IPA ipa. */
static bool exit_sync(uint64_t esr, uint64_t far, ipa_t ipa)
{
    fake_sysreg.esr_el2 = esr;
    fake_sysreg.far_el2 = far;
    fake_sysreg.hpfar_el2 = (ipa >> 12) << 4; /* FIPA: IPA bits 47:12 in bits 43:4 */
    return exit_kind(EXIT_SYNC);
}

/* A data abort with a valid syndrome: 1 << size_log2 bytes, register rt. */
static uint64_t dabt(unsigned size_log2, unsigned rt, bool write, uint64_t extra)
{
    return EC(EC_DABT_LOWER) | IL | ISV | SAS(size_log2) | SRT(rt) | (write ? WNR : 0) |
           DFSC_TRANSLATION_L3 | extra;
}

static bool dev_access(uint64_t esr, uint64_t offset)
{
    return exit_sync(esr, DEV_VA + offset, DEV_BASE + offset);
}

/* The guest got a synchronous external abort on a data access to far, at its EL1h vector. */
static void assert_dabt_injected(uint64_t far, bool write)
{
    assert_int_equal(fake_sysreg.esr_el1,
                     EC(0x25) | IL | (write ? WNR : 0) | 0x10 /* synchronous external */);
    assert_int_equal(fake_sysreg.far_el1, far);
    assert_int_equal(fake_sysreg.elr_el1, PC);
    assert_int_equal(vcpu->regs.elr, VBAR + 0x200);
}

static void test_mmio_write_stores_the_access_size_bytes(void **state)
{
    static const uint64_t want[] = {0x88, 0x7788, 0x55667788, 0x1122334455667788ULL};
    (void)state;

    for (unsigned s = 0; s < 4; s++) {
        vcpu->regs.x[5] = 0x1122334455667788ULL;
        vcpu->regs.elr = PC;
        assert_true(dev_access(dabt(s, 5, true, SF), 0x18));
        assert_int_equal(dev.writes, s + 1);
        assert_int_equal(dev.written, want[s]);
        assert_int_equal(dev.size, 1u << s);
        assert_int_equal(dev.offset, 0x18);
        assert_int_equal(dev.vcpu, 1);
        assert_int_equal(vcpu->regs.x[5], 0x1122334455667788ULL);
        assert_int_equal(vcpu->regs.elr, PC + 4);
    }
    assert_int_equal(dev.reads, 0);
    assert_int_equal(fake.vm_ram_fault + fake.vm_stop, 0);
}

static void test_mmio_read_zero_extends_to_the_register(void **state)
{
    static const uint64_t want[] = {0xf8, 0xf7f8, 0xf5f6f7f8, 0xf1f2f3f4f5f6f7f8ULL};
    (void)state;

    /* A device that answers more bytes than asked is cut to the access size. */
    dev.read_value = 0xf1f2f3f4f5f6f7f8ULL;
    for (unsigned s = 0; s < 4; s++) {
        vcpu->regs.x[7] = 0xaaaaaaaaaaaaaaaaULL;
        vcpu->regs.elr = PC;
        assert_true(dev_access(dabt(s, 7, false, SF), 0x20));
        assert_int_equal(dev.size, 1u << s);
        assert_int_equal(vcpu->regs.x[7], want[s]);
        assert_int_equal(vcpu->regs.elr, PC + 4);
    }
    assert_int_equal(dev.writes, 0);
}

static void test_mmio_read_into_w_register_clears_the_upper_half(void **state)
{
    (void)state;

    dev.read_value = 0xf5f6f7f8;
    vcpu->regs.x[3] = ~0ULL;
    assert_true(dev_access(dabt(2, 3, false, 0), 0));
    assert_int_equal(vcpu->regs.x[3], 0xf5f6f7f8);
}

static void test_mmio_sign_extending_loads(void **state)
{
    (void)state;

    dev.read_value = 0x80; /* LDRSB X */
    assert_true(dev_access(dabt(0, 2, false, SSE | SF), 0));
    assert_int_equal(vcpu->regs.x[2], 0xffffffffffffff80ULL);
    dev.read_value = 0x80; /* LDRSB W */
    assert_true(dev_access(dabt(0, 2, false, SSE), 0));
    assert_int_equal(vcpu->regs.x[2], 0xffffff80ULL);
    dev.read_value = 0x7f; /* positive: nothing to extend */
    assert_true(dev_access(dabt(0, 2, false, SSE | SF), 0));
    assert_int_equal(vcpu->regs.x[2], 0x7f);
    dev.read_value = 0x8001; /* LDRSH X */
    assert_true(dev_access(dabt(1, 2, false, SSE | SF), 0));
    assert_int_equal(vcpu->regs.x[2], 0xffffffffffff8001ULL);
    dev.read_value = 0x80000000; /* LDRSW */
    assert_true(dev_access(dabt(2, 2, false, SSE | SF), 0));
    assert_int_equal(vcpu->regs.x[2], 0xffffffff80000000ULL);
}

/* Register 31 in a load/store is XZR: a store writes zero, whatever x30 holds. */
static void test_mmio_write_of_xzr_stores_zero(void **state)
{
    (void)state;

    vcpu->regs.x[30] = 0xdeadbeefULL;
    assert_true(dev_access(dabt(2, 31, true, 0), 4));
    assert_int_equal(dev.writes, 1);
    assert_int_equal(dev.written, 0);
    assert_int_equal(vcpu->regs.elr, PC + 4);
}

static void test_mmio_read_into_xzr_is_dropped(void **state)
{
    struct guest_regs before;
    (void)state;

    dev.read_value = 0x12345678;
    before = vcpu->regs;
    assert_true(dev_access(dabt(3, 31, false, SF), 8));
    assert_int_equal(dev.reads, 1);
    assert_memory_equal(vcpu->regs.x, before.x, sizeof(before.x));
    assert_int_equal(vcpu->regs.elr, PC + 4);
}

/* A device that refuses the access (MMIO_ABORT) gets the guest an external abort, as a bus
 * error would, and the console names the device (under the VM's report budget): a driver that
 * addresses a register the model lacks is found at once. */
static void test_mmio_refused_by_the_device_injects_an_abort(void **state)
{
    (void)state;

    dev.result = MMIO_ABORT;
    assert_true(dev_access(dabt(2, 1, true, 0), 0x40));
    assert_dabt_injected(DEV_VA + 0x40, true);
    assert_true(capture_contains("bulkhead: vm7: dev refused a 4-byte write at offset 0x40 "));
}

static void test_access_to_nothing_is_reported_and_aborted(void **state)
{
    (void)state;

    fake.ram_fault_answer = false;
    assert_true(exit_sync(dabt(2, 4, false, 0), 0x12345010, NOWHERE));
    /* RAM was asked first, at the IPA (HPFAR's page, FAR's offset). */
    assert_int_equal(fake.vm_ram_fault, 1);
    assert_int_equal(fake.ram_fault_ipa, NOWHERE);
    assert_dabt_injected(0x12345010, false);
    assert_true(capture_contains("vm7: no RAM or device at IPA 0xa000010"));
    assert_true(capture_contains("pc=0xffff800010203040"));
    assert_int_equal(vcpu->regs.x[4], 0x1004); /* the load did not happen */
    assert_int_equal(dev.reads + dev.writes, 0);
}

static void test_write_to_nothing_is_aborted_as_a_write(void **state)
{
    (void)state;

    assert_true(exit_sync(dabt(3, 4, true, SF), 0x12345010, NOWHERE));
    assert_dabt_injected(0x12345010, true);
}

/* A write to a region the VM maps read-only (stage 2 has no write permission there) is named. */
static void test_write_to_read_only_shared_memory_is_named(void **state)
{
    struct shm_map *m = &vm.cfg.shm.maps[0];
    (void)state;

    vm.cfg.shm.nr = 1;
    strcpy(m->id, "chan");
    m->ro = true;
    m->ipa = 0x70000000;
    m->size = 0x100000;
    fake.ram_fault_answer = false;
    assert_true(exit_sync(dabt(3, 4, true, SF) | DFSC_PERMISSION_L3, 0x70000008, 0x70000008));
    assert_dabt_injected(0x70000008, true);
    assert_true(capture_contains(
        "vm7: write to read-only shared memory chan at IPA 0x70000008 (pc=0xffff800010203040"));
    assert_false(capture_contains("no RAM or device"));
    /* A write just past the region is not the region's. */
    capture_reset();
    assert_true(exit_sync(dabt(2, 4, true, 0), 0x70100000, 0x70100000));
    assert_true(capture_contains("vm7: no RAM or device at IPA 0x70100000"));
}

/* A fault without a syndrome outside devices is still answered: RAM or an abort. */
static void test_ram_fault_is_retried_without_report(void **state)
{
    (void)state;

    fake.ram_fault_answer = true;
    assert_true(exit_sync(EC(EC_DABT_LOWER) | IL | DFSC_TRANSLATION_L3, 0x40201000, 0x40201000));
    assert_int_equal(fake.vm_ram_fault, 1);
    assert_ptr_equal(fake.vcpu, vcpu);
    assert_int_equal(fake.ram_fault_ipa, 0x40201000);
    assert_int_equal(vcpu->regs.elr, PC); /* the same instruction again */
    assert_int_equal(fake_sysreg.esr_el1, 0);
    assert_string_equal(capture_text(), "");
}

static void test_instruction_fetch_from_nothing_is_reported_and_aborted(void **state)
{
    (void)state;

    assert_true(exit_sync(EC(EC_IABT_LOWER) | IL | DFSC_TRANSLATION_L3, 0x0a000000, 0x0a000000));
    assert_int_equal(fake.vm_ram_fault, 1);
    assert_int_equal(fake_sysreg.esr_el1, EC(0x21) | IL | 0x10);
    assert_int_equal(fake_sysreg.far_el1, 0x0a000000);
    assert_int_equal(vcpu->regs.elr, VBAR + 0x200);
    assert_true(capture_contains("vm7: no RAM or device at IPA 0xa000000"));
}

static void test_device_access_without_syndrome_stops_the_vm(void **state)
{
    uint64_t esr = EC(EC_DABT_LOWER) | IL | WNR | DFSC_TRANSLATION_L3; /* ISV = 0: e.g. LDP */
    (void)state;

    assert_false(dev_access(esr, 0x30));
    assert_int_equal(fake.vm_stop, 1);
    assert_ptr_equal(fake.vm, &vm);
    assert_ptr_equal(fake.vcpu, vcpu); /* whose PC vm_stop prints */
    assert_non_null(strstr(fake.stop_reason, "no syndrome"));
    assert_int_equal(fake.stop_esr, esr);
    assert_int_equal(fake.stop_far, DEV_VA + 0x30);
    assert_int_equal(fake.pcpu_schedule, 1);
    /* Nothing emulated, nothing injected. */
    assert_int_equal(dev.reads + dev.writes, 0);
    assert_int_equal(vcpu->regs.elr, PC);
    assert_int_equal(fake_sysreg.esr_el1, 0);
}

/* A fault on the guest's own stage-1 table walk (S1PTW) is never a device access, even at a
 * device's address: it is treated as RAM or nothing. */
static void test_stage1_walk_fault_is_not_emulated(void **state)
{
    (void)state;

    assert_true(dev_access(EC(EC_DABT_LOWER) | IL | (1ULL << 7) | DFSC_TRANSLATION_L3, 0x100));
    assert_int_equal(dev.reads + dev.writes, 0);
    assert_int_equal(fake.vm_ram_fault, 1);
    assert_int_equal(fake.vm_stop, 0);
    assert_dabt_injected(DEV_VA + 0x100, false);
}

/* A fault the console reports (an access to nothing). */
static void fault_to_nothing(void)
{
    vcpu->regs.elr = PC;
    fake_sysreg.esr_el1 = 0;
    assert_true(exit_sync(dabt(2, 0, false, 0), NOWHERE, NOWHERE));
    assert_dabt_injected(NOWHERE, false);
}

/* A guest faulting in a loop gets 32 reports, then one line saying the rest are dropped; every
 * fault is still answered with an abort. The budget survives the VM's resets (vm_load clears
 * vm->reports, a new boot_count) and refills by one a second, reporting again once full. */
static void test_report_budget_survives_resets_and_refills(void **state)
{
    (void)state;

    for (unsigned i = 0; i < 40; i++) {
        fault_to_nothing();
    }
    assert_int_equal(capture_count("no RAM or device"), 32);
    assert_int_equal(capture_count("vm7: more faults than 32: not reported for up to 32 s, "
                                   "resets included"),
                     1);

    /* A reset loop: each new life faults again, in the same second. Nothing more is printed. */
    for (unsigned life = 1; life <= 30; life++) {
        vm.boot_count = life;
        for (unsigned i = 0; i < 40; i++) {
            fault_to_nothing();
        }
    }
    assert_int_equal(capture_count("no RAM or device"), 32);
    assert_int_equal(capture_count("more faults than"), 1);

    /* 31 s later, one report short of full: still quiet. */
    fake_sysreg.cntpct_el0 += 31 * TICKS_PER_S;
    fault_to_nothing();
    assert_int_equal(capture_count("no RAM or device"), 32);

    /* Full again: 32 more reports, then one line. */
    fake_sysreg.cntpct_el0 += TICKS_PER_S;
    capture_reset();
    for (unsigned i = 0; i < 40; i++) {
        fault_to_nothing();
    }
    assert_int_equal(capture_count("no RAM or device"), 32);
    assert_int_equal(capture_count("more faults than"), 1);

    /* A VM that faults now and then, slower than the refill, is always reported. */
    fake_sysreg.cntpct_el0 += 3600 * TICKS_PER_S;
    capture_reset();
    for (unsigned i = 0; i < 100; i++) {
        fake_sysreg.cntpct_el0 += TICKS_PER_S;
        fault_to_nothing();
    }
    assert_int_equal(capture_count("no RAM or device"), 100);
    assert_int_equal(capture_count("more faults than"), 0);
}

static void test_unknown_exception_class_stops_the_vm(void **state)
{
    static const unsigned classes[] = {0x00 /* unknown */, 0x0e /* illegal state */,
                                       0x22 /* PC alignment */, 0x3f /* reserved */};
    (void)state;

    for (unsigned i = 0; i < ARRAY_SIZE(classes); i++) {
        setup(NULL);
        uint64_t esr = EC(classes[i]) | IL | 0x1234;
        assert_false(exit_sync(esr, 0xbad000, 0));
        assert_int_equal(fake.vm_stop, 1);
        assert_ptr_equal(fake.vcpu, vcpu);
        assert_string_equal(fake.stop_reason, esr_class_name(classes[i]));
        assert_int_equal(fake.stop_esr, esr);
        assert_int_equal(fake.stop_far, 0xbad000);
        assert_int_equal(fake.pcpu_schedule, 1);
    }
}

static void test_hvc_with_nonzero_immediate_is_not_supported(void **state)
{
    (void)state;

    vcpu->regs.x[0] = 0x84000000; /* PSCI_VERSION, were it HVC #0 */
    assert_true(exit_sync(EC(0x16) | IL | 0x1, 0, 0));
    assert_int_equal(vcpu->regs.x[0], 0xffffffffffffffffULL);
    assert_int_equal(vcpu->regs.elr, PC); /* ELR_EL2 already points past an HVC */
    vcpu->regs.x[0] = 0x84000000;
    assert_true(exit_sync(EC(0x16) | IL | 0xffff, 0, 0));
    assert_int_equal(vcpu->regs.x[0], 0xffffffffffffffffULL);
}

static void test_hvc_0_and_smc_reach_smccc(void **state)
{
    (void)state;

    vcpu->regs.x[0] = 0x84000000;
    assert_true(exit_sync(EC(0x16) | IL, 0, 0));
    assert_int_equal(vcpu->regs.x[0], 0x00010001);
    assert_int_equal(vcpu->regs.elr, PC);
    /* A trapped SMC leaves ELR at the SMC itself: it is skipped. */
    vcpu->regs.x[0] = 0x84000000;
    assert_true(exit_sync(EC(0x17) | IL, 0, 0));
    assert_int_equal(vcpu->regs.x[0], 0x00010001);
    assert_int_equal(vcpu->regs.elr, PC + 4);
    /* SYSTEM_OFF: the vCPU does not come back. */
    vcpu->regs.x[0] = 0x84000008;
    assert_false(exit_sync(EC(0x16) | IL, 0, 0));
    assert_int_equal(fake.vm_power_off, 1);
}

static void test_wfi_blocks_and_wfe_does_not(void **state)
{
    (void)state;

    assert_true(exit_sync(EC(0x01) | IL, 0, 0)); /* WFI */
    assert_int_equal(fake.vcpu_block, 1);
    assert_ptr_equal(fake.blocked, vcpu);
    assert_int_equal(vcpu->regs.elr, PC + 4);
    assert_true(exit_sync(EC(0x01) | IL | 1, 0, 0)); /* WFE */
    assert_int_equal(fake.vcpu_block, 1);
    assert_int_equal(vcpu->regs.elr, PC + 8);
}

/* WFIT (ISS.TI 2) and WFET (3) complete at once: blocking would ignore their deadline. FEAT_WFxT is
 * hidden from guests (test_idregs), but one may execute them anyway. */
static void test_wfit_and_wfet_do_not_block(void **state)
{
    (void)state;

    assert_true(exit_sync(EC(0x01) | IL | 2, 0, 0)); /* WFIT */
    assert_int_equal(vcpu->regs.elr, PC + 4);
    assert_true(exit_sync(EC(0x01) | IL | 3, 0, 0)); /* WFET */
    assert_int_equal(vcpu->regs.elr, PC + 8);
    assert_int_equal(fake.vcpu_block, 0);
}

/* ISS of an MSR/MRS trap: Op0 21:20, Op2 19:17, Op1 16:14, CRn 13:10, Rt 9:5, CRm 4:1, read 0. */
static uint64_t sysreg_esr(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2,
                           unsigned rt, bool read)
{
    return EC(0x18) | IL | ((uint64_t)op0 << 20) | ((uint64_t)op2 << 17) | ((uint64_t)op1 << 14) |
           ((uint64_t)crn << 10) | ((uint64_t)rt << 5) | ((uint64_t)crm << 1) | (read ? 1 : 0);
}

static void test_unhandled_sysreg_is_undefined(void **state)
{
    (void)state;

    /* MRS x2, S3_7_C15_C2_0: an IMPLEMENTATION DEFINED register. */
    assert_true(exit_sync(sysreg_esr(3, 7, 15, 2, 0, 2, true), 0, 0));
    assert_int_equal(fake_sysreg.esr_el1, IL); /* EC 0: unknown reason */
    assert_int_equal(vcpu->regs.elr, VBAR + 0x200);
    assert_int_equal(vcpu->regs.x[2], 0x1002);
    assert_true(capture_contains("vm7: unhandled system register read op0=3 op1=7 CRn=15 CRm=2 "
                                 "op2=0"));
}

static void test_dc_set_way_is_skipped(void **state)
{
    (void)state;

    assert_true(exit_sync(sysreg_esr(1, 0, 7, 14, 2, 0, false), 0, 0)); /* DC CISW */
    assert_int_equal(vcpu->regs.elr, PC + 4);
    assert_int_equal(fake_sysreg.esr_el1, 0);
    assert_int_equal(fake_sysreg.count.dsb, 1);
}

static void test_hidden_features_are_undefined(void **state)
{
    (void)state;

    assert_true(exit_sync(EC(0x19) | IL, 0, 0)); /* SVE */
    assert_int_equal(fake_sysreg.esr_el1, IL);
    assert_int_equal(vcpu->regs.elr, VBAR + 0x200);
    assert_int_equal(fake.vm_stop, 0);
}

/* SME (EC 0x1D: SMSTART, MRS SVCR, SMCR_EL1, ...) is hidden like SVE: an UNDEF, not a stop. */
static void test_sme_is_undefined(void **state)
{
    (void)state;

    assert_true(exit_sync(EC(0x1d) | IL | 0x1, 0, 0));
    assert_int_equal(fake_sysreg.esr_el1, IL);
    assert_int_equal(vcpu->regs.elr, VBAR + 0x200);
    assert_int_equal(fake_sysreg.elr_el1, PC);
    assert_int_equal(fake.vm_stop, 0);
    assert_int_equal(fake.pcpu_schedule, 0);
}

/* MSR ICC_SGI1R_EL1 / ICC_ASGI1R_EL1 / ICC_SGI0R_EL1 (op0=3 op1=0 CRn=12 CRm=11 op2=5/6/7) all
 * send the SGI: our guests have one security state, so Group 0 and the alternate group are the
 * same SGI generation as Group 1. */
static void test_sgi_generation_registers_send_the_sgi(void **state)
{
    static const unsigned op2[] = {5, 6, 7};
    (void)state;

    for (unsigned i = 0; i < ARRAY_SIZE(op2); i++) {
        setup(NULL);
        unsigned sgi = 3 + i;
        vcpu->regs.x[9] = ((uint64_t)sgi << 24) | 1; /* TargetList: vCPU 0 */
        assert_true(exit_sync(sysreg_esr(3, 0, 12, 11, op2[i], 9, false), 0, 0));
        assert_int_equal(vcpu->regs.elr, PC + 4);
        assert_int_equal(fake_sysreg.esr_el1, 0); /* no UNDEF */
        assert_true(vgic_get_irq(&vm.vgic, 0, sgi)->pending_latch);
        assert_false(vgic_get_irq(&vm.vgic, 1, sgi)->pending_latch);
        assert_string_equal(capture_text(), "");
    }
}

static void test_serror_and_aarch32_stop_the_vm(void **state)
{
    (void)state;

    assert_false(exit_kind(EXIT_SERROR));
    assert_string_equal(fake.stop_reason, "SError");
    setup(NULL);
    assert_false(exit_kind(EXIT_AARCH32));
    assert_int_equal(fake.vm_stop, 1);
    assert_non_null(strstr(fake.stop_reason, "AArch32"));
}

/* The VM was stopped (or this vCPU turned off) by another CPU while this exit was handled. */
static void test_vcpu_of_a_stopped_vm_does_not_resume(void **state)
{
    (void)state;

    vm.state = VM_STOPPED;
    assert_false(exit_sync(EC(0x01) | IL | 1, 0, 0));
    setup(NULL);
    vcpu->state = VCPU_OFF;
    assert_false(exit_sync(EC(0x01) | IL | 1, 0, 0));
    assert_int_equal(fake.pcpu_schedule, 1);
}

static void test_physical_interrupts(void **state)
{
    unsigned vtimer = 11 + 16, hyp_timer = 10 + 16, uart = 1 + 32;
    (void)state;

    fake.iar[0] = uart;
    fake.iar[1] = hyp_timer;
    fake.iar[2] = SGI_KICK;
    fake.iar[3] = vtimer;
    fake.iar[4] = uart; /* after the virtual timer's: left for the exit it causes at once */
    fake.nr_iar = 5;
    assert_true(exit_kind(EXIT_IRQ));
    assert_int_equal(fake.acked, 4);
    assert_int_equal(fake.eoi, 4);
    /* The virtual timer's is deactivated by the guest's EOI (hardware-linked), not here. */
    assert_int_equal(fake.deactivate, 3);
    assert_int_equal(fake.console_receive, 1);
    assert_int_equal(fake.ptimer_sync, 1);
    assert_true(vgic_get_irq(&vm.vgic, 1, vtimer)->pending_latch);
    assert_false(vgic_get_irq(&vm.vgic, 0, vtimer)->pending_latch);
    assert_int_equal(vcpu->regs.elr, PC);
}

static void test_interrupt_storm_is_bounded(void **state)
{
    (void)state;

    for (unsigned i = 0; i < FAKE_MAX_IAR; i++) {
        fake.iar[i] = SGI_KICK;
    }
    fake.nr_iar = FAKE_MAX_IAR;
    assert_true(exit_kind(EXIT_IRQ));
    assert_int_equal(fake.acked, 16);
}

#define T(fn) cmocka_unit_test_setup(fn, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_mmio_write_stores_the_access_size_bytes),
        T(test_mmio_read_zero_extends_to_the_register),
        T(test_mmio_read_into_w_register_clears_the_upper_half),
        T(test_mmio_sign_extending_loads),
        T(test_mmio_write_of_xzr_stores_zero),
        T(test_mmio_read_into_xzr_is_dropped),
        T(test_mmio_refused_by_the_device_injects_an_abort),
        T(test_access_to_nothing_is_reported_and_aborted),
        T(test_write_to_nothing_is_aborted_as_a_write),
        T(test_write_to_read_only_shared_memory_is_named),
        T(test_ram_fault_is_retried_without_report),
        T(test_instruction_fetch_from_nothing_is_reported_and_aborted),
        T(test_device_access_without_syndrome_stops_the_vm),
        T(test_stage1_walk_fault_is_not_emulated),
        T(test_report_budget_survives_resets_and_refills),
        T(test_unknown_exception_class_stops_the_vm),
        T(test_hvc_with_nonzero_immediate_is_not_supported),
        T(test_hvc_0_and_smc_reach_smccc),
        T(test_wfi_blocks_and_wfe_does_not),
        T(test_wfit_and_wfet_do_not_block),
        T(test_unhandled_sysreg_is_undefined),
        T(test_dc_set_way_is_skipped),
        T(test_hidden_features_are_undefined),
        T(test_sme_is_undefined),
        T(test_sgi_generation_registers_send_the_sgi),
        T(test_serror_and_aarch32_stop_the_vm),
        T(test_vcpu_of_a_stopped_vm_does_not_resume),
        T(test_physical_interrupts),
        T(test_interrupt_storm_is_bounded),
    };

    return cmocka_run_group_tests_name("traps", tests, NULL, NULL);
}
