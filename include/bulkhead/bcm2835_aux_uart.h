/*
 * The Raspberry Pi's mini UART (brcm,bcm2835-aux-uart; drivers/bcm2835_aux_uart.c), polled, as
 * the hypervisor's console when /chosen/stdout-path names it: the UART on the Pi's GPIO header
 * when the PL011 drives Bluetooth (Debian's firmware and DTB as shipped). Every function takes
 * the UART's base, its node's reg (AUX + 0x40); the firmware (enable_uart=1) set its baud rate.
 */
#ifndef BULKHEAD_BCM2835_AUX_UART_H
#define BULKHEAD_BCM2835_AUX_UART_H

#include "types.h"

/* The mini UART's registers, 32 bits apart from its base, as an 8250's. */
#define AUX_MU_IO 0x00
#define AUX_MU_IER 0x04
#define AUX_MU_IIR 0x08
#define AUX_MU_LSR 0x14
#define AUX_MU_CNTL 0x20
#define AUX_MU_SIZE 0x40

void aux_uart_init(paddr_t base);
void aux_uart_putc(paddr_t base, char c);
int aux_uart_getc(paddr_t base); /* -1 when nothing was received */
void aux_uart_enable_rx_irq(paddr_t base);
void aux_uart_ack_rx_irq(paddr_t base);
/* Waits (boundedly) until everything written has left the wire. */
void aux_uart_drain(paddr_t base);

#endif
