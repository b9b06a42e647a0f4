/*
 * The hypervisor's own faults: everything needed to debug them on the UART (registers, syndrome,
 * a backtrace with symbol names from the embedded .ksyms table), then the machine is powered
 * off so that an emulator exits instead of hanging.
 */
#include "bulkhead/panic.h"

#include "arch/sysreg.h"
#include "bulkhead/asm.h"
#include "bulkhead/boot.h"
#include "bulkhead/cpu.h"
#include "bulkhead/esr.h"
#include "bulkhead/firmware.h"
#include "bulkhead/mm.h"
#include "bulkhead/printk.h"

struct ksym {
    uint64_t offset;      /* from the image base */
    uint64_t name_offset; /* from ksyms_table */
};

/* Generated at link time (scripts/gen-ksyms.sh). */
extern const uint64_t ksyms_count;
extern const struct ksym ksyms_table[];

static const char *const kind_names[] = {
    [EXIT_SYNC] = "synchronous exception",
    [EXIT_IRQ] = "IRQ",
    [EXIT_FIQ] = "FIQ",
    [EXIT_SERROR] = "SError",
};

/* Name and offset of the function containing addr, or NULL. */
static const char *symbolize(uint64_t addr, uint64_t *offset)
{
    uint64_t rel = addr - hyp_load_base;
    const char *best = NULL;

    if (addr < hyp_load_base || addr >= (uint64_t)(uintptr_t)__text_end) {
        return NULL;
    }
    for (uint64_t i = 0; i < ksyms_count && ksyms_table[i].offset <= rel; i++) {
        best = (const char *)ksyms_table + ksyms_table[i].name_offset;
        *offset = rel - ksyms_table[i].offset;
    }
    return best;
}

static void print_address(const char *label, uint64_t addr)
{
    uint64_t off = 0;
    const char *name = symbolize(addr, &off);

    if (name) {
        printk("  %s 0x%016llx %s+0x%llx\n", label, (unsigned long long)addr, name,
               (unsigned long long)off);
    } else {
        printk("  %s 0x%016llx\n", label, (unsigned long long)addr);
    }
}

static bool on_a_stack(uint64_t fp)
{
    uint64_t lo = (uint64_t)(uintptr_t)cpu_stacks;

    return fp >= lo && fp + 16 <= lo + sizeof(cpu_stacks) && IS_ALIGNED(fp, 8);
}

static void backtrace(uint64_t fp)
{
    printk("backtrace:\n");
    for (unsigned depth = 0; depth < 32 && on_a_stack(fp); depth++) {
        const uint64_t *frame = (const uint64_t *)(uintptr_t)fp;
        if (!frame[1]) {
            break;
        }
        print_address("", frame[1]);
        fp = frame[0];
    }
}

void hyp_exception_report(const struct hyp_frame *f, unsigned kind)
{
    unsigned cpu = this_pcpu()->index;

    printk("\nbulkhead: PANIC on CPU %u: %s in the hypervisor: %s\n", cpu,
           kind < ARRAY_SIZE(kind_names) && kind_names[kind] ? kind_names[kind]
                                                             : "exception with SP_EL0",
           esr_class_name(ESR_EC(f->esr)));
    printk("  ESR_EL2 0x%016llx  FAR_EL2 0x%016llx  SPSR 0x%llx\n", (unsigned long long)f->esr,
           (unsigned long long)f->far, (unsigned long long)f->spsr);
    print_address("PC", f->elr);
    print_address("LR", f->x[30]);
    for (unsigned i = 0; i < 30; i += 2) {
        printk("  x%-2u 0x%016llx  x%-2u 0x%016llx\n", i, (unsigned long long)f->x[i], i + 1,
               (unsigned long long)f->x[i + 1]);
    }
    printk("  sp  0x%016llx  image base 0x%llx\n", (unsigned long long)f->sp,
           (unsigned long long)hyp_load_base);
    backtrace(f->x[29]);
    machine_power_off();
}

void hyp_panic(const char *why)
{
    printk("\nbulkhead: PANIC on CPU %u: %s\n", this_pcpu()->index, why);
    backtrace((uint64_t)(uintptr_t)__builtin_frame_address(0));
    machine_power_off();
}
