/* List-register encodings: GICH_LR<n> (GICv2) and ICH_LR<n>_EL2 (GICv3). Pure. */
#include "bulkhead/vgic.h"

#define V2_LR_VIRTID(v) ((v)&0x3ffu)
#define V2_LR_PHYSID_SHIFT 10
#define V2_LR_CPUID_SHIFT 10
#define V2_LR_EOI BIT(19)
#define V2_LR_PRIO_SHIFT 23
#define V2_LR_PENDING BIT(28)
#define V2_LR_ACTIVE BIT(29)
#define V2_LR_GRP1 BIT(30)
#define V2_LR_HW BIT(31)

#define V3_LR_PINTID_SHIFT 32
#define V3_LR_EOI BIT(41)
#define V3_LR_PRIO_SHIFT 48
#define V3_LR_GROUP BIT(60)
#define V3_LR_HW BIT(61)
#define V3_LR_PENDING VGIC_V3_LR_PENDING
#define V3_LR_ACTIVE BIT(63)

uint32_t vgic_v2_lr_encode(const struct lr_state *lr)
{
    uint64_t v;

    if (!lr->pending && !lr->active) {
        return 0;
    }
    v = V2_LR_VIRTID(lr->intid) | ((uint64_t)(lr->priority >> 3) << V2_LR_PRIO_SHIFT);
    if (lr->hw) {
        v |= V2_LR_HW | ((uint64_t)(lr->pintid & 0x3ff) << V2_LR_PHYSID_SHIFT);
    } else {
        v |= (uint64_t)(lr->source & 7) << V2_LR_CPUID_SHIFT;
        v |= lr->eoi_maint ? V2_LR_EOI : 0;
    }
    v |= lr->pending ? V2_LR_PENDING : 0;
    v |= lr->active ? V2_LR_ACTIVE : 0;
    v |= lr->group1 ? V2_LR_GRP1 : 0;
    return (uint32_t)v;
}

void vgic_v2_lr_decode(uint32_t val, struct lr_state *lr)
{
    *lr = (struct lr_state){
        .intid = V2_LR_VIRTID(val),
        .priority = (uint8_t)(BITS(val, 27, 23) << 3),
        .pending = val & V2_LR_PENDING,
        .active = val & V2_LR_ACTIVE,
        .group1 = val & V2_LR_GRP1,
        .hw = val & V2_LR_HW,
    };
    if (lr->hw) {
        lr->pintid = (uint32_t)BITS(val, 19, 10);
    } else {
        lr->source = (uint8_t)BITS(val, 12, 10);
        lr->eoi_maint = val & V2_LR_EOI;
    }
}

uint64_t vgic_v3_lr_encode(const struct lr_state *lr)
{
    uint64_t v;

    if (!lr->pending && !lr->active) {
        return 0;
    }
    v = lr->intid | ((uint64_t)lr->priority << V3_LR_PRIO_SHIFT);
    if (lr->hw) {
        v |= V3_LR_HW | ((uint64_t)(lr->pintid & 0x1fff) << V3_LR_PINTID_SHIFT);
    } else {
        v |= lr->eoi_maint ? V3_LR_EOI : 0;
    }
    v |= lr->pending ? V3_LR_PENDING : 0;
    v |= lr->active ? V3_LR_ACTIVE : 0;
    v |= lr->group1 ? V3_LR_GROUP : 0;
    return v;
}

void vgic_v3_lr_decode(uint64_t val, struct lr_state *lr)
{
    *lr = (struct lr_state){
        .intid = (uint32_t)val,
        .priority = (uint8_t)BITS(val, 55, 48),
        .pending = val & V3_LR_PENDING,
        .active = val & V3_LR_ACTIVE,
        .group1 = val & V3_LR_GROUP,
        .hw = val & V3_LR_HW,
    };
    if (lr->hw) {
        lr->pintid = (uint32_t)BITS(val, 44, 32);
    } else {
        lr->eoi_maint = val & V3_LR_EOI;
    }
}
