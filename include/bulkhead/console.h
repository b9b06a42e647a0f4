/* The hypervisor's console: the board's UART, shared by the hypervisor and every VM. */
#ifndef BULKHEAD_CONSOLE_H
#define BULKHEAD_CONSOLE_H

#include "types.h"

/* drivers/pl011.c: the physical PL011 */
void pl011_init(paddr_t base);
void pl011_putc(char c);
int pl011_getc(void); /* -1 when nothing was received */

/* el2/console.c */
void console_init(paddr_t uart_base);
/* Writes a whole line atomically with respect to other CPUs' lines. */
void console_write(const char *s, size_t len);

#endif
