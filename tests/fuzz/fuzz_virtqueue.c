/*
 * The split virtqueue parser (vdev/virtqueue.c) over rings a guest wrote as it liked: the
 * descriptor table, the available and used rings and an indirect table all come from the input,
 * in a fake VM RAM (tests/host/virtio_fake_ram.h: RAM_SIZE bytes at RAM_IPA, the mem hook
 * answering only for ranges wholly inside it).
 *
 * Input: a byte whose low 4 bits give the queue size (1 << (b % 9): sizes that are no power of
 * 2 or too large are virtq_enable's to refuse), two bytes of the device's starting position in
 * the available ring, then up to 16 KiB laid over RAM from RING_DESC (descriptors, available
 * ring, used ring, indirect table at TABLE).
 * Checked besides "no crash": every buffer of a chain popped lies inside the fake RAM; a chain has
 * at most VIRTQ_MAX_SEGS buffers, readable ones first; an error leaves the position where it
 * was; copies in and out of a chain stay within its buffers' total.
 */
#include "fuzz_input.h"
#include "virtio_fake_ram.h"

#define LAYOUT_BYTES 0x4000

static struct fake_ram ram;
static struct vm_io io;

static bool inside_ram(const struct virtq_seg *s)
{
    uint8_t *lo = ram.bytes, *hi = ram.bytes + RAM_SIZE;

    return s->host >= lo && s->host < hi && s->len <= (uint64_t)(hi - s->host);
}

static void check_chain(const struct virtq_chain *c)
{
    static uint8_t scratch[0x20000];
    uint64_t out = 0, in = 0;

    CHECK((unsigned)c->nr_out + c->nr_in <= VIRTQ_MAX_SEGS);
    for (unsigned i = 0; i < (unsigned)c->nr_out + c->nr_in; i++) {
        CHECK(inside_ram(&c->seg[i]));
        CHECK(c->seg[i].len > 0);
        if (i < c->nr_out) {
            out += c->seg[i].len;
        } else {
            in += c->seg[i].len;
        }
    }
    CHECK(out == c->out_len && in == c->in_len);
    size_t n = virtq_read(c, 0, scratch, sizeof(scratch));
    CHECK(n == MIN(out, sizeof(scratch)));
    n = virtq_write(c, 1, scratch, sizeof(scratch));
    CHECK(n == MIN(in ? in - 1 : 0, sizeof(scratch)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size, 0};
    struct virtq_chain c;
    char err[VIRTQ_ERR_LEN];

    if (!ram.bytes) {
        fake_ram_init(&ram, &io);
    }
    memset(ram.bytes, 0, RAM_SIZE);
    struct virtq q = {
        .num = (uint16_t)(1u << (fuzz_u8(&in) % 9)),
        .desc_ipa = RING_DESC,
        .avail_ipa = RING_AVAIL,
        .used_ipa = RING_USED,
    };
    uint16_t start = fuzz_u16(&in);
    size_t layout = MIN(size - in.at, (size_t)LAYOUT_BYTES);
    memcpy(fake_ram_ptr(&ram, RING_DESC), data + in.at, layout);
    if (virtq_enable(&q, &io, err) != 0) {
        return 0;
    }
    q.last_avail = q.used_idx = start;
    for (unsigned n = 0; n < 2 * VIRTQ_MAX_SIZE; n++) {
        uint16_t before = q.last_avail;
        int rc = virtq_pop(&q, &io, &c, err);
        if (rc <= 0) {
            CHECK(q.last_avail == before);
            CHECK(rc == 0 || err[0] != '\0');
            break;
        }
        CHECK(c.head < q.num);
        check_chain(&c);
        virtq_push(&q, c.head, (uint32_t)c.in_len);
    }
    return 0;
}
