/* The hypervisor's own faults (el2/panic.c): reported on the console, then the machine is
 * powered off so that an emulator exits instead of hanging. */
#ifndef BULKHEAD_PANIC_H
#define BULKHEAD_PANIC_H

#include "types.h"

/* What el2/vectors.S saves of a hypervisor exception. */
struct hyp_frame {
    uint64_t x[31];
    uint64_t sp;
    uint64_t elr, spsr, esr, far;
};

/* Called by el2/vectors.S with the exception's kind (EXIT_* in asm.h). */
void hyp_exception_report(const struct hyp_frame *f, unsigned kind) NORETURN;
/* A broken invariant of our own: never for what a guest did. */
void hyp_panic(const char *why) NORETURN;

#endif
