/* The board's own PL011s, polled by the hypervisor's console and gdb stub (drivers/pl011.c). */
#ifndef BULKHEAD_PL011_H
#define BULKHEAD_PL011_H

#include "types.h"

/* Each takes the base of the PL011 it drives: the console's, or the gdb stub's. */
void pl011_port_init(paddr_t base);
void pl011_port_putc(paddr_t base, char c);
int pl011_port_getc(paddr_t base); /* -1 when nothing was received */
void pl011_port_enable_rx_irq(paddr_t base);
void pl011_port_ack_rx_irq(paddr_t base);
/* Waits (boundedly) until everything written has left the wire. */
void pl011_port_drain(paddr_t base);

#endif
