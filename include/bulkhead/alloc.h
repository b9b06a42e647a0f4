/*
 * Memory for the objects a VM is made of (its device models' state), handed out while VMs are
 * created at boot and never given back: partitions are static, so a bump allocator is all that
 * is needed and nothing can fragment or leak at run time. Pure C, host-tested.
 */
#ifndef BULKHEAD_ALLOC_H
#define BULKHEAD_ALLOC_H

#include "types.h"

#define BOOT_ALLOC_ARENA KiB(64)

/* size bytes, zeroed, 16-byte aligned; NULL once the arena is used up. */
void *boot_alloc(size_t size);

#endif
