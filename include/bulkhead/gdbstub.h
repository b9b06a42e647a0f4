/*
 * A GDB stub for one VM (docs/DEBUGGING.md), on a UART of its own: gdb stops, steps and reads
 * that VM while the others run on.
 *
 * Two halves. el2/gdbstub_proto.c is the remote serial protocol, pure C and host-tested:
 * framing, checksums, escapes, hex, the register packet and every command, over a target it
 * reaches through struct gdb_target_ops. el2/gdbstub.c is that target: the UART, the VM's pause,
 * its registers and memory read on its vCPUs' own CPUs, and the debug exceptions.
 */
#ifndef BULKHEAD_GDBSTUB_H
#define BULKHEAD_GDBSTUB_H

#include "types.h"

/* ---- the protocol (el2/gdbstub_proto.c) ---- */

/* What gdb may send in one packet (qSupported's PacketSize), and what a reply may hold. */
#define GDB_PACKET_MAX 1024
#define GDB_MAX_BREAKPOINTS 16
#define GDB_SIGINT 2
#define GDB_SIGTRAP 5

/* x0-x30, sp, pc: 64 bits each; cpsr: 32 bits (org.gnu.gdb.aarch64.core, in this order). */
#define GDB_NR_REGS 34
#define GDB_REG_SP 31
#define GDB_REG_PC 32
#define GDB_REG_CPSR 33
/* The 'g' packet: 33 registers of 8 bytes and cpsr's 4, two hex digits a byte. */
#define GDB_REGS_HEX ((33 * 8 + 4) * 2)

struct gdb_regs {
    uint64_t r[GDB_NR_REGS];
};

/* Receiving: bytes in, whole packets out. */
enum gdb_rx_event {
    GDB_RX_NONE,   /* nothing complete yet */
    GDB_RX_PACKET, /* a packet with a good checksum is in rx->buf: answer '+' */
    GDB_RX_BAD,    /* a packet with a bad checksum, or too long: answer '-' */
    GDB_RX_BREAK,  /* Ctrl-C outside a packet: stop the target */
};

struct gdb_rx {
    enum { RX_IDLE, RX_DATA, RX_ESCAPE, RX_SUM1, RX_SUM2 } state;
    char buf[GDB_PACKET_MAX + 1]; /* NUL-terminated packet data, escapes undone */
    size_t len;
    uint8_t sum;   /* of the bytes as sent, escapes included */
    uint8_t got;   /* the checksum's first digit */
    bool overflow; /* more than buf holds: refused */
};

enum gdb_rx_event gdb_rx_byte(struct gdb_rx *rx, uint8_t c);

/* Hex (a digit's value: bulkhead/string.h's hex_digit). Writes n bytes as 2n hex digits (no NUL).
 */
void gdb_hex_encode(char *out, const uint8_t *in, size_t n);
/* Reads 2n hex digits into n bytes; false on a non-hex digit. */
bool gdb_hex_decode(uint8_t *out, const char *in, size_t n);
/* A hex number at *p, which moves past it; false if there is no digit or it overflows. */
bool gdb_parse_hex(const char **p, uint64_t *v);

/* Frames payload (len bytes) as $payload#cs into out, escaping '$', '#', '}' and '*'. Returns
 * the frame's length, or 0 if it does not fit in size bytes. */
size_t gdb_frame(char *out, size_t size, const char *payload, size_t len);

/* The 'g' packet's text (GDB_REGS_HEX digits, NUL-terminated: out holds one more) and back. */
void gdb_regs_encode(char *out, const struct gdb_regs *regs);
bool gdb_regs_decode(struct gdb_regs *regs, const char *in, size_t len);

/* What the protocol needs of the target. thread is gdb's thread number: vCPU index + 1. */
struct gdb_target_ops {
    unsigned (*nr_threads)(void *ctx);
    /* The target is stopped and can be looked at: false if it cannot be (not running). */
    bool (*stopped)(void *ctx);
    bool (*read_regs)(void *ctx, unsigned thread, struct gdb_regs *regs);
    bool (*write_regs)(void *ctx, unsigned thread, const struct gdb_regs *regs);
    /* Guest virtual addresses as thread sees them. Returns the bytes done (0: none mapped). */
    size_t (*read_mem)(void *ctx, unsigned thread, uint64_t va, uint8_t *buf, size_t len);
    size_t (*write_mem)(void *ctx, unsigned thread, uint64_t va, const uint8_t *buf, size_t len);
    /* Lets the target run: step_thread single-steps that thread (0: none). */
    void (*resume)(void *ctx, unsigned step_thread);
    /* gdb leaves: the target runs on without the debugger (breakpoints are already out). */
    void (*detach)(void *ctx);
};

struct gdb_breakpoint {
    uint64_t va;
    uint32_t saved; /* the instruction the BRK replaced */
    bool used;
};

struct gdb_session {
    const struct gdb_target_ops *ops;
    void *ctx;
    unsigned g_thread; /* for registers and memory (Hg) */
    unsigned c_thread; /* for step (Hc); 0: any */
    unsigned stop_thread;
    int stop_signal;
    struct gdb_breakpoint bps[GDB_MAX_BREAKPOINTS];
};

/* The AArch64 breakpoint gdb's Z0 inserts: BRK #0. */
#define GDB_BRK_INSN 0xd4200000u

void gdb_session_init(struct gdb_session *s, const struct gdb_target_ops *ops, void *ctx);

/* What gdb_handle asks of its caller after the reply is sent. */
enum gdb_after {
    GDB_REPLY,    /* reply (maybe empty: "not supported") and wait for the next packet */
    GDB_RUNNING,  /* no reply now: the target runs, a stop reply comes when it stops */
    GDB_DETACHED, /* reply, then the session ended */
    GDB_NO_REPLY, /* k: nothing is sent, the session ended */
};

/* Answers one packet (NUL-terminated, len bytes) into reply (GDB_PACKET_MAX + 1 bytes). */
enum gdb_after gdb_handle(struct gdb_session *s, const char *pkt, size_t len, char *reply);
/* The stop reply for the last stop: "T05thread:1;". */
void gdb_stop_reply(const struct gdb_session *s, char *reply);
/* True if va is where one of the session's breakpoints is. */
bool gdb_is_breakpoint(const struct gdb_session *s, uint64_t va);
/* Takes every breakpoint out of the target's memory (detach, or the target went away). */
void gdb_remove_all_breakpoints(struct gdb_session *s);

/* ---- the hypervisor's stub (el2/gdbstub.c) ---- */

struct vm;
struct vcpu;

/* From the boot CPU once the VMs exist: takes the board's gdb UART (board.gdb_uart) for the VM
 * the bootarg bulkhead.gdb= names, if any. */
void gdbstub_init(const char *vm_name);
/* intid is the gdb UART's interrupt (false when there is no stub): for handle_physical_irqs. */
bool gdbstub_owns_irq(unsigned intid);
/* Its receive interrupt: reads what gdb sent and answers it. */
void gdbstub_receive(void);
/* MDCR_EL2 bits a vCPU of vm gets on top of the usual: TDE while gdb is attached to its VM, so
 * its breakpoints and steps reach EL2; nothing for every other VM. */
uint64_t gdbstub_mdcr(const struct vm *vm);
/* Exit handlers for EC_BRK64 and EC_SOFTSTP_LOW (el2/traps.c). */
bool gdbstub_debug_exit(struct vcpu *vcpu, uint64_t esr);

#endif
