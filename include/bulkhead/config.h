/*
 * The board and the VMs, as read once from the host device tree at boot. Nothing reads the FDT
 * after boot: these validated structs are the only description the rest of the hypervisor uses.
 * This file and config/ are pure C, compiled for the host too.
 */
#ifndef BULKHEAD_CONFIG_H
#define BULKHEAD_CONFIG_H

#include "types.h"
#include "virtio_config.h"

#define MAX_CPUS 8
#define MAX_VMS 8
#define MAX_VCPUS MAX_CPUS
#define MAX_RAM_BANKS 8
#define MAX_RESERVED 24
#define NAME_LEN 32
#define BOOTARGS_LEN 512

struct mem_range {
    uint64_t base;
    uint64_t size;
};

enum cpu_enable_method { CPU_ENABLE_NONE, CPU_ENABLE_PSCI, CPU_ENABLE_SPIN_TABLE };
enum psci_conduit { PSCI_CONDUIT_NONE, PSCI_CONDUIT_SMC, PSCI_CONDUIT_HVC };
enum gic_version { GIC_NONE = 0, GIC_V2 = 2, GIC_V3 = 3 };

struct board_cpu {
    uint64_t mpidr; /* the cpu node's reg: affinity fields only */
    enum cpu_enable_method enable_method;
    uint64_t release_addr; /* spin-table only */
};

struct board_gic {
    enum gic_version version;
    struct mem_range dist;   /* GICD */
    struct mem_range cpuif;  /* v2: GICC */
    struct mem_range hyp;    /* v2: GICH */
    struct mem_range vcpu;   /* v2: GICV */
    struct mem_range redist; /* v3: GICR region (one, covering all CPUs) */
    uint32_t maint_irq;      /* PPI number (0..15) from the DT, 16 added by the GIC code */
};

struct board_timer {
    uint32_t irq_sec_phys, irq_phys, irq_virt, irq_hyp; /* PPI numbers as in the DT */
    uint32_t freq;                                      /* clock-frequency, 0 if absent */
};

struct board_uart {
    struct mem_range regs;
    uint32_t spi;  /* interrupt as the DT gives it (SPI number), 0 if unknown */
    char path[64]; /* node path, for messages */
};

/* The board's SMMUv3 (arm,smmu-v3; config/pcie.c): the hypervisor's, never a VM's. Size 0: none. */
struct board_smmu {
    struct mem_range regs;
    uint32_t phandle;
    uint32_t event_spi, gerror_spi; /* SPI numbers as in the DT ("eventq", "gerror"), 0: none */
    /* The highest address of the devices behind it (a PCIe bridge's windows): stage 2 must
     * reach it for a VM to be given them. */
    uint64_t fronted_top;
    char path[64];
};

struct board {
    char model[64];
    struct mem_range ram[MAX_RAM_BANKS];
    unsigned nr_ram;
    /* Memory that must never be handed to a VM: /memreserve/, /reserved-memory, the host DTB
     * itself and every /chosen module. The hypervisor image is added by the caller. */
    struct mem_range reserved[MAX_RESERVED];
    unsigned nr_reserved;
    struct board_cpu cpus[MAX_CPUS];
    unsigned nr_cpus;
    enum psci_conduit psci;
    struct board_gic gic;
    struct board_timer timer;
    struct board_uart uart;
    /* The hypervisor's console when /chosen/stdout-path names the Pi's mini UART
     * (brcm,bcm2835-aux-uart) instead of a PL011; size 0: the console is `uart`, which stays the
     * PL011 that VMs see (emulated) either way. */
    struct board_uart aux_console;
    /* The UART of the gdb stub (docs/DEBUGGING.md), found when the bootargs ask for one
     * (bulkhead.gdb=): the first enabled PL011 that is not the console. Never passed to a VM. */
    struct board_uart gdb_uart;
    struct board_smmu smmu;
    char bootargs[BOOTARGS_LEN]; /* the hypervisor's own: /chosen/bootargs */
    /* The initramfs the boot loader left (/chosen linux,initrd-start/-end): a bundle of VMs
     * (include/bulkhead/bundle.h), reserved like a boot module. Size 0: none. */
    struct mem_range initrd;
};

struct vm_module {
    uint64_t base; /* physical address where firmware (or the guest-loader) left it */
    uint64_t size; /* 0: absent */
};

/* Passed-through devices (config/passthrough.c). Limits per VM. */
#define MAX_PT_DEVICES 8
#define MAX_PT_RANGES 12
#define MAX_PT_IRQS 12
#define PT_PATH_LEN 64

/* One page-granular window of a host device: host physical pa, seen by the VM at ipa. */
struct pt_range {
    uint64_t pa;
    uint64_t ipa;
    uint64_t size;
};

/* One physical SPI given to the VM, with the same INTID inside it. */
struct pt_irq {
    uint16_t intid;
    bool edge;
};

/* A passed-through device: where it was described and what of it the VM gets. */
struct pt_device {
    char path[PT_PATH_LEN]; /* the host node (ours) or the partial tree's node (Xen's) */
    int node;               /* its offset in that tree, for copying it into the guest's */
    uint8_t first_range, nr_ranges;
    uint8_t first_irq, nr_irqs;
    uint64_t ipa_shift; /* added to every address of the node's reg (an IPA override) */
    bool dma;           /* may master DMA (virtio, dma-coherent) */
    /* Its stream IDs at the board's SMMU (iommu-map, iommus): DMA translated by the VM's stage
     * 2. nr_sids 0: not behind it. */
    uint32_t sid_base, nr_sids;
};

struct vm_passthrough {
    struct pt_device devs[MAX_PT_DEVICES];
    unsigned nr_devs;
    struct pt_range ranges[MAX_PT_RANGES];
    unsigned nr_ranges;
    struct pt_irq irqs[MAX_PT_IRQS];
    unsigned nr_irqs;
    /* Xen's binding: the multiboot,device-tree module (a partial DTB), 0 if none. Its nodes
     * are offsets into it; ours are offsets into the host DTB. */
    uint64_t partial_fdt;
};

/* Memory shared between VMs (config/shmem.c, docs/CONFIG.md "Sharing memory between VMs"). */
#define MAX_SHM_REGIONS 8
#define MAX_VM_SHM 4  /* regions one VM maps */
#define SHM_ID_LEN 32 /* a region's id, NUL included */
#define SHM_MAX_MEMBERS MAX_VMS

/* One region as a VM maps it, with the VM's doorbell on the region's channel. */
struct shm_map {
    uint8_t region;        /* index in the struct shm_config it was parsed into */
    uint8_t member;        /* this VM's number on the channel: its doorbell's ID */
    bool ro;               /* mapped read-only: a write is reported and faulted */
    uint32_t members;      /* mask of the channel's member numbers */
    uint64_t ipa;          /* page-aligned */
    uint64_t size;         /* the region's size, a page multiple */
    uint64_t pa;           /* its host address (shm_place) */
    uint64_t doorbell_ipa; /* the doorbell's register page: right after the region */
    uint32_t doorbell_spi; /* its SPI (INTID - 32), a free one of the VM's */
    char id[SHM_ID_LEN];
};

struct vm_shm {
    struct shm_map maps[MAX_VM_SHM];
    unsigned nr;
};

/* What happens to a VM the hypervisor stops for what its guest did (a fault it cannot go on
 * from): `bulkhead,on-crash` (docs/CONFIG.md). */
enum vm_crash_policy {
    VM_ON_CRASH_STOP,          /* it stays stopped; the others run on */
    VM_ON_CRASH_RESTART,       /* restarted from its pristine images, up to restart_limit times */
    VM_ON_CRASH_RESET_MACHINE, /* the whole machine is reset through the firmware */
};
#define VM_DEFAULT_RESTART_LIMIT 3

/* An emulated SBSA generic watchdog (`bulkhead,watchdog`, config/watchdog.c): where the VM sees
 * its two frames (GWDT_SIZE bytes) and its WS0 SPI (INTID - 32). */
struct vm_watchdog {
    bool present;
    ipa_t ipa;
    uint32_t spi;
};

struct vm_config {
    char name[NAME_LEN];     /* "vm0", or the VM node's name */
    char node[NAME_LEN * 2]; /* DT path the VM came from, for messages */
    struct vm_module kernel;
    struct vm_module ramdisk;
    char bootargs[BOOTARGS_LEN];
    uint64_t mem_size; /* bytes, multiple of 2 MiB; 0: none given, layout_default_memory() */
    unsigned nr_vcpus;
    uint8_t pcpu[MAX_VCPUS]; /* physical CPU index (into board.cpus) each vCPU is pinned to */
    bool direct_map;         /* RAM at IPA == PA (Xen's direct-map): for DMA without an IOMMU */
    enum vm_crash_policy on_crash;
    unsigned restart_limit; /* restarts on_crash may make, over the hypervisor's life */
    /* What its watchdog's expiry does (`bulkhead,on-watchdog`); restarts count in
     * restart_limit too. */
    enum vm_crash_policy on_watchdog;
    /* What the guest's own SYSTEM_RESET (a reboot, Linux's panic=N) and SYSTEM_OFF do
     * (`bulkhead,on-reset`, restart by default; `bulkhead,on-poweroff`, stop by default). */
    enum vm_crash_policy on_reset, on_poweroff;
    struct vm_watchdog watchdog;
    bool monitor; /* bulkhead,monitor: may use the monitor's hypercalls */
    /* bulkhead,snapshot: RAM as large as the VM's is set aside at boot (snapshot_pa) to keep one
     * snapshot of it (el2/snapshot.c). */
    bool snapshot;
    uint64_t snapshot_pa;
    /* bulkhead,priority: on a CPU it shares under the priority policy, a runnable vCPU of a VM
     * with a higher number preempts one of a lower (SCHED_MAX_PRIORITY at most; 0 by default). */
    unsigned priority;
    struct vm_passthrough pt;
    struct vm_shm shm;       /* shared memory it maps (shm_parse) */
    struct vm_virtio virtio; /* its virtio devices (virtio_parse) */
};

/* Defaults the hypervisor's own bootargs can change: "bulkhead.vm-memory=256M
 * bulkhead.vm-cpus=1". Zero means "choose as described in config/vmconfig.c". */
struct vm_defaults {
    uint64_t mem_size;
    unsigned nr_vcpus;
    /* "bulkhead.selftest=panic": fault on purpose after boot, to check the panic report. */
    bool selftest_panic;
    /* "bulkhead.on-crash=stop|restart|reset-machine": for VMs whose node does not say. */
    enum vm_crash_policy on_crash;
    /* "bulkhead.gdb=<vm name>": the VM the gdb stub debugs (docs/DEBUGGING.md); "" for none. */
    char gdb_vm[NAME_LEN];
};

/*
 * How a physical CPU shared by several vCPUs shares its time (`bulkhead,schedule` nodes,
 * config/sched_config.c; the scheduler is el2/sched.c). A CPU with one vCPU switches nothing,
 * whatever its policy.
 */
#define SCHED_MAX_PRIORITY 255
#define SCHED_MAX_WINDOWS 16
#define SCHED_DEFAULT_SLICE_US 10000
enum sched_policy {
    SCHED_PRIORITY,  /* fixed priority, preemptive; round robin among equals, a slice each */
    SCHED_PARTITION, /* a time-partition table repeated every major frame */
};
struct sched_window {
    uint32_t start_us, len_us; /* from the start of the major frame */
    int vm;                    /* the VM that owns it (index in vms[]), or -1: idle */
};
struct cpu_schedule {
    enum sched_policy policy;
    uint32_t slice_us;   /* SCHED_PRIORITY */
    uint32_t frame_us;   /* SCHED_PARTITION: the major frame */
    unsigned nr_windows; /* sorted by start, not overlapping, inside the frame */
    struct sched_window windows[SCHED_MAX_WINDOWS];
};

/*
 * Reads /chosen's `bulkhead,schedule` nodes into out[] (one per board CPU; a CPU no node names
 * gets SCHED_PRIORITY with the default slice). vms[0..nr) are the VMs that will run, in vms[]
 * order: a window names one by phandle to its node (vms[i]->node). A node with an error (an
 * unknown policy, a CPU out of range or named twice, overlapping windows, a window of a VM with
 * no vCPU on that CPU, windows beyond the frame) is reported, naming it, and its CPUs keep the
 * default. Returns the number of nodes refused.
 */
int sched_parse(const void *fdt, const struct board *board, const struct vm_config *const *vms,
                unsigned nr, struct cpu_schedule out[MAX_CPUS]);

/*
 * Reads the board from the host FDT. Returns 0, or -1 after printing an error that names the
 * offending node. Missing optional parts (GIC, timer, PSCI) are left zero.
 */
int board_parse(const void *fdt, struct board *board);

/* The UART the hypervisor's console is on: the mini UART if stdout-path named it, else the
 * PL011 (size 0 if the board has none). Inline: every physical interrupt asks. */
static inline const struct board_uart *board_console(const struct board *board)
{
    return board->aux_console.regs.size ? &board->aux_console : &board->uart;
}

/* Parses "bulkhead.*" options out of the hypervisor's bootargs. Returns 0 or -1 (message printed).
 */
int vm_defaults_parse(const char *bootargs, struct vm_defaults *defaults);
/* "stop", "restart" or "reset-machine" (len bytes at s, no NUL needed). */
bool vm_crash_policy_parse(const char *s, size_t len, enum vm_crash_policy *out);

/*
 * What no boot module may overlap, besides having to lie in the board's RAM: the hypervisor's
 * whole footprint (its image from the first byte to __image_end, .bss and .noinit included) and
 * the host DTB. A size of 0: nothing there. See layout_check_module().
 */
struct module_limits {
    struct mem_range hyp;
    struct mem_range dtb;
};

/*
 * Reads the VMs from /chosen: explicit VM nodes (compatible "bulkhead,vm" or Xen's
 * "xen,domain") with their module children, and top-level "multiboot,kernel" modules, each of
 * which becomes one VM with defaults (a lone VM gets every CPU, several get one CPU each, in
 * order). A malformed VM node gets a message naming it and is skipped; the others are kept.
 * Memory sizes are not checked against free RAM here (see layout). Every module is checked before
 * anything reads it (layout_check_module() against the board's RAM and *limits, then against the
 * modules of the VMs before it): a VM with a bad one is reported and left out. Returns the number
 * of VMs.
 *
 * Order: explicit VM nodes first, in DT order, then the top-level kernel modules in the order they
 * were added to the tree, which is the reverse of DT order: QEMU's guest-loader (and U-Boot's
 * `fdt mknode`) insert each new node as the first child of /chosen. So `-device guest-loader`
 * number N on QEMU's command line becomes VM N, and a top-level "multiboot,ramdisk" belongs to the
 * kernel added just before it (the one that follows it in DT order). With a single top-level
 * kernel, a ramdisk belongs to it wherever it is. An implicit VM's mem_size is 0 unless
 * bulkhead.vm-memory says otherwise: layout_default_memory() then shares out the free RAM.
 * Full binding: docs/CONFIG.md.
 */
unsigned vmcfg_parse(const void *fdt, const struct board *board, const struct vm_defaults *defaults,
                     const struct module_limits *limits, struct vm_config vms[MAX_VMS]);

#endif
