/*
 * The loop each physical CPU runs: wait for its vCPU to be started, then run it. A CPU with
 * nothing to run sleeps in WFI (WFE without a GIC); starting a vCPU (VM start, reset, PSCI
 * CPU_ON) wakes it.
 *
 * A CPU given one vCPU runs that loop on its own stack and never switches. A CPU given several
 * (shared: pcpu->shared) gives each vCPU a hypervisor thread of its own, a stack on which the
 * vCPU's exits run and on which it waits (in WFI, paused, stopped). Where a vCPU would wait, or
 * at the end of each of its exits, it asks the CPU's policy (el2/sched_policy.c) who runs
 * next; another vCPU's turn switches its guest context and its thread (switch_to). Nothing is
 * preempted inside the hypervisor: the CPU changes vCPU only at those points, with no lock held.
 */
#include "bulkhead/sched.h"

#include "arch/sysreg.h"
#include "bulkhead/boot.h"
#include "bulkhead/console.h"
#include "bulkhead/cpu.h"
#include "bulkhead/gic.h"
#include "bulkhead/mm.h"
#include "bulkhead/printk.h"
#include "bulkhead/sched_policy.h"
#include "bulkhead/traps.h"
#include "bulkhead/vm.h"

#define SCHED_MAX_PER_CPU 16u

/* A shared CPU's vCPUs and where its policy stands. */
struct cpu_sched {
    spinlock_t lock; /* taken to add or remove a vCPU: moves add from other CPUs */
    struct vcpu *vcpus[SCHED_MAX_PER_CPU];
    unsigned nr;
    struct cpu_schedule cfg;
    struct sched_table table;
    uint64_t turn_end; /* of the vCPU running now */
    uint64_t revisit;  /* when the policy must choose again, UINT64_MAX: at the next event */
    uint64_t switches;
};

static struct cpu_sched cpu_scheds[MAX_CPUS];
/* Taken at boot from the hypervisor's memory: a thread for every vCPU at most, as a vCPU gets
 * one once and keeps it (moves included). */
static uint8_t (*thread_stacks)[CPU_STACK_SIZE];
static unsigned nr_threads, max_threads;

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

/* ---- shared CPUs: who runs next ---- */

/* The readiness of a vCPU that gave up its CPU, by where it did. */
static bool ready_always(struct vcpu *v)
{
    (void)v;
    return true;
}

/* Off or never started: it has something to do once started, or asked to reload its VM. */
static bool move_asked(const struct vcpu *v)
{
    return __atomic_load_n(&v->move_to, __ATOMIC_ACQUIRE) >= 0;
}

static bool ready_to_start(struct vcpu *v)
{
    return may_start(v) || move_asked(v) ||
           (v->index == 0 && __atomic_load_n(&v->vm->restart_requested, __ATOMIC_ACQUIRE));
}

/* Its saved virtual timer has fired and the guest would take the interrupt: it does once back
 * on its CPU. (One the guest has disabled, or is still handling, wakes nothing: the two vCPUs
 * of a CPU would otherwise hand it to each other for ever.) */
static bool saved_timer_due(const struct vcpu *v)
{
    const struct virq *irq = &v->vgic.private_irqs[vtimer_virq()];

    return v != this_pcpu()->vcpu && irq->enabled && !irq->active && !irq->phys_active &&
           read_cntpct_el0() >= vcpu_saved_timer_deadline(v);
}

/* In WFI: an interrupt to take, or a reason to leave (stop, reset, pause). */
static bool ready_from_wait(struct vcpu *v)
{
    return !vcpu_should_run(v) || __atomic_load_n(&v->vm->paused, __ATOMIC_ACQUIRE) ||
           saved_timer_due(v) || vgic_has_deliverable(&v->vm->vgic, v->index);
}

static bool held_on(const struct vcpu *vcpu);

/* Held by a pause: a call to serve, or the hold is over. */
static bool ready_from_hold(struct vcpu *v)
{
    return __atomic_load_n(&v->call, __ATOMIC_ACQUIRE) || !held_on(v) || move_asked(v);
}

static uint64_t ptimer_deadline(const struct vcpu *v)
{
    return vtimer_ptimer_deadline(&v->timer, read_cntpct_el0());
}

/* CNTHP for the earliest of: the policy's next choice, and each of the CPU's vCPUs' emulated
 * physical timer and device deadline, and the saved virtual timer of those away (one already
 * due is left out: it waits for its turn, not for an interrupt). With due_choice_asked, a
 * choice already due is left out too: the caller asks the policy next. */
static void program_hyp_timer_for(struct cpu_sched *cs, bool due_choice_asked)
{
    uint64_t now = read_cntpct_el0();
    uint64_t deadline = due_choice_asked && cs->revisit <= now ? UINT64_MAX : cs->revisit;

    for (unsigned i = 0; i < cs->nr; i++) {
        const struct vcpu *v = cs->vcpus[i];
        deadline = MIN(deadline, ptimer_deadline(v));
        if (v != this_pcpu()->vcpu) {
            uint64_t t = vcpu_saved_timer_deadline(v);
            if (t > now) {
                deadline = MIN(deadline, t);
            }
        }
    }
    vtimer_program_hyp(deadline);
}

static void program_hyp_timer(struct cpu_sched *cs)
{
    program_hyp_timer_for(cs, false);
}

void sched_hyp_timer_changed(void)
{
    program_hyp_timer(&cpu_scheds[this_pcpu()->index]);
}

void sched_hyp_timer(void)
{
    struct cpu_sched *cs = &cpu_scheds[this_pcpu()->index];

    /* Each vCPU's emulated timer line and device deadline, whether it runs or not. */
    for (unsigned i = 0; i < cs->nr; i++) {
        __atomic_store_n(&cs->vcpus[i]->timer.resync, false, __ATOMIC_RELAXED);
        vm_hyp_timer(cs->vcpus[i]);
    }
    /* Not for a choice already due: CNTHP would fire again at once, and handle_physical_irqs
     * took it 16 times over at each window boundary (10,000 instructions). The policy is asked
     * after it anyway (at the end of the exit, in the loop of a wait); the two ways back to a
     * guest that do not ask it (schedule_loop's entry, the end of a hold) arm it again. */
    program_hyp_timer_for(cs, true);
}

/* Saves the leaving vCPU's context, restores the arriving one's, and continues on its thread
 * (where it gave up the CPU); returns once some later switch comes back to from. */
static void switch_to(struct pcpu *p, struct cpu_sched *cs, struct vcpu *from, struct vcpu *to,
                      uint64_t now)
{
    from->ctx.queued_at = now;
    cs->turn_end = now + cs->table.slice;
    cs->switches++;
    to->ctx.switches_in++;
    vcpu_context_save(from);
    p->vcpu = to;
    p->stack_top = to->ctx.stack_top;
    vcpu_context_restore(to);
    program_hyp_timer(cs);
    hyp_thread_switch(&from->ctx.thread, &to->ctx.thread);
}

enum sched_result {
    SCHED_KEEP,     /* self runs on */
    SCHED_SWITCHED, /* others ran; self runs again */
    SCHED_NONE,     /* nobody may run now: idle */
};

/* sched_yield on a shared CPU. */
static enum sched_result sched_yield_shared(struct vcpu *self, bool (*ready)(struct vcpu *v))
{
    struct pcpu *p = this_pcpu();
    struct sched_entity e[SCHED_MAX_PER_CPU];
    int current = -1;

    struct cpu_sched *cs = &cpu_scheds[p->index];
    self->ctx.ready = ready;
    uint64_t now = read_cntpct_el0();
    for (unsigned i = 0; i < cs->nr; i++) {
        struct vcpu *v = cs->vcpus[i];
        e[i] = (struct sched_entity){
            .priority = v->vm->cfg.priority,
            .vm = (int)v->vm->id,
            .runnable = v->ctx.ready(v),
            .queued_at = v->ctx.queued_at,
        };
        if (v == self) {
            current = (int)i;
        }
    }
    struct sched_choice c = sched_choose(&cs->table, e, cs->nr, current, cs->turn_end, now);
    cs->revisit = c.revisit;
    if (c.next < 0) {
        program_hyp_timer(cs);
        return SCHED_NONE;
    }
    if (c.next == current) {
        if (now >= cs->turn_end) {
            cs->turn_end = now + cs->table.slice; /* alone among equals: a new turn */
        }
        program_hyp_timer(cs);
        return SCHED_KEEP;
    }
    switch_to(p, cs, self, cs->vcpus[c.next], now);
    return SCHED_SWITCHED;
}

/* self gives up the CPU if the policy says so; ready tells whether self has something to do.
 * Not shared: SCHED_NONE at once (the caller waits as a pinned CPU does), inline, so that a
 * pinned vCPU's WFI pays a test, not the shared path's call and stack frame (the IPI's figure
 * grew by 28 instructions with that call). */
static inline __attribute__((always_inline)) enum sched_result
sched_yield(struct vcpu *self, bool (*ready)(struct vcpu *v))
{
    return __builtin_expect(this_pcpu()->shared, 0) ? sched_yield_shared(self, ready) : SCHED_NONE;
}

void sched_preempt(struct vcpu *self)
{
    /* Its turn or window may be over: it waits for the next one, others running meanwhile. */
    while (sched_yield(self, ready_always) == SCHED_NONE) {
        idle_wfi();
        handle_physical_irqs(self);
    }
}

void sched_end_turn(void)
{
    struct cpu_sched *cs = &cpu_scheds[this_pcpu()->index];

    cs->turn_end = read_cntpct_el0();
}

void sched_relax(void)
{
    struct pcpu *p = this_pcpu();
    struct cpu_sched *cs = &cpu_scheds[p->index];
    struct vcpu *self = p->vcpu;

    if (!p->shared || !self) {
        yield();
        return;
    }
    /* Whoever it waits for may be a vCPU of this CPU: any other with something to do runs,
     * whatever the policy, or the wait would never end. */
    self->ctx.ready = ready_always;
    for (unsigned i = 0; i < cs->nr; i++) {
        struct vcpu *v = cs->vcpus[i];
        if (v != self && v->ctx.ready(v)) {
            switch_to(p, cs, self, v, read_cntpct_el0());
            return;
        }
    }
    yield();
}

static void NORETURN schedule_loop(void *unused);

/* ---- moves (vm_move): a vCPU leaves its CPU at a point of its own and continues on another ----
 */

static uint64_t own_stack_top(const struct pcpu *p)
{
    return (uint64_t)(uintptr_t)&cpu_stacks[p->index + 1][0];
}

static void list_remove(struct cpu_sched *cs, const struct vcpu *v)
{
    spin_lock(&cs->lock);
    for (unsigned i = 0; i < cs->nr; i++) {
        if (cs->vcpus[i] == v) {
            cs->vcpus[i] = cs->vcpus[cs->nr - 1];
            __atomic_store_n(&cs->nr, cs->nr - 1, __ATOMIC_RELEASE);
            break;
        }
    }
    spin_unlock(&cs->lock);
}

static void list_add(struct cpu_sched *cs, struct vcpu *v)
{
    spin_lock(&cs->lock);
    cs->vcpus[cs->nr] = v;
    __atomic_store_n(&cs->nr, cs->nr + 1, __ATOMIC_RELEASE);
    spin_unlock(&cs->lock);
}

static void reset_thread(struct vcpu *v)
{
    v->ctx.thread = (struct hyp_thread){.sp = v->ctx.stack_top};
    v->ctx.thread.x19_x30[0] = (uint64_t)(uintptr_t)v;                  /* x19 */
    v->ctx.thread.x19_x30[11] = (uint64_t)(uintptr_t)&hyp_thread_start; /* x30 */
}

static bool give_thread(struct vcpu *v);

/* Publishes v on CPU to, which wakes to take it up. */
static void arrive(struct vcpu *v, unsigned to)
{
    struct pcpu *p = &pcpus[to];

    v->pcpu = to;
    v->vm->cfg.pcpu[v->index] = (uint8_t)to;
    if (p->shared) {
        if (!v->ctx.stack_top) {
            give_thread(v); /* sched_move_check counted the threads left */
        }
        reset_thread(v); /* its old thread was left behind with its old CPU */
        v->ctx.ready = ready_always;
        v->ctx.queued_at = read_cntpct_el0();
    }
    list_add(&cpu_scheds[to], v);
    if (!p->shared) {
        __atomic_store_n(&p->vcpu, v, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&v->move_to, -1, __ATOMIC_RELEASE);
    vm_move_done(v->vm);
    vcpu_wake(v);
}

/* On the leaving CPU's own stack: v is published on its new CPU, and this one goes on with what
 * it has left. */
static void NORETURN finish_move(void *arg)
{
    struct vcpu *v = arg;
    struct pcpu *p = this_pcpu();
    struct cpu_sched *cs = &cpu_scheds[p->index];

    arrive(v, (unsigned)v->move_to);
    if (p->shared && cs->nr) {
        struct vcpu *next = cs->vcpus[0];
        struct hyp_thread left_behind;
        p->vcpu = next;
        p->stack_top = next->ctx.stack_top;
        vcpu_context_restore(next);
        program_hyp_timer(cs);
        hyp_thread_switch(&left_behind, &next->ctx.thread);
    }
    p->vcpu = NULL;
    schedule_loop(NULL);
}

void sched_move_self(struct vcpu *v)
{
    struct pcpu *p = this_pcpu();

    /* Its EL1 state is in this CPU's registers if it ran: kept for its new CPU. */
    v->moved_live = __atomic_load_n(&v->loaded, __ATOMIC_ACQUIRE);
    if (v->moved_live) {
        vcpu_context_save(v);
    }
    __atomic_store_n(&v->loaded, false, __ATOMIC_RELEASE);
    list_remove(&cpu_scheds[p->index], v);
    /* Off v's stack before its new CPU may start a thread on it. */
    p->vcpu = NULL;
    p->stack_top = own_stack_top(p);
    run_on_stack(p->stack_top, finish_move, v);
}

/* A shared CPU left without a vCPU that now has one (moved here): its thread starts. */
static void NORETURN take_up_arrival(struct pcpu *p)
{
    struct vcpu *v = cpu_scheds[p->index].vcpus[0];

    p->vcpu = v;
    p->stack_top = v->ctx.stack_top;
    run_on_stack(p->stack_top, schedule_loop, NULL);
}

/* v was moved here while it ran: it goes on from where it left its old CPU. */
static void enter_moved(struct vcpu *v)
{
    struct pcpu *p = this_pcpu();

    v->moved_live = false;
    __atomic_store_n(&v->loaded, true, __ATOMIC_SEQ_CST);
    vcpu_arrive(v);
    if (__atomic_load_n(&v->vm->paused, __ATOMIC_ACQUIRE)) {
        vcpu_hold(v);
    }
    if (p->shared) {
        sched_preempt(v); /* its turn, its window */
    }
    if (vcpu_should_run(v)) {
        if (board.gic.version != GIC_NONE) {
            vgic_flush(&v->vm->vgic, v->index, &gic_lr_ops);
        }
        guest_enter(v);
    }
    __atomic_store_n(&v->loaded, false, __ATOMIC_RELEASE);
}

static unsigned threads_left(void);

bool sched_move_check(const struct vm *vm, const uint8_t *cpus, char *why, size_t len)
{
    unsigned arriving[MAX_CPUS] = {0}, threads = 0;

    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        const struct vcpu *v = &vm->vcpus[i];
        unsigned c = cpus[i];
        if (c >= board.nr_cpus || c >= MAX_CPUS) {
            snprintf(why, len, "there is no CPU %u", c);
            return false;
        }
        if (c == v->pcpu) {
            continue;
        }
        const struct cpu_sched *cs = &cpu_scheds[c];
        if (!pcpus[c].shared) {
            if (cs->nr || arriving[c]++) {
                snprintf(why, len,
                         "CPU %u has a vCPU of its own: a vCPU moves to an idle CPU, or to one "
                         "shared by a bulkhead,schedule node or by several vCPUs",
                         c);
                return false;
            }
            continue;
        }
        if (cs->table.policy == SCHED_PARTITION) {
            bool window = false;
            for (unsigned w = 0; w < cs->table.nr_windows; w++) {
                window |= cs->table.windows[w].vm == (int)vm->id;
            }
            if (!window) {
                snprintf(why, len, "CPU %u's partition table has no window for it", c);
                return false;
            }
        }
        if (cs->nr + arriving[c]++ >= SCHED_MAX_PER_CPU) {
            snprintf(why, len, "CPU %u has %u vCPUs already", c, SCHED_MAX_PER_CPU);
            return false;
        }
        threads += !v->ctx.stack_top;
    }
    if (threads > threads_left()) {
        snprintf(why, len, "no hypervisor thread left (%u time-shared vCPUs at most)", max_threads);
        return false;
    }
    return true;
}

static void NORETURN schedule_loop(void *unused)
{
    struct pcpu *p = this_pcpu();
    bool has_gic = board.gic.version != GIC_NONE;

    (void)unused;
    if (p->vcpu) {
        __atomic_store_n(&p->vcpu->loaded, false, __ATOMIC_RELEASE);
    }
    for (;;) {
        struct vcpu *v = p->vcpu;
        if (!v && p->shared && __atomic_load_n(&cpu_scheds[p->index].nr, __ATOMIC_ACQUIRE)) {
            take_up_arrival(p); /* a vCPU moved to this CPU, which had none left */
        }
        if (v && move_asked(v)) {
            sched_move_self(v);
        }
        if (v && v->moved_live) {
            enter_moved(v);
        }
        if (v) {
            vm_serve_restart(v);
        }
        if (v && may_start(v)) {
            /* Loaded first, then the states checked again: a reset that began in between
             * either sees it loaded and waits (wait_for_other_vcpus), or is seen here. */
            __atomic_store_n(&v->loaded, true, __ATOMIC_SEQ_CST);
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            if (may_start(v) && p->shared) {
                /* Started while the CPU idled: its turn, its window first (others may run
                 * meanwhile), then a choice that falls due in the guest ends it at once. */
                sched_preempt(v);
                program_hyp_timer(&cpu_scheds[p->index]);
            }
            if (may_start(v)) {
                vcpu_load(v);
                if (has_gic) {
                    vgic_flush(&v->vm->vgic, v->index, &gic_lr_ops);
                }
                guest_enter(v);
            }
            __atomic_store_n(&v->loaded, false, __ATOMIC_RELEASE);
        }
        if (v && sched_yield(v, ready_to_start) != SCHED_NONE) {
            continue;
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

/* A shared CPU's thread of v: the loop above, on v's own stack (el2/switch.S starts it). */
void sched_vcpu_thread(struct vcpu *v)
{
    (void)v; /* this_pcpu()->vcpu is v: switch_to made it so */
    schedule_loop(NULL);
}

void pcpu_schedule(void)
{
    struct pcpu *p = this_pcpu();

    /* On a shared CPU, the calling vCPU's thread starts over, on its own stack. */
    run_on_stack(p->stack_top, schedule_loop, NULL);
}

/* ---- shared CPUs: set-up ---- */

void sched_add_vcpu(struct vcpu *v)
{
    struct cpu_sched *cs = &cpu_scheds[v->pcpu];

    if (cs->nr == SCHED_MAX_PER_CPU) {
        return; /* config/vmconfig.c keeps fewer vCPUs than that on a CPU */
    }
    cs->vcpus[cs->nr++] = v;
    if (!pcpus[v->pcpu].vcpu) {
        pcpus[v->pcpu].vcpu = v;
    }
}

static unsigned threads_left(void)
{
    return max_threads - __atomic_load_n(&nr_threads, __ATOMIC_ACQUIRE);
}

/* v's thread, which starts in hyp_thread_start the first time it is switched to. */
static bool give_thread(struct vcpu *v)
{
    unsigned n = __atomic_fetch_add(&nr_threads, 1, __ATOMIC_ACQ_REL);

    if (n >= max_threads) {
        __atomic_fetch_sub(&nr_threads, 1, __ATOMIC_ACQ_REL);
        return false;
    }
    v->ctx.stack_top = (uint64_t)(uintptr_t)&thread_stacks[n][CPU_STACK_SIZE];
    reset_thread(v);
    v->ctx.ready = ready_to_start;
    return true;
}

static const char *policy_name(enum sched_policy p)
{
    return p == SCHED_PARTITION ? "time partitions" : "priorities";
}

/* Stacks for as many threads as there are vCPUs (SCHED_MAX_THREADS at most). */
static void take_thread_stacks(void)
{
    unsigned vcpus = 0;

    for (unsigned c = 0; c < MAX_CPUS; c++) {
        vcpus += cpu_scheds[c].nr;
    }
    unsigned want = MIN(vcpus, SCHED_MAX_THREADS);
    thread_stacks = hyp_mem_alloc((uint64_t)want * CPU_STACK_SIZE, 16, HYP_MEM_THREADS);
    max_threads = thread_stacks ? want : 0;
    if (want && !thread_stacks) {
        printk("bulkhead: no room for %u KiB of vCPU thread stacks in the hypervisor's memory: "
               "no CPU is time-shared\n",
               (unsigned)(want * (CPU_STACK_SIZE >> 10)));
    }
}

void sched_configure(const struct cpu_schedule cfg[MAX_CPUS])
{
    uint64_t now = read_cntpct_el0();

    take_thread_stacks();

    for (unsigned c = 0; c < MAX_CPUS; c++) {
        struct cpu_sched *cs = &cpu_scheds[c];
        cs->revisit = UINT64_MAX;
        /* A partition table applies even to one vCPU: it runs in its windows only. A CPU that
         * is not shared never reads its policy (nor copies it: the copies of every CPU's were a
         * hundredth of the boot). */
        if (!cs->nr || (cs->nr < 2 && cfg[c].policy != SCHED_PARTITION)) {
            continue;
        }
        cs->cfg = cfg[c];
        sched_table_init(&cs->table, &cs->cfg, read_cntfrq_el0(), now);
        bool ok = true;
        for (unsigned i = 0; i < cs->nr && ok; i++) {
            ok = give_thread(cs->vcpus[i]);
        }
        if (!ok) {
            printk("bulkhead: CPU %u: more than %u time-shared vCPUs in all: it runs only %s\n", c,
                   max_threads, "its first");
            cs->nr = 1;
            continue;
        }
        pcpus[c].shared = true;
        printk("bulkhead: CPU %u: %u vCPUs share it by %s\n", c, cs->nr,
               policy_name(cs->table.policy));
    }
}

void sched_start_cpu(void)
{
    struct pcpu *p = this_pcpu();
    struct cpu_sched *cs = &cpu_scheds[p->index];

    if (p->shared) {
        cs->table.epoch = read_cntpct_el0();
        p->vcpu = cs->vcpus[0];
        p->stack_top = cs->vcpus[0]->ctx.stack_top;
        write_vbar_el2((uint64_t)(uintptr_t)el2_vectors_shared);
        isb();
    }
}

uint64_t sched_switches(unsigned cpu)
{
    return cpu < MAX_CPUS ? __atomic_load_n(&cpu_scheds[cpu].switches, __ATOMIC_RELAXED) : 0;
}

/* ---- waking, blocking, holding ---- */

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
     * held where its exit returns, with the others. On a shared CPU, others run meanwhile. */
    while (vcpu_should_run(vcpu) && !vgic_has_deliverable(&vm->vgic, vcpu->index) &&
           !__atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE)) {
        /* Back from other vCPUs' turns, its own restored timer may be what woke it: taken
         * here, before it looks again. */
        if (sched_yield(vcpu, ready_from_wait) == SCHED_NONE) {
            idle_wfi();
        }
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
        if (move_asked(vcpu)) {
            __atomic_store_n(&vcpu->held, false, __ATOMIC_SEQ_CST);
            sched_move_self(vcpu); /* held again on its new CPU (enter_moved) */
        }
        serve_call(vcpu);
        if (!held_on(vcpu)) {
            break;
        }
        /* A call posted after the check above comes with a kick, which ends this WFI. */
        if (!__atomic_load_n(&vcpu->call, __ATOMIC_ACQUIRE)) {
            if (sched_yield(vcpu, ready_from_hold) == SCHED_NONE) {
                idle_wfi();
            }
            handle_physical_irqs(vcpu);
        }
    }
    __atomic_store_n(&vcpu->held, false, __ATOMIC_SEQ_CST);
    if (this_pcpu()->shared) {
        program_hyp_timer(&cpu_scheds[this_pcpu()->index]); /* a choice due leaves at once */
    }
}

bool vcpu_call_held(struct vcpu *vcpu, void (*fn)(struct vcpu *vcpu, void *arg), void *arg)
{
    struct vcpu_call call = {.fn = fn, .arg = arg, .done = false};

    if (!__atomic_load_n(&vcpu->held, __ATOMIC_ACQUIRE)) {
        return false;
    }
    if (this_pcpu()->vcpu == vcpu) {
        fn(vcpu, arg); /* from an interrupt its own CPU took while holding it */
        return true;
    }
    struct vcpu_call *none = NULL;
    while (!__atomic_compare_exchange_n(&vcpu->call, &none, &call, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
        none = NULL; /* another caller's call is pending: ours comes after it */
        sched_relax();
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
        sched_relax();
    }
    return true;
}
