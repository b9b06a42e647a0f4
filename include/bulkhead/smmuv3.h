/*
 * The board's SMMUv3, driven at EL2 (drivers/smmuv3.c): DMA of the devices a VM owns goes through
 * that VM's own stage 2, the tables its CPUs use, so a device sees exactly the VM's IPA space;
 * every other stream aborts. Faults come from the event queue and are reported naming the VM.
 * Without an SMMU (or one without stage 2) every function here is a no-op and smmu_active() is
 * false: devices then do DMA with physical addresses, as without an IOMMU.
 */
#ifndef BULKHEAD_SMMUV3_H
#define BULKHEAD_SMMUV3_H

#include "config.h"
#include "smmuv3_enc.h"

/* The VM that owns streams, as the SMMU needs it. Kept by pointer: it lives as long as the VM. */
struct smmu_owner {
    const char *name; /* for messages */
    struct smmu_s2 s2;
    /* A DMA of the VM's was blocked (from the CPU that took the SMMU's interrupt, no lock
     * held): its fault policy applies. */
    void (*dma_fault)(void *ctx);
    void *ctx;
};

/* At boot, before any VM exists: resets the SMMU (its MMIO already mapped at EL2), builds the
 * stream table with every stream aborting, the command and event queues, and enables
 * translation. Says on the console what it found; false if it cannot be used. */
bool smmu_init(const struct board_smmu *smmu);
bool smmu_active(void);

/* Streams [sid_base, sid_base + count) translate through owner's stage 2 from now on. At boot
 * only, before the VM runs. -1 after saying why (no SMMU, out of stream-table memory). */
int smmu_bind(uint32_t sid_base, uint32_t count, const struct smmu_owner *owner);

/* The VM with VMID vmid changed or removed stage-2 entries covering [ipa, ipa + size): the
 * SMMU's TLB and walk caches forget them before this returns (CMD_TLBI_S2_IPA or
 * CMD_TLBI_S12_VMALL, then CMD_SYNC), so the caller may write the new entry. Any CPU. */
void smmu_invalidate_s2(uint16_t vmid, uint64_t ipa, uint64_t size);

/* The SMMU's event queue or global error interrupt: handled by smmu_irq(), on any CPU. */
bool smmu_owns_irq(unsigned intid);
void smmu_irq(void);

#endif
