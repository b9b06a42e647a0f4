#!/usr/bin/env python3
"""The hypervisor on QEMU 10's raspi4b: `make PLATFORM=raspi4b run-bare` as run_demo.py runs it.

raspi4b/run_bare builds the raspi4b image and guests (build/raspi4b beside the --build directory,
`make PLATFORM=raspi4b all guests`; the guests linked at 0x80000, RAM + 0x80000 on the Pi), takes
Debian's bcm2711-rpi-4-b.dtb with two `bulkhead,vm` nodes added under /chosen (alpha and beta, the
demo guest, 1 vCPU and 64 MiB each, loaded raw by `-device loader`), and checks that both guests
say hello with the Pi's map in their device tree, count to five and power off, and that the
hypervisor then powers the machine off. QEMU's raspi4b has no PSCI and cannot power off
(../shared/QEMU-NOTES.md): when the hypervisor says it halted instead, the test ends QEMU itself.
raspi4b/linux: `make PLATFORM=raspi4b run`'s two VMs (run_demo.pi_linux_demo_command) with the
test init's checks: Debian's Linux in vm0 (2 vCPUs, 512 MiB) in Debian's DTB with the nodes QEMU
does not model disabled, its console the VM's PL011 as ttyAMA0 without earlycon (the PL011
driver binds: "ttyAMA0 ... is a PL011 rev"), user space reached, nproc 2, the checks of
tests/qemu/test_linux.py passed (no dmesg warning at all), poweroff; the demo guest in vm1 says
hello with the Pi's map, counts and powers off; then the hypervisor halts.
Fails with the reason if Debian's DTB is missing (scripts/install-deps.sh unpacks it).
Run alone: tests/qemu/test_raspi4b.py [--build build/qemu-virt] [--only RE].
"""

import os
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402
import run_demo  # noqa: E402
import test_linux as linux_checks  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIME_LIMIT = 60  # seconds for the QEMU run; a passing one takes a few
LINUX_TIME_LIMIT = 90  # seconds for the Linux run; a passing one takes about 10
LINUX_BOOTARGS = "console=ttyAMA0 bulkhead.test=checks"
BUILD_LIMIT = 600  # seconds for make
VMS = ("alpha", "beta")
# The hypervisor's last line when the board's firmware cannot power off (no PSCI on the Pi).
HALTED = r"^bulkhead: firmware cannot power off: halted"


def pi_build_dir(build):
    """The raspi4b build directory beside the qemu-virt one (build/raspi4b for build/qemu-virt)."""
    return os.path.join(os.path.dirname(os.path.normpath(build)), "raspi4b")


def make_pi(pi_build):
    """Builds the raspi4b image and guests into pi_build. Returns None or the reason it failed."""
    cmd = ["make", "-s", "--no-print-directory", "PLATFORM=raspi4b", f"BUILD={pi_build}", "all",
           "guests"]
    try:
        p = subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=BUILD_LIMIT)
    except subprocess.TimeoutExpired:
        return f"{' '.join(cmd)}: not done after {BUILD_LIMIT} s"
    if p.returncode:
        return f"{' '.join(cmd)} failed: {p.stdout.strip()[-300:]}"
    return None


def run_until(name, cmd, timeout, stop_re):
    """qemu.run(), but QEMU is also ended as soon as a console line matches stop_re (a machine
    that halts instead of powering off). Returns (qemu.Run, whether stop_re ended it)."""
    path = qemu.log_path(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    begin = time.monotonic()
    proc = qemu.start(cmd)
    chunks = []
    seen = threading.Event()
    stop = re.compile(stop_re, re.MULTILINE)

    def reader():
        while True:
            b = proc.stdout.read1(4096)
            if not b:
                return
            chunks.append(b)
            if stop.search(b"".join(chunks).decode("utf-8", "replace").replace("\r", "")):
                seen.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    timed_out = False
    while proc.poll() is None and not seen.is_set():
        if time.monotonic() - begin > timeout:
            timed_out = True
            break
        time.sleep(0.1)
    if proc.poll() is None:
        time.sleep(0.2)  # what follows the line, if anything
        qemu.stop(proc)
    t.join(5)
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    seconds = time.monotonic() - begin
    halted = seen.is_set() and not timed_out
    with open(path, "w", encoding="utf-8") as f:
        f.write("# " + " ".join(qemu._shell_quote(a) for a in cmd) + "\n")
        how = " (killed at the time limit)" if timed_out else " (halted: ended by the test)" \
            if halted else ""
        f.write(f"# exit {proc.returncode}{how}, {seconds:.1f} s\n")
        f.write(text)
    return qemu.Run(name, cmd, text, proc.returncode, timed_out, seconds, path), halted


def test_run_bare(build):
    name = "raspi4b/run_bare"
    if not qemu.pi_debian_dtb():
        return qemu.failure(name, f"Debian's bcm2711-rpi-4-b.dtb not found under "
                                  f"{qemu.DEPS_DIR}/arm64/root (scripts/install-deps.sh unpacks "
                                  "it): raspi4b not tested")
    pi_build = pi_build_dir(build)
    err = make_pi(pi_build)
    if err:
        return qemu.failure(name, err)
    image, demo = qemu.image_path(pi_build), qemu.guest_path(pi_build, "demo")
    err = qemu.missing(image, demo)
    if err:
        return qemu.failure(name, err)
    with tempfile.TemporaryDirectory(prefix="bulkhead-pi-") as workdir:
        cmd, err = qemu.pi_bare_demo_command(image, demo, workdir)
        if err:
            return qemu.failure(name, err)
        run_, halted = run_until(name, cmd, TIME_LIMIT, HALTED)
    t = run_.text
    reasons = [
        qemu.expect_all(t, [r"^Bulkhead hypervisor \(raspi4b\) at 0x200000\b",
                            r"^bulkhead: board \"Raspberry Pi 4 Model B\": 4 CPUs.*GICv2"]),
        *[qemu.expect_ordered(t, [
            qemu.prefixed(vm, qemu.esc(f"Hello from {vm}, a Bulkhead demo guest running at EL1!")),
            qemu.prefixed(vm, qemu.esc(f"{vm}: my DTB at ") + r"0x[0-9a-f]+"
                          + qemu.esc(" shows 64 MiB of RAM at 0x0, 1 CPU, a PL011 at 0xfe201000")),
            *[qemu.prefixed(vm, qemu.esc(f"{vm} counts {i}") + "$") for i in range(1, 6)],
            qemu.prefixed(vm, qemu.esc(f"{vm} says goodbye, powering off")),
            r"^bulkhead: " + qemu.esc(vm) + r": powered off"]) for vm in VMS],
        *[qemu.expect_count(t, qemu.prefixed(vm, r".* counts \d+$"), 5) for vm in VMS],
        qemu.expect_none(t, [qemu.stopped(VMS), r"^bulkhead: .*(fault|abort|error)",
                             r"^\[(alpha|beta)\] .*(FAIL|exception)"]),
    ]
    reasons += qemu.ends_cleanly(t, run_, VMS)[:4]  # all but QEMU's exit
    # The machine powered off: QEMU left by itself, or the hypervisor halted the Pi, which QEMU's
    # raspi4b cannot power off (the test ended QEMU then).
    if not halted:
        reasons.append(qemu.expect_exit(run_, " (neither powered off nor halted)"))
    return qemu.verdict(name, run_, *reasons)


def test_linux(build):
    name = "raspi4b/linux"
    pi_build = pi_build_dir(build)
    err = make_pi(pi_build)
    if err:
        return qemu.failure(name, err)
    image, demo = qemu.image_path(pi_build), qemu.guest_path(pi_build, "demo")
    err = (qemu.missing(image, demo) or qemu.missing(qemu.LINUX_KERNEL, how="scripts/install-deps.sh")
           or qemu.missing(qemu.LINUX_INITRD, how="make linux-initrd"))
    if err:
        return qemu.failure(name, err)
    with tempfile.TemporaryDirectory(prefix="bulkhead-pi-") as workdir:
        cmd, err = run_demo.pi_linux_demo_command(image, demo, workdir, LINUX_BOOTARGS)
        if err:
            return qemu.failure(name, err)
        run_, halted = run_until(name, cmd, LINUX_TIME_LIMIT, HALTED)
    t = run_.text
    ncpu = run_demo.PI_LINUX_CPUS
    vms = ("vm0", "vm1")
    reasons = [
        qemu.expect_all(t, [r"^bulkhead: vm0: %d vCPU" % ncpu]),
        qemu.expect_ordered(t, [
            qemu.prefixed("vm1", qemu.esc("Hello from beta, a Bulkhead demo guest running at EL1!")),
            qemu.prefixed("vm1", qemu.esc("beta: my DTB at ") + r"0x[0-9a-f]+"
                          + qemu.esc(" shows 64 MiB of RAM at 0x0, 1 CPU, a PL011 at 0xfe201000")),
            qemu.prefixed("vm1", qemu.esc("beta says goodbye, powering off")),
            r"^bulkhead: vm1: powered off"]),
        qemu.expect_count(t, qemu.prefixed("vm1", r"beta counts \d+$"), 5),
        # The console without earlycon: Linux's AMBA bus found the PL011 and its driver took it.
        qemu.expect_none(t, [qemu.prefixed("vm0", r".*Kernel command line:.*earlycon"),
                             qemu.prefixed("vm0", r".*unable to open an initial console")]),
        qemu.expect_ordered(t, [
            qemu.prefixed("vm0", r"\[ *[\d.]+\] [0-9a-f]+\.(pl011|serial): ttyAMA0 at MMIO "
                          r"0xfe201000 .* is a PL011 rev\d"),
            qemu.prefixed("vm0", r"\[ *[\d.]+\] printk: console \[ttyAMA0\] enabled")]),
    ]
    checks, warnings = linux_checks.parse_checks(t, "vm0", ncpu)
    reasons += checks
    reasons.append(linux_checks.warnings_reason("", linux_checks.extra_warnings(warnings, [])))
    reasons += qemu.ends_cleanly(t, run_, vms, forbid=[qemu.stopped(vms), r"PANIC.*"],
                                 forbid_first=True)[:4]  # all but QEMU's exit
    if not halted:
        reasons.append(qemu.expect_exit(run_, " (neither powered off nor halted)"))
    return linux_checks.hv_verdict(name, run_, reasons)


def cases(build):
    """raspi4b's cases, run with the qemu-virt build's test run (their build is beside it)."""
    if not qemu.is_qemu_virt(build):
        return []
    return [("raspi4b/run_bare", lambda: test_run_bare(build)),
            ("raspi4b/linux", lambda: test_linux(build))]


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
