/* Emulated PL011 (ARM DDI 0183) and its device object. Pure: see include/bulkhead/vpl011.h. */
#include "bulkhead/vpl011.h"

#include "bulkhead/console.h"
#include "bulkhead/printk.h"
#include "bulkhead/vdev.h"

enum {
    UARTDR = 0x000,
    UARTRSR = 0x004,
    UARTFR = 0x018,
    UARTILPR = 0x020,
    UARTIBRD = 0x024,
    UARTFBRD = 0x028,
    UARTLCR_H = 0x02c,
    UARTCR = 0x030,
    UARTIFLS = 0x034,
    UARTIMSC = 0x038,
    UARTRIS = 0x03c,
    UARTMIS = 0x040,
    UARTICR = 0x044,
    UARTDMACR = 0x048,
    UARTPERIPHID0 = 0xfe0,
};

#define FR_RXFE BIT(4)
#define FR_RXFF BIT(6)
#define FR_TXFE BIT(7)
#define INT_RX BIT(4)
#define INT_TX BIT(5)
#define INT_RT BIT(6)
#define INT_ALL 0x7ffu
#define CR_RESET 0x0301u /* UARTEN | TXE | RXE */

/* PeriphID0-3 (PL011 r1p5) then PCellID0-3. */
static const uint8_t id_regs[8] = {0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

void vpl011_init(struct vpl011 *u, void (*tx)(void *ctx, char c), void *ctx)
{
    *u = (struct vpl011){.tx = tx, .ctx = ctx, .cr = CR_RESET, .ifls = 0x12};
    /* The transmitter never fills: its interrupt is raised whenever unmasked. */
    u->ris = INT_TX;
}

bool vpl011_receive(struct vpl011 *u, uint8_t byte)
{
    if (u->rx_count == VPL011_RX_FIFO) {
        return false;
    }
    u->rx[(u->rx_head + u->rx_count) % VPL011_RX_FIFO] = byte;
    u->rx_count++;
    u->ris |= INT_RX | INT_RT;
    return true;
}

bool vpl011_irq_level(const struct vpl011 *u)
{
    return (u->ris & u->imsc) != 0;
}

static uint32_t pop_rx(struct vpl011 *u)
{
    if (!u->rx_count) {
        return 0;
    }
    uint32_t c = u->rx[u->rx_head];
    u->rx_head = (u->rx_head + 1) % VPL011_RX_FIFO;
    if (--u->rx_count == 0) {
        u->ris &= ~(uint32_t)(INT_RX | INT_RT);
    }
    return c;
}

static enum mmio_result vpl011_read(void *dev, unsigned vcpu, uint64_t offset, unsigned size,
                                    uint64_t *val)
{
    struct vpl011 *u = dev;
    uint64_t reg = offset & ~3ULL;

    (void)vcpu;
    (void)size;
    switch (reg) {
    case UARTDR: *val = pop_rx(u); break;
    case UARTRSR: *val = 0; break;
    case UARTFR:
        *val =
            FR_TXFE | (u->rx_count ? 0 : FR_RXFE) | (u->rx_count == VPL011_RX_FIFO ? FR_RXFF : 0);
        break;
    case UARTILPR: *val = 0; break;
    case UARTIBRD: *val = u->ibrd; break;
    case UARTFBRD: *val = u->fbrd; break;
    case UARTLCR_H: *val = u->lcr_h; break;
    case UARTCR: *val = u->cr; break;
    case UARTIFLS: *val = u->ifls; break;
    case UARTIMSC: *val = u->imsc; break;
    case UARTRIS: *val = u->ris; break;
    case UARTMIS: *val = u->ris & u->imsc; break;
    case UARTDMACR: *val = u->dmacr; break;
    default:
        if (reg >= UARTPERIPHID0 && reg < UARTPERIPHID0 + 8 * 4) {
            *val = id_regs[(reg - UARTPERIPHID0) / 4];
        } else {
            *val = 0; /* reserved: reads as zero */
        }
        break;
    }
    /* A narrower access at an offset inside the register sees its bytes. */
    *val >>= 8 * (offset & 3);
    return MMIO_OK;
}

static enum mmio_result vpl011_write(void *dev, unsigned vcpu, uint64_t offset, unsigned size,
                                     uint64_t val)
{
    struct vpl011 *u = dev;
    uint32_t v = (uint32_t)val;

    (void)vcpu;
    (void)size;
    switch (offset) {
    case UARTDR:
        if ((u->cr & 0x101u) == 0x101u && u->tx) {
            u->tx(u->ctx, (char)(v & 0xff));
        }
        break;
    case UARTIBRD: u->ibrd = v & 0xffffu; break;
    case UARTFBRD: u->fbrd = v & 0x3fu; break;
    case UARTLCR_H: u->lcr_h = v & 0xffu; break;
    case UARTCR: u->cr = v & 0xff87u; break;
    case UARTIFLS: u->ifls = v & 0x3fu; break;
    case UARTIMSC: u->imsc = v & INT_ALL; break;
    case UARTICR:
        /* TX stays raised: its FIFO is always empty. RX stays raised while data waits. */
        u->ris &= ~(v & INT_ALL);
        u->ris |= INT_TX | (u->rx_count ? (INT_RX | INT_RT) : 0);
        break;
    case UARTDMACR: u->dmacr = v & 0x7u; break;
    default: break; /* read-only and reserved registers ignore writes */
    }
    return MMIO_OK;
}

const struct mmio_ops vpl011_ops = {
    .read = vpl011_read,
    .write = vpl011_write,
};

/* The device: the register model, the interrupt line it drives and the console port its bytes
 * go to. Its lock orders the guest's accesses against typed input. */
struct vpl011_dev {
    struct vdev dev;
    spinlock_t lock;
    struct vpl011 uart;
    struct vdev_irq irq;
    struct console_port *console;
};

static void dev_transmit(void *ctx, char c)
{
    struct vpl011_dev *d = ctx;

    console_port_putc(d->console, c);
}

/* The interrupt follows the model after every access. Device lock held. */
static void dev_update_irq(struct vpl011_dev *d)
{
    vdev_irq_set(&d->irq, vpl011_irq_level(&d->uart));
}

/* A read of UARTDR, the one that changes the model: it takes a byte from the receive FIFO. */
static __attribute__((noinline)) enum mmio_result
dev_read_data(struct vpl011_dev *d, unsigned vcpu, uint64_t offset, unsigned size, uint64_t *val)
{
    spin_lock(&d->lock);
    enum mmio_result r = vpl011_read(&d->uart, vcpu, offset, size, val);
    dev_update_irq(d);
    spin_unlock(&d->lock);
    /* The receive FIFO has room again: typed bytes waiting in the console come in. */
    console_port_pump(d->console);
    return r;
}

static enum mmio_result dev_read(void *state, unsigned vcpu, uint64_t offset, unsigned size,
                                 uint64_t *val)
{
    struct vpl011_dev *d = state;

    if ((offset & ~3ULL) == UARTDR) {
        return dev_read_data(d, vcpu, offset, size, val);
    }
    /* The other reads change nothing: they need neither the lock nor the interrupt line. Each
     * reads words that the lock's holders write whole, so a read racing a write (a vCPU's, a
     * typed byte's) sees the old value or the new one, as it would on hardware. */
    return vpl011_read(&d->uart, vcpu, offset, size, val);
}

static enum mmio_result dev_write(void *state, unsigned vcpu, uint64_t offset, unsigned size,
                                  uint64_t val)
{
    struct vpl011_dev *d = state;

    spin_lock(&d->lock);
    enum mmio_result r = vpl011_write(&d->uart, vcpu, offset, size, val);
    dev_update_irq(d);
    spin_unlock(&d->lock);
    return r;
}

static const struct mmio_ops dev_mmio_ops = {.read = dev_read, .write = dev_write};

/* A byte typed for the VM: into the receive FIFO; false when it is full (the console keeps the
 * byte until the guest reads, see dev_read). */
static bool dev_input(void *ctx, char c)
{
    struct vpl011_dev *d = ctx;

    spin_lock(&d->lock);
    bool taken = vpl011_receive(&d->uart, (uint8_t)c);
    dev_update_irq(d);
    spin_unlock(&d->lock);
    return taken;
}

static void dev_reset(struct vdev *dev)
{
    struct vpl011_dev *d = (struct vpl011_dev *)dev;

    spin_lock(&d->lock);
    vpl011_init(&d->uart, dev_transmit, d);
    spin_unlock(&d->lock);
}

static const struct vdev_ops dev_ops = {.reset = dev_reset};

/* reg: the UART's base (its size is the PL011's 4 KiB frame, whatever the board's node says:
 * Linux's AMBA bus reads the PrimeCell ID at the frame's end). spis: its interrupt, if any. */
static int vpl011_create(struct vm_io *io, const struct vdev_desc *desc)
{
    struct vpl011_dev *d;

    if (desc->nr_reg < 1 || !io->console) {
        pr_err("%s: a PL011 needs a reg and a console\n", io->vm_name);
        return -1;
    }
    d = (struct vpl011_dev *)vdev_alloc(io, sizeof(*d), &dev_ops, "pl011", desc->reg[0].base);
    if (!d) {
        return -1;
    }
    d->console = io->console;
    vpl011_init(&d->uart, dev_transmit, d);
    if (desc->nr_spis && vdev_connect_spi(io, &d->dev, desc->spis[0], &d->irq) != 0) {
        return -1;
    }
    if (vdev_add_mmio(io, &d->dev, desc->reg[0].base, VPL011_SIZE, &dev_mmio_ops, d) != 0) {
        return -1;
    }
    console_port_set_input(io->console, dev_input, d);
    return 0;
}

const struct vdev_model vpl011_model = {.compatible = "arm,pl011", .create = vpl011_create};
