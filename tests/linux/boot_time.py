#!/usr/bin/env python3
"""Boot time of Debian's arm64 Linux on bare QEMU and under Bulkhead (docs/LINUX-BOOT.md).

The same kernel and initramfs (build/linux/initrd.cpio, `make linux-initrd`), the same command line
(console=ttyAMA0 bulkhead.test=boot: the init prints its "LINUX user space" banner and powers off
at once), the same board (QEMU virt, cortex-a72, GICv3 by default, 2 CPUs, 2G of RAM); bare QEMU
boots the kernel itself, the hypervisor gets it as a guest-loader module and gives its only VM
every CPU. For each run the wall time from starting QEMU to the banner line on the console is
taken (not to QEMU's exit), together with the host CPU time QEMU used until then; the runs go
bare, hypervisor, hypervisor, bare, bare, ... (an even number of runs gives each side as many
first as second places) and the table gives each run and the medians, then the ratio of the
medians. Standard library only.

Usage: tests/linux/boot_time.py [--runs 4] [--gic 3] [--smp 2] [--mem 2G] [--build DIR]
                                [--append "WORDS"]   (more kernel command line words, both sides)
"""

import os
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
import qemu  # noqa: E402

KERNEL = qemu.LINUX_KERNEL
INITRD = qemu.LINUX_INITRD
BOOTARGS = "console=ttyAMA0 bulkhead.test=boot"
MARKER = b"LINUX user space"
STARTED = b"bulkhead: vm0: started"  # the hypervisor has loaded the VM and enters it
TIME_LIMIT = 120


def bootargs(args):
    return BOOTARGS + (" " + args.append if args.append else "")


def bare_cmd(args):
    return qemu.command(KERNEL, (), machine=qemu.machine(args.gic, hyp=False), smp=args.smp,
                        mem=args.mem, append=bootargs(args), extra=["-initrd", INITRD])


def hyp_cmd(args):
    return qemu.command(qemu.image_path(args.build), [qemu.linux_module(0, bootargs(args))],
                        machine=qemu.machine(args.gic), smp=args.smp, mem=args.mem)


def cpu_seconds(pid):
    """User + system CPU time of a process and its threads so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(cmd, log):
    """Boots once; returns (wall seconds to the marker, QEMU's CPU seconds by then, the guest's
    uptime in the banner, wall seconds to "vm0: started" or None). Raises RuntimeError if the
    marker never comes."""
    start = time.monotonic()
    proc = qemu.start(cmd)
    found = threading.Event()
    result = {}
    lines = []

    def reader():
        for line in proc.stdout:
            lines.append(line)
            if "started" not in result and line.startswith(STARTED):
                result["started"] = time.monotonic() - start
            if not found.is_set() and MARKER in line:
                result["wall"] = time.monotonic() - start
                try:
                    result["cpu"] = cpu_seconds(proc.pid)
                except OSError:
                    result["cpu"] = float("nan")
                text = line.decode("utf-8", "replace")
                up = text.split("uptime=", 1)[1].split()[0] if "uptime=" in text else "nan"
                result["uptime"] = float(up)
                found.set()

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    found.wait(TIME_LIMIT)
    try:
        proc.wait(timeout=30 if found.is_set() else 0.1)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    th.join(5)
    with open(log, "wb") as f:
        f.write(b"".join(lines))
    if not found.is_set():
        raise RuntimeError(f"no '{MARKER.decode()}' line within {TIME_LIMIT} s (see {log})")
    return result["wall"], result["cpu"], result["uptime"], result.get("started")


def main():
    ap = qemu.arg_parser(__doc__)
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--gic", type=int, default=3, choices=(2, 3))
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--mem", default="2G")
    ap.add_argument("--append", default="", help="more kernel command line words")
    args = ap.parse_args()
    os.chdir(ROOT)
    missing = qemu.missing(KERNEL, INITRD, qemu.image_path(args.build),
                           how="make all linux-initrd; scripts/install-deps.sh")
    if missing:
        print(f"boot_time: {missing}", file=sys.stderr)
        return 1
    logdir = os.path.join(qemu.LOG_DIR, "boot_time")
    os.makedirs(logdir, exist_ok=True)
    res = {"bare": [], "hyp": []}
    for i in range(args.runs):
        # ABBA order (bare, hyp, hyp, bare, ...): a host whose speed alternates from one QEMU
        # run to the next (this one's does, by 10-15 %) would otherwise always give one side the
        # fast runs and the other the slow ones.
        order = (("bare", bare_cmd(args)), ("hyp", hyp_cmd(args)))
        for kind, cmd in order if i % 2 == 0 else reversed(order):
            r = one_run(cmd, os.path.join(logdir, f"{kind}-{i + 1}.log"))
            res[kind].append(r)
            print(f"# run {i + 1} {kind}: {r[0]:.2f} s wall, {r[1]:.2f} s QEMU CPU, "
                  f"guest uptime {r[2]:.2f} s", file=sys.stderr, flush=True)

    def med(kind, k):
        return statistics.median(r[k] for r in res[kind])

    names = {"bare": "bare QEMU", "hyp": "under Bulkhead"}
    runs = " | ".join(f"run {i + 1}" for i in range(args.runs))
    print(f"Wall time from starting QEMU to the init's first line (GICv{args.gic}, "
          f"{args.smp} CPUs, -m {args.mem}, kernel command line \"{bootargs(args)}\", runs "
          f"in the order bare, Bulkhead, Bulkhead, bare, ...); QEMU's host CPU time by then and the "
          f"guest's own uptime in brackets.\n")
    print(f"| | {runs} | median |")
    print("|---" * (args.runs + 2) + "|")
    for kind in ("bare", "hyp"):
        cells = " | ".join(f"{r[0]:.2f} s ({r[1]:.2f} s CPU, uptime {r[2]:.2f} s)"
                           for r in res[kind])
        print(f"| {names[kind]} | {cells} | **{med(kind, 0):.2f} s** "
              f"({med(kind, 1):.2f} s CPU, uptime {med(kind, 2):.2f} s) |")
    started = statistics.median(r[3] for r in res["hyp"])
    print(f"\nUnder Bulkhead, \"bulkhead: vm0: started\" (the VM loaded, about to be entered) "
          f"came {started:.2f} s after QEMU started (median).")
    print(f"\nRatio of the medians, under Bulkhead / bare: wall "
          f"**{med('hyp', 0) / med('bare', 0):.2f}**, "
          f"QEMU CPU time {med('hyp', 1) / med('bare', 1):.2f}, "
          f"guest uptime {med('hyp', 2) / med('bare', 2):.2f}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
