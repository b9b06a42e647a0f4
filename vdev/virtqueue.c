/*
 * Split virtqueues (virtio 1.2, 2.7): the device's side, validating everything the driver wrote
 * before it is used. Pure: guest memory is reached only through vm_io's mem hook, which answers
 * for whole ranges of the VM's RAM. See include/bulkhead/virtio.h.
 *
 * The driver may change its rings at any time, from another vCPU: every field is read once (a
 * descriptor is copied before it is checked) and the checks apply to the copy.
 */
#include "bulkhead/printk.h"
#include "bulkhead/string.h"
#include "bulkhead/virtio.h"

#define AVAIL_IDX 1 /* avail: flags, idx, ring[] in 16-bit words */
#define AVAIL_RING 2
#define USED_IDX_WORD 0 /* used: flags and idx in the first 32-bit word */
#define USED_RING 1     /* then {id, len} pairs */

static void *guest_map(const struct vm_io *io, uint64_t ipa, uint64_t len)
{
    if (!io->mem || len == 0) {
        return NULL;
    }
    return io->mem->map(io->mem_ctx, ipa, len);
}

void virtq_reset(struct virtq *q)
{
    *q = (struct virtq){0};
}

int virtq_enable(struct virtq *q, const struct vm_io *io, char err[VIRTQ_ERR_LEN])
{
    uint64_t n = q->num;

    if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)) != 0) {
        snprintf(err, VIRTQ_ERR_LEN, "queue size %u is not a power of 2 up to %u", (unsigned)n,
                 (unsigned)VIRTQ_MAX_SIZE);
        return -1;
    }
    if (q->desc_ipa % 16 || q->avail_ipa % 2 || q->used_ipa % 4) {
        snprintf(err, VIRTQ_ERR_LEN, "rings misaligned (desc 0x%llx, avail 0x%llx, used 0x%llx)",
                 (unsigned long long)q->desc_ipa, (unsigned long long)q->avail_ipa,
                 (unsigned long long)q->used_ipa);
        return -1;
    }
    /* The rings' event words (used_event, avail_event) are counted in: a driver may write them. */
    q->desc = guest_map(io, q->desc_ipa, 16 * n);
    q->avail = guest_map(io, q->avail_ipa, 6 + 2 * n);
    q->used = guest_map(io, q->used_ipa, 6 + 8 * n);
    if (!q->desc || !q->avail || !q->used) {
        snprintf(err, VIRTQ_ERR_LEN,
                 "rings outside the VM's RAM (desc 0x%llx, avail 0x%llx, used 0x%llx, size %u)",
                 (unsigned long long)q->desc_ipa, (unsigned long long)q->avail_ipa,
                 (unsigned long long)q->used_ipa, (unsigned)n);
        q->desc = NULL;
        q->avail = NULL;
        q->used = NULL;
        return -1;
    }
    q->ready = true;
    return 0;
}

static uint16_t load16(volatile const uint16_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static struct virtq_desc read_desc(volatile const struct virtq_desc *d)
{
    return (struct virtq_desc){.addr = d->addr, .len = d->len, .flags = d->flags, .next = d->next};
}

/* Where a chain's walk is: its table (the ring's, or an indirect one) and the steps left. */
struct walk {
    volatile const struct virtq_desc *table;
    uint32_t size;  /* entries in table */
    uint32_t steps; /* descriptors the chain may still have in this table: a loop ends here */
    bool indirect;
};

/* Adds the buffer of d (checked against RAM and order) to c. */
static int add_buffer(struct virtq_chain *c, const struct vm_io *io, const struct virtq_desc *d,
                      unsigned idx, char err[VIRTQ_ERR_LEN])
{
    bool writable = d->flags & VIRTQ_DESC_F_WRITE;

    if (c->nr_out + c->nr_in == VIRTQ_MAX_SEGS) {
        snprintf(err, VIRTQ_ERR_LEN, "chain of head %u longer than %u buffers", c->head,
                 (unsigned)VIRTQ_MAX_SEGS);
        return -1;
    }
    if (!writable && c->nr_in) {
        snprintf(err, VIRTQ_ERR_LEN, "descriptor %u: readable after writable", idx);
        return -1;
    }
    if (d->len == 0) {
        return 0; /* nothing to touch: harmless */
    }
    uint8_t *host = guest_map(io, d->addr, d->len);
    if (!host) {
        snprintf(err, VIRTQ_ERR_LEN, "descriptor %u: buffer 0x%llx+0x%x outside the VM's RAM", idx,
                 (unsigned long long)d->addr, (unsigned)d->len);
        return -1;
    }
    c->seg[c->nr_out + c->nr_in] = (struct virtq_seg){.host = host, .len = d->len};
    if (writable) {
        c->nr_in++;
        c->in_len += d->len;
    } else {
        c->nr_out++;
        c->out_len += d->len;
    }
    return 0;
}

/* The ring's descriptor d is an indirect table: the walk goes on in it, from entry 0. */
static int enter_indirect(struct walk *w, const struct vm_io *io, const struct virtq_desc *d,
                          unsigned idx, char err[VIRTQ_ERR_LEN])
{
    if (w->indirect) {
        snprintf(err, VIRTQ_ERR_LEN, "descriptor %u: an indirect table inside an indirect table",
                 idx);
        return -1;
    }
    if (d->flags & VIRTQ_DESC_F_NEXT) {
        snprintf(err, VIRTQ_ERR_LEN, "descriptor %u: indirect with NEXT set", idx);
        return -1;
    }
    if (d->len == 0 || d->len % 16 || d->len / 16 > VIRTQ_MAX_SEGS) {
        snprintf(err, VIRTQ_ERR_LEN, "descriptor %u: indirect table of %u bytes", idx,
                 (unsigned)d->len);
        return -1;
    }
    const void *table = guest_map(io, d->addr, d->len);
    if (!table || d->addr % 16) {
        snprintf(err, VIRTQ_ERR_LEN,
                 "descriptor %u: indirect table 0x%llx+0x%x outside the VM's RAM", idx,
                 (unsigned long long)d->addr, (unsigned)d->len);
        return -1;
    }
    *w = (struct walk){.table = table, .size = d->len / 16, .steps = d->len / 16, .indirect = true};
    return 0;
}

int virtq_pop(struct virtq *q, const struct vm_io *io, struct virtq_chain *c,
              char err[VIRTQ_ERR_LEN])
{
    if (!q->ready) {
        return 0;
    }
    uint16_t avail_idx = load16(&q->avail[AVAIL_IDX]);
    uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
    if (pending == 0) {
        return 0;
    }
    if (pending > q->num) {
        snprintf(err, VIRTQ_ERR_LEN, "available index %u is %u ahead of the device's %u (size %u)",
                 avail_idx, pending, q->last_avail, q->num);
        return -1;
    }
    /* The ring entry after the index that published it. */
    uint16_t head = load16(&q->avail[AVAIL_RING + (q->last_avail & (q->num - 1))]);
    if (head >= q->num) {
        snprintf(err, VIRTQ_ERR_LEN, "available entry %u: head %u beyond the queue's %u",
                 q->last_avail, head, q->num);
        return -1;
    }
    /* The header only: seg[] is written as the walk finds buffers and read only up to
     * nr_out + nr_in, and zeroing its 1 KiB cost each chain a sixth of a 1500-byte frame's trip
     * through the switch. */
    c->head = head;
    c->nr_out = c->nr_in = 0;
    c->out_len = c->in_len = 0;
    struct walk w = {.table = q->desc, .size = q->num, .steps = q->num};
    unsigned idx = head;
    for (;;) {
        struct virtq_desc d = read_desc(&w.table[idx]);
        if (w.steps-- == 0) {
            snprintf(err, VIRTQ_ERR_LEN, "chain of head %u loops (descriptor %u seen again)", head,
                     idx);
            return -1;
        }
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (enter_indirect(&w, io, &d, idx, err) != 0) {
                return -1;
            }
            idx = 0;
            continue;
        }
        if (add_buffer(c, io, &d, idx, err) != 0) {
            return -1;
        }
        if (!(d.flags & VIRTQ_DESC_F_NEXT)) {
            break;
        }
        if (d.next >= w.size) {
            snprintf(err, VIRTQ_ERR_LEN, "descriptor %u: next %u beyond its table's %u", idx,
                     d.next, (unsigned)w.size);
            return -1;
        }
        idx = d.next;
    }
    q->last_avail++;
    return 1;
}

/* Copies between a flat buffer and the chain's segments [first, first + nr) from byte off. */
static size_t copy_segs(const struct virtq_chain *c, unsigned first, unsigned nr, uint64_t off,
                        uint8_t *flat, size_t len, bool to_chain)
{
    size_t done = 0;

    for (unsigned i = first; i < first + nr && done < len; i++) {
        const struct virtq_seg *s = &c->seg[i];
        if (off >= s->len) {
            off -= s->len;
            continue;
        }
        size_t n = MIN((size_t)(s->len - off), len - done);
        if (to_chain) {
            memcpy(s->host + off, flat + done, n);
        } else {
            memcpy(flat + done, s->host + off, n);
        }
        done += n;
        off = 0;
    }
    return done;
}

size_t virtq_read(const struct virtq_chain *c, uint64_t off, void *dst, size_t len)
{
    return copy_segs(c, 0, c->nr_out, off, dst, len, false);
}

size_t virtq_write(const struct virtq_chain *c, uint64_t off, const void *src, size_t len)
{
    return copy_segs(c, c->nr_out, c->nr_in, off, (uint8_t *)(uintptr_t)src, len, true);
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
    volatile uint32_t *elem = &q->used[USED_RING + 2 * (q->used_idx & (q->num - 1))];

    elem[0] = head;
    elem[1] = written;
    q->used_idx++;
    /* The element before the index that publishes it. used->idx is the upper half of the first
     * word (little-endian): a 16-bit store, the flags are the driver's. */
    __atomic_store_n((volatile uint16_t *)q->used + 1, q->used_idx, __ATOMIC_RELEASE);
}
