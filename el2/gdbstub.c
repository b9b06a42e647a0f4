/*
 * The gdb stub's target: one VM, named by the bootarg bulkhead.gdb=, debugged over a PL011 of
 * its own (board.gdb_uart) with GDB's remote protocol (el2/gdbstub_proto.c). docs/DEBUGGING.md
 * tells how to use it.
 *
 * The UART's receive interrupt goes to CPU 0, which therefore reads and answers every packet;
 * the debugged VM's vCPUs may be on any CPU. Stopping the VM is vm_pause(): its vCPUs are held in
 * EL2 at their next exit while every other VM runs on. A vCPU's general registers are in
 * vcpu->regs, readable from CPU 0 once it is held; its EL1 state (SP_EL1, the translation
 * registers for AT, MDSCR_EL1) and MDCR_EL2 are in its own CPU's registers, reached through
 * vcpu_call_held(), or directly when that CPU is the one answering.
 *
 * While gdb is attached, the VM's vCPUs run with MDCR_EL2.TDE: a BRK (a breakpoint) or a
 * software step exits to EL2 (gdbstub_debug_exit), which pauses the VM and sends the stop
 * reply. Other VMs never get TDE, so they pay nothing; the VM itself gets it only while gdb is
 * attached, since TDE also traps its own use of the debug registers.
 */
#include "bulkhead/gdbstub.h"

#include "arch/sysreg.h"
#include "bulkhead/boot.h"
#include "bulkhead/cpu.h"
#include "bulkhead/esr.h"
#include "bulkhead/gic.h"
#include "bulkhead/inject.h"
#include "bulkhead/mm.h"
#include "bulkhead/pl011.h"
#include "bulkhead/printk.h"
#include "bulkhead/sched.h"
#include "bulkhead/string.h"
#include "bulkhead/vm.h"

#define HOLD_WAIT_MS 1000 /* for a kicked vCPU to reach its hold: it needs one exit */

static struct {
    struct vm *vm; /* the debugged VM; NULL: no stub */
    paddr_t uart;
    unsigned intid;
    struct gdb_rx rx;           /* CPU 0 only */
    struct gdb_session session; /* CPU 0 only, but stop_* written under lock */
    volatile bool attached;     /* gdb has spoken since the last detach */
    bool running;               /* gdb waits for a stop reply; under lock */
    spinlock_t lock;            /* the UART's output, running and the stop's fields */
    char reply[GDB_PACKET_MAX + 1];
    char frame[2 * GDB_PACKET_MAX + 8];
} gdb;

/* ---- the UART ---- */

static void send_raw(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        pl011_port_putc(gdb.uart, s[i]);
    }
}

/* Lock held. */
static void send_packet_locked(const char *payload)
{
    size_t n = gdb_frame(gdb.frame, sizeof(gdb.frame), payload, strlen(payload));

    send_raw(gdb.frame, n);
}

static void send_packet(const char *payload)
{
    spin_lock(&gdb.lock);
    send_packet_locked(payload);
    spin_unlock(&gdb.lock);
}

static void send_ack(char c)
{
    spin_lock(&gdb.lock);
    send_raw(&c, 1);
    spin_unlock(&gdb.lock);
}

/* ---- the VM's vCPUs on their own CPUs ---- */

/* v's EL1 state is in this CPU's registers. */
static bool on_this_cpu(const struct vcpu *v)
{
    return this_pcpu()->vcpu == v;
}

static bool vcpu_on(const struct vcpu *v)
{
    return __atomic_load_n(&v->state, __ATOMIC_ACQUIRE) == VCPU_ON;
}

/* Runs fn where v's EL1 state is live: here if v is this CPU's (this CPU is in v's exit or
 * hold), else on its CPU, which must hold it. */
static bool on_vcpu_cpu(struct vcpu *v, void (*fn)(struct vcpu *v, void *arg), void *arg)
{
    if (on_this_cpu(v)) {
        fn(v, arg);
        return true;
    }
    return vcpu_call_held(v, fn, arg);
}

/* Every vCPU of the paused VM that runs elsewhere is held. This CPU's own vCPU, if it is the
 * VM's, is in its exit (or hold) right now: its state can be read, and it is held before this
 * CPU takes the next packet. */
static bool others_held(const struct vm *vm)
{
    if (!__atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE)) {
        return false;
    }
    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        const struct vcpu *v = &vm->vcpus[i];
        if (vcpu_on(v) && !on_this_cpu(v) && !__atomic_load_n(&v->held, __ATOMIC_ACQUIRE)) {
            return false;
        }
    }
    return true;
}

static bool wait_held(const struct vm *vm)
{
    uint64_t end = read_cntpct_el0() + read_cntfrq_el0() / 1000 * HOLD_WAIT_MS;

    while (!others_held(vm)) {
        if (read_cntpct_el0() > end || vm->state != VM_RUNNING) {
            return false;
        }
        sched_relax();
    }
    return true;
}

/* ---- debug controls, on the vCPU's CPU ---- */

static void set_tde(struct vcpu *v, void *on)
{
    (void)v;
    uint64_t mdcr = read_mdcr_el2() & ~MDCR_TDE;
    write_mdcr_el2(mdcr | (*(bool *)on ? MDCR_TDE : 0));
    isb();
}

static void set_step(struct vcpu *v, void *on)
{
    (void)v;
    write_mdscr_el1((read_mdscr_el1() & ~MDSCR_SS) | (*(bool *)on ? MDSCR_SS : 0));
    isb();
}

static void set_tde_all(struct vm *vm, bool on)
{
    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        if (vcpu_on(&vm->vcpus[i])) {
            on_vcpu_cpu(&vm->vcpus[i], set_tde, &on);
        }
    }
}

uint64_t gdbstub_mdcr(const struct vm *vm)
{
    return vm == gdb.vm && __atomic_load_n(&gdb.attached, __ATOMIC_ACQUIRE) ? MDCR_TDE : 0;
}

/* ---- the target's operations ---- */

static struct vcpu *thread_vcpu(unsigned thread)
{
    if (!gdb.vm || thread == 0 || thread > gdb.vm->cfg.nr_vcpus) {
        return NULL;
    }
    return &gdb.vm->vcpus[thread - 1];
}

static unsigned op_nr_threads(void *ctx)
{
    (void)ctx;
    return gdb.vm->cfg.nr_vcpus;
}

static bool op_stopped(void *ctx)
{
    (void)ctx;
    return gdb.vm->state == VM_RUNNING && wait_held(gdb.vm);
}

/* The stack pointer of the guest's current mode: SP_EL1 in EL1h, else SP_EL0. */
struct sp_access {
    uint64_t value;
    bool write;
};

static void access_sp(struct vcpu *v, void *arg)
{
    struct sp_access *a = arg;
    bool el1h = (v->regs.spsr & SPSR_MODE_MASK) == SPSR_MODE_EL1H;

    if (a->write && el1h) {
        write_sp_el1(a->value);
    } else if (a->write) {
        write_sp_el0(a->value);
    } else {
        a->value = el1h ? read_sp_el1() : read_sp_el0();
    }
}

static bool op_read_regs(void *ctx, unsigned thread, struct gdb_regs *regs)
{
    struct vcpu *v = thread_vcpu(thread);
    struct sp_access sp = {0, false};

    (void)ctx;
    if (!v || !vcpu_on(v) || !on_vcpu_cpu(v, access_sp, &sp)) {
        return false;
    }
    for (unsigned i = 0; i < 31; i++) {
        regs->r[i] = v->regs.x[i];
    }
    regs->r[GDB_REG_SP] = sp.value;
    regs->r[GDB_REG_PC] = v->regs.elr;
    regs->r[GDB_REG_CPSR] = (uint32_t)(v->regs.spsr & ~SPSR_SS);
    return true;
}

static bool op_write_regs(void *ctx, unsigned thread, const struct gdb_regs *regs)
{
    struct vcpu *v = thread_vcpu(thread);
    struct sp_access sp = {regs->r[GDB_REG_SP], true};

    (void)ctx;
    if (!v || !vcpu_on(v)) {
        return false;
    }
    for (unsigned i = 0; i < 31; i++) {
        v->regs.x[i] = regs->r[i];
    }
    v->regs.elr = regs->r[GDB_REG_PC];
    /* The mode first: it says which SP is the one written. */
    v->regs.spsr = (v->regs.spsr & ~0xffffffffULL) | (uint32_t)regs->r[GDB_REG_CPSR];
    return on_vcpu_cpu(v, access_sp, &sp);
}

/* AT S1E1R on the vCPU's CPU; PAR_EL1 is the guest's own, so it is put back. */
struct translation {
    uint64_t va;
    uint64_t par;
};

static void translate(struct vcpu *v, void *arg)
{
    struct translation *t = arg;
    uint64_t saved = read_par_el1();

    (void)v;
    at_s1e1r(t->va);
    t->par = read_par_el1();
    write_par_el1(saved);
}

#define PAR_F BIT(0)

/* The hypervisor's address of the guest's byte at va, with the bytes of it that are the same
 * page in *room; NULL if va is not mapped to the VM's RAM. Blocks of RAM not yet populated are
 * zero to the guest: *zero says so (read as zeros, never written). */
static uint8_t *guest_byte(struct vcpu *v, uint64_t va, size_t *room, bool *zero)
{
    struct vm *vm = v->vm;
    struct translation t = {va, PAR_F};

    if (!on_vcpu_cpu(v, translate, &t) || (t.par & PAR_F)) {
        return NULL;
    }
    uint64_t ipa = BITS(t.par, 47, 12) << 12 | (va & (PAGE_SIZE - 1));
    if (ipa < vm->layout.ram_ipa || ipa - vm->layout.ram_ipa >= vm->layout.ram_size) {
        return NULL; /* a device, or nothing: never touched by the debugger */
    }
    uint64_t off = ipa - vm->layout.ram_ipa;
    uint64_t block = off / VM_RAM_BLOCK;
    *zero = !(vm->populated[block / 64] & BIT(block % 64));
    *room = PAGE_SIZE - (va & (PAGE_SIZE - 1));
    return (uint8_t *)(uintptr_t)(vm->layout.ram_pa + off);
}

/* The next run of a debugger's access to len bytes at va, done of them already: the
 * hypervisor's address of its bytes (guest_byte()), as many as are left in their page in *n;
 * NULL when there is none (no vCPU, nothing left, or va + done is not the VM's RAM). */
static uint8_t *guest_run(struct vcpu *v, uint64_t va, size_t done, size_t len, size_t *n,
                          bool *zero)
{
    size_t room;
    uint8_t *p;

    if (!v || done >= len) {
        return NULL;
    }
    p = guest_byte(v, va + done, &room, zero);
    if (p) {
        *n = MIN(room, len - done);
    }
    return p;
}

static size_t op_read_mem(void *ctx, unsigned thread, uint64_t va, uint8_t *buf, size_t len)
{
    struct vcpu *v = thread_vcpu(thread);
    size_t done = 0;
    size_t n;
    bool zero;
    const uint8_t *p;

    (void)ctx;
    while ((p = guest_run(v, va, done, len, &n, &zero))) {
        if (zero) {
            memset(buf + done, 0, n);
        } else {
            memcpy(buf + done, p, n);
        }
        done += n;
    }
    return done;
}

static size_t op_write_mem(void *ctx, unsigned thread, uint64_t va, const uint8_t *buf, size_t len)
{
    struct vcpu *v = thread_vcpu(thread);
    size_t done = 0;
    size_t n;
    bool zero;
    uint8_t *p;

    (void)ctx;
    while ((p = guest_run(v, va, done, len, &n, &zero)) && !zero) {
        memcpy(p, buf + done, n);
        /* The guest may run with its caches off, and this may be code. */
        dcache_clean_poc(p, n);
        done += n;
    }
    if (done) {
        ic_ialluis();
    }
    return done;
}

static void op_resume(void *ctx, unsigned step_thread)
{
    struct vm *vm = gdb.vm;

    (void)ctx;
    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        bool step = i + 1 == step_thread;
        if (!vcpu_on(v)) {
            continue;
        }
        v->regs.spsr = step ? v->regs.spsr | SPSR_SS : v->regs.spsr & ~SPSR_SS;
        on_vcpu_cpu(v, set_step, &step);
    }
    spin_lock(&gdb.lock);
    gdb.running = true;
    spin_unlock(&gdb.lock);
    vm_resume(vm);
}

static void op_detach(void *ctx)
{
    struct vm *vm = gdb.vm;
    bool off = false;

    (void)ctx;
    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        if (vcpu_on(v)) {
            v->regs.spsr &= ~SPSR_SS;
            on_vcpu_cpu(v, set_step, &off);
        }
    }
    __atomic_store_n(&gdb.attached, false, __ATOMIC_RELEASE);
    set_tde_all(vm, false);
    spin_lock(&gdb.lock);
    gdb.running = false;
    spin_unlock(&gdb.lock);
    vm_resume(vm);
    printk("bulkhead: %s: gdb detached\n", vm->cfg.name);
}

static const struct gdb_target_ops target_ops = {
    .nr_threads = op_nr_threads,
    .stopped = op_stopped,
    .read_regs = op_read_regs,
    .write_regs = op_write_regs,
    .read_mem = op_read_mem,
    .write_mem = op_write_mem,
    .resume = op_resume,
    .detach = op_detach,
};

/* ---- stops ---- */

/* The stop gdb waits for, if it waits: thread and signal, and the reply sent. */
static void report_stop(unsigned thread, int signal)
{
    char reply[32];

    spin_lock(&gdb.lock);
    if (gdb.running) {
        gdb.running = false;
        gdb.session.stop_thread = thread;
        gdb.session.stop_signal = signal;
        gdb_stop_reply(&gdb.session, reply);
        send_packet_locked(reply);
    }
    spin_unlock(&gdb.lock);
}

/* Ctrl-C. */
static void interrupt_target(void)
{
    vm_pause(gdb.vm);
    if (wait_held(gdb.vm)) {
        report_stop(gdb.session.stop_thread, GDB_SIGINT);
    }
}

/* gdb's first packet: the VM stops, its vCPUs get TDE. */
static void attach(void)
{
    struct vm *vm = gdb.vm;

    vm_pause(vm);
    __atomic_store_n(&gdb.attached, true, __ATOMIC_RELEASE);
    spin_lock(&gdb.lock);
    gdb.running = false;
    gdb.session.stop_thread = 1;
    gdb.session.stop_signal = GDB_SIGTRAP;
    spin_unlock(&gdb.lock);
    if (wait_held(vm)) {
        set_tde_all(vm, true);
    }
    printk("bulkhead: %s: gdb attached, the VM is stopped\n", vm->cfg.name);
}

/* A packet while the VM runs: a gdb that lost its connection and came back, and believes the
 * VM stopped. It is, before the packet is answered; no stop reply is owed any more. */
static void stop_silently(void)
{
    spin_lock(&gdb.lock);
    bool was_running = gdb.running;
    gdb.running = false;
    spin_unlock(&gdb.lock);
    if (was_running) {
        vm_pause(gdb.vm);
        wait_held(gdb.vm);
    }
}

bool gdbstub_debug_exit(struct vcpu *vcpu, uint64_t esr)
{
    struct vm *vm = vcpu->vm;
    bool step = ESR_EC(esr) == EC_SOFTSTP_LOW;

    if (step) {
        bool off = false;
        set_step(vcpu, &off);
        vcpu->regs.spsr &= ~SPSR_SS;
    }
    if (step && (vm != gdb.vm || !__atomic_load_n(&gdb.attached, __ATOMIC_ACQUIRE))) {
        return true; /* a step asked before gdb left: it is over */
    }
    /* The guest's own BRK (Linux's BUG and WARN, its kgdb's): TDE took it from the guest's
     * debugger, which gets it back. Breakpoints change only while the VM is held, so no vCPU is
     * here while the table changes. */
    if (!step && (vm != gdb.vm || !__atomic_load_n(&gdb.attached, __ATOMIC_ACQUIRE) ||
                  !gdb_is_breakpoint(&gdb.session, vcpu->regs.elr))) {
        inject_brk(vcpu, esr);
        return true;
    }
    /* Paused first: the reply makes gdb ask for the state at once. */
    vm_pause(vm);
    report_stop(vcpu->index + 1, GDB_SIGTRAP);
    return true;
}

/* ---- packets ---- */

static void serve_packet(void)
{
    if (!__atomic_load_n(&gdb.attached, __ATOMIC_ACQUIRE)) {
        attach();
    } else {
        stop_silently();
    }
    switch (gdb_handle(&gdb.session, gdb.rx.buf, gdb.rx.len, gdb.reply)) {
    case GDB_REPLY: send_packet(gdb.reply); break;
    case GDB_DETACHED: send_packet(gdb.reply); break;
    case GDB_RUNNING:
    case GDB_NO_REPLY:
    default: break;
    }
}

static void receive_byte(uint8_t c)
{
    switch (gdb_rx_byte(&gdb.rx, c)) {
    case GDB_RX_PACKET:
        send_ack('+');
        serve_packet();
        break;
    case GDB_RX_BAD: send_ack('-'); break;
    case GDB_RX_BREAK:
        if (__atomic_load_n(&gdb.attached, __ATOMIC_ACQUIRE)) {
            interrupt_target();
        }
        break;
    case GDB_RX_NONE:
    default: break;
    }
}

void gdbstub_receive(void)
{
    int c;

    /* Acknowledged before draining, as the console does (el2/console.c): a byte arriving
     * after the FIFO was found empty raises the interrupt again. */
    pl011_port_ack_rx_irq(gdb.uart);
    while ((c = pl011_port_getc(gdb.uart)) >= 0) {
        receive_byte((uint8_t)c);
    }
}

bool gdbstub_owns_irq(unsigned intid)
{
    return gdb.vm && intid == gdb.intid;
}

static struct vm *find_vm(const char *name)
{
    for (unsigned i = 0; i < nr_vms; i++) {
        if (strcmp(vms[i].cfg.name, name) == 0) {
            return &vms[i];
        }
    }
    return NULL;
}

void gdbstub_init(const char *vm_name)
{
    const struct board_uart *uart = &board.gdb_uart;
    struct vm *vm;

    if (!vm_name[0]) {
        return;
    }
    if (!uart->regs.size) {
        printk("bulkhead: bulkhead.gdb=%s: no UART for the gdb stub: not started\n", vm_name);
        return;
    }
    vm = find_vm(vm_name);
    if (!vm) {
        printk("bulkhead: bulkhead.gdb=%s: no VM of that name: the gdb stub is not started\n",
               vm_name);
        return;
    }
    if (mmu_map_device(ALIGN_DOWN(uart->regs.base, PAGE_SIZE), PAGE_SIZE) != 0) {
        printk("bulkhead: %s: cannot map the gdb stub's UART\n", uart->path);
        return;
    }
    gdb.uart = uart->regs.base;
    gdb.intid = uart->spi + VGIC_NR_PRIVATE;
    gdb_session_init(&gdb.session, &target_ops, NULL);
    pl011_port_init(gdb.uart);
    pl011_port_enable_rx_irq(gdb.uart);
    gdb.vm = vm;
    gic_enable_spi(gdb.intid, 0);
    printk("bulkhead: %s: gdb stub on %s (target remote to that serial line)\n", vm->cfg.name,
           uart->path);
}
