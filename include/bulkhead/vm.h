/*
 * VMs (el2/vm.c): creation from a validated description, loading, start, reset, power-off and
 * stop, and their RAM, zeroed and mapped a 2 MiB block at a time on first touch.
 *
 * Lock order: vm->lock, then a device's lock, then the vGIC's, then the console's. vm->lock
 * guards the VM's life cycle and its vCPUs' states (its RAM population has a leaf lock of its own,
 * el2/vm.c's ram_locks, which a device may take under its lock); a vCPU's physical CPU
 * reads its state without the lock and is woken with SEV or an SGI.
 */
#ifndef BULKHEAD_VM_H
#define BULKHEAD_VM_H

#include "config.h"
#include "console.h"
#include "layout.h"
#include "pt.h"
#include "spinlock.h"
#include "vcpu.h"
#include "vdev.h"
#include "vgic.h"

enum vm_state {
    VM_RUNNING,
    VM_OFF,       /* powered off by the guest, or every vCPU of it off */
    VM_STOPPED,   /* stopped by the hypervisor after an error */
    VM_RESETTING, /* SYSTEM_RESET: its vCPUs leaving, then its images reloaded */
};

/* A VM's RAM is zeroed and mapped a 2 MiB block at a time, on its first touch. */
#define VM_RAM_BLOCK MiB(2)
#define VM_MAX_RAM_BLOCKS 8192 /* 16 GiB */
/* A VM's pristine device tree, kept in the hypervisor's memory at the size it comes to. */
#define VM_DTB_MAX KiB(64)

struct vm {
    struct vm_config cfg;
    struct vm_layout layout;
    unsigned id; /* index in vms[]; VMID is id + 1 */
    volatile enum vm_state state;
    volatile bool paused; /* by the operator (vm_pause): its vCPUs are held in EL2 */
    uint64_t boot_count;  /* resets since the hypervisor booted */
    unsigned restarts;    /* of those, made by its policies (crash, watchdog, power-off) */
    uint64_t faults;      /* guest faults answered since boot (el2/traps.c), for the monitor */
    uint64_t started_at;  /* CNTPCT when its current life began */
    /* The operator asked for a restart (vm_operator_restart): its boot vCPU's CPU reloads it
     * (vm_serve_restart from the run loop). */
    volatile bool restart_requested;
    uint64_t restart_delay_ms; /* a policy's back-off before that restart */
    unsigned watchdog_expiries;
    /* vm_move: vCPUs still to reach their new CPU, and whether the move paused the VM itself
     * (then the last one to arrive resumes it). */
    unsigned moves_pending;
    bool move_paused;
    /* The deadline a device of the VM armed (its watchdog: vm_io's clock), served by vCPU 0's
     * CPU (vm_hyp_timer); UINT64_MAX: none. */
    uint64_t dev_deadline;
    struct vdev *timed_dev;
    spinlock_t lock;
    struct pt s2;
    uint64_t vttbr;
    struct vgic_dist vgic;
    struct vm_io io; /* its devices */
    struct console_port console;
    const void *dtb; /* pristine guest DTB, copied into RAM at each (re)start */
    uint64_t dtb_size;
    long dtb_boot_count_at; /* offset of /chosen/bulkhead,boot-count's value, or -1 */
    long dtb_kaslr_seed_at; /* offset of /chosen/kaslr-seed's value, or -1 */
    uint64_t populated[VM_MAX_RAM_BLOCKS / 64]; /* blocks of RAM zeroed and mapped */
    struct vcpu *vcpus; /* cfg.nr_vcpus of them, in the hypervisor's memory */
};

/* Its VM runs and it is on: it may enter the guest. Inline: every exit asks it. */
static inline bool vcpu_should_run(const struct vcpu *vcpu)
{
    return vcpu->vm->state == VM_RUNNING && vcpu->state == VCPU_ON;
}

/* The VMs that run, nr_vms of them, in the hypervisor's memory (include/bulkhead/mm.h). */
extern struct vm *vms;
extern unsigned nr_vms;

/* Builds vm from cfg with its RAM at ram_pa: stage 2, vGIC, devices, pristine device tree, and
 * pins its vCPUs to their physical CPUs. Returns 0, or -1 after printing why. */
int vm_create(struct vm *vm, unsigned id, const struct vm_config *cfg, paddr_t ram_pa,
              const void *host_fdt);
/* Loads a VM's images into its RAM (slow: its RAM is zeroed), then, once every VM is loaded,
 * vm_start() lets its boot vCPU go: no VM waits for another's loading, and none can power the
 * machine off while another is still being loaded. */
void vm_prepare(struct vm *vm);
void vm_start(struct vm *vm);
/*
 * The ends of a VM's life. Only the first caller ends it: while a reset is under way, or once
 * the VM is off or stopped, a call from another of its vCPUs changes nothing and returns, and
 * that vCPU's CPU goes back to the scheduler.
 */
/* SYSTEM_RESET from caller: the VM starts again from its pristine images. Returns once the
 * VM's other vCPUs have left the guest and its boot vCPU is ready to start. */
void vm_reset(struct vm *vm, const struct vcpu *caller);
/* The operator's pause: each vCPU of the VM stops at its next exit (a kick forces one) and
 * waits in EL2 (vcpu_hold), its state untouched, until vm_resume(); a vCPU started meanwhile
 * waits too. A reset, stop or power-off of the VM ends the pause. Both return at once; false
 * if the VM does not run or is already in that state. */
bool vm_pause(struct vm *vm);
bool vm_resume(struct vm *vm);
/* The operator's move, from any CPU: vCPU i goes to physical CPU cpus[i] (nr: one per vCPU).
 * Each leaves its CPU at its next exit, its state with it, and goes on from there on the new
 * one; the VM is paused meanwhile (unless it was already), and resumed once all have arrived.
 * Returns at once; false, with why filled in, if the move cannot be made (sched_move_check, a
 * move under way, the VM not running). */
bool vm_move(struct vm *vm, const uint8_t *cpus, unsigned nr, char *why, size_t len);
/* el2/sched.c: one of the VM's moved vCPUs has reached its new CPU. */
void vm_move_done(struct vm *vm);
/* Every vCPU of the paused VM that is on is held (vcpu->held): their state can be read. */
bool vm_is_held(const struct vm *vm);
/* SYSTEM_OFF; the last VM to go powers the machine off. */
void vm_power_off(struct vm *vm);
/* Stops the VM after an error of its own, naming it, the PC and the syndrome; then its on-crash
 * policy applies: it stays stopped, is restarted (from vcpu's CPU, after a back-off, up to its
 * restart limit; returns once its boot vCPU is ready), or the machine is reset. */
void vm_stop(struct vm *vm, struct vcpu *vcpu, const char *reason, uint64_t esr, uint64_t far);
/* Its watchdog expired (vdev/sbsa_gwdt.c, from any CPU, no lock held): said on the console,
 * counted, then its on-watchdog policy applies: restarted by its boot vCPU's CPU after a
 * back-off (restarts count against the restart limit), stopped, or the machine reset. */
void vm_watchdog_expired(struct vm *vm);
/* EL2's physical timer fired on vcpu's CPU (it need not be in the guest): a device deadline
 * the VM armed is served (on vCPU 0's CPU), and CNTHP reprogrammed. */
void vm_hyp_timer(struct vcpu *vcpu);
/* The operator's stop (console monitor or a privileged VM's hypercall), from any CPU, in any
 * exit: the VM's vCPUs leave at their next exit and it stays stopped until a restart; the
 * machine powers off if no VM is left running. Returns at once, without waiting for another
 * CPU; false if the VM is not running or paused (off, stopped, being reset). */
bool vm_operator_stop(struct vm *vm);
/* The operator's restart, from any CPU, of a running, paused, stopped or off VM: its vCPUs are
 * halted, then the CPU of its boot vCPU reloads its images (vm_serve_restart) and starts it.
 * Returns at once; false if a reset is already under way. */
bool vm_operator_restart(struct vm *vm);
/* The run loop of vcpu's CPU, between two runs: does the restart the operator asked of vcpu's
 * VM if vcpu is its boot vCPU. */
void vm_serve_restart(struct vcpu *vcpu);
/* Copies len bytes to the VM's RAM at ipa (populating its blocks first). -1 if [ipa, ipa + len)
 * is not all RAM of the VM. */
int vm_write_guest(struct vm *vm, ipa_t ipa, const void *src, uint64_t len);
/* PSCI CPU_OFF: vcpu is off. If it was the VM's last vCPU on or starting, nothing can start one
 * again: the VM is powered off, as by SYSTEM_OFF. */
void vm_cpu_off(struct vcpu *vcpu);
/* A stage-2 fault at ipa: if it lies in the VM's RAM, zeroes and maps its block and returns
 * true (the access is retried). False if ipa is not RAM. Stops the VM if no table page is left. */
bool vm_ram_fault(struct vcpu *vcpu, ipa_t ipa, uint64_t esr);

#endif
