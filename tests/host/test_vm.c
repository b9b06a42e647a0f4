/*
 * el2/vm.c: a VM's RAM populated a 2 MiB block at a time on its first stage-2 fault, loading and
 * reset from pristine images, and stop and power-off. The VM's RAM is host memory (EL2 maps RAM
 * one to one, so its "physical" address is the host pointer); stage 2 is the real page-table
 * code over a fixed pool of tables (fake/hw.c), and DC ZVA zeroes as the hardware would.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "bulkhead/stage2.h"
#include "bulkhead/vm.h"
#include "fake/fake.h"
#include "support/capture.h"
#include "vm_fixture.h"

/* ESR_EL2 of stage-2 faults: EC, IL, and the fault status code. */
#define DABT_LOWER (0x24ULL << 26 | 1ULL << 25)
#define IABT_LOWER (0x20ULL << 26 | 1ULL << 25)
#define FSC_TRANSLATION_L1 0x05
#define FSC_TRANSLATION_L2 0x06
#define FSC_TRANSLATION_L3 0x07
#define FSC_ACCESS_FLAG_L3 0x0b
#define FSC_PERMISSION_L3 0x0f

static bool all_bytes(ipa_t from, uint64_t size, uint8_t value)
{
    for (uint64_t i = 0; i < size; i++) {
        if (host(from)[i] != value) {
            return false;
        }
    }
    return true;
}

static bool mapped(ipa_t ipa)
{
    uint64_t pa;
    unsigned prot;
    enum pt_mem mem;

    return pt_lookup(&vm->s2, ipa, &pa, &prot, &mem);
}

/* Block b of the VM's RAM is mapped, whole, to its own host RAM, as normal read-write-execute
 * memory. */
static void assert_block_mapped(unsigned b)
{
    ipa_t base = RAM_IPA + b * BLOCK;
    uint64_t pa;
    unsigned prot;
    enum pt_mem mem;

    for (uint64_t off = 0; off < BLOCK; off += BLOCK - PAGE_SIZE) {
        assert_true(pt_lookup(&vm->s2, base + off, &pa, &prot, &mem));
        assert_int_equal(pa, (uintptr_t)ram + b * BLOCK + off);
        assert_int_equal(prot, PT_R | PT_W | PT_X);
        assert_int_equal(mem, PT_MEM_NORMAL);
    }
    assert_true(vm->populated[0] & (1ULL << b));
}

static void assert_block_unmapped(unsigned b)
{
    ipa_t base = RAM_IPA + b * BLOCK;

    assert_false(mapped(base));
    assert_false(mapped(base + BLOCK - 1));
    assert_false(vm->populated[0] & (1ULL << b));
}

static bool fault(ipa_t ipa, uint64_t esr)
{
    return vm_ram_fault(&vm->vcpus[0], ipa, esr);
}

static void test_translation_fault_populates_exactly_its_block(void **state)
{
    (void)state;

    assert_true(fault(RAM_IPA + BLOCK + 0x1234, DABT_LOWER | FSC_TRANSLATION_L2));
    assert_block_mapped(1);
    assert_block_unmapped(0);
    assert_block_unmapped(2);
    assert_true(all_bytes(RAM_IPA + BLOCK, BLOCK, 0));
    /* The neighbours' bytes are untouched. */
    assert_int_equal(*host(RAM_IPA + BLOCK - 1), GARBAGE);
    assert_int_equal(*host(RAM_IPA + 2 * BLOCK), GARBAGE);
    /* Cleaned to the point of coherency, for a guest whose caches are still off. */
    assert_int_equal(fake_sysreg.count.dcache_clean_bytes, BLOCK);
    assert_int_equal(fake_sysreg.count.dc_zva, BLOCK / 64);
    assert_int_equal(fake.vm_stop, 0);
}

/* Two vCPUs faulting on the same block: the second finds it populated and does not zero what
 * the first has written since. */
static void test_second_fault_on_a_populated_block_changes_nothing(void **state)
{
    (void)state;

    assert_true(fault(RAM_IPA + 2 * BLOCK, DABT_LOWER | FSC_TRANSLATION_L3));
    *host(RAM_IPA + 2 * BLOCK + 8) = 0x77;
    uint64_t cleaned = fake_sysreg.count.dcache_clean_bytes;
    assert_true(fault(RAM_IPA + 2 * BLOCK + 0x100000, IABT_LOWER | FSC_TRANSLATION_L3));
    assert_int_equal(*host(RAM_IPA + 2 * BLOCK + 8), 0x77);
    assert_int_equal(fake_sysreg.count.dcache_clean_bytes, cleaned);
    assert_block_mapped(2);
}

static void test_edges_of_ram(void **state)
{
    (void)state;

    assert_true(fault(RAM_IPA, DABT_LOWER | FSC_TRANSLATION_L1));
    assert_block_mapped(0);
    assert_true(fault(RAM_IPA + RAM_SIZE - 1, DABT_LOWER | FSC_TRANSLATION_L3));
    assert_block_mapped(3);
    assert_block_unmapped(1);
    assert_block_unmapped(2);
}

static void test_fault_outside_ram_is_not_population(void **state)
{
    static const ipa_t outside[] = {RAM_IPA - 1,        RAM_IPA - BLOCK,
                                    RAM_IPA + RAM_SIZE, RAM_IPA + RAM_SIZE + BLOCK,
                                    0x09000000,         0};
    (void)state;

    for (unsigned i = 0; i < ARRAY_SIZE(outside); i++) {
        assert_false(fault(outside[i], DABT_LOWER | FSC_TRANSLATION_L3));
        assert_false(fault(outside[i], IABT_LOWER | FSC_TRANSLATION_L2));
        assert_false(mapped(ALIGN_DOWN(outside[i], BLOCK)));
    }
    assert_int_equal(vm->populated[0], 0);
    assert_int_equal(fake.tables_used, 1); /* the root only */
    assert_true(all_bytes(RAM_IPA, RAM_SIZE, GARBAGE));
}

/* A permission or access-flag fault in RAM is the guest's own doing (or a bug of ours), not a
 * block waiting for its first touch: the caller reports it. */
static void test_other_faults_in_ram_are_not_population(void **state)
{
    (void)state;

    assert_false(fault(RAM_IPA + BLOCK, DABT_LOWER | FSC_PERMISSION_L3));
    assert_false(fault(RAM_IPA + BLOCK, DABT_LOWER | FSC_ACCESS_FLAG_L3));
    assert_false(fault(RAM_IPA + BLOCK, IABT_LOWER | FSC_PERMISSION_L3));
    assert_false(fault(RAM_IPA + BLOCK, DABT_LOWER | 0x10 /* synchronous external */));
    assert_block_unmapped(1);
    assert_true(all_bytes(RAM_IPA, RAM_SIZE, GARBAGE));
}

static void test_zeroing_without_dc_zva(void **state)
{
    (void)state;

    fake_sysreg.dczid_el0 = 1u << 4; /* DZP: DC ZVA prohibited */
    assert_true(fault(RAM_IPA + 3 * BLOCK, DABT_LOWER | FSC_TRANSLATION_L3));
    assert_int_equal(fake_sysreg.count.dc_zva, 0);
    assert_true(all_bytes(RAM_IPA + 3 * BLOCK, BLOCK, 0));
    assert_int_equal(*host(RAM_IPA + 3 * BLOCK - 1), GARBAGE);
}

static void test_no_table_memory_stops_the_vm(void **state)
{
    (void)state;

    fake.tables_fail = true;
    assert_true(fault(RAM_IPA + BLOCK, DABT_LOWER | FSC_TRANSLATION_L3));
    assert_int_equal(vm->state, VM_STOPPED);
    assert_true(capture_contains("vm3: stopped: out of page-table memory for its RAM"));
    assert_false(vm->populated[0] & (1ULL << 1));
}

static uint64_t be(ipa_t ipa, unsigned len)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < len; i++) {
        v = v << 8 | host(ipa)[i];
    }
    return v;
}

/* The VM's images are in RAM as in a first boot: the kernel and the initrd in their blocks with
 * zeroes around them, the DTB with boot_count and the KASLR seed patched in, nothing else
 * populated. */
static void assert_pristine(uint64_t boot_count, uint64_t seed)
{
    assert_block_mapped(0);
    assert_block_mapped(1);
    assert_block_unmapped(2);
    assert_block_mapped(3);
    assert_true(all_bytes(RAM_IPA, KERNEL_IPA - RAM_IPA, 0));
    assert_memory_equal(host(KERNEL_IPA), kernel_image, KERNEL_SIZE);
    assert_true(all_bytes(KERNEL_IPA + KERNEL_SIZE, RAM_IPA + BLOCK - KERNEL_IPA - KERNEL_SIZE, 0));
    assert_true(all_bytes(RAM_IPA + BLOCK, INITRD_IPA - RAM_IPA - BLOCK, 0));
    assert_memory_equal(host(INITRD_IPA), initrd_image, INITRD_SIZE);
    assert_true(
        all_bytes(INITRD_IPA + INITRD_SIZE, RAM_IPA + 2 * BLOCK - INITRD_IPA - INITRD_SIZE, 0));
    assert_memory_equal(host(DTB_IPA), dtb_image, BOOT_COUNT_AT);
    assert_int_equal(be(DTB_IPA + BOOT_COUNT_AT, 4), boot_count);
    assert_int_equal(be(DTB_IPA + KASLR_SEED_AT, 8), seed);
    assert_memory_equal(host(DTB_IPA + KASLR_SEED_AT + 8), dtb_image + KASLR_SEED_AT + 8,
                        DTB_SIZE - KASLR_SEED_AT - 8);
    assert_true(all_bytes(DTB_IPA + DTB_SIZE, BLOCK - DTB_SIZE, 0));
    /* The boot vCPU waits to start at the kernel with the DTB in x0; the others are off. */
    assert_int_equal(vm->vcpus[0].entry, KERNEL_IPA);
    assert_int_equal(vm->vcpus[0].context_id, DTB_IPA);
    assert_int_equal(vm->vcpus[1].state, VCPU_OFF);
    assert_int_equal(vm->state, VM_RUNNING);
}

static void test_prepare_loads_pristine_images(void **state)
{
    (void)state;

    fake_sysreg.id_aa64isar0_el1 = 1ULL << 60; /* FEAT_RNG */
    fake_sysreg.rndr = 0x0123456789abcdefULL;
    console_port_putc(&vm->console, '?'); /* a line its previous life left unfinished */
    vm_prepare(vm);
    assert_pristine(0, 0x0123456789abcdefULL);
    /* Every byte written for the guest was cleaned to the point of coherency: its three blocks
     * (zeroes and images), then the boot count and the seed patched in. */
    assert_int_equal(fake_sysreg.count.dcache_clean_bytes, 3 * BLOCK + 4 + 8);
    console_port_putc(&vm->console, '\n');
    assert_string_equal(capture_text(), "");        /* forgotten */
    assert_int_equal(vm->vcpus[0].state, VCPU_OFF); /* until vm_start() */
    assert_int_equal(fake.vcpu_wake, 0);
    vm_start(vm);
    assert_int_equal(vm->vcpus[0].state, VCPU_ON_PENDING);
    assert_ptr_equal(fake.woken, &vm->vcpus[0]);
}

static void test_kaslr_seed_without_rng_comes_from_the_counter(void **state)
{
    (void)state;

    fake_sysreg.rndr = 0x1111; /* not to be used: the CPU does not say it has RNDR */
    fake_sysreg.cntpct_el0 = 1000;
    vm_prepare(vm);
    uint64_t seed = be(DTB_IPA + KASLR_SEED_AT, 8);
    assert_int_not_equal(seed, 0x1111);
    assert_int_not_equal(seed, 0);
    fake_sysreg.cntpct_el0 = 1001;
    vm_prepare(vm);
    assert_int_not_equal(be(DTB_IPA + KASLR_SEED_AT, 8), seed);
}

static void test_reset_reloads_pristine_images_and_unmaps_every_block(void **state)
{
    (void)state;

    fake_sysreg.id_aa64isar0_el1 = 1ULL << 60;
    fake_sysreg.rndr = 0xfeedULL;
    vm_prepare(vm);
    vm_start(vm);
    /* The guest's life: its RAM touched and written everywhere, its images overwritten. */
    vm->vcpus[0].state = VCPU_ON;
    vm->vcpus[1].state = VCPU_ON;
    assert_true(fault(RAM_IPA + 2 * BLOCK, DABT_LOWER | FSC_TRANSLATION_L3));
    memset(ram, GARBAGE, RAM_SIZE);
    console_port_putc(&vm->console, 'x');
    unsigned invalidations = fake.s2_invalidate;
    capture_reset();
    fake.vcpu_wake = 0;

    vm_reset(vm, &vm->vcpus[1]);

    assert_int_equal(vm->boot_count, 1);
    assert_true(capture_contains("vm3: reset"));
    /* Each of the four populated blocks was unmapped, with its TLB entries. */
    assert_int_equal(fake.s2_invalidate - invalidations, 4);
    assert_pristine(1, 0xfeedULL);
    assert_int_equal(vm->vcpus[0].state, VCPU_ON_PENDING);
    assert_int_equal(fake.vcpu_wake, 1);
    assert_ptr_equal(fake.woken, &vm->vcpus[0]);
    assert_int_equal(fake.vtimer_reset, 2 * 2); /* per vCPU, at prepare and at reset */
    /* The blocks the guest had used come back zeroed when it touches them again. */
    assert_true(fault(RAM_IPA + 2 * BLOCK, DABT_LOWER | FSC_TRANSLATION_L3));
    assert_true(all_bytes(RAM_IPA + 2 * BLOCK, BLOCK, 0));
    /* The console line the old life left unfinished was written out, not carried over. */
    assert_true(capture_contains("[vm3] x\n"));
    console_port_putc(&vm->console, '\n');
    assert_int_equal(capture_count("[vm3] "), 1);

    vm_reset(vm, &vm->vcpus[0]);
    assert_int_equal(vm->boot_count, 2);
    assert_int_equal(be(DTB_IPA + BOOT_COUNT_AT, 4), 2);
}

static void test_stop_names_the_vm_pc_esr_and_far(void **state)
{
    (void)state;

    vm->vcpus[0].state = VCPU_ON;
    vm->vcpus[1].state = VCPU_ON;
    vm->vcpus[1].regs.elr = 0xffff800010203040ULL;
    console_port_putc(&vm->console, 'o');
    console_port_putc(&vm->console, 'k');
    vm_stop(vm, &vm->vcpus[1], "device access that cannot be emulated (no syndrome)", 0x93c08007,
            0x9000ff8);
    assert_true(capture_contains("bulkhead: vm3: stopped: device access that cannot be emulated "
                                 "(no syndrome) (pc=0xffff800010203040 esr=0x93c08007 "
                                 "far=0x9000ff8)\n"));
    assert_int_equal(vm->state, VM_STOPPED);
    assert_int_equal(vm->vcpus[0].state, VCPU_OFF);
    assert_int_equal(vm->vcpus[1].state, VCPU_OFF);
    assert_int_equal(fake.vcpu_kick, 2);
    /* Its last words come out before the report. */
    const char *line = strstr(capture_text(), "[vm3] ok\n");
    assert_non_null(line);
    assert_true(line < strstr(capture_text(), "vm3: stopped"));
    assert_int_equal(fake.machine_power_off, 0);
}

/* The last VM to go powers the machine off (once: a second VM ending at the same time does not
 * report it again). */
static void test_last_vm_off_powers_the_machine_off(void **state)
{
    (void)state;

    vms[1].state = VM_OFF;
    vm->vcpus[0].state = VCPU_ON;
    assert_true(FAKE_CATCH_NORETURN(vm_power_off(vm)));
    assert_int_equal(vm->state, VM_OFF);
    assert_int_equal(vm->vcpus[0].state, VCPU_OFF);
    assert_true(capture_contains("bulkhead: vm3: powered off\n"));
    assert_true(capture_contains("bulkhead: no VM running, powering off\n"));
    assert_int_equal(fake.machine_power_off, 1);
}

static void test_power_off_while_another_vm_runs(void **state)
{
    (void)state;

    vm_power_off(vm);
    assert_int_equal(vm->state, VM_OFF);
    assert_true(capture_contains("bulkhead: vm3: powered off\n"));
    assert_false(capture_contains("powering off"));
    assert_int_equal(fake.machine_power_off, 0);
}

/* bulkhead,on-poweroff "restart": the guest's SYSTEM_OFF restarts the VM, counted against the
 * restart limit, by its boot vCPU's CPU; once the limit is spent, it stays off. */
static void test_power_off_with_restart_policy_restarts(void **state)
{
    (void)state;
    vm->cfg.on_poweroff = VM_ON_CRASH_RESTART;
    vm->cfg.restart_limit = 1;

    vm_power_off(vm);
    assert_int_equal(vm->state, VM_RESETTING);
    assert_int_equal(vm->restarts, 1);
    assert_true(vm->restart_requested);
    assert_true(capture_contains("bulkhead: vm3: restarting (on-poweroff restart: 1 of 1)\n"));
    vm->state = VM_RUNNING; /* as vm_serve_restart leaves it */
    vm->restart_requested = false;
    capture_reset();
    vm_power_off(vm);
    assert_int_equal(vm->state, VM_OFF);
    assert_true(capture_contains("bulkhead: vm3: restarted 1 times already: it stays off\n"));
}

/* bulkhead,on-reset "stop" and "reset-machine": the guest's SYSTEM_RESET (a reboot, a panic with
 * Linux's panic=N) does not restart the VM. */
static void test_reset_with_stop_policy_stops(void **state)
{
    (void)state;
    vm->cfg.on_reset = VM_ON_CRASH_STOP;

    vm_reset(vm, &vm->vcpus[0]);
    assert_int_equal(vm->state, VM_STOPPED);
    assert_true(capture_contains("bulkhead: vm3: reset by its guest: stopped (on-reset stop)\n"));
    assert_int_equal(fake.machine_reset, 0);
}

static void test_reset_with_reset_machine_policy_resets_the_board(void **state)
{
    (void)state;
    vm->cfg.on_reset = VM_ON_CRASH_RESET_MACHINE;

    assert_true(FAKE_CATCH_NORETURN(vm_reset(vm, &vm->vcpus[0])));
    assert_int_equal(vm->state, VM_STOPPED);
    assert_int_equal(fake.machine_reset, 1);
    assert_true(capture_contains("on-reset reset-machine: resetting the machine"));
}

/* ---- the ends of a life racing each other (vm_reset waits for the VM's other vCPUs) ---- */

#define RACE_WAIT_MS 2000

static bool wait_until(volatile bool *flag)
{
    for (unsigned ms = 0; ms < RACE_WAIT_MS; ms++) {
        if (__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
            return true;
        }
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
    return false;
}

/* A vCPU's SYSTEM_RESET on a thread of its own, as on its own physical CPU. */
struct resetter {
    pthread_t thread;
    unsigned vcpu;
    volatile bool done;
};

static void *reset_thread(void *arg)
{
    struct resetter *r = arg;

    vm_reset(vm, &vm->vcpus[r->vcpu]);
    __atomic_store_n(&r->done, true, __ATOMIC_RELEASE);
    return NULL;
}

static void start_reset(struct resetter *r, unsigned vcpu)
{
    r->vcpu = vcpu;
    r->done = false;
    assert_int_equal(pthread_create(&r->thread, NULL, reset_thread, r), 0);
}

/* Both vCPUs of the VM on, as the guest sees them. */
static void both_on(void)
{
    vm->vcpus[0].state = VCPU_ON;
    vm->vcpus[1].state = VCPU_ON;
}

/* ... and each running on its CPU. */
static void running_on_both(void)
{
    both_on();
    vm->vcpus[0].loaded = true;
    vm->vcpus[1].loaded = true;
}

/* vCPU 0 resets the VM and waits for vCPU 1 to leave the guest. Returns once the reset is under
 * way (its line printed). */
static void reset_from_vcpu0_under_way(struct resetter *r)
{
    running_on_both();
    start_reset(r, 0);
    for (unsigned ms = 0; ms < RACE_WAIT_MS && !capture_contains("vm3: reset"); ms++) {
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
    assert_true(capture_contains("vm3: reset"));
    assert_false(r->done); /* vCPU 1 is still loaded */
}

/* vCPU 1's CPU went back to the scheduler (schedule_loop clears loaded): the reset completes. */
static void finish_reset(struct resetter *r)
{
    __atomic_store_n(&vm->vcpus[1].loaded, false, __ATOMIC_RELEASE);
    assert_true(wait_until(&r->done));
    assert_int_equal(pthread_join(r->thread, NULL), 0);
}

/* Both vCPUs call SYSTEM_RESET at once: the first owns the reset; the second returns at once,
 * its CPU going back to the scheduler, instead of waiting for the first to leave (which waits for
 * it: both CPUs spun forever). Exactly one reset happens. */
static void test_concurrent_resets_reset_once(void **state)
{
    struct resetter first, second;
    (void)state;

    vm_prepare(vm);
    reset_from_vcpu0_under_way(&first);
    start_reset(&second, 1);
    bool second_returned = wait_until(&second.done);
    if (!second_returned) {
        /* Deadlocked: let both go (as if their CPUs had left) so that the test can end. */
        __atomic_store_n(&vm->vcpus[0].loaded, false, __ATOMIC_RELEASE);
        __atomic_store_n(&vm->vcpus[1].loaded, false, __ATOMIC_RELEASE);
    }
    pthread_join(second.thread, NULL);
    if (!second_returned) {
        pthread_join(first.thread, NULL);
        fail_msg("the second SYSTEM_RESET waited for the first one's vCPU: deadlock");
    }
    finish_reset(&first);
    assert_int_equal(vm->boot_count, 1);
    assert_int_equal(capture_count("vm3: reset"), 1);
    assert_int_equal(vm->state, VM_RUNNING);
    assert_int_equal(vm->vcpus[0].state, VCPU_ON_PENDING);
    assert_int_equal(vm->vcpus[1].state, VCPU_OFF);
    assert_int_equal(be(DTB_IPA + BOOT_COUNT_AT, 4), 1);
}

/* SYSTEM_OFF and an error stop from the other vCPU while a reset is under way change nothing:
 * the reset goes on, and the VM is not reported off nor stopped. */
static void test_power_off_and_stop_during_a_reset_change_nothing(void **state)
{
    struct resetter r;
    (void)state;

    vm_prepare(vm);
    vms[1].state = VM_OFF; /* were this VM counted off, the machine would power off */
    reset_from_vcpu0_under_way(&r);
    bool off_caught = FAKE_CATCH_NORETURN(vm_power_off(vm));
    bool stop_caught = FAKE_CATCH_NORETURN(vm_stop(vm, &vm->vcpus[1], "SError", 0xbf000000, 0));
    finish_reset(&r);
    assert_false(off_caught);
    assert_false(stop_caught);
    assert_false(capture_contains("powered off"));
    assert_false(capture_contains("stopped"));
    assert_int_equal(fake.machine_power_off, 0);
    assert_int_equal(vm->state, VM_RUNNING);
    assert_int_equal(vm->vcpus[0].state, VCPU_ON_PENDING);
    assert_int_equal(vm->boot_count, 1);
}

/* Another VM powering off while this one resets does not power the machine off: a VM being
 * reset still runs. */
static void test_machine_stays_on_while_a_vm_resets(void **state)
{
    struct resetter r;
    (void)state;

    vm_prepare(vm);
    strcpy(vms[1].cfg.name, "vm4");
    console_port_init(&vms[1].console, "vm4");
    reset_from_vcpu0_under_way(&r);
    bool caught = FAKE_CATCH_NORETURN(vm_power_off(&vms[1]));
    finish_reset(&r);
    assert_false(caught);
    assert_true(capture_contains("bulkhead: vm4: powered off\n"));
    assert_false(capture_contains("no VM running"));
    assert_int_equal(fake.machine_power_off, 0);
}

/* Once the VM is off (or stopped), a SYSTEM_RESET or SYSTEM_OFF from a vCPU that had not left
 * yet does not bring it back nor report it again. */
static void test_reset_after_power_off_changes_nothing(void **state)
{
    (void)state;

    vm_prepare(vm);
    both_on();
    vm_power_off(vm);
    capture_reset();
    vm_reset(vm, &vm->vcpus[1]);
    vm_power_off(vm);
    assert_int_equal(vm->state, VM_OFF);
    assert_int_equal(vm->boot_count, 0);
    assert_int_equal(vm->vcpus[0].state, VCPU_OFF);
    assert_string_equal(capture_text(), "");
}

static void test_reset_or_stop_after_a_stop_changes_nothing(void **state)
{
    (void)state;

    both_on();
    vm_stop(vm, &vm->vcpus[0], "SError", 0xbf000000, 0);
    capture_reset();
    vm_stop(vm, &vm->vcpus[1], "SError", 0xbf000000, 0);
    vm_reset(vm, &vm->vcpus[1]);
    assert_int_equal(vm->state, VM_STOPPED);
    assert_int_equal(vm->boot_count, 0);
    assert_string_equal(capture_text(), "");
}

/* ---- CPU_OFF ---- */

static void test_cpu_off_of_one_vcpu_leaves_the_vm_running(void **state)
{
    (void)state;

    both_on();
    vm_cpu_off(&vm->vcpus[0]);
    assert_int_equal(vm->vcpus[0].state, VCPU_OFF);
    assert_int_equal(vm->vcpus[1].state, VCPU_ON);
    assert_int_equal(vm->state, VM_RUNNING);
    assert_string_equal(capture_text(), "");
}

/* A vCPU started with CPU_ON but not running yet will: the VM is not off. */
static void test_a_starting_vcpu_keeps_the_vm_on(void **state)
{
    (void)state;

    vm->vcpus[0].state = VCPU_ON;
    vm->vcpus[1].state = VCPU_ON_PENDING;
    vm_cpu_off(&vm->vcpus[0]);
    assert_int_equal(vm->state, VM_RUNNING);
    assert_string_equal(capture_text(), "");
}

/* With no vCPU on, nothing can ever start one again (only a vCPU of the VM can call CPU_ON): the
 * VM is off, said once, naming it; another VM runs, so the machine stays on. (The last VM's end
 * powering the machine off is power_off_if_idle's, which does it once per boot: tested above by
 * test_last_vm_off_powers_the_machine_off, and by the QEMU test v3/cpu_off_all.) */
static void test_cpu_off_of_the_last_vcpu_powers_the_vm_off(void **state)
{
    (void)state;

    both_on();
    vm_cpu_off(&vm->vcpus[1]);
    vm_cpu_off(&vm->vcpus[0]);
    assert_int_equal(vm->state, VM_OFF);
    assert_int_equal(capture_count("bulkhead: vm3: powered off (no vCPU left on)\n"), 1);
    assert_int_equal(fake.machine_power_off, 0);
}

/* During a reset the vCPUs are all off on purpose: that is not the VM's end. */
static void test_cpu_off_during_a_reset_changes_nothing(void **state)
{
    struct resetter r;
    (void)state;

    vm_prepare(vm);
    reset_from_vcpu0_under_way(&r);
    vm_cpu_off(&vm->vcpus[1]);
    finish_reset(&r);
    assert_false(capture_contains("powered off"));
    assert_int_equal(vm->state, VM_RUNNING);
    assert_int_equal(vm->vcpus[0].state, VCPU_ON_PENDING);
}

/* ---- the operator's pause ---- */

/* A pause kicks every vCPU out of the guest; the VM counts as held once each vCPU that is on
 * waits in vcpu_hold; a resume wakes them all. */
static void test_pause_holds_every_vcpu_that_is_on(void **state)
{
    (void)state;

    vm->vcpus[0].state = VCPU_ON;
    vm->vcpus[1].state = VCPU_OFF;
    assert_true(vm_pause(vm));
    assert_true(vm->paused);
    assert_int_equal(fake.vcpu_wake, 2);
    assert_false(vm_pause(vm)); /* already paused */
    assert_false(vm_is_held(vm));
    vm->vcpus[0].held = true;
    assert_true(vm_is_held(vm)); /* vCPU 1 is off: nothing to wait for */
    assert_true(vm_resume(vm));
    assert_false(vm->paused);
    assert_false(vm_is_held(vm));
    assert_int_equal(fake.vcpu_wake, 4);
    assert_false(vm_resume(vm));
}

/* Only a running VM can be paused; a stop or reset of a paused VM ends the pause. */
static void test_pause_ends_with_the_vms_life(void **state)
{
    (void)state;

    both_on();
    assert_true(vm_pause(vm));
    vm_stop(vm, &vm->vcpus[0], "test", 0, 0);
    assert_false(vm->paused);
    assert_false(vm_pause(vm));
}

#define T(fn) cmocka_unit_test_setup(fn, vm_fixture_setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_translation_fault_populates_exactly_its_block),
        T(test_second_fault_on_a_populated_block_changes_nothing),
        T(test_edges_of_ram),
        T(test_fault_outside_ram_is_not_population),
        T(test_other_faults_in_ram_are_not_population),
        T(test_zeroing_without_dc_zva),
        T(test_no_table_memory_stops_the_vm),
        T(test_prepare_loads_pristine_images),
        T(test_kaslr_seed_without_rng_comes_from_the_counter),
        T(test_reset_reloads_pristine_images_and_unmaps_every_block),
        T(test_stop_names_the_vm_pc_esr_and_far),
        T(test_power_off_while_another_vm_runs),
        T(test_power_off_with_restart_policy_restarts),
        T(test_reset_with_stop_policy_stops),
        T(test_reset_with_reset_machine_policy_resets_the_board),
        T(test_last_vm_off_powers_the_machine_off),
        T(test_concurrent_resets_reset_once),
        T(test_power_off_and_stop_during_a_reset_change_nothing),
        T(test_machine_stays_on_while_a_vm_resets),
        T(test_reset_after_power_off_changes_nothing),
        T(test_reset_or_stop_after_a_stop_changes_nothing),
        T(test_cpu_off_of_one_vcpu_leaves_the_vm_running),
        T(test_a_starting_vcpu_keeps_the_vm_on),
        T(test_cpu_off_of_the_last_vcpu_powers_the_vm_off),
        T(test_cpu_off_during_a_reset_changes_nothing),
        T(test_pause_holds_every_vcpu_that_is_on),
        T(test_pause_ends_with_the_vms_life),
    };

    return cmocka_run_group_tests_name("vm", tests, vm_fixture_group_setup,
                                       vm_fixture_group_teardown);
}
