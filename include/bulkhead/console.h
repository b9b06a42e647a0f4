/*
 * The hypervisor's console: the board's UART, shared by the hypervisor and every VM.
 *
 * el2/console.c writes to the UART: printk and whole lines, one CPU at a time.
 * el2/console_mux.c multiplexes it between VMs: each VM's console device (an emulated PL011
 * today) writes into the VM's console port, which prefixes and buffers its lines, and the
 * keyboard goes to one port at a time. The console knows ports, never VMs or devices.
 *
 * Lock order: a device's own lock, then its port's lock, then the console lock.
 */
#ifndef BULKHEAD_CONSOLE_H
#define BULKHEAD_CONSOLE_H

#include "config.h"
#include "spinlock.h"

/* The kinds of UART the hypervisor's console drives (drivers/): the PL011, or the Raspberry
 * Pi's mini UART when /chosen/stdout-path names it. */
enum console_uart {
    CONSOLE_PL011,
    CONSOLE_BCM2835_AUX,
};

void console_init(paddr_t uart_base, enum console_uart kind);
/* Waits until the UART has sent all that was written to it: before the machine resets or powers
 * off, which would cut the last lines short. */
void console_drain(void);
/* Lets the UART interrupt on received bytes (console_receive() is its handler). */
void console_rx_enable(void);
/* Drains the physical UART into console_route() (the UART interrupt's handler). */
void console_receive(void);
/* Writes a whole line atomically with respect to other CPUs' lines. */
void console_write(const char *s, size_t len);
/* One character of the focused port's output, at once: an interactive prompt must show before
 * its line ends. prefix starts each line. Other output first ends such an unfinished line. A
 * backspace erases only what follows the prefix. */
void console_put_direct(const char *prefix, char c);
/* Is the console's unfinished line one that console_put_direct() began with this prefix? */
bool console_line_open_for(const char *prefix);
/* Starts an unfinished line of just prefix (a prompt), as console_put_direct() would before a
 * character; nothing if that prefix's line is open already. */
void console_open_line(const char *prefix);

/* The hypervisor's own recent messages (printk's output, not the VMs' lines), kept in a ring
 * for the console monitor's `log` and BH_HVC_LOG_READ. Offsets count every byte ever logged. */
#define CONSOLE_LOG_SIZE 8192
/* The offset just past the last byte logged. */
uint64_t console_log_end(void);
/* Copies up to len bytes of the log from offset *from into dst; *from moves up to the oldest
 * byte still kept if it was older. Returns the number of bytes copied. */
size_t console_log_read(uint64_t *from, char *dst, size_t len);

#define CONSOLE_LINE 256
#define CONSOLE_INQ 4096 /* typed bytes a VM has not taken yet */
#define CONSOLE_MAX_PORTS MAX_VMS

/* One VM's share of the console. */
struct console_port {
    spinlock_t lock;
    char name[NAME_LEN];
    char prefix[NAME_LEN + 4]; /* "[name] ", starting each of its lines */
    char line[CONSOLE_LINE];
    unsigned line_len;
    unsigned char last; /* the guest's previous byte: is a 0x80-0x9f byte a C1 control */
    uint8_t escape;     /* inside a terminal escape sequence the guest sent (console_mux.c) */
    /* Where typed bytes go while the port has the keyboard (set by the VM's console device;
     * called without any lock held but pump_lock). It returns false when the device cannot
     * take the byte now (its FIFO is full): the byte waits in inq until the device pulls it
     * (console_port_pump), so that a paste is held back, never dropped. */
    bool (*input)(void *ctx, char c);
    void *input_ctx;
    spinlock_t pump_lock; /* one CPU at a time moves bytes from inq to the device */
    char inq[CONSOLE_INQ];
    unsigned inq_head, inq_count;
    unsigned inq_lost; /* bytes dropped because inq was full (a paste larger than it) */
    bool stopped;      /* its VM does not run: what is typed to it goes nowhere */
    bool told_stopped; /* the user typed to it while stopped and was told */
};

void console_port_init(struct console_port *port, const char *name);
/* Makes the port one of those the keyboard can be given to, numbered in the order added. */
void console_port_add(struct console_port *port);
void console_port_set_input(struct console_port *port, bool (*input)(void *ctx, char c), void *ctx);
/* Hands the port's waiting input to its device until the device is full: call it, with no lock
 * held, whenever the device has taken bytes out (the guest read its receive FIFO). */
void console_port_pump(struct console_port *port);
/* The port's output, a character at a time: whole lines with its prefix, so that VMs' output
 * never interleaves within a line (except the focused port's unfinished line). Control
 * characters other than \n and \t come out visible (ESC as "^["), \r not at all: a guest can
 * neither move the cursor nor rewrite a line, so every line of its starts with its prefix. */
void console_port_putc(struct console_port *port, char c);
/* Writes out an unfinished line (its VM stopped). */
void console_port_flush(struct console_port *port);
/* The port's VM waits (every vCPU of it is in WFI): an unfinished line it left (a shell's
 * prompt) goes out now, left open, so that a user sees it without typing; the port's next
 * bytes continue it unless another line came between. */
void console_port_write_open(struct console_port *port);
/* Whether the port holds an unfinished line. Inline and unlocked: asked on the WFI exit's
 * path, where the common case (nothing unsaid) must cost a load. */
static inline bool console_port_has_partial_line(const struct console_port *port)
{
    return __atomic_load_n(&port->line_len, __ATOMIC_RELAXED) != 0;
}
/* Forgets an unfinished line (its VM restarts). */
void console_port_reset(struct console_port *port);
/* Whether the port's VM runs: typing to one that does not is answered with a line saying so,
 * once, and where the keyboard can go instead. */
void console_port_set_running(struct console_port *port, bool running);

/* Keyboard input goes to one port at a time: Ctrl-T then a digit gives it to that port. */
#define CONSOLE_SWITCH_KEY 0x14 /* Ctrl-T */
/* Enables keyboard input once every port is added. */
void console_input_init(void);
/* True for the port that gets the keyboard, once someone has typed. */
bool console_has_focus(const struct console_port *port);
/* Routes one typed byte to the focused port (Ctrl-T sequences switch the focus). */
void console_route(char c);

/* The operator's monitor (el2/monitor.c): Ctrl-T then CONSOLE_MONITOR_KEY opens it, and then
 * closes it again. While it is open the typed bytes go to key() and no port has the keyboard
 * (every VM's output comes as whole lines). key() returns false when the monitor closed itself
 * (its exit or focus command). Both run on the CPU that takes the UART's interrupt, in
 * whatever that CPU was doing: they must not wait for another CPU. */
#define CONSOLE_MONITOR_KEY '?'
struct console_monitor {
    void (*open)(void);
    bool (*key)(char c);
    void (*close)(void);
};
void console_set_monitor(const struct console_monitor *monitor);
/* Gives the keyboard to port n (the monitor's focus command). False if there is no such port. */
bool console_set_focus(unsigned n);

#endif
