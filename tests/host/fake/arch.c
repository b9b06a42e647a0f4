/* The fake CPU's registers (arch/sysreg.h), the physical CPUs (bulkhead/cpu.h) and the fakes'
 * bookkeeping (fake.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/cpu.h"
#include "bulkhead/mm.h"
#include "fake/fake.h"

struct fake_sysregs fake_sysreg;
struct fake_state fake;
struct pcpu pcpus[MAX_CPUS];

/* The hypervisor's boot-time memory. Every call gets the same bytes: a test binary has one
 * user (the SMMU's stream tables), which takes them again at each of its inits. */
static uint8_t hyp_mem_buf[KiB(256)] __attribute__((aligned(KiB(64))));

void *hyp_mem_room(uint64_t align, uint64_t *room)
{
    (void)align;
    *room = sizeof(hyp_mem_buf);
    return hyp_mem_buf;
}

void *hyp_mem_alloc(uint64_t size, uint64_t align, enum hyp_mem_use use)
{
    (void)use;
    return size <= sizeof(hyp_mem_buf) && align <= KiB(64) ? hyp_mem_buf : NULL;
}

paddr_t hyp_mem_end(void)
{
    return (uintptr_t)hyp_mem_buf;
}

paddr_t hyp_mem_limit(void)
{
    return (uintptr_t)hyp_mem_buf + sizeof(hyp_mem_buf);
}

/* Tests run as physical CPU 0. */
struct pcpu *this_pcpu(void)
{
    return &pcpus[0];
}

void fake_reset(void)
{
    memset(&fake_sysreg, 0, sizeof(fake_sysreg));
    memset(&fake, 0, sizeof(fake));
    memset(pcpus, 0, sizeof(pcpus));
    for (unsigned i = 0; i < MAX_CPUS; i++) {
        pcpus[i].index = i;
    }
}

void fake_noreturn(const char *what)
{
    if (!fake.catch_noreturn) {
        fail_msg("%s() called where the test did not expect it", what);
    }
    longjmp(*fake.catch_noreturn, 1);
}
