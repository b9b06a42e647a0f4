/* The physical side of the console for host tests: lines and direct characters are captured
 * like printk's output (support/capture.h), so tests read what the UART would have shown. */
#include "bulkhead/console.h"
#include "bulkhead/printk.h"

void console_write(const char *s, size_t len)
{
    printk("%.*s", (int)len, s);
}

void console_put_direct(const char *prefix, char c)
{
    static bool mid_line;

    printk("%s%c", mid_line ? "" : prefix, c);
    mid_line = c != '\n';
}

void console_rx_enable(void)
{
}
