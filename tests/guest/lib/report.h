/*
 * Results of the test guests, in the lines tests/qemu reads: "PASS <check>",
 * "FAIL <check>: <detail>" and, last, "DONE passed=N failed=M".
 */
#ifndef GUEST_REPORT_H
#define GUEST_REPORT_H

#include "bulkhead/types.h"

void pass(const char *check);
void fail(const char *check, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Prints the DONE line and powers off. */
NORETURN void finish(void);

#endif
