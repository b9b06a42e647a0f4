/*
 * Physical CPUs: bring-up of the secondaries, and the loop each CPU runs: wait for the vCPU
 * pinned to it to be started, then run it. A CPU with nothing to run sleeps in WFE; starting a
 * vCPU (VM start, reset, PSCI CPU_ON) sends SEV.
 */
#include "arch/sysreg.h"
#include "bulkhead/firmware.h"
#include "bulkhead/gic.h"
#include "bulkhead/hvcall.h"
#include "bulkhead/mm.h"
#include "bulkhead/printk.h"
#include "bulkhead/stage2.h"
#include "bulkhead/vm.h"

/* Read by a secondary CPU before its MMU is on (head.S). */
volatile uint64_t secondary_boot_index __attribute__((section(".data")));

extern char secondary_entry[];
void secondary_main(unsigned index) NORETURN;
void cpu_init(unsigned index);

int64_t firmware_psci(enum psci_conduit conduit, uint32_t fid, uint64_t a1, uint64_t a2,
                      uint64_t a3)
{
    register uint64_t x0 __asm__("x0") = fid;
    register uint64_t x1 __asm__("x1") = a1;
    register uint64_t x2 __asm__("x2") = a2;
    register uint64_t x3 __asm__("x3") = a3;

    /* An HVC conduit at EL2 would call ourselves: only SMC reaches firmware from here. */
    if (conduit != PSCI_CONDUIT_SMC) {
        return PSCI_RET_NOT_SUPPORTED;
    }
    __asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
    return (int64_t)x0;
}

static bool start_secondary(unsigned i)
{
    const struct board_cpu *cpu = &board.cpus[i];
    uint64_t entry = (uint64_t)(uintptr_t)secondary_entry;

    secondary_boot_index = i;
    dcache_clean_poc(&secondary_boot_index, sizeof(secondary_boot_index));
    if (cpu->enable_method == CPU_ENABLE_PSCI) {
        int64_t rc = firmware_psci(board.psci, PSCI_0_2_FN_CPU_ON | PSCI_FN64_BIT, cpu->mpidr,
                                   entry, 0);
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
    pcpu_schedule();
}

static void schedule_loop(void *unused)
{
    struct pcpu *p = this_pcpu();
    bool has_gic = board.gic.version != GIC_NONE;

    (void)unused;
    if (p->vcpu) {
        __atomic_store_n(&p->vcpu->loaded, false, __ATOMIC_RELEASE);
    }
    for (;;) {
        struct vcpu *v = p->vcpu;
        if (v && __atomic_load_n(&v->state, __ATOMIC_ACQUIRE) == VCPU_ON_PENDING &&
            v->vm->state == VM_RUNNING) {
            __atomic_store_n(&v->loaded, true, __ATOMIC_RELEASE);
            vcpu_load(v);
            if (has_gic) {
                vgic_flush(&v->vm->vgic, v->index, &gic_lr_ops);
            }
            guest_enter(v);
        }
        /* Woken by vcpu_wake(): an SGI where there is a GIC (it also brings the console's
         * input to CPU 0 while it idles), SEV where there is none. */
        if (has_gic) {
            gic_before_wfi();
            wfi();
            handle_physical_irqs(NULL);
        } else {
            wfe();
        }
    }
}

void vcpu_wake(const struct vcpu *v)
{
    __asm__ volatile("dsb ish\n sev" ::: "memory");
    if (board.gic.version != GIC_NONE && v->pcpu != this_pcpu()->index) {
        gic_send_sgi(v->pcpu, SGI_KICK);
    }
}

void pcpu_schedule(void)
{
    run_on_stack(this_pcpu()->stack_top, schedule_loop, NULL);
}

void machine_power_off(void)
{
    firmware_psci(board.psci, PSCI_0_2_FN_SYSTEM_OFF, 0, 0, 0);
    printk("bulkhead: firmware cannot power off: halted (quit QEMU with Ctrl-A X)\n");
    for (;;) {
        wfi();
    }
}
