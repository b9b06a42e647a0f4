/*
 * The guest-visible hypercall interface: SMCCC function IDs the hypervisor answers on HVC (and on
 * trapped SMC). Shared by the hypervisor and our test guests, so plain C constants only.
 */
#ifndef BULKHEAD_HVCALL_H
#define BULKHEAD_HVCALL_H

/* PSCI 1.1 (DEN0022). The SMC64 forms are 0xC4000000 | function. */
#define PSCI_0_2_FN_PSCI_VERSION 0x84000000u
#define PSCI_0_2_FN_CPU_SUSPEND 0x84000001u
#define PSCI_0_2_FN_CPU_OFF 0x84000002u
#define PSCI_0_2_FN_CPU_ON 0x84000003u
#define PSCI_0_2_FN_AFFINITY_INFO 0x84000004u
#define PSCI_0_2_FN_MIGRATE_INFO_TYPE 0x84000006u
#define PSCI_0_2_FN_SYSTEM_OFF 0x84000008u
#define PSCI_0_2_FN_SYSTEM_RESET 0x84000009u
#define PSCI_1_0_FN_PSCI_FEATURES 0x8400000Au
#define PSCI_FN64_BIT 0x40000000u

#define PSCI_RET_SUCCESS 0
#define PSCI_RET_NOT_SUPPORTED (-1)
#define PSCI_RET_INVALID_PARAMS (-2)
#define PSCI_RET_DENIED (-3)
#define PSCI_RET_ALREADY_ON (-4)
#define PSCI_RET_ON_PENDING (-5)
#define PSCI_RET_INTERNAL_FAILURE (-6)
#define PSCI_RET_NOT_PRESENT (-7)
#define PSCI_RET_DISABLED (-8)
#define PSCI_RET_INVALID_ADDRESS (-9)

#define PSCI_VERSION_1_1 0x00010001u

/* SMCCC: the architecture service (VERSION, ARCH_FEATURES). */
#define SMCCC_VERSION 0x80000000u
#define SMCCC_ARCH_FEATURES 0x80000001u
#define SMCCC_VERSION_1_1 0x00010001u
#define SMCCC_RET_NOT_SUPPORTED 0xFFFFFFFFFFFFFFFFull /* -1 */

/* Bulkhead's own calls, in the SMCCC "vendor specific hypervisor service" range (owner 6). */
#define BH_HVC_CALL_COUNT 0x8600FF00u /* number of calls below */
#define BH_HVC_UID 0x8600FF01u        /* x0..x3: the UID, as SMCCC's standard query */
#define BH_HVC_BOOT_COUNT 0x86000001u /* how many times this VM was reset since boot */
#define BH_HVC_NULL 0x86000002u       /* returns 0 at once: the cheapest exit, for benchmarks */

/* The console monitor's calls, for a VM with bulkhead,monitor (docs/HYPERCALLS.md); any other
 * VM gets SMCCC_RET_NOT_SUPPORTED. */
#define BH_HVC_VM_COUNT 0x86000010u   /* x0: number of VMs, x1: the caller's own VM number */
#define BH_HVC_VM_INFO 0x86000011u    /* (n, field): x0 the field's value, or INVALID_PARAMS */
#define BH_HVC_VM_CONTROL 0x86000012u /* (n, op): x0 0, DENIED or INVALID_PARAMS */
/* (offset, ipa, len): x0 bytes copied, x1 the first one's offset, x2 the log's end offset */
#define BH_HVC_LOG_READ 0x86000013u
#define BH_HVC_IS_MONITOR(fid) ((fid) >= BH_HVC_VM_COUNT && (fid) <= BH_HVC_LOG_READ)

/* Doorbells of shared-memory channels (docs/CONFIG.md, "Sharing memory between VMs"): the
 * same as the doorbell's RING and PENDING registers, without an MMIO exit's decoding. x1: the
 * region's index among the caller's maps. RING (x2: mask of members): x0 0, DENIED if one is not
 * on the channel (nothing rung), INVALID_PARAMS if there is no such doorbell. ACK: x0 the pending
 * mask, now cleared. */
#define BH_HVC_DOORBELL_RING 0x86000020u
#define BH_HVC_DOORBELL_ACK 0x86000021u

/* BH_HVC_VM_INFO's fields. */
#define BH_VM_STATE 0    /* BH_VM_STATE_* */
#define BH_VM_VCPUS 1    /* number of vCPUs */
#define BH_VM_MEM_MIB 2  /* RAM, MiB */
#define BH_VM_UPTIME_S 3 /* seconds since its last start; 0 unless running or paused */
#define BH_VM_FAULTS 4   /* guest faults answered since boot */
#define BH_VM_RESETS 5   /* resets and restarts since boot (its boot count) */
#define BH_VM_RESTARTS 6 /* restarts made by its on-crash policy */
#define BH_VM_PRIVILEGED 7
#define BH_VM_EXITS 8 /* 8..13: exits by class: hvc, sysreg, mmio, wfi, irq, other */
#define BH_VM_PCPU 16 /* 16 + i: the physical CPU of vCPU i */
#define BH_VM_NAME 32 /* 32 + k: bytes 8k..8k+7 of its name, little-endian, NUL-padded */

#define BH_VM_STATE_RUNNING 0
#define BH_VM_STATE_PAUSED 1
#define BH_VM_STATE_STOPPED 2
#define BH_VM_STATE_OFF 3
#define BH_VM_STATE_RESETTING 4

/* BH_HVC_VM_CONTROL's operations. */
#define BH_VM_OP_STOP 0
#define BH_VM_OP_RESTART 1
#define BH_VM_OP_PAUSE 2
#define BH_VM_OP_RESUME 3
#define BH_VM_OP_MOVE 4 /* x3: byte i is the physical CPU vCPU i goes to */
#define BH_VM_OP_SNAPSHOT 5
#define BH_VM_OP_RESTORE 6

#endif
