/* The guest timers' interrupt numbers and the emulated EL1 physical timer's register semantics.
 * Pure. */
#include "bulkhead/vtimer.h"

unsigned vtimer_virt_intid;
static unsigned phys_intid;
static bool hw_deactivates;

void vtimer_init(unsigned virt_ppi, unsigned phys_ppi, bool hw_deactivation)
{
    vtimer_virt_intid = virt_ppi + VGIC_NR_SGIS;
    phys_intid = phys_ppi + VGIC_NR_SGIS;
    hw_deactivates = hw_deactivation;
}

bool vtimer_hw_deactivation(void)
{
    return hw_deactivates;
}

unsigned ptimer_virq(void)
{
    return phys_intid;
}

bool ptimer_fired(const struct ptimer *t, uint64_t now)
{
    return (t->ctl & CNT_CTL_ENABLE) && now >= t->cval;
}

bool ptimer_line(const struct ptimer *t, uint64_t now)
{
    return ptimer_fired(t, now) && !(t->ctl & CNT_CTL_IMASK);
}

uint64_t ptimer_read_ctl(const struct ptimer *t, uint64_t now)
{
    return t->ctl | (ptimer_fired(t, now) ? CNT_CTL_ISTATUS : 0);
}

uint64_t ptimer_read_tval(const struct ptimer *t, uint64_t now)
{
    return (uint32_t)(t->cval - now);
}

void ptimer_write_ctl(struct ptimer *t, uint64_t val)
{
    t->ctl = (uint32_t)(val & (CNT_CTL_ENABLE | CNT_CTL_IMASK));
}

void ptimer_write_tval(struct ptimer *t, uint64_t val, uint64_t now)
{
    t->cval = now + (uint64_t)(int64_t)(int32_t)(uint32_t)val;
}
