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
    return __atomic_load_n(&v->state, __ATOMIC_ACQUIRE) == VCPU_ON_PENDING &&
           __atomic_load_n(&v->vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING;
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
            gic_before_wfi();
            wfi();
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
    while (vcpu_should_run(vcpu) && !vgic_has_deliverable(&vm->vgic, vcpu->index)) {
        gic_before_wfi();
        wfi();
        handle_physical_irqs(vcpu);
    }
    __atomic_store_n(&vcpu->waiting, false, __ATOMIC_RELAXED);
}
