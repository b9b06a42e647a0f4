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

#endif
