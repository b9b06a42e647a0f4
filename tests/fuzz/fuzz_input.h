/*
 * What the fuzz targets share: reading the fuzzer's bytes as a sequence of fields (a field past
 * the input's end reads as zero, so that every input is a valid sequence), and a VM's I/O set up
 * as el2/vm.c's vm_create_devices() does it (its GIC and PL011 at QEMU virt's addresses).
 */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulkhead/console.h"
#include "bulkhead/pt.h"
#include "bulkhead/vdev.h"
#include "bulkhead/vgic.h"

/* A property a target checks besides "no crash": a failure aborts, which libFuzzer keeps as a
 * crash with its input. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);                             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

struct fuzz_input {
    const uint8_t *data;
    size_t size, at;
};

static inline bool fuzz_more(const struct fuzz_input *in)
{
    return in->at < in->size;
}

static inline uint64_t fuzz_bytes(struct fuzz_input *in, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++) {
        uint64_t b = in->at < in->size ? in->data[in->at++] : 0;
        v |= b << (8 * i);
    }
    return v;
}

static inline uint8_t fuzz_u8(struct fuzz_input *in)
{
    return (uint8_t)fuzz_bytes(in, 1);
}

static inline uint16_t fuzz_u16(struct fuzz_input *in)
{
    return (uint16_t)fuzz_bytes(in, 2);
}

static inline uint32_t fuzz_u32(struct fuzz_input *in)
{
    return (uint32_t)fuzz_bytes(in, 4);
}

static inline uint64_t fuzz_u64(struct fuzz_input *in)
{
    return fuzz_bytes(in, 8);
}

/* An access width: 1, 2, 4 or 8 bytes. */
static inline unsigned fuzz_width(struct fuzz_input *in)
{
    return 1u << (fuzz_u8(in) & 3);
}

/* QEMU virt's addresses (tests/host/dts/qemu-virt-v*.dts). */
#define FUZZ_GICD 0x08000000ULL
#define FUZZ_GICC 0x08010000ULL
#define FUZZ_GICV_PA 0x08040000ULL
#define FUZZ_GICR 0x080a0000ULL
#define FUZZ_UART 0x09000000ULL
#define FUZZ_UART_SPI 1
#define FUZZ_NR_IRQS 288 /* more than the vGIC takes: it keeps what it can */
#define FUZZ_PT_PAGES 64

/* A VM's devices and interrupt state, created once (devices come from the boot allocator, which
 * never frees) and reset before each input, as a VM reset does (el2/vm.c). */
struct fuzz_vm {
    struct vgic_dist vgic;
    struct vgic_cpu cpus[MAX_VCPUS];
    struct pt s2;
    struct console_port port;
    struct vm_io io;
    void *pages[FUZZ_PT_PAGES];
    unsigned nr_pages;
    unsigned nr_vcpus;
    char name[8];
};

static inline void *fuzz_page_alloc(void *ctx)
{
    struct fuzz_vm *vm = ctx;

    if (vm->nr_pages == FUZZ_PT_PAGES) {
        return NULL;
    }
    void *p = aligned_alloc(4096, 4096);
    if (p) {
        memset(p, 0, 4096);
        vm->pages[vm->nr_pages++] = p;
    }
    return p;
}

/* Returns 0, or -1 if a device was refused (a bug in the fixture, reported by the caller). */
static inline int fuzz_vm_create(struct fuzz_vm *vm, const char *name, enum gic_version version,
                                 unsigned nr_vcpus)
{
    struct pt_ops ops = {.alloc_table = fuzz_page_alloc, .ctx = vm};
    struct vdev_desc uart = {
        .compatible = "arm,pl011",
        .reg = {{FUZZ_UART, 0x1000}},
        .nr_reg = 1,
        .spis = {FUZZ_UART_SPI},
        .nr_spis = 1,
    };
    struct vdev_desc v2 = {
        .compatible = "arm,cortex-a15-gic",
        .reg = {{FUZZ_GICD, 0x1000}, {FUZZ_GICC, 0x2000}},
        .nr_reg = 2,
        .host = {{FUZZ_GICV_PA, 0x2000}},
        .nr_host = 1,
    };
    struct vdev_desc v3 = {
        .compatible = "arm,gic-v3",
        .reg = {{FUZZ_GICD, 0x10000}, {FUZZ_GICR, (uint64_t)nr_vcpus * GICV3_REDIST_SIZE}},
        .nr_reg = 2,
    };

    memset(vm, 0, sizeof(*vm));
    snprintf(vm->name, sizeof(vm->name), "%s", name);
    vm->nr_vcpus = nr_vcpus;
    vgic_dist_init(&vm->vgic, version, FUZZ_NR_IRQS, nr_vcpus);
    for (unsigned i = 0; i < nr_vcpus; i++) {
        vgic_cpu_init(&vm->vgic, &vm->cpus[i], i, 4);
    }
    pt_init(&vm->s2, PT_STAGE2, 32, 1, fuzz_page_alloc(vm), &ops);
    console_port_init(&vm->port, vm->name);
    console_port_add(&vm->port);
    vm_io_init(&vm->io, vm->name, nr_vcpus, &vm->vgic, &vm->s2, &vm->port);
    if (vdev_create(&vm->io, version == GIC_V3 ? &v3 : &v2) != 0) {
        return -1;
    }
    return vdev_create(&vm->io, &uart);
}

static inline void fuzz_vm_reset(struct fuzz_vm *vm)
{
    vgic_reset(&vm->vgic);
    vm_io_reset(&vm->io);
    console_port_reset(&vm->port);
}

#endif
