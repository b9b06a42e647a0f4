/* The demo guest: says hello with the name from its bootargs ("name=..."), tells what its DTB
 * shows, counts to five and powers off. Given a shared-memory region and its doorbell (make
 * run's tree), it then publishes a counter in the region's second word, ten times a second,
 * until every other member of the channel has left (the doorbell's LIVE mask). */
#include <libfdt.h>

#include "bulkhead/shmem.h"
#include "guest.h"

#define COUNT_MS 400
#define PUBLISH_MS 100

static uint64_t reg_base(const void *fdt, const char *compatible)
{
    int node = fdt_node_offset_by_compatible(fdt, -1, compatible);
    int len = 0;
    const fdt32_t *reg = node >= 0 ? fdt_getprop(fdt, node, "reg", &len) : NULL;

    return reg && len >= 8 ? ((uint64_t)fdt32_to_cpu(reg[0]) << 32) | fdt32_to_cpu(reg[1]) : 0;
}

/* Publishes until the peers are gone; returns at once without a channel. */
static void publish(const char *name)
{
    uint64_t region = guest.fdt_ok ? reg_base(guest.fdt, "bulkhead,shared-memory-v1") : 0;
    uintptr_t db = guest.fdt_ok ? (uintptr_t)reg_base(guest.fdt, "bulkhead,doorbell") : 0;

    if (!region || !db) {
        return;
    }
    volatile uint64_t *words = (volatile uint64_t *)(uintptr_t)region;
    uint32_t peers = mmio_read32(db + SHM_DB_MEMBERS) & ~(1u << mmio_read32(db + SHM_DB_ID));
    printf("%s: publishing a counter in shared memory at 0x%lx (read it: devmem 0x%lx 64); "
           "I power off once the other VMs on the channel are gone\n",
           name, (unsigned long)(region + 8), (unsigned long)(region + 8));
    for (uint64_t n = 1; mmio_read32(db + SHM_DB_LIVE) & peers; n++) {
        words[1] = n;
        delay_ms(PUBLISH_MS);
    }
    printf("%s: the channel's other members have left, after %lu values\n", name,
           (unsigned long)words[1]);
}

int main(void *dtb)
{
    char name[32] = "guest";
    uint64_t el;

    guest_init(dtb);
    bootarg("name", name, sizeof(name));
    asm volatile("mrs %0, CurrentEL" : "=r"(el));
    printf("Hello from %s, a Bulkhead demo guest running at EL%lu!\n", name,
           (unsigned long)BITS(el, 3, 2));
    if (guest.fdt_ok) {
        printf("%s: my DTB at %p shows %lu MiB of RAM at 0x%lx, %u CPU%s, a PL011 at 0x%lx\n", name,
               guest.fdt, (unsigned long)(guest.ram_size >> 20), (unsigned long)guest.ram_base,
               guest.nr_cpus, guest.nr_cpus == 1 ? "" : "s", (unsigned long)guest.uart);
        printf("%s: bootargs \"%s\", PSCI through %s\n", name, guest.bootargs,
               guest.psci_smc ? "SMC" : "HVC");
    } else {
        printf("%s: no valid DTB at %p\n", name, dtb);
    }
    for (int i = 1; i <= 5; i++) {
        printf("%s counts %d\n", name, i);
        delay_ms(COUNT_MS);
    }
    publish(name);
    printf("%s says goodbye, powering off\n", name);
    guest_halt();
}
