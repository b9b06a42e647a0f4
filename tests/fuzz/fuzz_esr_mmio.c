/*
 * A guest's data aborts and trapped system-register accesses as the exit handlers decode them
 * (el2/esr.c), and the MMIO accesses they describe routed through a VM's bus (vdev/mmio.c) to its
 * devices (the vGIC's frames and the PL011), as el2/traps.c's data-abort handler does it: any
 * ESR, any HPFAR/FAR, any register value, on a GICv2 or a GICv3 VM of 1-4 vCPUs.
 *
 * Input: one byte of setup (bit 0: GICv3, bits 1-2: vCPUs - 1), then records of
 * ESR (4 bytes), HPFAR (8), FAR (8), Rt's value (8), vCPU (1).
 * Checked besides "no crash": a decoded access has a width of 1, 2, 4 or 8 bytes and a register
 * number below 32, and a load's value fits the register it goes to.
 */
#include "bulkhead/esr.h"
#include "bulkhead/mmio.h"
#include "fuzz_input.h"
#include "support/capture.h"

static struct fuzz_vm vms[2][MAX_VCPUS]; /* [GICv3][vCPUs - 1] */
static bool created[2][MAX_VCPUS];

static void one_access(struct fuzz_vm *vm, struct fuzz_input *in)
{
    uint64_t esr = fuzz_u32(in);
    uint64_t hpfar = fuzz_u64(in), far = fuzz_u64(in), val = fuzz_u64(in);
    unsigned vcpu = fuzz_u8(in) % vm->nr_vcpus;
    struct sysreg_access sr;
    struct dabt_info d;

    (void)esr_class_name(ESR_EC(esr));
    esr_decode_sysreg(esr, &sr);
    CHECK(sr.reg < 32);

    ipa_t ipa = fault_ipa(hpfar, far);
    esr_decode_dabt(esr, ipa, &d);
    if (d.s1ptw || !mmio_bus_find(&vm->io.bus, ipa) || !d.isv) {
        return;
    }
    CHECK(d.access.size == 1 || d.access.size == 2 || d.access.size == 4 || d.access.size == 8);
    CHECK(d.access.reg < 32);
    CHECK(d.access.ipa == ipa);
    if (d.access.reg == 31) {
        val = 0; /* xzr */
    }
    if (d.access.size < 8) {
        val &= (1ULL << (8 * d.access.size)) - 1;
    }
    if (mmio_bus_access(&vm->io.bus, vcpu, &d.access, &val) == MMIO_OK && !d.access.write) {
        uint64_t loaded = mmio_load_value(&d.access, val);
        CHECK(d.access.reg64 || loaded <= UINT32_MAX);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size, 0};
    uint8_t setup = fuzz_u8(&in);
    unsigned v3 = setup & 1, nr_vcpus = 1 + ((setup >> 1) & 3);
    struct fuzz_vm *vm = &vms[v3][nr_vcpus - 1];

    if (!created[v3][nr_vcpus - 1]) {
        char name[8];
        snprintf(name, sizeof(name), "v%uc%u", v3 ? 3 : 2, nr_vcpus);
        CHECK(fuzz_vm_create(vm, name, v3 ? GIC_V3 : GIC_V2, nr_vcpus) == 0);
        created[v3][nr_vcpus - 1] = true;
    }
    fuzz_vm_reset(vm);
    capture_reset();
    while (fuzz_more(&in)) {
        one_access(vm, &in);
    }
    return 0;
}
