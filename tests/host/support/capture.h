/*
 * The host tests' printk() writes into a capture buffer instead of a UART, so that tests can
 * assert what the code under test said (e.g. that an error names the offending DT node).
 * Set BULKHEAD_ECHO=1 in the environment to also see every message on stderr.
 */
#ifndef HOST_SUPPORT_CAPTURE_H
#define HOST_SUPPORT_CAPTURE_H

#include <stdbool.h>

/* Forgets everything printed so far. */
void capture_reset(void);

/* Everything printed since the last reset (truncated to the buffer's size), NUL-terminated. */
const char *capture_text(void);

/* Does the captured text contain s? */
bool capture_contains(const char *s);

/* How many times s occurs in the captured text (non-overlapping). */
unsigned capture_count(const char *s);

#endif
