/* Physical CPUs: their struct pcpu and stacks, and EL2's controls while no guest runs. */
#include "bulkhead/cpu.h"

#include "arch/sysreg.h"

struct pcpu pcpus[MAX_CPUS];
uint8_t cpu_stacks[MAX_CPUS][CPU_STACK_SIZE] __attribute__((aligned(16)));

_Static_assert(offsetof(struct pcpu, vcpu) == PCPU_VCPU, "PCPU_VCPU");
_Static_assert(offsetof(struct pcpu, stack_top) == PCPU_STACK_TOP, "PCPU_STACK_TOP");

void cpu_init(unsigned index)
{
    struct pcpu *p = &pcpus[index];

    p->index = index;
    p->stack_top = (uint64_t)(uintptr_t)&cpu_stacks[index + 1][0];
    write_tpidr_el2((uint64_t)(uintptr_t)p);
    write_vbar_el2((uint64_t)(uintptr_t)el2_vectors);
    /* Until a guest runs: no stage 2, no traps, and FP usable (libfdt uses SIMD registers). */
    write_hcr_el2(HCR_RW);
    write_cptr_el2(CPTR_EL2_GUEST);
    write_mdcr_el2(BITS(read_mdcr_el2(), 4, 0));
    write_hstr_el2(0);
    write_cnthctl_el2(CNTHCTL_EL1PCTEN | CNTHCTL_EL1PCEN);
    isb();
}
