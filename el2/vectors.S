/*
 * EL2 exception vectors, guest entry and exit. A guest exit saves the guest's general registers,
 * ELR and SPSR into its struct vcpu (TPIDR_EL2 -> struct pcpu -> vcpu) and calls
 * guest_exit(vcpu, kind) in C on the CPU's own stack (guest_exit_shared on the vCPU's own stack
 * where several share the CPU), which returns the vCPU to enter next. EL1 system registers stay
 * live in the CPU: el2/sched.c switches them only where a CPU is shared.
 */
#include "bulkhead/asm.h"

.macro ventry target
    .balign 0x80
    b \target
.endm

.section .text.vectors, "ax"
.macro vector_table name, exit
.balign 0x800
.global \name
\name:
    ventry hyp_sync_sp0         /* current EL, SP_EL0: we never run on SP_EL0 */
    ventry hyp_irq_sp0
    ventry hyp_fiq_sp0
    ventry hyp_serror_sp0
    ventry hyp_sync             /* current EL, SP_EL2 */
    ventry hyp_irq
    ventry hyp_fiq
    ventry hyp_serror
    ventry guest_sync\exit      /* lower EL, AArch64 */
    ventry guest_irq\exit
    ventry guest_fiq\exit
    ventry guest_serror\exit
    ventry guest_aarch32\exit   /* lower EL, AArch32: we run no AArch32 guests */
    ventry guest_aarch32\exit
    ventry guest_aarch32\exit
    ventry guest_aarch32\exit
.endm

/* A CPU with one vCPU; a CPU shared by several (el2/sched.c), whose exits end by asking its
 * policy who runs next: the pinned CPU's exits pay nothing for it. */
vector_table el2_vectors, _pinned
vector_table el2_vectors_shared, _shared

/* Hypervisor's own exceptions: build a struct hyp_frame on the stack, then report. */
.macro hyp_exception kind
    sub sp, sp, #(8 * 36)
    stp x0, x1, [sp, #0]
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x19, [sp, #144]
    stp x20, x21, [sp, #160]
    stp x22, x23, [sp, #176]
    stp x24, x25, [sp, #192]
    stp x26, x27, [sp, #208]
    stp x28, x29, [sp, #224]
    add x0, sp, #(8 * 36)
    stp x30, x0, [sp, #240]     /* x30, sp before the exception */
    mrs x0, elr_el2
    mrs x1, spsr_el2
    stp x0, x1, [sp, #256]
    mrs x0, esr_el2
    mrs x1, far_el2
    stp x0, x1, [sp, #272]
    mov x0, sp
    mov x1, #\kind
    bl hyp_exception_report
    b .
.endm

hyp_sync_sp0:   hyp_exception 10
hyp_irq_sp0:    hyp_exception 11
hyp_fiq_sp0:    hyp_exception 12
hyp_serror_sp0: hyp_exception 13
hyp_sync:       hyp_exception EXIT_SYNC
hyp_irq:        hyp_exception EXIT_IRQ
hyp_fiq:        hyp_exception EXIT_FIQ
hyp_serror:     hyp_exception EXIT_SERROR

.macro guest_exit_entry kind, handler, return
    stp x0, x1, [sp, #-16]!
    mrs x0, tpidr_el2
    ldr x0, [x0, #PCPU_VCPU]
    stp x2, x3, [x0, #REGS_X(2)]
    stp x4, x5, [x0, #REGS_X(4)]
    stp x6, x7, [x0, #REGS_X(6)]
    stp x8, x9, [x0, #REGS_X(8)]
    stp x10, x11, [x0, #REGS_X(10)]
    stp x12, x13, [x0, #REGS_X(12)]
    stp x14, x15, [x0, #REGS_X(14)]
    stp x16, x17, [x0, #REGS_X(16)]
    stp x18, x19, [x0, #REGS_X(18)]
    stp x20, x21, [x0, #REGS_X(20)]
    stp x22, x23, [x0, #REGS_X(22)]
    stp x24, x25, [x0, #REGS_X(24)]
    stp x26, x27, [x0, #REGS_X(26)]
    stp x28, x29, [x0, #REGS_X(28)]
    ldp x2, x3, [sp], #16
    stp x2, x3, [x0, #REGS_X(0)]
    mrs x2, elr_el2
    stp x30, x2, [x0, #REGS_X(30)]
    mrs x3, spsr_el2
    str x3, [x0, #REGS_SPSR]
    mov x1, #\kind
    mov x29, xzr
    bl \handler
    b \return
.endm

/* A pinned CPU's guest_exit returns the vCPU that exited, on the stack it exited on, now back at
 * its top: the CPU's vCPU and stack pointer are already what guest_enter would set. (Where the
 * CPU changes vCPU, or the exit ends elsewhere, pcpu_schedule() does not return.) */
guest_sync_pinned:    guest_exit_entry EXIT_SYNC, guest_exit_sync, guest_resume
guest_irq_pinned:     guest_exit_entry EXIT_IRQ, guest_exit_irq, guest_resume
guest_fiq_pinned:     guest_exit_entry EXIT_FIQ, guest_exit, guest_resume
guest_serror_pinned:  guest_exit_entry EXIT_SERROR, guest_exit, guest_resume
guest_aarch32_pinned: guest_exit_entry EXIT_AARCH32, guest_exit, guest_resume
guest_sync_shared:    guest_exit_entry EXIT_SYNC, guest_exit_shared, guest_enter
guest_irq_shared:     guest_exit_entry EXIT_IRQ, guest_exit_shared, guest_enter
guest_fiq_shared:     guest_exit_entry EXIT_FIQ, guest_exit_shared, guest_enter
guest_serror_shared:  guest_exit_entry EXIT_SERROR, guest_exit_shared, guest_enter
guest_aarch32_shared: guest_exit_entry EXIT_AARCH32, guest_exit_shared, guest_enter

/* Enters vcpu (x0) on this CPU's stack top; never returns. */
.text
.global guest_enter
guest_enter:
    mrs x1, tpidr_el2
    ldr x2, [x1, #PCPU_STACK_TOP]
    mov sp, x2
    str x0, [x1, #PCPU_VCPU]
/* Resumes vcpu (x0), this CPU's vCPU, with the stack pointer at its top already. */
guest_resume:
    ldp x2, x3, [x0, #REGS_ELR]
    msr elr_el2, x2
    msr spsr_el2, x3
    ldp x2, x3, [x0, #REGS_X(2)]
    ldp x4, x5, [x0, #REGS_X(4)]
    ldp x6, x7, [x0, #REGS_X(6)]
    ldp x8, x9, [x0, #REGS_X(8)]
    ldp x10, x11, [x0, #REGS_X(10)]
    ldp x12, x13, [x0, #REGS_X(12)]
    ldp x14, x15, [x0, #REGS_X(14)]
    ldp x16, x17, [x0, #REGS_X(16)]
    ldp x18, x19, [x0, #REGS_X(18)]
    ldp x20, x21, [x0, #REGS_X(20)]
    ldp x22, x23, [x0, #REGS_X(22)]
    ldp x24, x25, [x0, #REGS_X(24)]
    ldp x26, x27, [x0, #REGS_X(26)]
    ldp x28, x29, [x0, #REGS_X(28)]
    ldr x30, [x0, #REGS_X(30)]
    ldp x0, x1, [x0, #REGS_X(0)]
    eret
    dsb nsh                     /* no straight-line speculation past eret */
    isb
