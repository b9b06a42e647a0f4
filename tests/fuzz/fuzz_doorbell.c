/*
 * The shared-memory doorbell (vdev/doorbell.c) between two VMs on one channel, as el2/vm.c creates
 * it (one device per member VM, a register page and a level SPI): register reads and writes of any
 * offset in its page, width and value (its own registers and its PL061 face) through each VM's
 * MMIO bus, the BH_HVC_DOORBELL_RING and _ACK hypercalls with any arguments, and VM resets (a
 * member's restart rings its peers).
 *
 * Input: operations, each an opcode byte (bits 0-2: read, write, ring, ack, reset; bit 4: which VM)
 * then for an access the offset (2 bytes) and width (1), and for a write the value (8); for a ring
 * the doorbell's index (1) and mask (8); for an ack the index (1).
 * Checked besides "no crash": the doorbell's SPI in each VM's vGIC is what its PENDING or its
 * PL061 GPIOMIS says (the first until the guest programs the PL061, then the second).
 */
#include "bulkhead/mmio.h"
#include "bulkhead/shmem.h"
#include "fuzz_input.h"
#include "support/capture.h"

#define DOORBELL_IPA 0x70000000ULL
#define DOORBELL_SPI 8 /* INTID 40 */
#define NR_VMS 2

static struct fuzz_vm vms[NR_VMS];
static bool created;

static enum mmio_result access(struct fuzz_vm *vm, uint64_t off, unsigned size, bool write,
                               uint64_t *val)
{
    struct mmio_access a = {.ipa = DOORBELL_IPA + off, .size = (uint8_t)size, .write = write};

    return mmio_bus_access(&vm->io.bus, 0, &a, val);
}

static void create(void)
{
    for (unsigned i = 0; i < NR_VMS; i++) {
        char name[8];
        snprintf(name, sizeof(name), "db%u", i);
        CHECK(fuzz_vm_create(&vms[i], name, GIC_V3, 1) == 0);
        const struct shm_doorbell_params params = {
            .channel = 0, .member = i, .members = (1u << NR_VMS) - 1, .index = 0};
        struct vdev_desc desc = {
            .compatible = doorbell_model.compatible,
            .reg = {{DOORBELL_IPA, SHM_DOORBELL_SIZE}},
            .nr_reg = 1,
            .spis = {DOORBELL_SPI},
            .nr_spis = 1,
            .params = &params,
        };
        CHECK(vdev_create(&vms[i].io, &desc) == 0);
    }
}

static void check_lines(void)
{
    for (unsigned i = 0; i < NR_VMS; i++) {
        bool line = vgic_get_irq(&vms[i].vgic, 0, VGIC_NR_PRIVATE + DOORBELL_SPI)->line;
        uint64_t pending = 0, mis = 0;
        CHECK(access(&vms[i], SHM_DB_PENDING, 4, false, &pending) == MMIO_OK);
        CHECK(access(&vms[i], PL061_MIS, 4, false, &mis) == MMIO_OK);
        CHECK(line == (pending != 0) || line == (mis != 0));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size, 0};

    if (!created) {
        create();
        created = true;
    }
    for (unsigned i = 0; i < NR_VMS; i++) {
        fuzz_vm_reset(&vms[i]);
    }
    capture_reset();
    for (unsigned n = 0; fuzz_more(&in) && n < 4096; n++) {
        uint8_t op = fuzz_u8(&in);
        struct fuzz_vm *vm = &vms[(op >> 4) & 1];
        uint64_t val = 0;
        switch (op & 7) {
        case 0:
        case 1: {
            uint64_t off = fuzz_u16(&in) & (SHM_DOORBELL_SIZE - 1);
            unsigned width = fuzz_width(&in);
            if (op & 1) {
                val = fuzz_u64(&in);
            }
            (void)access(vm, off, width, op & 1, &val);
            break;
        }
        case 2: {
            uint8_t index = fuzz_u8(&in);
            (void)doorbell_hvc_ring(&vm->io, index, fuzz_u64(&in));
            break;
        }
        case 3: (void)doorbell_hvc_ack(&vm->io, fuzz_u8(&in)); break;
        default: fuzz_vm_reset(vm); break;
        }
        check_lines();
    }
    return 0;
}
