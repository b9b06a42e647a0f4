/* The freestanding C library subset the hypervisor and libfdt link against. */
#include "bulkhead/string.h"

#include <stdint.h>

#ifndef BULKHEAD_HOST
void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if ((((uintptr_t)d | (uintptr_t)s) & 7) == 0) {
        /* 64 bytes a round: loading guest images (tens of MiB) is a boot-time hot path. */
        for (; n >= 64; n -= 64, d += 64, s += 64) {
            const uint64_t *from = (const uint64_t *)(const void *)s;
            uint64_t *to = (uint64_t *)(void *)d;
            uint64_t a = from[0], b = from[1], c = from[2], e = from[3];
            uint64_t f = from[4], g = from[5], h = from[6], i = from[7];
            to[0] = a;
            to[1] = b;
            to[2] = c;
            to[3] = e;
            to[4] = f;
            to[5] = g;
            to[6] = h;
            to[7] = i;
        }
        for (; n >= 8; n -= 8, d += 8, s += 8) {
            *(uint64_t *)(void *)d = *(const uint64_t *)(const void *)s;
        }
    }
    while (n--) {
        *d++ = *s++;
    }
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if (d <= s || d >= s + n) {
        return memcpy(dst, src, n);
    }
    while (n--) {
        d[n] = s[n];
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;

    uint64_t pattern = 0x0101010101010101ULL * (unsigned char)c;

    /* Byte stores up to an 8-byte boundary, then whole words, eight to a turn while eight remain:
     * a VM's stage-2 tables (a page per 2 MiB of its RAM) are zeroed here at boot, and a turn of
     * one word was three quarters loop. */
    for (; n && ((uintptr_t)d & 7); n--) {
        *d++ = (unsigned char)c;
    }
    for (; n >= 64; n -= 64, d += 64) {
        uint64_t *w = (uint64_t *)(void *)d;
#pragma GCC unroll 8
        for (unsigned i = 0; i < 8; i++) {
            w[i] = pattern;
        }
    }
    for (; n >= 8; n -= 8, d += 8) {
        *(uint64_t *)(void *)d = pattern;
    }
    while (n--) {
        *d++ = (unsigned char)c;
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;

    for (; n; n--, x++, y++) {
        if (*x != *y) {
            return *x - *y;
        }
    }
    return 0;
}

void *memchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;

    for (; n; n--, p++) {
        if (*p == (unsigned char)c) {
            return (void *)p;
        }
    }
    return NULL;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while (s[n]) {
        n++;
    }
    return n;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;

    while (n < max && s[n]) {
        n++;
    }
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a) {
            return (unsigned char)*a - (unsigned char)*b;
        }
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c) {
            return (char *)s;
        }
        if (!*s) {
            return NULL;
        }
    }
}

char *strrchr(const char *s, int c)
{
    const char *last = NULL;

    for (;; s++) {
        if (*s == (char)c) {
            last = s;
        }
        if (!*s) {
            return (char *)last;
        }
    }
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'Z') {
        return c - 'A' + 10;
    }
    return 99;
}

unsigned long long strtoull(const char *s, char **end, int base)
{
    unsigned long long v = 0;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        base = 16;
    } else if (base == 0) {
        base = (s[0] == '0') ? 8 : 10;
    }
    for (; digit_value(*s) < base; s++) {
        v = v * (unsigned)base + (unsigned)digit_value(*s);
    }
    if (end) {
        *end = (char *)s;
    }
    return v;
}

unsigned long strtoul(const char *s, char **end, int base)
{
    return (unsigned long)strtoull(s, end, base);
}
#endif

size_t strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);

    if (size) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}
