/* printk and line output on the physical UART, one lock for all CPUs so lines never mix. */
#include <stdarg.h>

#include "bulkhead/console.h"
#include "bulkhead/printk.h"
#include "bulkhead/spinlock.h"
#include "bulkhead/vdev.h"

static spinlock_t console_lock;
static bool console_ready;
/* The focused VM's output goes out as typed; this says a line of it is unfinished. */
static bool direct_mid_line;

void console_init(paddr_t uart_base)
{
    pl011_init(uart_base);
    console_ready = true;
}

void console_write(const char *s, size_t len)
{
    if (!console_ready) {
        return;
    }
    spin_lock(&console_lock);
    if (direct_mid_line) {
        pl011_putc('\r');
        pl011_putc('\n');
        direct_mid_line = false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n') {
            pl011_putc('\r');
        }
        pl011_putc(s[i]);
    }
    spin_unlock(&console_lock);
}

void console_put_direct(const char *prefix, char c)
{
    if (!console_ready) {
        return;
    }
    spin_lock(&console_lock);
    if (!direct_mid_line) {
        while (*prefix) {
            pl011_putc(*prefix++);
        }
    }
    if (c == '\n') {
        pl011_putc('\r');
    }
    pl011_putc(c);
    direct_mid_line = c != '\n';
    spin_unlock(&console_lock);
}

void printk(const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 1) {
        n = sizeof(buf) - 1;
    }
    console_write(buf, (size_t)n);
}

/* Keyboard routing. Ctrl-T <n> moves the focus to VM n; Ctrl-T Ctrl-T sends one Ctrl-T. */
static unsigned focus;
static unsigned nr_focusable;
static bool switch_pending;

/* Someone types: from then on the focused VM's output is not held back to whole lines.
 * Until then (a test reading logs, a demo) every VM's lines stay whole. */
static bool interactive;

bool console_has_focus(const struct vm *vm)
{
    return interactive && nr_focusable > 0 && &vms[focus] == vm;
}

void console_input_init(void)
{
    nr_focusable = nr_vms;
    pl011_enable_rx_irq();
    if (nr_vms > 1) {
        printk("bulkhead: keyboard input goes to %s; Ctrl-T then a VM number moves it\n",
               vms[0].cfg.name);
    }
}

static void console_route(char c)
{
    if (switch_pending) {
        switch_pending = false;
        if (c >= '0' && (unsigned)(c - '0') < nr_focusable) {
            focus = (unsigned)(c - '0');
            printk("\nbulkhead: keyboard input now goes to %s\n", vms[focus].cfg.name);
            return;
        }
        if (c != CONSOLE_SWITCH_KEY) {
            return;
        }
    } else if (c == CONSOLE_SWITCH_KEY) {
        switch_pending = true;
        return;
    }
    if (focus < nr_focusable) {
        vdev_uart_input(&vms[focus], c);
    }
}

void console_receive(void)
{
    int c;

    while ((c = pl011_getc()) >= 0) {
        interactive = true;
        console_route((char)c);
    }
    pl011_ack_rx_irq();
}
