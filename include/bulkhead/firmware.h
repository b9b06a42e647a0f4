/* Calls from the hypervisor to the board's firmware (el2/firmware.c): PSCI over SMC, and the
 * Raspberry Pi's watchdog where there is no PSCI. */
#ifndef BULKHEAD_FIRMWARE_H
#define BULKHEAD_FIRMWARE_H

#include "config.h"

/* Returns firmware's x0, or PSCI_RET_NOT_SUPPORTED when the board has no usable conduit. */
int64_t firmware_psci(enum psci_conduit conduit, uint32_t fid, uint64_t a1, uint64_t a2,
                      uint64_t a3);
/* Finds what resets the board where PSCI does not (the Raspberry Pi's PM watchdog) in the host
 * tree and maps it. Once, at boot, after the board is parsed. */
void firmware_init(const void *fdt);
/* Powers the machine off through firmware (PSCI SYSTEM_OFF, else the Pi's watchdog into its
 * halt partition); halts if firmware cannot. */
void machine_power_off(void) NORETURN;
/* PSCI SYSTEM_RESET, else the Pi's watchdog: the whole machine starts again (else it powers
 * off). */
void machine_reset(void) NORETURN;

#endif
