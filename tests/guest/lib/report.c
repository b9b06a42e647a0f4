/* PASS/FAIL lines and their count (report.h). */
#include <stdarg.h>

#include "guest.h"
#include "report.h"

static unsigned passed, failed;

void pass(const char *check)
{
    printf("PASS %s\n", check);
    passed++;
}

void fail(const char *check, const char *fmt, ...)
{
    char detail[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    printf("FAIL %s: %s\n", check, detail);
    failed++;
}

void finish(void)
{
    printf("DONE passed=%u failed=%u\n", passed, failed);
    guest_halt();
}
