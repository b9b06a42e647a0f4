/*
 * Included first in every hypervisor object (Makefile's HV_CFLAGS). The image is one static PIE:
 * nothing is ever looked up from outside it, so every symbol, declared or defined, binds within.
 * Said so, the compiler reaches a global at its PC-relative address (adrp + add) instead of
 * loading that address from the GOT first: one load fewer on every global an exit touches.
 */
#ifndef BULKHEAD_HIDDEN_H
#define BULKHEAD_HIDDEN_H

#pragma GCC visibility push(hidden)

#endif
