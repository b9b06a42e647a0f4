/*
 * Virtio devices served by the hypervisor itself (no backend VM): the virtio-mmio transport
 * (virtio 1.2 section 4.2, register layout version 2, modern interface only), split virtqueues,
 * and the device backends that plug into the transport (virtio-blk, virtio-console; virtio-net
 * with its switch). Binding and what the guest sees: docs/CONFIG.md, "Virtio devices".
 *
 * Layers, each pure C and host-tested:
 * - vdev/virtqueue.c: one split virtqueue. Every descriptor chain is validated against the VM's
 *   RAM (through vm_io's mem hook) before a byte of it is touched: ring indices, head and next
 *   indices, chain length (loops), indirect tables, each buffer's address and length, readable
 *   before writable. A broken rule is an error with a message; nothing is touched after it.
 * - vdev/virtio_mmio.c: the transport registers, feature negotiation, the queues' set-up, the
 *   interrupt (level: InterruptStatus != 0) and the device's failure: a queue error puts the
 *   device into DEVICE_NEEDS_RESET with a console line naming the VM and the device; the
 *   device then does nothing until the driver resets it (Status = 0) or the VM resets.
 * - a backend (struct virtio_backend): its device ID, features, queues, configuration space and
 *   what a notify does. A backend's state struct begins with struct virtio_dev.
 *
 * Cost: a notify serves at most VIRTIO_BUDGET chains of its queue. What is left waits for the
 * driver's next access to the device (it acknowledges the interrupt raised for the chains used
 * meanwhile), where another budget is served: one VM flooding a queue never holds its vCPU, or
 * another VM's, in the hypervisor for long.
 *
 * Locking: struct virtio_dev's lock guards the transport's registers, the queues and the
 * backend's state. The transport's MMIO handlers take it and call the backend with it held;
 * anything else that drives the device (typed console input, frames from another VM's port)
 * takes it with virtio_lock(). Under it a device takes only the leaf locks: the VM's RAM lock
 * (vm_io's mem hook), the vGIC's (its interrupt), a console port's. Guest memory is touched
 * only under it and only while the driver has it live (DRIVER_OK, not failed): halt() and reset
 * close it under the lock first, so a VM's reset never races a copy into its RAM.
 */
#ifndef BULKHEAD_VIRTIO_H
#define BULKHEAD_VIRTIO_H

#include "printk.h"
#include "spinlock.h"
#include "vdev.h"

/* ---- virtio-mmio registers (virtio 1.2, 4.2.2) ---- */

#define VIRTIO_MMIO_SIZE 0x200 /* the register window; devices are placed a page apart */
enum virtio_mmio_reg {
    VIRTIO_MMIO_MAGIC = 0x000, /* "virt" */
    VIRTIO_MMIO_VERSION = 0x004,
    VIRTIO_MMIO_DEVICE_ID = 0x008,
    VIRTIO_MMIO_VENDOR_ID = 0x00c,
    VIRTIO_MMIO_DEVICE_FEATURES = 0x010,
    VIRTIO_MMIO_DEVICE_FEATURES_SEL = 0x014,
    VIRTIO_MMIO_DRIVER_FEATURES = 0x020,
    VIRTIO_MMIO_DRIVER_FEATURES_SEL = 0x024,
    VIRTIO_MMIO_QUEUE_SEL = 0x030,
    VIRTIO_MMIO_QUEUE_NUM_MAX = 0x034,
    VIRTIO_MMIO_QUEUE_NUM = 0x038,
    VIRTIO_MMIO_QUEUE_READY = 0x044,
    VIRTIO_MMIO_QUEUE_NOTIFY = 0x050,
    VIRTIO_MMIO_INTERRUPT_STATUS = 0x060,
    VIRTIO_MMIO_INTERRUPT_ACK = 0x064,
    VIRTIO_MMIO_STATUS = 0x070,
    VIRTIO_MMIO_QUEUE_DESC_LOW = 0x080,
    VIRTIO_MMIO_QUEUE_DESC_HIGH = 0x084,
    VIRTIO_MMIO_QUEUE_DRIVER_LOW = 0x090,
    VIRTIO_MMIO_QUEUE_DRIVER_HIGH = 0x094,
    VIRTIO_MMIO_QUEUE_DEVICE_LOW = 0x0a0,
    VIRTIO_MMIO_QUEUE_DEVICE_HIGH = 0x0a4,
    VIRTIO_MMIO_SHM_SEL = 0x0ac,
    VIRTIO_MMIO_SHM_LEN_LOW = 0x0b0,
    VIRTIO_MMIO_SHM_LEN_HIGH = 0x0b4,
    VIRTIO_MMIO_SHM_BASE_LOW = 0x0b8,
    VIRTIO_MMIO_SHM_BASE_HIGH = 0x0bc,
    VIRTIO_MMIO_QUEUE_RESET = 0x0c0,
    VIRTIO_MMIO_CONFIG_GENERATION = 0x0fc,
    VIRTIO_MMIO_CONFIG = 0x100,
};
#define VIRTIO_MMIO_MAGIC_VALUE 0x74726976u /* "virt" */
#define VIRTIO_MMIO_VERSION_MODERN 2
#define VIRTIO_VENDOR_BULKHEAD 0x48424b42u /* "BKBH": a vendor ID of our own */

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

/* InterruptStatus bits. */
#define VIRTIO_INT_USED 1u
#define VIRTIO_INT_CONFIG 2u

/* Device IDs (5). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3

/* Feature bits every device may offer (6). The transport adds VERSION_1 to every device. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_VERSION_1 32

/* ---- split virtqueues (vdev/virtqueue.c, 2.7) ---- */

#define VIRTQ_MAX_SIZE 256 /* QueueNumMax of every queue */
#define VIRTQ_MAX_SEGS 64  /* buffers in one chain, indirect ones included */
#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

/* One queue as the driver set it up, and where the device is in it. */
struct virtq {
    uint16_t num; /* QueueNum: a power of 2 up to VIRTQ_MAX_SIZE */
    bool ready;
    uint64_t desc_ipa, avail_ipa, used_ipa;
    /* Resolved and checked once, when the driver makes the queue ready. */
    volatile struct virtq_desc *desc;
    volatile uint16_t *avail; /* flags, idx, ring[num] */
    volatile uint32_t *used;  /* flags|idx, then ring[num] of {id, len} */
    uint16_t last_avail;      /* the next entry of the available ring the device takes */
    uint16_t used_idx;        /* the device's copy of used->idx */
};

/* One buffer of a validated chain: a hypervisor pointer into the VM's RAM. */
struct virtq_seg {
    uint8_t *host;
    uint32_t len;
};

/* A validated descriptor chain: its nr_out device-readable buffers, then its nr_in writable. */
struct virtq_chain {
    uint16_t head;
    uint8_t nr_out, nr_in;
    uint64_t out_len, in_len; /* bytes readable, bytes writable */
    struct virtq_seg seg[VIRTQ_MAX_SEGS];
};

#define VIRTQ_ERR_LEN 120 /* a queue error's message, for the console line */

/* The driver made q ready: its tables (whose addresses and num the driver set) must lie in the
 * VM's RAM, aligned (16, 2, 4). Returns 0, or -1 with err set (the queue stays not ready). */
int virtq_enable(struct virtq *q, const struct vm_io *io, char err[VIRTQ_ERR_LEN]);
/* Forgets the queue's set-up and position: the driver's reset. */
void virtq_reset(struct virtq *q);
/* Takes the next available chain and validates all of it. Returns 1 with *c filled, 0 if the
 * driver made none available, -1 with err set if the ring or the chain breaks a rule (the
 * position does not move; the caller fails the device). */
int virtq_pop(struct virtq *q, const struct vm_io *io, struct virtq_chain *c,
              char err[VIRTQ_ERR_LEN]);
/* Copies up to len bytes of the chain's readable part from byte off of it. Returns the count. */
size_t virtq_read(const struct virtq_chain *c, uint64_t off, void *dst, size_t len);
/* Copies up to len bytes into the chain's writable part at byte off of it. Returns the count. */
size_t virtq_write(const struct virtq_chain *c, uint64_t off, const void *src, size_t len);
/* Gives chain head back to the driver, written bytes written into it. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t written);

/* ---- the transport (vdev/virtio_mmio.c) and its backends ---- */

#define VIRTIO_MAX_QUEUES 4
#define VIRTIO_BUDGET 64 /* chains a notify (or a resumption) serves per queue */

struct virtio_dev;

/* A device kind. Every function is called with the device's lock held. */
struct virtio_backend {
    const char *model; /* "virtio-blk": in the device's name and its messages */
    uint32_t device_id;
    uint64_t features; /* offered besides VIRTIO_F_VERSION_1 */
    unsigned nr_queues;
    /* The driver notified queue q (or the transport resumes it after a budget ran out): serve
     * at most VIRTIO_BUDGET chains with virtio_pop/virtio_push, and call virtio_more() if some
     * are left. Only called while the device is live. */
    void (*notify)(struct virtio_dev *vd, unsigned q);
    /* After a notify, or a resumption, of queue q was served, with the lock dropped: for work
     * that takes another lock a device may hold while it takes this one (typed input waiting
     * for new buffers; frames delivered into another VM's device). May be NULL. */
    void (*after_notify)(struct virtio_dev *vd, unsigned q);
    /* A driver's write to the configuration space (offset from VIRTIO_MMIO_CONFIG, size 1, 2
     * or 4). NULL: the space is read-only and writes are ignored. */
    void (*config_write)(struct virtio_dev *vd, uint32_t offset, unsigned size, uint32_t val);
    /* The driver reset the device, or the VM is reset: back to the state after creation (the
     * transport has reset its own registers and the queues already). May be NULL. */
    void (*reset)(struct virtio_dev *vd);
    /* The driver set DRIVER_OK: the device is live. May be NULL. */
    void (*driver_ok)(struct virtio_dev *vd);
};

/* The transport's state, first in every backend's state struct. */
struct virtio_dev {
    struct vdev dev;
    const struct vm_io *io;
    const struct virtio_backend *be;
    spinlock_t lock;
    struct vdev_irq irq;
    /* The configuration space: config_size bytes at config, in the backend's struct (set by the
     * backend after virtio_create; read little-endian by the driver). */
    const void *config;
    uint32_t config_size;
    uint32_t config_generation;
    /* Registers. */
    uint32_t status;
    uint32_t device_features_sel, driver_features_sel;
    uint64_t driver_features;
    uint32_t queue_sel;
    uint32_t interrupt_status;
    struct virtq queues[VIRTIO_MAX_QUEUES];
    uint32_t more; /* queues with chains left after a budget: served at the next access */
    bool failed;   /* DEVICE_NEEDS_RESET set: nothing served until the driver resets it */
    bool halted;   /* the VM stopped: guest memory is not touched until its reset */
};

/* Creates a virtio-mmio device in io: its registers at desc->reg[0] (VIRTIO_MMIO_SIZE), its
 * level interrupt on desc->spis[0], its state of size bytes (the backend's struct, starting with
 * struct virtio_dev), named "<be->model>@<base>". Returns the device, or NULL after printing
 * why. The device is registered before any vCPU runs; set config/config_size before that. */
struct virtio_dev *virtio_create(struct vm_io *io, const struct vdev_desc *desc, size_t size,
                                 const struct virtio_backend *be);

/* For backends, with the device's lock held. */
/* The driver set DRIVER_OK and the device neither failed nor was halted: guest memory may be
 * touched. */
bool virtio_live(const struct virtio_dev *vd);
/* The next chain of queue q (see virtq_pop): 1 with *c filled, 0 if none or the device is not
 * live, -1 if the driver broke a rule (the device has failed, reported). */
int virtio_pop(struct virtio_dev *vd, unsigned q, struct virtq_chain *c);
/* Hands chain c of queue q back with written bytes, and raises the used-buffer interrupt. */
void virtio_push(struct virtio_dev *vd, unsigned q, const struct virtq_chain *c, uint32_t written);
/* Queue q has chains left after a budget: serve them at the driver's next access. */
void virtio_more(struct virtio_dev *vd, unsigned q);
/* The configuration space changed: the generation moves and the config interrupt is raised. */
void virtio_config_changed(struct virtio_dev *vd);
/* Puts the device into DEVICE_NEEDS_RESET (and raises the config interrupt, as 2.1.2 asks) with
 * one console line: "bulkhead: <vm>: <device>: <reason>: device needs a reset". Anything the
 * driver (the guest) did wrong that the device cannot go on from ends here. */
void virtio_fail(struct virtio_dev *vd, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* For anyone else driving the device (typed console input, a switch delivering a frame). */
static inline void virtio_lock(struct virtio_dev *vd)
{
    spin_lock(&vd->lock);
}
static inline void virtio_unlock(struct virtio_dev *vd)
{
    spin_unlock(&vd->lock);
}

/* ---- what the device models are created with (struct vdev_desc's params) ---- */

/* virtio-blk (vdev/virtio_blk.c): the disk's image in hypervisor memory. Read-only: the boot
 * module itself; writable: the copy set aside for it, filled once at boot and kept across the
 * VM's resets. */
struct virtio_blk_params {
    uint8_t *image;
    uint64_t size; /* bytes; the capacity is size / 512 sectors */
    bool read_only;
};

/* The models. The guest sees each as "virtio,mmio"; these compatibles name them in the VM's
 * description and in vdev/vdev.c's table. */
extern const struct vdev_model virtio_blk_model;     /* "bulkhead,virtio-blk" */
extern const struct vdev_model virtio_console_model; /* "bulkhead,virtio-console" */

#endif
