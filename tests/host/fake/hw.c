/*
 * What touches hardware outside the files under test: the board (read from the DTB on the
 * target), the physical GIC and its list registers, the EL2 side of the timers, ID-register
 * reads, stage 2's creation, the UART's input and firmware's power-off.
 */
#include "bulkhead/boot.h"
#include "bulkhead/console.h"
#include "bulkhead/firmware.h"
#include "bulkhead/gic.h"
#include "bulkhead/idregs.h"
#include "bulkhead/stage2.h"
#include "bulkhead/string.h"
#include "bulkhead/vtimer.h"
#include "fake/fake.h"

struct board board;
paddr_t hyp_load_base;

/* The physical GIC: bulkhead/gic.h's inline functions call through gic_impl. */
static uint32_t ack(void)
{
    return fake.acked < fake.nr_iar ? fake.iar[fake.acked++] : GIC_SPURIOUS;
}

static void eoi(uint32_t iar)
{
    (void)iar;
    fake.eoi++;
}

static void deactivate(uint32_t iar)
{
    fake.deactivate++;
    fake.last_deactivated = gic_iar_intid(iar);
}

static void send_sgi(unsigned pcpu, unsigned sgi)
{
    (void)pcpu;
    (void)sgi;
    fake.sgis++;
}

static void before_wfi(void)
{
}

static const struct gic_ops fake_gic_ops = {
    .iar_intid_mask = 0xffffff,
    .ack = ack,
    .eoi = eoi,
    .deactivate = deactivate,
    .send_sgi = send_sgi,
    .before_wfi = before_wfi,
};

const struct gic_ops *gic_impl = &fake_gic_ops;

void gic_clear_active(unsigned intid)
{
    fake.clear_active++;
    fake.last_cleared = intid;
}

void gic_set_active(unsigned intid)
{
    (void)intid;
}

void gic_vcpu_if_save(struct gic_vcpu_if *s)
{
    *s = (struct gic_vcpu_if){0};
}

void gic_vcpu_if_restore(const struct gic_vcpu_if *s)
{
    (void)s;
}

/* el2/switch.S: the host has no FP/SIMD registers of a guest to keep. */
void fpsimd_save(struct fpsimd_state *s)
{
    *s = (struct fpsimd_state){0};
}

void fpsimd_restore(const struct fpsimd_state *s)
{
    (void)s;
}

unsigned gic_nr_lrs(void)
{
    return 4;
}

void gic_vcpu_reset(void)
{
    fake.vcpu_reset++;
}

static void write_lr(unsigned n, const struct lr_state *lr)
{
    fake.lrs[n] = *lr;
}

static void read_lr(unsigned n, struct lr_state *lr)
{
    *lr = fake.lrs[n];
}

static void set_flag(bool on)
{
    (void)on;
}

struct vgic_hw_ops gic_lr_ops = {
    .write_lr = write_lr,
    .read_lr = read_lr,
    .set_underflow = set_flag,
    .set_no_pending = set_flag,
};

void vtimer_init_vcpu(struct vtimer *t, struct vgic_dist *vgic, unsigned vcpu)
{
    *t = (struct vtimer){
        .vgic = vgic, .vcpu = vcpu, .virq = vgic_get_irq(vgic, vcpu, vtimer_virq())};
}

void vtimer_reset(struct vtimer *t)
{
    (void)t;
    fake.vtimer_reset++;
}

void vtimer_resample_line(struct vtimer *t, const struct vgic_hw_ops *hw)
{
    (void)t;
    (void)hw;
    fake.vtimer_resample++;
}

void vtimer_ptimer_sync(struct vtimer *t)
{
    (void)t;
    fake.ptimer_sync++;
}

void vtimer_ptimer_reset(struct vtimer *t)
{
    t->ptimer = (struct ptimer){0};
    fake.ptimer_sync++;
}

/* No CNTP_* emulation here: tests of it are in test_ptimer.c. */
bool vtimer_handle_sysreg(struct vtimer *t, uint32_t encoding, bool read, uint64_t *val)
{
    (void)t;
    (void)encoding;
    (void)read;
    (void)val;
    return false;
}

/* ID-register answers (idreg_sanitize) have their own tests; here no read is trapped. */
bool idreg_trap_read(uint32_t encoding, uint64_t *val)
{
    (void)encoding;
    (void)val;
    return false;
}

void console_receive(void)
{
    fake.console_receive++;
}

void machine_power_off(void)
{
    fake.machine_power_off++;
    fake_noreturn("machine_power_off");
}

void machine_reset(void)
{
    fake.machine_reset++;
    fake_noreturn("machine_reset");
}

/* Stage-2 tables from a fixed pool, handed out until fake_reset(); TLB invalidations counted. */
#define TABLE_POOL 32
static uint64_t table_pool[TABLE_POOL][PT_ENTRIES] __attribute__((aligned(4096)));

static void *alloc_table(void *ctx)
{
    (void)ctx;
    if (fake.tables_fail || fake.tables_used == TABLE_POOL) {
        return NULL;
    }
    uint64_t *t = table_pool[fake.tables_used++];
    memset(t, 0, PAGE_SIZE);
    return t;
}

static void invalidate(void *ctx, uint64_t va, uint64_t size)
{
    (void)ctx;
    (void)va;
    (void)size;
    fake.s2_invalidate++;
}

/* A 36-bit IPA space: one root table at level 1, so that RAM's 2 MiB blocks need a level-2
 * table, whose allocation can fail (QEMU virt's 32-bit IPA puts them in a level-2 root). */
#define FAKE_IPA_BITS 36

int s2_create(struct pt *pt, unsigned vmid, uint64_t *vttbr)
{
    struct pt_ops ops = {.alloc_table = alloc_table, .invalidate = invalidate};
    unsigned start_level, root_pages;

    pt_stage2_geometry(FAKE_IPA_BITS, &start_level, &root_pages);
    uint64_t *root = alloc_table(NULL);
    if (!root) {
        return -1;
    }
    pt_init(pt, PT_STAGE2, FAKE_IPA_BITS, start_level, root, &ops);
    *vttbr = ((uint64_t)vmid << 48) | (uint64_t)(uintptr_t)root;
    return 0;
}

/* The physical distributor's passthrough calls: what the last one did to which SPI. */
void gic_spi_configure(unsigned intid, bool edge)
{
    fake.spi_intid = intid;
    fake.spi_edge = edge;
}

void gic_spi_route(unsigned intid, unsigned pcpu)
{
    fake.spi_intid = intid;
    fake.spi_pcpu = pcpu;
}

void gic_spi_set_enabled(unsigned intid, bool on)
{
    fake.spi_intid = intid;
    fake.spi_enabled = on;
}

void gic_spi_quiesce(unsigned intid)
{
    fake.spi_intid = intid;
    fake.spi_quiesced++;
}

void gic_spi_set_pending(unsigned intid)
{
    fake.spi_intid = intid;
    fake.spi_pended++;
}
