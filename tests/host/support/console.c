/* The physical side of the console for host tests: lines and direct characters are captured
 * like printk's output (support/capture.h), so tests read what the UART would have shown.
 * It follows el2/console.c: a direct line is left open, and other output ends it first. */
#include "bulkhead/console.h"
#include "bulkhead/printk.h"

static bool mid_line;
static unsigned col;
static const char *open_prefix;

void console_write(const char *s, size_t len)
{
    if (mid_line) {
        printk("\n");
        mid_line = false;
    }
    printk("%.*s", (int)len, s);
}

/* As el2/console.c's: a backspace erases only what follows the prefix. */
void console_put_direct(const char *prefix, char c)
{
    if (c == '\b') {
        if (mid_line && col > 0) {
            printk("\b");
            col--;
        }
        return;
    }
    if (mid_line && open_prefix != prefix) {
        printk("\n");
        mid_line = false;
    }
    if (!mid_line) {
        printk("%s", prefix);
        open_prefix = prefix;
        col = 0;
    }
    printk("%c", c);
    mid_line = c != '\n';
    col++;
}

bool console_line_open_for(const char *prefix)
{
    return mid_line && open_prefix == prefix;
}

void console_rx_enable(void)
{
}
