#!/usr/bin/env python3
"""Shared memory and doorbells between VMs (GitHub issue 11) on QEMU virt, for GICv2 and GICv3
("v2/...", "v3/..."). Each test dumps QEMU's DTB (qemu.make_dtb_with), adds the region and VM
nodes to /chosen, loads the guests with `-device loader` and boots the hypervisor with it. The
bare-metal side is tests/guest/shmem.c (see its modes).

- shm_exchange: a region "chan" (1 MiB, `bulkhead,shared-memory` with a size) mapped read-write
  at IPA 0x70000000 by two shmem guests, "alpha" (member 0) and "beta" (member 1), in
  mode=exchange: alpha writes a 32 KiB pattern and rings beta by hypercall; beta, rung, verifies
  it, writes its own and rings back through the RING register; alpha verifies that. Both find
  their doorbell's ID, MEMBERS and magic registers right, and ringing member 7 (not on the
  channel) refused in both forms (BH_HVC_DOORBELL_RING answers DENIED; REFUSED counts both).
- shm_reset: the same, then alpha marks the region and resets its VM (PSCI SYSTEM_RESET): in its
  next life it finds the mark and beta's pattern still in the region.
- shm_ro: "prod" writes a counter every millisecond and rings; "reader" maps the region
  read-only, takes 20 rings, sees the counter grow, then writes to the region: the hypervisor
  reports the access ("write to read-only shared memory chan at IPA 0x70000008") and injects a
  data abort, which the guest takes; the counter is not changed, and prod runs on to its end.
- shm_xen: Xen 4.17's binding: two `xen,domain` nodes whose `xen,domain-shared-memory-v1`
  children give `xen,shared-mem = <paddr gaddr size>` (a fixed host range at 0x7f000000,
  role owner and borrower), same exchange as shm_exchange.
- shm_bad_ram: a VM whose region's IPA overlaps its RAM is refused, naming its node, and never
  starts; the other VM (a test guest ticker) runs.
- shm_doc_examples: docs/CONFIG.md's two examples ("Sharing memory between VMs") as written,
  together in QEMU's tree: a producer and a read-only reader (our binding), two exchanging
  xen,domain guests (Xen's), the shmem guest loaded at each module's address.
- shm_linux: Debian's Linux (member 0, read-only) beside a producer (member 1: a counter every
  ms, ringing Linux each time): Linux's init (bulkhead.test=shmem) finds the region in
  /proc/device-tree's /reserved-memory and reads the counter with busybox devmem through /dev/mem
  10 times, 100 ms apart (never going back, and grown over the ten), meanwhile taking the producer's rings as
  interrupts of the doorbell's GPIO line 1 (the doorbell is a PL061 to Linux, gpio-pl061 drives
  it: "gpiolib" in /proc/interrupts), then rings the producer through GPIO output line 5; the
  producer stops at that ring and powers off.
- shm_linux_pair: two Debian Linux VMs on one channel (bulkhead.test=shmem-pair) and a 3 MiB
  region: linux0 writes a 1 MiB pattern at region + 1 MiB with /bin/shmtool (tests/linux/
  shmtool.c: /dev/mem mapped O_SYNC) and rings linux1 (GPIO output line 4 + 1); linux1, rung (an
  interrupt on its GPIO line 0, or the line already high if the ring came before it listened),
  checks every word of it, writes its own 1 MiB at region + 2 MiB and rings back; linux0, rung
  by interrupt, checks that.
- shm_timing: a real-time producer's timing beside Linux's load, under -icount shift=0 (time
  counts instructions: the same figures every run). The shmem guest in mode=timed takes its
  virtual timer every millisecond (absolute deadlines, in WFI), writes the counter and rings; it
  measures how late each interrupt reaches its vector. First alone (500 periods), then beside
  Debian's Linux (bulkhead.test=shmem-load: for 3 s a CPU-bound loop, console lines, /proc and
  /dev/mem reads and 256 KiB writes into the region, flagged in the region's word 3) until
  Linux rings it. The worst lateness during the load must stay within TIMING_MARGIN_NS of the
  worst alone (it is the same: 2,000 instructions on GICv3, 1,984 on GICv2). The producer is
  on physical CPU 0: QEMU's round-robin under icount runs the CPUs in order after a timer
  fires, so a producer on CPU 1 would wait for CPU 0's whole time slice (up to milliseconds),
  an artifact of the emulator that hardware running both CPUs at once does not have.

Every QEMU run has a time limit; consoles are kept in build/test-logs/.
Alone: make all guests linux-initrd; tests/qemu/test_shmem.py [--build DIR] [--only RE]
Interactively (`make run-shm`, or --demo): Linux with a shell beside the producer; the shell
reads the counter with `devmem 0x70000008 64`.
"""

import os
import re
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402

BARE_TIME_LIMIT = 90
LINUX_TIME_LIMIT = 180
MEM = "2G"
SMP = 4  # the doc examples' four 1-vCPU VMs; Linux (2 vCPUs) and one guest
ADDR_A, ADDR_B = 0x44000000, 0x45000000  # the guests' images (QEMU's DTB is at 0x48000000)
KERNEL_ADDR, INITRD_ADDR = qemu.LINUX_ADDRS[0]
SHM_IPA = 0x70000000
PAIR_REGION = 0x300000  # shm_linux_pair: 1 MiB each way at region + 1 MiB and + 2 MiB
XEN_PA = 0x7F000000
ICOUNT = ["-icount", "shift=0,sleep=off"]  # shm_timing: time counts instructions
TIMING_MARGIN_NS = 2000  # shm_timing: what Linux's load may add to the producer's lateness


class Ctx(qemu.Build):
    def __init__(self, build):
        super().__init__(build)
        self.shmem = qemu.guest_path(build, "shmem")
        self.testguest = qemu.guest_path(build, "testguest")

    def missing_bare(self):
        return (qemu.missing(self.image, how="make all")
                or qemu.missing(self.shmem, self.testguest, how="make guests")
                or (None if qemu.which("dtc") else "dtc not found"))

    def missing_linux(self):
        return (self.missing_bare()
                or qemu.missing(qemu.LINUX_KERNEL, how="scripts/install-deps.sh")
                or qemu.missing(qemu.LINUX_INITRD, how="make linux-initrd"))


# ---- device tree text ----

def region(rid, size=0x100000):
    return (f"\t\tshm-{rid} {{\n\t\t\tcompatible = \"bulkhead,shared-memory\";\n"
            f"\t\t\tbulkhead,shm-id = \"{rid}\";\n\t\t\tsize = <0x0 {size:#x}>;\n\t\t}};\n")


def shm_map(rid, ipa=SHM_IPA, access=None):
    out = (f"\t\t\tshm@{ipa:x} {{\n\t\t\t\tcompatible = \"bulkhead,shared-memory-map\";\n"
           f"\t\t\t\tbulkhead,shm-id = \"{rid}\";\n\t\t\t\tbulkhead,ipa = <0x0 {ipa:#x}>;\n")
    if access:
        out += f"\t\t\t\tbulkhead,access = \"{access}\";\n"
    return out + "\t\t\t};\n"


def xen_map(rid, role, pa=XEN_PA, ipa=SHM_IPA, size=0x100000):
    return (f"\t\t\tshm@{ipa:x} {{\n\t\t\t\tcompatible = \"xen,domain-shared-memory-v1\";\n"
            f"\t\t\t\trole = \"{role}\";\n\t\t\t\txen,shm-id = \"{rid}\";\n"
            f"\t\t\t\txen,shared-mem = <0x0 {pa:#x} 0x0 {ipa:#x} 0x0 {size:#x}>;\n\t\t\t}};\n")


def module(addr, size, bootargs=None, kind="kernel"):
    out = (f"\t\t\tmodule@{addr:x} {{\n\t\t\t\tcompatible = \"multiboot,{kind}\", "
           f"\"multiboot,module\";\n\t\t\t\treg = <0x0 {addr:#x} 0x0 {size:#x}>;\n")
    if bootargs:
        out += f"\t\t\t\tbootargs = \"{bootargs}\";\n"
    return out + "\t\t\t};\n"


def vm(name, children, mem=0x4000000, cpus=1, xen=False, pcpus=None, props=()):
    """A VM node (DTS text): ours, or Xen's with xen; props: more property lines."""
    if xen:
        head = f"\t\t\tcompatible = \"xen,domain\";\n\t\t\tmemory = <0x0 {mem // 1024:#x}>;\n"
    else:
        head = f"\t\t\tcompatible = \"bulkhead,vm\";\n\t\t\tmemory-size = <0x0 {mem:#x}>;\n"
    if pcpus is not None:
        head += f"\t\t\tpcpus = <{' '.join(str(c) for c in pcpus)}>;\n"
    head += "".join(f"\t\t\t{p};\n" for p in props)
    return (f"\t\t{name} {{\n{head}\t\t\tcpus = <{cpus}>;\n\t\t\t#address-cells = <2>;\n"
            f"\t\t\t#size-cells = <2>;\n" + "".join(children) + "\t\t};\n")


def guest_vm(ctx, name, addr, bootargs, maps, xen=False, binary=None, pcpus=None):
    binary = binary or ctx.shmem
    return vm(name, [module(addr, os.path.getsize(binary), bootargs)] + maps, xen=xen,
              pcpus=pcpus)


def loaders(*files):
    out = []
    for path, addr in files:
        out += ["-device", f"loader,file={path},addr={addr:#x},force-raw=on"]
    return out


def boot(ctx, gic, name, nodes, files, limit=BARE_TIME_LIMIT, smp=SMP, extra=()):
    with tempfile.TemporaryDirectory(prefix="bulkhead-shm-") as work:
        dtb, err = qemu.make_dtb_with(ctx, [], qemu.machine(gic), work, nodes, smp=smp, mem=MEM,
                                      need_modules=False)
        if err:
            return None, err
        cmd = qemu.command(ctx.image, machine=qemu.machine(gic), smp=smp, mem=MEM, dtb=dtb,
                           extra=[*loaders(*files), *extra])
        return qemu.run(name, cmd, limit), None


def passes(vm_name, checks):
    return [qemu.prefixed(vm_name, r"PASS " + qemu.esc(c) + "$") for c in checks]


def clean_done(vm_name):
    return qemu.prefixed(vm_name, r"DONE passed=\d+ failed=0")


def no_fail(vms):
    return [qemu.prefixed(v, r"FAIL .*") for v in vms] + [qemu.stopped(vms)]


# ---- the tests ----

def test_exchange(ctx, gic, reset=False, xen=False):
    name = f"v{gic}/shm_" + ("reset" if reset else "xen" if xen else "exchange")
    missing = ctx.missing_bare()
    if missing:
        return qemu.failure(name, missing)
    a_args = "mode=exchange" + (" reset=1" if reset else "")
    if xen:
        nodes = (guest_vm(ctx, "alpha", ADDR_A, a_args, [xen_map("xchan", "owner")], xen=True)
                 + guest_vm(ctx, "beta", ADDR_B, "mode=exchange", [xen_map("xchan", "borrower")],
                            xen=True))
    else:
        nodes = (region("chan") + guest_vm(ctx, "alpha", ADDR_A, a_args, [shm_map("chan")])
                 + guest_vm(ctx, "beta", ADDR_B, "mode=exchange", [shm_map("chan")]))
    run_, err = boot(ctx, gic, name, nodes, [(ctx.shmem, ADDR_A), (ctx.shmem, ADDR_B)])
    if err:
        return qemu.failure(name, err)
    t = run_.text
    alpha = ["doorbell registers", "rung back", "reply verified", "ring refused"]
    reasons = [qemu.expect_all(t, passes("alpha", alpha)
                               + passes("beta", ["doorbell registers", "rung", "pattern verified",
                                                 "ring refused"])
                               + [clean_done("alpha"), clean_done("beta")])]
    if reset:
        reasons.append(qemu.expect_ordered(t, [r"^bulkhead: alpha: reset",
                                               *passes("alpha", ["kept across reset",
                                                                 "reply kept across reset"])]))
    reasons += qemu.ends_cleanly(t, run_, ("alpha", "beta"), forbid=no_fail(("alpha", "beta")))
    return qemu.verdict(name, run_, *reasons)


def test_ro(ctx, gic):
    name = f"v{gic}/shm_ro"
    missing = ctx.missing_bare()
    if missing:
        return qemu.failure(name, missing)
    nodes = (region("chan")
             + guest_vm(ctx, "prod", ADDR_A, "mode=producer count=3000 period_ms=1",
                        [shm_map("chan")])
             + guest_vm(ctx, "reader", ADDR_B, "mode=reader count=20 ro=1",
                        [shm_map("chan", access="ro")]))
    run_, err = boot(ctx, gic, name, nodes, [(ctx.shmem, ADDR_A), (ctx.shmem, ADDR_B)])
    if err:
        return qemu.failure(name, err)
    t = run_.text
    reasons = [qemu.expect_ordered(t, [
        *passes("reader", ["doorbell registers", "read"]),
        r"^bulkhead: reader: write to read-only shared memory chan at IPA 0x70000008 "
        r".*abort injected",
        *passes("reader", ["ro write faulted"])]),
        qemu.expect_all(t, passes("prod", ["produced"]) + [clean_done("prod"),
                                                           clean_done("reader")])]
    reasons += qemu.ends_cleanly(t, run_, ("prod", "reader"), forbid=no_fail(("prod", "reader")))
    return qemu.verdict(name, run_, *reasons)


def test_bad_ram(ctx, gic):
    name = f"v{gic}/shm_bad_ram"
    missing = ctx.missing_bare()
    if missing:
        return qemu.failure(name, missing)
    nodes = (region("chan")
             + guest_vm(ctx, "good", ADDR_A, "mode=ticker count=5 tick_ms=100", [],
                        binary=ctx.testguest)
             + guest_vm(ctx, "bad", ADDR_B, "mode=exchange", [shm_map("chan", ipa=0x42000000)]))
    run_, err = boot(ctx, gic, name, nodes, [(ctx.testguest, ADDR_A), (ctx.shmem, ADDR_B)])
    if err:
        return qemu.failure(name, err)
    t = run_.text
    reasons = [qemu.expect_all(t, [r"^error: /chosen/bad/shm@42000000: IPA 0x42000000\+0x101000 "
                                   r"overlaps the VM's RAM",
                                   r"^bulkhead: /chosen/bad: VM not started",
                                   qemu.prefixed("good", "ticker done")]),
               qemu.expect_none(t, [r"^bulkhead: bad: started"])]
    reasons += qemu.ends_cleanly(t, run_, ("good",))
    return qemu.verdict(name, run_, *reasons)


def test_linux(ctx, gic):
    name = f"v{gic}/shm_linux"
    missing = ctx.missing_linux()
    if missing:
        return qemu.failure(name, missing)
    args = "console=ttyAMA0 bulkhead.test=shmem"
    linux = vm("linux", [module(KERNEL_ADDR, os.path.getsize(qemu.LINUX_KERNEL), args),
                         module(INITRD_ADDR, os.path.getsize(qemu.LINUX_INITRD), kind="ramdisk"),
                         shm_map("chan", access="ro")], mem=0x20000000, cpus=2)
    nodes = (region("chan") + linux
             + guest_vm(ctx, "prod", ADDR_A, "mode=producer count=60000 period_ms=1",
                        [shm_map("chan")]))
    files = [(qemu.LINUX_KERNEL, KERNEL_ADDR), (qemu.LINUX_INITRD, INITRD_ADDR),
             (ctx.shmem, ADDR_A)]
    run_, err = boot(ctx, gic, name, nodes, files, limit=LINUX_TIME_LIMIT)
    if err:
        return qemu.failure(name, err)
    t = run_.text
    values = [int(v, 16) for v in re.findall(r"^\[linux\] LINUX shm value (0x[0-9a-fA-F]+)", t,
                                             re.MULTILINE)]
    reasons = [qemu.expect_all(t, [qemu.prefixed("linux", r"LINUX shm region 0x70000000 "),
                                   qemu.prefixed("linux", r"LINUX shm irqs [1-9]\d* from member 1"),
                                   qemu.prefixed("linux", r"LINUX shm rang member 1 as member 0"),
                                   qemu.prefixed("prod", r"shmem: produced \d+ values, stopped "
                                                 r"by a peer's ring")])]
    if len(values) < 10:
        reasons.append(f"Linux read {len(values)} values, expected 10: {values}")
    elif any(b < a for a, b in zip(values, values[1:])) or values[-1] <= values[0]:
        # Two reads may fall in one of the producer's periods when the host is loaded: the
        # counter may repeat, never go back, and must have moved over the ten reads.
        reasons.append(f"the values Linux read do not increase: {values}")
    reasons += qemu.ends_cleanly(t, run_, ("linux", "prod"), forbid=no_fail(("prod",)))
    return qemu.verdict(name, run_, *reasons)


TIMING_RE = re.compile(r"^\[prod\] shmem: timing (quiet|loaded) n=(\d+) max_ns=(\d+) "
                       r"mean_ns=(\d+)", re.MULTILINE)


def timing(text):
    """{phase: (n, max_ns, mean_ns)} from the producer's timing lines."""
    return {m.group(1): tuple(int(x) for x in m.group(2, 3, 4)) for m in TIMING_RE.finditer(text)}


def lateness_reason(phase, alone_max, during):
    """None if the producer measured 1000 periods or more in phase ((n, max_ns, mean_ns), as
    timing() gives it) and none came later than alone_max + TIMING_MARGIN_NS; else why not."""
    if not phase or phase[0] < 1000:
        return f"the producer measured {phase and phase[0]} periods {during}, expected 1000 or more"
    if phase[1] > alone_max + TIMING_MARGIN_NS:
        return (f"{during} the producer's timer came up to {phase[1]} ns late (mean {phase[2]}), "
                f"alone at most {alone_max} ns: over the bound of "
                f"{alone_max + TIMING_MARGIN_NS} ns")
    return None


def test_timing(ctx, gic):
    """The real-time producer's timer lateness under -icount (instructions, the same every
    run), alone and beside a Linux VM running a load: Linux's load must not make it later."""
    name = f"v{gic}/shm_timing"
    missing = ctx.missing_linux()
    if missing:
        return qemu.failure(name, missing)
    prod = "mode=timed period_us=1000 count="
    alone_run, err = boot(ctx, gic, name + "-alone", region("chan", size=0x200000)
                          + guest_vm(ctx, "prod", ADDR_A, prod + "500", [shm_map("chan")]),
                          [(ctx.shmem, ADDR_A)], smp=2, extra=ICOUNT)
    if err:
        return qemu.failure(name, err)
    alone = timing(alone_run.text).get("quiet")
    if not alone or alone[0] < 500:
        return qemu.verdict(name, alone_run, "the producer alone reported no timing for 500 "
                            "periods", *qemu.ends_cleanly(alone_run.text, alone_run, ("prod",)))
    args = "console=ttyAMA0 bulkhead.test=shmem-load bulkhead.load-s=3"
    linux = vm("linux", [module(KERNEL_ADDR, os.path.getsize(qemu.LINUX_KERNEL), args),
                         module(INITRD_ADDR, os.path.getsize(qemu.LINUX_INITRD), kind="ramdisk"),
                         shm_map("chan")], mem=0x10000000, pcpus=[1])
    nodes = (region("chan", size=0x200000) + linux
             + guest_vm(ctx, "prod", ADDR_A, prod + "1000000", [shm_map("chan")], pcpus=[0]))
    files = [(qemu.LINUX_KERNEL, KERNEL_ADDR), (qemu.LINUX_INITRD, INITRD_ADDR),
             (ctx.shmem, ADDR_A)]
    run_, err = boot(ctx, gic, name, nodes, files, limit=LINUX_TIME_LIMIT, smp=2, extra=ICOUNT)
    if err:
        return qemu.failure(name, err)
    t = run_.text
    reasons = [qemu.expect_all(t, [qemu.prefixed("linux", r"LINUX shm load: done, [1-9]\d* rounds"),
                                   qemu.prefixed("prod", r"shmem: produced \d+ values, stopped "
                                                 r"by a peer's ring")])]
    loaded = timing(t).get("loaded")
    print(f"{name}: timer lateness alone max {alone[1]} ns mean {alone[2]} ns over {alone[0]}; "
          f"beside Linux's load {loaded}", file=sys.stderr)
    reasons.append(lateness_reason(loaded, alone[1], "during Linux's load"))
    reasons += qemu.ends_cleanly(t, run_, ("linux", "prod"), forbid=no_fail(("prod",)))
    return qemu.verdict(name, run_, *reasons)


def test_linux_pair(ctx, gic):
    """Two Linux VMs (one vCPU, 256 MiB each, the same kernel and initramfs modules) on one
    channel, in bulkhead.test=shmem-pair: each side's 1 MiB pattern checked by the other, rung
    both ways (GPIO interrupts through gpio-pl061)."""
    name = f"v{gic}/shm_linux_pair"
    missing = ctx.missing_linux()
    if missing:
        return qemu.failure(name, missing)
    args = "console=ttyAMA0 bulkhead.test=shmem-pair"
    mods = [module(KERNEL_ADDR, os.path.getsize(qemu.LINUX_KERNEL), args),
            module(INITRD_ADDR, os.path.getsize(qemu.LINUX_INITRD), kind="ramdisk")]
    nodes = (region("chan", size=PAIR_REGION)
             + vm("linux0", mods + [shm_map("chan")], mem=0x10000000)
             + vm("linux1", mods + [shm_map("chan")], mem=0x10000000))
    files = [(qemu.LINUX_KERNEL, KERNEL_ADDR), (qemu.LINUX_INITRD, INITRD_ADDR)]
    run_, err = boot(ctx, gic, name, nodes, files, limit=LINUX_TIME_LIMIT)
    if err:
        return qemu.failure(name, err)
    t = run_.text
    ok = r"shmtool: ok 1048576 bytes at "
    reasons = [qemu.expect_all(t, [
        qemu.prefixed("linux0", r"LINUX shm pair: shmtool: wrote 1048576 bytes at 0x70100000, "
                      r"rang 1$"),
        qemu.prefixed("linux1", r"LINUX shm pair: rung \((irq|level)\), pattern: " + ok
                      + r"0x70100000$"),
        qemu.prefixed("linux1", r"LINUX shm pair: shmtool: wrote 1048576 bytes at 0x70200000, "
                      r"replied, rang 0$"),
        qemu.prefixed("linux0", r"LINUX shm pair: rung \(irq\), reply: " + ok + r"0x70200000$")])]
    reasons += qemu.ends_cleanly(t, run_, ("linux0", "linux1"))
    return qemu.verdict(name, run_, *reasons)


def doc_chosen(name):
    """The inside of the `chosen { ... };` block after `<!-- doc-example: name -->` in
    docs/CONFIG.md, or None."""
    with open(os.path.join("docs", "CONFIG.md"), encoding="utf-8") as f:
        doc = f.read()
    m = re.search(r"<!-- doc-example: " + re.escape(name) + r" -->\n```dts\nchosen \{\n(.*?)"
                  r"^\};\n```", doc, re.MULTILINE | re.DOTALL)
    return m.group(1) if m else None


def test_doc_examples(ctx, gic):
    """docs/CONFIG.md's two examples as written, in one boot: our binding (producer and a
    read-only dashboard) and Xen's (domU1 and domU2 exchanging), the shmem guest at 0x44000000
    and 0x45000000."""
    name = f"v{gic}/shm_doc_examples"
    missing = ctx.missing_bare()
    if missing:
        return qemu.failure(name, missing)
    blocks = [doc_chosen("shared-memory"), doc_chosen("xen-shared-memory")]
    if not all(blocks):
        return qemu.failure(name, "docs/CONFIG.md lacks the shared-memory or xen-shared-memory "
                            "doc-example")
    run_, err = boot(ctx, gic, name, "".join(blocks), [(ctx.shmem, ADDR_A), (ctx.shmem, ADDR_B)])
    if err:
        return qemu.failure(name, err)
    t = run_.text
    vms = ("producer", "dashboard", "domU1", "domU2")
    reasons = [qemu.expect_all(t, passes("producer", ["produced"]) + passes("dashboard", ["read"])
                               + passes("domU1", ["rung back", "reply verified"])
                               + passes("domU2", ["rung", "pattern verified"])
                               + [clean_done(v) for v in vms])]
    reasons += qemu.ends_cleanly(t, run_, vms, forbid=no_fail(vms))
    return qemu.verdict(name, run_, *reasons)


def cases(build):
    """[(name, callable returning a Result)]."""
    ctx = Ctx(build)
    out = []
    for gic in (3, 2):
        out += [(f"v{gic}/shm_linux", lambda g=gic: test_linux(ctx, g)),
                (f"v{gic}/shm_linux_pair", lambda g=gic: test_linux_pair(ctx, g)),
                (f"v{gic}/shm_timing", lambda g=gic: test_timing(ctx, g)),
                (f"v{gic}/shm_exchange", lambda g=gic: test_exchange(ctx, g)),
                (f"v{gic}/shm_reset", lambda g=gic: test_exchange(ctx, g, reset=True)),
                (f"v{gic}/shm_xen", lambda g=gic: test_exchange(ctx, g, xen=True)),
                (f"v{gic}/shm_ro", lambda g=gic: test_ro(ctx, g)),
                (f"v{gic}/shm_bad_ram", lambda g=gic: test_bad_ram(ctx, g)),
                (f"v{gic}/shm_doc_examples", lambda g=gic: test_doc_examples(ctx, g))]
    return out


DEMO_TELL = """Bulkhead shared-memory demo: Debian's Linux (vm "linux", 2 vCPUs, a shell) maps the
region "chan" read-only at 0x70000000; the bare-metal guest "prod" writes a counter into its word 1
every millisecond and rings Linux. In the shell:
    devmem 0x70000008 64                      the counter, now (run it twice)
    grep gpiolib /proc/interrupts             rings taken, once a GPIO line listens:
    B=$(cat /sys/class/gpio/gpiochip*/base); echo $((B+1)) > /sys/class/gpio/export
    echo rising > /sys/class/gpio/gpio$((B+1))/edge
Leave with 'poweroff -f' then Ctrl-A X (prod runs for ten minutes), or Ctrl-A X at once."""


def demo(build):
    """make run-shm: the channel, interactively (QEMU replaces this process)."""
    ctx = Ctx(build)
    missing = ctx.missing_linux()
    if missing:
        print(f"run-shm: {missing}", file=sys.stderr)
        return 1
    args = "console=ttyAMA0 quiet bulkhead.test=shell"
    linux = vm("linux", [module(KERNEL_ADDR, os.path.getsize(qemu.LINUX_KERNEL), args),
                         module(INITRD_ADDR, os.path.getsize(qemu.LINUX_INITRD), kind="ramdisk"),
                         shm_map("chan", access="ro")], mem=0x20000000, cpus=2)
    nodes = (region("chan") + linux
             + guest_vm(ctx, "prod", ADDR_A, "mode=producer count=600000 period_ms=1",
                        [shm_map("chan")]))
    files = [(qemu.LINUX_KERNEL, KERNEL_ADDR), (qemu.LINUX_INITRD, INITRD_ADDR),
             (ctx.shmem, ADDR_A)]
    work = tempfile.mkdtemp(prefix="bulkhead-shm-demo-")
    dtb, err = qemu.make_dtb_with(ctx, [], qemu.MACHINE_V3, work, nodes, smp=SMP, mem=MEM,
                                  need_modules=False)
    if err:
        print(f"run-shm: {err}", file=sys.stderr)
        return 1
    cmd = qemu.command(ctx.image, machine=qemu.MACHINE_V3, smp=SMP, mem=MEM, dtb=dtb,
                       extra=loaders(*files))
    print(DEMO_TELL, flush=True)
    os.execvp(cmd[0], cmd)
    return 1


def main():
    if "--demo" in sys.argv:
        ap = qemu.arg_parser(__doc__)
        ap.add_argument("--demo", action="store_true")
        return demo(ap.parse_args().build)
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
