/*
 * The BCM2835/BCM2711 power-management block's watchdog (drivers/bcm2835_wdt.c): the Raspberry
 * Pi has no PSCI, and this is how it resets or halts itself, as Linux's bcm2835_wdt does it.
 */
#ifndef BULKHEAD_BCM2835_WDT_H
#define BULKHEAD_BCM2835_WDT_H

#include "config.h"

/* Registers of the PM block, and the password every write must carry in its top byte. */
#define BCM2835_PM_RSTC 0x1c
#define BCM2835_PM_RSTS 0x20
#define BCM2835_PM_WDOG 0x24
#define BCM2835_PM_PASSWORD 0x5a000000u
/* The partition the firmware boots after the reset: 0 is a normal boot; 63 tells the Pi's
 * firmware to halt (Linux's poweroff), and QEMU's raspi4b to exit. */
#define BCM2835_PARTITION_BOOT 0u
#define BCM2835_PARTITION_HALT 63u

/*
 * The PM block of the host tree (compatible "brcm,bcm2835-pm-wdt", "brcm,bcm2835-pm" or
 * "brcm,bcm2711-pm", enabled): its first reg, translated to a physical address. 1: found,
 * 0: the board has none, -1: found but unusable (reported with the node's path).
 */
int bcm2835_wdt_find(const void *fdt, struct mem_range *pm);

/* PM_RSTS with its partition field (bit i of the number in bit 2i) set to partition. */
uint32_t bcm2835_wdt_rsts(uint32_t rsts, unsigned partition);

/*
 * Starts a full reset of the chip about 150 us from now, booting partition afterwards: RSTS,
 * then a 10-tick WDOG, then RSTC's full-reset configuration. base: the PM block, mapped.
 */
void bcm2835_wdt_restart(paddr_t base, unsigned partition);

#endif
