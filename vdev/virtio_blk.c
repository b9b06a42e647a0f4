/*
 * virtio-blk (virtio 1.2, 5.2) over a disk image in hypervisor memory (struct
 * virtio_blk_params): a read-only disk is its boot module served in place; a writable one is
 * the copy set aside for it at boot, which the VM's resets keep. Reads, writes, flush (the
 * image is memory: nothing to wait for), discard (the range reads as zeroes after) and the
 * disk's ID. Pure C, host-tested.
 *
 * A request is a readable header, its data, and a writable status byte last. A request the
 * driver got wrong but can be answered (a sector beyond the disk, a write to a read-only disk,
 * more data than seg_max * size_max) gets IOERR or UNSUPP; one that cannot be answered (no
 * header, no status byte) fails the device.
 */
#include "bulkhead/printk.h"
#include "bulkhead/string.h"
#include "bulkhead/virtio.h"

#define SECTOR 512ULL
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20

#define BLK_SIZE_MAX KiB(64)
#define BLK_SEG_MAX (VIRTQ_MAX_SEGS - 2) /* the header and the status take one each */
#define BLK_MAX_DATA ((uint64_t)BLK_SIZE_MAX * BLK_SEG_MAX)
#define BLK_MAX_DISCARD_SEGS 16
/* A discard zeroes at most 2 MiB (all its ranges together): that counts in the budget. */
#define BLK_MAX_DISCARD_SECTORS 4096
/* Bytes a notify copies at most, besides VIRTIO_BUDGET chains: what is left waits for the
 * driver's next access. */
#define BLK_BYTE_BUDGET MiB(2)

struct virtio_blk_config {
    uint64_t capacity;
    uint32_t size_max;
    uint32_t seg_max;
    uint16_t cylinders;
    uint8_t heads, sectors;
    uint32_t blk_size;
    uint8_t physical_block_exp, alignment_offset;
    uint16_t min_io_size;
    uint32_t opt_io_size;
    uint8_t writeback, unused0;
    uint16_t num_queues;
    uint32_t max_discard_sectors;
    uint32_t max_discard_seg;
    uint32_t discard_sector_alignment;
} __attribute__((packed));

struct virtio_blk_req {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

struct virtio_blk_discard {
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;
};

struct vblk {
    struct virtio_dev vd;
    struct virtio_blk_config config;
    struct virtio_blk_params disk;
};

/* [sector, + bytes) lies on the disk. */
static bool on_disk(const struct vblk *b, uint64_t sector, uint64_t bytes)
{
    uint64_t sectors = b->disk.size / SECTOR;
    return sector <= sectors && bytes <= (sectors - sector) * SECTOR;
}

static uint8_t do_read(struct vblk *b, const struct virtq_chain *c, uint64_t sector, uint64_t len)
{
    if (len > BLK_MAX_DATA || !on_disk(b, sector, len)) {
        return VIRTIO_BLK_S_IOERR;
    }
    virtq_write(c, 0, b->disk.image + sector * SECTOR, len);
    return VIRTIO_BLK_S_OK;
}

static uint8_t do_write(struct vblk *b, const struct virtq_chain *c, uint64_t sector, uint64_t len)
{
    if (b->disk.read_only || len > BLK_MAX_DATA || !on_disk(b, sector, len)) {
        return VIRTIO_BLK_S_IOERR;
    }
    virtq_read(c, sizeof(struct virtio_blk_req), b->disk.image + sector * SECTOR, len);
    return VIRTIO_BLK_S_OK;
}

/* Each range is checked before any is zeroed: a bad one fails the whole request untouched.
 * *zeroed: the bytes zeroed, for the budget. */
static uint8_t do_discard(struct vblk *b, const struct virtq_chain *c, uint64_t len,
                          uint64_t *zeroed)
{
    struct virtio_blk_discard seg[BLK_MAX_DISCARD_SEGS];
    unsigned n = (unsigned)(len / sizeof(seg[0]));
    uint64_t total = 0;

    if (b->disk.read_only) {
        return VIRTIO_BLK_S_IOERR;
    }
    if (len % sizeof(seg[0]) || n == 0 || n > BLK_MAX_DISCARD_SEGS) {
        return VIRTIO_BLK_S_UNSUPP;
    }
    virtq_read(c, sizeof(struct virtio_blk_req), seg, len);
    for (unsigned i = 0; i < n; i++) {
        total += seg[i].num_sectors;
        if (seg[i].flags || total > BLK_MAX_DISCARD_SECTORS ||
            !on_disk(b, seg[i].sector, (uint64_t)seg[i].num_sectors * SECTOR)) {
            return seg[i].flags ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        memset(b->disk.image + seg[i].sector * SECTOR, 0, seg[i].num_sectors * SECTOR);
        *zeroed += seg[i].num_sectors * SECTOR;
    }
    return VIRTIO_BLK_S_OK;
}

static uint8_t do_get_id(struct vblk *b, const struct virtq_chain *c)
{
    char id[VIRTIO_BLK_ID_BYTES] = {0};

    /* Not NUL-terminated when it fills all 20 bytes, as the spec allows. */
    memcpy(id, b->vd.dev.name, MIN(strlen(b->vd.dev.name), sizeof(id)));
    virtq_write(c, 0, id, MIN(sizeof(id), (size_t)(c->in_len - 1)));
    return VIRTIO_BLK_S_OK;
}

/* Serves one request; returns the bytes it wrote into the chain (data and status), or -1 if it
 * cannot be answered (the device has failed). *work grows by the bytes it moved or zeroed. */
static int64_t serve(struct vblk *b, const struct virtq_chain *c, uint64_t *work)
{
    struct virtio_blk_req req;
    uint8_t status;

    if (c->out_len < sizeof(req) || c->in_len < 1) {
        virtio_fail(&b->vd, "request of head %u without a header or a status byte", c->head);
        return -1;
    }
    virtq_read(c, 0, &req, sizeof(req));
    uint64_t data_in = c->in_len - 1, data_out = c->out_len - sizeof(req);
    uint64_t written = 0;
    switch (req.type) {
    case VIRTIO_BLK_T_IN:
        status = do_read(b, c, req.sector, data_in);
        written = status == VIRTIO_BLK_S_OK ? data_in : 0;
        break;
    case VIRTIO_BLK_T_OUT: status = do_write(b, c, req.sector, data_out); break;
    case VIRTIO_BLK_T_FLUSH: status = VIRTIO_BLK_S_OK; break;
    case VIRTIO_BLK_T_GET_ID:
        status = do_get_id(b, c);
        written = MIN(data_in, (uint64_t)VIRTIO_BLK_ID_BYTES);
        break;
    case VIRTIO_BLK_T_DISCARD: status = do_discard(b, c, data_out, work); break;
    default: status = VIRTIO_BLK_S_UNSUPP; break;
    }
    virtq_write(c, c->in_len - 1, &status, 1);
    return (int64_t)(written + 1);
}

static void vblk_notify(struct virtio_dev *vd, unsigned q)
{
    struct vblk *b = (struct vblk *)vd;
    struct virtq_chain c;
    uint64_t copied = 0;

    for (unsigned n = 0; n < VIRTIO_BUDGET && copied < BLK_BYTE_BUDGET; n++) {
        if (virtio_pop(vd, q, &c) <= 0) {
            return;
        }
        int64_t written = serve(b, &c, &copied);
        if (written < 0) {
            return;
        }
        virtio_push(vd, q, &c, (uint32_t)written);
        copied += c.out_len + c.in_len;
    }
    virtio_more(vd, q);
}

static const struct virtio_backend vblk_rw_backend = {
    .model = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .features = BIT(VIRTIO_F_INDIRECT_DESC) | BIT(VIRTIO_BLK_F_SIZE_MAX) |
                BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_FLUSH) |
                BIT(VIRTIO_BLK_F_DISCARD),
    .nr_queues = 1,
    .notify = vblk_notify,
};

static const struct virtio_backend vblk_ro_backend = {
    .model = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .features = BIT(VIRTIO_F_INDIRECT_DESC) | BIT(VIRTIO_BLK_F_SIZE_MAX) |
                BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_FLUSH) |
                BIT(VIRTIO_BLK_F_RO),
    .nr_queues = 1,
    .notify = vblk_notify,
};

static int vblk_create(struct vm_io *io, const struct vdev_desc *desc)
{
    const struct virtio_blk_params *p = desc->params;
    struct vblk *b;

    if (!p || !p->image || p->size < SECTOR) {
        pr_err("%s: a virtio-blk needs a disk image of at least 512 bytes\n", io->vm_name);
        return -1;
    }
    b = (struct vblk *)virtio_create(io, desc, sizeof(*b),
                                     p->read_only ? &vblk_ro_backend : &vblk_rw_backend);
    if (!b) {
        return -1;
    }
    b->disk = *p;
    b->config = (struct virtio_blk_config){
        .capacity = p->size / SECTOR,
        .size_max = BLK_SIZE_MAX,
        .seg_max = BLK_SEG_MAX,
        .blk_size = SECTOR,
        .num_queues = 1,
        .max_discard_sectors = (uint32_t)MIN(p->size / SECTOR, BLK_MAX_DISCARD_SECTORS),
        .max_discard_seg = BLK_MAX_DISCARD_SEGS,
        .discard_sector_alignment = 1,
    };
    b->vd.config = &b->config;
    b->vd.config_size = sizeof(b->config);
    return 0;
}

const struct vdev_model virtio_blk_model = {.compatible = "bulkhead,virtio-blk",
                                            .create = vblk_create};
