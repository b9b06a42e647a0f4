/*
 * The operator's console monitor (Ctrl-T then ?): every VM's state and figures, stop, restart,
 * pause and resume of one VM, the keyboard's focus, the hypervisor's log and each CPU's load.
 *
 * el2/monitor_cmd.c is pure (host-tested): the line editor, the command parser and the
 * formatting of each figure. el2/monitor.c is the glue: it gathers the figures from the VMs and
 * the CPUs, runs the commands on the console's CPU without waiting for any other CPU, and
 * answers the same figures to a privileged VM's hypercalls (docs/HYPERCALLS.md).
 */
#ifndef BULKHEAD_MONITOR_H
#define BULKHEAD_MONITOR_H

#include "config.h"

#define MONITOR_LINE 80 /* a typed command, at most */
#define MONITOR_PROMPT "bulkhead> "

/* ---- the line editor ---- */

struct monitor_line {
    char buf[MONITOR_LINE + 1];
    unsigned len;
};

enum monitor_key {
    MON_KEY_IGNORED, /* a control character, or the line is full */
    MON_KEY_ADDED,   /* appended: echo it */
    MON_KEY_ERASED,  /* backspace removed the last character: erase it on screen */
    MON_KEY_ENTER,   /* the line is complete (buf is NUL-terminated); the caller clears it */
};

/* One typed byte: printable ASCII is appended, backspace (BS or DEL) erases, CR or LF ends the
 * line, anything else is ignored. */
enum monitor_key monitor_line_key(struct monitor_line *line, char c);

/* ---- commands ---- */

enum monitor_op {
    MON_NONE, /* an empty line */
    MON_HELP,
    MON_VMS,
    MON_STOP,
    MON_RESTART,
    MON_PAUSE,
    MON_RESUME,
    MON_MOVE,
    MON_SNAPSHOT,
    MON_RESTORE,
    MON_FOCUS,
    MON_LOG,
    MON_LOAD,
    MON_NET,
    MON_RESET_MACHINE,
    MON_EXIT,
    MON_ERROR, /* unknown command or bad argument: cmd->error says which */
};

struct monitor_cmd {
    enum monitor_op op;
    unsigned vm; /* the VM of stop, restart, pause, resume, move and focus */
    /* move: the physical CPU of each vCPU from the first, nr_cpus of them */
    uint8_t cpus[MAX_VCPUS];
    unsigned nr_cpus;
    char error[192]; /* for MON_ERROR: one line, no newline (a typed word fits whole) */
};

/* Parses one line: a command and, for those that take one, a VM given by its number or its
 * name among names[0..nr_vms). Leading and trailing blanks are ignored. */
void monitor_parse(const char *line, const char *const *names, unsigned nr_vms,
                   struct monitor_cmd *cmd);

/* The help text, line after line (NULL-terminated). */
extern const char *const monitor_help[];

/* ---- figures ---- */

/* Exits by class: what a VM's exits were, summed over its vCPUs. */
enum monitor_exit_class {
    MON_EXIT_HVC,    /* HVC and SMC: PSCI, SMCCC, Bulkhead's calls */
    MON_EXIT_SYSREG, /* trapped system registers */
    MON_EXIT_MMIO,   /* data aborts: emulated devices (and RAM's first touch) */
    MON_EXIT_WFX,    /* WFI and WFE */
    MON_EXIT_IRQ,    /* physical interrupts */
    MON_EXIT_OTHER,  /* anything else: instruction aborts, hidden features, ... */
    MON_EXIT_CLASSES
};

/* The class of an exit with syndrome class ec (ESR_EL2.EC). */
enum monitor_exit_class monitor_exit_class(unsigned ec);
/* Its short name, as `vms` prints it ("hvc", "sysreg", ...). */
const char *monitor_exit_class_name(enum monitor_exit_class c);

enum monitor_vm_state {
    MON_VM_RUNNING,
    MON_VM_PAUSED,
    MON_VM_STOPPED,
    MON_VM_OFF,
    MON_VM_RESETTING,
};
const char *monitor_vm_state_name(enum monitor_vm_state s);

/* What `vms` prints of one VM, and what BH_HVC_VM_INFO answers. */
struct monitor_vm_info {
    unsigned id;
    const char *name;
    enum monitor_vm_state state;
    unsigned nr_vcpus;
    uint8_t pcpu[MAX_VCPUS]; /* the physical CPU of each vCPU */
    uint64_t mem_mib;
    uint64_t uptime_s; /* since its last start; 0 unless running or paused */
    uint64_t exits[MON_EXIT_CLASSES];
    uint64_t faults;   /* guest faults answered (aborts and undefs injected, stops) */
    uint64_t resets;   /* resets and restarts since the hypervisor booted (boot count) */
    uint64_t restarts; /* of those, made by its policies (crash, watchdog, power-off) */
    bool privileged;   /* may use the monitor's hypercalls */
};

/* One line of `vms`, no newline. Returns what snprintf would. */
int monitor_format_vm(char *buf, size_t len, const struct monitor_vm_info *vm);

/* One physical CPU's time, in counter ticks, since boot and since the previous `load`. */
struct monitor_cpu_load {
    unsigned cpu;
    const char *vm_name; /* the VM of the vCPU pinned to it, NULL if none */
    unsigned vcpu;
    uint64_t total, idle;             /* since boot */
    uint64_t total_delta, idle_delta; /* since the previous `load` (= since boot the first time) */
};

/* One line of `load`, no newline: busy (guest and hypervisor) and idle percentages. */
int monitor_format_load(char *buf, size_t len, const struct monitor_cpu_load *l);
/* part of whole in whole percent, rounded, at most 100; 0 if whole is 0. */
unsigned monitor_percent(uint64_t part, uint64_t whole);

/* One port of a switch of the hypervisor's (vdev/vswitch.c), for `net`. */
struct monitor_port_info {
    const char *switch_name;
    const char *port_name; /* "vm0 virtio-net@c0100000" */
    uint8_t mac[6];
    uint64_t tx_frames, tx_bytes, tx_errors; /* what the port sent into the switch */
    uint64_t rx_frames, rx_bytes, rx_drops;  /* what it was given; drops: its RX ring was full */
};

/* One line of `net`, no newline. */
int monitor_format_port(char *buf, size_t len, const struct monitor_port_info *p);

/* ---- the el2 side (el2/monitor.c) ---- */

struct vcpu;

/* Registers the monitor with the console (Ctrl-T ? opens it). Boot CPU, after the VMs. */
void monitor_init(void);
/* A Bulkhead monitor hypercall (BH_HVC_VM_* in hvcall.h) from vcpu, in its x0..x3; answered
 * NOT_SUPPORTED unless its VM is privileged (bulkhead,monitor). Returns true: the caller
 * resumes the vCPU unless its VM stopped meanwhile. */
bool monitor_hvc(struct vcpu *vcpu);
/* Fills info for VM n. */
void monitor_vm_info(unsigned n, struct monitor_vm_info *info);

#endif
