/*
 * A VM's SBSA generic watchdog (vdev/sbsa_gwdt.c) as el2/vm.c creates it (its control and refresh
 * frames and WS0's SPI) on a fake clock: reads and writes of any offset, width and value in
 * either frame, time going forward by any amount, the armed deadline served when it has come
 * (as vm_hyp_timer does), VM halts and resets.
 *
 * Input: operations, each an opcode byte (bits 0-2: read, write, time, halt, reset; bit 4: the
 * refresh frame) then for an access the offset (2 bytes) and width (1), and for a write the
 * value (8); for time the ticks to add (4).
 * Checked besides "no crash": WS0's line is WCS.WS0; a served deadline arms none already past;
 * WS1 hands the VM to its policy only with WS0 and WS1 up.
 */
#include "bulkhead/mmio.h"
#include "bulkhead/sbsa_gwdt.h"
#include "fuzz_input.h"
#include "support/capture.h"

#define WD_IPA 0x80000000ULL
#define WD_SPI 91

static struct fuzz_vm vm;
static bool created;
static struct {
    uint64_t now, deadline;
    struct vdev *dev;
    unsigned expiries;
} clk;

static uint64_t clock_now(void *ctx)
{
    (void)ctx;
    return clk.now;
}

static void clock_arm(void *ctx, struct vdev *dev, uint64_t deadline)
{
    (void)ctx;
    clk.dev = dev;
    clk.deadline = deadline;
}

static enum mmio_result access(uint64_t off, unsigned size, bool write, uint64_t *val);

static void clock_expired(void *ctx, const struct vdev *dev)
{
    uint64_t wcs = 0;

    (void)ctx;
    CHECK(dev == clk.dev);
    CHECK(access(GWDT_WCS, 4, false, &wcs) == MMIO_OK);
    CHECK((wcs & (GWDT_WCS_WS0 | GWDT_WCS_WS1)) == (GWDT_WCS_WS0 | GWDT_WCS_WS1));
    clk.expiries++;
}

static const struct vdev_clock_ops clock_ops = {
    .now = clock_now, .arm = clock_arm, .watchdog_expired = clock_expired};

static enum mmio_result access(uint64_t off, unsigned size, bool write, uint64_t *val)
{
    struct mmio_access a = {.ipa = WD_IPA + off, .size = (uint8_t)size, .write = write};

    return mmio_bus_access(&vm.io.bus, 0, &a, val);
}

static void create(void)
{
    CHECK(fuzz_vm_create(&vm, "wd", GIC_V3, 1) == 0);
    vm.io.clock = &clock_ops;
    struct vdev_desc desc = {
        .compatible = sbsa_gwdt_model.compatible,
        .reg = {{WD_IPA, GWDT_FRAME_SIZE}, {WD_IPA + GWDT_FRAME_SIZE, GWDT_FRAME_SIZE}},
        .nr_reg = 2,
        .spis = {WD_SPI},
        .nr_spis = 1,
    };
    CHECK(vdev_create(&vm.io, &desc) == 0);
}

/* vm_hyp_timer's part: the device's deadline, once it has come. */
static void serve(void)
{
    if (clk.dev && clk.deadline <= clk.now) {
        clk.deadline = GWDT_NEVER;
        clk.dev->ops->expire(clk.dev, clk.now);
        /* The next deadline is now or later (WOR may be 0): never one already past. */
        CHECK(clk.deadline >= clk.now);
    }
}

static void check_line(void)
{
    uint64_t wcs = 0;
    bool line = vgic_get_irq(&vm.vgic, 0, VGIC_NR_PRIVATE + WD_SPI)->line;

    CHECK(access(GWDT_WCS, 4, false, &wcs) == MMIO_OK);
    CHECK(line == ((wcs & GWDT_WCS_WS0) != 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size, 0};

    if (!created) {
        create();
        created = true;
    }
    clk.now = 0;
    clk.expiries = 0;
    fuzz_vm_reset(&vm);
    capture_reset();
    for (unsigned n = 0; fuzz_more(&in) && n < 4096; n++) {
        uint8_t op = fuzz_u8(&in);
        uint64_t frame = (op & 0x10) ? GWDT_FRAME_SIZE : 0;
        uint64_t val = 0;
        switch (op & 7) {
        case 0:
        case 1: {
            uint64_t off = frame + (fuzz_u16(&in) & (GWDT_FRAME_SIZE - 1));
            unsigned width = fuzz_width(&in);
            if (op & 1) {
                val = fuzz_u64(&in);
            }
            (void)access(off, width, op & 1, &val);
            break;
        }
        case 2: clk.now += fuzz_u32(&in); break;
        case 3: vm_io_halt(&vm.io, op & 8); break;
        default: fuzz_vm_reset(&vm); break;
        }
        serve();
        check_line();
    }
    return 0;
}
