/* Console output. On the hypervisor it goes to the physical UART; host tests capture it. */
#ifndef BULKHEAD_PRINTK_H
#define BULKHEAD_PRINTK_H

#include "types.h"
#include <stdarg.h>

void printk(const char *fmt, ...) PRINTF_LIKE(1, 2);

#define pr_info(...) printk(__VA_ARGS__)
#define pr_err(...) printk("error: " __VA_ARGS__)
#define pr_warn(...) printk("warning: " __VA_ARGS__)

#ifndef BULKHEAD_HOST
/* Our own formatter: %d %i %u %x %X %p %s %c %% with l/ll/z, width, '0' and '-' flags. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);
#else
#include <stdio.h>
#endif

#endif
