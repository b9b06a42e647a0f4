/* MMIO routing for one VM. Pure: see include/bulkhead/mmio.h. */
#include "bulkhead/mmio.h"

int mmio_bus_add(struct mmio_bus *bus, const struct mmio_region *region)
{
    unsigned pos = 0;

    if (bus->count == MAX_MMIO_REGIONS || !region->size ||
        region->base + region->size < region->base) {
        return -1;
    }
    for (unsigned i = 0; i < bus->count; i++) {
        const struct mmio_region *r = &bus->regions[i];
        if (ranges_overlap(r->base, r->size, region->base, region->size)) {
            return -1;
        }
        if (r->base < region->base) {
            pos = i + 1;
        }
    }
    for (unsigned i = bus->count; i > pos; i--) {
        bus->regions[i] = bus->regions[i - 1];
    }
    bus->regions[pos] = *region;
    bus->count++;
    /* The regions after pos moved: their pages' hints now point at their neighbours, which the
     * check of every hint sees; each costs one search, which corrects it. */
    return 0;
}

const struct mmio_region *mmio_bus_search(struct mmio_bus *bus, ipa_t ipa)
{
    unsigned lo = 0, hi = bus->count;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const struct mmio_region *r = &bus->regions[mid];
        if (ipa < r->base) {
            hi = mid;
        } else if (ipa - r->base >= r->size) {
            lo = mid + 1;
        } else {
            __atomic_store_n(&bus->hints[mmio_hint_slot(ipa)], r, __ATOMIC_RELAXED);
            return r;
        }
    }
    return NULL;
}

enum mmio_result mmio_bus_access(struct mmio_bus *bus, unsigned vcpu, const struct mmio_access *a,
                                 uint64_t *val)
{
    const struct mmio_region *r = mmio_bus_find(bus, a->ipa);

    return r ? mmio_region_access(r, vcpu, a, val) : MMIO_UNMAPPED;
}
