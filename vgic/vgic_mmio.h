/*
 * Register tables of the emulated distributor and redistributor frames, private to vgic/ (after
 * KVM's vgic-mmio.h). Each frame is an array of register descriptors sorted by offset:
 * vgic_mmio.c looks an access up and calls the register's handler; vgic_mmio_v2.c and
 * vgic_mmio_v3.c hold the tables and the registers only one GIC version has.
 *
 * An access that falls in no register, is of a size the register does not take, or runs past
 * its end reads as zero and ignores writes, as the architecture requires of RES0 space.
 * Handlers run with vgic_dist.lock held.
 */
#ifndef BULKHEAD_VGIC_MMIO_H
#define BULKHEAD_VGIC_MMIO_H

#include "bulkhead/vgic.h"

/* The distributor registers both versions have, at the same offsets (a GICv3 redistributor's
 * SGI frame repeats the per-interrupt ones). */
#define GICD_CTLR 0x000
#define GICD_TYPER 0x004
#define GICD_IIDR 0x008
#define GICD_IGROUPR 0x080
#define GICD_ISENABLER 0x100
#define GICD_ICENABLER 0x180
#define GICD_ISPENDR 0x200
#define GICD_ICPENDR 0x280
#define GICD_ISACTIVER 0x300
#define GICD_ICACTIVER 0x380
#define GICD_IPRIORITYR 0x400
#define GICD_ICFGR 0xc00

/* Access sizes a register takes: the size in bytes is its own flag (widths & size). */
#define VGIC_ACC_8 1u
#define VGIC_ACC_16 2u
#define VGIC_ACC_32 4u
#define VGIC_ACC_64 8u
#define VGIC_ACC_ANY (VGIC_ACC_8 | VGIC_ACC_16 | VGIC_ACC_32 | VGIC_ACC_64)

/* What a per-interrupt register holds of each interrupt. */
enum vgic_irq_field {
    VGIC_F_GROUP,
    VGIC_F_SET_ENABLE,
    VGIC_F_CLR_ENABLE,
    VGIC_F_SET_PEND,
    VGIC_F_CLR_PEND,
    VGIC_F_SET_ACTIVE,
    VGIC_F_CLR_ACTIVE,
    VGIC_F_PRIORITY,
    VGIC_F_TARGETS, /* GICv2 ITARGETSR */
    VGIC_F_CONFIG,
};

/* Which interrupts a per-interrupt register reaches; the bits of the others are RAZ/WI. */
#define VGIC_IRQS_ALL 0u
#define VGIC_IRQS_SHARED BIT(0)  /* GICv3 distributor: SGIs and PPIs belong to redistributors */
#define VGIC_IRQS_PRIVATE BIT(1) /* GICv3 redistributor SGI frame */
/* GICv2 SGIs: always enabled (ICENABLER), pending only with a source, through
 * GICD_{S,C}PENDSGIR (ISPENDR, ICPENDR). Their bits of such a register ignore writes. */
#define VGIC_IRQS_SGIS_WI BIT(2)

struct vgic_access;

struct vgic_reg {
    uint32_t offset; /* from the frame base */
    uint32_t len;    /* bytes */
    uint8_t widths;  /* VGIC_ACC_* */
    /* Per-interrupt registers only (bits_per_irq 0 for the others). */
    uint8_t bits_per_irq;
    uint8_t field; /* enum vgic_irq_field */
    uint8_t irqs;  /* VGIC_IRQS_* */
    /* Reads what never changes once the VM is made (an ID, the interrupt count): read without
     * the lock, which a guest probing its GIC would otherwise take on every read. */
    bool constant;
    /* NULL: reads as zero, or ignores writes. */
    uint64_t (*read)(const struct vgic_access *a);
    void (*write)(const struct vgic_access *a, uint64_t val);
};

/* One access, as a register's handler sees it. */
struct vgic_access {
    struct vgic_dist *d;
    unsigned cpu; /* the accessing vCPU (distributor), or the redistributor's own (GICR) */
    const struct vgic_reg *reg;
    uint64_t offset; /* from the frame base; [offset, offset + size) lies within reg */
    unsigned size;
};

struct vgic_frame {
    const struct vgic_reg *regs; /* sorted by offset, not overlapping, at least one */
    unsigned nr_regs;
};

#define VGIC_FRAME(table)                                                                          \
    {                                                                                              \
        (table), ARRAY_SIZE(table)                                                                 \
    }

/* A register that is not per interrupt. */
#define VGIC_REG(off, length, w, rd, wr)                                                           \
    {                                                                                              \
        .offset = (off), .len = (length), .widths = (w), .read = (rd), .write = (wr)               \
    }

/* A read-only register whose value is fixed for the VM's life. */
#define VGIC_REG_CONST(off, length, w, rd)                                                         \
    {                                                                                              \
        .offset = (off), .len = (length), .widths = (w), .read = (rd), .constant = true            \
    }

/* A bank of per-interrupt registers, bits per INTID, INTIDs 0 to 1023. */
#define VGIC_REG_IRQS(off, fld, bits, w, which)                                                    \
    {                                                                                              \
        .offset = (off), .len = 1024 * (bits) / 8, .widths = (w), .bits_per_irq = (bits),          \
        .field = (fld), .irqs = (which), .read = vgic_mmio_read_irqs,                              \
        .write = vgic_mmio_write_irqs                                                              \
    }

/* One access to a frame (lock taken inside, but for a constant register's read; a write bumps
 * the generation). */
void vgic_mmio_read(struct vgic_dist *d, unsigned cpu, const struct vgic_frame *f, uint64_t offset,
                    unsigned size, uint64_t *val);
void vgic_mmio_write(struct vgic_dist *d, unsigned cpu, const struct vgic_frame *f, uint64_t offset,
                     unsigned size, uint64_t val);

/* Handlers shared by the tables. */
uint64_t vgic_mmio_read_irqs(const struct vgic_access *a);
void vgic_mmio_write_irqs(const struct vgic_access *a, uint64_t val);
/* GICD_CTLR's group enables (the GICv3 distributor adds its fixed ARE and DS). */
uint64_t vgic_mmio_read_ctlr(const struct vgic_access *a);
void vgic_mmio_write_ctlr(const struct vgic_access *a, uint64_t val);
/* GICD_IIDR and GICR_IIDR. */
uint64_t vgic_mmio_read_iidr(const struct vgic_access *a);

/* GICD_TYPER.ITLinesNumber: the distributor's interrupts, in blocks of 32, minus one. */
static inline uint32_t vgic_mmio_it_lines(const struct vgic_dist *d)
{
    return d->nr_irqs / 32 - 1;
}

/* Tells vCPU cpu (if any: -1 is none) that it has something new to take, once the write is
 * complete (vgic_unlock_and_kick). */
static inline void vgic_mmio_kick(struct vgic_dist *d, int cpu)
{
    vgic_kick_later(d, cpu);
}

#endif
