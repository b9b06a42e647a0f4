/*
 * The vGIC as a VM of 2-4 vCPUs drives it: its distributor (GICv2 or GICv3) and redistributors
 * (GICv3) read and written at any offset, width and value by any vCPU (vgic/vgic_mmio*.c),
 * ICC_SGI1R_EL1 writes, device lines and edges, SGIs, hardware-linked interrupts, and each vCPU's
 * entries and exits (vgic_flush / vgic_sync over list registers kept in memory), with the guest
 * acknowledging and deactivating what its list registers hold in between (vgic/vgic.c, lr.c).
 *
 * A vCPU is either in the guest (between its flush and its sync) or exited; its own accesses
 * happen while it is exited (an access from a vCPU in the guest makes it exit first), as in the
 * hypervisor, where they are its trapped exits.
 *
 * Input: one byte of setup (bit 0: GICv3, bits 1-2: vCPUs - 2 (2..4, 4 at most), bits 3-5:
 * list registers - 1), then operations, each an opcode byte and its fields.
 * Checked besides "no crash, no deadlock": no list register written past the vCPU's count, a
 * valid list register never duplicated (an interrupt in two LRs of one vCPU; GICv2 SGIs from
 * different sources excepted), and the GICv3 distributor's frame answered for every offset.
 */
#include "fuzz_input.h"
#include "support/capture.h"

#define V2_DIST_SIZE 0x1000
#define V3_DIST_SIZE 0x10000

static struct vgic_dist dist;
static struct vgic_cpu cpus[MAX_VCPUS];
static struct lr_state lrs[MAX_VCPUS][VGIC_MAX_LRS];
static bool in_guest[MAX_VCPUS];
static unsigned current; /* the vCPU whose list registers the hw ops see */

static void hw_write_lr(unsigned n, const struct lr_state *lr)
{
    CHECK(n < cpus[current].nr_lrs);
    lrs[current][n] = *lr;
}

static void hw_read_lr(unsigned n, struct lr_state *lr)
{
    CHECK(n < cpus[current].nr_lrs);
    *lr = lrs[current][n];
}

static void hw_set_underflow(bool on)
{
    (void)on;
}

static void hw_set_no_pending(bool on)
{
    (void)on;
}

static void hw_deactivate(unsigned pintid)
{
    CHECK(pintid < 1020);
}

static const struct vgic_hw_ops hw = {
    .write_lr = hw_write_lr,
    .read_lr = hw_read_lr,
    .set_underflow = hw_set_underflow,
    .set_no_pending = hw_set_no_pending,
    .deactivate = hw_deactivate,
};

static void kick(void *ctx, unsigned cpu)
{
    (void)ctx;
    CHECK(cpu < dist.nr_vcpus);
}

static void phys_route(void *ctx, unsigned pintid, int vcpu)
{
    (void)ctx;
    CHECK(pintid < 1020 && vcpu < (int)dist.nr_vcpus);
}

static void phys_pintid(void *ctx, unsigned pintid)
{
    (void)ctx;
    CHECK(pintid < 1020);
}

static const struct vgic_phys_ops phys = {
    .route = phys_route, .deactivate = phys_pintid, .pend = phys_pintid};

static bool valid(const struct lr_state *lr)
{
    return lr->pending || lr->active;
}

static void check_lrs(unsigned cpu)
{
    for (unsigned a = 0; a < cpus[cpu].nr_lrs; a++) {
        for (unsigned b = a + 1; b < cpus[cpu].nr_lrs; b++) {
            const struct lr_state *x = &lrs[cpu][a], *y = &lrs[cpu][b];
            if (!valid(x) || !valid(y) || x->intid != y->intid) {
                continue;
            }
            CHECK(dist.version == GIC_V2 && x->intid < VGIC_NR_SGIS && x->source != y->source);
        }
    }
}

static void enter(unsigned cpu)
{
    if (!in_guest[cpu]) {
        current = cpu;
        vgic_flush(&dist, cpu, &hw);
        check_lrs(cpu);
        in_guest[cpu] = true;
    }
}

static void leave(unsigned cpu)
{
    if (in_guest[cpu]) {
        current = cpu;
        vgic_sync(&dist, cpu, &hw);
        in_guest[cpu] = false;
    }
}

/* The guest takes or finishes what LR n holds, as the virtual CPU interface would. */
static void guest_lr(unsigned cpu, unsigned n, unsigned what)
{
    struct lr_state *lr = &lrs[cpu][n % cpus[cpu].nr_lrs];

    if ((what & 1) && lr->pending && !lr->active) { /* acknowledge */
        lr->pending = false;
        lr->active = true;
    }
    if ((what & 2) && lr->active) { /* deactivate */
        lr->active = false;
    }
}

static void one_op(struct fuzz_input *in)
{
    uint8_t op = fuzz_u8(in);
    unsigned cpu = (op >> 4) % dist.nr_vcpus;
    bool v3 = dist.version == GIC_V3;
    uint64_t val = 0;

    switch (op & 0xf) {
    case 0:
    case 1: { /* distributor access */
        uint64_t off = fuzz_u16(in) % (v3 ? V3_DIST_SIZE : V2_DIST_SIZE);
        unsigned size = fuzz_width(in);
        bool ok;
        if (off + size > (v3 ? V3_DIST_SIZE : V2_DIST_SIZE)) {
            break; /* the bus aborts it (vdev/mmio.c) */
        }
        leave(cpu);
        if (op & 1) {
            val = fuzz_u64(in);
            ok = v3 ? vgic_v3_dist_write(&dist, cpu, off, size, val)
                    : vgic_v2_dist_write(&dist, cpu, off, size, val);
        } else {
            ok = v3 ? vgic_v3_dist_read(&dist, cpu, off, size, &val)
                    : vgic_v2_dist_read(&dist, cpu, off, size, &val);
        }
        (void)ok;
        break;
    }
    case 2:
    case 3: { /* redistributor access (GICv3) */
        unsigned target = fuzz_u8(in) % dist.nr_vcpus;
        uint64_t off = fuzz_u32(in) % GICV3_REDIST_SIZE;
        unsigned size = fuzz_width(in);
        if (!v3 || off + size > GICV3_REDIST_SIZE) {
            break;
        }
        leave(cpu);
        if (op & 1) {
            (void)vgic_v3_redist_write(&dist, target, off, size, fuzz_u64(in));
        } else {
            (void)vgic_v3_redist_read(&dist, target, off, size, &val);
        }
        break;
    }
    case 4: /* ICC_SGI1R_EL1 */
        val = fuzz_u64(in);
        if (v3) {
            leave(cpu);
            vgic_v3_sgi1r_write(&dist, cpu, val);
        }
        break;
    case 5: /* a device's line (an SPI or this vCPU's PPI; devices never drive SGIs) */
        vgic_set_line(&dist, cpu, 16 + fuzz_u16(in) % 1008, fuzz_u8(in) & 1);
        break;
    case 6: /* an edge */ vgic_inject_edge(&dist, cpu, 16 + fuzz_u16(in) % 1008); break;
    case 7: /* the hypervisor sends an SGI (as PSCI or GICv2's SGIR would) */
        vgic_send_sgi(&dist, cpu, fuzz_u8(in) % dist.nr_vcpus, fuzz_u8(in) % 16);
        break;
    case 8: /* entry */ enter(cpu); break;
    case 9: /* exit */ leave(cpu); break;
    case 10: { /* the guest takes / finishes a list register's interrupt */
        uint8_t b = fuzz_u8(in);
        if (in_guest[cpu]) {
            guest_lr(cpu, b >> 2, b & 3);
        }
        break;
    }
    case 11: /* WFI */
        leave(cpu);
        (void)vgic_has_deliverable(&dist, cpu);
        break;
    case 12: { /* a physical interrupt linked to a virtual one (the timer, a passed-through SPI) */
        unsigned intid = fuzz_u16(in) % 1024, pintid = fuzz_u16(in) % 1020;
        bool held = fuzz_u8(in) & 1;
        if (intid >= 16 && intid < dist.nr_irqs) {
            leave(cpu);
            vgic_link_hw(&dist, cpu, intid, pintid, held);
        }
        break;
    }
    case 13: { /* a linked level source low again */
        unsigned intid = fuzz_u16(in) % 1024;
        if (intid >= 16 && intid < dist.nr_irqs) {
            leave(cpu);
            current = cpu;
            vgic_retract_linked(&dist, cpu, intid, &hw);
        }
        break;
    }
    case 14: /* a VM reset: every vCPU out first */
        for (unsigned i = 0; i < dist.nr_vcpus; i++) {
            leave(i);
        }
        vgic_reset(&dist);
        break;
    default: /* a vCPU runs a while: exit, entry */
        leave(cpu);
        enter(cpu);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size, 0};
    uint8_t setup = fuzz_u8(&in);
    unsigned nr_vcpus = 2 + ((setup >> 1) & 3);

    if (nr_vcpus > 4 || nr_vcpus > MAX_VCPUS) {
        nr_vcpus = 4 < MAX_VCPUS ? 4 : MAX_VCPUS;
    }
    capture_reset();
    vgic_dist_init(&dist, (setup & 1) ? GIC_V3 : GIC_V2, FUZZ_NR_IRQS, nr_vcpus);
    for (unsigned i = 0; i < nr_vcpus; i++) {
        vgic_cpu_init(&dist, &cpus[i], i, 1 + ((setup >> 3) & 7));
        in_guest[i] = false;
    }
    memset(lrs, 0, sizeof(lrs));
    dist.kick = kick;
    dist.phys = &phys;
    dist.phys_ctx = NULL;
    for (unsigned n = 0; fuzz_more(&in) && n < 4096; n++) {
        one_op(&in);
    }
    for (unsigned i = 0; i < nr_vcpus; i++) {
        leave(i);
    }
    return 0;
}
