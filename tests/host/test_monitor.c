/*
 * The console monitor's pure part (el2/monitor_cmd.c): the line editor, the command parser
 * (VMs by number or name, errors with the help hint), exit classes, and the lines `vms` and
 * `load` print; and its place in the console (el2/console_mux.c): Ctrl-T ? opens and closes it,
 * and while it is open the keyboard goes to it, not to a VM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/console.h"
#include "bulkhead/esr.h"
#include "bulkhead/monitor.h"
#include "support/capture.h"

#define CTRL_T 0x14

static const char *const names[] = {"vm0", "beta", "7up"};

static struct monitor_cmd parse(const char *line)
{
    struct monitor_cmd cmd;

    memset(&cmd, 0x5a, sizeof(cmd));
    monitor_parse(line, names, 3, &cmd);
    return cmd;
}

/* ---- the line editor ---- */

static void test_line_editing(void **state)
{
    struct monitor_line line = {0};
    (void)state;

    assert_int_equal(monitor_line_key(&line, 'v'), MON_KEY_ADDED);
    assert_int_equal(monitor_line_key(&line, 'x'), MON_KEY_ADDED);
    assert_int_equal(monitor_line_key(&line, 0x7f), MON_KEY_ERASED); /* DEL, as terminals send */
    assert_int_equal(monitor_line_key(&line, 'm'), MON_KEY_ADDED);
    assert_int_equal(monitor_line_key(&line, 's'), MON_KEY_ADDED);
    assert_int_equal(monitor_line_key(&line, 0x1b), MON_KEY_IGNORED); /* ESC */
    assert_int_equal(monitor_line_key(&line, '\r'), MON_KEY_ENTER);
    assert_string_equal(line.buf, "vms");
}

static void test_backspace_on_an_empty_line_and_a_full_line(void **state)
{
    struct monitor_line line = {0};
    (void)state;

    assert_int_equal(monitor_line_key(&line, '\b'), MON_KEY_IGNORED);
    for (unsigned i = 0; i < MONITOR_LINE; i++) {
        assert_int_equal(monitor_line_key(&line, 'a'), MON_KEY_ADDED);
    }
    assert_int_equal(monitor_line_key(&line, 'b'), MON_KEY_IGNORED);
    assert_int_equal(monitor_line_key(&line, '\n'), MON_KEY_ENTER);
    assert_int_equal(strlen(line.buf), MONITOR_LINE);
}

/* ---- the parser ---- */

static void test_commands_without_argument(void **state)
{
    (void)state;

    assert_int_equal(parse("help").op, MON_HELP);
    assert_int_equal(parse("vms").op, MON_VMS);
    assert_int_equal(parse("  list  ").op, MON_VMS);
    assert_int_equal(parse("log").op, MON_LOG);
    assert_int_equal(parse("load").op, MON_LOAD);
    assert_int_equal(parse("reset-machine").op, MON_RESET_MACHINE);
    assert_int_equal(parse("reset-machine now").op, MON_ERROR);
    assert_int_equal(parse("exit").op, MON_EXIT);
    assert_int_equal(parse("").op, MON_NONE);
    assert_int_equal(parse("   ").op, MON_NONE);
}

static void test_vm_by_number_or_name(void **state)
{
    struct monitor_cmd cmd;
    (void)state;

    cmd = parse("stop 1");
    assert_int_equal(cmd.op, MON_STOP);
    assert_int_equal(cmd.vm, 1);
    cmd = parse("restart beta");
    assert_int_equal(cmd.op, MON_RESTART);
    assert_int_equal(cmd.vm, 1);
    cmd = parse("pause\tvm0 ");
    assert_int_equal(cmd.op, MON_PAUSE);
    assert_int_equal(cmd.vm, 0);
    cmd = parse("resume 2");
    assert_int_equal(cmd.op, MON_RESUME);
    assert_int_equal(cmd.vm, 2);
    /* A name that starts with a digit is still a name. */
    cmd = parse("focus 7up");
    assert_int_equal(cmd.op, MON_FOCUS);
    assert_int_equal(cmd.vm, 2);
}

static void test_move_takes_a_cpu_per_vcpu(void **state)
{
    struct monitor_cmd cmd;
    (void)state;

    cmd = parse("move beta 2,3");
    assert_int_equal(cmd.op, MON_MOVE);
    assert_int_equal(cmd.vm, 1);
    assert_int_equal(cmd.nr_cpus, 2);
    assert_int_equal(cmd.cpus[0], 2);
    assert_int_equal(cmd.cpus[1], 3);
    cmd = parse(" move 0 1 ");
    assert_int_equal(cmd.op, MON_MOVE);
    assert_int_equal(cmd.nr_cpus, 1);
    assert_int_equal(cmd.cpus[0], 1);
    cmd = parse("move 0");
    assert_int_equal(cmd.op, MON_ERROR);
    assert_non_null(strstr(cmd.error, "move needs the new CPU of each vCPU"));
    cmd = parse("move 0 1,x");
    assert_int_equal(cmd.op, MON_ERROR);
    assert_non_null(strstr(cmd.error, "not a list of CPU numbers: \"1,x\""));
    cmd = parse("move 0 1,");
    assert_int_equal(cmd.op, MON_ERROR);
    cmd = parse("move 0 1,2,3,4,5,6,7,0,1");
    assert_int_equal(cmd.op, MON_ERROR); /* more than MAX_VCPUS */
    cmd = parse("move 0 1 2");
    assert_int_equal(cmd.op, MON_ERROR);
    assert_non_null(strstr(cmd.error, "too many arguments after"));
}

static void test_errors_name_the_word_and_hint_help(void **state)
{
    struct monitor_cmd cmd;
    (void)state;

    cmd = parse("frobnicate 3");
    assert_int_equal(cmd.op, MON_ERROR);
    assert_string_equal(cmd.error, "unknown command \"frobnicate\"; type help for the commands");
    cmd = parse("stop 3");
    assert_int_equal(cmd.op, MON_ERROR);
    assert_string_equal(cmd.error, "no VM \"3\"; type help for the commands");
    cmd = parse("stop 1x");
    assert_int_equal(cmd.op, MON_ERROR);
    assert_string_equal(cmd.error, "no VM \"1x\"; type help for the commands");
    cmd = parse("pause");
    assert_int_equal(cmd.op, MON_ERROR);
    assert_string_equal(cmd.error, "pause needs a VM: its number or name (vms lists them)");
    cmd = parse("stop 1 2");
    assert_int_equal(cmd.op, MON_ERROR);
    assert_string_equal(cmd.error, "too many arguments after \"1\"; type help for the commands");
    cmd = parse("vms all");
    assert_int_equal(cmd.op, MON_ERROR);
    assert_string_equal(cmd.error,
                        "no argument expected after \"vms\"; type help for the commands");
    /* Case matters, as in VM names. */
    assert_int_equal(parse("STOP 1").op, MON_ERROR);
}

static void test_help_lists_every_command(void **state)
{
    static const char *const cmds[] = {"vms",   "stop", "restart", "pause",         "resume",
                                       "focus", "log",  "load",    "reset-machine", "exit"};
    (void)state;

    for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
        bool found = false;
        for (unsigned i = 0; monitor_help[i]; i++) {
            const char *at = strstr(monitor_help[i], cmds[c]);
            found |= at == monitor_help[i] + 2; /* "  <command> ..." */
        }
        assert_true(found);
    }
}

/* ---- figures ---- */

static void test_exit_classes(void **state)
{
    (void)state;

    assert_int_equal(monitor_exit_class(EC_HVC64), MON_EXIT_HVC);
    assert_int_equal(monitor_exit_class(EC_SMC64), MON_EXIT_HVC);
    assert_int_equal(monitor_exit_class(EC_SYS64), MON_EXIT_SYSREG);
    assert_int_equal(monitor_exit_class(EC_DABT_LOW), MON_EXIT_MMIO);
    assert_int_equal(monitor_exit_class(EC_WFX), MON_EXIT_WFX);
    assert_int_equal(monitor_exit_class(EC_IABT_LOW), MON_EXIT_OTHER);
    assert_int_equal(monitor_exit_class(0x3f), MON_EXIT_OTHER);
    assert_string_equal(monitor_exit_class_name(MON_EXIT_IRQ), "irq");
    assert_string_equal(monitor_exit_class_name(MON_EXIT_CLASSES), "?");
}

static void test_vm_line(void **state)
{
    struct monitor_vm_info vm = {
        .id = 1,
        .name = "beta",
        .state = MON_VM_PAUSED,
        .nr_vcpus = 2,
        .pcpu = {2, 3},
        .mem_mib = 512,
        .uptime_s = 75,
        .exits = {1, 2, 3, 4, 5, 6},
        .faults = 7,
        .resets = 3,
        .restarts = 2,
    };
    char buf[256];
    (void)state;

    int n = monitor_format_vm(buf, sizeof(buf), &vm);
    assert_string_equal(buf, "1 beta paused vcpus 2 (cpu 2,3) 512 MiB up 75 s exits hvc 1 "
                             "sysreg 2 mmio 3 wfi 4 irq 5 other 6 faults 7 resets 3 (2)");
    assert_int_equal(n, strlen(buf));
    vm.privileged = true;
    vm.state = MON_VM_STOPPED;
    monitor_format_vm(buf, sizeof(buf), &vm);
    assert_non_null(strstr(buf, "1 beta stopped privileged vcpus 2"));
}

static void test_vm_line_truncated_safely(void **state)
{
    struct monitor_vm_info vm = {.name = "vm0", .state = MON_VM_RESETTING, .nr_vcpus = 1};
    char buf[24];
    (void)state;

    memset(buf, 'x', sizeof(buf));
    int n = monitor_format_vm(buf, sizeof(buf), &vm);
    assert_int_equal(strlen(buf), sizeof(buf) - 1);
    assert_true(n > (int)sizeof(buf));
    assert_memory_equal(buf, "0 vm0 resetting vcpus 1", sizeof(buf) - 1);
}

static void test_percent(void **state)
{
    (void)state;

    assert_int_equal(monitor_percent(0, 0), 0);
    assert_int_equal(monitor_percent(1, 3), 33);
    assert_int_equal(monitor_percent(2, 3), 67);
    assert_int_equal(monitor_percent(5, 4), 100); /* a sleep counted twice in a race */
    assert_int_equal(monitor_percent(UINT64_MAX / 2, UINT64_MAX), 50);
}

static void test_load_line(void **state)
{
    struct monitor_cpu_load l = {
        .cpu = 2,
        .vm_name = "beta",
        .vcpu = 1,
        .total = 1000,
        .idle = 250,
        .total_delta = 100,
        .idle_delta = 90,
    };
    char buf[160];
    (void)state;

    monitor_format_load(buf, sizeof(buf), &l);
    assert_string_equal(buf, "cpu2 beta/1 busy 75% idle 25% since boot, busy 10% idle 90% since "
                             "last load");
    l.vm_name = NULL;
    monitor_format_load(buf, sizeof(buf), &l);
    assert_non_null(strstr(buf, "cpu2 - busy 75%"));
}

static void test_net_command_and_port_line(void **state)
{
    struct monitor_cmd cmd;
    struct monitor_port_info p = {
        .switch_name = "lan0",
        .port_name = "vm0 virtio-net@c0100000",
        .mac = {0x02, 0xb4, 0x1c, 0x92, 0x14, 0x00},
        .tx_frames = 20,
        .tx_bytes = 1960,
        .rx_frames = 21,
        .rx_bytes = 2002,
        .rx_drops = 3,
    };
    char buf[256];
    (void)state;

    monitor_parse("  net ", NULL, 0, &cmd);
    assert_int_equal(cmd.op, MON_NET);
    monitor_parse("net vm0", NULL, 0, &cmd);
    assert_int_equal(cmd.op, MON_ERROR);
    monitor_format_port(buf, sizeof(buf), &p);
    assert_string_equal(buf, "lan0: vm0 virtio-net@c0100000 02:b4:1c:92:14:00 sent 20 frames 1960 "
                             "bytes (0 errors), received 21 frames 2002 bytes (3 drops)");
    /* A short buffer is cut, never overrun. */
    monitor_format_port(buf, 16, &p);
    assert_int_equal(strlen(buf), 15);
}

/* ---- Ctrl-T ? in the console multiplexer ---- */

static struct console_port ports[2];
static char port_rx[64];
static unsigned port_rx_n;
static char mon_rx[64];
static unsigned mon_rx_n, mon_opened, mon_closed;

static bool port_input(void *ctx, char c)
{
    (void)ctx;
    port_rx[port_rx_n++] = c;
    return true;
}

static void mon_open(void)
{
    mon_opened++;
}

/* Closes itself on 'q', as the monitor's exit does. */
static bool mon_key(char c)
{
    mon_rx[mon_rx_n++] = c;
    return c != 'q';
}

static void mon_close(void)
{
    mon_closed++;
}

static const struct console_monitor fake_monitor = {mon_open, mon_key, mon_close};

static void route(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        console_route(s[i]);
    }
}

static void test_ctrl_t_question_mark_opens_and_closes_the_monitor(void **state)
{
    (void)state;

    console_port_init(&ports[0], "vm0");
    console_port_init(&ports[1], "vm1");
    console_port_add(&ports[0]);
    console_port_add(&ports[1]);
    console_port_set_input(&ports[0], port_input, NULL);
    console_set_monitor(&fake_monitor);
    capture_reset();
    console_input_init();
    assert_true(capture_contains("Ctrl-T ? opens the monitor"));

    route("a\x14?vms\r", 7);
    assert_int_equal(mon_opened, 1);
    assert_int_equal(port_rx_n, 1); /* only the 'a' before */
    assert_memory_equal(mon_rx, "vms\r", 4);
    /* While it is open no VM has the keyboard: their output comes as whole lines. */
    assert_false(console_has_focus(&ports[0]));

    route("\x14?", 2);
    assert_int_equal(mon_closed, 1);
    assert_true(console_has_focus(&ports[0]));
    route("b", 1);
    assert_int_equal(port_rx_n, 2);

    /* The monitor's own exit: no close call, the keyboard back to vm0. */
    route("\x14?q", 3);
    assert_int_equal(mon_opened, 2);
    assert_int_equal(mon_closed, 1);
    assert_true(console_has_focus(&ports[0]));

    /* Ctrl-T 1 while it is open: closed, and vm1 has the keyboard. */
    route("\x14?\x14"
          "1",
          4);
    assert_int_equal(mon_closed, 2);
    assert_true(console_has_focus(&ports[1]));
    assert_true(console_set_focus(0));
    assert_false(console_set_focus(2));
    assert_true(console_has_focus(&ports[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_editing),
        cmocka_unit_test(test_backspace_on_an_empty_line_and_a_full_line),
        cmocka_unit_test(test_commands_without_argument),
        cmocka_unit_test(test_vm_by_number_or_name),
        cmocka_unit_test(test_move_takes_a_cpu_per_vcpu),
        cmocka_unit_test(test_errors_name_the_word_and_hint_help),
        cmocka_unit_test(test_help_lists_every_command),
        cmocka_unit_test(test_exit_classes),
        cmocka_unit_test(test_vm_line),
        cmocka_unit_test(test_vm_line_truncated_safely),
        cmocka_unit_test(test_percent),
        cmocka_unit_test(test_load_line),
        cmocka_unit_test(test_net_command_and_port_line),
        cmocka_unit_test(test_ctrl_t_question_mark_opens_and_closes_the_monitor),
    };

    return cmocka_run_group_tests_name("monitor", tests, NULL, NULL);
}
