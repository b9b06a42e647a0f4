/*
 * The board, read once from the host DTB at boot. Everything the rest of the hypervisor needs is
 * copied into struct board here, so that nothing has to walk the FDT later. A malformed property
 * is reported naming its node; only what the hypervisor cannot run without (a sane header, some
 * RAM, some CPUs, an intact list of reserved memory) fails the whole parse.
 */
#include <libfdt.h>
#include <stdarg.h>

#include "arch/mpidr.h"
#include "bulkhead/bcm2835_aux_uart.h"
#include "bulkhead/config.h"
#include "bulkhead/fdt_read.h"
#include "bulkhead/pcie.h"
#include "bulkhead/printk.h"
#include "bulkhead/string.h"

#define GIC_MAX_REGS 16
#define NR_PPIS 16
#define NR_TIMER_IRQS 4

static int read_ppi(const void *fdt, int node, int index, uint32_t *ppi)
{
    uint32_t type, num;

    if (config_read_irq(fdt, node, index, &type, &num) < 0) {
        return -1;
    }
    if (type != INTR_TYPE_PPI || num >= NR_PPIS) {
        config_node_err(fdt, node, "interrupt %d is <%u %u ...>, not a PPI", index, type, num);
        return -1;
    }
    *ppi = num;
    return 0;
}

/* The first enabled node compatible with compats[i], for the smallest i that has one (its index
 * in *which, if not NULL), or -1: a GICv3 is preferred wherever it is in the tree. */
static int find_compatible_which(const void *fdt, const char *const *compats, unsigned n,
                                 unsigned *which)
{
    unsigned i = 0;
    int node = -1;

    for (; i < n && node < 0; i++) {
        for (node = config_next_compatible(fdt, -1, compats[i]);
             node >= 0 && !config_node_enabled(fdt, node);
             node = config_next_compatible(fdt, node, compats[i])) {
        }
    }
    if (which) {
        *which = node >= 0 ? i - 1 : n;
    }
    return node >= 0 ? node : -1;
}

static int find_compatible(const void *fdt, const char *const *compats, unsigned n)
{
    return find_compatible_which(fdt, compats, n, NULL);
}

static bool range_wraps(const struct mem_range *r)
{
    return r->size && r->size - 1 > UINT64_MAX - r->base;
}

/* ---- Memory ---- */

static void add_ram(struct board *board, const void *fdt, int node, struct mem_range r)
{
    if (board->nr_ram == MAX_RAM_BANKS) {
        config_node_err(fdt, node, "more than %d RAM banks: 0x%lx+0x%lx is not used", MAX_RAM_BANKS,
                        r.base, r.size);
        return;
    }
    /* Insertion sort: ram[0] is the lowest bank, which is where every VM's RAM starts. */
    unsigned i = board->nr_ram++;
    for (; i > 0 && board->ram[i - 1].base > r.base; i--) {
        board->ram[i] = board->ram[i - 1];
    }
    board->ram[i] = r;
}

static bool is_memory_node(const void *fdt, int node)
{
    int len;
    const char *type = config_getprop(fdt, node, "device_type", &len);
    const char *name = config_node_name(fdt, node);

    if (type) {
        return len == 7 && memcmp(type, "memory", 7) == 0;
    }
    /* Some old trees have no device_type on their memory nodes. */
    return name && (strcmp(name, "memory") == 0 || strncmp(name, "memory@", 7) == 0);
}

static int parse_memory(const void *fdt, struct board *board)
{
    int node;

    config_for_each_child(node, fdt, 0)
    {
        struct mem_range banks[MAX_RAM_BANKS];

        if (!is_memory_node(fdt, node) || !config_node_enabled(fdt, node)) {
            continue;
        }
        int n = config_read_reg(fdt, node, banks, MAX_RAM_BANKS);
        if (n == 0) {
            config_node_err(fdt, node, "memory node without reg");
        }
        if (n > MAX_RAM_BANKS) {
            config_node_err(fdt, node, "%d banks: only the first %d are used", n, MAX_RAM_BANKS);
            n = MAX_RAM_BANKS;
        }
        for (int i = 0; i < n; i++) {
            if (banks[i].size) {
                add_ram(board, fdt, node, banks[i]);
            }
        }
    }
    if (board->nr_ram == 0) {
        pr_err("host DTB: no usable /memory node\n");
        return -1;
    }
    return 0;
}

/* ---- Reserved memory ---- */

static int add_reserved(struct board *board, uint64_t base, uint64_t size, const char *what)
{
    if (size == 0) {
        return 0;
    }
    if (board->nr_reserved == MAX_RESERVED) {
        /* Dropping one would let a VM overwrite it: better not to start at all. */
        pr_err("more than %d reserved ranges: cannot keep 0x%lx+0x%lx (%s) away from VMs\n",
               MAX_RESERVED, base, size, what);
        return -1;
    }
    board->reserved[board->nr_reserved].base = base;
    board->reserved[board->nr_reserved].size = size;
    board->nr_reserved++;
    return 0;
}

static int parse_memreserve(const void *fdt, struct board *board)
{
    int n = fdt_num_mem_rsv(fdt);

    if (n < 0) {
        pr_err("host DTB: bad /memreserve/ block (%s)\n", fdt_strerror(n));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        struct mem_range r;
        if (fdt_get_mem_rsv(fdt, i, &r.base, &r.size) < 0 || range_wraps(&r)) {
            pr_err("host DTB: bad /memreserve/ entry %d\n", i);
            return -1;
        }
        if (add_reserved(board, r.base, r.size, "/memreserve/") < 0) {
            return -1;
        }
    }
    return 0;
}

static int parse_reserved_memory(const void *fdt, struct board *board)
{
    int parent = config_node_offset(fdt, "/reserved-memory");
    int node;

    if (parent < 0) {
        return 0;
    }
    config_for_each_child(node, fdt, parent)
    {
        struct mem_range regs[MAX_RESERVED];

        if (!config_node_enabled(fdt, node)) {
            continue;
        }
        /* Without reg it is a size for the OS to allocate (e.g. linux,cma): nothing fixed. */
        int n = config_read_reg(fdt, node, regs, MAX_RESERVED);
        if (n < 0) {
            /* We cannot tell what it protects: refuse rather than hand it to a VM. */
            return -1;
        }
        for (int i = 0; i < n; i++) {
            if (i >= MAX_RESERVED ||
                add_reserved(board, regs[i].base, regs[i].size, "reserved-memory") < 0) {
                config_node_err(fdt, node, "too many reserved ranges");
                return -1;
            }
        }
    }
    return 0;
}

/* Boot modules sit in RAM where firmware or QEMU left them: no VM may be given that RAM. */
static int parse_modules(const void *fdt, struct board *board)
{
    int chosen = config_chosen(fdt);
    int depth = 0;

    if (chosen < 0) {
        return 0;
    }
    for (int node = fdt_next_node(fdt, chosen, &depth); node >= 0 && depth > 0;
         node = fdt_next_node(fdt, node, &depth)) {
        struct vm_module m;

        if (!config_is_module(fdt, node)) {
            continue;
        }
        /* Without a valid reg there is nothing to protect, and vmcfg_parse skips the VM that
         * needed the module (the message about the malformed reg is already out). */
        if (config_module_reg(fdt, node, &m) <= 0) {
            continue;
        }
        if (add_reserved(board, m.base, m.size, "boot module") < 0) {
            config_node_err(fdt, node, "module cannot be reserved");
            return -1;
        }
    }
    return 0;
}

/* The initramfs holds the VMs' files when it is a bundle: no VM may be given its RAM either.
 * A malformed range is named and ignored (the bundle, if any, is then not read). */
static int parse_initrd(const void *fdt, struct board *board)
{
    int chosen = config_chosen(fdt);
    uint64_t start, end;

    if (chosen < 0) {
        return 0;
    }
    int rs = config_read_u64(fdt, chosen, "linux,initrd-start", &start);
    int re = config_read_u64(fdt, chosen, "linux,initrd-end", &end);
    if (rs == 0 && re == 0) {
        return 0;
    }
    if (rs <= 0 || re <= 0 || end <= start) {
        config_node_err(fdt, chosen, "linux,initrd-start/-end do not give a range: initrd ignored");
        return 0;
    }
    board->initrd.base = start;
    board->initrd.size = end - start;
    return add_reserved(board, start, end - start, "initrd");
}

static int parse_reserved(const void *fdt, struct board *board)
{
    if (parse_memreserve(fdt, board) < 0 || parse_reserved_memory(fdt, board) < 0 ||
        parse_initrd(fdt, board) < 0) {
        return -1;
    }
    if (add_reserved(board, (uintptr_t)fdt, fdt_totalsize(fdt), "host DTB") < 0) {
        return -1;
    }
    return parse_modules(fdt, board);
}

/* ---- CPUs and PSCI ---- */

static bool is_cpu_node(const void *fdt, int node)
{
    int len;
    const char *type = config_getprop(fdt, node, "device_type", &len);
    const char *name = config_node_name(fdt, node);

    if (type) {
        return len == 4 && memcmp(type, "cpu", 4) == 0;
    }
    /* Some old trees have no device_type on their cpu nodes. */
    return name && strncmp(name, "cpu@", 4) == 0;
}

static void parse_enable_method(const void *fdt, int node, struct board_cpu *cpu)
{
    const char *method = config_get_string(fdt, node, "enable-method");
    uint64_t addr;

    cpu->enable_method = CPU_ENABLE_NONE;
    if (!method) {
        return; /* typically the boot CPU, which needs no enabling */
    }
    if (strcmp(method, "psci") == 0) {
        cpu->enable_method = CPU_ENABLE_PSCI;
    } else if (strcmp(method, "spin-table") == 0) {
        int r = config_read_u64(fdt, node, "cpu-release-addr", &addr);
        if (r == 0) {
            config_node_err(fdt, node, "spin-table without cpu-release-addr");
        }
        if (r > 0) {
            cpu->enable_method = CPU_ENABLE_SPIN_TABLE;
            cpu->release_addr = addr;
        }
    } else {
        config_node_err(fdt, node, "unsupported enable-method \"%s\"", method);
    }
}

static bool mpidr_known(const struct board *board, uint64_t mpidr)
{
    for (unsigned i = 0; i < board->nr_cpus; i++) {
        if (board->cpus[i].mpidr == mpidr) {
            return true;
        }
    }
    return false;
}

static void parse_cpu(const void *fdt, int node, int addr_cells, struct board *board)
{
    int len;
    const fdt32_t *reg = config_getprop(fdt, node, "reg", &len);

    if (!reg || len != addr_cells * 4) {
        config_node_err(fdt, node, "reg must be %d cell(s) of MPIDR affinity", addr_cells);
        return;
    }
    uint64_t mpidr = config_read_cells(reg, addr_cells) & MPIDR_AFF_MASK;
    if (mpidr_known(board, mpidr)) {
        config_node_err(fdt, node, "MPIDR 0x%lx is already used by another cpu node", mpidr);
        return;
    }
    if (board->nr_cpus == MAX_CPUS) {
        config_node_err(fdt, node, "more than %d CPUs: not used", MAX_CPUS);
        return;
    }
    struct board_cpu *cpu = &board->cpus[board->nr_cpus++];
    cpu->mpidr = mpidr;
    parse_enable_method(fdt, node, cpu);
}

static int parse_cpus(const void *fdt, struct board *board)
{
    int cpus = config_node_offset(fdt, "/cpus");
    int node;

    if (cpus < 0) {
        pr_err("host DTB: no /cpus node\n");
        return -1;
    }
    int ac = config_own_cells(fdt, cpus, "#address-cells", 1);
    if (ac < 1) {
        config_node_err(fdt, cpus, "#address-cells must be 1 or 2");
        return -1;
    }
    config_for_each_child(node, fdt, cpus)
    {
        if (is_cpu_node(fdt, node) && config_node_enabled(fdt, node)) {
            parse_cpu(fdt, node, ac, board);
        }
    }
    if (board->nr_cpus == 0) {
        config_node_err(fdt, cpus, "no usable cpu node");
        return -1;
    }
    return 0;
}

static void parse_psci(const void *fdt, struct board *board)
{
    static const char *const compats[] = {"arm,psci-1.0", "arm,psci-0.2", "arm,psci"};
    int node = config_node_offset(fdt, "/psci");

    if (node < 0) {
        node = find_compatible(fdt, compats, ARRAY_SIZE(compats));
    }
    if (node < 0) {
        return;
    }
    const char *method = config_get_string(fdt, node, "method");
    if (method && strcmp(method, "smc") == 0) {
        board->psci = PSCI_CONDUIT_SMC;
    } else if (method && strcmp(method, "hvc") == 0) {
        board->psci = PSCI_CONDUIT_HVC;
    } else {
        config_node_err(fdt, node, "method must be \"smc\" or \"hvc\"");
    }
}

/* ---- GIC and timer ---- */

static int parse_gic_v3(const void *fdt, int node, struct board_gic *gic)
{
    struct mem_range regs[GIC_MAX_REGS];
    uint32_t nr_redist = 1;

    if (config_read_u32(fdt, node, "#redistributor-regions", &nr_redist) < 0) {
        return -1;
    }
    int n = config_read_reg(fdt, node, regs, GIC_MAX_REGS);
    if (n > GIC_MAX_REGS) {
        n = GIC_MAX_REGS;
    }
    if (nr_redist == 0 || nr_redist >= GIC_MAX_REGS || n < 1 + (int)nr_redist) {
        config_node_err(fdt, node, "reg needs GICD and %u redistributor region(s)", nr_redist);
        return -1;
    }
    gic->dist = regs[0];
    gic->redist = regs[1];
    /* Regions laid end to end are one region for us; a gap we cannot describe in one range. */
    for (uint32_t i = 2; i <= nr_redist; i++) {
        if (regs[i].base != gic->redist.base + gic->redist.size) {
            config_node_err(fdt, node,
                            "redistributor region %u is not contiguous: only the first "
                            "%u are used",
                            i - 1, i - 1);
            break;
        }
        gic->redist.size += regs[i].size;
    }
    struct mem_range *v2 = &regs[1 + nr_redist];
    int nr_v2 = n - 1 - (int)nr_redist;
    gic->cpuif = nr_v2 > 0 ? v2[0] : (struct mem_range){0, 0};
    gic->hyp = nr_v2 > 1 ? v2[1] : (struct mem_range){0, 0};
    gic->vcpu = nr_v2 > 2 ? v2[2] : (struct mem_range){0, 0};
    return 0;
}

static int parse_gic_v2(const void *fdt, int node, struct board_gic *gic)
{
    struct mem_range regs[4];
    int n = config_read_reg(fdt, node, regs, 4);

    if (n < 0) {
        return -1;
    }
    if (n < 4) {
        /* Without GICH and GICV there is no virtual CPU interface to give guests. */
        config_node_err(fdt, node, "reg needs GICD, GICC, GICH and GICV (%d entries)", n);
        return -1;
    }
    gic->dist = regs[0];
    gic->cpuif = regs[1];
    gic->hyp = regs[2];
    gic->vcpu = regs[3];
    return 0;
}

static void parse_gic(const void *fdt, struct board *board)
{
    /* A GICv3 first, wherever it is; then the GICv2s. */
    static const char *const compats[] = {"arm,gic-v3", "arm,gic-400", "arm,cortex-a15-gic",
                                          "arm,cortex-a7-gic"};
    struct board_gic gic = {0};
    uint32_t cells = INTR_CELLS;
    unsigned which;
    int node = find_compatible_which(fdt, compats, ARRAY_SIZE(compats), &which);
    int r;

    if (node < 0) {
        return;
    }
    if (which == 0) {
        gic.version = GIC_V3;
        r = parse_gic_v3(fdt, node, &gic);
    } else {
        gic.version = GIC_V2;
        r = parse_gic_v2(fdt, node, &gic);
    }
    if (r < 0) {
        return;
    }
    if (config_read_u32(fdt, node, "#interrupt-cells", &cells) < 0 || cells != INTR_CELLS) {
        config_node_err(fdt, node, "#interrupt-cells must be 3");
        return;
    }
    if (!config_getprop(fdt, node, "interrupts", NULL)) {
        /* PPI 9 (INTID 25) is the one the SBSA asks for, and what QEMU and the Pi use. */
        config_node_err(fdt, node, "no maintenance interrupt: assuming PPI 9");
        gic.maint_irq = 9;
    } else if (read_ppi(fdt, node, 0, &gic.maint_irq) < 0) {
        return;
    }
    board->gic = gic;
}

static void parse_timer(const void *fdt, struct board *board)
{
    static const char *const compats[] = {"arm,armv8-timer"};
    int node = find_compatible(fdt, compats, ARRAY_SIZE(compats));
    uint32_t irq[NR_TIMER_IRQS];
    uint32_t freq = 0;

    if (node < 0) {
        return;
    }
    for (int i = 0; i < NR_TIMER_IRQS; i++) {
        if (read_ppi(fdt, node, i, &irq[i]) < 0) {
            return;
        }
    }
    if (config_read_u32(fdt, node, "clock-frequency", &freq) < 0) {
        freq = 0;
    }
    board->timer.irq_sec_phys = irq[0];
    board->timer.irq_phys = irq[1];
    board->timer.irq_virt = irq[2];
    board->timer.irq_hyp = irq[3];
    board->timer.freq = freq;
}

/* ---- Console UART ---- */

/* The node /chosen/stdout-path names (a path or an alias, perhaps with ":options"), or -1: a
 * PL011, or the Pi's mini UART (then *aux is set). */
static int stdout_node(const void *fdt, bool *aux)
{
    int chosen = config_chosen(fdt);

    if (chosen < 0) {
        return -1;
    }
    const char *path = config_get_string(fdt, chosen, "stdout-path");
    if (!path) {
        path = config_get_string(fdt, chosen, "linux,stdout-path");
    }
    if (!path) {
        return -1;
    }
    const char *colon = strchr(path, ':');
    int len = colon ? (int)(colon - path) : (int)strlen(path);
    int node = config_path_offset(fdt, path, len);
    if (node < 0) {
        config_node_err(fdt, chosen, "stdout-path \"%s\" names no node", path);
        return -1;
    }
    *aux = config_is_compatible(fdt, node, "brcm,bcm2835-aux-uart");
    if (!*aux && !config_is_compatible(fdt, node, "arm,pl011")) {
        config_node_err(fdt, chosen, "stdout-path \"%s\": not a PL011 or mini UART: not used",
                        path);
        return -1;
    }
    return node;
}

/* The UART at node: its registers and SPI; what cannot be read is reported and left zero. */
static void read_uart(const void *fdt, int node, struct board_uart *uart)
{
    struct mem_range regs[1];
    uint32_t type, num;

    int n = config_read_reg(fdt, node, regs, 1);
    if (n <= 0) {
        if (n == 0) {
            config_node_err(fdt, node, "UART without reg");
        }
        return;
    }
    uart->regs = regs[0];
    config_node_path(fdt, node, uart->path, sizeof(uart->path));
    if (config_read_irq(fdt, node, 0, &type, &num) < 0) {
        return;
    }
    if (type != INTR_TYPE_SPI) {
        config_node_err(fdt, node, "interrupt <%u %u ...> is not an SPI", type, num);
        return;
    }
    uart->spi = num;
}

/* The console (stdout-path's UART) and the PL011 VMs see: the same PL011, or the board's first
 * PL011 beside a mini UART console. */
static void parse_uart(const void *fdt, struct board *board)
{
    static const char *const compats[] = {"arm,pl011"};
    bool aux = false;
    int node = stdout_node(fdt, &aux);

    if (aux) {
        struct board_uart *aux_uart = &board->aux_console;
        read_uart(fdt, node, aux_uart);
        if (aux_uart->regs.size && aux_uart->regs.size < AUX_MU_SIZE) {
            config_node_err(fdt, node, "mini UART reg of 0x%lx bytes, not 0x%x: not the console",
                            aux_uart->regs.size, AUX_MU_SIZE);
        }
        if (aux_uart->regs.size < AUX_MU_SIZE) {
            memset(aux_uart, 0, sizeof(*aux_uart));
        }
        node = -1;
    }
    if (node < 0) {
        node = find_compatible(fdt, compats, ARRAY_SIZE(compats));
    }
    if (node >= 0) {
        read_uart(fdt, node, &board->uart);
    }
}

/* ---- The gdb stub's UART ---- */

/* The bootargs hold a bulkhead.gdb= option (config/bootargs.c reads its value). */
static bool gdb_requested(const char *bootargs)
{
    static const char opt[] = "bulkhead.gdb=";

    for (const char *p = bootargs; *p; p++) {
        if ((p == bootargs || p[-1] == ' ' || p[-1] == '\t') &&
            strncmp(p, opt, sizeof(opt) - 1) == 0) {
            return true;
        }
    }
    return false;
}

/* The first enabled PL011 other than the console: on QEMU virt, the second -serial's. */
static void parse_gdb_uart(const void *fdt, struct board *board)
{
    struct board_uart *uart = &board->gdb_uart;
    struct mem_range regs[1];
    uint32_t type, num;
    int node;

    if (!gdb_requested(board->bootargs)) {
        return;
    }
    for (node = config_next_compatible(fdt, -1, "arm,pl011"); node >= 0;
         node = config_next_compatible(fdt, node, "arm,pl011")) {
        if (!config_node_enabled(fdt, node) || config_read_reg(fdt, node, regs, 1) <= 0 ||
            regs[0].base == board->uart.regs.base) {
            continue;
        }
        if (config_read_irq(fdt, node, 0, &type, &num) < 0 || type != INTR_TYPE_SPI) {
            config_node_err(fdt, node, "no SPI: cannot be the gdb stub's UART");
            continue;
        }
        uart->regs = regs[0];
        uart->spi = num;
        config_node_path(fdt, node, uart->path, sizeof(uart->path));
        return;
    }
    pr_err("bulkhead.gdb: no second PL011 for the gdb stub (QEMU: give a second -serial)\n");
}

/* ---- Strings ---- */

static void copy_string(const void *fdt, int node, const char *prop, char *dst, size_t size)
{
    const char *s = config_get_string(fdt, node, prop);

    if (s && strlcpy(dst, s, size) >= size) {
        config_node_err(fdt, node, "%s is longer than %zu bytes: truncated", prop, size - 1);
    }
}

int board_parse(const void *fdt, struct board *board)
{
    /* One full walk now means every later libfdt call sees a well-formed structure; it indexes
     * the tree for the parsers' lookups too. */
    int err = config_index_tree(fdt);

    memset(board, 0, sizeof(*board));
    if (err) {
        pr_err("host DTB: malformed (%s)\n", fdt_strerror(err));
        return -1;
    }
    copy_string(fdt, 0, "model", board->model, sizeof(board->model));
    int chosen = config_chosen(fdt);
    if (chosen >= 0) {
        copy_string(fdt, chosen, "bootargs", board->bootargs, sizeof(board->bootargs));
    }
    if (parse_memory(fdt, board) < 0 || parse_reserved(fdt, board) < 0 ||
        parse_cpus(fdt, board) < 0) {
        return -1;
    }
    parse_psci(fdt, board);
    parse_gic(fdt, board);
    parse_timer(fdt, board);
    parse_uart(fdt, board);
    parse_gdb_uart(fdt, board);
    board_find_smmu(fdt, board);
    return 0;
}
