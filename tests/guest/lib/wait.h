/*
 * Waiting in WFI for what an interrupt handler does, without losing the wake-up.
 */
#ifndef GUEST_WAIT_H
#define GUEST_WAIT_H

#include "sysreg.h"

#define WAIT_FOREVER 0 /* wait_until's deadline: none */

/*
 * Waits in WFI until done(arg) (NULL: never) or, unless deadline is WAIT_FOREVER, until the
 * virtual counter reaches deadline; true if done. done is looked at with IRQs masked up to the
 * WFI, which a pending interrupt still ends: an interrupt taken between the look and the WFI
 * would otherwise leave the CPU asleep with its work unseen. Each wake-up's interrupt is taken
 * with IRQs unmasked, and their state on entry is theirs again on return. A deadline arms the
 * virtual timer so that, where the caller enabled its interrupt, the WFI ends even if the
 * awaited one never comes: the handler must stop the timer (CNTV_CTL 0), which is stopped again
 * on return. Static inline, done included where the compiler sees it: the instructions up to
 * the WFI are those of a loop written out (the bench's net rows time them).
 */
static inline bool wait_until(bool (*done)(void *arg), void *arg, uint64_t deadline)
{
    uint64_t daif = read_daif();
    bool ok;

    if (deadline != WAIT_FOREVER) {
        write_cntv_cval(deadline);
        write_cntv_ctl(CNT_CTL_ENABLE);
        isb();
    }
    for (;;) {
        irqs_off();
        ok = done && done(arg);
        if (ok || (deadline != WAIT_FOREVER && cntvct() >= deadline)) {
            break;
        }
        asm volatile("wfi" ::: "memory");
        irqs_on();
    }
    if (deadline != WAIT_FOREVER) {
        write_cntv_ctl(0);
    }
    write_daif(daif);
    return ok;
}

#endif
