/* Emulated PL011 (ARM DDI 0183). Pure: see include/bulkhead/vpl011.h. */
#include "bulkhead/vpl011.h"

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
static const uint8_t id_regs[8] = { 0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

void vpl011_init(struct vpl011 *u, void (*tx)(void *ctx, char c), void *ctx)
{
    *u = (struct vpl011){ .tx = tx, .ctx = ctx, .cr = CR_RESET, .ifls = 0x12 };
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
        *val = FR_TXFE | (u->rx_count ? 0 : FR_RXFE) |
               (u->rx_count == VPL011_RX_FIFO ? FR_RXFF : 0);
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
