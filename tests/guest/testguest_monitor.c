/*
 * The test guest's mode=monitor [target=N]: the console monitor's hypercalls
 * (docs/HYPERCALLS.md). In a VM with bulkhead,monitor it lists every VM, reads the hypervisor's
 * log into its RAM, and, with a target, pauses, resumes, stops and restarts that VM, checking
 * its state after each and that it may not pause itself: "PASS monitor_control" or "FAIL
 * monitor_control: ...", then "monitor done" and SYSTEM_OFF. In any other VM every call must
 * answer NOT_SUPPORTED ("monitor: <call> not supported: ok").
 */
#include "guest.h"
#include "report.h"

struct hvc_ret {
    uint64_t x0, x1, x2;
};

/* HVC #0 with x0..x3 in and x0..x2 out (SMCCC: the hypervisor may change x0..x17). */
static struct hvc_ret hvc3(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3)
{
    register uint64_t x0 asm("x0") = fid;
    register uint64_t x1 asm("x1") = a1;
    register uint64_t x2 asm("x2") = a2;
    register uint64_t x3 asm("x3") = a3;

    asm volatile("hvc #0"
                 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                 :
                 : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15",
                   "x16", "x17", "memory");
    return (struct hvc_ret){x0, x1, x2};
}

static uint64_t info(uint64_t n, uint64_t field)
{
    return hvc3(BH_HVC_VM_INFO, n, field, 0).x0;
}

static int64_t control_arg(uint64_t n, uint64_t op, uint64_t arg)
{
    return (int64_t)hvc3(BH_HVC_VM_CONTROL, n, op, arg).x0;
}

static int64_t control(uint64_t n, uint64_t op)
{
    return control_arg(n, op, 0);
}

static const char *state_name(uint64_t s)
{
    static const char *const names[] = {"running", "paused", "stopped", "off", "resetting"};
    return s < ARRAY_SIZE(names) ? names[s] : "?";
}

static void vm_name(uint64_t n, char name[33])
{
    for (unsigned k = 0; k < 4; k++) {
        uint64_t v = info(n, BH_VM_NAME + k);
        for (unsigned i = 0; i < 8; i++) {
            name[8 * k + i] = (char)(v >> (8 * i));
        }
    }
    name[32] = '\0';
}

static void unprivileged(void)
{
    static const struct {
        uint32_t fid;
        const char *name;
    } calls[] = {{BH_HVC_VM_COUNT, "BH_HVC_VM_COUNT"},
                 {BH_HVC_VM_INFO, "BH_HVC_VM_INFO"},
                 {BH_HVC_VM_CONTROL, "BH_HVC_VM_CONTROL"},
                 {BH_HVC_LOG_READ, "BH_HVC_LOG_READ"}};

    for (unsigned i = 0; i < ARRAY_SIZE(calls); i++) {
        uint64_t r = hvc3(calls[i].fid, 0, 0, 0).x0;
        if (r == SMCCC_RET_NOT_SUPPORTED) {
            printf("monitor: %s not supported: ok\n", calls[i].name);
        } else {
            fail("monitor_unprivileged", "%s returned 0x%lx", calls[i].name, (unsigned long)r);
        }
    }
}

static void list_vms(uint64_t count)
{
    char name[33];

    for (uint64_t n = 0; n < count; n++) {
        vm_name(n, name);
        printf("monitor: vm %lu %s %s%s %lu vCPU, %lu MiB\n", (unsigned long)n, name,
               state_name(info(n, BH_VM_STATE)), info(n, BH_VM_PRIVILEGED) ? " privileged" : "",
               (unsigned long)info(n, BH_VM_VCPUS), (unsigned long)info(n, BH_VM_MEM_MIB));
    }
}

static char log_buf[4096];

/* The log copied into our RAM: its size and its first line from the hypervisor. */
static void read_log(void)
{
    struct hvc_ret r = hvc3(BH_HVC_LOG_READ, 0, (uintptr_t)log_buf, sizeof(log_buf) - 1);
    const char *line;

    if ((int64_t)r.x0 <= 0 || r.x0 >= sizeof(log_buf) || r.x2 < r.x1 + r.x0) {
        fail("monitor_log", "LOG_READ returned %ld (from %lu, end %lu)", (long)r.x0,
             (unsigned long)r.x1, (unsigned long)r.x2);
        return;
    }
    log_buf[r.x0] = '\0';
    line = strchr(log_buf, '\n');
    while (line && strncmp(line + 1, "bulkhead:", 9) != 0) {
        line = strchr(line + 1, '\n');
    }
    if (!line) {
        fail("monitor_log", "no hypervisor line in %lu bytes", (unsigned long)r.x0);
        return;
    }
    char *end = strchr(line + 1, '\n');
    if (end) {
        *end = '\0';
    }
    printf("monitor: log has %lu bytes: %s\n", (unsigned long)r.x0, line + 1);
    /* Outside our RAM: refused, nothing written. */
    r = hvc3(BH_HVC_LOG_READ, 0, 0x1000, 16);
    if ((int64_t)r.x0 != PSCI_RET_INVALID_ADDRESS) {
        fail("monitor_log", "LOG_READ to IPA 0x1000 returned %ld", (long)r.x0);
    }
}

/* Waits up to 5 s for VM n to be in state want. */
static bool wait_state(uint64_t n, uint64_t want)
{
    for (unsigned i = 0; i < 500; i++) {
        if (info(n, BH_VM_STATE) == want) {
            return true;
        }
        delay_ms(10);
    }
    return false;
}

#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fail("monitor_control", __VA_ARGS__);                                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static void control_target(uint64_t self, uint64_t t)
{
    int64_t r;

    EXPECT(control(t, BH_VM_OP_PAUSE) == 0, "pause of %lu refused", (unsigned long)t);
    EXPECT(info(t, BH_VM_STATE) == BH_VM_STATE_PAUSED, "not paused");
    r = control(self, BH_VM_OP_PAUSE);
    EXPECT(r == PSCI_RET_DENIED, "pause of myself returned %ld", (long)r);
    printf("monitor: pause of myself denied\n");
    delay_ms(300);
    EXPECT(control(t, BH_VM_OP_RESUME) == 0, "resume refused");
    EXPECT(info(t, BH_VM_STATE) == BH_VM_STATE_RUNNING, "not running after resume");
    /* Issue 15: the target (1 vCPU) moves to the idle CPU 3, not to this VM's own CPU. */
    EXPECT(control_arg(t, BH_VM_OP_MOVE, 3) == 0, "move to CPU 3 refused");
    for (unsigned i = 0; i < 100 && info(t, BH_VM_PCPU) != 3; i++) {
        delay_ms(10);
    }
    EXPECT(info(t, BH_VM_PCPU) == 3, "not on CPU 3 after the move");
    EXPECT(wait_state(t, BH_VM_STATE_RUNNING), "not running after the move");
    r = control_arg(t, BH_VM_OP_MOVE, info(self, BH_VM_PCPU));
    EXPECT(r == PSCI_RET_DENIED, "move to my CPU returned %ld", (long)r);
    printf("monitor: move of %lu to CPU 3 done, to my CPU denied\n", (unsigned long)t);
    /* Issue 15: the target has no bulkhead,snapshot: no snapshot, running or paused. */
    r = control(t, BH_VM_OP_SNAPSHOT);
    EXPECT(r == PSCI_RET_DENIED, "snapshot of a running VM returned %ld", (long)r);
    EXPECT(control(t, BH_VM_OP_PAUSE) == 0, "second pause refused");
    r = control(t, BH_VM_OP_RESTORE);
    EXPECT(r == PSCI_RET_DENIED, "restore without a snapshot returned %ld", (long)r);
    EXPECT(control(t, BH_VM_OP_RESUME) == 0, "second resume refused");
    r = control(t, 7);
    EXPECT(r == PSCI_RET_INVALID_PARAMS, "operation 7 returned %ld", (long)r);
    printf("monitor: snapshot and restore of %lu denied\n", (unsigned long)t);
    EXPECT(control(t, BH_VM_OP_STOP) == 0, "stop refused");
    EXPECT(wait_state(t, BH_VM_STATE_STOPPED), "not stopped");
    EXPECT(control(t, BH_VM_OP_STOP) == PSCI_RET_DENIED, "a second stop was not refused");
    uint64_t resets = info(t, BH_VM_RESETS);
    EXPECT(control(t, BH_VM_OP_RESTART) == 0, "restart refused");
    EXPECT(wait_state(t, BH_VM_STATE_RUNNING), "not running after restart");
    EXPECT(info(t, BH_VM_RESETS) == resets + 1, "reset count not counted");
    r = control(99, BH_VM_OP_STOP);
    EXPECT(r == PSCI_RET_INVALID_PARAMS, "control of VM 99 returned %ld", (long)r);
    EXPECT((int64_t)info(t, 99) == PSCI_RET_INVALID_PARAMS, "field 99 not refused");
    pass("monitor_control");
}

void testguest_monitor(void);
void testguest_monitor(void)
{
    struct hvc_ret r = hvc3(BH_HVC_VM_COUNT, 0, 0, 0);
    char target[8];

    if (r.x0 == SMCCC_RET_NOT_SUPPORTED) {
        unprivileged();
        return;
    }
    printf("monitor: %lu VMs, I am %lu\n", (unsigned long)r.x0, (unsigned long)r.x1);
    list_vms(r.x0);
    read_log();
    if (bootarg("target", target, sizeof(target))) {
        /* Let the target boot first: its first ticks show it ran before the pause. */
        delay_ms(500);
        control_target(r.x1, strtoul(target, NULL, 10));
    }
    printf("monitor done\n");
}
