/*
 * Entry from firmware at EL2, as for a Linux kernel: x0 = DTB, MMU off. The arm64 Image header
 * lets QEMU's -kernel, U-Boot's booti and the Raspberry Pi firmware load and enter us.
 */
#include "bulkhead/asm.h"

#define R_AARCH64_RELATIVE 1027

.macro adr_l reg, sym
    adrp \reg, \sym
    add \reg, \reg, :lo12:\sym
.endm

.section .text.head, "ax"
.global _start
_start:
    b primary_entry             /* code0 */
    .long 0                     /* code1 */
    .quad 0                     /* text_offset: any 2 MiB-aligned base + 0 */
    .quad __image_size          /* everything we use from the load address, bss included */
    .quad 0xa                   /* little endian, 4 KiB pages, anywhere in physical memory */
    .quad 0, 0, 0
    .ascii "ARM\x64"
    .long 0

.text
.global primary_entry
primary_entry:
    msr daifset, #0xf
    mov x19, x0
    mrs x1, CurrentEL
    cmp x1, #(2 << 2)
    b.ne not_at_el2

    /* Our own relocations: every pointer in the image is link address 0 + load base. */
    adr x20, _start
    adr_l x1, __rela_start
    adr_l x2, __rela_end
1:  cmp x1, x2
    b.hs 2f
    ldp x3, x4, [x1], #16       /* r_offset, r_info */
    ldr x5, [x1], #8            /* r_addend */
    cmp w4, #R_AARCH64_RELATIVE
    b.ne 1b
    add x5, x5, x20
    str x5, [x20, x3]
    b 1b

2:  adr_l x1, __bss_start
    adr_l x2, __bss_end
3:  cmp x1, x2
    b.hs 4f
    stp xzr, xzr, [x1], #16
    b 3b

4:  adr_l x1, cpu_stacks
    add x1, x1, #CPU_STACK_SIZE
    mov sp, x1
    mov x29, xzr
    mov x30, xzr
    mov x0, x19
    mov x1, x20
    bl hyp_main
5:  wfe
    b 5b

not_at_el2:
    /* Nothing we can do without EL2, and no console yet: park. */
    wfe
    b not_at_el2

/* Secondary CPUs (PSCI CPU_ON or spin-table release) arrive here with the MMU off. */
.global secondary_entry
secondary_entry:
    msr daifset, #0xf
    adr_l x1, secondary_boot_index
    ldr x0, [x1]
    add x2, x0, #1
    adr_l x1, cpu_stacks
    mov x3, #CPU_STACK_SIZE
    madd x1, x2, x3, x1
    mov sp, x1
    mov x29, xzr
    mov x30, xzr
    bl secondary_main
6:  wfe
    b 6b

/* Runs fn(arg) on a fresh stack: used to drop whatever a CPU was doing and start over. */
.global run_on_stack
run_on_stack:                   /* x0 = stack top, x1 = fn, x2 = arg */
    mov sp, x0
    mov x29, xzr
    mov x30, xzr
    mov x0, x2
    br x1
