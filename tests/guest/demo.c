/* The demo guest: says hello with the name from its bootargs ("name=..."), tells what its DTB
 * shows, counts to five and powers off. */
#include "guest.h"

#define COUNT_MS 400

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
    printf("%s says goodbye, powering off\n", name);
    guest_halt();
}
