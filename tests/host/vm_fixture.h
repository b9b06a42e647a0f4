/*
 * The VM that test_vm.c and test_vm_operator.c run el2/vm.c on: vms[0], named "vm3", two vCPUs,
 * 8 MiB of host RAM at RAM_IPA with a kernel, an initrd and a device tree to load, over the fakes
 * (tests/host/fake/fake.h); vms[1] runs too, so stopping vms[0] does not power the machine off.
 */
#ifndef HOST_VM_FIXTURE_H
#define HOST_VM_FIXTURE_H

#include <stdint.h>

#include "bulkhead/vm.h"

#define BLOCK MiB(2)
#define RAM_IPA 0x40000000ULL
#define RAM_SIZE MiB(8) /* blocks 0..3 */
#define KERNEL_IPA (RAM_IPA + 0x80000)
#define KERNEL_SIZE 0x3000
/* An initrd where DC ZVA cannot reach its edges: the bytes around it are zeroed by stores. */
#define INITRD_IPA (RAM_IPA + BLOCK + 0x1010) /* block 1 */
#define INITRD_SIZE 0x33
#define DTB_IPA (RAM_IPA + MiB(6)) /* block 3 */
#define DTB_SIZE 0x100
#define BOOT_COUNT_AT 0x10
#define KASLR_SEED_AT 0x20

#define GARBAGE 0xa5 /* what RAM holds before the VM's first life, or after a guest used it */

extern uint8_t *ram;
extern uint8_t kernel_image[KERNEL_SIZE];
extern uint8_t initrd_image[INITRD_SIZE];
extern uint8_t dtb_image[DTB_SIZE];
extern struct vm *const vm; /* &vms[0] */

/* cmocka group setup and teardown: allocate the RAM and fill the images; free the RAM. */
int vm_fixture_group_setup(void **state);
int vm_fixture_group_teardown(void **state);
/* Per-test setup: fakes and captured output reset, RAM full of GARBAGE, the VM built afresh. */
int vm_fixture_setup(void **state);

/* The host address of a guest RAM address. */
static inline uint8_t *host(ipa_t ipa)
{
    return ram + (ipa - RAM_IPA);
}

#endif
