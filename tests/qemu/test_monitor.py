#!/usr/bin/env python3
"""Console monitor tests (Ctrl-T then ?): Debian's Linux with a shell in vm0 beside the test
guest ticking in vm1, the console on a pipe as in test_console.py. The test opens the monitor,
lists the VMs, pauses vm1 (its ticks stop while Linux's shell still answers), resumes it (they
go on), stops it, restarts it (it boots again: its reset count is 1), reads the hypervisor's log
and each CPU's load, leaves the monitor (the shell answers again), then stops both VMs from the
monitor, which powers the machine off.

And the life cycle of a running Linux VM on time-shared CPUs (issue 15, v2/v3 monitor_move):
Linux (1 vCPU, a job counting in a loop) shares CPU 0 with a ticking guest; from the monitor it
is paused and resumed, refused a move to CPU 1 (another VM's vCPU has it), moved to the idle
CPU 2 (leaving the shared CPU), and moved back to the shared CPU 0; after each step the job's counter
still grows, `sleep 1` still holds on the guest's clock and the shell answers.

And the monitor's hypercalls (docs/HYPERCALLS.md): a privileged bare-metal guest (bulkhead,monitor)
lists the VMs, reads the log, pauses, resumes, stops and restarts the VM beside it; an
unprivileged one gets NOT_SUPPORTED. And a VM faulting in a loop stopped from the monitor, the
machine then powering off by itself."""

import os
import re
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402
import test_console  # noqa: E402

CTRL_T = b"\x14"
TICKER = "mode=ticker count=100000 tick_ms=200"
HVC_TIME_LIMIT = 120


class Ctx(qemu.Build):
    def __init__(self, build):
        super().__init__(build)
        self.testguest = qemu.guest_path(build, "testguest")


def monitor_command(ctx, gic):
    """make run's layout, with the ticking test guest in vm1 instead of the demo."""
    modules = [qemu.linux_module(0, "console=ttyAMA0 quiet bulkhead.test=shell"),
               qemu.Module(ctx.testguest, TICKER, addr=0x44000000)]
    return qemu.command(ctx.image, modules, machine=qemu.machine(gic), smp=4, mem="2G",
                        append="bulkhead.vm-cpus=2 bulkhead.vm-memory=512M")


def tick_lines(text):
    return re.findall(r"^\[vm1\] tick \d+$", text, re.MULTILINE)


def session(ctx, name, needs, cmd, steps, *checks):
    """The interactive tests' frame: fails at once if a file in `needs` is missing; else runs
    steps(s) on a test_console.Session of cmd, and judges it by its steps, then the checks
    (test_console.Session.verdict)."""
    missing = ctx.missing(*needs)
    if missing:
        return qemu.failure(name, missing)
    s = test_console.Session(cmd)
    steps(s)
    return s.verdict(name, *checks)


def test_console_monitor(ctx, gic):
    return session(ctx, f"v{gic}/monitor", (ctx.testguest, qemu.LINUX_KERNEL, qemu.LINUX_INITRD),
                   monitor_command(ctx, gic), console_monitor_steps,
                   lambda r: qemu.expect_none(r.text, [r"PANIC", r"stopped: "]), qemu.expect_exit)


def console_monitor_steps(s):
    step = s.step

    def monitor(command, pattern, after, why):
        return step(pattern, command.encode() + b"\r", after, why)

    pos = step(r"^\[vm0\] LINUX shell:", why="the shell never started")
    pos = step(r"^\[vm1\] tick 3$", after=0, why="vm1 never ticked")
    pos = step(r"^bulkhead monitor commands", CTRL_T + b"?", pos,
               "Ctrl-T ? did not open the monitor with its help")
    pos = monitor("vms", r"^1 vm1 running vcpus 2 \(cpu 2,3\) 512 MiB up \d+ s exits hvc \d+ "
                  r"sysreg \d+ mmio [1-9]\d* wfi \d+ irq \d+ other \d+ faults 0 resets 0 \(0\)$",
                  pos, "vms did not list vm1 running")
    pos = step(r"^0 vm0 running vcpus 2 \(cpu 0,1\) 512 MiB up \d+ s exits hvc [1-9]", after=0,
               why="vms did not list vm0 running") and pos
    pos = monitor("pause vm1", r"^bulkhead: vm1: paused by the operator", pos,
                  "pause did not pause vm1")
    pos = monitor("vms", r"^1 vm1 paused ", pos, "vms did not show vm1 paused")
    paused_at = pos
    # The shell answers while vm1 is held: leave the monitor, type, come back.
    pos = monitor("exit", r"left the monitor", pos, "exit did not leave the monitor")
    pos = step(r"alive-42", b"echo alive-$((6*7))\r", pos,
               "Linux's shell did not answer while vm1 was paused")
    time.sleep(1.5)
    if not s.reasons and tick_lines(s.text()[paused_at:]):
        s.reasons.append("vm1 went on ticking while paused")
    pos = step(r"^bulkhead monitor commands", CTRL_T + b"?", pos, "the monitor did not open again")
    pos = monitor("resume 1", r"^bulkhead: vm1: resumed by the operator", pos,
                  "resume did not resume vm1")
    pos = step(r"^\[vm1\] tick \d+$", after=pos, why="vm1 did not tick again once resumed")
    pos = monitor("stop vm1", r"^bulkhead: vm1: stopped by the operator", pos,
                  "stop did not stop vm1")
    pos = monitor("vms", r"^1 vm1 stopped ", pos, "vms did not show vm1 stopped")
    pos = monitor("restart vm1", r"^bulkhead: vm1: restart by the operator", pos,
                  "restart was refused")
    pos = step(r"^\[vm1\] tick 1$", after=pos, why="vm1 did not boot again after its restart")
    pos = monitor("vms", r"^1 vm1 running .* resets 1 \(0\)$", pos,
                  "vms did not count vm1's restart")
    pos = monitor("log", r"^---- the hypervisor's log", pos, "log printed no header")
    pos = step(r"^bulkhead: vm1: stopped by the operator(.|\n)*^---- end of log", after=pos,
               why="log did not show the hypervisor's lines")
    pos = monitor("load", r"^cpu0 vm0/0 busy \d+% idle \d+% since boot", pos,
                  "load did not print CPU 0")
    pos = step(r"^cpu3 vm1/1 busy \d+% idle \d+% since boot, busy \d+% idle \d+% since last load",
               after=pos, why="load did not print every CPU")
    pos = monitor("frobnicate 3", r'^monitor: unknown command "frobnicate"; type help', pos,
                  "an unknown command was not answered with the help hint")
    pos = monitor("exit", r"left the monitor", pos, "exit did not leave the monitor")
    pos = step(r"back-7", b"echo back-$((3+4))\r", pos,
               "Linux's shell did not answer after the monitor")
    pos = step(r"^bulkhead monitor commands", CTRL_T + b"?", pos, "the monitor did not open again")
    pos = monitor("stop 1", r"^bulkhead: vm1: stopped by the operator", pos, "stop 1 failed")
    step(r"^bulkhead: no VM running, powering off", b"stop vm0\r", pos,
         "stopping the last VM did not power the machine off")


# ---- issue 15: pause, resume and move of a running Linux VM ----

MOVE_TICKER = "mode=ticker count=100000 tick_ms=300"
MOVE_TICKER_ADDRS = (0x44000000, 0x46000000)


def move_nodes(ctx, extra=""):
    """vm0: Linux with a shell (1 vCPU, 256 MiB) on CPU 0, shared with vm1, a ticker; vm2, a
    ticker, has CPU 1 to itself; CPU 2 is idle. extra: more properties of vm0."""
    kernel, initrd = qemu.LINUX_ADDRS[0]
    cells = "#address-cells = <2>; #size-cells = <2>;"
    nodes = (f"vm0 {{ compatible = \"bulkhead,vm\"; memory-size = <0x0 0x10000000>; cpus = <1>; "
             f"pcpus = <0>; {extra} {cells}\n"
             + qemu.module_node(kernel, qemu.LINUX_KERNEL,
                                bootargs="console=ttyAMA0 quiet bulkhead.test=shell")
             + qemu.module_node(initrd, qemu.LINUX_INITRD, kind="ramdisk") + "};\n")
    for vm, (addr, cpu) in enumerate(zip(MOVE_TICKER_ADDRS, (0, 1)), start=1):
        nodes += (f"vm{vm} {{ compatible = \"bulkhead,vm\"; memory-size = <0x0 0x4000000>; "
                  f"cpus = <1>; pcpus = <{cpu}>; {cells}\n"
                  + qemu.module_node(addr, ctx.testguest, bootargs=MOVE_TICKER) + "};\n")
    return nodes


def move_command(ctx, gic, workdir, extra=""):
    """(command, None) or (None, why not): QEMU's tree with move_nodes, 3 CPUs."""
    kernel, initrd = qemu.LINUX_ADDRS[0]
    loaders = []
    for path, addr in ((qemu.LINUX_KERNEL, kernel), (qemu.LINUX_INITRD, initrd),
                       *((ctx.testguest, a) for a in MOVE_TICKER_ADDRS)):
        loaders += ["-device", f"loader,file={path},addr={addr:#x},force-raw=on"]
    machine = qemu.machine(gic)
    dtb, err = qemu.make_dtb_with(ctx, [], machine, workdir, move_nodes(ctx, extra), smp=3,
                                  mem="1G", need_modules=False)
    if err:
        return None, err
    return qemu.command(ctx.image, machine=machine, smp=3, mem="1G", dtb=dtb, extra=loaders), None


def test_monitor_move(ctx, gic, what="move"):
    name = f"v{gic}/monitor_{what}"
    missing = ctx.missing(ctx.image, ctx.testguest, qemu.LINUX_KERNEL, qemu.LINUX_INITRD)
    if missing:
        return qemu.failure(name, missing)
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        snapshot = what == "snapshot"
        cmd, err = move_command(ctx, gic, work, "bulkhead,snapshot;" if snapshot else "")
        if err:
            return qemu.failure(name, err)
        return session(ctx, name, (), cmd, snapshot_steps if snapshot else move_steps,
                       lambda r: qemu.expect_none(r.text, [r"PANIC", r"stopped: "]),
                       qemu.expect_exit)


def vm0_says(text):
    """A pattern for text as vm0 prints it: the console multiplexer may break a line of vm0's
    anywhere to let other VMs' lines out, going on after a new "[vm0] " prefix."""
    others = r"(?:(?!\[vm0\] )[^\n]*\n)*"
    return rf"(?:\n{others}\[vm0\] )?".join(re.escape(c) for c in text)


# A job counting in Linux's shell, each count renamed into /tmp/jc.
JOB = b"( n=0; while :; do n=$((n+1)); echo $n > /tmp/jt; mv /tmp/jt /tmp/jc; done ) & "


def job_steps(s):
    """(monitor, job_grows, stop_all) of a session whose vm0 is Linux with a shell, vm1 and vm2
    beside it."""
    step = s.step

    def monitor(command, pattern, after, why):
        return step(pattern, command.encode() + b"\r", after, why)

    def job_grows(after, why):
        """The job's counter, read before and after `sleep 1`, grew; the sleep took from 1 to 5
        s of the guest's clock (/proc/uptime's hundredths, read by the shell itself: a loaded
        host slows what it runs, not the guest's clock). (The job renames each count into
        place: a read never sees a file half written.)"""
        return step(vm0_says("JOB grew=1 slept=1"),
                    b"a=$(cat /tmp/jc); read u0 x < /proc/uptime; sleep 1; "
                    b"read u1 x < /proc/uptime; b=$(cat /tmp/jc); "
                    b"d=$(( ${u1%.*}${u1#*.} - ${u0%.*}${u0#*.} )); "
                    b"echo JOB grew=$((b > a)) slept=$(( d >= 99 && d <= 500 ))\r", after, why)

    def stop_all(after):
        """From the monitor: vm1 and vm2 stopped, then vm0, the last one, which powers off."""
        pos = step(r"^bulkhead monitor commands", CTRL_T + b"?", after, "the monitor did not open")
        for vm in (1, 2):
            pos = monitor(f"stop {vm}", rf"^bulkhead: vm{vm}: stopped by the operator", pos,
                          f"stop {vm} failed")
        step(r"^bulkhead: no VM running, powering off", b"stop vm0\r", pos,
             "stopping the last VM did not power the machine off")
    return monitor, job_grows, stop_all


def snapshot_steps(s):
    """Issue 15: a value written to Linux's tmpfs after a snapshot is gone once the snapshot is
    restored; the job started before it still counts and sleep still holds."""
    step = s.step
    monitor, job_grows, stop_all = job_steps(s)
    pos = step(r"^\[vm0\] LINUX shell:", why="the shell never started")
    pos = step(vm0_says("JOB started"), JOB + b"echo before > /tmp/v; echo JOB started\r", pos,
               "the job did not start")
    def while_paused(command, pattern, after, why):
        """From the monitor: pause vm0, command, resume it, leave the monitor."""
        pos = step(r"^bulkhead monitor commands", CTRL_T + b"?", after, "the monitor did not open")
        pos = monitor("pause 0", r"^bulkhead: vm0: paused by the operator", pos, "pause refused")
        pos = monitor(command, pattern, pos, why)
        pos = monitor("resume 0", r"^bulkhead: vm0: resumed by the operator", pos,
                      "resume refused")
        return monitor("exit", r"left the monitor", pos, "exit did not leave the monitor")

    pos = step(r"^bulkhead monitor commands", CTRL_T + b"?", pos, "the monitor did not open")
    pos = monitor("snapshot 0", r"^monitor: vm0: no snapshot: it is not paused", pos,
                  "a snapshot of a running VM was not refused")
    pos = monitor("exit", r"left the monitor", pos, "exit did not leave the monitor")
    pos = while_paused("snapshot 0", r"^bulkhead: vm0: snapshot taken in \d+ us", pos,
                       "the snapshot was not taken")
    pos = step(vm0_says("VALUE after"), b"echo after > /tmp/v; echo VALUE $(cat /tmp/v)\r", pos,
               "the value was not written after the snapshot")
    pos = while_paused("restore 0", r"^bulkhead: vm0: restored from its snapshot in \d+ us", pos,
                       "the snapshot was not restored")
    pos = step(vm0_says("VALUE before"), b"\recho VALUE $(cat /tmp/v)\r", pos,
               "the value written after the snapshot is still there after the restore")
    pos = job_grows(pos, "the job did not go on after the restore")
    stop_all(pos)


def move_steps(s):
    step = s.step
    monitor, job_grows, stop_all = job_steps(s)
    pos = step(r"^\[vm0\] LINUX shell:", why="the shell never started")
    pos = step(r"^bulkhead: CPU 0: 2 vCPUs share it by priorities$", after=0,
               why="vm0 and vm1 do not share CPU 0") and pos
    pos = step(vm0_says("JOB started"), JOB + b"echo JOB started\r", pos, "the job did not start")
    pos = job_grows(pos, "the job did not run at first")
    pos = step(r"^bulkhead monitor commands", CTRL_T + b"?", pos, "the monitor did not open")
    pos = monitor("pause 0", r"^bulkhead: vm0: paused by the operator", pos, "pause refused")
    pos = monitor("resume 0", r"^bulkhead: vm0: resumed by the operator", pos, "resume refused")
    pos = monitor("move 0 1", r"^monitor: vm0 cannot be moved: CPU 1 has a vCPU of its own", pos,
                  "a move to vm2's CPU was not refused")
    pos = monitor("move 0 2", r"^bulkhead: vm0: moved to CPU 2$", pos,
                  "vm0 did not reach CPU 2")
    pos = monitor("vms", r"^0 vm0 running vcpus 1 \(cpu 2\)", pos, "vms did not show vm0 on CPU 2")
    pos = monitor("exit", r"left the monitor", pos, "exit did not leave the monitor")
    pos = job_grows(pos, "the job did not go on after the move to CPU 2")
    pos = step(r"^bulkhead monitor commands", CTRL_T + b"?", pos, "the monitor did not open")
    pos = monitor("move vm0 0", r"^bulkhead: vm0: moved to CPU 0$", pos,
                  "vm0 did not come back to the shared CPU 0")
    pos = monitor("exit", r"left the monitor", pos, "exit did not leave the monitor")
    pos = job_grows(pos, "the job did not go on after the move back to CPU 0")
    pos = step(r"^\[vm1\] tick \d+$", after=pos, why="vm1 stopped ticking beside vm0")
    stop_all(pos)


# ---- issue 16, item 9: a VM faulting in a loop, stopped from the monitor ----

def test_stop_faultloop(ctx, gic):
    """vm0 loads from nowhere for ever (each an abort injected, the reports muted after 32),
    which used to keep QEMU up until Ctrl-A X ended every VM. The monitor, whose keys arrive in
    vm0's own exits on CPU 0, lists its faults and stops it; vm1 ticks to its end and the
    machine powers off by itself."""
    modules = [qemu.Module(ctx.testguest, "mode=faultloop count=4000000000"),
               qemu.Module(ctx.testguest, "mode=ticker count=40 tick_ms=100")]
    return session(ctx, f"v{gic}/monitor_faultloop", (ctx.image, ctx.testguest),
                   qemu.command(ctx.image, modules, machine=qemu.machine(gic)), faultloop_steps,
                   lambda r: qemu.expect_all(r.text, [qemu.prefixed("vm1", "ticker done")]),
                   lambda r: qemu.expect_none(r.text, [r"PANIC",
                                                       qemu.prefixed("vm0", "faultloop:")]),
                   qemu.expect_exit)


def faultloop_steps(s):
    step = s.step
    pos = step(r"^bulkhead: vm0: more faults than", why="vm0 did not fault in a loop")
    pos = step(r"^bulkhead monitor commands", CTRL_T + b"?", pos,
               "Ctrl-T ? did not open the monitor")
    pos = step(r"^0 vm0 running vcpus 1 \(cpu 0\) .* faults [1-9]\d* ", b"vms\r", pos,
               "vms did not show vm0's faults")
    pos = step(r"^bulkhead: vm0: stopped by the operator", b"stop 0\r", pos,
               "stop did not stop the faulting VM")
    step(r"^bulkhead: no VM running, powering off", after=pos,
         why="the machine did not power off once vm1 was done")


# ---- the hypercalls: a privileged guest beside a ticker and an unprivileged guest ----

PRIV_ADDR = 0x4A000000
PRIV_VM = """
        admin {{
            compatible = "bulkhead,vm";
            bulkhead,monitor;
            memory-size = <0x0 0x4000000>;
            cpus = <1>;
            #address-cells = <2>;
            #size-cells = <2>;
            module@{a:x} {{
                compatible = "multiboot,kernel", "multiboot,module";
                reg = <0x0 0x{a:x} 0x0 0x{size:x}>;
                bootargs = "mode=monitor target=1";
            }};
        }};
"""


def test_hypercalls(ctx, gic):
    name = f"v{gic}/monitor_hypercalls"
    machine = qemu.machine(gic)
    missing = ctx.missing(ctx.image, ctx.testguest)
    if missing:
        return qemu.failure(name, missing)
    # VM 0 (admin) is the explicit node; vm1 ticks; vm2 asks without the privilege.
    modules = [qemu.Module(ctx.testguest, TICKER.replace("100000", "40")),
               qemu.Module(ctx.testguest, "mode=monitor")]
    nodes = PRIV_VM.format(a=PRIV_ADDR, size=os.path.getsize(ctx.testguest))
    loaders = ["-device", f"loader,file={ctx.testguest},addr={PRIV_ADDR:#x},force-raw=on"]
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        dtb, err = qemu.make_dtb_with(ctx, modules, machine, work, nodes, smp=4)
        if err:
            return qemu.failure(name, err)
        cmd = qemu.command(ctx.image, modules, machine=machine, dtb=dtb, extra=loaders, smp=4)
        run_ = qemu.run(name, cmd, HVC_TIME_LIMIT)
    t = run_.text
    admin = lambda line: qemu.prefixed("admin", line)  # noqa: E731
    reasons = [
        qemu.expect_ordered(t, [admin(r"monitor: 3 VMs, I am 0"),
                                admin(r"monitor: vm 0 admin running privileged 1 vCPU"),
                                admin(r"monitor: vm 1 vm1 running 1 vCPU"),
                                admin(r"monitor: vm 2 vm2 \w+ 1 vCPU"),
                                admin(r"monitor: log has \d+ bytes: bulkhead:"),
                                r"^bulkhead: vm1: paused by admin",
                                admin(r"monitor: pause of myself denied"),
                                r"^bulkhead: vm1: resumed by admin",
                                r"^bulkhead: vm1: moved to CPU 3$",
                                admin(r"monitor: move of 1 to CPU 3 done, to my CPU denied"),
                                r"^bulkhead: vm1: no snapshot for admin: it has no "
                                r"bulkhead,snapshot",
                                admin(r"monitor: snapshot and restore of 1 denied"),
                                r"^bulkhead: vm1: stopped by the operator",
                                r"^bulkhead: vm1: restart by the operator",
                                admin(r"PASS monitor_control"),
                                admin(r"monitor done")]),
        # Restarted, it boots again.
        qemu.expect_ordered(t, [r"^bulkhead: vm1: restart by the operator",
                                qemu.prefixed("vm1", r"tick 1$")]),
        qemu.expect_all(t, [qemu.prefixed("vm2", f"monitor: {call} not supported: ok")
                            for call in ("BH_HVC_VM_COUNT", "BH_HVC_VM_INFO", "BH_HVC_VM_CONTROL",
                                         "BH_HVC_LOG_READ")]),
        qemu.expect_none(t, [r"FAIL\b.*", r"PANIC"]),
        qemu.expect_exit(run_),
    ]
    return qemu.verdict(name, run_, *reasons)


def cases(build):
    ctx = Ctx(build)
    out = []
    for gic in (3, 2):
        out += [(f"v{gic}/monitor", lambda g=gic: test_console_monitor(ctx, g)),
                (f"v{gic}/monitor_faultloop", lambda g=gic: test_stop_faultloop(ctx, g)),
                (f"v{gic}/monitor_hypercalls", lambda g=gic: test_hypercalls(ctx, g)),
                (f"v{gic}/monitor_move", lambda g=gic: test_monitor_move(ctx, g)),
                (f"v{gic}/monitor_snapshot",
                 lambda g=gic: test_monitor_move(ctx, g, "snapshot"))]
    return out


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
