/* The console shared between VMs: per-VM ports and keyboard focus. See bulkhead/console.h. */
#include "bulkhead/console.h"
#include "bulkhead/printk.h"
#include "bulkhead/string.h"

static struct console_port *ports[CONSOLE_MAX_PORTS];
static unsigned nr_ports;

/* Keyboard routing. Ctrl-T <n> moves the focus to port n; Ctrl-T Ctrl-T sends one Ctrl-T. */
static unsigned focus;
static bool switch_pending;
/* Someone types: from then on the focused port's output is not held back to whole lines.
 * Until then (a test reading logs, a demo) every port's lines stay whole. */
static bool interactive;
/* The operator's monitor, if one is registered, and whether it has the keyboard. */
static const struct console_monitor *monitor;
static bool monitor_open;

void console_port_init(struct console_port *port, const char *name)
{
    *port = (struct console_port){0};
    strlcpy(port->name, name, sizeof(port->name));
    snprintf(port->prefix, sizeof(port->prefix), "[%s] ", name);
}

void console_port_add(struct console_port *port)
{
    if (nr_ports < CONSOLE_MAX_PORTS) {
        ports[nr_ports++] = port;
    }
}

void console_port_set_input(struct console_port *port, bool (*input)(void *ctx, char c), void *ctx)
{
    spin_lock(&port->lock);
    port->input = input;
    port->input_ctx = ctx;
    spin_unlock(&port->lock);
}

bool console_has_focus(const struct console_port *port)
{
    return interactive && !monitor_open && focus < nr_ports && ports[focus] == port;
}

/* Port lock held. */
static void flush_line(struct console_port *port)
{
    char out[CONSOLE_LINE + sizeof(port->prefix) + 1];

    if (!port->line_len) {
        return;
    }
    size_t n = strlcpy(out, port->prefix, sizeof(out));
    memcpy(out + n, port->line, port->line_len);
    out[n + port->line_len] = '\n';
    console_write(out, n + port->line_len + 1);
    port->line_len = 0;
}

/* Does the port's output go out a character at a time: it has the keyboard, or the console's
 * unfinished line is its own (left open while its VM waited)? */
static bool goes_direct(const struct console_port *port)
{
    return !port->line_len && (console_has_focus(port) || console_line_open_for(port->prefix));
}

/* Port lock held. One byte that is safe to show. */
static void put_safe(struct console_port *port, char c)
{
    if (goes_direct(port)) {
        console_put_direct(port->prefix, c);
        return;
    }
    if (c == '\n') {
        flush_line(port);
        return;
    }
    port->line[port->line_len++] = c;
    if (port->line_len == CONSOLE_LINE) {
        flush_line(port);
    }
}

enum { ESC_NONE, ESC_SEEN, ESC_CSI };

/* Port lock held. Swallows terminal escape sequences whole (ESC and the byte after it; for a
 * CSI, ESC [ up to its final byte 0x40-0x7e): a guest's shell sends them (busybox asks for the
 * cursor position at every prompt), and the shared console must not move its cursor. A newline
 * ends an unfinished one. Returns true if c was part of one. */
static bool swallow_escape(struct console_port *port, unsigned char u)
{
    switch (port->escape) {
    case ESC_SEEN: port->escape = u == '[' ? ESC_CSI : ESC_NONE; return u != '\n';
    case ESC_CSI:
        if (u == '\n') {
            port->escape = ESC_NONE;
            return false;
        }
        if (u >= 0x40 && u <= 0x7e) {
            port->escape = ESC_NONE;
        }
        return true;
    default:
        if (u == 0x1b) {
            port->escape = ESC_SEEN;
            return true;
        }
        return false;
    }
}

/* Port lock held. A backspace edits the port's own unfinished line, never its prefix or what
 * came before. */
static void backspace(struct console_port *port)
{
    if (goes_direct(port)) {
        console_put_direct(port->prefix, '\b');
    } else if (port->line_len) {
        port->line_len--;
    }
}

/* Port lock held. A guest's byte, made harmless: the console is shared, and a guest that could
 * move the cursor, erase or rewrite a line could forge the hypervisor's lines or another VM's.
 * \n ends the line, \t passes, \r is dropped, \b erases within the guest's own line, escape
 * sequences are swallowed, every other C0 control and DEL is shown in caret notation (BEL as
 * "^G", DEL as "^?"). The console is UTF-8: bytes from 0x80 pass, except a C1 control
 * (0x80-0x9f; 0x9b is CSI for some terminals) where it cannot be the continuation of a
 * character other than U+0080-U+009F, the C1 controls themselves: after ASCII or after the lead
 * byte 0xc2. It shows as '?'. */
static void put_char(struct console_port *port, char c)
{
    unsigned char u = (unsigned char)c;
    bool c1 = u >= 0x80 && u <= 0x9f && (port->last < 0x80 || port->last == 0xc2);

    port->last = u;
    if (swallow_escape(port, u) || c == '\r') {
        return;
    }
    if (c == '\b') {
        backspace(port);
        return;
    }
    if (u == 0x7f || (u < 0x20 && c != '\n' && c != '\t')) {
        put_safe(port, '^');
        put_safe(port, u == 0x7f ? '?' : (char)(u + 0x40));
        return;
    }
    put_safe(port, c1 ? '?' : c);
}

void console_port_putc(struct console_port *port, char c)
{
    spin_lock(&port->lock);
    put_char(port, c);
    spin_unlock(&port->lock);
}

void console_port_flush(struct console_port *port)
{
    spin_lock(&port->lock);
    flush_line(port);
    spin_unlock(&port->lock);
}

void console_port_write_open(struct console_port *port)
{
    spin_lock(&port->lock);
    for (unsigned i = 0; i < port->line_len; i++) {
        console_put_direct(port->prefix, port->line[i]);
    }
    port->line_len = 0;
    spin_unlock(&port->lock);
}

void console_port_reset(struct console_port *port)
{
    spin_lock(&port->lock);
    port->line_len = 0;
    port->inq_count = 0; /* typed for the previous life */
    port->escape = ESC_NONE;
    spin_unlock(&port->lock);
}

/* "0 vm0, 1 beta": which number gives the keyboard to which VM. */
static void print_port_numbers(void)
{
    char list[CONSOLE_MAX_PORTS * (NAME_LEN + 4)];
    size_t n = 0;

    for (unsigned i = 0; i < nr_ports && n < sizeof(list); i++) {
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%u %s", i ? ", " : "", i,
                              ports[i]->name);
    }
    printk("bulkhead: Ctrl-T then a VM number gives it the keyboard (%s); Ctrl-T twice sends "
           "one Ctrl-T%s\n",
           list, monitor ? "; Ctrl-T ? opens the monitor" : "");
}

void console_input_init(void)
{
    console_rx_enable();
    if (nr_ports > 1) {
        printk("bulkhead: keyboard input goes to %s; Ctrl-T then a VM number moves it\n",
               ports[0]->name);
        print_port_numbers();
    }
    if (monitor && nr_ports <= 1) { /* else print_port_numbers() said it */
        printk("bulkhead: Ctrl-T then ? opens the monitor: every VM's state, stop, restart, "
               "pause, log, load\n");
    }
}

void console_set_monitor(const struct console_monitor *m)
{
    monitor = m;
}

bool console_set_focus(unsigned n)
{
    if (n >= nr_ports) {
        return false;
    }
    focus = n;
    printk("bulkhead: keyboard input now goes to %s\n", ports[focus]->name);
    return true;
}

/* Ctrl-T ?: the monitor opens, or closes if it was open. */
static void toggle_monitor(void)
{
    monitor_open = !monitor_open;
    if (monitor_open) {
        monitor->open();
    } else {
        monitor->close();
    }
}

void console_port_set_running(struct console_port *port, bool running)
{
    spin_lock(&port->lock);
    port->stopped = !running;
    port->told_stopped = false;
    spin_unlock(&port->lock);
}

void console_port_pump(struct console_port *port)
{
    if (!__atomic_load_n(&port->inq_count, __ATOMIC_RELAXED)) {
        return;
    }
    /* The device's callback takes its own lock, which comes before the port lock: the port lock
     * is dropped around it, and pump_lock keeps the bytes in order meanwhile. */
    spin_lock(&port->pump_lock);
    for (;;) {
        spin_lock(&port->lock);
        bool (*input)(void *ctx, char c) = port->input;
        void *ctx = port->input_ctx;
        char c = port->inq[port->inq_head];
        bool any = port->inq_count != 0;
        spin_unlock(&port->lock);
        if (!any || !input || !input(ctx, c)) {
            break;
        }
        spin_lock(&port->lock);
        port->inq_head = (port->inq_head + 1) % CONSOLE_INQ;
        port->inq_count--;
        spin_unlock(&port->lock);
    }
    spin_unlock(&port->pump_lock);
}

/* Queues c for the focused port's device and hands it what it can take. A port without a
 * device takes nothing: what is typed to it is dropped. */
static void deliver(char c)
{
    struct console_port *port = ports[focus];

    spin_lock(&port->lock);
    bool tell = port->stopped && !port->told_stopped;
    port->told_stopped |= port->stopped;
    if (!port->input || port->stopped) {
        spin_unlock(&port->lock);
        if (tell) {
            printk("\nbulkhead: %s is not running: what is typed to it is dropped\n", port->name);
            print_port_numbers();
        }
        return;
    }
    if (port->inq_count == CONSOLE_INQ) {
        port->inq_lost++;
    } else {
        port->inq[(port->inq_head + port->inq_count) % CONSOLE_INQ] = c;
        port->inq_count++;
    }
    spin_unlock(&port->lock);
    console_port_pump(port);
}

void console_route(char c)
{
    interactive = true;
    if (switch_pending) {
        switch_pending = false;
        if (c == CONSOLE_MONITOR_KEY && monitor) {
            toggle_monitor();
            return;
        }
        if (c >= '0' && (unsigned)(c - '0') < nr_ports) {
            if (monitor_open) {
                toggle_monitor();
            }
            focus = (unsigned)(c - '0');
            printk("\nbulkhead: keyboard input now goes to %s\n", ports[focus]->name);
            return;
        }
        if (c != CONSOLE_SWITCH_KEY) {
            /* Not a VM's number: say which are. */
            print_port_numbers();
            return;
        }
    } else if (c == CONSOLE_SWITCH_KEY) {
        switch_pending = true;
        return;
    }
    if (monitor_open) {
        monitor_open = monitor->key(c);
        return;
    }
    if (focus < nr_ports) {
        deliver(c);
    }
}
