/*
 * el2/console_mux.c: the console shared by VMs. Each VM's output comes out in whole lines with
 * its prefix; the keyboard goes to one VM at a time, moved by Ctrl-T <digit>; once someone
 * types, the focused VM's output goes out a character at a time. The physical side is
 * tests/host/support/console.c, which captures what the UART would show.
 *
 * console_mux.c keeps its ports, the focus and "someone typed" for the life of the hypervisor,
 * and so for the life of this program: the cases run in order, those before anyone types first,
 * and each case that moves the focus gives it back to vm0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/console.h"
#include "support/capture.h"

#define CTRL_T 0x14
#define NR_PORTS 3

/* What a VM's console device received from the keyboard. */
struct rx {
    char buf[64];
    unsigned n;
};

static struct console_port ports[NR_PORTS];
static struct rx rx[NR_PORTS];

/* A console device with a receive FIFO of `room` bytes (0: unlimited). */
static unsigned room;

static bool input(void *ctx, char c)
{
    struct rx *r = ctx;

    if (room && r->n == room) {
        return false;
    }
    assert_true(r->n < sizeof(r->buf) - 1);
    r->buf[r->n++] = c;
    return true;
}

static int group_setup(void **state)
{
    static const char *const names[NR_PORTS] = {"vm0", "vm1", "vm2"};
    (void)state;

    for (unsigned i = 0; i < NR_PORTS; i++) {
        console_port_init(&ports[i], names[i]);
        console_port_add(&ports[i]);
    }
    /* vm2 has no console device taking input. */
    console_port_set_input(&ports[0], input, &rx[0]);
    console_port_set_input(&ports[1], input, &rx[1]);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    capture_reset();
    memset(rx, 0, sizeof(rx));
    room = 0;
    return 0;
}

static void put(unsigned port, const char *s)
{
    for (; *s; s++) {
        console_port_putc(&ports[port], *s);
    }
}

static void type(const char *s)
{
    for (; *s; s++) {
        console_route(*s);
    }
}

static void focus(char digit)
{
    console_route(CTRL_T);
    console_route(digit);
}

static void test_lines_are_whole_and_prefixed(void **state)
{
    (void)state;

    put(0, "hel");
    put(1, "world\n");
    assert_string_equal(capture_text(), "[vm1] world\n");
    put(0, "lo\r\n"); /* CR dropped */
    assert_string_equal(capture_text(), "[vm1] world\n[vm0] hello\n");
    put(2, "\n"); /* an empty line prints nothing */
    assert_string_equal(capture_text(), "[vm1] world\n[vm0] hello\n");
    /* Nobody typed yet: no port has the keyboard, every port's lines stay whole. */
    assert_false(console_has_focus(&ports[0]));
    put(0, "no newline yet");
    assert_string_equal(capture_text(), "[vm1] world\n[vm0] hello\n");
    console_port_reset(&ports[0]);
}

static void test_long_line_is_split(void **state)
{
    char want[2 * CONSOLE_LINE];
    (void)state;

    for (unsigned i = 0; i < CONSOLE_LINE + 3; i++) {
        console_port_putc(&ports[1], (char)('a' + i % 26));
    }
    /* The first CONSOLE_LINE characters came out as a line of their own. */
    size_t n = (size_t)snprintf(want, sizeof(want), "[vm1] ");
    for (unsigned i = 0; i < CONSOLE_LINE; i++) {
        want[n++] = (char)('a' + i % 26);
    }
    want[n++] = '\n';
    want[n] = '\0';
    assert_string_equal(capture_text(), want);
    console_port_putc(&ports[1], '\n');
    assert_true(capture_contains("\n[vm1] wxy\n")); /* characters 256..258 */
}

static void test_flush_writes_and_reset_forgets_an_unfinished_line(void **state)
{
    (void)state;

    put(2, "abc");
    console_port_flush(&ports[2]); /* its VM stopped */
    assert_string_equal(capture_text(), "[vm2] abc\n");
    put(2, "def");
    console_port_reset(&ports[2]); /* its VM restarts */
    put(2, "g\n");
    assert_string_equal(capture_text(), "[vm2] abc\n[vm2] g\n");
}

/* A guest cannot move the cursor or rewrite a line to forge the hypervisor's lines or another
 * VM's: escape sequences are swallowed, \r is dropped, \b erases only within its own line,
 * other control characters are shown ("^G"), \t and UTF-8 pass. */
static void test_control_characters_cannot_forge_lines(void **state)
{
    (void)state;

    put(1, "\x1b[2K\x1b[1Gbulkhead: vm1: powered off\n");
    assert_string_equal(capture_text(), "[vm1] bulkhead: vm1: powered off\n");
    capture_reset();
    put(2, "x\b\b\b\b\b\b[vm0] BOOT-OK\r\n");
    assert_string_equal(capture_text(), "[vm2] [vm0] BOOT-OK\n");
    capture_reset();
    /* A two-byte escape (ESC c: reset) and an unfinished CSI that a newline ends. */
    put(1, "a\x1b"
           "cb\x1b[12\nc\n");
    assert_string_equal(capture_text(), "[vm1] ab\n[vm1] c\n");
    capture_reset();
    /* Backspace edits the unfinished line, as a terminal would show it. */
    put(1, "lx\bs -l\n");
    assert_string_equal(capture_text(), "[vm1] ls -l\n");
    capture_reset();
    /* NUL, BEL, VT, FF, DEL; a tab and UTF-8 text ("\u00e9") pass. */
    console_port_putc(&ports[0], '\0');
    put(0, "\a\v\f\x7f\t\xc3\xa9\n");
    assert_memory_equal(capture_text(), "[vm0] ^@^G^K^L^?\t\xc3\xa9\n", 20);
    assert_int_equal(strlen(capture_text()), 20);
    capture_reset();
    /* C1 controls: raw CSI (0x9b) after ASCII, and U+009B in UTF-8 (0xc2 0x9b); a continuation
     * byte in that range of another character (U+201B: 0xe2 0x80 0x9b) passes. */
    put(0, "a\x9b"
           "2J\xc2\x9b"
           "2J\xe2\x80\x9b\n");
    assert_string_equal(capture_text(), "[vm0] a?2J\xc2?2J\xe2\x80\x9b\n");
}

static void test_input_init_names_the_first_port(void **state)
{
    (void)state;

    console_input_init();
    assert_true(capture_contains(
        "bulkhead: keyboard input goes to vm0; Ctrl-T then a VM number moves it\n"));
    assert_true(capture_contains("(0 vm0, 1 vm1, 2 vm2)"));
}

/* From here on, someone has typed. */
static void test_typing_goes_to_the_focused_port_only(void **state)
{
    (void)state;

    type("ls\r");
    assert_string_equal(rx[0].buf, "ls\r");
    assert_int_equal(rx[1].n, 0);
    assert_true(console_has_focus(&ports[0]));
    assert_false(console_has_focus(&ports[1]));
    assert_false(console_has_focus(&ports[2]));
}

static void test_ctrl_t_digit_moves_the_focus_and_says_so(void **state)
{
    (void)state;

    focus('1');
    assert_true(capture_contains("bulkhead: keyboard input now goes to vm1\n"));
    assert_true(console_has_focus(&ports[1]));
    assert_false(console_has_focus(&ports[0]));
    type("xy");
    assert_string_equal(rx[1].buf, "xy"); /* neither Ctrl-T nor the digit */
    assert_int_equal(rx[0].n, 0);

    /* A port without an input device can have the keyboard; what is typed is dropped. */
    focus('2');
    assert_true(capture_contains("keyboard input now goes to vm2\n"));
    type("z");
    assert_int_equal(rx[0].n, 0);
    assert_int_equal(rx[1].n, 2);

    focus('0');
    assert_true(console_has_focus(&ports[0]));
    type("q");
    assert_string_equal(rx[0].buf, "q");
}

static void test_ctrl_t_ctrl_t_sends_one_ctrl_t(void **state)
{
    (void)state;

    type("\x14\x14");
    assert_int_equal(rx[0].n, 1);
    assert_int_equal(rx[0].buf[0], CTRL_T);
    assert_true(console_has_focus(&ports[0]));
    assert_string_equal(capture_text(), "");
}

/* Ctrl-T then anything but a digit of a port, or Ctrl-T: both keys are dropped, the focus stays,
 * and the user is shown the numbers. */
static void test_ctrl_t_then_another_key_is_dropped(void **state)
{
    static const char after[] = {'x', '3', '9', '\r', '/'};
    (void)state;

    for (unsigned i = 0; i < sizeof(after); i++) {
        focus(after[i]);
        assert_true(console_has_focus(&ports[0]));
    }
    assert_int_equal(rx[0].n + rx[1].n, 0);
    assert_false(capture_contains("now goes to"));
    assert_int_equal(capture_count("Ctrl-T then a VM number gives it the keyboard (0 vm0, 1 vm1, 2 "
                                   "vm2)"),
                     sizeof(after));
    /* And the next key is an ordinary one again. */
    type("k");
    assert_string_equal(rx[0].buf, "k");
}

static void test_focused_output_goes_out_directly(void **state)
{
    (void)state;

    put(0, "$ ");
    assert_string_equal(capture_text(), "[vm0] $ "); /* a prompt shows before its line ends */
    put(0, "l\rs\n");
    assert_string_equal(capture_text(), "[vm0] $ ls\n");
    /* The others' lines still wait to be whole. */
    put(1, "busy");
    assert_string_equal(capture_text(), "[vm0] $ ls\n");
    put(1, "\n");
    assert_string_equal(capture_text(), "[vm0] $ ls\n[vm1] busy\n");
}

/* The focused port's output, which goes out as it comes, is made harmless the same way: a
 * backspace erases what the guest wrote on its line (a shell's line editing) but not its prefix. */
static void test_focused_output_shows_control_characters_too(void **state)
{
    (void)state;

    assert_true(console_has_focus(&ports[0]));
    put(0, "\x1b[1A\x1b[2K\b\rbulkhead: vm0: powered off\n");
    assert_string_equal(capture_text(), "[vm0] bulkhead: vm0: powered off\n");
    capture_reset();
    put(0, "/ # \x1b[6nx\b \b\b\b\b\b\b\b\bbulkhead: forged\n");
    assert_string_equal(capture_text(), "[vm0] / # x\b \b\b\b\b\bbulkhead: forged\n");
}

/* A line a port started before it got the keyboard stays one line. */
static void test_focus_takes_over_an_unfinished_line_whole(void **state)
{
    (void)state;

    put(1, "par");
    focus('1');
    capture_reset();
    put(1, "tial\n");
    assert_string_equal(capture_text(), "[vm1] partial\n");
    put(1, "#");
    assert_string_equal(capture_text(), "[vm1] partial\n[vm1] #");
    put(1, "\n");
    focus('0');
}

/* Before anyone types, a VM that waits shows its unfinished line (a prompt), left open. */
static void test_idle_shows_an_unfinished_line_left_open(void **state)
{
    (void)state;

    put(0, "/ # ");
    assert_string_equal(capture_text(), "");
    console_port_write_open(&ports[0]);
    assert_string_equal(capture_text(), "[vm0] / # ");
    /* The same VM goes on on that line. */
    put(0, "ls\n");
    assert_string_equal(capture_text(), "[vm0] / # ls\n");
    /* Nothing unsaid: nothing shown. */
    capture_reset();
    console_port_write_open(&ports[0]);
    assert_string_equal(capture_text(), "");
}

static void test_another_vm_ends_an_open_line_first(void **state)
{
    (void)state;

    put(0, "/ # ");
    console_port_write_open(&ports[0]);
    put(1, "tick\n");
    put(0, "x\n");
    assert_string_equal(capture_text(), "[vm0] / # \n[vm1] tick\n[vm0] x\n");
}

/* A paste faster than the guest reads waits in the console, in order, and none of it is lost. */
static void test_paste_is_held_back_not_dropped(void **state)
{
    static const char paste[] = "sleep 5; echo done-after-sleep; echo a-line-longer-than-32";
    (void)state;

    room = 4;
    type(paste);
    assert_int_equal(rx[0].n, 4);
    while (rx[0].n < sizeof(paste) - 1) {
        unsigned before = rx[0].n;
        room += 4; /* the guest read four bytes */
        console_port_pump(&ports[0]);
        assert_true(rx[0].n > before);
    }
    assert_string_equal(rx[0].buf, paste);
    assert_int_equal(ports[0].inq_lost, 0);
}

/* Typing to a VM that does not run says so, once, and where the keyboard can go. */
static void test_typing_to_a_stopped_vm_says_so(void **state)
{
    (void)state;

    console_port_set_running(&ports[0], false);
    type("ls\r");
    assert_int_equal(rx[0].n, 0);
    assert_int_equal(capture_count("bulkhead: vm0 is not running: what is typed to it is dropped"),
                     1);
    assert_true(capture_contains("(0 vm0, 1 vm1, 2 vm2)"));
    console_port_set_running(&ports[0], true);
    type("k");
    assert_string_equal(rx[0].buf, "k");
}

#define T(fn) cmocka_unit_test_setup(fn, setup)

int main(void)
{
    /* In this order: see the top of the file. */
    const struct CMUnitTest tests[] = {
        T(test_lines_are_whole_and_prefixed),
        T(test_long_line_is_split),
        T(test_flush_writes_and_reset_forgets_an_unfinished_line),
        T(test_control_characters_cannot_forge_lines),
        T(test_idle_shows_an_unfinished_line_left_open),
        T(test_another_vm_ends_an_open_line_first),
        T(test_input_init_names_the_first_port),
        T(test_typing_goes_to_the_focused_port_only),
        T(test_paste_is_held_back_not_dropped),
        T(test_typing_to_a_stopped_vm_says_so),
        T(test_ctrl_t_digit_moves_the_focus_and_says_so),
        T(test_ctrl_t_ctrl_t_sends_one_ctrl_t),
        T(test_ctrl_t_then_another_key_is_dropped),
        T(test_focused_output_goes_out_directly),
        T(test_focused_output_shows_control_characters_too),
        T(test_focus_takes_over_an_unfinished_line_whole),
    };

    return cmocka_run_group_tests_name("console", tests, group_setup, NULL);
}
