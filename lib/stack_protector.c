/* Debian's libfdt.a is built with the stack protector: give it a canary and a failure path. */
#include "bulkhead/panic.h"

/* Called by the compiler's stack checks, never by our code. */
void __stack_chk_fail(void) NORETURN;

uintptr_t __stack_chk_guard = 0x5b0b8e4d2f1c7a93ULL;

void __stack_chk_fail(void)
{
    hyp_panic("stack smashing detected");
}
