/*
 * The C side of the guests' exception vectors (vectors.S): the IRQ handler a guest registers,
 * the synchronous exceptions a test provokes on purpose, and a report for anything else.
 * Built with -mgeneral-regs-only: an exception may interrupt code that holds live FP/SIMD values,
 * and the vectors save only the general registers.
 */
#include "guest.h"

#define KIND_SYNC 0x00 /* current EL with SP_ELx, the only kinds a test expects */
#define KIND_IRQ 0x01

static void (*volatile irq_handler)(uint64_t ticks);

/* Set by trap_expect(); cleared by the first exception taken, so a second one is fatal. */
static volatile bool expecting;
static volatile struct trap_record record;

void guest_exception(uint64_t kind, uint64_t ticks, uint64_t *frame);

void guest_set_irq_handler(void (*handler)(uint64_t ticks))
{
    irq_handler = handler;
    asm volatile("dsb ish" ::: "memory");
}

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

/* Records the expected exception and resumes after the instruction that caused it. */
static void take_expected(uint64_t *frame)
{
    uint64_t esr, far;

    asm volatile("mrs %0, esr_el1" : "=r"(esr));
    asm volatile("mrs %0, far_el1" : "=r"(far));
    expecting = false;
    record.esr = esr;
    record.far = far;
    record.elr = frame[FRAME_ELR];
    record.taken = true;
    frame[FRAME_ELR] += 4;
}

NORETURN static void report_unexpected(uint64_t kind, const uint64_t *frame)
{
    static const char *const names[] = {"sync", "irq", "fiq", "serror"};
    uint64_t esr, far;

    asm volatile("mrs %0, esr_el1" : "=r"(esr));
    asm volatile("mrs %0, far_el1" : "=r"(far));
    printf("guest: unexpected %s exception (vector 0x%lx): ESR_EL1=0x%lx ELR_EL1=0x%lx "
           "FAR_EL1=0x%lx SPSR_EL1=0x%lx x0=0x%lx x30=0x%lx\n",
           names[kind & 3], (unsigned long)kind, (unsigned long)esr,
           (unsigned long)frame[FRAME_ELR], (unsigned long)far, (unsigned long)frame[FRAME_SPSR],
           (unsigned long)frame[0], (unsigned long)frame[FRAME_X30]);
    guest_halt();
}

void guest_exception(uint64_t kind, uint64_t ticks, uint64_t *frame)
{
    void (*handler)(uint64_t) = irq_handler;

    if (kind == KIND_IRQ && handler) {
        handler(ticks);
    } else if (kind == KIND_SYNC && expecting) {
        take_expected(frame);
    } else {
        report_unexpected(kind, frame);
    }
}
