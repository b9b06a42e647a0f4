/*
 * SMCCC calls as a guest makes them (HVC or SMC with any x0-x3) through the hypervisor's dispatch,
 * el2/psci.c's smccc_handle(), over the host tests' fakes of the scheduler and the VM's life cycle
 * (tests/host/fake): PSCI 1.1, the SMCCC architecture calls, Bulkhead's vendor calls, a VM of 1-4
 * vCPUs whose states follow what the calls ask (the scheduler's part played here: a vCPU turned on
 * starts, CPU_OFF stops it, SYSTEM_RESET leaves vCPU 0 on).
 *
 * Input: one byte of setup (bits 0-1: vCPUs - 1), then operations: an opcode byte (bit 0: a call,
 * else the scheduler runs a vCPU that was turned on; bits 4-7: the vCPU), and for a call
 * x0 (8 bytes: the function ID in W0), x1, x2, x3 (8 bytes each).
 * Checked besides "no crash": only vCPUs that are on make calls; every vCPU state stays one of
 * the three; a call that resumes the caller leaves it on; CPU_ON never changes a vCPU that is on.
 */
#include "bulkhead/hvcall.h"
#include "bulkhead/psci.h"
#include "bulkhead/vm.h"
#include "fake/fake.h"
#include "fuzz_input.h"
#include "support/capture.h"

static struct vm vm;
static struct vcpu vcpus[MAX_VCPUS]; /* the hypervisor allocates a VM's vCPUs at boot */

static void vm_init(unsigned nr_vcpus)
{
    memset(&vm, 0, sizeof(vm));
    memset(vcpus, 0, sizeof(vcpus));
    vm.vcpus = vcpus;
    snprintf(vm.cfg.name, sizeof(vm.cfg.name), "vm0");
    vm.cfg.nr_vcpus = nr_vcpus;
    vm.state = VM_RUNNING;
    vm_io_init(&vm.io, vm.cfg.name, nr_vcpus, &vm.vgic, &vm.s2, NULL);
    for (unsigned i = 0; i < nr_vcpus; i++) {
        vm.vcpus[i].vm = &vm;
        vm.vcpus[i].index = i;
        vm.vcpus[i].pcpu = i;
        vm.vcpus[i].state = i == 0 ? VCPU_ON : VCPU_OFF;
    }
}

static void check_states(void)
{
    for (unsigned i = 0; i < vm.cfg.nr_vcpus; i++) {
        enum vcpu_state s = vm.vcpus[i].state;
        CHECK(s == VCPU_OFF || s == VCPU_ON_PENDING || s == VCPU_ON);
    }
}

static void call(unsigned from, struct fuzz_input *in)
{
    struct vcpu *v = &vm.vcpus[from];
    uint64_t *x = v->regs.x;
    enum vcpu_state before[MAX_VCPUS];

    for (unsigned i = 0; i < 4; i++) {
        x[i] = fuzz_u64(in);
    }
    if (v->state != VCPU_ON) {
        return; /* a vCPU that is not on makes no call */
    }
    for (unsigned i = 0; i < vm.cfg.nr_vcpus; i++) {
        before[i] = vm.vcpus[i].state;
    }
    uint32_t fid = (uint32_t)x[0];
    bool resumes = false;
    bool noreturn = FAKE_CATCH_NORETURN(resumes = smccc_handle(v));
    check_states();
    if ((fid & ~PSCI_FN64_BIT) == PSCI_0_2_FN_CPU_ON && !noreturn) {
        for (unsigned i = 0; i < vm.cfg.nr_vcpus; i++) {
            CHECK(before[i] != VCPU_ON || vm.vcpus[i].state == VCPU_ON);
        }
    }
    if (noreturn || !resumes) {
        /* What the VM's life-cycle calls would have done (fake/vm.c only records them). */
        if (fid == PSCI_0_2_FN_SYSTEM_RESET || fid == PSCI_0_2_FN_SYSTEM_OFF) {
            vm_init(vm.cfg.nr_vcpus);
            vm.boot_count++;
        } else {
            v->state = VCPU_OFF;
        }
        return;
    }
    CHECK(v->state == VCPU_ON);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size, 0};
    unsigned nr_vcpus = 1 + (fuzz_u8(&in) & 3);

    if (nr_vcpus > MAX_VCPUS) {
        nr_vcpus = MAX_VCPUS;
    }
    fake_reset();
    capture_reset();
    vm_init(nr_vcpus);
    for (unsigned n = 0; fuzz_more(&in) && n < 1024; n++) {
        uint8_t op = fuzz_u8(&in);
        unsigned cpu = (op >> 4) % nr_vcpus;
        if (op & 1) {
            call(cpu, &in);
        } else if (vm.vcpus[cpu].state == VCPU_ON_PENDING) {
            vm.vcpus[cpu].state = VCPU_ON; /* its physical CPU picked it up */
        }
    }
    return 0;
}
