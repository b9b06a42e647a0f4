/* The console monitor's pure part: line editing, parsing, formatting. See bulkhead/monitor.h. */
#include "bulkhead/esr.h"
#include "bulkhead/monitor.h"
#include "bulkhead/printk.h"
#include "bulkhead/string.h"

const char *const monitor_help[] = {
    "bulkhead monitor commands (N: a VM's number or name):",
    "  vms (or list)  every VM: state, vCPUs and their CPUs, memory, uptime, exits by class,",
    "                 faults, resets (restarts by its policies in brackets)",
    "  stop N         stop VM N (as if it had crashed: its CPUs idle until a restart)",
    "  restart N      restart VM N from its pristine images (also a stopped or off one)",
    "  pause N        hold VM N's vCPUs in the hypervisor, where they are",
    "  resume N       let a paused VM N go on",
    "  move N C[,C..] move VM N's vCPUs to physical CPUs C (one per vCPU, from vCPU 0): each",
    "                 leaves its CPU at its next exit and goes on from there on the new one",
    "  snapshot N     keep paused VM N's state (RAM, vCPUs, interrupts, timers, devices): one",
    "                 snapshot per VM with bulkhead,snapshot, replaced by the next",
    "  restore N      bring paused VM N back to its snapshot (resume it to go on from there)",
    "  focus N        give the keyboard to VM N and leave the monitor",
    "  log            the hypervisor's recent messages",
    "  load           each CPU's busy (guest and hypervisor) and idle time",
    "  net            each virtio-net port of each switch: its MAC, frames and bytes sent and",
    "                 received, errors, and drops (its receive ring was full)",
    "  reset-machine  reset the whole machine (PSCI, or the Raspberry Pi's watchdog): the",
    "                 hypervisor and every VM start again",
    "  exit           leave the monitor (also Ctrl-T ?); the keyboard goes back to its VM",
    "VMs' output goes on meanwhile, a whole line at a time. Once no VM runs (the last one",
    "stopped or powered off) the machine powers off, as without the monitor.",
    NULL,
};

enum monitor_key monitor_line_key(struct monitor_line *line, char c)
{
    if (c == '\r' || c == '\n') {
        line->buf[line->len] = '\0';
        return MON_KEY_ENTER;
    }
    if (c == '\b' || c == 0x7f) {
        if (!line->len) {
            return MON_KEY_IGNORED;
        }
        line->len--;
        return MON_KEY_ERASED;
    }
    if (c < 0x20 || c > 0x7e || line->len == MONITOR_LINE) {
        return MON_KEY_IGNORED;
    }
    line->buf[line->len++] = c;
    return MON_KEY_ADDED;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static const char *skip_blanks(const char *s)
{
    while (is_blank(*s)) {
        s++;
    }
    return s;
}

/* Copies the word at *s into word (at most size-1 bytes) and moves *s past it. */
static void next_word(const char **s, char *word, size_t size)
{
    const char *p = skip_blanks(*s);
    size_t n = 0;

    while (*p && !is_blank(*p)) {
        if (n + 1 < size) {
            word[n++] = *p;
        }
        p++;
    }
    word[n] = '\0';
    *s = p;
}

static const struct {
    const char *name;
    enum monitor_op op;
    bool takes_vm;
} commands[] = {
    {"help", MON_HELP, false},      {"?", MON_HELP, false},
    {"vms", MON_VMS, false},        {"list", MON_VMS, false},
    {"stop", MON_STOP, true},       {"restart", MON_RESTART, true},
    {"pause", MON_PAUSE, true},     {"resume", MON_RESUME, true},
    {"move", MON_MOVE, true},       {"snapshot", MON_SNAPSHOT, true},
    {"restore", MON_RESTORE, true}, {"focus", MON_FOCUS, true},
    {"log", MON_LOG, false},        {"load", MON_LOAD, false},
    {"net", MON_NET, false},        {"exit", MON_EXIT, false},
    {"quit", MON_EXIT, false},      {"reset-machine", MON_RESET_MACHINE, false},
};

/* A VM's number (all digits, below nr_vms) or its name; -1 if neither. */
static int find_vm(const char *word, const char *const *names, unsigned nr_vms)
{
    char *end;

    for (unsigned i = 0; i < nr_vms; i++) {
        if (strcmp(word, names[i]) == 0) {
            return (int)i;
        }
    }
    if (*word >= '0' && *word <= '9') {
        unsigned long n = strtoul(word, &end, 10);
        if (!*end && n < nr_vms) {
            return (int)n;
        }
    }
    return -1;
}

static void parse_error(struct monitor_cmd *cmd, const char *what, const char *word)
{
    cmd->op = MON_ERROR;
    snprintf(cmd->error, sizeof(cmd->error), "%s \"%s\"; type help for the commands", what, word);
}

/* move's CPU list: decimal CPU numbers separated by commas, at most MAX_VCPUS. */
static void parse_cpu_list(const char *rest, struct monitor_cmd *cmd)
{
    char word[MONITOR_LINE + 1];
    const char *p = word;

    next_word(&rest, word, sizeof(word));
    if (!word[0]) {
        cmd->op = MON_ERROR;
        snprintf(cmd->error, sizeof(cmd->error),
                 "move needs the new CPU of each vCPU, e.g. move 1 2,3");
        return;
    }
    for (;;) {
        char *end;
        unsigned long cpu = strtoul(p, &end, 10);
        if (end == p || cpu >= 256 || cmd->nr_cpus == MAX_VCPUS || (*end && *end != ',')) {
            parse_error(cmd, "not a list of CPU numbers:", word);
            return;
        }
        cmd->cpus[cmd->nr_cpus++] = (uint8_t)cpu;
        if (!*end) {
            break;
        }
        p = end + 1;
    }
    if (*skip_blanks(rest)) {
        parse_error(cmd, "too many arguments after", word);
    }
}

/* The VM argument of cmd's command, and nothing after it (move: its CPU list after it). */
static void parse_vm_arg(const char *rest, const char *verb, const char *const *names,
                         unsigned nr_vms, struct monitor_cmd *cmd)
{
    char word[MONITOR_LINE + 1];
    int vm;

    next_word(&rest, word, sizeof(word));
    if (!word[0]) {
        cmd->op = MON_ERROR;
        snprintf(cmd->error, sizeof(cmd->error),
                 "%s needs a VM: its number or name (vms lists them)", verb);
        return;
    }
    vm = find_vm(word, names, nr_vms);
    if (vm < 0) {
        parse_error(cmd, "no VM", word);
        return;
    }
    cmd->vm = (unsigned)vm;
    if (cmd->op == MON_MOVE) {
        parse_cpu_list(rest, cmd);
    } else if (*skip_blanks(rest)) {
        parse_error(cmd, "too many arguments after", word);
    }
}

void monitor_parse(const char *line, const char *const *names, unsigned nr_vms,
                   struct monitor_cmd *cmd)
{
    char verb[MONITOR_LINE + 1];
    const char *rest = line;

    *cmd = (struct monitor_cmd){.op = MON_NONE};
    next_word(&rest, verb, sizeof(verb));
    if (!verb[0]) {
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        if (strcmp(verb, commands[i].name) != 0) {
            continue;
        }
        cmd->op = commands[i].op;
        if (commands[i].takes_vm) {
            parse_vm_arg(rest, verb, names, nr_vms, cmd);
        } else if (*skip_blanks(rest)) {
            parse_error(cmd, "no argument expected after", verb);
        }
        return;
    }
    parse_error(cmd, "unknown command", verb);
}

enum monitor_exit_class monitor_exit_class(unsigned ec)
{
    switch (ec) {
    case EC_HVC64:
    case EC_SMC64: return MON_EXIT_HVC;
    case EC_SYS64: return MON_EXIT_SYSREG;
    case EC_DABT_LOW: return MON_EXIT_MMIO;
    case EC_WFX: return MON_EXIT_WFX;
    default: return MON_EXIT_OTHER;
    }
}

const char *monitor_exit_class_name(enum monitor_exit_class c)
{
    static const char *const names[MON_EXIT_CLASSES] = {
        [MON_EXIT_HVC] = "hvc", [MON_EXIT_SYSREG] = "sysreg", [MON_EXIT_MMIO] = "mmio",
        [MON_EXIT_WFX] = "wfi", [MON_EXIT_IRQ] = "irq",       [MON_EXIT_OTHER] = "other",
    };
    return (unsigned)c < MON_EXIT_CLASSES ? names[c] : "?";
}

const char *monitor_vm_state_name(enum monitor_vm_state s)
{
    switch (s) {
    case MON_VM_RUNNING: return "running";
    case MON_VM_PAUSED: return "paused";
    case MON_VM_STOPPED: return "stopped";
    case MON_VM_OFF: return "off";
    case MON_VM_RESETTING: return "resetting";
    default: return "?";
    }
}

/* Appends to buf at *n what snprintf would, never past len (> 0). */
static void append(char *buf, size_t len, size_t *n, const char *fmt, ...) PRINTF_LIKE(4, 5);
static void append(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
    va_list ap;

    size_t off = MIN(*n, len - 1); /* once truncated, only the NUL is written again */

    va_start(ap, fmt);
    int r = vsnprintf(buf + off, len - off, fmt, ap);
    va_end(ap);
    *n += r > 0 ? (size_t)r : 0;
}

/* "0 vm0 running vcpus 2 (cpu 0,1) 512 MiB up 12 s exits hvc 3 sysreg 0 mmio 90 wfi 40 irq 7
 * other 0 faults 0 resets 1 (0)". */
int monitor_format_vm(char *buf, size_t len, const struct monitor_vm_info *vm)
{
    size_t n = 0;

    append(buf, len, &n, "%u %s %s%s vcpus %u (cpu ", vm->id, vm->name,
           monitor_vm_state_name(vm->state), vm->privileged ? " privileged" : "", vm->nr_vcpus);
    for (unsigned i = 0; i < vm->nr_vcpus && i < MAX_VCPUS; i++) {
        append(buf, len, &n, "%s%u", i ? "," : "", vm->pcpu[i]);
    }
    append(buf, len, &n, ") %llu MiB up %llu s exits", (unsigned long long)vm->mem_mib,
           (unsigned long long)vm->uptime_s);
    for (unsigned c = 0; c < MON_EXIT_CLASSES; c++) {
        append(buf, len, &n, " %s %llu", monitor_exit_class_name(c),
               (unsigned long long)vm->exits[c]);
    }
    append(buf, len, &n, " faults %llu resets %llu (%llu)", (unsigned long long)vm->faults,
           (unsigned long long)vm->resets, (unsigned long long)vm->restarts);
    return (int)n;
}

unsigned monitor_percent(uint64_t part, uint64_t whole)
{
    if (!whole) {
        return 0;
    }
    part = MIN(part, whole);
    /* Scaled down first where part * 100 could overflow (centuries of ticks, but cheap). */
    while (part > UINT64_MAX / 200) {
        part >>= 1;
        whole >>= 1;
    }
    return (unsigned)((part * 100 + whole / 2) / whole);
}

/* "cpu0 vm0/0 busy 35% idle 65% since boot, busy 80% idle 20% since last load". */
int monitor_format_load(char *buf, size_t len, const struct monitor_cpu_load *l)
{
    size_t n = 0;
    unsigned idle = monitor_percent(l->idle, l->total);
    unsigned idle_delta = monitor_percent(l->idle_delta, l->total_delta);

    append(buf, len, &n, "cpu%u ", l->cpu);
    if (l->vm_name) {
        append(buf, len, &n, "%s/%u", l->vm_name, l->vcpu);
    } else {
        append(buf, len, &n, "-");
    }
    append(buf, len, &n, " busy %u%% idle %u%% since boot, busy %u%% idle %u%% since last load",
           100 - idle, idle, 100 - idle_delta, idle_delta);
    return (int)n;
}

int monitor_format_port(char *buf, size_t len, const struct monitor_port_info *p)
{
    size_t n = 0;
    const uint8_t *m = p->mac;

    append(buf, len, &n, "%s: %s %02x:%02x:%02x:%02x:%02x:%02x", p->switch_name, p->port_name, m[0],
           m[1], m[2], m[3], m[4], m[5]);
    append(
        buf, len, &n,
        " sent %llu frames %llu bytes (%llu errors), received %llu frames %llu bytes (%llu drops)",
        (unsigned long long)p->tx_frames, (unsigned long long)p->tx_bytes,
        (unsigned long long)p->tx_errors, (unsigned long long)p->rx_frames,
        (unsigned long long)p->rx_bytes, (unsigned long long)p->rx_drops);
    return (int)n;
}
