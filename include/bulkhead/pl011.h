/* The board's own PL011, polled by the hypervisor's console (drivers/pl011.c). */
#ifndef BULKHEAD_PL011_H
#define BULKHEAD_PL011_H

#include "types.h"

void pl011_init(paddr_t base);
void pl011_putc(char c);
int pl011_getc(void); /* -1 when nothing was received */
void pl011_enable_rx_irq(void);
void pl011_ack_rx_irq(void);

#endif
