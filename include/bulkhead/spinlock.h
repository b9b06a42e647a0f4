/*
 * A test-and-test-and-set lock, usable once the MMU is on (exclusives need cacheable RAM).
 *
 * Not a ticket lock on purpose: physical CPUs may themselves be emulated or overcommitted (QEMU
 * runs more CPU threads than the host has cores). With a ticket lock every waiter behind a
 * descheduled one waits for it too; here whoever sees the lock free takes it.
 */
#ifndef BULKHEAD_SPINLOCK_H
#define BULKHEAD_SPINLOCK_H

#include "types.h"

typedef struct {
    uint32_t locked;
} spinlock_t;

static inline void spin_lock(spinlock_t *l)
{
    for (;;) {
        if (!__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE)) {
            return;
        }
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED)) {
#ifndef BULKHEAD_HOST
            __asm__ volatile("yield");
#endif
        }
    }
}

static inline void spin_unlock(spinlock_t *l)
{
    __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#endif
