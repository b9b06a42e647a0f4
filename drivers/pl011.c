/* The board's PL011, polled. Firmware has set the baud rate; we only make sure it transmits. */
#include "bulkhead/pl011.h"

#define UARTDR 0x000
#define UARTFR 0x018
#define UARTCR 0x030
#define FR_TXFF BIT(5)
#define FR_RXFE BIT(4)
#define CR_UARTEN BIT(0)
#define CR_TXE BIT(8)
#define CR_RXE BIT(9)
#define UARTIMSC 0x038
#define UARTICR 0x044
#define INT_RX BIT(4)
#define INT_RT BIT(6)

static volatile uint32_t *uart;

static inline uint32_t reg_read(unsigned off)
{
    return uart[off / 4];
}

static inline void reg_write(unsigned off, uint32_t v)
{
    uart[off / 4] = v;
}

void pl011_init(paddr_t base)
{
    uart = (volatile uint32_t *)(uintptr_t)base;
    if (uart) {
        reg_write(UARTCR, reg_read(UARTCR) | CR_UARTEN | CR_TXE | CR_RXE);
    }
}

void pl011_putc(char c)
{
    if (!uart) {
        return;
    }
    while (reg_read(UARTFR) & FR_TXFF) {
    }
    reg_write(UARTDR, (uint8_t)c);
}

int pl011_getc(void)
{
    if (!uart || (reg_read(UARTFR) & FR_RXFE)) {
        return -1;
    }
    return (int)(reg_read(UARTDR) & 0xff);
}

void pl011_enable_rx_irq(void)
{
    if (uart) {
        reg_write(UARTIMSC, reg_read(UARTIMSC) | INT_RX | INT_RT);
    }
}

void pl011_ack_rx_irq(void)
{
    if (uart) {
        reg_write(UARTICR, INT_RX | INT_RT);
    }
}
