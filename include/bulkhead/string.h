/* The hypervisor's tiny libc: what our code and libfdt need. Host builds use the real libc. */
#ifndef BULKHEAD_STRING_H
#define BULKHEAD_STRING_H

#ifdef BULKHEAD_HOST
#include <stdlib.h>
#include <string.h>
#else
#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
unsigned long strtoul(const char *s, char **end, int base);
unsigned long long strtoull(const char *s, char **end, int base);
#endif

/* Copies at most size-1 bytes and always terminates (when size > 0). Returns strlen(src).
 * Ours on both builds: Debian 12's glibc has none. */
size_t strlcpy(char *dst, const char *src, size_t size);

/* The value of a hexadecimal digit (either case), or -1. */
static inline int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

#endif
