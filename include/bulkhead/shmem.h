/*
 * Memory shared between VMs and the doorbells of its channel (config/shmem.c, vdev/doorbell.c).
 * Pure C, host-tested. Binding: docs/CONFIG.md, "Sharing memory between VMs".
 *
 * A region is named once by its id: a "bulkhead,shared-memory" node under /chosen (a size, or a
 * fixed host range), or Xen's "xen,domain-shared-memory-v1" children of VM nodes (a fixed host
 * range, Xen 4.17/4.18's <paddr gaddr size>). Each VM that maps it is a member of its channel,
 * numbered in VM order from 0: that number is its doorbell's ID, and the bit it is rung by.
 */
#ifndef BULKHEAD_SHMEM_H
#define BULKHEAD_SHMEM_H

#include "config.h"
#include "layout.h"

/* The doorbell's register page (one per member VM and channel). Its first 2 KiB are a PL061
 * GPIO controller whose input line N is PENDING bit N (vdev/doorbell.c); the doorbell's own
 * registers follow. */
#define SHM_DOORBELL_SIZE 0x1000
#define SHM_DB_ID 0x800      /* RO: my member number */
#define SHM_DB_MEMBERS 0x804 /* RO: mask of the channel's members */
#define SHM_DB_RING 0x808 /* WO: mask of members to ring (refused whole if one is not a member) */
#define SHM_DB_PENDING 0x80c /* RO: mask of who rang me; write 1s to clear (ACK) */
#define SHM_DB_REFUSED 0x810 /* RO: rings refused since the VM started */
#define SHM_DB_MAGIC 0x814   /* RO: SHM_DB_MAGIC_VALUE */
#define SHM_DB_LIVE 0x818    /* RO: mask of the members whose VM runs (a reset keeps it running) */
#define SHM_DB_MAGIC_VALUE 0x42484442u /* "BHDB" */
/* The PL061's registers (ARM DDI 0190): GPIODATA is 0x000-0x3fc, address bits [9:2] a mask. */
#define PL061_DIR 0x400
#define PL061_IS 0x404
#define PL061_IBE 0x408
#define PL061_IEV 0x40c
#define PL061_IE 0x410
#define PL061_RIS 0x414
#define PL061_MIS 0x418
#define PL061_IC 0x41c
#define PL061_AFSEL 0x420
#define PL061_ID 0xfe0 /* PeriphID0-3, PCellID0-3 */
/* Doorbell SPIs are taken from this one down, skipping those the VM has already. */
#define SHM_DOORBELL_SPI_TOP 95

struct shm_region {
    char id[SHM_ID_LEN];
    char node[NAME_LEN * 2]; /* the node that first described it, for messages */
    uint64_t size;
    uint64_t pa; /* fixed, or given by shm_place(); 0 until then */
    bool fixed;
    bool placed;
    bool has_owner; /* Xen's role = "owner" seen */
    unsigned nr_members;
};

struct shm_config {
    struct shm_region regions[MAX_SHM_REGIONS];
    unsigned nr;
};

/* What a doorbell device is created with (struct vdev_desc's params). */
struct shm_doorbell_params {
    unsigned channel; /* the region's index */
    unsigned member;
    uint32_t members;
    unsigned index; /* the map's index in its VM's struct vm_shm: the hypercall's channel */
};

/*
 * Reads the regions named under /chosen and each VM's maps (children of its node, both
 * bindings), and checks them: sizes and addresses page multiples, one size (and one fixed host
 * range) per id, a fixed range inside RAM and clear of the hypervisor, its DTB and reserved
 * memory (limits may be NULL), each map clear of the VM's RAM, its devices and its other maps.
 * A VM with a wrong map is reported (naming the node) and dropped from vms[], the others moved
 * down. Then numbers the members, picks each doorbell's SPI and page. Returns the VMs kept.
 */
/* The VM's device windows (its GIC frames, the console UART, what it passes through, its
 * watchdog, its virtio devices) into out (at most max); returns how many. No shared region may
 * overlap them. */
unsigned shm_vm_devices(const struct board *board, const struct vm_config *vm,
                        struct mem_range *out, unsigned max);

/* SPI spi is the VM's already: the console UART's, one it passes through, its watchdog's, a
 * virtio device's, or the doorbell of one of its first nr_maps maps. */
bool shm_spi_taken(const struct board *board, const struct vm_config *vm, unsigned nr_maps,
                   uint32_t spi);

unsigned shm_parse(const void *fdt, const struct board *board, const struct module_limits *limits,
                   struct vm_config *vms, unsigned nr_vms, struct shm_config *shm);

/* The fixed host ranges, for ram_pool_init()'s extra ranges (none of them goes to a VM).
 * Returns how many were written (at most max). */
unsigned shm_fixed_ranges(const struct shm_config *shm, struct mem_range *out, unsigned max);

/* Gives each sized region host RAM from the pool, then each VM's maps their host address.
 * Call before the VMs' RAM is allocated. A region that gets none is reported: the VMs that map
 * it fail shm_vm_ready(). */
void shm_place(struct shm_config *shm, struct ram_pool *pool, struct vm_config *vms,
               unsigned nr_vms);

/* Do all of vm's regions have host memory? */
bool shm_vm_ready(const struct shm_config *shm, const struct vm_config *vm);

/* Do vm's maps (with their doorbell pages) miss its RAM [ram_ipa, ram_ipa + ram_size)? False
 * after naming the VM node and the region. */
bool shm_check_ram(const struct vm_config *vm, uint64_t ram_ipa, uint64_t ram_size);

/*
 * The hypercall form of the doorbell (BH_HVC_DOORBELL_*), for the VM of io: index is the
 * region's place among the VM's maps (0 for its first). Ring: 0, PSCI_RET_INVALID_PARAMS (no
 * such doorbell) or PSCI_RET_DENIED (a member of mask is not on the channel: nothing rung).
 * Ack: the pending mask, now cleared, or PSCI_RET_INVALID_PARAMS.
 */
struct vm_io;
int64_t doorbell_hvc_ring(const struct vm_io *io, uint64_t index, uint64_t mask);
int64_t doorbell_hvc_ack(const struct vm_io *io, uint64_t index);

#endif
