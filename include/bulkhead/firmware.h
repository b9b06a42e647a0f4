/* Calls from the hypervisor to the board's firmware (el2/firmware.c): PSCI over SMC. */
#ifndef BULKHEAD_FIRMWARE_H
#define BULKHEAD_FIRMWARE_H

#include "config.h"

/* Returns firmware's x0, or PSCI_RET_NOT_SUPPORTED when the board has no usable conduit. */
int64_t firmware_psci(enum psci_conduit conduit, uint32_t fid, uint64_t a1, uint64_t a2,
                      uint64_t a3);
/* Powers the machine off through firmware; halts if firmware cannot. */
void machine_power_off(void) NORETURN;
/* PSCI SYSTEM_RESET: the whole machine starts again (else it powers off). */
void machine_reset(void) NORETURN;

#endif
