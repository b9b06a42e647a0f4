/*
 * Emulated device regions of one VM: a sorted table searched by binary search. A device model
 * gets its own state pointer and a decoded access, never an ESR, and says what happened.
 * Pure C, host-tested.
 */
#ifndef BULKHEAD_MMIO_H
#define BULKHEAD_MMIO_H

#include "esr.h"

#define MAX_MMIO_REGIONS 16

enum mmio_result {
    MMIO_OK,       /* done; for a read, *val holds the value */
    MMIO_UNMAPPED, /* no device at this address */
    MMIO_ABORT,    /* the device refuses this access: the guest gets an external abort */
};

/* vcpu: index of the accessing vCPU in its VM (the GIC banks registers per CPU). */
struct mmio_ops {
    enum mmio_result (*read)(void *dev, unsigned vcpu, uint64_t offset, unsigned size,
                             uint64_t *val);
    enum mmio_result (*write)(void *dev, unsigned vcpu, uint64_t offset, unsigned size,
                              uint64_t val);
};

struct mmio_region {
    ipa_t base;
    uint64_t size;
    const struct mmio_ops *ops;
    void *dev;
    const char *name;
};

struct mmio_bus {
    struct mmio_region regions[MAX_MMIO_REGIONS];
    unsigned count;
};

/* Adds a region, keeping the table sorted. Returns 0, or -1 if it overlaps another or is full. */
int mmio_bus_add(struct mmio_bus *bus, const struct mmio_region *region);

/* The region containing ipa, or NULL. */
const struct mmio_region *mmio_bus_find(const struct mmio_bus *bus, ipa_t ipa);

/* Routes one access. For a write *val is the value stored; for a read it receives the value
 * (not yet sign-extended: see mmio_load_value()). */
enum mmio_result mmio_bus_access(const struct mmio_bus *bus, unsigned vcpu,
                                 const struct mmio_access *a, uint64_t *val);
/* The same, to region r, which holds a->ipa (mmio_bus_find's answer): an exit looks it up once. */
enum mmio_result mmio_region_access(const struct mmio_region *r, unsigned vcpu,
                                    const struct mmio_access *a, uint64_t *val);

#endif
