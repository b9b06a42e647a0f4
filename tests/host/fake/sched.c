/* bulkhead/sched.h, recorded. */
#include "bulkhead/sched.h"
#include "bulkhead/printk.h"
#include "fake/fake.h"

void pcpu_schedule(void)
{
    fake.pcpu_schedule++;
    fake_noreturn("pcpu_schedule");
}

void vcpu_wake(const struct vcpu *v)
{
    fake.vcpu_wake++;
    fake.woken = v;
}

void vcpu_kick(const struct vcpu *v)
{
    fake.vcpu_kick++;
    fake.kicked = v;
}

void vcpu_block(struct vcpu *vcpu)
{
    fake.vcpu_block++;
    fake.blocked = vcpu;
}

void vcpu_hold(struct vcpu *vcpu)
{
    fake.vcpu_hold++;
    fake.held = vcpu;
}

bool vcpu_call_held(struct vcpu *vcpu, void (*fn)(struct vcpu *vcpu, void *arg), void *arg)
{
    if (!vcpu->held) {
        return false;
    }
    fn(vcpu, arg);
    return true;
}

void sched_add_vcpu(struct vcpu *v)
{
    (void)v;
}

void sched_relax(void)
{
}

void sched_preempt(struct vcpu *self)
{
    (void)self;
}

void sched_hyp_timer(void)
{
}

void sched_hyp_timer_changed(void)
{
}

bool sched_move_check(const struct vm *vm, const uint8_t *cpus, char *why, size_t len)
{
    (void)vm;
    (void)cpus;
    snprintf(why, len, "not on the host");
    return false;
}

void sched_end_turn(void)
{
}
