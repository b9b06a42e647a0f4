/*
 * The C side of the guests' exception vectors (start.S). Built with -mgeneral-regs-only: an
 * exception may interrupt code that holds live FP/SIMD values, and only x0-x18, x29, x30 are saved.
 */
#include "guest.h"

/* Set by trap_expect(); cleared by the first exception taken, so a second one is fatal. */
static volatile bool expecting;
static volatile struct trap_record record;

void guest_exception(uint64_t kind, uint64_t *frame);

void trap_expect(void)
{
    record.taken = false;
    record.esr = record.far = record.elr = 0;
    asm volatile("dsb sy" ::: "memory");
    expecting = true;
}

struct trap_record trap_take(void)
{
    struct trap_record r;

    expecting = false;
    r.taken = record.taken;
    r.esr = record.esr;
    r.far = record.far;
    r.elr = record.elr;
    return r;
}

void guest_exception(uint64_t kind, uint64_t *frame)
{
    uint64_t esr, far, elr, spsr;

    asm volatile("mrs %0, esr_el1" : "=r"(esr));
    asm volatile("mrs %0, far_el1" : "=r"(far));
    asm volatile("mrs %0, elr_el1" : "=r"(elr));
    asm volatile("mrs %0, spsr_el1" : "=r"(spsr));
    if (kind == 0 && expecting) {
        expecting = false;
        record.esr = esr;
        record.far = far;
        record.elr = elr;
        record.taken = true;
        asm volatile("msr elr_el1, %0" : : "r"(elr + 4));
        return;
    }
    static const char *const names[] = { "sync", "irq", "fiq", "serror" };
    printf("guest: unexpected %s exception (vector 0x%lx): ESR_EL1=0x%lx ELR_EL1=0x%lx "
           "FAR_EL1=0x%lx SPSR_EL1=0x%lx x0=0x%lx x30=0x%lx\n",
           names[kind & 3], (unsigned long)kind, (unsigned long)esr, (unsigned long)elr,
           (unsigned long)far, (unsigned long)spsr, (unsigned long)frame[0],
           (unsigned long)frame[20]);
    guest_halt();
}
