/* printk() for host tests: appends to a capture buffer that tests read through capture.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulkhead/printk.h"
#include "support/capture.h"

static char capture_buf[64 * 1024];
static size_t capture_len;

void printk(const char *fmt, ...)
{
    size_t room = sizeof(capture_buf) - capture_len;
    va_list ap;

    va_start(ap, fmt);
    if (getenv("BULKHEAD_ECHO")) {
        va_list copy;
        va_copy(copy, ap);
        vfprintf(stderr, fmt, copy);
        va_end(copy);
    }
    int n = vsnprintf(capture_buf + capture_len, room, fmt, ap);
    va_end(ap);
    if (n > 0) {
        /* A full buffer keeps its beginning: the first messages are the ones tests look for. */
        capture_len += (size_t)n < room ? (size_t)n : room - 1;
    }
}

void capture_reset(void)
{
    capture_len = 0;
    capture_buf[0] = '\0';
}

const char *capture_text(void)
{
    return capture_buf;
}

bool capture_contains(const char *s)
{
    return strstr(capture_buf, s) != NULL;
}

unsigned capture_count(const char *s)
{
    unsigned n = 0;
    size_t len = strlen(s);

    if (len == 0) {
        return 0;
    }
    for (const char *p = strstr(capture_buf, s); p; p = strstr(p + len, s)) {
        n++;
    }
    return n;
}
