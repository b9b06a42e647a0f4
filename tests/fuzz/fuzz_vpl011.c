/*
 * The emulated PL011 (vdev/vpl011.c) as a VM's device: register reads and writes of any offset in
 * its 4 KiB frame, any width and value, by any vCPU, through the VM's MMIO bus, mixed with keyboard
 * bytes coming in through the console multiplexer (el2/console_mux.c's console_route: the VM's
 * port has the keyboard; Ctrl-T switches are in the byte stream too) and the guest's output going
 * out through its console port.
 *
 * Input: operations on a VM of 2 vCPUs: an opcode byte (bits 0-1: read, write, typed byte, VM
 * reset; bit 4: the vCPU), then for an access the offset (2 bytes) and
 * width (1), and for a write the value (8); for a typed byte, the byte.
 * Checked besides "no crash": after each operation the UART's interrupt line in the vGIC is what
 * its masked interrupt status (UARTMIS) says.
 */
#include "bulkhead/mmio.h"
#include "fuzz_input.h"
#include "support/capture.h"

#define UARTMIS 0x040
#define UART_INTID (VGIC_NR_PRIVATE + FUZZ_UART_SPI)

#define NR_VCPUS 2

static struct fuzz_vm vm_store;
static bool created;

static enum mmio_result access(struct fuzz_vm *vm, unsigned vcpu, uint64_t off, unsigned size,
                               bool write, uint64_t *val)
{
    struct mmio_access a = {.ipa = FUZZ_UART + off, .size = (uint8_t)size, .write = write};

    return mmio_bus_access(&vm->io.bus, vcpu, &a, val);
}

static void check_line(struct fuzz_vm *vm)
{
    bool line = vgic_get_irq(&vm->vgic, 0, UART_INTID)->line;
    uint64_t mis = 0;

    CHECK(access(vm, 0, UARTMIS, 4, false, &mis) == MMIO_OK);
    CHECK(line == (mis != 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size, 0};
    struct fuzz_vm *vm = &vm_store;

    if (!created) {
        CHECK(fuzz_vm_create(vm, "vm0", GIC_V3, NR_VCPUS) == 0);
        created = true;
    }
    /* The console multiplexer keeps a half-typed Ctrl-T switch from the last input: a plain
     * byte ends it either way (the reset below drops it if it was delivered). Then Ctrl-T 0
     * gives the keyboard to this VM's port, the only one. */
    console_route('x');
    console_route(CONSOLE_SWITCH_KEY);
    console_route('0');
    fuzz_vm_reset(vm);
    capture_reset();
    for (unsigned n = 0; fuzz_more(&in) && n < 4096; n++) {
        uint8_t op = fuzz_u8(&in);
        unsigned vcpu = (op >> 4) & 1;
        uint64_t val = 0;
        switch (op & 3) {
        case 0:
        case 1: {
            uint64_t off = fuzz_u16(&in) & 0xfff;
            unsigned width = fuzz_width(&in);
            if (op & 1) {
                val = fuzz_u64(&in);
            }
            (void)access(vm, vcpu, off, width, op & 1, &val);
            break;
        }
        case 2: console_route((char)fuzz_u8(&in)); break;
        default: fuzz_vm_reset(vm); break;
        }
        check_line(vm);
    }
    return 0;
}
