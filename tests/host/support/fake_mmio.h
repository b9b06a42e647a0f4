/* A device for host tests that records its last MMIO access and answers reads with read_value
 * and every access with result (fake_mmio.c). */
#ifndef SUPPORT_FAKE_MMIO_H
#define SUPPORT_FAKE_MMIO_H

#include "bulkhead/mmio.h"

struct fake_dev {
    unsigned reads, writes;
    unsigned vcpu, size;
    uint64_t offset, written, read_value;
    enum mmio_result result;
};

/* Its ops: a region's dev is the struct fake_dev. */
extern const struct mmio_ops fake_dev_ops;

#endif
