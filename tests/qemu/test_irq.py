#!/usr/bin/env python3
"""Interrupt tests: the irqtest guest (tests/guest/irqtest.c) on 2 vCPUs checks
the virtual GIC, the timers, SGIs, SPI routing, priorities, many pending interrupts and WFI,
under the hypervisor for GICv2 and GICv3 ("v2/irq", "v3/irq"); two such VMs at once on a 4-CPU
board check that each takes only its own interrupts ("v2/irq_isolation", "v3/irq_isolation");
"irq_bare" runs the guest on the bare board, which validates the guest itself. `cases(build)`
lists them. Run alone: tests/qemu/test_irq.py [--build build/qemu-virt] [--only RE].
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402

TIME_LIMIT = 60  # seconds per QEMU run; a passing one takes a few

# What irqtest checks in mode=all, and in mode=isolation (tests/guest/irqtest.c).
ALL_CHECKS = ("vtimer", "ptimer", "vtimer_withdrawn", "sgi_0_to_1", "sgi_1_to_0", "spi_routing", "priority",
              "many_pending", "wfi_wakes")
ISOLATION_CHECKS = ("isolation_sgi", "isolation_timer", "isolation_spi")


class Ctx(qemu.Build):
    """Paths of one build: the hypervisor image and the interrupt test guest."""

    def __init__(self, build):
        super().__init__(build)
        self.irqtest = qemu.guest_path(build, "irqtest")


def guest_reasons(t, checks, prefix=None):
    """The guest printed PASS for every check, no FAIL, no unexpected exception, and a DONE line
    with passed=len(checks) failed=0."""
    done = re.search(qemu.prefixed(prefix, r"DONE passed=(\d+) failed=(\d+)"), t, re.MULTILINE)
    who = f"[{prefix}] " if prefix else ""
    return [
        qemu.expect_none(t, [qemu.prefixed(prefix, r"FAIL\b.*"),
                             qemu.prefixed(prefix, r"guest: .*")]),
        qemu.expect_all(t, [qemu.prefixed(prefix, r"PASS " + qemu.esc(c) + r"\s*$")
                            for c in checks]),
        None if done else f"missing /{who}DONE passed=N failed=M/",
        None if not done or done.group(2) == "0" else f"{who}{done.group(2)} checks failed",
        None if not done or int(done.group(1)) == len(checks)
        else f"{who}passed {done.group(1)} checks, expected {len(checks)}",
    ]


def ends_cleanly(t, run_, vms):
    """Every VM started and powered off (none stopped), the hypervisor said so and QEMU left by
    itself."""
    return qemu.ends_cleanly(t, run_, vms, forbid=[qemu.stopped(vms)])


# ---- under the hypervisor: one VM with 2 vCPUs (it gets every CPU of the board) ----

def test_irq(ctx, gic):
    name = f"v{gic}/irq"
    missing = ctx.missing(ctx.image, ctx.irqtest)
    if missing:
        return qemu.failure(name, missing)
    cmd = qemu.command(ctx.image, [qemu.Module(ctx.irqtest, "mode=all")], machine=qemu.machine(gic),
                       smp=2)
    run_ = qemu.run(name, cmd, TIME_LIMIT)
    t = run_.text
    reasons = [qemu.expect_all(t, [r"^bulkhead: vm0: 2 vCPU"])]
    reasons += guest_reasons(t, ALL_CHECKS, "vm0")
    return qemu.verdict(name, run_, *reasons, *ends_cleanly(t, run_, ("vm0",)))


# ---- under the hypervisor: two VMs of 2 vCPUs each on 4 CPUs, each sees only its own ----

def test_isolation(ctx, gic):
    name = f"v{gic}/irq_isolation"
    missing = ctx.missing(ctx.image, ctx.irqtest)
    if missing:
        return qemu.failure(name, missing)
    modules = [qemu.Module(ctx.irqtest, "mode=isolation vm=0"),
               qemu.Module(ctx.irqtest, "mode=isolation vm=1")]
    cmd = qemu.command(ctx.image, modules, machine=qemu.machine(gic), smp=4,
                       append="bulkhead.vm-cpus=2")
    run_ = qemu.run(name, cmd, TIME_LIMIT)
    t = run_.text
    reasons = [qemu.expect_all(t, [r"^bulkhead: vm0: 2 vCPU", r"^bulkhead: vm1: 2 vCPU"])]
    for vm in ("vm0", "vm1"):
        reasons += guest_reasons(t, ISOLATION_CHECKS, vm)
    return qemu.verdict(name, run_, *reasons, *ends_cleanly(t, run_, ("vm0", "vm1")))


# ---- the guest on the bare board: every check must pass there, or the guest is wrong ----

def test_bare(ctx):
    name = "irq_bare"
    missing = ctx.missing(ctx.irqtest)
    if missing:
        return qemu.failure(name, missing)
    last = None
    total = 0.0
    for gic, mode, checks in ((3, "mode=all", ALL_CHECKS), (2, "mode=all", ALL_CHECKS),
                              (3, "mode=isolation vm=0", ISOLATION_CHECKS)):
        sub = f"{name}-v{gic}-{mode.split()[0].split('=')[1]}"
        cmd = qemu.command(ctx.irqtest, (), machine=qemu.machine(gic, hyp=False), smp=2,
                           append=mode)
        run_ = qemu.run(sub, cmd, TIME_LIMIT)
        total += run_.seconds
        r = qemu.verdict(name, run_, *guest_reasons(run_.text, checks),
                         qemu.expect_exit(run_))
        if not r.ok:
            r.reason = f"GICv{gic} {mode}: {r.reason}"
            return r
        last = r
    last.seconds = total
    return last


def cases(build):
    """[(name, callable returning a Result)], the bare-board run first (it is quick)."""
    ctx = Ctx(build)
    out = [("irq_bare", lambda: test_bare(ctx))]
    for gic in (3, 2):
        out += [(f"v{gic}/irq", lambda g=gic: test_irq(ctx, g)),
                (f"v{gic}/irq_isolation", lambda g=gic: test_isolation(ctx, g))]
    return out


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
