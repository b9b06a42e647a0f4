/* printk and line output on the physical UART, one lock for all CPUs so lines never mix. */
#include <stdarg.h>

#include "bulkhead/bcm2835_aux_uart.h"
#include "bulkhead/console.h"
#include "bulkhead/pl011.h"
#include "bulkhead/printk.h"
#include "bulkhead/string.h"

static spinlock_t console_lock;
static bool console_ready;
/* The focused VM's output goes out as typed; this says a line of it is unfinished, and how many
 * of its characters follow the prefix. */
static bool direct_mid_line;
static unsigned direct_col;
static const char *direct_prefix; /* whose line it is */

/* What is printed before the console exists (the board's device tree is read to find it, and
 * may hold mistakes worth reporting): kept here, written out once it does. Boot CPU only. */
#define EARLY_BUF 4096
static char early[EARLY_BUF];
static size_t early_len;
static size_t early_lost;

static void early_keep(const char *s, size_t len)
{
    size_t n = MIN(len, sizeof(early) - early_len);

    memcpy(early + early_len, s, n);
    early_len += n;
    early_lost += len - n;
}

/* printk's output, for the monitor's `log` (bulkhead/console.h). Its own lock, held only to
 * copy bytes and never with another taken inside it: printk runs under any lock of ours. */
static spinlock_t log_lock;
static char log_ring[CONSOLE_LOG_SIZE];
static uint64_t log_end;

static void log_keep(const char *s, size_t len)
{
    spin_lock(&log_lock);
    for (size_t i = 0; i < len; i++) {
        log_ring[(log_end + i) % CONSOLE_LOG_SIZE] = s[i];
    }
    log_end += len;
    spin_unlock(&log_lock);
}

uint64_t console_log_end(void)
{
    return __atomic_load_n(&log_end, __ATOMIC_RELAXED);
}

size_t console_log_read(uint64_t *from, char *dst, size_t len)
{
    size_t n = 0;

    spin_lock(&log_lock);
    if (log_end > CONSOLE_LOG_SIZE && *from < log_end - CONSOLE_LOG_SIZE) {
        *from = log_end - CONSOLE_LOG_SIZE;
    }
    for (uint64_t at = *from; at < log_end && n < len; at++) {
        dst[n++] = log_ring[at % CONSOLE_LOG_SIZE];
    }
    spin_unlock(&log_lock);
    return n;
}

/* The console's UART: its base and its driver, one of drivers/. */
struct uart_driver {
    void (*init)(paddr_t base);
    void (*putc)(paddr_t base, char c);
    int (*getc)(paddr_t base);
    void (*enable_rx_irq)(paddr_t base);
    void (*ack_rx_irq)(paddr_t base);
    void (*drain)(paddr_t base);
};

static const struct uart_driver uart_drivers[] = {
    [CONSOLE_PL011] = {pl011_port_init, pl011_port_putc, pl011_port_getc, pl011_port_enable_rx_irq,
                       pl011_port_ack_rx_irq, pl011_port_drain},
    [CONSOLE_BCM2835_AUX] = {aux_uart_init, aux_uart_putc, aux_uart_getc, aux_uart_enable_rx_irq,
                             aux_uart_ack_rx_irq, aux_uart_drain},
};
static const struct uart_driver *uart = &uart_drivers[CONSOLE_PL011];
static paddr_t uart_base; /* 0: no console, nothing written */

static void uart_putc(char c)
{
    uart->putc(uart_base, c);
}

void console_init(paddr_t base, enum console_uart kind)
{
    uart = &uart_drivers[kind];
    uart_base = base;
    uart->init(base);
    console_ready = true;
    console_write(early, early_len);
    if (early_lost) {
        printk("bulkhead: %zu bytes of messages before the console were lost\n", early_lost);
    }
}

void console_write(const char *s, size_t len)
{
    if (!console_ready) {
        early_keep(s, len);
        return;
    }
    spin_lock(&console_lock);
    if (direct_mid_line) {
        uart_putc('\r');
        uart_putc('\n');
        direct_mid_line = false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n') {
            uart_putc('\r');
        }
        uart_putc(s[i]);
    }
    spin_unlock(&console_lock);
}

void console_put_direct(const char *prefix, char c)
{
    if (!console_ready) {
        return;
    }
    spin_lock(&console_lock);
    if (c == '\b') {
        /* Erases what the guest wrote on this line, never its prefix. */
        if (direct_mid_line && direct_col > 0) {
            uart_putc('\b');
            direct_col--;
        }
        spin_unlock(&console_lock);
        return;
    }
    if (direct_mid_line && direct_prefix != prefix) {
        /* Another port's unfinished line: ours starts on a line of its own. */
        uart_putc('\r');
        uart_putc('\n');
        direct_mid_line = false;
    }
    if (!direct_mid_line) {
        direct_prefix = prefix;
        while (*prefix) {
            uart_putc(*prefix++);
        }
        direct_col = 0;
    }
    if (c == '\n') {
        uart_putc('\r');
    }
    uart_putc(c);
    direct_mid_line = c != '\n';
    direct_col++;
    spin_unlock(&console_lock);
}

bool console_line_open_for(const char *prefix)
{
    return __atomic_load_n(&direct_mid_line, __ATOMIC_RELAXED) && direct_prefix == prefix;
}

void console_open_line(const char *prefix)
{
    if (!console_ready) {
        return;
    }
    spin_lock(&console_lock);
    if (!direct_mid_line || direct_prefix != prefix) {
        if (direct_mid_line) {
            uart_putc('\r');
            uart_putc('\n');
        }
        direct_prefix = prefix;
        for (const char *p = prefix; *p; p++) {
            uart_putc(*p);
        }
        direct_col = 0;
        direct_mid_line = true;
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
    log_keep(buf, (size_t)n);
    console_write(buf, (size_t)n);
}

void console_drain(void)
{
    uart->drain(uart_base);
}

void console_rx_enable(void)
{
    uart->enable_rx_irq(uart_base);
}

void console_receive(void)
{
    int c;

    /* Acknowledged before draining: a byte that arrives after the FIFO was found empty raises
     * the interrupt again. Acknowledged after, it would clear that byte's interrupt, and an
     * emulated PL011 that interrupts only when its FIFO stops being empty would leave the byte
     * (and every one typed after it) waiting for ever. */
    uart->ack_rx_irq(uart_base);
    while ((c = uart->getc(uart_base)) >= 0) {
        console_route((char)c);
    }
}
