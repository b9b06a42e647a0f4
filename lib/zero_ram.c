/* Zeroing RAM with DC ZVA (include/bulkhead/mm.h). */
#include "arch/sysreg.h"
#include "bulkhead/mm.h"
#include "bulkhead/string.h"

/* Zeroes RAM a block at a time with DC ZVA where it can, stores at the unaligned edges. */
void zero_ram(void *p, uint64_t size)
{
    uint64_t dczid = read_dczid_el0();
    uint64_t block = 4ULL << BITS(dczid, 3, 0);
    uintptr_t a = (uintptr_t)p, end = a + size;

    if (dczid & BIT(4)) {
        memset(p, 0, size);
        return;
    }
    uintptr_t mid = MIN((uintptr_t)ALIGN_UP(a, block), end);
    uintptr_t mid_end = MAX((uintptr_t)ALIGN_DOWN(end, block), mid);
    memset(p, 0, mid - a);
    /* Eight blocks to a turn while eight remain: a VM's RAM block is 32768 lines of 64 bytes,
     * and a turn of one was three quarters loop. */
    uintptr_t x = mid;
    for (; mid_end - x >= 8 * block; x += 8 * block) {
#pragma GCC unroll 8
        for (unsigned i = 0; i < 8; i++) {
            dc_zva(x + i * block);
        }
    }
    for (; x < mid_end; x += block) {
        dc_zva(x);
    }
    memset((void *)mid_end, 0, end - mid_end);
}
