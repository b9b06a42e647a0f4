#!/usr/bin/env python3
"""Linux tests: Debian's unmodified arm64 kernel with the busybox initramfs of
tests/linux (build/linux/initrd.cpio, `make linux-initrd`) under the hypervisor on QEMU virt.

For GICv2 and GICv3 and 1, 2 and 4 vCPUs ("v3/linux_smp2", ...; QEMU's -smp is the vCPU count),
one boot each, in which the guest's init (tests/linux/init) reports and the test checks:
- Linux reaches user space (the "LINUX user space" banner);
- nproc equals the vCPU count;
- one job pinned on each CPU with taskset ran there, and each CPU's busy time grew;
- `sleep 2` takes SLEEP_RANGE seconds of the guest's clock (/proc/uptime before and after);
- /proc/interrupts shows arch_timer interrupts on every CPU (all counts non-zero);
- dmesg has no line at warning level or worse that the same kernel and initramfs do not also
  print on bare QEMU with the same -smp, GIC version and RAM (booted once per configuration and
  kept for the run), comparing lines with timestamps, numbers and addresses masked;
- `poweroff -f` ends the VM: "bulkhead: vm0: powered off", then QEMU exits by itself.
"v2/linux_reboot", "v3/linux_reboot": with bulkhead.test=reboot the guest reboots on its first
boot ("bulkhead: vm0: reset"), reaches user space again with boot-count 1 and powers off.
"v2/linux_two_vms", "v3/linux_two_vms": two Linux VMs of 2 vCPUs each on 4 CPUs both run the
checks above and power off.
"v2/linux_vcpus4_on2", "v3/linux_vcpus4_on2": one VM of 4 vCPUs on a 2-CPU board (issue 15:
two vCPUs take turns on each CPU) runs all the checks above (nproc 4, a job pinned to each vCPU,
`sleep 2` against the guest's clock, its timer ticking on every vCPU).
"v2/linux_cpushare_equal", "v3/linux_cpushare_equal": two Linux VMs on a 1-CPU board, equal
priority; once both are up (the counter at SHARE_START s) each spins SHARE_S s and measures,
from the counter's jumps, the share of the CPU it had (tests/linux/shmtool.c cpushare): each must
get about half (SHARE_EQUAL permille).
"v2/linux_cpushare_priority", "v3/linux_cpushare_priority": the same with bulkhead,priority 2 for
vm0 and 1 for vm1: vm0 runs its job at full speed (at least SHARE_HIGH permille) and vm1 does
not run at all meanwhile: its own job begins only once vm0's is over (SHARE_S s after the start,
as its began_ms says), and then has the CPU to itself.
"v2/linux_partition", "v3/linux_partition": a Linux VM of 2 vCPUs and a ticking bare-metal guest
on a 1-CPU board under a time-partition table (PARTITION_FRAME_US frame: Linux's window, the
ticker's, then an idle gap): Linux passes the checks above with 2 vCPUs (nproc 2, a job on each,
`sleep 2` on its clock) and the ticker ticks to its end.
If the bare-QEMU reference itself fails the checks, the failure says so: then the test or the
machine is at fault, not the hypervisor.

Run alone: tests/qemu/test_linux.py [--build build/qemu-virt] [--only RE].
"""

import os
import re
import sys
import tempfile
import threading
import types

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402

KERNEL = qemu.LINUX_KERNEL
INITRD = qemu.LINUX_INITRD

MEM = "2G"
MEM_TWO_VMS = "3G"
BOOTARGS = "console=ttyAMA0"

# `sleep 2` measured on the guest's own clock: never shorter than 2 s, minus the 10 ms
# resolution of /proc/uptime; at most half a second late (QEMU runs two at a time, and its vCPU
# threads compete with each other and the other QEMU for the host's cores).
SLEEP_RANGE = (1.99, 2.5)
TIME_LIMIT = 100  # seconds per QEMU run; a passing one takes 5-30, even on a loaded host
ROUTINE_HV = re.compile(r"^bulkhead: (board |no VM running|keyboard input goes to|Ctrl-T then"
                        r"|vm\d+: (\d+ vCPU|started|powered off|reset$))")


class Ctx(qemu.Build):
    """Paths of one build and the bare-QEMU references, booted once per configuration."""

    def __init__(self, build):
        super().__init__(build)
        self._refs = {}
        self._lock = threading.Lock()

    def missing(self, hyp=True):
        """What is missing for a boot under the hypervisor (for bare QEMU with hyp=False)."""
        return ((qemu.missing(self.image, how="make all") if hyp else None)
                or qemu.missing(KERNEL, how="scripts/install-deps.sh")
                or qemu.missing(INITRD, how="make linux-initrd"))

    def bare_reference(self, gic, smp):
        """(dmesg warning lines, None) of the bare-QEMU boot of this configuration, or (None,
        reason) if that boot failed its own checks. Thread-safe; each one boots once."""
        with self._lock:
            entry = self._refs.setdefault((gic, smp), [threading.Lock(), None])
        with entry[0]:
            if entry[1] is None:
                entry[1] = boot_bare(gic, smp)
            return entry[1]


def lines_of(text, prefix):
    """The guest's own console lines, without the VM prefix."""
    if not prefix:
        return text.splitlines()
    p = f"[{prefix}] "
    return [l[len(p):] for l in text.splitlines() if l.startswith(p)]


def linux_lines(text, prefix):
    """The init's "LINUX ..." lines, without "LINUX "."""
    return [l[6:] for l in lines_of(text, prefix) if l.startswith("LINUX ")]


def normalize(warning):
    """A dmesg line with what legitimately differs between boots masked: the level, the
    timestamp, addresses and numbers."""
    s = re.sub(r"^<\d+>", "", warning)
    s = re.sub(r"^\[\s*\d+\.\d+\]\s*", "", s)
    s = re.sub(r"\b0x[0-9a-fA-F]+\b", "#", s)
    s = re.sub(r"\b[0-9a-fA-F]*\d[0-9a-fA-F]*\b", "#", s)
    return s.strip()


def parse_checks(text, prefix, ncpu):
    """Checks the init's report of one boot. Returns (reasons, dmesg warning lines)."""
    ll = linux_lines(text, prefix)
    who = f"[{prefix}] " if prefix else ""

    def find(pattern):
        for l in ll:
            m = re.match(pattern, l)
            if m:
                return m
        return None

    if not find(r"user space"):
        return [f"{who}Linux did not reach user space (no 'LINUX user space' line)"], []
    reasons = []
    m = find(r"nproc=(\d+)")
    if not m:
        reasons.append(f"{who}no 'LINUX nproc=' line")
    elif int(m.group(1)) != ncpu:
        reasons.append(f"{who}nproc={m.group(1)}, expected {ncpu} ({m.group(0)})")
    m = find(r"cpujobs=(.*)")
    if not m:
        reasons.append(f"{who}no 'LINUX cpujobs=' line (the pinned jobs did not finish)")
    elif m.group(1) != "ok":
        reasons.append(f"{who}cpujobs={m.group(1)}")
    m = find(r"sleep2=(\d+\.\d+)")
    if not m:
        hung = find(r"sleeping 2 s")
        reasons.append(f"{who}no 'LINUX sleep2=' line" + (": `sleep 2` never returned (no timer "
                                                            "interrupt?)" if hung else ""))
    elif not SLEEP_RANGE[0] <= float(m.group(1)) <= SLEEP_RANGE[1]:
        reasons.append(f"{who}sleep 2 took {m.group(1)} s of guest time, expected "
                       f"{SLEEP_RANGE[0]}..{SLEEP_RANGE[1]}")
    m = find(r"irq:\s+\d+:\s+(.*)")
    if not m:
        reasons.append(f"{who}no arch_timer line in /proc/interrupts")
    else:
        counts = m.group(1).split()[:ncpu]
        if len(counts) < ncpu or not all(c.isdigit() for c in counts):
            reasons.append(f"{who}arch_timer line has no count for each of {ncpu} CPUs: "
                           f"{m.group(0)!r}")
        elif any(int(c) == 0 for c in counts):
            reasons.append(f"{who}arch_timer did not tick on every CPU: {m.group(0)!r}")
    warnings = [l[len("dmesg: "):] for l in ll if l.startswith("dmesg: ")]
    m = find(r"dmesg-warnings=(\d+)")
    if not m:
        reasons.append(f"{who}no 'LINUX dmesg-warnings=' line")
    elif int(m.group(1)) != len(warnings):
        reasons.append(f"{who}{len(warnings)} dmesg lines on the console, the guest counted "
                       f"{m.group(1)}")
    if not find(r"checks done"):
        reasons.append(f"{who}no 'LINUX checks done' line")
    return reasons, warnings


def hv_notes(text):
    """The hypervisor's non-routine lines (errors, stops, panics), for a failure's reason."""
    notes = [l for l in text.splitlines()
             if (l.startswith("bulkhead: ") and not ROUTINE_HV.match(l)) or "PANIC" in l]
    return notes[:6]


def hv_verdict(name, run_, reasons):
    r = qemu.verdict(name, run_, *reasons)
    if not r.ok:
        if run_.timed_out:
            r.reason += f" (QEMU killed at the {TIME_LIMIT} s limit)"
        notes = hv_notes(run_.text)
        if notes:
            r.reason += "\n    hypervisor: " + "\n    hypervisor: ".join(notes)
    return r


def ends_cleanly(t, run_, vms):
    """Every VM started and powered off, none stopped, no panic, the hypervisor said so and QEMU
    left by itself. A stop or panic is named before a missing power-off."""
    return qemu.ends_cleanly(t, run_, vms, forbid=[qemu.stopped(vms), r"PANIC.*"],
                             forbid_first=True)


def boot_bare(gic, smp):
    """Boots the kernel and initramfs on bare QEMU; (warnings, None) or (None, reason)."""
    name = f"linux_bare-v{gic}-smp{smp}"
    cmd = qemu.command(KERNEL, (), machine=qemu.machine(gic, hyp=False), smp=smp, mem=MEM,
                       append=BOOTARGS, extra=["-initrd", INITRD])
    run_ = qemu.run(name, cmd, TIME_LIMIT)
    reasons, warnings = parse_checks(run_.text, None, smp)
    reasons.append(qemu.expect_exit(run_))
    reasons = [r for r in reasons if r]
    if reasons:
        return None, (f"on bare QEMU too (GICv{gic}, -smp {smp}; the test or the machine is at "
                      f"fault, see {run_.log}): {reasons[0]}")
    return warnings, None


def extra_warnings(warnings, reference):
    """The warning lines whose normalized form the bare-QEMU boot did not print (host-load
    warnings aside)."""
    known = {normalize(w) for w in reference}
    return [w for w in warnings if normalize(w) not in known
            and not qemu.host_load_warning(w)]


def warnings_reason(who, extra):
    if not extra:
        return None
    return (f"{who}{len(extra)} dmesg warning(s) not printed on bare QEMU:"
            + "".join(f"\n      {w}" for w in extra))


def linux_module(vm, bootargs=BOOTARGS):
    return qemu.linux_module(vm, bootargs)


# ---- one VM with every CPU of the board: all the checks, then poweroff ----

def test_smp(ctx, gic, ncpu):
    name = f"v{gic}/linux_smp{ncpu}"
    missing = ctx.missing()
    if missing:
        return qemu.failure(name, missing)
    cmd = qemu.command(ctx.image, [linux_module(0)], machine=qemu.machine(gic), smp=ncpu, mem=MEM)
    run_ = qemu.run(name, cmd, TIME_LIMIT)
    t = run_.text
    reasons = [qemu.expect_all(t, [r"^bulkhead: vm0: %d vCPU" % ncpu])]
    checks, warnings = parse_checks(t, "vm0", ncpu)
    reasons += checks
    ref, err = ctx.bare_reference(gic, ncpu)
    reasons.append(err or warnings_reason("", extra_warnings(warnings, ref)))
    return hv_verdict(name, run_, reasons + ends_cleanly(t, run_, ("vm0",)))


# ---- reboot: the guest resets itself once, boots again, then powers off ----

def test_reboot(ctx, gic):
    name = f"v{gic}/linux_reboot"
    missing = ctx.missing()
    if missing:
        return qemu.failure(name, missing)
    cmd = qemu.command(ctx.image, [linux_module(0, BOOTARGS + " bulkhead.test=reboot")],
                       machine=qemu.machine(gic), smp=2, mem=MEM)
    run_ = qemu.run(name, cmd, TIME_LIMIT)
    t = run_.text
    banner = qemu.prefixed("vm0", r"LINUX user space: .*")
    reasons = [
        qemu.expect_ordered(t, [
            qemu.prefixed("vm0", r"LINUX user space: .*boot-count=0 mode=reboot"),
            qemu.prefixed("vm0", r"LINUX rebooting"),
            r"^bulkhead: vm0: reset$",
            qemu.prefixed("vm0", r"LINUX user space: .*boot-count=1 mode=reboot"),
            qemu.prefixed("vm0", r"LINUX powering off \(boot-count=1\)"),
            r"^bulkhead: vm0: powered off"]),
        qemu.expect_count(t, banner, 2),
        qemu.expect_count(t, r"^bulkhead: vm0: reset$", 1),
    ]
    return hv_verdict(name, run_, reasons + ends_cleanly(t, run_, ("vm0",)))


# ---- two Linux VMs of 2 vCPUs each on a 4-CPU board, side by side ----

def test_two_vms(ctx, gic):
    name = f"v{gic}/linux_two_vms"
    missing = ctx.missing()
    if missing:
        return qemu.failure(name, missing)
    cmd = qemu.command(ctx.image, [linux_module(0), linux_module(1)], machine=qemu.machine(gic),
                       smp=4, mem=MEM_TWO_VMS, append="bulkhead.vm-cpus=2 bulkhead.vm-memory=512M")
    run_ = qemu.run(name, cmd, TIME_LIMIT)
    t = run_.text
    reasons = [qemu.expect_all(t, [r"^bulkhead: vm0: 2 vCPU", r"^bulkhead: vm1: 2 vCPU"])]
    ref, err = ctx.bare_reference(gic, 2)
    for vm in ("vm0", "vm1"):
        checks, warnings = parse_checks(t, vm, 2)
        reasons += checks
        reasons.append(err or warnings_reason(f"[{vm}] ", extra_warnings(warnings, ref)))
    return hv_verdict(name, run_, reasons + ends_cleanly(t, run_, ("vm0", "vm1")))


# ---- more vCPUs than CPUs: a 4-vCPU VM on 2 CPUs ----

def test_vcpus4_on2(ctx, gic):
    name = f"v{gic}/linux_vcpus4_on2"
    missing = ctx.missing()
    if missing:
        return qemu.failure(name, missing)
    cmd = qemu.command(ctx.image, [linux_module(0)], machine=qemu.machine(gic), smp=2, mem=MEM,
                       append="bulkhead.vm-cpus=4")
    run_ = qemu.run(name, cmd, TIME_LIMIT)
    t = run_.text
    reasons = [qemu.expect_all(t, [r"^bulkhead: vm0: 4 vCPU.* on CPUs 0, 1, 0, 1$",
                                   r"^bulkhead: CPU 0: 2 vCPUs share it by priorities$",
                                   r"^bulkhead: CPU 1: 2 vCPUs share it by priorities$"])]
    checks, warnings = parse_checks(t, "vm0", 4)
    reasons += checks
    ref, err = ctx.bare_reference(gic, 4)
    reasons.append(err or warnings_reason("", extra_warnings(warnings, ref)))
    return hv_verdict(name, run_, reasons + ends_cleanly(t, run_, ("vm0",)))


# ---- two Linux VMs on one CPU: the share each gets, by priority ----

# Counter seconds (under -icount, so the same every run): both VMs are in user space by 7 s.
SHARE_START = 10
SHARE_S = 2
SHARE_TIME_LIMIT = 200  # icount runs about four times slower than real time here
SHARE_EQUAL = (350, 650)
SHARE_HIGH = 900
SHARE_MEM = "2G"


def run_vm_nodes(ctx, name, gic, nodes, loads, mem, limit, extra=()):
    """Runs the hypervisor on a 1-CPU board whose /chosen has the VM nodes (DTS text), their
    files loaded where loads [(path, address)] say: (Run, None), or (None, why not)."""
    machine = qemu.machine(gic)
    loaders = []
    for path, addr in loads:
        loaders += ["-device", f"loader,file={path},addr={addr:#x},force-raw=on"]
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        dtb, err = qemu.make_dtb_with(types.SimpleNamespace(image=ctx.image), [], machine, work,
                                      nodes, smp=1, mem=mem, need_modules=False)
        if err:
            return None, err
        cmd = qemu.command(ctx.image, machine=machine, smp=1, mem=mem, dtb=dtb,
                           extra=loaders + list(extra))
        return qemu.run(name, cmd, limit), None


def cpushare_nodes(priorities):
    """Two Linux VMs (512 MiB, one vCPU each) both on CPU 0, with these bulkhead,priority
    values."""
    nodes = ""
    args = (f"console=ttyAMA0 bulkhead.test=cpushare bulkhead.share-start={SHARE_START} "
            f"bulkhead.share-s={SHARE_S}")
    for vm, prio in enumerate(priorities):
        kernel, initrd = qemu.LINUX_ADDRS[vm]
        nodes += (f"vm{vm} {{ compatible = \"bulkhead,vm\"; memory-size = <0x0 0x20000000>; "
                  f"cpus = <1>; pcpus = <0>; bulkhead,priority = <{prio}>; "
                  "#address-cells = <2>; #size-cells = <2>;\n"
                  + qemu.module_node(kernel, KERNEL, bootargs=args)
                  + qemu.module_node(initrd, INITRD, kind="ramdisk") + "};\n")
    return nodes


def shares(t, vm):
    """((permille, began_ms), None) of the VM's cpushare line, or (None, reason)."""
    m = re.search(qemu.prefixed(vm, r"LINUX cpushare: shmtool: cpushare permille=(\d+) "
                                    r"loops=\d+ late=(\d) began_ms=(\d+)"), t, re.MULTILINE)
    if not m:
        return None, f"[{vm}] no cpushare line"
    if m.group(2) != "0":
        return None, (f"[{vm}] reached user space after the counter's {SHARE_START} s: the two "
                      "measurements did not overlap")
    return (int(m.group(1)), int(m.group(3))), None


def test_cpushare(ctx, gic, priorities):
    equal = priorities[0] == priorities[1]
    name = f"v{gic}/linux_cpushare_{'equal' if equal else 'priority'}"
    missing = ctx.missing()
    if missing:
        return qemu.failure(name, missing)
    loads = [(path, addr) for vm in (0, 1) for path, addr in zip((KERNEL, INITRD),
                                                                  qemu.LINUX_ADDRS[vm])]
    # Under -icount the counter follows the instructions run: a gap the host's own load makes
    # (QEMU's thread losing its host CPU) is not seen as the other VM's turn.
    run_, err = run_vm_nodes(ctx, name, gic, cpushare_nodes(priorities), loads, SHARE_MEM,
                             SHARE_TIME_LIMIT, ["-icount", "shift=0"])
    if err:
        return qemu.failure(name, err)
    t = run_.text
    reasons = [qemu.expect_all(t, [r"^bulkhead: CPU 0: 2 vCPUs share it by priorities$"])]
    got = {}
    for vm in ("vm0", "vm1"):
        share, err = shares(t, vm)
        reasons.append(err)
        got[vm] = share
    if None not in got.values():
        if equal:
            for vm, (share, began) in got.items():
                if not SHARE_EQUAL[0] <= share <= SHARE_EQUAL[1]:
                    reasons.append(f"[{vm}] had {share} permille of the CPU, expected about "
                                   f"half ({SHARE_EQUAL[0]}..{SHARE_EQUAL[1]})")
                if began > 100:
                    reasons.append(f"[{vm}] began {began} ms after the start")
        else:
            (high, high_began), (low, low_began) = got["vm0"], got["vm1"]
            if high < SHARE_HIGH or high_began > 100:
                reasons.append(f"[vm0] (priority {priorities[0]}) had {high} permille of the CPU "
                               f"from {high_began} ms after the start, expected at least "
                               f"{SHARE_HIGH} from the start")
            if low_began < SHARE_S * 1000:
                reasons.append(f"[vm1] (priority {priorities[1]}) began {low_began} ms after the "
                               f"start, while vm0's job ran (for {SHARE_S} s)")
            if low < SHARE_HIGH:
                reasons.append(f"[vm1] had {low} permille of the CPU after vm0 was done, "
                               f"expected at least {SHARE_HIGH}")
    return hv_verdict(name, run_, reasons + ends_cleanly(t, run_, ("vm0", "vm1")))


# ---- more vCPUs than CPUs under a time-partition table ----

PARTITION_FRAME_US = 20000
PARTITION_TICKER_ADDR = 0x44000000


def partition_nodes(ticker):
    """vm0: Linux, 2 vCPUs both on CPU 0, 512 MiB, windows 0-14 ms of a 20 ms frame; vm1: the
    test guest ticking, 14-18 ms; 18-20 ms idle."""
    kernel, initrd = qemu.LINUX_ADDRS[0]
    cells = "#address-cells = <2>; #size-cells = <2>;"
    return ("linux: vm0 { compatible = \"bulkhead,vm\"; memory-size = <0x0 0x20000000>; "
            f"cpus = <2>; pcpus = <0 0>; {cells}\n"
            + qemu.module_node(kernel, KERNEL, bootargs=BOOTARGS)
            + qemu.module_node(initrd, INITRD, kind="ramdisk") + "};\n"
            "tick: vm1 { compatible = \"bulkhead,vm\"; memory-size = <0x0 0x4000000>; "
            f"cpus = <1>; pcpus = <0>; {cells}\n"
            + qemu.module_node(PARTITION_TICKER_ADDR, ticker,
                               bootargs="mode=ticker count=30 tick_ms=200") + "};\n"
            "schedule { compatible = \"bulkhead,schedule\"; bulkhead,cpus = <0>; "
            "bulkhead,policy = \"partition\"; "
            f"bulkhead,major-frame-us = <{PARTITION_FRAME_US}>; "
            "bulkhead,windows = <&linux 0 14000>, <&tick 14000 4000>; };\n")


def test_partition(ctx, gic):
    name = f"v{gic}/linux_partition"
    missing = ctx.missing()
    ticker = qemu.guest_path(ctx.build, "testguest")
    missing = missing or qemu.missing(ticker)
    if missing:
        return qemu.failure(name, missing)
    kernel, initrd = qemu.LINUX_ADDRS[0]
    loads = [(KERNEL, kernel), (INITRD, initrd), (ticker, PARTITION_TICKER_ADDR)]
    run_, err = run_vm_nodes(ctx, name, gic, partition_nodes(ticker), loads, MEM, TIME_LIMIT)
    if err:
        return qemu.failure(name, err)
    t = run_.text
    reasons = [qemu.expect_all(t, [r"^bulkhead: CPU 0: 3 vCPUs share it by time partitions$",
                                   qemu.prefixed("vm1", "ticker done")])]
    checks, warnings = parse_checks(t, "vm0", 2)
    reasons += checks
    ref, err = ctx.bare_reference(gic, 2)
    reasons.append(err or warnings_reason("", extra_warnings(warnings, ref)))
    return hv_verdict(name, run_, reasons + ends_cleanly(t, run_, ("vm0", "vm1")))


def cases(build):
    """[(name, callable returning a Result)]: the 4-vCPU boots (the longest) first."""
    ctx = Ctx(build)
    out = []
    for ncpu in (4, 2, 1):
        for gic in (3, 2):
            out.append((f"v{gic}/linux_smp{ncpu}", lambda g=gic, n=ncpu: test_smp(ctx, g, n)))
    for gic in (3, 2):
        out += [(f"v{gic}/linux_two_vms", lambda g=gic: test_two_vms(ctx, g)),
                (f"v{gic}/linux_reboot", lambda g=gic: test_reboot(ctx, g))]
    for gic in (3, 2):
        out += [(f"v{gic}/linux_vcpus4_on2", lambda g=gic: test_vcpus4_on2(ctx, g)),
                (f"v{gic}/linux_cpushare_equal", lambda g=gic: test_cpushare(ctx, g, (1, 1))),
                (f"v{gic}/linux_cpushare_priority",
                 lambda g=gic: test_cpushare(ctx, g, (2, 1))),
                (f"v{gic}/linux_partition", lambda g=gic: test_partition(ctx, g))]
    return out


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
