/*
 * el2/gdbstub_proto.c, GDB's remote serial protocol: framing and checksums as gdb computes them,
 * escapes both ways, hex, the AArch64 register packet's layout (x0-x30, sp, pc as 8 little-endian
 * bytes, cpsr as 4), and each command over a fake target with two threads and one page of memory.
 * Then the configuration: bulkhead.gdb= and the UART it takes, which no VM may then own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "bulkhead/config.h"
#include "bulkhead/gdbstub.h"
#include "bulkhead/passthrough.h"
#include "support/capture.h"
#include "support/dtb_file.h"

/* ---- a fake target ---- */

#define MEM_BASE 0x40080000ull
#define MEM_SIZE 4096

static struct {
    struct gdb_regs regs[2];
    uint8_t mem[MEM_SIZE];
    bool stopped;
    unsigned resumed, step_thread, detached;
    unsigned last_thread;
} target;

static unsigned t_nr_threads(void *ctx)
{
    (void)ctx;
    return 2;
}

static bool t_stopped(void *ctx)
{
    (void)ctx;
    return target.stopped;
}

static bool t_read_regs(void *ctx, unsigned thread, struct gdb_regs *regs)
{
    (void)ctx;
    target.last_thread = thread;
    *regs = target.regs[thread - 1];
    return true;
}

static bool t_write_regs(void *ctx, unsigned thread, const struct gdb_regs *regs)
{
    (void)ctx;
    target.regs[thread - 1] = *regs;
    return true;
}

/* Only [MEM_BASE, MEM_BASE + MEM_SIZE) is mapped. */
static size_t mapped(uint64_t va, size_t len)
{
    if (va < MEM_BASE || va >= MEM_BASE + MEM_SIZE) {
        return 0;
    }
    return len < MEM_BASE + MEM_SIZE - va ? len : (size_t)(MEM_BASE + MEM_SIZE - va);
}

static size_t t_read_mem(void *ctx, unsigned thread, uint64_t va, uint8_t *buf, size_t len)
{
    size_t n = mapped(va, len);

    (void)ctx;
    (void)thread;
    memcpy(buf, target.mem + (va - MEM_BASE) * (n != 0), n);
    return n;
}

static size_t t_write_mem(void *ctx, unsigned thread, uint64_t va, const uint8_t *buf, size_t len)
{
    size_t n = mapped(va, len);

    (void)ctx;
    (void)thread;
    memcpy(target.mem + (va - MEM_BASE) * (n != 0), buf, n);
    return n;
}

static void t_resume(void *ctx, unsigned step_thread)
{
    (void)ctx;
    target.resumed++;
    target.step_thread = step_thread;
    target.stopped = false;
}

static void t_detach(void *ctx)
{
    (void)ctx;
    target.detached++;
    target.stopped = false;
}

static const struct gdb_target_ops ops = {
    .nr_threads = t_nr_threads,
    .stopped = t_stopped,
    .read_regs = t_read_regs,
    .write_regs = t_write_regs,
    .read_mem = t_read_mem,
    .write_mem = t_write_mem,
    .resume = t_resume,
    .detach = t_detach,
};

static struct gdb_session session;
static char reply[GDB_PACKET_MAX + 1];

static int setup(void **state)
{
    (void)state;
    memset(&target, 0, sizeof(target));
    target.stopped = true;
    for (unsigned i = 0; i < MEM_SIZE; i++) {
        target.mem[i] = (uint8_t)i;
    }
    gdb_session_init(&session, &ops, NULL);
    return 0;
}

static enum gdb_after handle(const char *pkt)
{
    return gdb_handle(&session, pkt, strlen(pkt), reply);
}

/* ---- framing ---- */

/* gdb's checksum: the sum of the bytes between '$' and '#', modulo 256. */
static unsigned checksum(const char *s, size_t len)
{
    unsigned sum = 0;

    for (size_t i = 0; i < len; i++) {
        sum += (uint8_t)s[i];
    }
    return sum & 0xff;
}

static void test_frame_plain(void **state)
{
    char out[32];

    (void)state;
    assert_int_equal(gdb_frame(out, sizeof(out), "OK", 2), 6);
    assert_memory_equal(out, "$OK#9a", 6);
    assert_int_equal(gdb_frame(out, sizeof(out), "", 0), 4);
    assert_memory_equal(out, "$#00", 4);
}

static void test_frame_escapes(void **state)
{
    char out[64], expect[64];

    (void)state;
    /* '$', '#', '}' and '*' go as '}' then the byte XOR 0x20; the checksum covers what is sent. */
    size_t n = gdb_frame(out, sizeof(out), "a$b#c}d*", 8);
    const char body[] = "a}\x04"
                        "b}\x03"
                        "c}]d}\x0a";
    snprintf(expect, sizeof(expect), "$%s#%02x", body, checksum(body, sizeof(body) - 1));
    assert_int_equal(n, strlen(expect));
    assert_memory_equal(out, expect, n);
}

static void test_frame_too_small(void **state)
{
    char out[6];

    (void)state;
    /* No NUL is written: six bytes hold "$OK#9a", five do not. */
    assert_int_equal(gdb_frame(out, 5, "OK", 2), 0);
    assert_int_equal(gdb_frame(out, sizeof(out), "OK", 2), 6);
    assert_int_equal(gdb_frame(out, 5, "}", 1), 0); /* "$}]#xx" */
    assert_int_equal(gdb_frame(out, sizeof(out), "}", 1), 6);
}

/* ---- receiving ---- */

static enum gdb_rx_event feed(struct gdb_rx *rx, const char *s, size_t len)
{
    enum gdb_rx_event ev = GDB_RX_NONE;

    for (size_t i = 0; i < len; i++) {
        ev = gdb_rx_byte(rx, (uint8_t)s[i]);
        if (ev != GDB_RX_NONE) {
            assert_int_equal(i, len - 1); /* only the last byte completes something */
        }
    }
    return ev;
}

static enum gdb_rx_event feed_packet(struct gdb_rx *rx, const char *body, int sum)
{
    char buf[GDB_PACKET_MAX + 16];
    size_t len = strlen(body);
    int n = snprintf(buf, sizeof(buf), "$%s#%02x", body,
                     sum >= 0 ? (unsigned)sum : checksum(body, len));

    return feed(rx, buf, (size_t)n);
}

static void test_rx_packet(void **state)
{
    struct gdb_rx rx = {0};

    (void)state;
    assert_int_equal(feed_packet(&rx, "qSupported:multiprocess+", -1), GDB_RX_PACKET);
    assert_string_equal(rx.buf, "qSupported:multiprocess+");
    assert_int_equal(rx.len, 24);
    /* Upper-case checksum digits are hex too. */
    assert_int_equal(feed(&rx, "$OK#9A", 6), GDB_RX_PACKET);
    assert_string_equal(rx.buf, "OK");
}

static void test_rx_bad_checksum(void **state)
{
    struct gdb_rx rx = {0};

    (void)state;
    assert_int_equal(feed_packet(&rx, "g", 0x68), GDB_RX_BAD);
    assert_int_equal(feed(&rx, "$g#6z", 5), GDB_RX_BAD);
    /* The next packet is fine again. */
    assert_int_equal(feed_packet(&rx, "g", 0x67), GDB_RX_PACKET);
}

static void test_rx_acks_and_break(void **state)
{
    struct gdb_rx rx = {0};

    (void)state;
    assert_int_equal(feed(&rx, "+", 1), GDB_RX_NONE);
    assert_int_equal(feed(&rx, "-", 1), GDB_RX_NONE);
    assert_int_equal(feed(&rx, "\x03", 1), GDB_RX_BREAK);
    /* Inside a packet 0x03 is data. */
    assert_int_equal(feed(&rx, "$\x03", 2), GDB_RX_NONE);
    assert_int_equal(feed(&rx, "#03", 3), GDB_RX_PACKET);
    assert_int_equal(rx.len, 1);
}

static void test_rx_escape(void **state)
{
    struct gdb_rx rx = {0};
    const char body[] = "X1,2:}\x03}]";

    (void)state;
    /* '}' then byte ^ 0x20: "}\x03" is '#', "}]" is '}'; the checksum is over the escapes. */
    assert_int_equal(feed_packet(&rx, body, -1), GDB_RX_PACKET);
    assert_string_equal(rx.buf, "X1,2:#}");
}

static void test_rx_restart_and_overflow(void **state)
{
    struct gdb_rx rx = {0};
    char big[GDB_PACKET_MAX + 2];

    (void)state;
    /* A '$' in the middle starts over: a packet cut short does not swallow the next. */
    assert_int_equal(feed(&rx, "$m4000", 6), GDB_RX_NONE);
    assert_int_equal(feed_packet(&rx, "?", -1), GDB_RX_PACKET);
    assert_string_equal(rx.buf, "?");
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(feed_packet(&rx, big, -1), GDB_RX_BAD);
}

/* ---- hex ---- */

static void test_hex(void **state)
{
    uint8_t bytes[4] = {0x00, 0x7f, 0xa5, 0xff}, back[4];
    char text[9] = {0};
    const char *p;
    uint64_t v;

    (void)state;
    gdb_hex_encode(text, bytes, 4);
    assert_string_equal(text, "007fa5ff");
    assert_true(gdb_hex_decode(back, "007FA5ff", 4));
    assert_memory_equal(back, bytes, 4);
    assert_false(gdb_hex_decode(back, "0g", 1));
    p = "40082174,4";
    assert_true(gdb_parse_hex(&p, &v));
    assert_int_equal(v, 0x40082174);
    assert_string_equal(p, ",4");
    p = ",4";
    assert_false(gdb_parse_hex(&p, &v));
    p = "1ffffffffffffffff";
    assert_false(gdb_parse_hex(&p, &v));
    p = "ffffffffffffffff";
    assert_true(gdb_parse_hex(&p, &v));
    assert_true(v == UINT64_MAX);
}

/* ---- the register packet ---- */

static void test_regs_encoding(void **state)
{
    struct gdb_regs regs = {0}, back;
    char text[GDB_REGS_HEX + 1];

    (void)state;
    regs.r[0] = 1;
    regs.r[30] = 0x0123456789abcdefull;
    regs.r[GDB_REG_SP] = 0x40100000;
    regs.r[GDB_REG_PC] = 0x40082174;
    regs.r[GDB_REG_CPSR] = 0x3c5;
    gdb_regs_encode(text, &regs);
    assert_int_equal(strlen(text), 536); /* 33 * 16 + 8 */
    assert_memory_equal(text, "0100000000000000", 16);
    assert_memory_equal(text + 30 * 16, "efcdab8967452301", 16);
    assert_memory_equal(text + 31 * 16, "0000104000000000", 16);
    assert_memory_equal(text + 32 * 16, "7421084000000000", 16);
    assert_string_equal(text + 33 * 16, "c5030000");
    assert_true(gdb_regs_decode(&back, text, strlen(text)));
    assert_memory_equal(&back, &regs, sizeof(regs));
    assert_false(gdb_regs_decode(&back, text, strlen(text) - 2));
    text[5] = 'x';
    assert_false(gdb_regs_decode(&back, text, strlen(text)));
}

/* ---- commands ---- */

static void test_queries(void **state)
{
    (void)state;
    assert_int_equal(handle("qSupported:multiprocess+;swbreak+;xmlRegisters=i386"), GDB_REPLY);
    assert_string_equal(reply, "PacketSize=400;qXfer:features:read+");
    handle("qAttached");
    assert_string_equal(reply, "1");
    handle("qfThreadInfo");
    assert_string_equal(reply, "m1,2");
    handle("qsThreadInfo");
    assert_string_equal(reply, "l");
    handle("?");
    assert_string_equal(reply, "T05thread:1;");
    handle("qC");
    assert_string_equal(reply, "QC1");
    /* Not supported: an empty reply. */
    assert_int_equal(handle("vCont?"), GDB_REPLY);
    assert_string_equal(reply, "");
    handle("X40080000,0:");
    assert_string_equal(reply, "");
}

/* target.xml in pieces, as gdb reads it: core registers only, cpsr 32 bits. */
static void test_target_xml(void **state)
{
    char xml[4096] = "", req[64];
    size_t off = 0;

    (void)state;
    for (;;) {
        snprintf(req, sizeof(req), "qXfer:features:read:target.xml:%zx,100", off);
        handle(req);
        assert_true(reply[0] == 'm' || reply[0] == 'l');
        assert_true(strlen(reply + 1) <= 0x100);
        strcat(xml, reply + 1);
        off += strlen(reply + 1);
        if (reply[0] == 'l') {
            break;
        }
    }
    assert_non_null(strstr(xml, "<architecture>aarch64</architecture>"));
    assert_non_null(strstr(xml, "org.gnu.gdb.aarch64.core"));
    assert_null(strstr(xml, "org.gnu.gdb.aarch64.fpu"));
    assert_non_null(strstr(xml, "<reg name=\"x30\" bitsize=\"64\"/>"));
    assert_non_null(strstr(xml, "<reg name=\"cpsr\" bitsize=\"32\"/>"));
    assert_null(strchr(xml, '$'));
    assert_null(strchr(xml, '#'));
    assert_null(strchr(xml, '*'));
    handle("qXfer:features:read:other.xml:0,100");
    assert_string_equal(reply, "E00");
}

static void test_registers(void **state)
{
    (void)state;
    target.regs[0].r[GDB_REG_PC] = 0x40082174;
    target.regs[1].r[GDB_REG_PC] = 0x40090000;
    target.regs[0].r[GDB_REG_CPSR] = 0x3c5;
    handle("g");
    assert_int_equal(strlen(reply), GDB_REGS_HEX);
    assert_memory_equal(reply + 32 * 16, "7421084000000000", 16);
    handle("p20");
    assert_string_equal(reply, "7421084000000000");
    handle("p21");
    assert_string_equal(reply, "c5030000");
    handle("p22"); /* v0: not described, not there */
    assert_string_equal(reply, "E00");
    /* Hg selects the thread registers are read for. */
    handle("Hg2");
    assert_string_equal(reply, "OK");
    handle("p20");
    assert_string_equal(reply, "0000094000000000");
    handle("Hg3");
    assert_string_equal(reply, "E01");
    handle("Hg0");
    assert_string_equal(reply, "OK");
    handle("P1f=0000104000000000");
    assert_string_equal(reply, "OK");
    assert_true(target.regs[0].r[GDB_REG_SP] == 0x40100000);
    handle("P1f=00");
    assert_string_equal(reply, "E01");
}

static void test_write_all_registers(void **state)
{
    struct gdb_regs regs = {0};
    char pkt[GDB_REGS_HEX + 2] = "G";

    (void)state;
    regs.r[3] = 0x33;
    regs.r[GDB_REG_PC] = 0x40080100;
    gdb_regs_encode(pkt + 1, &regs);
    handle(pkt);
    assert_string_equal(reply, "OK");
    assert_memory_equal(&target.regs[0], &regs, sizeof(regs));
    handle("G00");
    assert_string_equal(reply, "E01");
}

static void test_memory(void **state)
{
    (void)state;
    handle("m40080010,4");
    assert_string_equal(reply, "10111213");
    handle("M40080010,2:abcd");
    assert_string_equal(reply, "OK");
    assert_int_equal(target.mem[0x10], 0xab);
    assert_int_equal(target.mem[0x11], 0xcd);
    /* Unmapped: E01; partly mapped: the mapped part. */
    handle("m50000000,4");
    assert_string_equal(reply, "E01");
    handle("m40080ffe,4");
    assert_string_equal(reply, "feff");
    handle("M50000000,1:00");
    assert_string_equal(reply, "E01");
    handle("M40080000,2:00");
    assert_string_equal(reply, "E01");
    /* Nothing is read from a target that is not stopped. */
    target.stopped = false;
    handle("m40080010,4");
    assert_string_equal(reply, "E01");
}

static void test_breakpoints(void **state)
{
    (void)state;
    handle("Z0,40080100,4");
    assert_string_equal(reply, "OK");
    /* BRK #0, little-endian, where the instruction was. */
    assert_memory_equal(target.mem + 0x100, "\x00\x00\x20\xd4", 4);
    assert_true(gdb_is_breakpoint(&session, 0x40080100));
    handle("m40080100,4");
    assert_string_equal(reply, "000020d4");
    /* Inserted twice: still one, and the saved instruction is not the BRK. */
    handle("Z0,40080100,4");
    assert_string_equal(reply, "OK");
    handle("z0,40080100,4");
    assert_string_equal(reply, "OK");
    assert_memory_equal(target.mem + 0x100, "\x00\x01\x02\x03", 4);
    assert_false(gdb_is_breakpoint(&session, 0x40080100));
    /* Misaligned or unmapped: refused. Hardware breakpoints: not supported. */
    handle("Z0,40080102,4");
    assert_string_equal(reply, "E01");
    handle("Z0,50000000,4");
    assert_string_equal(reply, "E01");
    handle("Z1,40080100,4");
    assert_string_equal(reply, "");
}

static void test_resume(void **state)
{
    (void)state;
    assert_int_equal(handle("c"), GDB_RUNNING);
    assert_int_equal(target.resumed, 1);
    assert_int_equal(target.step_thread, 0);
    target.stopped = true;
    assert_int_equal(handle("s"), GDB_RUNNING);
    assert_int_equal(target.step_thread, 1);
    handle("Hc2");
    assert_string_equal(reply, "OK");
    assert_int_equal(handle("s"), GDB_RUNNING);
    assert_int_equal(target.step_thread, 2);
    /* An address: the PC first. */
    handle("Hc-1");
    assert_int_equal(handle("c40080200"), GDB_RUNNING);
    assert_true(target.regs[0].r[GDB_REG_PC] == 0x40080200);
    session.stop_thread = 2;
    session.stop_signal = GDB_SIGINT;
    gdb_stop_reply(&session, reply);
    assert_string_equal(reply, "T02thread:2;");
}

static void test_detach_removes_breakpoints(void **state)
{
    (void)state;
    handle("Z0,40080100,4");
    handle("Z0,40080200,4");
    assert_int_equal(handle("D"), GDB_DETACHED);
    assert_string_equal(reply, "OK");
    assert_int_equal(target.detached, 1);
    assert_memory_equal(target.mem + 0x100, "\x00\x01\x02\x03", 4);
    assert_memory_equal(target.mem + 0x200, "\x00\x01\x02\x03", 4);
    assert_false(gdb_is_breakpoint(&session, 0x40080200));
    target.stopped = true;
    handle("Z0,40080100,4");
    assert_int_equal(handle("k"), GDB_NO_REPLY);
    assert_int_equal(target.detached, 2);
    assert_memory_equal(target.mem + 0x100, "\x00\x01\x02\x03", 4);
}

static void test_threads(void **state)
{
    (void)state;
    handle("T1");
    assert_string_equal(reply, "OK");
    handle("T2");
    assert_string_equal(reply, "OK");
    handle("T3");
    assert_string_equal(reply, "E01");
    handle("Hx1");
    assert_string_equal(reply, "E01");
}

/* ---- the configuration: the option, the UART, the passthrough refusal ---- */

/* QEMU 10 virt with two PL011s, its bootargs set to those given. */
static void *board_with_bootargs(const char *bootargs, struct board *board)
{
    void *fdt = dtb_load("qemu-virt-pt", 4096);

    assert_int_equal(fdt_open_into(fdt, fdt, (int)fdt_totalsize(fdt) + 4096), 0);
    int chosen = fdt_path_offset(fdt, "/chosen");
    assert_int_equal(fdt_setprop_string(fdt, chosen, "bootargs", bootargs), 0);
    assert_int_equal(board_parse(fdt, board), 0);
    return fdt;
}

static void test_option(void **state)
{
    struct vm_defaults d;

    (void)state;
    capture_reset();
    assert_int_equal(vm_defaults_parse("console=ttyAMA0 bulkhead.gdb=vm1", &d), 0);
    assert_string_equal(d.gdb_vm, "vm1");
    assert_int_equal(vm_defaults_parse("bulkhead.vm-cpus=1", &d), 0);
    assert_string_equal(d.gdb_vm, "");
    assert_int_equal(vm_defaults_parse("bulkhead.gdb=", &d), -1);
    assert_true(capture_contains("not a VM name"));
    capture_reset();
    assert_int_equal(vm_defaults_parse("bulkhead.gbd=vm1", &d), -1);
    assert_true(capture_contains("did you mean bulkhead.gdb?"));
}

static void test_uart_found(void **state)
{
    static struct board board;

    (void)state;
    void *fdt = board_with_bootargs("bulkhead.gdb=vm1", &board);
    /* The second PL011, not the console. */
    assert_string_equal(board.uart.path, "/pl011@9000000");
    assert_string_equal(board.gdb_uart.path, "/pl011@9040000");
    assert_int_equal(board.gdb_uart.regs.base, 0x9040000);
    assert_int_equal(board.gdb_uart.spi, 8);
    free(fdt);
    /* Not asked for: not taken. */
    fdt = board_with_bootargs("bulkhead.vm-cpus=1 xbulkhead.gdb=vm1", &board);
    assert_int_equal(board.gdb_uart.regs.size, 0);
    free(fdt);
}

static void test_uart_never_passed_through(void **state)
{
    static struct board board;
    static struct vm_config vm;
    static const char paths[] = "/pl011@9040000";

    (void)state;
    void *fdt = board_with_bootargs("bulkhead.gdb=vm1", &board);
    int chosen = fdt_path_offset(fdt, "/chosen");
    int node = fdt_add_subnode(fdt, chosen, "vm0");
    assert_true(node >= 0);
    assert_int_equal(fdt_setprop_string(fdt, node, "compatible", "bulkhead,vm"), 0);
    assert_int_equal(fdt_setprop(fdt, node, "bulkhead,passthrough", paths, sizeof(paths)), 0);
    node = fdt_path_offset(fdt, "/chosen/vm0");
    memset(&vm, 0, sizeof(vm));
    strcpy(vm.name, "vm0");
    strcpy(vm.node, "/chosen/vm0");
    vm.nr_vcpus = 1;
    capture_reset();
    assert_false(pt_parse(fdt, node, &board, &vm));
    assert_true(capture_contains("/chosen/vm0: /pl011@9040000: reg 0x9040000+0x1000 is the "
                                 "hypervisor's gdb stub UART (/pl011@9040000, bulkhead.gdb)"));
    free(fdt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_plain),
        cmocka_unit_test(test_frame_escapes),
        cmocka_unit_test(test_frame_too_small),
        cmocka_unit_test(test_rx_packet),
        cmocka_unit_test(test_rx_bad_checksum),
        cmocka_unit_test(test_rx_acks_and_break),
        cmocka_unit_test(test_rx_escape),
        cmocka_unit_test(test_rx_restart_and_overflow),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_regs_encoding),
        cmocka_unit_test_setup(test_queries, setup),
        cmocka_unit_test_setup(test_target_xml, setup),
        cmocka_unit_test_setup(test_registers, setup),
        cmocka_unit_test_setup(test_write_all_registers, setup),
        cmocka_unit_test_setup(test_memory, setup),
        cmocka_unit_test_setup(test_breakpoints, setup),
        cmocka_unit_test_setup(test_resume, setup),
        cmocka_unit_test_setup(test_detach_removes_breakpoints, setup),
        cmocka_unit_test_setup(test_threads, setup),
        cmocka_unit_test(test_option),
        cmocka_unit_test(test_uart_found),
        cmocka_unit_test(test_uart_never_passed_through),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
