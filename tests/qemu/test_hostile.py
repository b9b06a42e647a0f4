#!/usr/bin/env python3
"""The hostile-guest suite (issue 14) on QEMU virt, GICv2 and GICv3 ("v2/...", "v3/..."): the
attacker of tests/guest/hostile.c (2 vCPUs, every phase: system registers, IPA scan, SMCCC
sweep, GIC abuse, timer/WFI/IPI storm, odd MMIO, simultaneous resets, then its isolation check)
as vm1, beside a peer in vm0 on CPUs of its own:

- hostile_linux: Debian's Linux (2 vCPUs) running tests/linux/init's checks (test_linux's:
  user space, nproc, a job on each CPU, `sleep 2` on the guest's clock, timer ticks on every
  CPU, no dmesg warning that the same kernel does not print on bare QEMU, booted once per GIC
  version for the reference), which must all pass while the attacker storms for STORM_MS_LINUX;
- hostile_ticker: the test guest ticking (mode=ticker) every TICK_MS: every tick printed, in
  order, through the whole attack.

In each run: every attacker phase's "HOSTILE <phase>:" line, no "HOSTILE FAIL" line and
"HOSTILE done: failures=0"; then, in three of the runs, its last access, one the hypervisor cannot
emulate (fatal=...: a load pair, a load with writeback, an exclusive load on its UART, one per
run), which may stop it ("bulkhead: vm1: stopped: ...") or be survived (then it powers off); in
v2/hostile_ticker none: it powers off by itself. No hypervisor
panic; every hypervisor line about a VM's behaviour names vm1, none vm0 beyond its start and
power-off; vm1's fault reports stay within the rate limit; the peer powers off normally, then
the machine. Each run takes 15-40 s; consoles go to build/test-logs/.

Alone: make all guests linux-initrd; tests/qemu/test_hostile.py [--build DIR] [--only RE]
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402
import test_linux  # noqa: E402

TIME_LIMIT = 120  # seconds per QEMU run; a passing one takes 15-40 on a loaded 2-core machine
MEM = "2G"
APPEND = "bulkhead.vm-cpus=2 bulkhead.vm-memory=512M"
PHASES = ("start", "sysreg", "ipa", "ipa-wide", "smccc", "gic", "timer", "mmio", "reset", "check")
RESETS = 10
STORM_MS_LINUX = 8000  # the storm overlaps Linux's boot and checks
STORM_MS_TICKER = 1000
TICK_MS = 50
TICKS = 400  # 20 s of ticks at least: the peer outlives the attack (8-15 s)
# The last access of each run (hostile.c, phase fatal): one kind each, and one run without, in
# which the attacker powers off by itself after all its phases.
FATAL = {("linux", 3): "pair", ("linux", 2): "writeback", ("ticker", 3): "exclusive",
         ("ticker", 2): "none"}
REPORT_LIMIT = 32  # el2/traps.c GUEST_REPORTS: then one more a second at most
ROUTINE = re.compile(r"^bulkhead: (vm\d+): (\d+ vCPU|started|powered off|reset$)")
VM_LINE = re.compile(r"^bulkhead: (vm\d+): (.*)$", re.MULTILINE)


class Ctx(qemu.Build):
    def __init__(self, build):
        super().__init__(build)
        self.hostile = qemu.guest_path(build, "hostile")
        self.testguest = qemu.guest_path(build, "testguest")
        self.linux = test_linux.Ctx(build)  # its bare-QEMU references, one boot per GIC version

    def missing_for(self, peer):
        return (qemu.missing(self.image, how="make all")
                or qemu.missing(self.hostile, self.testguest, how="make guests")
                or (self.linux.missing() if peer == "linux" else None))


def attacker_reasons(t, run_, fatal):
    """The attacker's own account and how it ended."""
    hv = qemu.prefixed("vm1", "HOSTILE ")
    reasons = [
        qemu.expect_all(t, [hv + p + r": .*" for p in PHASES]),
        qemu.expect_none(t, [hv + r"FAIL .*", qemu.prefixed("vm1", r"guest: unexpected .*")]),
        qemu.expect_count(t, r"^bulkhead: vm1: reset$", RESETS),
        qemu.expect_ordered(t, [hv + r"reset: .*", hv + r"check: .*", hv + r"done: failures=0$"]
                            + ([hv + r"fatal: " + qemu.esc(fatal)] if fatal != "none" else [])),
    ]
    stopped = re.search(r"^bulkhead: vm1: stopped: .*", t, re.MULTILINE)
    if fatal == "none":
        reasons += [qemu.expect_none(t, [r"^bulkhead: vm1: stopped.*", hv + r"fatal: .*"]),
                    qemu.expect_ordered(t, [hv + r"done: failures=0$",
                                            r"^bulkhead: vm1: powered off"])]
        return reasons + report_reasons(t, run_)
    survived = re.search(hv + r"fatal: survived", t, re.MULTILINE)
    if stopped and not re.search(r"cannot be emulated", stopped.group(0)):
        reasons.append(f"vm1 stopped for another reason: {stopped.group(0)!r}")
    elif not stopped and not survived:
        reasons.append("vm1 neither stopped at its fatal access nor survived it")
    elif survived:
        reasons.append(qemu.expect_all(t, [r"^bulkhead: vm1: powered off"]))
    return reasons + report_reasons(t, run_)


def report_reasons(t, run_):
    """The attacker's fault reports: within the budget (one refill a second)."""
    faults = [m.group(2) for m in VM_LINE.finditer(t) if m.group(1) == "vm1"
              and not ROUTINE.match(m.group(0)) and not m.group(2).startswith(("more faults",
                                                                                "stopped"))]
    limit = REPORT_LIMIT + int(run_.seconds) + 1
    if len(faults) > limit:
        return [f"{len(faults)} fault reports for vm1 in {run_.seconds:.0f} s, over the rate "
                f"limit ({limit})"]
    return []


def hypervisor_reasons(t, run_):
    """No panic; the hypervisor says nothing about vm0 but its start and end; the machine powers
    off by itself."""
    others = [m.group(0) for m in VM_LINE.finditer(t)
              if m.group(1) != "vm1" and not ROUTINE.match(m.group(0))]
    return [
        qemu.expect_none(t, [r"PANIC.*", r"^bulkhead: .*\bEL2\b.*"]),
        f"a hypervisor line about another VM than the attacker: {others[0]!r}" if others else None,
        qemu.expect_all(t, [r"^bulkhead: vm0: powered off", r"^bulkhead: no VM running"]),
        qemu.expect_exit(run_),
    ]


def test_linux_peer(ctx, gic):
    name = f"v{gic}/hostile_linux"
    missing = ctx.missing_for("linux")
    if missing:
        return qemu.failure(name, missing)
    fatal = FATAL["linux", gic]
    attacker = qemu.Module(ctx.hostile, f"storm_ms={STORM_MS_LINUX} resets={RESETS} "
                                        f"fatal={fatal}")
    cmd = qemu.command(ctx.image, [test_linux.linux_module(0), attacker],
                       machine=qemu.machine(gic), smp=4, mem=MEM, append=APPEND)
    run_ = qemu.run(name, cmd, TIME_LIMIT)
    t = run_.text
    checks, warnings = test_linux.parse_checks(t, "vm0", 2)
    ref, err = ctx.linux.bare_reference(gic, 2)
    reasons = [qemu.expect_all(t, [r"^bulkhead: vm0: 2 vCPU", r"^bulkhead: vm1: 2 vCPU"])]
    reasons += checks
    reasons.append(err or test_linux.warnings_reason("[vm0] ",
                                                     test_linux.extra_warnings(warnings, ref)))
    reasons += attacker_reasons(t, run_, fatal) + hypervisor_reasons(t, run_)
    return test_linux.hv_verdict(name, run_, reasons)


def test_ticker_peer(ctx, gic):
    name = f"v{gic}/hostile_ticker"
    missing = ctx.missing_for("ticker")
    if missing:
        return qemu.failure(name, missing)
    fatal = FATAL["ticker", gic]
    ticker = qemu.Module(ctx.testguest, f"mode=ticker count={TICKS} tick_ms={TICK_MS}")
    attacker = qemu.Module(ctx.hostile, f"storm_ms={STORM_MS_TICKER} resets={RESETS} "
                                        f"fatal={fatal}")
    cmd = qemu.command(ctx.image, [ticker, attacker], machine=qemu.machine(gic), smp=4, mem=MEM,
                       append=APPEND)
    run_ = qemu.run(name, cmd, TIME_LIMIT)
    t = run_.text
    ticks = [int(m) for m in re.findall(qemu.prefixed("vm0", r"tick (\d+)$"), t, re.MULTILINE)]
    reasons = [
        None if ticks == list(range(1, TICKS + 1))
        else f"vm0's ticks are not 1..{TICKS} in order ({len(ticks)} ticks)",
        # The peer ticked through the whole attack.
        qemu.expect_ordered(t, [qemu.prefixed("vm1", r"HOSTILE done: .*"),
                                qemu.prefixed("vm0", r"tick \d+$"),
                                qemu.prefixed("vm0", "ticker done")]),
    ]
    reasons += attacker_reasons(t, run_, fatal) + hypervisor_reasons(t, run_)
    return test_linux.hv_verdict(name, run_, reasons)


def cases(build):
    """[(name, callable returning a Result)]: the Linux runs (the longest) first."""
    ctx = Ctx(build)
    out = []
    for gic in (3, 2):
        out.append((f"v{gic}/hostile_linux", lambda g=gic: test_linux_peer(ctx, g)))
    for gic in (3, 2):
        out.append((f"v{gic}/hostile_ticker", lambda g=gic: test_ticker_peer(ctx, g)))
    return out


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
