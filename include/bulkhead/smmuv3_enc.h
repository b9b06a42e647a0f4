/*
 * Arm SMMUv3 data structures, encoded and decoded as the specification (IHI 0070) lays them out:
 * its registers' fields, stream table entries (STEs) and level-1 descriptors, commands and event
 * records. Pure C, host-tested against the specification's field positions
 * (tests/host/test_smmuv3.c); drivers/smmuv3.c writes them to the hardware.
 */
#ifndef BULKHEAD_SMMUV3_ENC_H
#define BULKHEAD_SMMUV3_ENC_H

#include "types.h"

/* Register offsets. Page 1 (0x10000) holds the event queue's producer and consumer. */
#define SMMU_IDR0 0x00
#define SMMU_IDR1 0x04
#define SMMU_IDR5 0x14
#define SMMU_CR0 0x20
#define SMMU_CR0ACK 0x24
#define SMMU_CR1 0x28
#define SMMU_CR2 0x2c
#define SMMU_IRQ_CTRL 0x50
#define SMMU_IRQ_CTRLACK 0x54
#define SMMU_GERROR 0x60
#define SMMU_GERRORN 0x64
#define SMMU_STRTAB_BASE 0x80
#define SMMU_STRTAB_BASE_CFG 0x88
#define SMMU_CMDQ_BASE 0x90
#define SMMU_CMDQ_PROD 0x98
#define SMMU_CMDQ_CONS 0x9c
#define SMMU_EVENTQ_BASE 0xa0
#define SMMU_EVENTQ_PROD 0x100a8
#define SMMU_EVENTQ_CONS 0x100ac
#define SMMU_MMIO_SIZE 0x20000

#define SMMU_CR0_SMMUEN BIT(0)
#define SMMU_CR0_EVENTQEN BIT(2)
#define SMMU_CR0_CMDQEN BIT(3)
#define SMMU_IRQ_CTRL_GERROR BIT(0)
#define SMMU_IRQ_CTRL_EVENTQ BIT(2)
#define SMMU_CR2_RECINVSID BIT(1)
#define SMMU_GERROR_CMDQ_ERR BIT(0)
#define SMMU_GERROR_EVTQ_ABT BIT(2)
#define SMMU_Q_BASE_ALLOC BIT(62) /* RA for the command queue, WA for the event queue */
#define SMMU_CMDQ_CONS_ERR(cons) BITS(cons, 30, 24)
#define SMMU_Q_OVERFLOW BIT(31) /* EVENTQ_PROD.OVFLG, EVENTQ_CONS.OVACKFLG */

#define SMMU_STE_DWORDS 8
#define SMMU_CMD_DWORDS 2
#define SMMU_EVENT_DWORDS 4
#define SMMU_STRTAB_SPLIT 8 /* streams per level-2 table: 256 (a 16 KiB table) */

/* What the hypervisor needs to know of an SMMU, from its ID registers. */
struct smmu_caps {
    bool s2;                         /* IDR0.S2P: stage-2 translation */
    bool two_level;                  /* IDR0.ST_LEVEL: 2-level stream table */
    bool vmid16;                     /* IDR0.VMID16 */
    bool big_endian;                 /* IDR0.TTENDIAN: only big-endian walks */
    unsigned sid_bits;               /* IDR1.SIDSIZE */
    unsigned cmdq_log2, eventq_log2; /* IDR1.CMDQS, EVENTQS: the largest queues */
    unsigned oas_code;               /* IDR5.OAS, as VTCR_EL2.PS encodes sizes */
    bool gran4k;                     /* IDR5.GRAN4K */
};
void smmu_decode_idr(uint32_t idr0, uint32_t idr1, uint32_t idr5, struct smmu_caps *caps);

/* The stream table's format for sid_bits streams: 2-level where the SMMU has it and one
 * level-2 table does not cover every stream. STRTAB_BASE_CFG's value; *l1_entries is the
 * number of level-1 descriptors (2-level) or of STEs (linear). */
uint32_t smmu_strtab_cfg(const struct smmu_caps *caps, unsigned *l1_entries, bool *two_level);

/* Queue base registers: 64-byte aligned pa, log2 of the number of entries. */
uint64_t smmu_q_base(uint64_t pa, unsigned log2);
/* Producer and consumer indexes: the entry in the low log2 bits, a wrap bit above them. */
uint32_t smmu_q_inc(uint32_t idx, unsigned log2);
bool smmu_q_empty(uint32_t prod, uint32_t cons, unsigned log2);
bool smmu_q_full(uint32_t prod, uint32_t cons, unsigned log2);
unsigned smmu_q_slot(uint32_t idx, unsigned log2);

/* Stage-2 set-up of the streams a VM owns: its stage-2 tables are the CPU's (one set for both
 * walkers), so the translation control follows VTCR_EL2's: IPA size, start level, output size
 * (PS, VTCR_EL2's code), 4 KiB granule, walks write-back cacheable and inner shareable. */
struct smmu_s2 {
    uint16_t vmid;
    uint64_t ttb; /* the root of the VM's stage 2 (VTTBR_EL2's BADDR) */
    unsigned ipa_bits, start_level, ps_code;
};
/* The output-size code (VTCR_EL2.PS, SMMU_IDR5.OAS) of the smallest size of at least bits. */
unsigned smmu_ps_code(unsigned bits);
/* An STE that aborts every transaction of its stream (V=1, Config=abort). */
void smmu_ste_abort(uint64_t ste[SMMU_STE_DWORDS]);
/* An STE that translates its stream's addresses with the VM's stage 2 only; faults recorded. */
void smmu_ste_s2(uint64_t ste[SMMU_STE_DWORDS], const struct smmu_s2 *s2);
/* A level-1 descriptor for a level-2 table of 2^span_log2 STEs at l2_pa; 0 (Span 0) is invalid:
 * its streams' transactions abort and are recorded as C_BAD_STREAMID. */
uint64_t smmu_l1_desc(uint64_t l2_pa, unsigned span_log2);

/* Commands. */
void smmu_cmd_cfgi_ste(uint64_t cmd[SMMU_CMD_DWORDS], uint32_t sid);
void smmu_cmd_cfgi_all(uint64_t cmd[SMMU_CMD_DWORDS]);
void smmu_cmd_tlbi_nsnh_all(uint64_t cmd[SMMU_CMD_DWORDS]);
void smmu_cmd_tlbi_el2_all(uint64_t cmd[SMMU_CMD_DWORDS]);
void smmu_cmd_tlbi_s12_vmall(uint64_t cmd[SMMU_CMD_DWORDS], uint16_t vmid);
/* Leaf 0: the walk caches' entries for the address go too (a table entry may have changed). */
void smmu_cmd_tlbi_s2_ipa(uint64_t cmd[SMMU_CMD_DWORDS], uint16_t vmid, uint64_t ipa);
/* CMD_SYNC without interrupt or MSI: its completion is seen as CMDQ_CONS passing it. */
void smmu_cmd_sync(uint64_t cmd[SMMU_CMD_DWORDS]);

/* Command opcodes (dword 0, bits 7:0). */
#define SMMU_CMD_CFGI_STE 0x03
#define SMMU_CMD_CFGI_ALL 0x04
#define SMMU_CMD_TLBI_EL2_ALL 0x20
#define SMMU_CMD_TLBI_S12_VMALL 0x28
#define SMMU_CMD_TLBI_S2_IPA 0x2a
#define SMMU_CMD_TLBI_NSNH_ALL 0x30
#define SMMU_CMD_SYNC 0x46

/* Event records. */
#define SMMU_EVT_BAD_STREAMID 0x02
#define SMMU_EVT_STE_FETCH 0x03
#define SMMU_EVT_BAD_STE 0x04
#define SMMU_EVT_TRANSLATION 0x10
#define SMMU_EVT_ADDR_SIZE 0x11
#define SMMU_EVT_ACCESS 0x12
#define SMMU_EVT_PERMISSION 0x13

struct smmu_event {
    uint8_t type;
    uint32_t sid;
    bool read;     /* RnW: the device read (false: it wrote) */
    bool stage2;   /* S2: the fault is stage 2's */
    uint64_t addr; /* InputAddr: the address the device used */
};
void smmu_decode_event(const uint64_t ev[SMMU_EVENT_DWORDS], struct smmu_event *out);
/* "translation fault", "bad stream ID"...; "event 0x.." is left to the caller (NULL). */
const char *smmu_event_name(uint8_t type);

#endif
