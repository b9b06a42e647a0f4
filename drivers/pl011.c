/* The board's PL011s the hypervisor owns, polled: the console's, and the gdb stub's if any.
 * Firmware has set the baud rate; we only make sure they transmit and receive. */
#include "bulkhead/pl011.h"

#define UARTDR 0x000
#define UARTFR 0x018
#define UARTCR 0x030
#define FR_TXFF BIT(5)
#define FR_RXFE BIT(4)
#define FR_BUSY BIT(3)
#define CR_UARTEN BIT(0)
#define CR_TXE BIT(8)
#define CR_RXE BIT(9)
#define UARTIMSC 0x038
#define UARTICR 0x044
#define INT_RX BIT(4)
#define INT_RT BIT(6)

/* Every function takes the UART's base: the console's (el2/console.c), or another the hypervisor
 * owns (the gdb stub's, el2/gdbstub.c). A base of 0 is no UART: nothing is done. */
static inline uint32_t reg_read(paddr_t base, unsigned off)
{
    return ((volatile uint32_t *)(uintptr_t)base)[off / 4];
}

static inline void reg_write(paddr_t base, unsigned off, uint32_t v)
{
    ((volatile uint32_t *)(uintptr_t)base)[off / 4] = v;
}

void pl011_port_init(paddr_t base)
{
    if (base) {
        reg_write(base, UARTCR, reg_read(base, UARTCR) | CR_UARTEN | CR_TXE | CR_RXE);
    }
}

void pl011_port_putc(paddr_t base, char c)
{
    if (!base) {
        return;
    }
    while (reg_read(base, UARTFR) & FR_TXFF) {
    }
    reg_write(base, UARTDR, (uint8_t)c);
}

int pl011_port_getc(paddr_t base)
{
    if (!base || (reg_read(base, UARTFR) & FR_RXFE)) {
        return -1;
    }
    return (int)(reg_read(base, UARTDR) & 0xff);
}

/* Enough polls for a full FIFO at 9600 baud, yet a bound: a UART that never idles (or is not
 * there) must not stop a reset. */
#define DRAIN_POLLS 10000000u

void pl011_port_drain(paddr_t base)
{
    for (unsigned i = 0; base && i < DRAIN_POLLS && (reg_read(base, UARTFR) & FR_BUSY); i++) {
    }
}

void pl011_port_enable_rx_irq(paddr_t base)
{
    if (base) {
        reg_write(base, UARTIMSC, reg_read(base, UARTIMSC) | INT_RX | INT_RT);
    }
}

void pl011_port_ack_rx_irq(paddr_t base)
{
    if (base) {
        reg_write(base, UARTICR, INT_RX | INT_RT);
    }
}
