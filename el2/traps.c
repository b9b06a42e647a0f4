/*
 * The one place guest exits arrive: dispatch on ESR_EL2.EC through a table. A handler returns
 * true to resume the vCPU, false when it must not run again (off, or its VM stopped). Nothing a
 * guest does may stop the hypervisor: what cannot be handled stops that VM only.
 */
#include "bulkhead/traps.h"

#include "arch/sysreg.h"
#include "bulkhead/boot.h"
#include "bulkhead/console.h"
#include "bulkhead/cpu.h"
#include "bulkhead/esr.h"
#include "bulkhead/gdbstub.h"
#include "bulkhead/gic.h"
#include "bulkhead/hvcall.h"
#include "bulkhead/idregs.h"
#include "bulkhead/inject.h"
#include "bulkhead/passthrough_irq.h"
#include "bulkhead/printk.h"
#include "bulkhead/psci.h"
#include "bulkhead/sched.h"
#include "bulkhead/smmuv3.h"
#include "bulkhead/vm.h"

typedef bool (*exit_handler_fn)(struct vcpu *vcpu, uint64_t esr);

static uint64_t reg_read(const struct vcpu *vcpu, unsigned reg)
{
    return reg == 31 ? 0 : vcpu->regs.x[reg];
}

static void reg_write(struct vcpu *vcpu, unsigned reg, uint64_t val)
{
    if (reg != 31) {
        vcpu->regs.x[reg] = val;
    }
}

/*
 * A guest that faults in a loop must not flood the console every VM shares, not even by resetting
 * itself in a loop: each VM has a budget of GUEST_REPORTS reports of what it did wrong, kept
 * across its resets (here, not in struct vm, which vm_load() clears), that refills by one every
 * REPORT_REFILL_S seconds. Once it is spent, one line says so and nothing more is reported until
 * it is full again: a VM faulting without end gets GUEST_REPORTS + 1 lines every
 * GUEST_REPORTS * REPORT_REFILL_S seconds at most. Every fault is still answered.
 */
#define GUEST_REPORTS 32
#define REPORT_REFILL_S 1

struct report_budget {
    spinlock_t lock;
    unsigned spent;       /* reports not refilled yet */
    bool muted;           /* all were spent: quiet until none is */
    uint64_t refilled_at; /* CNTPCT_EL0 when spent last went down (or was 0) */
};

static struct report_budget report_budgets[MAX_VMS];

/* Lock held: gives back the reports refilled since b->refilled_at. */
static void report_refill(struct report_budget *b, uint64_t now)
{
    uint64_t period = read_cntfrq_el0() * REPORT_REFILL_S;
    uint64_t n = period && now > b->refilled_at ? (now - b->refilled_at) / period : 0;

    if (n >= b->spent) {
        b->spent = 0;
    } else {
        b->spent -= (unsigned)n;
    }
    if (!b->spent) {
        b->muted = false;
        b->refilled_at = now;
    } else {
        b->refilled_at += n * period;
    }
}

/* Every fault of the guest's is counted (the monitor's figure), reported or not. */
bool guest_report_allowed(struct vm *vm)
{
    struct report_budget *b = &report_budgets[vm->id];
    bool allowed, say_muted = false;

    __atomic_fetch_add(&vm->faults, 1, __ATOMIC_RELAXED);

    spin_lock(&b->lock);
    report_refill(b, read_cntpct_el0());
    if (!b->muted && b->spent == GUEST_REPORTS) {
        b->muted = true;
        say_muted = true;
    }
    allowed = !b->muted;
    if (allowed) {
        b->spent++;
    }
    spin_unlock(&b->lock);
    if (say_muted) {
        printk("bulkhead: %s: more faults than %u: not reported for up to %u s, resets included\n",
               vm->cfg.name, GUEST_REPORTS, GUEST_REPORTS * REPORT_REFILL_S);
    }
    return allowed;
}

static void skip_instruction(struct vcpu *vcpu)
{
    vcpu->regs.elr += 4;
}

static bool stop_vm(struct vcpu *vcpu, const char *reason, uint64_t esr)
{
    __atomic_fetch_add(&vcpu->vm->faults, 1, __ATOMIC_RELAXED);
    vm_stop(vcpu->vm, vcpu, reason, esr, read_far_el2());
    return false;
}

/* After an exception was injected: a vCPU that keeps faulting at the vector it was sent to can
 * never run its handler, and would keep its CPU busy (and the machine up) forever. */
static bool after_injection(struct vcpu *vcpu, uint64_t esr)
{
    if (inject_vector_broken(vcpu)) {
        return stop_vm(
            vcpu, "its exception vector faults at once, again and again: it cannot go on", esr);
    }
    return true;
}

/* SGI_KICK mostly only brings the CPU here; it also brings a device deadline that another CPU
 * moved (el2/vm.c: clock_arm) to EL2's timer on this one. */
static inline void kicked(struct vcpu *current)
{
    struct vcpu *mine = current ? current : this_pcpu()->vcpu;

    /* On a shared CPU this programs CNTHP for all its vCPUs; a deadline that moved for one of
     * them not running is met too, since the policy, asked at the end of this exit or in the
     * loop of a wait, programs CNTHP for them all again. */
    if (mine && __atomic_load_n(&mine->timer.resync, __ATOMIC_ACQUIRE) &&
        __atomic_exchange_n(&mine->timer.resync, false, __ATOMIC_ACQ_REL)) {
        vtimer_ptimer_sync(&mine->timer);
    }
}

void handle_physical_irqs(struct vcpu *current)
{
    /* Bounded: an interrupt storm must not keep a vCPU out forever. */
    for (unsigned n = 0; n < 16; n++) {
        uint32_t iar = gic_ack();
        unsigned intid = gic_iar_intid(iar);
        if (intid >= 1020) {
            return;
        }
        gic_eoi(iar);
        if (intid == vtimer_virq() && current) {
            /* Linked: the guest's EOI of the virtual one deactivates this one, in hardware or
             * through the hypervisor (vtimer_init). */
            vtimer_fired(&current->timer);
            /* Not another acknowledge to find none left, on the path of every tick: one more
             * interrupt pending exits the guest again at once, and is taken then. */
            return;
        }
        if (intid == SGI_KICK) {
            /* Tested before the SPIs: the wake-up of a vCPU in WFI (an IPI's) waits on it. */
            gic_deactivate(iar);
            kicked(current);
            continue;
        }
        if (passthrough_irq(iar)) {
            continue;
        }
        gic_deactivate(iar);
        unsigned console_spi = board_console(&board)->spi;
        if (intid == board.timer.irq_hyp + VGIC_NR_SGIS) {
            /* Also while the CPU idles: the VM's device deadline does not wait for its vCPU. */
            struct vcpu *mine = current ? current : this_pcpu()->vcpu;
            if (this_pcpu()->shared) {
                sched_hyp_timer();
            } else if (mine) {
                vm_hyp_timer(mine);
            }
        } else if (console_spi && intid == console_spi + VGIC_NR_PRIVATE) {
            console_receive();
        } else if (gdbstub_owns_irq(intid)) {
            gdbstub_receive();
        } else if (smmu_owns_irq(intid)) {
            smmu_irq();
        }
        /* The maintenance interrupt only needed to bring us here. */
    }
}

/* ISS.TI: WFI 0, WFE 1, WFIT 2, WFET 3. Only WFI blocks. A WFE, or a WFIT or WFET (FEAT_WFxT:
 * hidden from guests, see idregs.c, but a guest may execute it anyway), completes at once, which
 * the architecture allows any wait to do: it never waits past the guest's deadline. */
#define ESR_WFX_TI(esr) (ESR_ISS(esr) & 3)
#define WFX_TI_WFI 0

static bool handle_wfx(struct vcpu *vcpu, uint64_t esr)
{
    skip_instruction(vcpu);
    if (ESR_WFX_TI(esr) == WFX_TI_WFI) {
        vcpu_block(vcpu);
    } else if (this_pcpu()->shared) {
        sched_end_turn(); /* only a shared CPU traps WFE (el2/vcpu.c) */
    }
    return true;
}

static bool handle_hvc(struct vcpu *vcpu, uint64_t esr)
{
    if (ESR_ISS(esr) & 0xffff) {
        /* SMCCC uses only HVC #0; other immediates answer "not supported". */
        vcpu->regs.x[0] = SMCCC_RET_NOT_SUPPORTED;
        return true;
    }
    return smccc_handle(vcpu);
}

static bool handle_smc(struct vcpu *vcpu, uint64_t esr)
{
    (void)esr;
    /* A trapped SMC leaves ELR at the SMC itself. */
    skip_instruction(vcpu);
    return smccc_handle(vcpu);
}

static bool is_dc_set_way(uint32_t encoding)
{
    /* DC ISW, DC CSW, DC CISW: op0=1 op1=0 CRn=7 CRm=6/10/14 op2=2 */
    return encoding == SYSREG_ENC(1, 0, 7, 6, 2) || encoding == SYSREG_ENC(1, 0, 7, 10, 2) ||
           encoding == SYSREG_ENC(1, 0, 7, 14, 2);
}

/* The GICv3 SGI generation registers, all op1=0 (Arm IHI 0069: S3_0_C12_C11_5/6/7). Our guests
 * have one security state, in which every interrupt is Group 1: an SGI asked for as Group 0
 * (SGI0R) or as the alternate group (ASGI1R) is the same SGI generation as SGI1R's. Told apart in
 * the ISS itself (Arm ARM, ESR_EL2 for EC 0x18: Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn
 * [13:10], Rt [9:5], CRm [4:1], Direction [0], 0 for MSR), without decoding it: an IPI's latency
 * waits on it. */
#define ISS_SYSREG_MSR(op0, op1, crn, crm, op2)                                                    \
    (((op0) << 20) | ((op2) << 17) | ((op1) << 14) | ((crn) << 10) | ((crm) << 1))
#define ISS_SYSREG_KEY(iss) ((iss)&0x3ffc1fu) /* bits 21:0 but Rt */
#define ISS_ICC_SGI1R ISS_SYSREG_MSR(3u, 0u, 12u, 11u, 5u)
#define ISS_ICC_ASGI1R ISS_SYSREG_MSR(3u, 0u, 12u, 11u, 6u)
#define ISS_ICC_SGI0R ISS_SYSREG_MSR(3u, 0u, 12u, 11u, 7u)

static inline bool is_sgi_generation(uint32_t iss)
{
    uint32_t key = ISS_SYSREG_KEY(iss);

    return key == ISS_ICC_SGI1R || key == ISS_ICC_ASGI1R || key == ISS_ICC_SGI0R;
}

static bool handle_sysreg(struct vcpu *vcpu, uint64_t esr)
{
    struct sysreg_access sr;
    uint32_t iss = ESR_ISS(esr);
    uint64_t val;

    if (is_sgi_generation(iss)) {
        vgic_v3_sgi1r_write(&vcpu->vm->vgic, vcpu->index, reg_read(vcpu, BITS(iss, 9, 5)));
        skip_instruction(vcpu);
        return true;
    }
    esr_decode_sysreg(esr, &sr);
    val = reg_read(vcpu, sr.reg);
    if ((sr.read && idreg_trap_read(sr.encoding, &val)) ||
        vtimer_handle_sysreg(&vcpu->timer, sr.encoding, sr.read, &val)) {
        if (sr.read) {
            reg_write(vcpu, sr.reg, val);
        }
        skip_instruction(vcpu);
        return true;
    }
    if (is_dc_set_way(sr.encoding)) {
        /* Set/way maintenance is meaningless for a guest that does not own the caches: a guest
         * uses it to flush before turning its MMU off, and our RAM stays coherent for it. */
        dsb_sy();
        skip_instruction(vcpu);
        return true;
    }
    if (!guest_report_allowed(vcpu->vm)) {
        inject_undef(vcpu);
        return true;
    }
    printk("bulkhead: %s: unhandled system register %s op0=%u op1=%u CRn=%u CRm=%u op2=%u "
           "(pc=0x%llx), undefined instruction injected\n",
           vcpu->vm->cfg.name, sr.read ? "read" : "write", (unsigned)BITS(sr.encoding, 15, 14),
           (unsigned)BITS(sr.encoding, 13, 11), (unsigned)BITS(sr.encoding, 10, 7),
           (unsigned)BITS(sr.encoding, 6, 3), (unsigned)BITS(sr.encoding, 2, 0),
           (unsigned long long)vcpu->regs.elr);
    inject_undef(vcpu);
    return after_injection(vcpu, esr);
}

/* The read-only shared-memory map of vcpu's VM that holds ipa, or NULL. */
static const struct shm_map *ro_shm_map(const struct vcpu *vcpu, ipa_t ipa)
{
    const struct vm_shm *shm = &vcpu->vm->cfg.shm;

    for (unsigned i = 0; i < shm->nr; i++) {
        const struct shm_map *m = &shm->maps[i];
        if (m->ro && ipa >= m->ipa && ipa - m->ipa < m->size) {
            return m;
        }
    }
    return NULL;
}

static void report_unmapped(const struct vcpu *vcpu, ipa_t ipa, uint64_t esr)
{
    const struct shm_map *ro;

    if (!guest_report_allowed(vcpu->vm)) {
        return;
    }
    /* Stage 2 maps a read-only member's region without write permission: a write there is the
     * guest's mistake, named as such. */
    ro = (esr & ESR_DABT_WNR) ? ro_shm_map(vcpu, ipa) : NULL;
    if (ro) {
        printk("bulkhead: %s: write to read-only shared memory %s at IPA 0x%llx (pc=0x%llx "
               "esr=0x%llx), abort injected\n",
               vcpu->vm->cfg.name, ro->id, (unsigned long long)ipa,
               (unsigned long long)vcpu->regs.elr, (unsigned long long)esr);
        return;
    }
    printk("bulkhead: %s: no RAM or device at IPA 0x%llx (pc=0x%llx esr=0x%llx), abort injected\n",
           vcpu->vm->cfg.name, (unsigned long long)ipa, (unsigned long long)vcpu->regs.elr,
           (unsigned long long)esr);
}

/* A device model refused the access (a register it does not have, a width it does not take):
 * the guest gets an external abort, as from a bus error, and the console says which device. */
static void report_refused(const struct vcpu *vcpu, const struct mmio_region *r, ipa_t ipa,
                           uint64_t esr, unsigned size, bool write)
{
    if (!guest_report_allowed(vcpu->vm)) {
        return;
    }
    printk("bulkhead: %s: %s refused a %u-byte %s at offset 0x%llx (pc=0x%llx esr=0x%llx), abort "
           "injected\n",
           vcpu->vm->cfg.name, r->name, size, write ? "write" : "read",
           (unsigned long long)(ipa - r->base), (unsigned long long)vcpu->regs.elr,
           (unsigned long long)esr);
}

/* A data abort at no device: a RAM block the VM touches first (populated and mapped), or nothing
 * there (an abort for the guest). */
static __attribute__((noinline)) bool dabt_not_device(struct vcpu *vcpu, uint64_t esr)
{
    uint64_t far = read_far_el2();
    ipa_t ipa = fault_ipa(read_hpfar_el2(), far);

    if (vm_ram_fault(vcpu, ipa, esr)) {
        return true;
    }
    report_unmapped(vcpu, ipa, esr);
    inject_dabt(vcpu, far, esr & ESR_DABT_WNR);
    return after_injection(vcpu, esr);
}

/* A device did not complete the access: MMIO_UNMAPPED (no register there, as for a hole) or
 * MMIO_ABORT (it refuses it). Either way the guest gets an abort. */
static __attribute__((noinline)) bool dabt_device_failed(struct vcpu *vcpu, uint64_t esr,
                                                         enum mmio_result res)
{
    uint64_t far = read_far_el2();
    ipa_t ipa = fault_ipa(read_hpfar_el2(), far);
    struct mmio_access a = esr_dabt_access(esr, ipa);

    if (res == MMIO_UNMAPPED) {
        report_unmapped(vcpu, ipa, esr);
    } else {
        report_refused(vcpu, mmio_bus_find(&vcpu->vm->io.bus, ipa), ipa, esr, a.size, a.write);
    }
    inject_dabt(vcpu, far, a.write);
    return true;
}

/* The access to device region r that esr describes, emulated. */
static bool emulate_mmio(struct vcpu *vcpu, uint64_t esr, const struct mmio_region *r, ipa_t ipa)
{
    struct mmio_access a = esr_dabt_access(esr, ipa);
    /* A device sees only the bytes stored, not the rest of the register. */
    uint64_t val = a.write ? mmio_store_value(&a, reg_read(vcpu, a.reg)) : 0;
    enum mmio_result res = mmio_region_access(r, vcpu->index, &a, &val);

    if (res != MMIO_OK) {
        return dabt_device_failed(vcpu, esr, res);
    }
    if (!a.write) {
        reg_write(vcpu, a.reg, mmio_load_value(&a, val));
    }
    skip_instruction(vcpu);
    return true;
}

/* FAR_EL2 and HPFAR_EL2 hold the fault's address until the next exception, which EL2 does not
 * take while it handles this one: the rare paths read them again rather than have the frequent
 * one keep them. */
static bool handle_dabt(struct vcpu *vcpu, uint64_t esr)
{
    ipa_t ipa = fault_ipa(read_hpfar_el2(), read_far_el2());
    /* Devices first: they are the frequent case; RAM faults once per block. */
    const struct mmio_region *r =
        (esr & ESR_DABT_S1PTW) ? NULL
                               : mmio_bus_find_from(&vcpu->vm->io.bus, &vcpu->mmio_last, ipa);

    if (!r) {
        return dabt_not_device(vcpu, esr);
    }
    if (!(esr & ESR_DABT_ISV)) {
        return stop_vm(vcpu, "device access that cannot be emulated (no syndrome)", esr);
    }
    return emulate_mmio(vcpu, esr, r, ipa);
}

static bool handle_iabt(struct vcpu *vcpu, uint64_t esr)
{
    uint64_t far = read_far_el2();
    ipa_t ipa = fault_ipa(read_hpfar_el2(), far);

    if (vm_ram_fault(vcpu, ipa, esr)) {
        return true;
    }
    /* Executing from a device or from nothing: hardware would abort the fetch. */
    report_unmapped(vcpu, ipa, esr);
    inject_iabt(vcpu, far);
    return after_injection(vcpu, esr);
}

static bool handle_hidden_feature(struct vcpu *vcpu, uint64_t esr)
{
    (void)esr;
    /* SVE, SME and pointer-authentication traps: features the guest was told it lacks. */
    inject_undef(vcpu);
    return after_injection(vcpu, esr);
}

static __attribute__((noinline)) bool handle_unexpected(struct vcpu *vcpu, uint64_t esr)
{
    return stop_vm(vcpu, esr_class_name(ESR_EC(esr)), esr);
}

static const exit_handler_fn exit_handlers[EC_MAX + 1] = {
    [EC_WFX] = handle_wfx,
    [EC_HVC64] = handle_hvc,
    [EC_SMC64] = handle_smc,
    [EC_SYS64] = handle_sysreg,
    [EC_SVE] = handle_hidden_feature,
    [EC_PAC] = handle_hidden_feature,
    [EC_SME] = handle_hidden_feature,
    [EC_DABT_LOW] = handle_dabt,
    [EC_IABT_LOW] = handle_iabt,
    /* Only a VM gdb is attached to has MDCR_EL2.TDE: no other VM's BRK or step comes here. */
    [EC_BRK64] = gdbstub_debug_exit,
    [EC_SOFTSTP_LOW] = gdbstub_debug_exit,
};

static inline __attribute__((always_inline)) bool handle_sync(struct vcpu *vcpu)
{
    uint64_t esr = read_esr_el2();
    exit_handler_fn fn = exit_handlers[ESR_EC(esr)];

    vcpu->exits_ec[ESR_EC(esr)]++; /* the monitor's figures */

    if (__builtin_expect(fn != NULL, 1)) {
        return fn(vcpu, esr);
    }
    return handle_unexpected(vcpu, esr);
}

/* Before the vCPU of an exit for a physical interrupt is held or leaves its CPU: nothing of its
 * own may wait in the LRs then (guest_exit_irq). */
static __attribute__((noinline)) void settle_deferred_sync(struct vcpu *vcpu)
{
    if (board.gic.version != GIC_NONE) {
        vgic_settle_cpu(&vcpu->vm->vgic, &vcpu->vgic, &gic_lr_ops);
    }
}

/* shared: a CPU several vCPUs take turns on (el2/sched.c); constant in each caller below. */
static inline __attribute__((always_inline)) struct vcpu *exit_to_guest(struct vcpu *vcpu,
                                                                        unsigned kind, bool shared)
{
    struct vgic_dist *vgic = &vcpu->vm->vgic;
    bool has_gic = board.gic.version != GIC_NONE;
    bool resume;

    if (has_gic && vcpu->vgic.lrs_in_use) {
        vgic_sync_cpu(vgic, &vcpu->vgic, &gic_lr_ops);
        /* Only an interrupt that was in a list register can be waiting, untaken. */
        vtimer_resample(&vcpu->timer, &gic_lr_ops);
    }
    switch (kind) {
    case EXIT_SYNC: resume = handle_sync(vcpu); break;
    case EXIT_IRQ:
    case EXIT_FIQ:
        vcpu->exits_irq++;
        handle_physical_irqs(vcpu);
        resume = true;
        break;
    case EXIT_SERROR: resume = stop_vm(vcpu, "SError", read_esr_el2()); break;
    case EXIT_AARCH32:
    default: resume = stop_vm(vcpu, "exception from AArch32", read_esr_el2()); break;
    }
    if (shared && resume) {
        sched_preempt(vcpu);
    }
    if (resume && vcpu->vm->paused) { /* volatile: a plain load at its offset, no address add */
        if (kind == EXIT_IRQ && !shared) {
            settle_deferred_sync(vcpu);
        }
        vcpu_hold(vcpu);
    }
    if (!resume || !vcpu_should_run(vcpu)) {
        if (kind == EXIT_IRQ && !shared) {
            settle_deferred_sync(vcpu);
        }
        pcpu_schedule();
    }
    if (has_gic) {
        vgic_flush_cpu(vgic, &vcpu->vgic, &gic_lr_ops);
    }
    return vcpu;
}

struct vcpu *guest_exit(struct vcpu *vcpu, unsigned kind)
{
    return exit_to_guest(vcpu, kind, false);
}

struct vcpu *guest_exit_sync(struct vcpu *vcpu)
{
    return exit_to_guest(vcpu, EXIT_SYNC, false);
}

/* A physical interrupt's exit on a CPU of its own enters the vCPU again unless it is held or
 * leaves (settle_deferred_sync()): the completed LR of the last one (a timer tick's) may wait
 * for the entry's flush, one locked pass with the next tick's. */
static __attribute__((noinline)) void sync_deferring(struct vcpu *vcpu)
{
    vgic_sync_lrs_deferring(&vcpu->vm->vgic, vcpu->index, &gic_lr_ops);
    /* Only an interrupt that was in a list register can be waiting, untaken; one whose
     * retirement is deferred was taken and completed. */
    if (!vcpu->vgic.retire_deferred) {
        vtimer_resample(&vcpu->timer, &gic_lr_ops);
    }
}

struct vcpu *guest_exit_irq(struct vcpu *vcpu)
{
    /* Before exit_to_guest()'s own sync, which then finds no LR in use. */
    if (board.gic.version != GIC_NONE && vcpu->vgic.lrs_in_use) {
        sync_deferring(vcpu);
    }
    return exit_to_guest(vcpu, EXIT_IRQ, false);
}

struct vcpu *guest_exit_shared(struct vcpu *vcpu, unsigned kind)
{
    return exit_to_guest(vcpu, kind, true);
}
