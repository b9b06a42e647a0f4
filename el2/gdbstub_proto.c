/*
 * GDB's remote serial protocol, the stub's side (docs/DEBUGGING.md): packets, their checksums
 * and escapes, hex, and the commands gdb-multiarch needs for an AArch64 target. Pure C, over the
 * target's operations: host-tested (tests/host/test_gdbstub.c).
 */
#include "bulkhead/gdbstub.h"
#include "bulkhead/printk.h"
#include "bulkhead/string.h"

/* ---- receiving ---- */

static enum gdb_rx_event rx_sum_digit(struct gdb_rx *rx, uint8_t c)
{
    int d = hex_digit((char)c);

    if (rx->state == RX_SUM1) {
        rx->got = (uint8_t)((d < 0 ? 0 : d) << 4);
        rx->state = d < 0 ? RX_IDLE : RX_SUM2;
        return d < 0 ? GDB_RX_BAD : GDB_RX_NONE;
    }
    rx->state = RX_IDLE;
    if (d < 0 || (uint8_t)(rx->got | d) != rx->sum || rx->overflow) {
        return GDB_RX_BAD;
    }
    rx->buf[rx->len] = '\0';
    return GDB_RX_PACKET;
}

static void rx_keep(struct gdb_rx *rx, char c)
{
    if (rx->len < GDB_PACKET_MAX) {
        rx->buf[rx->len++] = c;
    } else {
        rx->overflow = true;
    }
}

/* A '$' always starts a packet afresh: after a lost byte, the next packet still gets through. */
enum gdb_rx_event gdb_rx_byte(struct gdb_rx *rx, uint8_t c)
{
    if (c == '$') {
        rx->state = RX_DATA;
        rx->len = 0;
        rx->sum = 0;
        rx->overflow = false;
        return GDB_RX_NONE;
    }
    switch (rx->state) {
    case RX_IDLE:
        /* Acks ('+', '-') and noise between packets are dropped. */
        return c == 0x03 ? GDB_RX_BREAK : GDB_RX_NONE;
    case RX_DATA:
        if (c == '#') {
            rx->state = RX_SUM1;
            return GDB_RX_NONE;
        }
        rx->sum = (uint8_t)(rx->sum + c);
        if (c == '}') {
            rx->state = RX_ESCAPE;
        } else {
            rx_keep(rx, (char)c);
        }
        return GDB_RX_NONE;
    case RX_ESCAPE:
        rx->sum = (uint8_t)(rx->sum + c);
        rx_keep(rx, (char)(c ^ 0x20));
        rx->state = RX_DATA;
        return GDB_RX_NONE;
    case RX_SUM1:
    case RX_SUM2:
    default: return rx_sum_digit(rx, c);
    }
}

/* ---- hex ---- */

void gdb_hex_encode(char *out, const uint8_t *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
}

bool gdb_hex_decode(uint8_t *out, const char *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(in[2 * i]);
        int lo = hi < 0 ? -1 : hex_digit(in[2 * i + 1]);
        if (lo < 0) {
            return false;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

bool gdb_parse_hex(const char **p, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    int d;

    while ((d = hex_digit(*s)) >= 0) {
        if (x >> 60) {
            return false;
        }
        x = x << 4 | (uint64_t)d;
        s++;
    }
    if (s == *p) {
        return false;
    }
    *p = s;
    *v = x;
    return true;
}

/* ---- sending ---- */

static bool needs_escape(char c)
{
    /* '*' too: gdb reads it as run-length encoding. */
    return c == '$' || c == '#' || c == '}' || c == '*';
}

size_t gdb_frame(char *out, size_t size, const char *payload, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    uint8_t sum = 0;
    size_t n = 0;

    if (size < 4) {
        return 0;
    }
    out[n++] = '$';
    for (size_t i = 0; i < len; i++) {
        bool esc = needs_escape(payload[i]);
        if (n + (esc ? 2 : 1) + 3 > size) {
            return 0;
        }
        char c = esc ? (char)(payload[i] ^ 0x20) : payload[i];
        if (esc) {
            out[n++] = '}';
            sum = (uint8_t)(sum + '}');
        }
        out[n++] = c;
        sum = (uint8_t)(sum + (uint8_t)c);
    }
    out[n++] = '#';
    out[n++] = digits[sum >> 4];
    out[n++] = digits[sum & 0xf];
    return n;
}

/* ---- registers: little-endian bytes, as the target stores them ---- */

static unsigned reg_bytes(unsigned reg)
{
    return reg == GDB_REG_CPSR ? 4 : 8;
}

static void reg_encode(char *out, uint64_t v, unsigned bytes)
{
    uint8_t b[8];

    for (unsigned i = 0; i < bytes; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    gdb_hex_encode(out, b, bytes);
}

static bool reg_decode(uint64_t *v, const char *in, unsigned bytes)
{
    uint8_t b[8];

    if (!gdb_hex_decode(b, in, bytes)) {
        return false;
    }
    *v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        *v |= (uint64_t)b[i] << (8 * i);
    }
    return true;
}

void gdb_regs_encode(char *out, const struct gdb_regs *regs)
{
    for (unsigned i = 0; i < GDB_NR_REGS; i++) {
        reg_encode(out, regs->r[i], reg_bytes(i));
        out += 2 * reg_bytes(i);
    }
    *out = '\0';
}

bool gdb_regs_decode(struct gdb_regs *regs, const char *in, size_t len)
{
    if (len != GDB_REGS_HEX) {
        return false;
    }
    for (unsigned i = 0; i < GDB_NR_REGS; i++) {
        if (!reg_decode(&regs->r[i], in, reg_bytes(i))) {
            return false;
        }
        in += 2 * reg_bytes(i);
    }
    return true;
}

/* ---- the session ---- */

void gdb_session_init(struct gdb_session *s, const struct gdb_target_ops *ops, void *ctx)
{
    memset(s, 0, sizeof(*s));
    s->ops = ops;
    s->ctx = ctx;
    s->stop_thread = 1;
    s->stop_signal = GDB_SIGTRAP;
}

static void reply_str(char *reply, const char *s)
{
    strlcpy(reply, s, GDB_PACKET_MAX + 1);
}

static enum gdb_after reply_error(char *reply)
{
    reply_str(reply, "E01");
    return GDB_REPLY;
}

void gdb_stop_reply(const struct gdb_session *s, char *reply)
{
    snprintf(reply, GDB_PACKET_MAX + 1, "T%02xthread:%x;", (unsigned)s->stop_signal,
             s->stop_thread);
}

/* The thread registers and memory are read for: Hg's, else the one that stopped. */
static unsigned g_thread(const struct gdb_session *s)
{
    return s->g_thread ? s->g_thread : s->stop_thread;
}

/* "-1" and "0" mean any thread: 0 here. Returns false for a thread that does not exist. */
static bool parse_thread(const struct gdb_session *s, const char *p, unsigned *thread)
{
    uint64_t v;

    if (strcmp(p, "-1") == 0) {
        *thread = 0;
        return true;
    }
    if (!gdb_parse_hex(&p, &v) || *p || v > s->ops->nr_threads(s->ctx)) {
        return false;
    }
    *thread = (unsigned)v;
    return true;
}

static enum gdb_after cmd_set_thread(struct gdb_session *s, const char *p, char *reply)
{
    unsigned t;

    if ((p[0] != 'g' && p[0] != 'c') || !parse_thread(s, p + 1, &t)) {
        return reply_error(reply);
    }
    *(p[0] == 'g' ? &s->g_thread : &s->c_thread) = t;
    reply_str(reply, "OK");
    return GDB_REPLY;
}

static enum gdb_after cmd_thread_alive(struct gdb_session *s, const char *p, char *reply)
{
    unsigned t;

    if (!parse_thread(s, p, &t) || t == 0) {
        return reply_error(reply);
    }
    reply_str(reply, "OK");
    return GDB_REPLY;
}

static bool read_regs(struct gdb_session *s, struct gdb_regs *regs)
{
    return s->ops->stopped(s->ctx) && s->ops->read_regs(s->ctx, g_thread(s), regs);
}

static enum gdb_after cmd_read_regs(struct gdb_session *s, char *reply)
{
    struct gdb_regs regs;

    if (!read_regs(s, &regs)) {
        return reply_error(reply);
    }
    gdb_regs_encode(reply, &regs);
    return GDB_REPLY;
}

static enum gdb_after cmd_write_regs(struct gdb_session *s, const char *p, size_t len, char *reply)
{
    struct gdb_regs regs;

    if (!gdb_regs_decode(&regs, p, len) || !s->ops->stopped(s->ctx) ||
        !s->ops->write_regs(s->ctx, g_thread(s), &regs)) {
        return reply_error(reply);
    }
    reply_str(reply, "OK");
    return GDB_REPLY;
}

static enum gdb_after cmd_read_reg(struct gdb_session *s, const char *p, char *reply)
{
    struct gdb_regs regs;
    uint64_t n;

    if (!gdb_parse_hex(&p, &n) || *p) {
        return reply_error(reply);
    }
    if (n >= GDB_NR_REGS) {
        /* A register this target does not describe (target.xml has only the core). */
        reply_str(reply, "E00");
        return GDB_REPLY;
    }
    if (!read_regs(s, &regs)) {
        return reply_error(reply);
    }
    reg_encode(reply, regs.r[n], reg_bytes((unsigned)n));
    reply[2 * reg_bytes((unsigned)n)] = '\0';
    return GDB_REPLY;
}

static enum gdb_after cmd_write_reg(struct gdb_session *s, const char *p, char *reply)
{
    struct gdb_regs regs;
    uint64_t n, v;

    if (!gdb_parse_hex(&p, &n) || *p++ != '=' || n >= GDB_NR_REGS ||
        strlen(p) != 2 * reg_bytes((unsigned)n) || !reg_decode(&v, p, reg_bytes((unsigned)n)) ||
        !read_regs(s, &regs)) {
        return reply_error(reply);
    }
    regs.r[n] = v;
    if (!s->ops->write_regs(s->ctx, g_thread(s), &regs)) {
        return reply_error(reply);
    }
    reply_str(reply, "OK");
    return GDB_REPLY;
}

/* "addr,len" and what follows it. */
static bool parse_range(const char **p, uint64_t *addr, uint64_t *len)
{
    return gdb_parse_hex(p, addr) && *(*p)++ == ',' && gdb_parse_hex(p, len);
}

static enum gdb_after cmd_read_mem(struct gdb_session *s, const char *p, char *reply)
{
    uint8_t buf[GDB_PACKET_MAX / 2];
    uint64_t addr, len;

    if (!parse_range(&p, &addr, &len) || *p || !s->ops->stopped(s->ctx)) {
        return reply_error(reply);
    }
    /* A shorter answer is allowed: gdb asks again for the rest. */
    len = MIN(len, sizeof(buf));
    size_t done = s->ops->read_mem(s->ctx, g_thread(s), addr, buf, (size_t)len);
    if (!done && len) {
        return reply_error(reply);
    }
    gdb_hex_encode(reply, buf, done);
    reply[2 * done] = '\0';
    return GDB_REPLY;
}

static enum gdb_after cmd_write_mem(struct gdb_session *s, const char *p, char *reply)
{
    uint8_t buf[GDB_PACKET_MAX / 2];
    uint64_t addr, len;

    if (!parse_range(&p, &addr, &len) || *p++ != ':' || len > sizeof(buf) || strlen(p) != 2 * len ||
        !gdb_hex_decode(buf, p, (size_t)len) || !s->ops->stopped(s->ctx) ||
        s->ops->write_mem(s->ctx, g_thread(s), addr, buf, (size_t)len) != len) {
        return reply_error(reply);
    }
    reply_str(reply, "OK");
    return GDB_REPLY;
}

static struct gdb_breakpoint *find_breakpoint(struct gdb_session *s, uint64_t va)
{
    for (unsigned i = 0; i < GDB_MAX_BREAKPOINTS; i++) {
        if (s->bps[i].used && s->bps[i].va == va) {
            return &s->bps[i];
        }
    }
    return NULL;
}

bool gdb_is_breakpoint(const struct gdb_session *s, uint64_t va)
{
    return find_breakpoint((struct gdb_session *)s, va) != NULL;
}

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void put_le32(uint8_t *b, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
}

static bool insert_breakpoint(struct gdb_session *s, uint64_t va)
{
    struct gdb_breakpoint *free_bp = NULL;
    uint8_t old[4], brk[4];

    if (find_breakpoint(s, va)) {
        return true; /* gdb may insert one twice: it is there */
    }
    for (unsigned i = 0; i < GDB_MAX_BREAKPOINTS && !free_bp; i++) {
        free_bp = s->bps[i].used ? NULL : &s->bps[i];
    }
    put_le32(brk, GDB_BRK_INSN);
    if (!free_bp || (va & 3) || s->ops->read_mem(s->ctx, g_thread(s), va, old, 4) != 4 ||
        s->ops->write_mem(s->ctx, g_thread(s), va, brk, 4) != 4) {
        return false;
    }
    *free_bp = (struct gdb_breakpoint){.va = va, .saved = le32(old), .used = true};
    return true;
}

static bool remove_breakpoint(struct gdb_session *s, struct gdb_breakpoint *bp)
{
    uint8_t old[4];

    put_le32(old, bp->saved);
    bp->used = false;
    return s->ops->write_mem(s->ctx, g_thread(s), bp->va, old, 4) == 4;
}

void gdb_remove_all_breakpoints(struct gdb_session *s)
{
    for (unsigned i = 0; i < GDB_MAX_BREAKPOINTS; i++) {
        if (s->bps[i].used) {
            remove_breakpoint(s, &s->bps[i]);
        }
    }
}

/* Z0/z0 only: software breakpoints. Other kinds answer "not supported". */
static enum gdb_after cmd_breakpoint(struct gdb_session *s, const char *p, char *reply)
{
    bool insert = p[0] == 'Z';
    uint64_t addr, kind;

    if (p[1] != '0') {
        reply[0] = '\0';
        return GDB_REPLY;
    }
    p += 2;
    if (*p++ != ',' || !parse_range(&p, &addr, &kind) || !s->ops->stopped(s->ctx)) {
        return reply_error(reply);
    }
    struct gdb_breakpoint *bp = find_breakpoint(s, addr);
    bool ok = insert ? insert_breakpoint(s, addr) : (!bp || remove_breakpoint(s, bp));
    reply_str(reply, ok ? "OK" : "E01");
    return GDB_REPLY;
}

/* c [addr] and s [addr]: an address given becomes the PC first. */
static enum gdb_after cmd_resume(struct gdb_session *s, const char *p, char *reply)
{
    bool step = p[0] == 's';
    unsigned thread = s->c_thread ? s->c_thread : s->stop_thread;
    struct gdb_regs regs;
    uint64_t pc;

    p++;
    if (*p) {
        if (!gdb_parse_hex(&p, &pc) || *p || !s->ops->read_regs(s->ctx, thread, &regs)) {
            return reply_error(reply);
        }
        regs.r[GDB_REG_PC] = pc;
        if (!s->ops->write_regs(s->ctx, thread, &regs)) {
            return reply_error(reply);
        }
    }
    s->ops->resume(s->ctx, step ? thread : 0);
    reply[0] = '\0';
    return GDB_RUNNING;
}

static enum gdb_after cmd_detach(struct gdb_session *s, bool kill, char *reply)
{
    gdb_remove_all_breakpoints(s);
    s->ops->detach(s->ctx);
    reply_str(reply, "OK");
    return kill ? GDB_NO_REPLY : GDB_DETACHED;
}

/* ---- queries ---- */

/* One target description with the core registers only: gdb then expects no FP/SIMD ones. */
static const char target_xml[] =
    "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
    "<target version=\"1.0\"><architecture>aarch64</architecture>"
    "<feature name=\"org.gnu.gdb.aarch64.core\">"
    "<reg name=\"x0\" bitsize=\"64\"/><reg name=\"x1\" bitsize=\"64\"/>"
    "<reg name=\"x2\" bitsize=\"64\"/><reg name=\"x3\" bitsize=\"64\"/>"
    "<reg name=\"x4\" bitsize=\"64\"/><reg name=\"x5\" bitsize=\"64\"/>"
    "<reg name=\"x6\" bitsize=\"64\"/><reg name=\"x7\" bitsize=\"64\"/>"
    "<reg name=\"x8\" bitsize=\"64\"/><reg name=\"x9\" bitsize=\"64\"/>"
    "<reg name=\"x10\" bitsize=\"64\"/><reg name=\"x11\" bitsize=\"64\"/>"
    "<reg name=\"x12\" bitsize=\"64\"/><reg name=\"x13\" bitsize=\"64\"/>"
    "<reg name=\"x14\" bitsize=\"64\"/><reg name=\"x15\" bitsize=\"64\"/>"
    "<reg name=\"x16\" bitsize=\"64\"/><reg name=\"x17\" bitsize=\"64\"/>"
    "<reg name=\"x18\" bitsize=\"64\"/><reg name=\"x19\" bitsize=\"64\"/>"
    "<reg name=\"x20\" bitsize=\"64\"/><reg name=\"x21\" bitsize=\"64\"/>"
    "<reg name=\"x22\" bitsize=\"64\"/><reg name=\"x23\" bitsize=\"64\"/>"
    "<reg name=\"x24\" bitsize=\"64\"/><reg name=\"x25\" bitsize=\"64\"/>"
    "<reg name=\"x26\" bitsize=\"64\"/><reg name=\"x27\" bitsize=\"64\"/>"
    "<reg name=\"x28\" bitsize=\"64\"/><reg name=\"x29\" bitsize=\"64\"/>"
    "<reg name=\"x30\" bitsize=\"64\"/>"
    "<reg name=\"sp\" bitsize=\"64\" type=\"data_ptr\"/>"
    "<reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\"/>"
    "<reg name=\"cpsr\" bitsize=\"32\"/>"
    "</feature></target>";

/* qXfer:features:read:target.xml:offset,length: 'm' and a part, or 'l' and the last one. */
static enum gdb_after cmd_xfer_features(const char *p, char *reply)
{
    uint64_t off, len;
    size_t total = sizeof(target_xml) - 1;

    if (strncmp(p, "target.xml:", 11) != 0) {
        reply_str(reply, "E00");
        return GDB_REPLY;
    }
    p += 11;
    if (!parse_range(&p, &off, &len) || *p) {
        return reply_error(reply);
    }
    /* Room for the marker and for escapes (the XML has none, but a frame must fit). */
    len = MIN(len, GDB_PACKET_MAX / 2);
    off = MIN(off, total);
    size_t n = MIN(len, total - off);
    reply[0] = off + n < total ? 'm' : 'l';
    memcpy(reply + 1, target_xml + off, n);
    reply[1 + n] = '\0';
    return GDB_REPLY;
}

static enum gdb_after cmd_thread_info(struct gdb_session *s, char *reply)
{
    unsigned nr = s->ops->nr_threads(s->ctx);
    size_t n = 0;

    reply[n++] = 'm';
    for (unsigned t = 1; t <= nr; t++) {
        n += (size_t)snprintf(reply + n, GDB_PACKET_MAX + 1 - n, "%s%x", t > 1 ? "," : "", t);
    }
    reply[n] = '\0';
    return GDB_REPLY;
}

static bool starts(const char *p, const char *prefix)
{
    return strncmp(p, prefix, strlen(prefix)) == 0;
}

static enum gdb_after cmd_query(struct gdb_session *s, const char *p, char *reply)
{
    reply[0] = '\0';
    if (starts(p, "qSupported")) {
        snprintf(reply, GDB_PACKET_MAX + 1, "PacketSize=%x;qXfer:features:read+", GDB_PACKET_MAX);
    } else if (strcmp(p, "qAttached") == 0) {
        reply_str(reply, "1"); /* attached to a running VM: gdb's quit detaches, not kills */
    } else if (strcmp(p, "qfThreadInfo") == 0) {
        return cmd_thread_info(s, reply);
    } else if (strcmp(p, "qsThreadInfo") == 0) {
        reply_str(reply, "l");
    } else if (strcmp(p, "qC") == 0) {
        snprintf(reply, GDB_PACKET_MAX + 1, "QC%x", g_thread(s));
    } else if (starts(p, "qXfer:features:read:")) {
        return cmd_xfer_features(p + 20, reply);
    }
    return GDB_REPLY;
}

enum gdb_after gdb_handle(struct gdb_session *s, const char *pkt, size_t len, char *reply)
{
    reply[0] = '\0';
    switch (pkt[0]) {
    case '?': gdb_stop_reply(s, reply); return GDB_REPLY;
    case 'q': return cmd_query(s, pkt, reply);
    case 'H': return cmd_set_thread(s, pkt + 1, reply);
    case 'T': return cmd_thread_alive(s, pkt + 1, reply);
    case 'g': return cmd_read_regs(s, reply);
    case 'G': return cmd_write_regs(s, pkt + 1, len - 1, reply);
    case 'p': return cmd_read_reg(s, pkt + 1, reply);
    case 'P': return cmd_write_reg(s, pkt + 1, reply);
    case 'm': return cmd_read_mem(s, pkt + 1, reply);
    case 'M': return cmd_write_mem(s, pkt + 1, reply);
    case 'Z':
    case 'z': return cmd_breakpoint(s, pkt, reply);
    case 'c':
    case 's': return cmd_resume(s, pkt, reply);
    case 'D': return cmd_detach(s, false, reply);
    case 'k': return cmd_detach(s, true, reply);
    default: return GDB_REPLY; /* empty: not supported (vCont, X, ...) */
    }
}
