/*
 * Snapshots of paused VMs (el2/snapshot.c): a VM with bulkhead,snapshot keeps one, in RAM set
 * aside at boot (as much as its own, and SNAPSHOT_STATE_SIZE more for the rest): its RAM, each
 * vCPU's registers and EL1 context, its vGIC, timers and emulated devices. Restoring it brings the
 * VM back to that moment, faster than a cold boot. Devices whose state is not only the
 * hypervisor's (passed through, shared memory, virtio) cannot be snapshotted: such a VM is
 * refused.
 */
#ifndef BULKHEAD_SNAPSHOT_H
#define BULKHEAD_SNAPSHOT_H

#include "types.h"

#define SNAPSHOT_STATE_SIZE MiB(2) /* a VM_RAM_ALIGN multiple */

struct vm;

/* The VM must be paused, every vCPU held. Return false, with why filled in, if refused. */
bool vm_snapshot_take(struct vm *vm, char *why, size_t len);
bool vm_snapshot_restore(struct vm *vm, char *why, size_t len);

#endif
