/*
 * SMMUv3 encodings (include/bulkhead/smmuv3_enc.h). Field positions are the specification's
 * (Arm IHI 0070): a bit number in a comment is the field's position in its 64-bit word.
 */
#include "bulkhead/smmuv3_enc.h"

#include "bulkhead/string.h"

#define FIELD(v, lo) ((uint64_t)(v) << (lo))

/* STE dword 0 */
#define STE_V BIT(0)
#define STE_CONFIG_ABORT FIELD(0, 1)
#define STE_CONFIG_S2 FIELD(6, 1)
/* STE dword 1: SHCFG 45:44, 1 = use the incoming shareability */
#define STE_SHCFG_INCOMING FIELD(1, 44)
/* STE dword 2 */
#define STE_S2VMID(v) FIELD(v, 0)
#define STE_S2T0SZ(v) FIELD(v, 32)
#define STE_S2SL0(v) FIELD(v, 38)
#define STE_S2IR0_WBWA FIELD(1, 40)
#define STE_S2OR0_WBWA FIELD(1, 42)
#define STE_S2SH0_INNER FIELD(3, 44)
#define STE_S2TG_4K FIELD(0, 46)
#define STE_S2PS(v) FIELD(v, 48)
#define STE_S2AA64 BIT(51)
#define STE_S2AFFD BIT(53)
#define STE_S2PTW BIT(54)
#define STE_S2R BIT(58)
/* STE dword 3: S2TTB 51:4 */
#define STE_S2TTB_MASK 0x000ffffffffffff0ULL

#define L1_SPAN(v) FIELD(v, 0)
#define L1_L2PTR_MASK 0x000fffffffffffc0ULL

#define Q_ADDR_MASK 0x000fffffffffffe0ULL

void smmu_decode_idr(uint32_t idr0, uint32_t idr1, uint32_t idr5, struct smmu_caps *caps)
{
    *caps = (struct smmu_caps){
        .s2 = BITS(idr0, 0, 0),
        .two_level = BITS(idr0, 28, 27) == 1,
        .vmid16 = BITS(idr0, 18, 18),
        .big_endian = BITS(idr0, 22, 21) == 3,
        .sid_bits = (unsigned)BITS(idr1, 5, 0),
        .eventq_log2 = (unsigned)BITS(idr1, 20, 16),
        .cmdq_log2 = (unsigned)BITS(idr1, 25, 21),
        .oas_code = (unsigned)BITS(idr5, 2, 0),
        .gran4k = BITS(idr5, 4, 4),
    };
}

uint32_t smmu_strtab_cfg(const struct smmu_caps *caps, unsigned *l1_entries, bool *two_level)
{
    unsigned bits = caps->sid_bits;

    *two_level = caps->two_level && bits > SMMU_STRTAB_SPLIT;
    if (*two_level) {
        *l1_entries = 1u << (bits - SMMU_STRTAB_SPLIT);
        /* FMT 17:16 = 1 (2-level), SPLIT 10:6, LOG2SIZE 5:0 */
        return (uint32_t)(FIELD(1, 16) | FIELD(SMMU_STRTAB_SPLIT, 6) | bits);
    }
    *l1_entries = 1u << bits;
    return bits;
}

uint64_t smmu_q_base(uint64_t pa, unsigned log2)
{
    return (pa & Q_ADDR_MASK) | log2;
}

uint32_t smmu_q_inc(uint32_t idx, unsigned log2)
{
    uint32_t mask = (2u << log2) - 1; /* the entry and the wrap bit */

    return (idx & ~mask) | ((idx + 1) & mask);
}

unsigned smmu_q_slot(uint32_t idx, unsigned log2)
{
    return idx & ((1u << log2) - 1);
}

bool smmu_q_empty(uint32_t prod, uint32_t cons, unsigned log2)
{
    uint32_t mask = (2u << log2) - 1;

    return (prod & mask) == (cons & mask);
}

bool smmu_q_full(uint32_t prod, uint32_t cons, unsigned log2)
{
    uint32_t mask = (2u << log2) - 1, wrap = 1u << log2;

    return ((prod ^ cons) & mask) == wrap;
}

unsigned smmu_ps_code(unsigned bits)
{
    static const unsigned sizes[] = {32, 36, 40, 42, 44, 48, 52};
    unsigned code = 0;

    while (code + 1 < ARRAY_SIZE(sizes) && sizes[code] < bits) {
        code++;
    }
    return code;
}

void smmu_ste_abort(uint64_t ste[SMMU_STE_DWORDS])
{
    memset(ste, 0, SMMU_STE_DWORDS * sizeof(uint64_t));
    ste[0] = STE_V | STE_CONFIG_ABORT;
}

void smmu_ste_s2(uint64_t ste[SMMU_STE_DWORDS], const struct smmu_s2 *s2)
{
    /* VTCR_EL2.SL0 for the 4 KiB granule: 0 = level 2, 1 = level 1, 2 = level 0. */
    unsigned sl0 = 2 - s2->start_level;

    memset(ste, 0, SMMU_STE_DWORDS * sizeof(uint64_t));
    ste[1] = STE_SHCFG_INCOMING;
    /* S2PTW: a walk's own accesses never go to device memory (the VM's windows are Device). */
    ste[2] = STE_S2VMID(s2->vmid) | STE_S2T0SZ(64 - s2->ipa_bits) | STE_S2SL0(sl0) |
             STE_S2IR0_WBWA | STE_S2OR0_WBWA | STE_S2SH0_INNER | STE_S2TG_4K |
             STE_S2PS(s2->ps_code) | STE_S2AA64 | STE_S2AFFD | STE_S2PTW | STE_S2R;
    ste[3] = s2->ttb & STE_S2TTB_MASK;
    /* Valid last: the SMMU may fetch an STE while it is written (then invalidated by
     * CMD_CFGI_STE). */
    ste[0] = STE_V | STE_CONFIG_S2;
}

uint64_t smmu_l1_desc(uint64_t l2_pa, unsigned span_log2)
{
    /* Span is log2(STEs) + 1. */
    return (l2_pa & L1_L2PTR_MASK) | L1_SPAN(span_log2 + 1);
}

static void cmd(uint64_t c[SMMU_CMD_DWORDS], uint8_t opcode, uint64_t dw0, uint64_t dw1)
{
    c[0] = opcode | dw0;
    c[1] = dw1;
}

void smmu_cmd_cfgi_ste(uint64_t c[SMMU_CMD_DWORDS], uint32_t sid)
{
    cmd(c, SMMU_CMD_CFGI_STE, FIELD(sid, 32), BIT(0) /* Leaf */);
}

void smmu_cmd_cfgi_all(uint64_t c[SMMU_CMD_DWORDS])
{
    cmd(c, SMMU_CMD_CFGI_ALL, 0, 31 /* Range: every stream */);
}

void smmu_cmd_tlbi_nsnh_all(uint64_t c[SMMU_CMD_DWORDS])
{
    cmd(c, SMMU_CMD_TLBI_NSNH_ALL, 0, 0);
}

void smmu_cmd_tlbi_el2_all(uint64_t c[SMMU_CMD_DWORDS])
{
    cmd(c, SMMU_CMD_TLBI_EL2_ALL, 0, 0);
}

void smmu_cmd_tlbi_s12_vmall(uint64_t c[SMMU_CMD_DWORDS], uint16_t vmid)
{
    cmd(c, SMMU_CMD_TLBI_S12_VMALL, FIELD(vmid, 32), 0);
}

void smmu_cmd_tlbi_s2_ipa(uint64_t c[SMMU_CMD_DWORDS], uint16_t vmid, uint64_t ipa)
{
    /* Address 51:12 in dword 1, Leaf bit 0 clear. */
    cmd(c, SMMU_CMD_TLBI_S2_IPA, FIELD(vmid, 32), ipa & 0x000ffffffffff000ULL);
}

void smmu_cmd_sync(uint64_t c[SMMU_CMD_DWORDS])
{
    /* CS 13:12 = 0 (no signal), MSH 23:22 = inner shareable. */
    cmd(c, SMMU_CMD_SYNC, FIELD(3, 22), 0);
}

void smmu_decode_event(const uint64_t ev[SMMU_EVENT_DWORDS], struct smmu_event *out)
{
    *out = (struct smmu_event){
        .type = (uint8_t)BITS(ev[0], 7, 0),
        .sid = (uint32_t)BITS(ev[0], 63, 32),
        .read = BITS(ev[1], 35, 35),
        .stage2 = BITS(ev[1], 39, 39),
        .addr = ev[2],
    };
}

const char *smmu_event_name(uint8_t type)
{
    switch (type) {
    case SMMU_EVT_BAD_STREAMID: return "stream owned by no VM";
    case SMMU_EVT_STE_FETCH: return "stream table entry unreadable";
    case SMMU_EVT_BAD_STE: return "bad stream table entry";
    case SMMU_EVT_TRANSLATION: return "address not mapped";
    case SMMU_EVT_ADDR_SIZE: return "address beyond the VM's IPA size";
    case SMMU_EVT_ACCESS: return "access flag fault";
    case SMMU_EVT_PERMISSION: return "permission fault";
    default: return NULL;
    }
}
