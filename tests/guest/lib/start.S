/*
 * Entry of the bare-metal test guests, at EL1h, loaded raw at GUEST_LINK_ADDR (RAM + 0x8_0000:
 * 0x4008_0000 on QEMU virt) with x0 = DTB address;
 * secondary CPUs come in at guest_secondary_entry. The boot CPU first zeroes .bss and writes the
 * page table; then every CPU takes the same path: stack, vectors, FP/SIMD (libfdt uses it), the
 * EL1 MMU with an identity map (so that libfdt's unaligned accesses work), guest_cpu_main().
 *
 * Identity map: one level-1 table of 1 GiB blocks (TCR_EL1.T0SZ = 25: 39-bit VAs, 4K granule).
 * QEMU virt (GUEST_LINK_ADDR, the platform's link address, at 0x4000_0000 or above):
 *   GiB 0 (0x0000_0000..0x3FFF_FFFF): Device-nGnRE, never executable (UART, GIC, flash)
 *   GiB 1..3 (0x4000_0000..0xFFFF_FFFF): Normal write-back cacheable (RAM, and what lies just
 *   above it, so that a test can touch an address past the end of its RAM)
 * Raspberry Pi 4 (RAM at 0, GUEST_LINK_ADDR below 0x4000_0000):
 *   GiB 0..2 (0x0000_0000..0xBFFF_FFFF): Normal write-back cacheable (RAM)
 *   GiB 3 (0xC000_0000..0xFFFF_FFFF): Device-nGnRE, never executable (the peripherals from
 *   0xFE00_0000: the PL011 at 0xFE20_1000, the GIC-400 at 0xFF84_0000)
 * Anything higher is unmapped.
 */

#ifndef GUEST_LINK_ADDR
#define GUEST_LINK_ADDR 0x40080000
#endif

#define MAIR_DEVICE_nGnRE 0x04
#define MAIR_NORMAL_WB 0xff
#define ATTR_DEVICE 0
#define ATTR_NORMAL 1

#define PTE_BLOCK 0x1
#define PTE_ATTR(i) ((i) << 2)
#define PTE_SH_INNER (3 << 8)
#define PTE_AF (1 << 10)
#define PTE_PXN (1 << 53)
#define PTE_UXN (1 << 54)

/* T0SZ=25, IRGN0/ORGN0 = WB WA, SH0 inner, TG0 4K, EPD1 (no TTBR1 walks); IPS filled in below */
#define TCR_VALUE ((25 << 0) | (1 << 8) | (1 << 10) | (3 << 12) | (0 << 14) | (1 << 23))

/* RES1 bits of SCTLR_EL1, plus M (MMU), C (data cache), SA (SP alignment), I (i-cache).
 * A (alignment check) stays 0: unaligned accesses to Normal memory are allowed. */
#define SCTLR_RES1 ((1 << 11) | (1 << 20) | (1 << 22) | (1 << 23) | (1 << 28) | (1 << 29))
#define SCTLR_VALUE (SCTLR_RES1 | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 12))

#define GUEST_MAX_CPUS 4                /* as in guest.h */
#define SECONDARY_STACK_SIZE 0x4000     /* 16 KiB, as guest.h says */

    .section .text.entry, "ax"
    .global _start
_start:                                 /* the boot CPU, x0 = DTB address */
    mrs     x1, cntvct_el0              /* first, for bench's boot figure (guest_boot_ticks) */
    msr     tpidr_el0, x1
    msr     daifset, #0xf
    mov     x19, x0
    mov     x20, #0                     /* CPU index */

    /* Zero .bss (it holds the stacks and the page table too). */
    ldr     x1, =__bss_start
    ldr     x2, =__bss_end
1:  cmp     x1, x2
    b.hs    2f
    stp     xzr, xzr, [x1], #16
    b       1b
2:
#if GUEST_LINK_ADDR >= 0x40000000
    /* Level-1 table: entry 0 device, entries 1..3 normal memory. */
    ldr     x1, =guest_l1_table
    ldr     x2, =(PTE_BLOCK | PTE_ATTR(ATTR_DEVICE) | PTE_AF | PTE_PXN | PTE_UXN)
    str     x2, [x1]
    ldr     x2, =(PTE_BLOCK | PTE_ATTR(ATTR_NORMAL) | PTE_SH_INNER | PTE_AF)
    mov     x3, #1
3:  orr     x4, x2, x3, lsl #30
    str     x4, [x1, x3, lsl #3]
    add     x3, x3, #1
    cmp     x3, #4
    b.lo    3b
#else
    /* Level-1 table: entries 0..2 normal memory, entry 3 device. */
    ldr     x1, =guest_l1_table
    ldr     x2, =(PTE_BLOCK | PTE_ATTR(ATTR_NORMAL) | PTE_SH_INNER | PTE_AF)
    mov     x3, #0
3:  orr     x4, x2, x3, lsl #30
    str     x4, [x1, x3, lsl #3]
    add     x3, x3, #1
    cmp     x3, #3
    b.lo    3b
    ldr     x2, =(PTE_BLOCK | PTE_ATTR(ATTR_DEVICE) | PTE_AF | PTE_PXN | PTE_UXN | (3 << 30))
    str     x2, [x1, #24]
#endif
    /* The table was written with the MMU (and caches) off: make sure no stale line hides it
     * from this CPU or from a secondary that turns its MMU on later. */
    mov     x3, x1
    add     x4, x1, #4096
4:  dc      civac, x3
    add     x3, x3, #64
    cmp     x3, x4
    b.lo    4b
    dsb     sy
    b       cpu_setup

/*
 * Secondary CPUs, started by guest_cpu_start() with PSCI CPU_ON: x0 (the context id) is the CPU
 * index, 1..GUEST_MAX_CPUS-1. Nothing touches memory before the MMU is on, so that every access
 * is coherent with the boot CPU's caches.
 */
    .global guest_secondary_entry
guest_secondary_entry:
    msr     daifset, #0xf
    mov     x19, #0                     /* no DTB */
    mov     x20, x0
    cbz     x20, park                   /* index 0 is the boot CPU's: never a secondary */
    cmp     x20, #GUEST_MAX_CPUS
    b.hs    park

/*
 * Every CPU, x20 = its index: its stack (the boot CPU's at __stack_top, CPU i's at the top of
 * slot i-1 of guest_secondary_stacks), TPIDR_EL1 = index, the vectors, FP/SIMD and the MMU on
 * the one identity map, then guest_cpu_main(index, DTB).
 */
cpu_setup:
    ldr     x1, =__stack_top
    ldr     x2, =guest_secondary_stacks
    mov     x3, #SECONDARY_STACK_SIZE
    madd    x2, x20, x3, x2
    cmp     x20, #0
    csel    x1, x1, x2, eq
    mov     sp, x1
    msr     tpidr_el1, x20

    ldr     x1, =guest_vectors
    msr     vbar_el1, x1
    mov     x1, #(3 << 20)              /* CPACR_EL1.FPEN = 0b11: no FP/SIMD traps at EL1 */
    msr     cpacr_el1, x1
    isb

    ldr     x1, =guest_l1_table
    ldr     x2, =((MAIR_NORMAL_WB << (8 * ATTR_NORMAL)) | (MAIR_DEVICE_nGnRE << (8 * ATTR_DEVICE)))
    msr     mair_el1, x2
    ldr     x2, =TCR_VALUE
    mrs     x3, id_aa64mmfr0_el1        /* IPS = the PA size this CPU reports */
    and     x3, x3, #7
    cmp     x3, #5                      /* at most 48 bits (values above need 52-bit support) */
    mov     x4, #5
    csel    x3, x3, x4, ls
    bfi     x2, x3, #32, #3
    msr     tcr_el1, x2
    msr     ttbr0_el1, x1
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    ldr     x2, =SCTLR_VALUE
    msr     sctlr_el1, x2
    isb
    ic      iallu
    dsb     nsh
    isb

    mov     x0, x20
    mov     x1, x19
    bl      guest_cpu_main
park:
    wfi
    b       park

/* Calls into the firmware or hypervisor; x0..x3 in, x0..x3 out (SMCCC: x4..x17 may change). */
    .section .text, "ax"
    .global guest_hvc
guest_hvc:
    hvc     #0
    ret
    .global guest_smc
guest_smc:
    smc     #0
    ret

    .section .bss.stacks, "aw", %nobits
    .balign 16
guest_secondary_stacks:
    .space  SECONDARY_STACK_SIZE * (GUEST_MAX_CPUS - 1)

    .section .bss.pagetable, "aw", %nobits
    .balign 4096
    .global guest_l1_table
guest_l1_table:
    .space 4096
