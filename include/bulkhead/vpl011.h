/*
 * An emulated ARM PL011 UART: enough of the register file for Linux's amba-pl011 driver and
 * earlycon, and for bare-metal guests. Transmitted bytes go to a sink (the VM's console line);
 * received bytes are queued by the hypervisor's console. Pure C, host-tested.
 */
#ifndef BULKHEAD_VPL011_H
#define BULKHEAD_VPL011_H

#include "mmio.h"

#define VPL011_SIZE 0x1000
#define VPL011_RX_FIFO 32

struct vpl011 {
    void (*tx)(void *ctx, char c);
    void *ctx;
    uint32_t cr, lcr_h, ibrd, fbrd, ifls, imsc, ris, dmacr;
    uint8_t rx[VPL011_RX_FIFO];
    unsigned rx_head, rx_count;
};

extern const struct mmio_ops vpl011_ops;

/* Puts the UART in its reset state (enabled, as firmware leaves a console) with its sink. */
void vpl011_init(struct vpl011 *u, void (*tx)(void *ctx, char c), void *ctx);

/* Queues a received byte. Returns false if the FIFO is full (the byte is dropped). */
bool vpl011_receive(struct vpl011 *u, uint8_t byte);

/* Level of the UART's interrupt line: any unmasked raw interrupt. */
bool vpl011_irq_level(const struct vpl011 *u);

#endif
