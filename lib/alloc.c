/* The boot-time bump allocator. See include/bulkhead/alloc.h. */
#include "bulkhead/alloc.h"

#include "bulkhead/string.h"

/* Not zeroed at boot (.noinit): each allocation zeroes its own bytes. */
static uint8_t arena[BOOT_ALLOC_ARENA] NOINIT __attribute__((aligned(16)));
static size_t arena_used;

void *boot_alloc(size_t size)
{
    size_t start, end;

    do {
        start = __atomic_load_n(&arena_used, __ATOMIC_RELAXED);
        end = start + ALIGN_UP(size, 16);
        if (end > sizeof(arena) || end < start) {
            return NULL;
        }
    } while (!__atomic_compare_exchange_n(&arena_used, &start, end, false, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    memset(arena + start, 0, end - start);
    return arena + start;
}
