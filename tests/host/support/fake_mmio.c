/* The recording device of support/fake_mmio.h. */
#include "support/fake_mmio.h"

static enum mmio_result fake_read(void *dev, unsigned vcpu, uint64_t offset, unsigned size,
                                  uint64_t *val)
{
    struct fake_dev *d = dev;

    d->reads++;
    d->vcpu = vcpu;
    d->offset = offset;
    d->size = size;
    *val = d->read_value;
    return d->result;
}

static enum mmio_result fake_write(void *dev, unsigned vcpu, uint64_t offset, unsigned size,
                                   uint64_t val)
{
    struct fake_dev *d = dev;

    d->writes++;
    d->vcpu = vcpu;
    d->offset = offset;
    d->size = size;
    d->written = val;
    return d->result;
}

const struct mmio_ops fake_dev_ops = {.read = fake_read, .write = fake_write};
