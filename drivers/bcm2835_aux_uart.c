/* The Raspberry Pi's mini UART, polled: see include/bulkhead/bcm2835_aux_uart.h. Its registers
 * are plain 32-bit words at the base it is given, so host tests hand it memory of their own. */
#include "bulkhead/bcm2835_aux_uart.h"

#define LSR_DATA_READY BIT(0)
#define LSR_TX_EMPTY BIT(5) /* room for a byte in the transmit FIFO */
#define LSR_TX_IDLE BIT(6)  /* the FIFO empty and the last bit sent */
/* Enough polls for a full FIFO at 9600 baud, yet a bound: a UART that never idles (or is not
 * there) must not stop a reset. */
#define DRAIN_POLLS 10000000u
#define CNTL_RX_ENABLE BIT(0)
#define CNTL_TX_ENABLE BIT(1)
/* The receive interrupt; the BCM2835's errata: bits 3:2, "don't care" in its manual, must be
 * set for any interrupt to be raised. */
#define IER_RX (BIT(0) | BIT(2) | BIT(3))

static inline uint32_t reg_read(paddr_t base, unsigned off)
{
    return ((volatile uint32_t *)(uintptr_t)base)[off / 4];
}

static inline void reg_write(paddr_t base, unsigned off, uint32_t v)
{
    ((volatile uint32_t *)(uintptr_t)base)[off / 4] = v;
}

void aux_uart_init(paddr_t base)
{
    if (base) {
        reg_write(base, AUX_MU_CNTL, reg_read(base, AUX_MU_CNTL) | CNTL_RX_ENABLE | CNTL_TX_ENABLE);
    }
}

/* Polls of a full transmit FIFO before a byte is dropped: far longer than a byte takes, and a
 * mini UART the firmware left disabled (enable_uart=0: its registers read 0) slows the console
 * down instead of hanging the hypervisor. */
#define PUTC_POLLS 100000u

void aux_uart_putc(paddr_t base, char c)
{
    unsigned polls = 0;

    if (!base) {
        return;
    }
    while (!(reg_read(base, AUX_MU_LSR) & LSR_TX_EMPTY)) {
        if (++polls == PUTC_POLLS) {
            return;
        }
    }
    reg_write(base, AUX_MU_IO, (uint8_t)c);
}

int aux_uart_getc(paddr_t base)
{
    if (!base || !(reg_read(base, AUX_MU_LSR) & LSR_DATA_READY)) {
        return -1;
    }
    return (int)(reg_read(base, AUX_MU_IO) & 0xff);
}

void aux_uart_drain(paddr_t base)
{
    for (unsigned i = 0; base && i < DRAIN_POLLS && !(reg_read(base, AUX_MU_LSR) & LSR_TX_IDLE);
         i++) {
    }
}

void aux_uart_enable_rx_irq(paddr_t base)
{
    if (base) {
        reg_write(base, AUX_MU_IER, IER_RX);
    }
}

/* Nothing to acknowledge: the receive interrupt stays raised while bytes wait, and reading
 * them all lowers it. */
void aux_uart_ack_rx_irq(paddr_t base)
{
    (void)base;
}
