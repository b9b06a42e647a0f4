/*
 * The console monitor's el2 side (bulkhead/monitor.h): the session on the console, the figures
 * gathered from the VMs and CPUs, the commands, and the same figures and controls for a
 * privileged VM's hypercalls.
 *
 * Everything here runs in whatever the calling CPU was doing: the console's CPU takes the UART's
 * interrupt in the exit of any vCPU (of any VM, the one a command targets included) or idle, and
 * a privileged VM calls from its own exit. So nothing here waits for another CPU or does a VM's
 * long work: a stop halts the VM's vCPUs, which leave at their next exit; a restart leaves the
 * reload to the CPU of the VM's boot vCPU (vm_serve_restart); a pause holds the vCPUs at their
 * next exit (vm_pause).
 */
#include "bulkhead/monitor.h"

#include <stdarg.h>

#include "arch/sysreg.h"
#include "bulkhead/boot.h"
#include "bulkhead/console.h"
#include "bulkhead/cpu.h"
#include "bulkhead/firmware.h"
#include "bulkhead/hvcall.h"
#include "bulkhead/printk.h"
#include "bulkhead/snapshot.h"
#include "bulkhead/string.h"
#include "bulkhead/virtio_net.h"
#include "bulkhead/vm.h"
#include "bulkhead/vswitch.h"

_Static_assert(MON_VM_RUNNING == BH_VM_STATE_RUNNING && MON_VM_PAUSED == BH_VM_STATE_PAUSED &&
                   MON_VM_STOPPED == BH_VM_STATE_STOPPED && MON_VM_OFF == BH_VM_STATE_OFF &&
                   MON_VM_RESETTING == BH_VM_STATE_RESETTING,
               "the hypercall's states are the monitor's");

/* The prompt starts the monitor's own unfinished line: console_put_direct() knows a line by
 * its prefix's address, so this one array is used everywhere. */
static const char prompt[] = MONITOR_PROMPT;

/* The session: only the console's CPU touches it. */
static struct monitor_line line;
static uint64_t boot_at; /* CNTPCT at monitor_init: "since boot" */
static uint64_t load_at, load_idle[MAX_CPUS];
static char log_copy[CONSOLE_LOG_SIZE];

/* ---- figures ---- */

static enum monitor_vm_state vm_state(const struct vm *vm)
{
    switch (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE)) {
    case VM_RUNNING:
        return __atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE) ? MON_VM_PAUSED : MON_VM_RUNNING;
    case VM_OFF: return MON_VM_OFF;
    case VM_STOPPED: return MON_VM_STOPPED;
    case VM_RESETTING:
    default: return MON_VM_RESETTING;
    }
}

static void sum_exits(const struct vm *vm, uint64_t exits[MON_EXIT_CLASSES])
{
    for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
        const struct vcpu *v = &vm->vcpus[i];
        for (unsigned ec = 0; ec < ARRAY_SIZE(v->exits_ec); ec++) {
            exits[monitor_exit_class(ec)] += __atomic_load_n(&v->exits_ec[ec], __ATOMIC_RELAXED);
        }
        exits[MON_EXIT_IRQ] += __atomic_load_n(&v->exits_irq, __ATOMIC_RELAXED);
    }
}

void monitor_vm_info(unsigned n, struct monitor_vm_info *info)
{
    const struct vm *vm = &vms[n];
    uint64_t freq = read_cntfrq_el0();

    *info = (struct monitor_vm_info){
        .id = n,
        .name = vm->cfg.name,
        .state = vm_state(vm),
        .nr_vcpus = vm->cfg.nr_vcpus,
        .mem_mib = vm->layout.ram_size >> 20,
        .faults = __atomic_load_n(&vm->faults, __ATOMIC_RELAXED),
        .resets = vm->boot_count,
        .restarts = vm->restarts,
        .privileged = vm->cfg.monitor,
    };
    memcpy(info->pcpu, vm->cfg.pcpu, sizeof(info->pcpu));
    if ((info->state == MON_VM_RUNNING || info->state == MON_VM_PAUSED) && freq) {
        info->uptime_s = (read_cntpct_el0() - vm->started_at) / freq;
    }
    sum_exits(vm, info->exits);
}

/* CPU i's idle ticks so far, the sleep it is in included. */
static uint64_t cpu_idle(unsigned i, uint64_t now)
{
    uint64_t since = __atomic_load_n(&pcpus[i].idle_since, __ATOMIC_RELAXED);
    uint64_t idle = __atomic_load_n(&pcpus[i].idle_ticks, __ATOMIC_RELAXED);

    return since && now > since ? idle + (now - since) : idle;
}

/* ---- output ---- */

/* The monitor's own answers go to the console but not into the log (`log` shows the
 * hypervisor's messages, and would otherwise fill with its own previous output). */
static void say(const char *fmt, ...) PRINTF_LIKE(1, 2);
static void say(const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    console_write(buf, MIN((size_t)MAX(n, 0), sizeof(buf) - 1));
}

/* The prompt and what is typed so far, again, if another line came in between. */
static void redraw(void)
{
    if (console_line_open_for(prompt)) {
        return;
    }
    console_open_line(prompt);
    for (unsigned i = 0; i < line.len; i++) {
        console_put_direct(prompt, line.buf[i]);
    }
}

static void print_help(void)
{
    for (unsigned i = 0; monitor_help[i]; i++) {
        say("%s\n", monitor_help[i]);
    }
}

static void print_vms(void)
{
    char buf[384];
    struct monitor_vm_info info;

    for (unsigned i = 0; i < nr_vms; i++) {
        monitor_vm_info(i, &info);
        monitor_format_vm(buf, sizeof(buf), &info);
        say("%s\n", buf);
    }
}

static void print_load(void)
{
    uint64_t now = read_cntpct_el0();
    char buf[160];

    for (unsigned i = 0; i < board.nr_cpus && i < MAX_CPUS; i++) {
        const struct vcpu *v = pcpus[i].vcpu;
        uint64_t idle = cpu_idle(i, now);
        struct monitor_cpu_load l = {
            .cpu = i,
            .vm_name = v ? v->vm->cfg.name : NULL,
            .vcpu = v ? v->index : 0,
            .total = now - boot_at,
            .idle = idle,
            .total_delta = now - (load_at ? load_at : boot_at),
            .idle_delta = idle - MIN(load_idle[i], idle),
        };
        monitor_format_load(buf, sizeof(buf), &l);
        say("%s\n", buf);
        load_idle[i] = idle;
    }
    load_at = now;
}

static void print_net(void)
{
    const struct vswitches *all = vnet_switches();
    char buf[256];

    if (!all->nr) {
        say("no switch: no VM has a virtio-net device\n");
    }
    for (unsigned s = 0; s < all->nr; s++) {
        const struct vswitch *sw = &all->sw[s];
        for (unsigned i = 0; i < sw->nr_ports; i++) {
            const struct vswitch_port *port = &sw->ports[i];
            struct vswitch_counters c;
            vswitch_port_counters(port, &c);
            struct monitor_port_info p = {
                .switch_name = sw->name,
                .port_name = port->name,
                .tx_frames = c.tx_frames,
                .tx_bytes = c.tx_bytes,
                .tx_errors = c.tx_errors,
                .rx_frames = c.rx_frames,
                .rx_bytes = c.rx_bytes,
                .rx_drops = c.rx_drops,
            };
            memcpy(p.mac, port->mac, sizeof(p.mac));
            monitor_format_port(buf, sizeof(buf), &p);
            say("%s\n", buf);
        }
    }
}

/* The log ring's copy, from the first whole line it holds. */
static void print_log(void)
{
    uint64_t from = 0;
    size_t n = console_log_read(&from, log_copy, sizeof(log_copy));
    size_t start = 0;

    if (from) {
        const char *nl = memchr(log_copy, '\n', n);
        start = nl ? (size_t)(nl - log_copy) + 1 : n;
    }
    say("---- the hypervisor's log (last %zu bytes) ----\n", n - start);
    console_write(log_copy + start, n - start);
    if (n > start && log_copy[n - 1] != '\n') {
        say("\n");
    }
    say("---- end of log ----\n");
}

/* ---- commands ---- */

static void control_failed(const struct vm *vm, const char *what)
{
    say("monitor: %s cannot be %s: it is %s\n", vm->cfg.name, what,
        monitor_vm_state_name(vm_state(vm)));
}

/* snapshot N, restore N: timed, since a restore is there to beat a cold boot. */
static void snapshot_command(struct vm *vm, bool restore)
{
    char why[160];
    uint64_t t0 = read_cntpct_el0();
    bool ok = restore ? vm_snapshot_restore(vm, why, sizeof(why))
                      : vm_snapshot_take(vm, why, sizeof(why));
    uint64_t us = (read_cntpct_el0() - t0) * 1000000 / read_cntfrq_el0();

    if (ok) {
        printk("bulkhead: %s: %s in %llu us\n", vm->cfg.name,
               restore ? "restored from its snapshot" : "snapshot taken", (unsigned long long)us);
    } else {
        say("monitor: %s: no %s: %s\n", vm->cfg.name, restore ? "restore" : "snapshot", why);
    }
}

/* Runs cmd; false when the monitor closes (exit, focus). */
static bool run_command(const struct monitor_cmd *cmd)
{
    struct vm *vm = cmd->vm < nr_vms ? &vms[cmd->vm] : NULL;

    switch (cmd->op) {
    case MON_NONE: break;
    case MON_HELP: print_help(); break;
    case MON_VMS: print_vms(); break;
    case MON_STOP:
        if (!vm_operator_stop(vm)) {
            control_failed(vm, "stopped");
        }
        break;
    case MON_RESTART:
        if (!vm_operator_restart(vm)) {
            control_failed(vm, "restarted now");
        }
        break;
    case MON_PAUSE:
        if (vm_pause(vm)) {
            printk("bulkhead: %s: paused by the operator\n", vm->cfg.name);
        } else {
            control_failed(vm, "paused");
        }
        break;
    case MON_RESUME:
        if (vm_resume(vm)) {
            printk("bulkhead: %s: resumed by the operator\n", vm->cfg.name);
        } else {
            control_failed(vm, "resumed");
        }
        break;
    case MON_MOVE: {
        char why[160];
        if (vm_move(vm, cmd->cpus, cmd->nr_cpus, why, sizeof(why))) {
            printk("bulkhead: %s: moving, by the operator\n", vm->cfg.name);
        } else {
            say("monitor: %s cannot be moved: %s\n", vm->cfg.name, why);
        }
        break;
    }
    case MON_SNAPSHOT:
    case MON_RESTORE: snapshot_command(vm, cmd->op == MON_RESTORE); break;
    case MON_FOCUS: console_set_focus(cmd->vm); return false;
    case MON_LOG: print_log(); break;
    case MON_LOAD: print_load(); break;
    case MON_NET: print_net(); break;
    case MON_RESET_MACHINE: say("bulkhead: the operator resets the machine\n"); machine_reset();
    case MON_EXIT: say("bulkhead: left the monitor\n"); return false;
    case MON_ERROR:
    default: say("monitor: %s\n", cmd->error); break;
    }
    return true;
}

static bool run_line(void)
{
    const char *names[MAX_VMS];
    struct monitor_cmd cmd;

    for (unsigned i = 0; i < nr_vms; i++) {
        names[i] = vms[i].cfg.name;
    }
    monitor_parse(line.buf, names, nr_vms, &cmd);
    line.len = 0;
    return run_command(&cmd);
}

static void monitor_open(void)
{
    line.len = 0;
    say("\n");
    print_help();
    console_open_line(prompt);
}

static bool monitor_key(char c)
{
    switch (monitor_line_key(&line, c)) {
    case MON_KEY_ADDED:
        if (console_line_open_for(prompt)) {
            console_put_direct(prompt, c);
        } else {
            redraw(); /* c included */
        }
        break;
    case MON_KEY_ERASED:
        if (console_line_open_for(prompt)) {
            console_put_direct(prompt, '\b');
            console_put_direct(prompt, ' ');
            console_put_direct(prompt, '\b');
        } else {
            redraw();
        }
        break;
    case MON_KEY_ENTER:
        redraw();
        console_put_direct(prompt, '\n');
        if (!run_line()) {
            return false;
        }
        console_open_line(prompt);
        break;
    case MON_KEY_IGNORED:
    default: break;
    }
    return true;
}

static void monitor_close(void)
{
    line.len = 0;
    say("bulkhead: left the monitor\n");
}

static const struct console_monitor console_monitor = {
    .open = monitor_open,
    .key = monitor_key,
    .close = monitor_close,
};

void monitor_init(void)
{
    boot_at = read_cntpct_el0();
    console_set_monitor(&console_monitor);
}

/* ---- hypercalls (docs/HYPERCALLS.md) ---- */

#define HVC_INVALID ((uint64_t)(int64_t)PSCI_RET_INVALID_PARAMS)

/* Eight bytes of a name from offset at, little-endian, NUL-padded. */
static uint64_t name_bytes(const char *name, unsigned at)
{
    size_t len = strnlen(name, NAME_LEN);
    uint64_t v = 0;

    for (unsigned i = 0; i < 8 && at + i < len; i++) {
        v |= (uint64_t)(uint8_t)name[at + i] << (8 * i);
    }
    return v;
}

static uint64_t info_field(uint64_t n, uint64_t field)
{
    struct monitor_vm_info info;

    if (n >= nr_vms) {
        return HVC_INVALID;
    }
    monitor_vm_info((unsigned)n, &info);
    switch (field) {
    case BH_VM_STATE: return info.state;
    case BH_VM_VCPUS: return info.nr_vcpus;
    case BH_VM_MEM_MIB: return info.mem_mib;
    case BH_VM_UPTIME_S: return info.uptime_s;
    case BH_VM_FAULTS: return info.faults;
    case BH_VM_RESETS: return info.resets;
    case BH_VM_RESTARTS: return info.restarts;
    case BH_VM_PRIVILEGED: return info.privileged;
    default: break;
    }
    if (field >= BH_VM_EXITS && field < BH_VM_EXITS + MON_EXIT_CLASSES) {
        return info.exits[field - BH_VM_EXITS];
    }
    if (field >= BH_VM_PCPU && field < BH_VM_PCPU + info.nr_vcpus) {
        return info.pcpu[field - BH_VM_PCPU];
    }
    if (field >= BH_VM_NAME && field < BH_VM_NAME + NAME_LEN / 8) {
        return name_bytes(info.name, (unsigned)(field - BH_VM_NAME) * 8);
    }
    return HVC_INVALID;
}

/* A privileged VM may restart itself (its vCPUs leave this exit like a SYSTEM_RESET's), but not
 * stop, pause or resume itself: nothing but the operator could undo it. */
/* BH_VM_OP_MOVE: cpus holds vCPU i's new CPU in byte i. */
static bool move_by(struct vm *vm, const struct vm *self, uint64_t cpus)
{
    uint8_t to[MAX_VCPUS];
    char why[160];

    for (unsigned i = 0; i < MAX_VCPUS; i++) {
        to[i] = (uint8_t)(cpus >> (8 * i));
    }
    if (!vm_move(vm, to, vm->cfg.nr_vcpus, why, sizeof(why))) {
        printk("bulkhead: %s: not moved for %s: %s\n", vm->cfg.name, self->cfg.name, why);
        return false;
    }
    printk("bulkhead: %s: moving, by %s\n", vm->cfg.name, self->cfg.name);
    return true;
}

/* BH_VM_OP_SNAPSHOT, BH_VM_OP_RESTORE: as the console's, the outcome said on it. */
static bool snapshot_by(struct vm *vm, const struct vm *self, bool restore)
{
    char why[160];
    bool ok = restore ? vm_snapshot_restore(vm, why, sizeof(why))
                      : vm_snapshot_take(vm, why, sizeof(why));

    if (ok) {
        printk("bulkhead: %s: %s by %s\n", vm->cfg.name,
               restore ? "restored from its snapshot" : "snapshot taken", self->cfg.name);
    } else {
        printk("bulkhead: %s: no %s for %s: %s\n", vm->cfg.name, restore ? "restore" : "snapshot",
               self->cfg.name, why);
    }
    return ok;
}

static int64_t control(struct vm *self, uint64_t n, uint64_t op, uint64_t arg)
{
    if (n >= nr_vms || op > BH_VM_OP_RESTORE) {
        return PSCI_RET_INVALID_PARAMS;
    }
    struct vm *vm = &vms[n];
    if (vm == self && op != BH_VM_OP_RESTART) {
        return PSCI_RET_DENIED;
    }
    bool done = false;
    switch (op) {
    case BH_VM_OP_STOP: done = vm_operator_stop(vm); break;
    case BH_VM_OP_RESTART: done = vm_operator_restart(vm); break;
    case BH_VM_OP_PAUSE:
        done = vm_pause(vm);
        if (done) {
            printk("bulkhead: %s: paused by %s\n", vm->cfg.name, self->cfg.name);
        }
        break;
    case BH_VM_OP_MOVE: done = move_by(vm, self, arg); break;
    case BH_VM_OP_SNAPSHOT:
    case BH_VM_OP_RESTORE: done = snapshot_by(vm, self, op == BH_VM_OP_RESTORE); break;
    case BH_VM_OP_RESUME:
    default:
        done = vm_resume(vm);
        if (done) {
            printk("bulkhead: %s: resumed by %s\n", vm->cfg.name, self->cfg.name);
        }
        break;
    }
    return done ? PSCI_RET_SUCCESS : PSCI_RET_DENIED;
}

/* Copies the log from offset into the caller's RAM at ipa, len bytes at most (the ring's size
 * at most). x0: bytes copied or INVALID_ADDRESS, x1: the offset of the first byte copied,
 * x2: the log's end. */
static void log_read(struct vcpu *vcpu, uint64_t offset, uint64_t ipa, uint64_t len)
{
    uint64_t *x = vcpu->regs.x;
    uint64_t at = offset, first = offset;
    uint64_t done = 0;
    char chunk[256];

    len = MIN(len, (uint64_t)CONSOLE_LOG_SIZE);
    while (done < len) {
        size_t n = console_log_read(&at, chunk, MIN(sizeof(chunk), len - done));
        if (!done) {
            first = at;
        }
        if (!n) {
            break;
        }
        if (vm_write_guest(vcpu->vm, ipa + done, chunk, n) != 0) {
            x[0] = (uint64_t)(int64_t)PSCI_RET_INVALID_ADDRESS;
            return;
        }
        at += n;
        done += n;
    }
    x[0] = done;
    x[1] = first;
    x[2] = console_log_end();
}

bool monitor_hvc(struct vcpu *vcpu)
{
    uint64_t *x = vcpu->regs.x;
    struct vm *self = vcpu->vm;

    if (!self->cfg.monitor) {
        x[0] = SMCCC_RET_NOT_SUPPORTED;
        return true;
    }
    switch ((uint32_t)x[0]) {
    case BH_HVC_VM_COUNT:
        x[0] = nr_vms;
        x[1] = self->id;
        break;
    case BH_HVC_VM_INFO: x[0] = info_field(x[1], x[2]); break;
    case BH_HVC_VM_CONTROL: x[0] = (uint64_t)control(self, x[1], x[2], x[3]); break;
    case BH_HVC_LOG_READ: log_read(vcpu, x[1], x[2], x[3]); break;
    default: x[0] = SMCCC_RET_NOT_SUPPORTED; break;
    }
    return true;
}
