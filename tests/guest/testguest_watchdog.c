/*
 * mode=watchdog (tests/qemu/test_watchdog.py): the VM's SBSA generic watchdog
 * (`bulkhead,watchdog`, vdev/sbsa_gwdt.c), driven as Linux's sbsa_gwdt does. In its first life
 * the guest checks the registers, refreshes the watchdog in time (no signal), lets one period
 * pass (WS0, cleared by a refresh), then hangs with interrupts masked in a loop that never exits
 * to the hypervisor: the watchdog must still expire (WS1) and the VM's on-watchdog policy apply.
 * Restarted (boot count 1), it finds the watchdog off, as after a board reset, and powers off.
 * Lines: "watchdog: ..." and the report's PASS/FAIL/DONE.
 */
#include <libfdt.h>

#include "bulkhead/sbsa_gwdt.h"
#include "guest.h"
#include "report.h"
#include "sysreg.h"

#define PERIOD_MS 100

static uintptr_t refresh_frame, control_frame;

static bool find_watchdog(void)
{
    int node = fdt_node_offset_by_compatible(guest.fdt, -1, "arm,sbsa-gwdt");
    int len = 0;
    const fdt32_t *reg = node >= 0 ? fdt_getprop(guest.fdt, node, "reg", &len) : NULL;

    if (!reg || len != 32) {
        return false;
    }
    control_frame = ((uint64_t)fdt32_to_cpu(reg[0]) << 32) | fdt32_to_cpu(reg[1]);
    refresh_frame = ((uint64_t)fdt32_to_cpu(reg[4]) << 32) | fdt32_to_cpu(reg[5]);
    return true;
}

static uint32_t wcs(void)
{
    return mmio_read32(control_frame + GWDT_WCS);
}

static void refresh(void)
{
    mmio_write32(refresh_frame + GWDT_WRR, 0);
}

static void first_life(void)
{
    uint64_t wor = cntfrq() / 1000 * PERIOD_MS;
    uint32_t iidr = mmio_read32(control_frame + GWDT_W_IIDR);

    if (iidr == GWDT_IIDR_VALUE && wcs() == 0) {
        pass("watchdog registers");
    } else {
        fail("watchdog registers", "W_IIDR 0x%x WCS 0x%x", iidr, wcs());
    }
    /* As Linux's driver: the offset (48 bits, low word first), then enable. */
    mmio_write32(control_frame + GWDT_WOR, (uint32_t)wor);
    mmio_write32(control_frame + GWDT_WOR + 4, (uint32_t)(wor >> 32));
    mmio_write32(control_frame + GWDT_WCS, GWDT_WCS_EN);
    uint32_t seen = 0;
    for (unsigned i = 0; i < 6; i++) {
        delay_ms(PERIOD_MS / 2);
        seen |= wcs();
        refresh();
    }
    if (seen == GWDT_WCS_EN) {
        pass("watchdog refreshed in time");
    } else {
        fail("watchdog refreshed in time", "WCS was 0x%x", seen);
    }
    delay_ms(PERIOD_MS * 3 / 2);
    uint32_t after = wcs();
    refresh();
    if (after == (GWDT_WCS_EN | GWDT_WCS_WS0) && wcs() == GWDT_WCS_EN) {
        pass("watchdog ws0");
    } else {
        fail("watchdog ws0", "WCS 0x%x after a period, 0x%x after a refresh", after, wcs());
    }
    printf("watchdog: hanging with interrupts masked\n");
    asm volatile("msr daifset, #0xf\n 1: b 1b" ::: "memory");
}

void testguest_watchdog(void)
{
    if (!guest.fdt_ok || !find_watchdog()) {
        fail("watchdog", "no arm,sbsa-gwdt node with two frames in the device tree");
        finish();
    }
    int64_t boots = (int64_t)guest_hvc(BH_HVC_BOOT_COUNT, 0, 0, 0);
    printf("watchdog: control frame at 0x%lx, refresh frame at 0x%lx, boot count %ld\n",
           (unsigned long)control_frame, (unsigned long)refresh_frame, (long)boots);
    if (boots == 0) {
        first_life();
    }
    if (wcs() == 0) {
        pass("watchdog off after the restart");
    } else {
        fail("watchdog off after the restart", "WCS 0x%x", wcs());
    }
    finish();
}
