/* The fake CPU's registers (arch/sysreg.h), the physical CPUs (bulkhead/cpu.h) and the fakes'
 * bookkeeping (fake.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/cpu.h"
#include "fake/fake.h"

struct fake_sysregs fake_sysreg;
struct fake_state fake;
struct pcpu pcpus[MAX_CPUS];

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
