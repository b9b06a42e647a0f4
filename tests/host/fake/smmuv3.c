/* No SMMU on the host: el2/vm.c and el2/traps.c link against these (drivers/smmuv3.c drives
 * the hardware; its encodings, drivers/smmuv3_enc.c, are tested in test_smmuv3). */
#include "bulkhead/smmuv3.h"

bool smmu_init(const struct board_smmu *smmu)
{
    (void)smmu;
    return false;
}

bool smmu_active(void)
{
    return false;
}

int smmu_bind(uint32_t sid_base, uint32_t count, const struct smmu_owner *owner)
{
    (void)sid_base;
    (void)count;
    (void)owner;
    return -1;
}

void smmu_invalidate_s2(uint16_t vmid, uint64_t ipa, uint64_t size)
{
    (void)vmid;
    (void)ipa;
    (void)size;
}

bool smmu_owns_irq(unsigned intid)
{
    (void)intid;
    return false;
}

void smmu_irq(void)
{
}
