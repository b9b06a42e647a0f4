/*
 * The guests' exception vectors, installed on every CPU by start.S. Every entry saves the
 * caller-saved registers, ELR_EL1 and SPSR_EL1 and calls guest_exception(kind, ticks, frame)
 * (exceptions.c), which may change the saved ELR_EL1 (to skip an instruction) and may unmask IRQs
 * (a preemptible interrupt handler): that is why ELR_EL1 and SPSR_EL1 are in the frame.
 *
 * ticks is the generic counter read by the third instruction of the vector: bench's latency
 * figures end there, so nothing may be added before it.
 */

#define FRAME_SIZE 192 /* x0..x18, x29, x30, ELR_EL1, SPSR_EL1, padding: as in guest.h */

.macro vector kind
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    mrs     x1, cntvct_el0
    mov     x0, #\kind
    b       vector_common
.endm

    .section .text.vectors, "ax"
    .balign 0x800
    .global guest_vectors
guest_vectors:
    vector 0x10     /* current EL, SP_EL0: sync */
    vector 0x11
    vector 0x12
    vector 0x13
    vector 0x00     /* current EL, SP_ELx: sync */
    vector 0x01     /* irq */
    vector 0x02     /* fiq */
    vector 0x03     /* serror */
    vector 0x20     /* lower EL, AArch64 */
    vector 0x21
    vector 0x22
    vector 0x23
    vector 0x30     /* lower EL, AArch32 */
    vector 0x31
    vector 0x32
    vector 0x33

vector_common:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x29, [sp, #144]
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x30, x2, [sp, #160]
    str     x3, [sp, #176]
    mov     x2, sp
    bl      guest_exception
    msr     daifset, #2                 /* a handler that unmasked IRQs: none until the eret */
    ldp     x30, x2, [sp, #160]
    ldr     x3, [sp, #176]
    msr     elr_el1, x2
    msr     spsr_el1, x3
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x29, [sp, #144]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #FRAME_SIZE
    eret
