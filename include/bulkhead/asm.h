/* Constants shared by C and assembly. C code checks them against offsetof() (el2/vcpu.c,
 * el2/cpu.c). */
#ifndef BULKHEAD_ASM_H
#define BULKHEAD_ASM_H

#define CPU_STACK_SIZE 16384

/* struct vcpu starts with struct guest_regs: x0..x30, then elr_el2 and spsr_el2. */
#define REGS_X(n) ((n)*8)
#define REGS_ELR 248
#define REGS_SPSR 256
/* struct pcpu: TPIDR_EL2 points at it; its first field is the vCPU it runs. */
#define PCPU_VCPU 0
#define PCPU_STACK_TOP 8

/* Exit kinds handed from the vectors to guest_exit(). */
#define EXIT_SYNC 0
#define EXIT_IRQ 1
#define EXIT_FIQ 2
#define EXIT_SERROR 3
#define EXIT_AARCH32 4

#endif
