/* Basic types shared by hypervisor code and host unit tests. */
#ifndef BULKHEAD_TYPES_H
#define BULKHEAD_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Physical, intermediate-physical (guest) and hypervisor-virtual addresses. EL2 maps RAM
 * one to one, so paddr_t and pointers convert freely; ipa_t never does. */
typedef uint64_t paddr_t;
typedef uint64_t ipa_t;

#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((uint64_t)(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a)-1))
#define IS_ALIGNED(x, a) (((x) & ((uint64_t)(a)-1)) == 0)
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define BIT(n) (1ULL << (n))
/* Bits hi..lo of x, shifted down. */
#define BITS(x, hi, lo) (((uint64_t)(x) >> (lo)) & ((2ULL << ((hi) - (lo))) - 1))

#define UNUSED __attribute__((unused))
#define NORETURN __attribute__((noreturn))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
/* Static storage that boot does not zero (el2/bulkhead.ld): for pools that zero what they hand
 * out. Plain .bss on the host. */
#ifdef BULKHEAD_HOST
#define NOINIT
#else
#define NOINIT __attribute__((section(".noinit")))
#endif

/* Does [base, base+size) overlap [obase, obase+osize)? Sizes of zero never overlap. */
static inline bool ranges_overlap(uint64_t base, uint64_t size, uint64_t obase, uint64_t osize)
{
    return size && osize && base < obase + osize && obase < base + size;
}

#endif
