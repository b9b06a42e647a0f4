/*
 * The emulated SBSA generic watchdog (Arm DEN0029, "Generic Watchdog"; Linux's sbsa_gwdt
 * driver, compatible "arm,sbsa-gwdt"): a VM that asks for one (`bulkhead,watchdog`,
 * docs/CONFIG.md) gets its two register frames and the WS0 interrupt; WS1, the second
 * expiry without a refresh, applies the VM's `bulkhead,on-watchdog` policy (restart, stop or
 * reset-machine). It counts the system counter (CNTPCT: the guest's CNTVCT, since the hypervisor
 * gives every VM a zero CNTVOFF).
 *
 * The timing rules are pure C and host-tested: config/watchdog.c places the device, vdev/
 * sbsa_gwdt.c models it, el2 runs its deadline on the VM's vCPU 0's CPU (EL2's physical timer,
 * shared with the trapped EL1 physical timer's emulation).
 */
#ifndef BULKHEAD_SBSA_GWDT_H
#define BULKHEAD_SBSA_GWDT_H

#include "config.h"

/* The control frame at the device's base, the refresh frame one page after it (the order of
 * the binding's `reg`, and of QEMU's sbsa-ref board). */
#define GWDT_FRAME_SIZE 0x1000
#define GWDT_SIZE (2 * GWDT_FRAME_SIZE)
#define GWDT_WRR 0x000 /* refresh frame: any write refreshes */
#define GWDT_WCS 0x000 /* control frame: EN (RW), WS0 and WS1 (RO) */
#define GWDT_WOR 0x008 /* offset, 48 bits (architecture revision 1): 0x008 low, 0x00c high */
#define GWDT_WCV 0x010 /* compare value, 64 bits: 0x010 low, 0x014 high */
#define GWDT_W_IIDR 0xfcc
#define GWDT_WCS_EN BIT(0)
#define GWDT_WCS_WS0 BIT(1)
#define GWDT_WCS_WS1 BIT(2)
#define GWDT_WOR_MASK ((1ULL << 48) - 1)
/* Architecture revision 1 (bits 19:16: 48-bit WOR, as Linux reads it), implementer Arm. */
#define GWDT_IIDR_VALUE ((1u << 16) | 0x43bu)
#define GWDT_NEVER UINT64_MAX

struct gwdt {
    bool enabled;
    bool ws0, ws1;
    uint64_t wor; /* 48 bits */
    uint64_t wcv;
};

/* An explicit refresh (a write to WRR, WOR or WCS): both signals drop, WCV = now + WOR. */
void gwdt_refresh(struct gwdt *w, uint64_t now);

enum gwdt_event { GWDT_NONE, GWDT_WS0, GWDT_WS1 };

/* At counter value now: the first expiry raises WS0 and starts one more period (a timeout
 * refresh); an expiry with WS0 up raises WS1. Returns the signal this raised, if any. */
enum gwdt_event gwdt_advance(struct gwdt *w, uint64_t now);

/* The counter value at which gwdt_advance() next has something to do; GWDT_NEVER if none. */
uint64_t gwdt_deadline(const struct gwdt *w);

/* Register accesses at offset off of the refresh (control false) or control frame, 32 or 64
 * bits wide (size 4 or 8; a 64-bit access is allowed at WOR and WCV only). A read returns the
 * value; a write returns 0. *ok is false for an offset or width that is not a register: the
 * caller reports it. */
uint64_t gwdt_read(const struct gwdt *w, bool control, uint64_t off, unsigned size, bool *ok);
void gwdt_write(struct gwdt *w, bool control, uint64_t off, unsigned size, uint64_t val,
                uint64_t now, bool *ok);

/* ---- the binding (config/watchdog.c) ---- */

/* Unless the VM node gives the frames' IPA, they go at the board's highest RAM address
 * rounded up to this: clear of every VM's RAM and of the boards' device windows below it. */
#define WATCHDOG_IPA_ALIGN (1ULL << 30)
/* The WS0 SPI: from this one down, skipping those the VM has already; the doorbells take
 * theirs from SHM_DOORBELL_SPI_TOP, above it. */
#define WATCHDOG_SPI_TOP 91

/* Where a VM's watchdog goes unless its node says: the guests' IPA space reaches it. */
ipa_t watchdog_default_ipa(const struct board *board);

/* `bulkhead,watchdog` (empty, or the frames' IPA in the node's #address-cells) of a VM node,
 * after its passthrough (pt_parse): fills vm->watchdog. False after a message naming the node.
 * (`bulkhead,on-watchdog` is read with the other policies, config/vmconfig.c.) */
bool watchdog_parse(const void *fdt, int vm_node, const struct board *board, struct vm_config *vm);

#endif
