/* Bring-up of the secondary CPUs, through PSCI CPU_ON or the spin table. */
#include "bulkhead/smp.h"

#include "arch/sysreg.h"
#include "bulkhead/boot.h"
#include "bulkhead/cpu.h"
#include "bulkhead/firmware.h"
#include "bulkhead/gic.h"
#include "bulkhead/hvcall.h"
#include "bulkhead/mm.h"
#include "bulkhead/printk.h"
#include "bulkhead/sched.h"
#include "bulkhead/stage2.h"

/* Read by a secondary CPU before its MMU is on (head.S): in the image, not in .bss. */
volatile uint64_t secondary_boot_index __attribute__((section(".data")));

static bool start_secondary(unsigned i)
{
    const struct board_cpu *cpu = &board.cpus[i];
    uint64_t entry = (uint64_t)(uintptr_t)secondary_entry;

    secondary_boot_index = i;
    dcache_clean_poc(&secondary_boot_index, sizeof(secondary_boot_index));
    if (cpu->enable_method == CPU_ENABLE_PSCI) {
        int64_t rc =
            firmware_psci(board.psci, PSCI_0_2_FN_CPU_ON | PSCI_FN64_BIT, cpu->mpidr, entry, 0);
        if (rc != PSCI_RET_SUCCESS) {
            printk("bulkhead: CPU %u (mpidr 0x%llx): PSCI CPU_ON failed (%lld)\n", i,
                   (unsigned long long)cpu->mpidr, (long long)rc);
            return false;
        }
    } else if (cpu->enable_method == CPU_ENABLE_SPIN_TABLE && cpu->release_addr) {
        volatile uint64_t *release = (volatile uint64_t *)(uintptr_t)cpu->release_addr;
        mmu_map_ram(ALIGN_DOWN(cpu->release_addr, PAGE_SIZE), PAGE_SIZE);
        *release = entry;
        dcache_clean_poc(release, sizeof(*release));
        sev();
    } else {
        printk("bulkhead: CPU %u: no enable method, left off\n", i);
        return false;
    }
    /* Wait long enough for the slowest emulation; a CPU that never arrives is left out. */
    for (uint64_t spin = 0; spin < 200000000ULL; spin++) {
        if (__atomic_load_n(&pcpus[i].online, __ATOMIC_ACQUIRE)) {
            return true;
        }
    }
    printk("bulkhead: CPU %u did not come up\n", i);
    return false;
}

void smp_boot_secondaries(void)
{
    for (unsigned i = 1; i < board.nr_cpus; i++) {
        start_secondary(i);
    }
}

void secondary_main(unsigned index)
{
    mmu_enable_secondary();
    cpu_init(index);
    s2_cpu_init();
    gic_cpu_init(index);
    __atomic_store_n(&pcpus[index].online, true, __ATOMIC_RELEASE);
    sched_start_cpu();
    pcpu_schedule();
}
