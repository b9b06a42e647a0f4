/* printk and line output on the physical UART, one lock for all CPUs so lines never mix. */
#include <stdarg.h>

#include "bulkhead/console.h"
#include "bulkhead/printk.h"
#include "bulkhead/spinlock.h"

static spinlock_t console_lock;
static bool console_ready;

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
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n') {
            pl011_putc('\r');
        }
        pl011_putc(s[i]);
    }
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
