/* A ticket lock: fair between CPUs, usable once the MMU is on (exclusives need cacheable RAM). */
#ifndef BULKHEAD_SPINLOCK_H
#define BULKHEAD_SPINLOCK_H

#include "types.h"

typedef struct {
    uint16_t owner;
    uint16_t next;
} spinlock_t;

static inline void spin_lock(spinlock_t *l)
{
    uint16_t me = __atomic_fetch_add(&l->next, 1, __ATOMIC_ACQUIRE);

    while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != me) {
#ifndef BULKHEAD_HOST
        __asm__ volatile("yield");
#endif
    }
}

static inline void spin_unlock(spinlock_t *l)
{
    __atomic_store_n(&l->owner, (uint16_t)(l->owner + 1), __ATOMIC_RELEASE);
}

#endif
