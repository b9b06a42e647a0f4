/*
 * VMs and vCPUs at run time. Each vCPU is pinned to one physical CPU, which runs nothing else:
 * EL1 state therefore lives in the CPU's registers and is only reset, never switched.
 *
 * Lock order: vm->lock, then the console lock. A vCPU's state changes under its VM's lock;
 * the pinned physical CPU reads it without the lock and is woken with SEV.
 */
#ifndef BULKHEAD_VM_H
#define BULKHEAD_VM_H

#include "asm.h"
#include "config.h"
#include "layout.h"
#include "mmio.h"
#include "pt.h"
#include "spinlock.h"
#include "vgic.h"
#include "vpl011.h"
#include "vtimer.h"

struct guest_regs {
    uint64_t x[31];
    uint64_t elr;
    uint64_t spsr;
};

enum vcpu_state {
    VCPU_OFF,
    VCPU_ON_PENDING, /* CPU_ON or VM start asked; its physical CPU will pick it up */
    VCPU_ON,
};

struct vm;

struct vcpu {
    struct guest_regs regs; /* first: the exit path saves straight into it */
    struct vm *vm;
    unsigned index;         /* within the VM; also the guest's MPIDR Aff0 */
    unsigned pcpu;
    volatile enum vcpu_state state;
    volatile bool loaded;   /* its physical CPU is running it (in the guest or on its behalf) */
    uint64_t entry, context_id; /* for the next start */
    struct vgic_cpu vgic;
    struct ptimer ptimer;
};

enum vm_state {
    VM_RUNNING,
    VM_OFF,     /* powered off by the guest */
    VM_STOPPED, /* stopped by the hypervisor after an error */
};

#define CONSOLE_LINE 256
/* A VM's RAM is zeroed and mapped a 2 MiB block at a time, on its first touch. */
#define VM_RAM_BLOCK MiB(2)
#define VM_MAX_RAM_BLOCKS 8192 /* 16 GiB */

struct vm {
    struct vm_config cfg;
    struct vm_layout layout;
    unsigned id;            /* index in vms[]; VMID is id + 1 */
    volatile enum vm_state state;
    uint64_t boot_count;    /* resets since the hypervisor booted */
    unsigned reports;       /* guest faults reported on the console in this life */
    spinlock_t lock;
    struct pt s2;
    uint64_t vttbr;
    struct mmio_bus bus;
    struct vgic_dist vgic;
    struct vpl011 uart;
    unsigned uart_intid;
    char prefix[NAME_LEN + 4]; /* "[name] ", starting each of its console lines */
    char line[CONSOLE_LINE];
    unsigned line_len;
    const void *dtb;        /* pristine guest DTB, copied into RAM at each (re)start */
    uint64_t dtb_size;
    long dtb_boot_count_at; /* offset of /chosen/bulkhead,boot-count's value, or -1 */
    long dtb_kaslr_seed_at; /* offset of /chosen/kaslr-seed's value, or -1 */
    uint64_t populated[VM_MAX_RAM_BLOCKS / 64]; /* blocks of RAM zeroed and mapped */
    struct vcpu vcpus[MAX_VCPUS];
};

struct pcpu {
    struct vcpu *vcpu;      /* PCPU_VCPU: the vCPU this CPU runs, or NULL */
    uint64_t stack_top;     /* PCPU_STACK_TOP */
    unsigned index;
    volatile bool online;
};

extern struct pcpu pcpus[MAX_CPUS];
extern struct vm vms[MAX_VMS];
extern unsigned nr_vms;
extern struct board board;

static inline struct pcpu *this_pcpu(void)
{
    struct pcpu *p;
    __asm__ volatile("mrs %0, tpidr_el2" : "=r"(p));
    return p;
}

/* el2/vectors.S */
void guest_enter(struct vcpu *vcpu) NORETURN;
/* el2/head.S */
void run_on_stack(uint64_t stack_top, void (*fn)(void *), void *arg) NORETURN;

/* el2/vm.c */
int vm_create(struct vm *vm, unsigned id, const struct vm_config *cfg, paddr_t ram_pa);
/* Loads a VM's images into its RAM (slow: its RAM is zeroed), then, once every VM is loaded,
 * vm_start() lets its boot vCPU go: no VM waits for another's loading, and none can power the
 * machine off while another is still being loaded. */
void vm_prepare(struct vm *vm);
void vm_start(struct vm *vm);
void vm_reset(struct vm *vm, const struct vcpu *caller);
void vm_power_off(struct vm *vm);
void vm_stop(struct vm *vm, struct vcpu *vcpu, const char *reason, uint64_t esr, uint64_t far);
void vm_console_putc(void *vm, char c);
/* A stage-2 fault at ipa: if it lies in the VM's RAM, zeroes and maps its block and returns
 * true (the access is retried). False if ipa is not RAM. Stops the VM if no table page is left. */
bool vm_ram_fault(struct vcpu *vcpu, ipa_t ipa, uint64_t esr);
void vcpu_load(struct vcpu *vcpu);
bool vcpu_should_run(const struct vcpu *vcpu);

/* el2/smp.c: the per-CPU loop that waits for its vCPU and runs it. */
void pcpu_run(void *unused) NORETURN;
void pcpu_schedule(void) NORETURN;
/* Tells vCPU v's physical CPU that v has become ready to start. */
void vcpu_wake(const struct vcpu *v);
void smp_boot_secondaries(void);
void machine_power_off(void) NORETURN;

/* el2/traps.c */
struct vcpu *guest_exit(struct vcpu *vcpu, unsigned kind);
/* Waits on this CPU until vcpu has an interrupt to take or must stop (WFI, CPU_SUSPEND). */
void vcpu_block(struct vcpu *vcpu);
/* Takes the physical interrupts pending on this CPU; current is the vCPU it runs, or NULL. */
void handle_physical_irqs(struct vcpu *current);

/* The guest's PPIs: as the board's DT gives them, so a guest sees the numbers it expects. */
unsigned vtimer_virq(void);
unsigned ptimer_virq(void);

/* el2/psci.c: SMCCC calls from a guest (HVC or trapped SMC). Returns false if the vCPU must
 * not be resumed (it was turned off or its VM stopped). */
bool smccc_handle(struct vcpu *vcpu);

/* el2/inject.c */
void inject_undef(struct vcpu *vcpu);
void inject_dabt(struct vcpu *vcpu, uint64_t far, bool write);
void inject_iabt(struct vcpu *vcpu, uint64_t far);

#endif
