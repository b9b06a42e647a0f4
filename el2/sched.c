/*
 * The loop each physical CPU runs: wait for the vCPU pinned to it to be started, then run it.
 * A CPU with nothing to run sleeps in WFI (WFE without a GIC); starting a vCPU (VM start, reset,
 * PSCI CPU_ON) wakes it.
 */
#include "bulkhead/sched.h"

#include "arch/sysreg.h"
#include "bulkhead/boot.h"
#include "bulkhead/console.h"
#include "bulkhead/cpu.h"
#include "bulkhead/gic.h"
#include "bulkhead/traps.h"
#include "bulkhead/vm.h"

/* v was started (VM start or reset, CPU_ON) and its VM runs. */
static bool may_start(const struct vcpu *v)
{
    /* A vCPU started (CPU_ON) while its VM is paused waits for the resume. */
    return __atomic_load_n(&v->state, __ATOMIC_ACQUIRE) == VCPU_ON_PENDING &&
           __atomic_load_n(&v->vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING &&
           !__atomic_load_n(&v->vm->paused, __ATOMIC_ACQUIRE);
}

/* WFI, timed: the monitor's `load` counts the time this CPU sleeps (bulkhead/cpu.h). */
static void idle_wfi(void)
{
    struct pcpu *p = this_pcpu();

    gic_before_wfi();
    uint64_t t0 = read_cntpct_el0();
    __atomic_store_n(&p->idle_since, t0, __ATOMIC_RELAXED);
    wfi();
    uint64_t t1 = read_cntpct_el0();
    __atomic_store_n(&p->idle_ticks, p->idle_ticks + (t1 - t0), __ATOMIC_RELAXED);
    __atomic_store_n(&p->idle_since, 0, __ATOMIC_RELAXED);
}

static void schedule_loop(void *unused)
{
    struct pcpu *p = this_pcpu();
    bool has_gic = board.gic.version != GIC_NONE;

    (void)unused;
    if (p->vcpu) {
        __atomic_store_n(&p->vcpu->loaded, false, __ATOMIC_RELEASE);
    }
    for (;;) {
        struct vcpu *v = p->vcpu;
        if (v) {
            vm_serve_restart(v);
        }
        if (v && may_start(v)) {
            /* Loaded first, then the states checked again: a reset that began in between
             * either sees it loaded and waits (wait_for_other_vcpus), or is seen here. */
            __atomic_store_n(&v->loaded, true, __ATOMIC_SEQ_CST);
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            if (may_start(v)) {
                vcpu_load(v);
                if (has_gic) {
                    vgic_flush(&v->vm->vgic, v->index, &gic_lr_ops);
                }
                guest_enter(v);
            }
            __atomic_store_n(&v->loaded, false, __ATOMIC_RELEASE);
        }
        /* Woken by vcpu_wake(): an SGI where there is a GIC (it also brings the console's
         * input to CPU 0 while it idles), SEV where there is none. */
        if (has_gic) {
            idle_wfi();
            handle_physical_irqs(NULL);
        } else {
            wfe();
        }
    }
}

void pcpu_schedule(void)
{
    run_on_stack(this_pcpu()->stack_top, schedule_loop, NULL);
}

void vcpu_kick(const struct vcpu *v)
{
    if (v->pcpu != this_pcpu()->index) {
        gic_send_sgi(v->pcpu, SGI_KICK);
    }
}

/* SEV for a CPU idling in WFE (no GIC), the kick for one in WFI. */
void vcpu_wake(const struct vcpu *v)
{
    dsb_ish();
    sev();
    vcpu_kick(v);
}

/* Every vCPU of vm is off or waits with nothing to take. Unlocked: a vCPU that stops waiting
 * at the same moment makes the answer stale by one exit, which only delays a prompt. */
static bool vm_waits(struct vm *vm)
{
    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        const struct vcpu *v = &vm->vcpus[i];
        if (__atomic_load_n(&v->state, __ATOMIC_ACQUIRE) == VCPU_ON &&
            (!__atomic_load_n(&v->waiting, __ATOMIC_SEQ_CST) ||
             vgic_has_deliverable(&vm->vgic, i))) {
            return false;
        }
    }
    return true;
}

void vcpu_block(struct vcpu *vcpu)
{
    struct vm *vm = vcpu->vm;

    if (board.gic.version == GIC_NONE) {
        return; /* nothing could wake it: return at once, as a spurious wake-up may */
    }
    /* Waiting is said before the others are looked at (both sequentially consistent): of two
     * vCPUs that begin to wait together, at least one sees the other. */
    __atomic_store_n(&vcpu->waiting, true, __ATOMIC_SEQ_CST);
    if (console_port_has_partial_line(&vm->console) && vm_waits(vm)) {
        /* A VM that waits on every vCPU has said what it had to: a prompt without a newline
         * shows now. One vCPU's wait is not enough: another may be in mid-line (a printk, the
         * tty's next FIFO load), and another VM's line would split it on the console. */
        console_port_write_open(&vm->console);
    }
    /* A pause ends the wait (a spurious wake-up, which the architecture allows): the vCPU is
     * held where its exit returns, with the others. */
    while (vcpu_should_run(vcpu) && !vgic_has_deliverable(&vm->vgic, vcpu->index) &&
           !__atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE)) {
        idle_wfi();
        handle_physical_irqs(vcpu);
    }
    __atomic_store_n(&vcpu->waiting, false, __ATOMIC_RELAXED);
}

/* Runs the call another CPU left for vcpu, if any. */
static void serve_call(struct vcpu *vcpu)
{
    struct vcpu_call *call = __atomic_exchange_n(&vcpu->call, NULL, __ATOMIC_ACQ_REL);

    if (call) {
        call->fn(vcpu, call->arg);
        __atomic_store_n(&call->done, true, __ATOMIC_RELEASE);
    }
}

static bool held_on(const struct vcpu *vcpu)
{
    return __atomic_load_n(&vcpu->vm->paused, __ATOMIC_ACQUIRE) && vcpu_should_run(vcpu);
}

void vcpu_hold(struct vcpu *vcpu)
{
    __atomic_store_n(&vcpu->held, true, __ATOMIC_SEQ_CST);
    while (held_on(vcpu)) {
        serve_call(vcpu);
        if (!held_on(vcpu)) {
            break;
        }
        /* A call posted after the check above comes with a kick, which ends this WFI. */
        if (!__atomic_load_n(&vcpu->call, __ATOMIC_ACQUIRE)) {
            idle_wfi();
            handle_physical_irqs(vcpu);
        }
    }
    __atomic_store_n(&vcpu->held, false, __ATOMIC_SEQ_CST);
}

bool vcpu_call_held(struct vcpu *vcpu, void (*fn)(struct vcpu *vcpu, void *arg), void *arg)
{
    struct vcpu_call call = {.fn = fn, .arg = arg, .done = false};

    if (!__atomic_load_n(&vcpu->held, __ATOMIC_ACQUIRE)) {
        return false;
    }
    if (vcpu->pcpu == this_pcpu()->index) {
        fn(vcpu, arg); /* from an interrupt its own CPU took while holding it */
        return true;
    }
    struct vcpu_call *none = NULL;
    while (!__atomic_compare_exchange_n(&vcpu->call, &none, &call, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
        none = NULL; /* another caller's call is pending: ours comes after it */
        yield();
    }
    vcpu_kick(vcpu);
    while (!__atomic_load_n(&call.done, __ATOMIC_ACQUIRE)) {
        if (!__atomic_load_n(&vcpu->held, __ATOMIC_ACQUIRE)) {
            /* It left the hold: take the call back, unless it took it already. */
            struct vcpu_call *ours = &call;
            if (__atomic_compare_exchange_n(&vcpu->call, &ours, NULL, false, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE)) {
                return false;
            }
        }
        yield();
    }
    return true;
}
