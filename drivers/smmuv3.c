/*
 * The board's SMMUv3 at EL2 (include/bulkhead/smmuv3.h). Encodings are drivers/smmuv3_enc.c's;
 * this file owns the memory the SMMU reads (stream table, queues), the command queue's protocol
 * and the event queue's reports.
 *
 * Stream table: 2-level with 256 STEs per level-2 table where the SMMU has it. A span of 256
 * streams that one VM owns whole (a PCIe bus) points at that VM's one shared level-2 table, so a
 * bridge's 65536 stream IDs cost 16 KiB, not 4 MiB; a span shared between owners gets a table of
 * its own; a span nobody owns has no table (Span 0), so its streams abort and are recorded
 * (C_BAD_STREAMID). All of it lives in .noinit, zeroed here only when the board has an SMMU.
 *
 * Locks: cmdq_lock (any CPU invalidating a VM's stage 2) and evtq_lock (the CPU taking the
 * interrupt) are leaves but for the console; a VM's fault policy runs after evtq_lock is let go.
 */
#include "bulkhead/smmuv3.h"

#include "arch/sysreg.h"
#include "bulkhead/gic.h"
#include "bulkhead/mm.h"
#include "bulkhead/printk.h"
#include "bulkhead/spinlock.h"
#include "bulkhead/string.h"

#define SID_BITS_MAX 16 /* streams above 2^16 are left out of the table: they abort */
#define L2_STES (1u << SMMU_STRTAB_SPLIT)
#define L2_TABLES 8
#define L1_MAX (1u << (SID_BITS_MAX - SMMU_STRTAB_SPLIT))
#define CMDQ_LOG2 8   /* 256 commands, 4 KiB */
#define EVENTQ_LOG2 7 /* 128 events, 4 KiB */
#define MAX_BINDINGS 16
#define POLL_LIMIT 10000000u
#define REPORTS 32 /* per owner, then one a second */
/* CR1: queues and tables write-back cacheable, inner shareable. */
#define CR1_VALUE 0xd75u

/* Taken from the hypervisor's memory when there is an SMMU to use (128 KiB). */
static uint64_t (*l2_tables)[L2_STES * SMMU_STE_DWORDS];
static uint64_t l1_table[L1_MAX] NOINIT __attribute__((aligned(L1_MAX * 8)));
static uint64_t cmdq[(1u << CMDQ_LOG2) * SMMU_CMD_DWORDS] NOINIT __attribute__((aligned(4096)));
static uint64_t eventq[(1u << EVENTQ_LOG2) * SMMU_EVENT_DWORDS] NOINIT
    __attribute__((aligned(4096)));

struct l2_table {
    bool used;
    const struct smmu_owner *whole; /* the owner of every stream in it, or NULL */
};

struct binding {
    uint32_t base, count;
    const struct smmu_owner *owner;
    unsigned reported;    /* events said since reported_at */
    uint64_t reported_at; /* CNTPCT */
    unsigned unsaid;      /* not said since the budget ran out */
};

static struct {
    uintptr_t base;
    bool active, two_level;
    unsigned sid_bits; /* of the table: streams beyond it abort */
    unsigned cmdq_log2, eventq_log2, oas_code;
    unsigned event_intid, gerror_intid;
    uint32_t cmdq_prod, eventq_cons;
    uint32_t gerror_seen;
    struct l2_table l2[L2_TABLES];
    struct binding bindings[MAX_BINDINGS];
    unsigned nr_bindings;
    spinlock_t cmdq_lock, evtq_lock;
} smmu;

static uint32_t rd32(unsigned off)
{
    return *(volatile uint32_t *)(smmu.base + off);
}

static void wr32(unsigned off, uint32_t v)
{
    *(volatile uint32_t *)(smmu.base + off) = v;
}

static void wr64(unsigned off, uint64_t v)
{
    *(volatile uint64_t *)(smmu.base + off) = v;
}

bool smmu_active(void)
{
    return smmu.active;
}

/* Writes CR0 and waits for the SMMU to acknowledge it. */
static bool set_cr0(uint32_t v)
{
    wr32(SMMU_CR0, v);
    for (unsigned i = 0; i < POLL_LIMIT; i++) {
        if (rd32(SMMU_CR0ACK) == v) {
            return true;
        }
        yield();
    }
    printk("bulkhead: SMMU: CR0 0x%x not acknowledged\n", v);
    return false;
}

/* ---- command queue (cmdq_lock held) ---- */

static const char *const cmdq_errors[] = {"none", "illegal command", "abort on fetch",
                                          "ATC invalidation timeout"};

/* A command the SMMU refused: said once, replaced with CMD_SYNC (a no-op) so the queue goes on,
 * as the specification's error recovery has it. */
static void cmdq_recover(void)
{
    uint32_t gerror = rd32(SMMU_GERROR), gerrorn = rd32(SMMU_GERRORN);

    if (!((gerror ^ gerrorn) & SMMU_GERROR_CMDQ_ERR)) {
        return;
    }
    uint32_t cons = rd32(SMMU_CMDQ_CONS);
    unsigned err = (unsigned)SMMU_CMDQ_CONS_ERR(cons);
    uint64_t *slot = &cmdq[smmu_q_slot(cons, smmu.cmdq_log2) * SMMU_CMD_DWORDS];
    printk("bulkhead: SMMU: command 0x%llx refused: %s\n", (unsigned long long)slot[0],
           err < ARRAY_SIZE(cmdq_errors) ? cmdq_errors[err] : "unknown error");
    smmu_cmd_sync(slot);
    dsb_ishst();
    wr32(SMMU_GERRORN, gerrorn ^ SMMU_GERROR_CMDQ_ERR);
}

static bool cmdq_wait(bool (*done)(uint32_t cons))
{
    for (unsigned i = 0; i < POLL_LIMIT; i++) {
        uint32_t cons = rd32(SMMU_CMDQ_CONS);
        if (done(cons)) {
            return true;
        }
        cmdq_recover();
        yield();
    }
    printk("bulkhead: SMMU: command queue stuck (prod 0x%x cons 0x%x)\n", smmu.cmdq_prod,
           rd32(SMMU_CMDQ_CONS));
    return false;
}

static bool cmdq_has_room(uint32_t cons)
{
    return !smmu_q_full(smmu.cmdq_prod, cons, smmu.cmdq_log2);
}

static bool cmdq_drained(uint32_t cons)
{
    return smmu_q_empty(smmu.cmdq_prod, cons, smmu.cmdq_log2);
}

static void cmdq_issue(const uint64_t c[SMMU_CMD_DWORDS])
{
    if (!cmdq_wait(cmdq_has_room)) {
        return;
    }
    uint64_t *slot = &cmdq[smmu_q_slot(smmu.cmdq_prod, smmu.cmdq_log2) * SMMU_CMD_DWORDS];
    slot[0] = c[0];
    slot[1] = c[1];
    smmu.cmdq_prod = smmu_q_inc(smmu.cmdq_prod, smmu.cmdq_log2);
    /* The command in memory before the SMMU is told it is there. */
    dsb_ishst();
    wr32(SMMU_CMDQ_PROD, smmu.cmdq_prod);
}

/* CMD_SYNC, then waits until the SMMU has consumed it: everything issued before is done. */
static void cmdq_sync(void)
{
    uint64_t c[SMMU_CMD_DWORDS];

    smmu_cmd_sync(c);
    cmdq_issue(c);
    cmdq_wait(cmdq_drained);
}

static void submit(void (*encode)(uint64_t *), bool sync)
{
    uint64_t c[SMMU_CMD_DWORDS];

    encode(c);
    cmdq_issue(c);
    if (sync) {
        cmdq_sync();
    }
}

void smmu_invalidate_s2(uint16_t vmid, uint64_t ipa, uint64_t size)
{
    uint64_t c[SMMU_CMD_DWORDS];

    if (!smmu.active) {
        return;
    }
    /* One page is one command; a block or a table's range is the whole VMID at once (a range
     * of pages would be as many commands, and resets unmap 2 MiB at a time). */
    if (size <= 4096) {
        smmu_cmd_tlbi_s2_ipa(c, vmid, ipa);
    } else {
        smmu_cmd_tlbi_s12_vmall(c, vmid);
    }
    spin_lock(&smmu.cmdq_lock);
    cmdq_issue(c);
    cmdq_sync();
    spin_unlock(&smmu.cmdq_lock);
}

/* ---- stream table ---- */

static uint64_t *ste_of(uint32_t sid)
{
    if (!smmu.two_level) {
        return &l2_tables[0][sid * SMMU_STE_DWORDS];
    }
    uint64_t desc = l1_table[sid >> SMMU_STRTAB_SPLIT];
    uint64_t *l2 = (uint64_t *)(uintptr_t)(desc & 0x000fffffffffffc0ULL);
    return &l2[(sid & (L2_STES - 1)) * SMMU_STE_DWORDS];
}

static struct l2_table *l2_of(const uint64_t *table)
{
    return &smmu.l2[(table - l2_tables[0]) / (L2_STES * SMMU_STE_DWORDS)];
}

/* A level-2 table: every STE aborting, or every STE owner's when whole is set. */
static uint64_t *l2_new(const struct smmu_owner *whole)
{
    for (unsigned i = 0; i < L2_TABLES; i++) {
        if (!smmu.l2[i].used) {
            smmu.l2[i] = (struct l2_table){.used = true, .whole = whole};
            for (unsigned s = 0; s < L2_STES; s++) {
                uint64_t *ste = &l2_tables[i][s * SMMU_STE_DWORDS];
                if (whole) {
                    smmu_ste_s2(ste, &whole->s2);
                } else {
                    smmu_ste_abort(ste);
                }
            }
            return l2_tables[i];
        }
    }
    return NULL;
}

static uint64_t *l2_whole_of(const struct smmu_owner *owner)
{
    for (unsigned i = 0; i < L2_TABLES; i++) {
        if (smmu.l2[i].used && smmu.l2[i].whole == owner) {
            return l2_tables[i];
        }
    }
    return l2_new(owner);
}

/* Points span's level-1 descriptor at table; the SMMU forgets what it had for the span. */
static void set_l1(unsigned span, uint64_t *table)
{
    l1_table[span] = smmu_l1_desc((uint64_t)(uintptr_t)table, SMMU_STRTAB_SPLIT);
    dsb_ishst();
}

/* One span of 256 streams: owner gets [from, to) of it. */
static int bind_span(unsigned span, uint32_t from, uint32_t to, const struct smmu_owner *owner)
{
    uint64_t desc = l1_table[span];
    uint32_t first = span << SMMU_STRTAB_SPLIT;

    if (from == first && to == first + L2_STES && !desc) {
        uint64_t *table = l2_whole_of(owner);
        if (!table) {
            return -1;
        }
        set_l1(span, table);
        return 0;
    }
    if (!desc) {
        uint64_t *table = l2_new(NULL);
        if (!table) {
            return -1;
        }
        set_l1(span, table);
    } else if (l2_of(ste_of(first))->whole) {
        printk("bulkhead: %s: SMMU: streams 0x%x-0x%x already belong to %s\n", owner->name, from,
               to - 1, l2_of(ste_of(first))->whole->name);
        return -1;
    }
    for (uint32_t sid = from; sid < to; sid++) {
        smmu_ste_s2(ste_of(sid), &owner->s2);
    }
    dsb_ishst();
    return 0;
}

int smmu_bind(uint32_t sid_base, uint32_t count, const struct smmu_owner *owner)
{
    uint64_t table_streams = 1ULL << smmu.sid_bits;

    if (!smmu.active || !count) {
        return smmu.active ? 0 : -1;
    }
    if (sid_base >= table_streams || count > table_streams - sid_base ||
        smmu.nr_bindings == MAX_BINDINGS) {
        printk("bulkhead: %s: SMMU: streams 0x%x+0x%x beyond the %llu it can bind\n", owner->name,
               sid_base, count, (unsigned long long)table_streams);
        return -1;
    }
    if (owner->s2.ps_code > smmu.oas_code) {
        printk("bulkhead: %s: SMMU: its %u-bit IPA space is beyond the SMMU's output size\n",
               owner->name, owner->s2.ipa_bits);
        return -1;
    }
    int rc = 0;
    if (smmu.two_level) {
        for (uint32_t sid = sid_base; rc == 0 && sid < sid_base + count;) {
            unsigned span = sid >> SMMU_STRTAB_SPLIT;
            uint32_t end = MIN((span + 1) << SMMU_STRTAB_SPLIT, sid_base + count);
            rc = bind_span(span, sid, end, owner);
            sid = end;
        }
    } else {
        for (uint32_t sid = sid_base; sid < sid_base + count; sid++) {
            smmu_ste_s2(ste_of(sid), &owner->s2);
        }
        dsb_ishst();
    }
    if (rc != 0) {
        printk("bulkhead: %s: SMMU: out of stream-table memory (%u tables of %u streams)\n",
               owner->name, L2_TABLES, L2_STES);
        return -1;
    }
    smmu.bindings[smmu.nr_bindings++] = (struct binding){sid_base, count, owner, 0, 0, 0};
    spin_lock(&smmu.cmdq_lock);
    submit(smmu_cmd_cfgi_all, true);
    spin_unlock(&smmu.cmdq_lock);
    printk("bulkhead: %s: SMMU: streams 0x%x-0x%x translate through its stage 2 (VMID %u)\n",
           owner->name, sid_base, sid_base + count - 1, owner->s2.vmid);
    return 0;
}

/* ---- events and errors ---- */

static struct binding *binding_of(uint32_t sid)
{
    for (unsigned i = 0; i < smmu.nr_bindings; i++) {
        struct binding *b = &smmu.bindings[i];
        if (sid >= b->base && sid - b->base < b->count) {
            return b;
        }
    }
    return NULL;
}

/* Like guest faults: the first REPORTS said, then one a second, the rest counted. */
static bool report_allowed(struct binding *b)
{
    uint64_t now = read_cntpct_el0(), second = read_cntfrq_el0();

    if (b->reported < REPORTS) {
        b->reported++;
        b->reported_at = now;
        return true;
    }
    if (now - b->reported_at >= second) {
        b->reported_at = now;
        return true;
    }
    b->unsaid++;
    return false;
}

/* A transfer's accesses come as one event each (QEMU's: one per 4 bytes): those of one stream,
 * kind and direction at rising addresses close together are said as one line. */
struct event_run {
    struct smmu_event first;
    uint64_t last; /* the address of its last access */
    unsigned count;
    struct binding *b;
};

static bool run_extends(const struct event_run *run, const struct smmu_event *ev)
{
    return run->count && ev->sid == run->first.sid && ev->type == run->first.type &&
           ev->read == run->first.read && ev->addr > run->last && ev->addr - run->last <= 64;
}

static void say_run(struct event_run *run)
{
    const struct smmu_event *ev = &run->first;
    const char *owner = run->b ? run->b->owner->name : "no VM";
    const char *what = smmu_event_name(ev->type);
    char type[16], more[64] = "";

    if (!run->count || (run->b && !report_allowed(run->b))) {
        run->count = 0;
        return;
    }
    if (run->b && run->b->unsaid) {
        printk("bulkhead: %s: SMMU: %u more blocked DMAs not reported\n", owner, run->b->unsaid);
        run->b->unsaid = 0;
    }
    if (!what) {
        snprintf(type, sizeof(type), "event 0x%x", ev->type);
        what = type;
    }
    if (run->count > 1) {
        snprintf(more, sizeof(more), "; %u accesses up to 0x%llx", run->count,
                 (unsigned long long)run->last);
    }
    if (ev->type >= SMMU_EVT_TRANSLATION && ev->type <= SMMU_EVT_PERMISSION) {
        printk("bulkhead: %s: DMA blocked by the SMMU: stream 0x%x %s address 0x%llx (%s%s)\n",
               owner, ev->sid, ev->read ? "read from" : "wrote to", (unsigned long long)ev->addr,
               what, more);
    } else {
        printk("bulkhead: %s: DMA blocked by the SMMU: stream 0x%x (%s)\n", owner, ev->sid, what);
    }
    run->count = 0;
}

static void check_gerror(void)
{
    uint32_t active = rd32(SMMU_GERROR) ^ rd32(SMMU_GERRORN);

    /* CMDQ_ERR belongs to the command queue's recovery; the rest is said and acknowledged. */
    active &= ~(uint32_t)SMMU_GERROR_CMDQ_ERR;
    if (!active) {
        return;
    }
    /* QEMU raises EVTQ_ABT_ERR for a full event queue too. */
    printk("bulkhead: SMMU: global error 0x%x%s\n", active,
           active & SMMU_GERROR_EVTQ_ABT ? " (an event could not be queued: events were lost)"
                                         : "");
    wr32(SMMU_GERRORN, rd32(SMMU_GERRORN) ^ active);
}

void smmu_irq(void)
{
    const struct smmu_owner *faulted[MAX_BINDINGS];
    unsigned nr_faulted = 0;
    struct event_run run = {.count = 0};

    if (!smmu.active) {
        return;
    }
    check_gerror();
    spin_lock(&smmu.evtq_lock);
    uint32_t prod = rd32(SMMU_EVENTQ_PROD);
    if ((prod ^ smmu.eventq_cons) & SMMU_Q_OVERFLOW) {
        printk("bulkhead: SMMU: event queue overflowed: events were lost\n");
    }
    while (!smmu_q_empty(prod, smmu.eventq_cons, smmu.eventq_log2)) {
        struct smmu_event ev;
        smmu_decode_event(
            &eventq[smmu_q_slot(smmu.eventq_cons, smmu.eventq_log2) * SMMU_EVENT_DWORDS], &ev);
        struct binding *b = binding_of(ev.sid);
        if (run_extends(&run, &ev)) {
            run.last = ev.addr;
            run.count++;
        } else {
            say_run(&run);
            run = (struct event_run){ev, ev.addr, 1, b};
        }
        bool seen = false;
        for (unsigned i = 0; b && i < nr_faulted; i++) {
            seen |= faulted[i] == b->owner;
        }
        if (b && !seen && nr_faulted < ARRAY_SIZE(faulted)) {
            faulted[nr_faulted++] = b->owner;
        }
        smmu.eventq_cons = smmu_q_inc(smmu.eventq_cons, smmu.eventq_log2);
    }
    say_run(&run);
    /* The overflow acknowledged with the entries read. */
    smmu.eventq_cons = (smmu.eventq_cons & ~(uint32_t)SMMU_Q_OVERFLOW) | (prod & SMMU_Q_OVERFLOW);
    wr32(SMMU_EVENTQ_CONS, smmu.eventq_cons);
    spin_unlock(&smmu.evtq_lock);
    for (unsigned i = 0; i < nr_faulted; i++) {
        faulted[i]->dma_fault(faulted[i]->ctx);
    }
}

bool smmu_owns_irq(unsigned intid)
{
    return smmu.active && intid && (intid == smmu.event_intid || intid == smmu.gerror_intid);
}

/* ---- bring-up ---- */

static bool usable(const struct smmu_caps *caps, uint32_t idr0)
{
    const char *why = NULL;

    if (!caps->s2) {
        why = "it has no stage 2";
    } else if (!caps->gran4k) {
        why = "no 4 KiB granule";
    } else if (caps->big_endian) {
        why = "big-endian walks only";
    } else if (!BITS(idr0, 4, 4)) {
        why = "it is not cache-coherent";
    } else if (!caps->two_level && caps->sid_bits > SMMU_STRTAB_SPLIT) {
        why = "a linear stream table of more than 256 streams";
    }
    if (why) {
        printk("bulkhead: SMMU: not used: %s; DMA of the devices behind it is not confined\n", why);
    }
    return !why;
}

static void init_tables(void)
{
    memset(l1_table, 0, sizeof(l1_table));
    memset(smmu.l2, 0, sizeof(smmu.l2));
    if (!smmu.two_level) {
        l2_new(NULL);
    }
    memset(cmdq, 0, sizeof(cmdq));
    memset(eventq, 0, sizeof(eventq));
    dsb_ishst();
}

static bool start_queues(uint32_t strtab_cfg)
{
    uint64_t strtab =
        smmu.two_level ? (uint64_t)(uintptr_t)l1_table : (uint64_t)(uintptr_t)l2_tables[0];

    wr32(SMMU_CR1, CR1_VALUE);
    wr32(SMMU_CR2, SMMU_CR2_RECINVSID);
    wr64(SMMU_STRTAB_BASE, SMMU_Q_BASE_ALLOC | (strtab & 0x000fffffffffffc0ULL));
    wr32(SMMU_STRTAB_BASE_CFG, strtab_cfg);
    wr64(SMMU_CMDQ_BASE,
         SMMU_Q_BASE_ALLOC | smmu_q_base((uint64_t)(uintptr_t)cmdq, smmu.cmdq_log2));
    wr32(SMMU_CMDQ_PROD, 0);
    wr32(SMMU_CMDQ_CONS, 0);
    wr64(SMMU_EVENTQ_BASE,
         SMMU_Q_BASE_ALLOC | smmu_q_base((uint64_t)(uintptr_t)eventq, smmu.eventq_log2));
    wr32(SMMU_EVENTQ_PROD, 0);
    wr32(SMMU_EVENTQ_CONS, 0);
    smmu.cmdq_prod = smmu.eventq_cons = 0;
    if (!set_cr0(SMMU_CR0_CMDQEN)) {
        return false;
    }
    /* Whatever firmware left in the SMMU's caches goes. */
    spin_lock(&smmu.cmdq_lock);
    submit(smmu_cmd_cfgi_all, false);
    submit(smmu_cmd_tlbi_el2_all, false);
    submit(smmu_cmd_tlbi_nsnh_all, true);
    spin_unlock(&smmu.cmdq_lock);
    return set_cr0(SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN);
}

static void enable_irqs(const struct board_smmu *board_smmu)
{
    const unsigned spis[] = {board_smmu->event_spi, board_smmu->gerror_spi};

    smmu.event_intid = board_smmu->event_spi ? board_smmu->event_spi + 32 : 0;
    smmu.gerror_intid = board_smmu->gerror_spi ? board_smmu->gerror_spi + 32 : 0;
    for (unsigned i = 0; i < ARRAY_SIZE(spis); i++) {
        if (spis[i]) {
            gic_spi_configure(spis[i] + 32, true);
            gic_enable_spi(spis[i] + 32, 0);
        }
    }
    wr32(SMMU_IRQ_CTRL, SMMU_IRQ_CTRL_GERROR | SMMU_IRQ_CTRL_EVENTQ);
    unsigned polls = 0;
    while (rd32(SMMU_IRQ_CTRLACK) != rd32(SMMU_IRQ_CTRL) && polls < POLL_LIMIT) {
        polls++;
        yield();
    }
}

bool smmu_init(const struct board_smmu *board_smmu)
{
    struct smmu_caps caps;
    unsigned l1_entries;
    bool two_level;

    if (!board_smmu->regs.size) {
        return false;
    }
    if (board_smmu->regs.size < SMMU_MMIO_SIZE) {
        printk("bulkhead: SMMU %s: reg 0x%llx is smaller than its two pages: not used\n",
               board_smmu->path, (unsigned long long)board_smmu->regs.size);
        return false;
    }
    memset(&smmu, 0, sizeof(smmu));
    smmu.base = (uintptr_t)board_smmu->regs.base;
    uint32_t idr0 = rd32(SMMU_IDR0);
    smmu_decode_idr(idr0, rd32(SMMU_IDR1), rd32(SMMU_IDR5), &caps);
    if (!usable(&caps, idr0)) {
        return false;
    }
    caps.sid_bits = MIN(caps.sid_bits, (unsigned)SID_BITS_MAX);
    uint32_t strtab_cfg = smmu_strtab_cfg(&caps, &l1_entries, &two_level);
    smmu.two_level = two_level;
    smmu.sid_bits = caps.sid_bits;
    smmu.cmdq_log2 = MIN(caps.cmdq_log2, (unsigned)CMDQ_LOG2);
    smmu.eventq_log2 = MIN(caps.eventq_log2, (unsigned)EVENTQ_LOG2);
    smmu.oas_code = caps.oas_code;
    if (!set_cr0(0)) {
        return false;
    }
    l2_tables = hyp_mem_alloc(L2_TABLES * sizeof(*l2_tables), sizeof(*l2_tables), HYP_MEM_SMMU);
    if (!l2_tables) {
        printk("bulkhead: SMMU: not used: no room for its stream tables; DMA of the devices "
               "behind it is not confined\n");
        return false;
    }
    init_tables();
    if (!start_queues(strtab_cfg)) {
        return false;
    }
    enable_irqs(board_smmu);
    if (!set_cr0(SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN | SMMU_CR0_SMMUEN)) {
        return false;
    }
    smmu.active = true;
    printk("bulkhead: SMMU %s: %u stream ID bits (%s stream table), every stream aborts until "
           "a VM owns it\n",
           board_smmu->path, caps.sid_bits, two_level ? "2-level" : "linear");
    return true;
}
