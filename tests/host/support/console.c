/* The physical side of the console for host tests: lines and direct characters are captured
 * like printk's output (support/capture.h), so tests read what the UART would have shown. */
#include "bulkhead/console.h"
#include "bulkhead/printk.h"

void console_write(const char *s, size_t len)
{
    printk("%.*s", (int)len, s);
}

/* As el2/console.c's: a backspace erases only what follows the prefix. */
void console_put_direct(const char *prefix, char c)
{
    static bool mid_line;
    static unsigned col;

    if (c == '\b') {
        if (mid_line && col > 0) {
            printk("\b");
            col--;
        }
        return;
    }
    if (!mid_line) {
        printk("%s", prefix);
        col = 0;
    }
    printk("%c", c);
    mid_line = c != '\n';
    col++;
}

void console_rx_enable(void)
{
}
