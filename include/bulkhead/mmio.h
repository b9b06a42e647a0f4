/*
 * Emulated device regions of one VM: a sorted table searched by binary search, behind a small
 * table of guesses per page that answers most exits with one range check. A device model gets
 * its own state pointer and a decoded access, never an ESR, and says what happened.
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

#define MMIO_HINT_BITS 5
#define MMIO_HINTS (1u << MMIO_HINT_BITS)

struct mmio_bus {
    struct mmio_region regions[MAX_MMIO_REGIONS];
    unsigned count;
    /* hints[mmio_hint_slot(ipa)]: the region last found in a page hashed there, or NULL. Only
     * a guess, checked before it is used (the region holding ipa is the only one that does:
     * regions never overlap, and never leave the table), so a hint that is stale or being
     * rewritten by another vCPU costs a search, never a wrong answer. Pointers into regions,
     * written and read whole without a lock: a bus is not copied once it has been searched. */
    const struct mmio_region *hints[MMIO_HINTS];
};

/* Adds a region, keeping the table sorted. Returns 0, or -1 if it overlaps another or is full. */
int mmio_bus_add(struct mmio_bus *bus, const struct mmio_region *region);

/* The region containing ipa, or NULL, by binary search; remembers it as its page's hint. */
const struct mmio_region *mmio_bus_search(struct mmio_bus *bus, ipa_t ipa);

/* Fibonacci hashing of the page number: pages near each other, or apart by a power of two,
 * get slots of their own. */
static inline unsigned mmio_hint_slot(ipa_t ipa)
{
    return (uint32_t)(ipa >> 12) * 0x9e3779b9u >> (32 - MMIO_HINT_BITS);
}

/* The region containing ipa, or NULL: its page's hint if that holds ipa, else a search. */
static inline const struct mmio_region *mmio_bus_find(struct mmio_bus *bus, ipa_t ipa)
{
    const struct mmio_region *r =
        __atomic_load_n(&bus->hints[mmio_hint_slot(ipa)], __ATOMIC_RELAXED);

    if (r && ipa - r->base < r->size) {
        return r;
    }
    return mmio_bus_search(bus, ipa);
}

/* The same, asked first of *last, the region a caller found last (NULL at first), which it
 * keeps for itself alone (a vCPU: a driver's accesses come in runs to one device). Entries are
 * self-describing and never leave the table: a stale *last costs a lookup, never a wrong answer. */
static inline const struct mmio_region *
mmio_bus_find_from(struct mmio_bus *bus, const struct mmio_region **last, ipa_t ipa)
{
    const struct mmio_region *r = *last;

    if (r && ipa - r->base < r->size) {
        return r;
    }
    r = mmio_bus_find(bus, ipa);
    if (r) {
        *last = r;
    }
    return r;
}

/* Routes one access. For a write *val is the value stored; for a read it receives the value
 * (not yet sign-extended: see mmio_load_value()). */
enum mmio_result mmio_bus_access(struct mmio_bus *bus, unsigned vcpu, const struct mmio_access *a,
                                 uint64_t *val);

/* The same, to region r, which holds a->ipa (mmio_bus_find's answer): an exit looks it up once.
 * Inline: an exit's access reaches the device's handler without a call of its own. */
static inline enum mmio_result mmio_region_access(const struct mmio_region *r, unsigned vcpu,
                                                  const struct mmio_access *a, uint64_t *val)
{
    uint64_t offset = a->ipa - r->base;

    if (offset + a->size > r->size) {
        return MMIO_ABORT;
    }
    if (a->write) {
        return r->ops->write ? r->ops->write(r->dev, vcpu, offset, a->size, *val) : MMIO_OK;
    }
    *val = 0;
    return r->ops->read ? r->ops->read(r->dev, vcpu, offset, a->size, val) : MMIO_OK;
}

#endif
