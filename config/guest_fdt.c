/*
 * A VM's device tree, written from scratch with libfdt's sequential-write API: only what the VM
 * really has (its RAM, its vCPUs, the virtual GIC and timer, the PL011), never a copy of the
 * host's tree, so nothing of the host leaks in and nothing is there that the VM cannot use.
 */
#include <libfdt.h>

#include "bulkhead/fdt_read.h"
#include "bulkhead/guest_fdt.h"
#include "bulkhead/passthrough.h"
#include "bulkhead/printk.h"
#include "bulkhead/sbsa_gwdt.h"
#include "bulkhead/shmem.h"
#include "bulkhead/string.h"
#include "bulkhead/virtio.h"
#include "bulkhead/vpl011.h"
#include "fdt_writer.h"

/* Xen's phandle for the guest GIC, which partial device trees written for Xen refer to; and one
 * beside it that host phandles (QEMU's start at 0x8000) do not reach. */
#define PHANDLE_APB_PCLK (PT_GUEST_GIC_PHANDLE + 1)
#define APB_PCLK_HZ 24000000
#define APB_PCLK "apb-pclk"
#define GICV2_DIST_SIZE 0x1000
#define GICV2_CPUIF_SIZE 0x2000
#define GICV3_DIST_SIZE 0x10000
#define GICV3_REDIST_STRIDE 0x20000 /* RD_base + SGI_base frames per vCPU */
#define IRQ_TYPE_SPI 0
#define IRQ_TYPE_PPI 1
#define IRQ_LEVEL_HIGH 4
#define NODE_NAME_LEN 48

/* PSCI 0.2 function IDs, for guests that only know the "arm,psci" (0.1) binding. */
#define PSCI_FN_CPU_SUSPEND 0xc4000001u
#define PSCI_FN_CPU_OFF 0x84000002u
#define PSCI_FN_CPU_ON 0xc4000003u
#define PSCI_FN_MIGRATE 0xc4000005u

static void write_root_props(struct writer *w, const struct board *board, uint32_t gic_phandle)
{
    prop_u32(w, "#address-cells", 2);
    prop_u32(w, "#size-cells", 2);
    prop_string(w, "compatible", "linux,dummy-virt");
    prop_string(w, "model", "Bulkhead VM");
    if (board->gic.version != GIC_NONE) {
        prop_u32(w, "interrupt-parent", gic_phandle);
    }
}

static void write_memory(struct writer *w, const char *name, const struct vm_layout *layout)
{
    struct mem_range ram = {layout->ram_ipa, layout->ram_size};

    begin(w, name);
    prop_string(w, "device_type", "memory");
    prop_reg(w, &ram, 1);
    end(w);
}

static void write_cpus(struct writer *w, const struct vm_config *vm)
{
    begin(w, "cpus");
    prop_u32(w, "#address-cells", 1);
    prop_u32(w, "#size-cells", 0);
    for (unsigned i = 0; i < vm->nr_vcpus; i++) {
        char name[NODE_NAME_LEN];
        snprintf(name, sizeof(name), "cpu@%u", i);
        begin(w, name);
        prop_string(w, "device_type", "cpu");
        prop_string(w, "compatible", "arm,armv8");
        prop_u32(w, "reg", i);
        prop_string(w, "enable-method", "psci");
        end(w);
    }
    end(w);
}

static void write_psci(struct writer *w)
{
    begin(w, "psci");
    PROP_STRINGS(w, "compatible", "arm,psci-1.0\0arm,psci-0.2\0arm,psci");
    prop_string(w, "method", "hvc");
    prop_u32(w, "cpu_suspend", PSCI_FN_CPU_SUSPEND);
    prop_u32(w, "cpu_off", PSCI_FN_CPU_OFF);
    prop_u32(w, "cpu_on", PSCI_FN_CPU_ON);
    prop_u32(w, "migrate", PSCI_FN_MIGRATE);
    end(w);
}

static void write_gic(struct writer *w, const char *name, const struct board *board,
                      const struct vm_config *vm, uint32_t phandle)
{
    const struct board_gic *gic = &board->gic;

    begin(w, name);
    if (gic->version == GIC_V3) {
        struct mem_range regs[] = {
            {gic->dist.base, GICV3_DIST_SIZE},
            {gic->redist.base, (uint64_t)GICV3_REDIST_STRIDE * vm->nr_vcpus},
        };
        prop_string(w, "compatible", "arm,gic-v3");
        prop_reg(w, regs, ARRAY_SIZE(regs));
        prop_u32(w, "#redistributor-regions", 1);
    } else {
        /* The hypervisor maps the GICV frame where the board's GICC is: the guest sees a GICC. */
        struct mem_range regs[] = {
            {gic->dist.base, GICV2_DIST_SIZE},
            {gic->cpuif.base, GICV2_CPUIF_SIZE},
        };
        prop_string(w, "compatible", "arm,cortex-a15-gic");
        prop_reg(w, regs, ARRAY_SIZE(regs));
    }
    prop_u32(w, "#interrupt-cells", 3);
    prop_u32(w, "#address-cells", 0);
    prop_empty(w, "interrupt-controller");
    prop_u32(w, "phandle", phandle);
    end(w);
}

static void write_timer(struct writer *w, const struct board *board, const struct vm_config *vm)
{
    const struct board_timer *t = &board->timer;
    uint32_t flags = IRQ_LEVEL_HIGH;

    if (board->gic.version == GIC_V2) {
        /* GICv2 PPI specifiers carry the mask of the CPUs the PPI is wired to. */
        flags |= (uint32_t)((BIT(vm->nr_vcpus) - 1) << 8);
    }
    uint32_t irqs[] = {
        IRQ_TYPE_PPI, t->irq_sec_phys, flags, IRQ_TYPE_PPI, t->irq_phys, flags,
        IRQ_TYPE_PPI, t->irq_virt,     flags, IRQ_TYPE_PPI, t->irq_hyp,  flags,
    };
    begin(w, "timer");
    prop_string(w, "compatible", "arm,armv8-timer");
    prop_cells(w, "interrupts", irqs, ARRAY_SIZE(irqs));
    if (t->freq) {
        prop_u32(w, "clock-frequency", t->freq);
    }
    prop_empty(w, "always-on");
    end(w);
}

static void write_uart(struct writer *w, const struct board *board, const char *name)
{
    static const uint32_t clocks[] = {PHANDLE_APB_PCLK, PHANDLE_APB_PCLK};

    begin(w, APB_PCLK);
    prop_string(w, "compatible", "fixed-clock");
    prop_u32(w, "#clock-cells", 0);
    prop_u32(w, "clock-frequency", APB_PCLK_HZ);
    /* Not QEMU's "clk24mhz": a clock copied from the host for a passed-through device keeps
     * that name, and Linux registers no two clocks of one name. */
    prop_string(w, "clock-output-names", "bulkhead-apb-pclk");
    prop_u32(w, "phandle", PHANDLE_APB_PCLK);
    end(w);

    /* The model's whole 4 KiB frame, not the board's reg (0x200 on the BCM2711): Linux's AMBA
     * bus reads the PrimeCell ID at the frame's end and binds no driver without it. */
    const struct mem_range frame = {board->uart.regs.base, VPL011_SIZE};

    begin(w, name);
    PROP_STRINGS(w, "compatible", "arm,pl011\0arm,primecell");
    prop_reg(w, &frame, 1);
    if (board->uart.spi && board->gic.version != GIC_NONE) {
        uint32_t irq[] = {IRQ_TYPE_SPI, board->uart.spi, IRQ_LEVEL_HIGH};
        prop_cells(w, "interrupts", irq, ARRAY_SIZE(irq));
    }
    prop_cells(w, "clocks", clocks, ARRAY_SIZE(clocks));
    PROP_STRINGS(w, "clock-names", "uartclk\0apb_pclk");
    end(w);
}

/* Each shared region as Linux's reserved-memory binding has it (Xen's xen,shared-memory-v1
 * node, with our compatible beside it): no-map, so the kernel neither allocates nor maps it as
 * RAM, and /dev/mem may map it (it is not System RAM). */
static void write_shared_memory(struct writer *w, const struct vm_config *vm)
{
    char name[NODE_NAME_LEN];

    if (!vm->shm.nr) {
        return;
    }
    begin(w, "reserved-memory");
    prop_u32(w, "#address-cells", 2);
    prop_u32(w, "#size-cells", 2);
    prop_empty(w, "ranges");
    for (unsigned i = 0; i < vm->shm.nr; i++) {
        const struct shm_map *m = &vm->shm.maps[i];
        struct mem_range reg = {m->ipa, m->size};
        snprintf(name, sizeof(name), "shm@%lx", m->ipa);
        begin(w, name);
        PROP_STRINGS(w, "compatible", "xen,shared-memory-v1\0bulkhead,shared-memory-v1");
        prop_reg(w, &reg, 1);
        prop_empty(w, "no-map");
        prop_string(w, "xen,id", m->id);
        prop_string(w, "bulkhead,access", m->ro ? "ro" : "rw");
        end(w);
    }
    end(w);
}

/* The doorbell of each region: its register page and level SPI (include/bulkhead/shmem.h). */
static void write_doorbells(struct writer *w, const struct vm_config *vm, bool has_gic,
                            bool has_clock)
{
    static const uint32_t clocks[] = {PHANDLE_APB_PCLK};

    char name[NODE_NAME_LEN];

    for (unsigned i = 0; i < vm->shm.nr; i++) {
        const struct shm_map *m = &vm->shm.maps[i];
        struct mem_range reg = {m->doorbell_ipa, SHM_DOORBELL_SIZE};
        snprintf(name, sizeof(name), "doorbell@%lx", m->doorbell_ipa);
        begin(w, name);
        /* Also a PL061 (vdev/doorbell.c), for Linux's stock driver: line N is member N. */
        PROP_STRINGS(w, "compatible", "bulkhead,doorbell\0arm,pl061\0arm,primecell");
        prop_reg(w, &reg, 1);
        if (has_gic) {
            uint32_t irq[] = {IRQ_TYPE_SPI, m->doorbell_spi, IRQ_LEVEL_HIGH};
            prop_cells(w, "interrupts", irq, ARRAY_SIZE(irq));
            prop_empty(w, "interrupt-controller");
            prop_u32(w, "#interrupt-cells", 2);
        }
        prop_empty(w, "gpio-controller");
        prop_u32(w, "#gpio-cells", 2);
        if (has_clock) {
            prop_cells(w, "clocks", clocks, ARRAY_SIZE(clocks));
            prop_string(w, "clock-names", "apb_pclk");
        }
        prop_string(w, "bulkhead,shm-id", m->id);
        prop_u32(w, "bulkhead,member", m->member);
        prop_u32(w, "bulkhead,members", m->members);
        prop_u32(w, "bulkhead,index", i);
        end(w);
    }
}

/* Its SBSA generic watchdog (vdev/sbsa_gwdt.c): the control frame, then the refresh frame, and
 * WS0's level SPI, as Linux's sbsa_gwdt driver reads them. */
static void write_watchdog(struct writer *w, const struct vm_config *vm)
{
    const struct vm_watchdog *wd = &vm->watchdog;
    struct mem_range reg[] = {{wd->ipa, GWDT_FRAME_SIZE},
                              {wd->ipa + GWDT_FRAME_SIZE, GWDT_FRAME_SIZE}};
    uint32_t irq[] = {IRQ_TYPE_SPI, wd->spi, IRQ_LEVEL_HIGH};
    char name[NODE_NAME_LEN];

    if (!wd->present) {
        return;
    }
    snprintf(name, sizeof(name), "watchdog@%lx", wd->ipa);
    begin(w, name);
    prop_string(w, "compatible", "arm,sbsa-gwdt");
    prop_reg(w, reg, ARRAY_SIZE(reg));
    prop_cells(w, "interrupts", irq, ARRAY_SIZE(irq));
    end(w);
}

/* Its virtio devices (config/virtio.c placed them): Linux's virtio_mmio driver binds each and
 * finds the kind in its DeviceID register. dma-coherent: the device is the hypervisor, whose
 * accesses are cacheable. */
static void write_virtio(struct writer *w, const struct vm_config *vm)
{
    char name[NODE_NAME_LEN];

    for (unsigned i = 0; i < vm->virtio.nr; i++) {
        const struct vm_virtio_dev *d = &vm->virtio.devs[i];
        struct mem_range reg = {d->ipa, VIRTIO_MMIO_SIZE};
        uint32_t irq[] = {IRQ_TYPE_SPI, d->spi, IRQ_LEVEL_HIGH};
        snprintf(name, sizeof(name), "virtio_mmio@%lx", d->ipa);
        begin(w, name);
        prop_string(w, "compatible", "virtio,mmio");
        prop_reg(w, &reg, 1);
        prop_cells(w, "interrupts", irq, ARRAY_SIZE(irq));
        prop_empty(w, "dma-coherent");
        end(w);
    }
}

static void write_chosen(struct writer *w, const struct vm_config *vm,
                         const struct vm_layout *layout, const char *stdout_path)
{
    begin(w, "chosen");
    prop_string(w, "bootargs", vm->bootargs);
    /* Patched at each (re)start: how many times this VM was reset (guest_fdt_boot_count_at). */
    prop_u32(w, GUEST_FDT_BOOT_COUNT, 0);
    /* Also patched at each start, as firmware gives Linux a fresh seed at each boot. */
    prop_u64(w, "kaslr-seed", 0);
    if (stdout_path) {
        prop_string(w, "stdout-path", stdout_path);
    }
    if (layout->initrd_size) {
        prop_u64(w, "linux,initrd-start", layout->initrd_ipa);
        prop_u64(w, "linux,initrd-end", layout->initrd_ipa + layout->initrd_size);
    }
    end(w);
}

static void write_aliases(struct writer *w, const void *host, const struct vm_config *vm,
                          const char *stdout_path, const char *const *own_nodes,
                          unsigned nr_own_nodes)
{
    static const char *const own[] = {"serial0"};

    if (!stdout_path && !guest_fdt_has_aliases(host, vm)) {
        return;
    }
    begin(w, "aliases");
    if (stdout_path) {
        prop_string(w, "serial0", stdout_path);
    }
    guest_fdt_write_aliases(w, host, vm, own, stdout_path ? 1 : 0, own_nodes, nr_own_nodes);
    end(w);
}

int guest_fdt_build(void *buf, size_t size, const struct board *board, const struct vm_config *vm,
                    const struct vm_layout *layout, const void *host)
{
    struct writer w = {buf, 0};
    char uart[NODE_NAME_LEN], uart_path[NODE_NAME_LEN + 1], memory[NODE_NAME_LEN],
        gic[NODE_NAME_LEN];
    bool has_uart = board->uart.regs.size != 0;
    bool has_timer = board->timer.irq_phys || board->timer.irq_virt;
    uint32_t gic_phandle = vm->pt.partial_fdt
                               ? pt_partial_gic_phandle((const void *)(uintptr_t)vm->pt.partial_fdt)
                               : PT_GUEST_GIC_PHANDLE;

    /* Without looking each property's name up in the strings written so far (a search of them
     * all for each property, most of the tree's writing): a few hundred bytes more. */
    w.err = fdt_create_with_flags(buf, (int)MIN(size, (size_t)INT32_MAX),
                                  FDT_CREATE_FLAG_NO_NAME_DEDUP);
    if (!w.err) {
        w.err = fdt_finish_reservemap(buf);
    }
    snprintf(uart, sizeof(uart), "pl011@%lx", board->uart.regs.base);
    snprintf(uart_path, sizeof(uart_path), "/%s", uart);
    snprintf(memory, sizeof(memory), "memory@%lx", layout->ram_ipa);
    snprintf(gic, sizeof(gic), "intc@%lx", board->gic.dist.base);
    const char *const own_nodes[] = {memory, "cpus",   "psci",   gic,       "timer",
                                     uart,   APB_PCLK, "chosen", "aliases", "reserved-memory"};

    begin(&w, "");
    write_root_props(&w, board, gic_phandle);
    write_memory(&w, memory, layout);
    write_cpus(&w, vm);
    write_psci(&w);
    if (board->gic.version != GIC_NONE) {
        write_gic(&w, gic, board, vm, gic_phandle);
    }
    if (has_timer) {
        write_timer(&w, board, vm);
    }
    if (has_uart) {
        write_uart(&w, board, uart);
    }
    if (!w.err && guest_fdt_write_passthrough(&w, host, board, vm, gic_phandle, PHANDLE_APB_PCLK,
                                              own_nodes, ARRAY_SIZE(own_nodes)) != 0) {
        return -1;
    }
    write_shared_memory(&w, vm);
    write_doorbells(&w, vm, board->gic.version != GIC_NONE, has_uart);
    write_watchdog(&w, vm);
    write_virtio(&w, vm);
    write_chosen(&w, vm, layout, has_uart ? uart_path : NULL);
    write_aliases(&w, host, vm, has_uart ? uart_path : NULL, own_nodes, ARRAY_SIZE(own_nodes));
    end(&w);
    if (!w.err) {
        w.err = fdt_finish(buf);
    }
    return w.err ? -1 : 0;
}

long guest_fdt_chosen_prop_at(const void *fdt, const char *name, int len)
{
    int node = config_chosen(fdt);
    int found = 0;
    const void *val = node < 0 ? NULL : fdt_getprop(fdt, node, name, &found);

    if (!val || found != len) {
        return -1;
    }
    return (long)((const char *)val - (const char *)fdt);
}

long guest_fdt_boot_count_at(const void *fdt)
{
    return guest_fdt_chosen_prop_at(fdt, GUEST_FDT_BOOT_COUNT, 4);
}
