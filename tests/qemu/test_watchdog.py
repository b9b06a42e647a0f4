#!/usr/bin/env python3
"""A VM's watchdog (issue 14's health monitor) on QEMU virt, GICv2 and GICv3 ("v2/...", "v3/..."):
an emulated SBSA generic watchdog per VM that asks for one (`bulkhead,watchdog`, vdev/
sbsa_gwdt.c) and its `bulkhead,on-watchdog` policy. Each test adds VM nodes to QEMU's dumped DTB
(test_shmem's helpers) and loads the guests with `-device loader`.

- watchdog_restart: the test guest in mode=watchdog (tests/guest/testguest_watchdog.c) checks the
  registers, refreshes in time (no signal), sees WS0 after one period without a refresh, then
  hangs with interrupts masked in a loop that never exits: the hypervisor says the watchdog
  expired and restarts the VM (the default policy); in its second life the guest finds the
  watchdog off and powers off. A ticker VM beside it counts to its end undisturbed.
- watchdog_stop: the same hang with `bulkhead,on-watchdog = "stop"`: the VM is stopped, the
  ticker runs on, and the machine powers off when the ticker is done.
- watchdog_linux: Debian's Linux (bulkhead.test=watchdog) loads sbsa_gwdt, starts busybox's
  watchdog daemon (3 s timeout, a refresh every second), checks that a refresh comes in time,
  then kills the daemon with SIGKILL (no magic close: the watchdog keeps running) and carries on
  with a shell loop: the hypervisor restarts the VM, Linux boots again (boot-count 1) and powers
  off. Beside it, under -icount, the shared-memory test guest in mode=timed (a real-time
  producer on physical CPU 0, test_shmem's shm_timing) measures its timer's lateness through
  Linux's whole life, the watchdog's expiry and the restart: it must stay what it is alone.
- vm_policies: bulkhead,on-poweroff "restart" (a VM powering off is restarted once, its limit,
  then stays off) and bulkhead,on-reset "stop" (two vCPUs resetting at once: the VM is stopped),
  in one boot that then powers off.

Every QEMU run has a time limit; consoles are kept in build/test-logs/.
Alone: make all guests linux-initrd; tests/qemu/test_watchdog.py [--build DIR] [--only RE]
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402
import test_shmem as shm  # noqa: E402

TICKER = "mode=ticker count=40 tick_ms=50"
EXPIRED = r"^bulkhead: {vm}: watchdog expired: its guest stopped refreshing it \(expiry 1\)$"


def bare_nodes(ctx, policy):
    props = ["bulkhead,watchdog"]
    if policy:
        props.append(f'bulkhead,on-watchdog = "{policy}"')
    guest = ctx.testguest
    wd = shm.vm("wd", [shm.module(shm.ADDR_A, os.path.getsize(guest), "mode=watchdog")],
                props=props)
    tick = shm.vm("tick", [shm.module(shm.ADDR_B, os.path.getsize(guest), TICKER)])
    return wd + tick, [(guest, shm.ADDR_A), (guest, shm.ADDR_B)]


def test_bare(ctx, gic, policy):
    name = f"v{gic}/watchdog_{policy}"
    missing = ctx.missing_bare()
    if missing:
        return qemu.failure(name, missing)
    nodes, files = bare_nodes(ctx, None if policy == "restart" else policy)
    run_, err = shm.boot(ctx, gic, name, nodes, files)
    if err:
        return qemu.failure(name, err)
    t = run_.text
    first = shm.passes("wd", ["watchdog registers", "watchdog refreshed in time", "watchdog ws0"])
    ticker = [qemu.prefixed("tick", r"tick 40$"), qemu.prefixed("tick", r"ticker done$")]
    reasons = [qemu.expect_all(t, first + ticker + [EXPIRED.format(vm="wd")])]
    if policy == "restart":
        reasons += [qemu.expect_all(t, [
            r"^bulkhead: wd: restarting \(on-watchdog restart: 1 of 3\)$",
            qemu.prefixed("wd", r"watchdog: control frame at .* boot count 1$"),
            qemu.prefixed("wd", r"PASS watchdog off after the restart$"),
            shm.clean_done("wd")])]
        reasons += qemu.ends_cleanly(t, run_, ("wd", "tick"), forbid=shm.no_fail(("wd", "tick")))
    else:
        reasons += [qemu.expect_all(t, [r"^bulkhead: wd: stopped \(on-watchdog stop\)$"]),
                    qemu.expect_none(t, [r"^bulkhead: wd: restarting", r"^bulkhead: wd: started"
                                         r".*\n(.*\n)*bulkhead: wd: started"])]
        reasons += qemu.ends_cleanly(t, run_, ("tick",), forbid=shm.no_fail(("tick",)))
    return qemu.verdict(name, run_, *reasons)


def test_linux(ctx, gic):
    name = f"v{gic}/watchdog_linux"
    missing = ctx.missing_linux()
    if missing:
        return qemu.failure(name, missing)
    args = "console=ttyAMA0 bulkhead.test=watchdog"
    linux = shm.vm("linux", [shm.module(shm.KERNEL_ADDR, os.path.getsize(qemu.LINUX_KERNEL), args),
                             shm.module(shm.INITRD_ADDR, os.path.getsize(qemu.LINUX_INITRD),
                                        kind="ramdisk"),
                             shm.shm_map("chan")],
                   mem=0x10000000, pcpus=[1], props=["bulkhead,watchdog"])
    # Linux rings the producer twice: its doorbell, when its VM restarts, then its second life.
    prod = shm.guest_vm(ctx, "prod", shm.ADDR_A,
                        "mode=timed period_us=1000 count=100000000 stop_rings=2",
                        [shm.shm_map("chan")], pcpus=[0])
    files = [(qemu.LINUX_KERNEL, shm.KERNEL_ADDR), (qemu.LINUX_INITRD, shm.INITRD_ADDR),
             (ctx.shmem, shm.ADDR_A)]
    run_, err = shm.boot(ctx, gic, name, shm.region("chan") + linux + prod, files,
                         limit=shm.LINUX_TIME_LIMIT, smp=2, extra=shm.ICOUNT)
    if err:
        return qemu.failure(name, err)
    t = run_.text
    reasons = [qemu.expect_all(t, [
        qemu.prefixed("linux", r"LINUX watchdog: sbsa-gwdt bound as watchdog0, refreshed in "
                      r"time$"),
        qemu.prefixed("linux", r"LINUX watchdog: daemon killed"),
        EXPIRED.format(vm="linux"),
        r"^bulkhead: linux: restarting \(on-watchdog restart: 1 of 3\)$",
        qemu.prefixed("linux", r"LINUX user space: .* boot-count=1 "),
        qemu.prefixed("linux", r"LINUX watchdog: back after the restart"),
        qemu.prefixed("prod", r"shmem: produced \d+ values, stopped by a peer's ring")])]
    timing = shm.timing(t)
    quiet = timing.get("quiet")
    late = {3: 2000, 2: 1984}[gic]  # alone, as shm_timing measures it (-icount: every run)
    print(f"{name}: the producer's timer lateness through Linux's life and restart: {quiet}",
          file=sys.stderr)
    reasons.append(shm.lateness_reason(quiet, late, "beside the Linux VM whose watchdog expired"))
    reasons += qemu.ends_cleanly(t, run_, ("linux", "prod"), forbid=shm.no_fail(("prod",)))
    return qemu.verdict(name, run_, *reasons)


def test_policies(ctx, gic):
    """bulkhead,on-poweroff and bulkhead,on-reset, in one boot: "off" (a ticker powering off,
    on-poweroff restart, restart limit 1) is restarted once, then stays off; "rst" (two vCPUs
    calling SYSTEM_RESET at once, on-reset stop) is stopped at its first reset; the machine
    powers off when neither runs."""
    name = f"v{gic}/vm_policies"
    missing = ctx.missing_bare()
    if missing:
        return qemu.failure(name, missing)
    guest = ctx.testguest
    size = os.path.getsize(guest)
    off = shm.vm("off", [shm.module(shm.ADDR_A, size, "mode=ticker count=3 tick_ms=20")],
                 props=['bulkhead,on-poweroff = "restart"', "bulkhead,restart-limit = <1>"])
    rst = shm.vm("rst", [shm.module(shm.ADDR_B, size, "mode=resetrace count=5")], cpus=2,
                 props=['bulkhead,on-reset = "stop"'])
    run_, err = shm.boot(ctx, gic, name, off + rst, [(guest, shm.ADDR_A), (guest, shm.ADDR_B)])
    if err:
        return qemu.failure(name, err)
    t = run_.text
    reasons = [qemu.expect_all(t, [
        r"^bulkhead: off: powered off by its guest$",
        r"^bulkhead: off: restarting \(on-poweroff restart: 1 of 1\)$",
        r"^bulkhead: off: restarted 1 times already: it stays off$",
        r"^bulkhead: off: powered off$",
        r"^bulkhead: rst: reset by its guest: stopped \(on-reset stop\)$",
        r"^bulkhead: no VM running, powering off"]),
        qemu.expect_none(t, [qemu.prefixed("rst", r"resetrace: boot 1$"),
                             qemu.prefixed("off", r"FAIL"), qemu.prefixed("rst", r"FAIL")])]
    if len(re.findall(r"^\[off\] ticker done", t, re.MULTILINE)) != 2:
        reasons.append("the ticker VM did not run exactly twice")
    reasons.append(qemu.expect_exit(run_))
    return qemu.verdict(name, run_, *reasons)


def cases(build):
    """[(name, callable returning a Result)]."""
    ctx = shm.Ctx(build)
    out = []
    for gic in (3, 2):
        out += [(f"v{gic}/watchdog_linux", lambda g=gic: test_linux(ctx, g)),
                (f"v{gic}/watchdog_restart", lambda g=gic: test_bare(ctx, g, "restart")),
                (f"v{gic}/watchdog_stop", lambda g=gic: test_bare(ctx, g, "stop")),
                (f"v{gic}/vm_policies", lambda g=gic: test_policies(ctx, g))]
    return out


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
