/* The hypervisor's console: the board's UART, shared by the hypervisor and every VM. */
#ifndef BULKHEAD_CONSOLE_H
#define BULKHEAD_CONSOLE_H

#include "types.h"

/* drivers/pl011.c: the physical PL011 */
void pl011_init(paddr_t base);
void pl011_putc(char c);
int pl011_getc(void); /* -1 when nothing was received */
void pl011_enable_rx_irq(void);
void pl011_ack_rx_irq(void);

/* el2/console.c */
void console_init(paddr_t uart_base);
/* Writes a whole line atomically with respect to other CPUs' lines. */
void console_write(const char *s, size_t len);

/* One character of the focused VM's output, at once: an interactive prompt must show before its
 * line ends. prefix starts each line. Other output first ends such an unfinished line. */
void console_put_direct(const char *prefix, char c);

/* Keyboard input goes to one VM at a time: Ctrl-T then a digit gives it to that VM. */
#define CONSOLE_SWITCH_KEY 0x14 /* Ctrl-T */
void console_input_init(void);
struct vm;
/* True for the VM that gets the keyboard, once someone has typed. */
bool console_has_focus(const struct vm *vm);
/* Drains the physical UART into the focused VM (its interrupt handler). */
void console_receive(void);

#endif
