/*
 * A VM's RAM for the virtio host tests: RAM_SIZE bytes at IPA RAM_IPA behind a vm_io's mem hook
 * (answering only for ranges wholly inside it, as el2/vm.c's does), and a driver's side of a
 * split virtqueue laid out in it.
 */
#ifndef TESTS_HOST_VIRTIO_FAKE_RAM_H
#define TESTS_HOST_VIRTIO_FAKE_RAM_H

#include <stdlib.h>
#include <string.h>

#include "bulkhead/virtio.h"

#define RAM_IPA 0x40000000ULL
#define RAM_SIZE 0x100000ULL
#define RING_DESC (RAM_IPA + 0x1000)
#define RING_AVAIL (RAM_IPA + 0x2000)
#define RING_USED (RAM_IPA + 0x3000)
#define TABLE (RAM_IPA + 0x4000)
#define DATA (RAM_IPA + 0x10000)

struct fake_ram {
    uint8_t *bytes;
    unsigned maps; /* calls of the hook */
};

static inline void *fake_ram_map(void *ctx, ipa_t ipa, uint64_t len)
{
    struct fake_ram *r = ctx;

    r->maps++;
    if (len == 0 || ipa < RAM_IPA || ipa - RAM_IPA >= RAM_SIZE ||
        len > RAM_SIZE - (ipa - RAM_IPA)) {
        return NULL;
    }
    return r->bytes + (ipa - RAM_IPA);
}

static const struct vdev_mem_ops fake_ram_ops = {.map = fake_ram_map};

static inline void fake_ram_init(struct fake_ram *r, struct vm_io *io)
{
    r->bytes = calloc(1, RAM_SIZE);
    r->maps = 0;
    io->mem = &fake_ram_ops;
    io->mem_ctx = r;
}

static inline void fake_ram_free(struct fake_ram *r)
{
    free(r->bytes);
    r->bytes = NULL;
}

static inline uint8_t *fake_ram_ptr(struct fake_ram *r, uint64_t ipa)
{
    return r->bytes + (ipa - RAM_IPA);
}

static inline void set_desc_at(struct fake_ram *r, uint64_t table, unsigned i, uint64_t addr,
                               uint32_t len, uint16_t flags, uint16_t next)
{
    struct virtq_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};

    memcpy(fake_ram_ptr(r, table + 16ULL * i), &d, sizeof(d));
}

static inline void set_desc(struct fake_ram *r, unsigned i, uint64_t addr, uint32_t len,
                            uint16_t flags, uint16_t next)
{
    set_desc_at(r, RING_DESC, i, addr, len, flags, next);
}

static inline uint16_t *avail_words(struct fake_ram *r)
{
    return (uint16_t *)fake_ram_ptr(r, RING_AVAIL);
}

static inline void set_avail_idx(struct fake_ram *r, uint16_t idx)
{
    avail_words(r)[1] = idx;
}

/* The driver makes chain head available in a queue of num entries. */
static inline void offer(struct fake_ram *r, unsigned num, uint16_t head)
{
    uint16_t *a = avail_words(r);

    a[2 + a[1] % num] = head;
    a[1]++;
}

static inline uint16_t used_idx(struct fake_ram *r)
{
    return ((uint16_t *)fake_ram_ptr(r, RING_USED))[1];
}

/* Used element i: {id, len}. */
static inline uint32_t *used_elem(struct fake_ram *r, unsigned num, unsigned i)
{
    return (uint32_t *)fake_ram_ptr(r, RING_USED) + 1 + 2 * (i % num);
}

#endif
