#!/usr/bin/env python3
"""The hypervisor on QEMU 10's raspi4b: `make PLATFORM=raspi4b run-bare` as run_demo.py runs it.

raspi4b/run_bare builds the raspi4b image and guests (build/raspi4b beside the --build directory,
`make PLATFORM=raspi4b all guests`; the guests linked at 0x80000, RAM + 0x80000 on the Pi), takes
Debian's bcm2711-rpi-4-b.dtb with two `bulkhead,vm` nodes added under /chosen (alpha and beta, the
demo guest, 1 vCPU and 64 MiB each, loaded raw by `-device loader`), and checks that both guests
say hello with the Pi's map in their device tree, count to five and power off, and that the
hypervisor then powers the machine off. QEMU's raspi4b has no PSCI
(../shared/QEMU-NOTES.md) but resets through the BCM2835 PM block, as below.
raspi4b/linux: `make PLATFORM=raspi4b run`'s two VMs (run_demo.pi_linux_demo_command) with the
test init's checks: Debian's Linux in vm0 (2 vCPUs, 512 MiB) in Debian's DTB with the nodes QEMU
does not model disabled, its console the VM's PL011 as ttyAMA0 without earlycon (the PL011
driver binds: "ttyAMA0 ... is a PL011 rev"), user space reached, nproc 2, the checks of
tests/qemu/test_linux.py passed (no dmesg warning at all), poweroff; the demo guest in vm1 says
hello with the Pi's map, counts and powers off; then the hypervisor powers the Pi off.
raspi4b/machine_reset: a VM with `bulkhead,on-crash = "reset-machine"` whose guest (the test
guest, mode=crash) makes an access the hypervisor cannot emulate: the machine is reset through
the BCM2835 PM watchdog (no PSCI on the Pi) and QEMU's raspi4b, whose PM model resets the board
on it, boots the hypervisor again (the test ends QEMU at the second banner).
The hypervisor powers QEMU's raspi4b off as Linux does the Pi, through the PM watchdog into the
firmware's halt partition, which QEMU's model takes as a shutdown: QEMU exits by itself. A
hypervisor that halts instead ("firmware cannot power off: halted") fails the test, ended by it.
raspi4b/monitor_reset: the console monitor's reset-machine, the same way.
raspi4b/mini_uart_console: raspi4b/linux's VMs with the hypervisor's console on the mini UART
(stdout-path "serial1", QEMU's second -serial; the PL011 unconnected): output, and a command
typed into Linux's shell. raspi4b/rpi4_doc: docs/RPI4.md's bundle and QEMU blocks as written.
raspi4b/sdcard: scripts/mksdcard.sh's card image (stand-ins for the firmware files).
raspi4b/rpi4_uboot: docs/RPI4.md's U-Boot route (Debian's rpi_arm64 U-Boot, boot.scr on a
mksdcard.sh card, the demo guest's VM node added with fdt commands). raspi4b/rpi4_passthrough:
docs/RPI4.md's passthrough example (the GPIO block to the demo VM, from a bundle).
Fails with the reason if Debian's DTB is missing (scripts/install-deps.sh unpacks it).
Run alone: tests/qemu/test_raspi4b.py [--build build/qemu-virt] [--only RE].
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402
import run_demo  # noqa: E402
import test_console  # noqa: E402
import test_doc_examples  # noqa: E402
import test_linux as linux_checks  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIME_LIMIT = 60  # seconds for the QEMU run; a passing one takes a few
LINUX_TIME_LIMIT = 90  # seconds for the Linux run; a passing one takes about 10
LINUX_BOOTARGS = "console=ttyAMA0 bulkhead.test=checks"
BUILD_LIMIT = 600  # seconds for make
VMS = ("alpha", "beta")
# The hypervisor's last line when the board's firmware cannot power off: a failure here.
HALTED = r"^bulkhead: firmware cannot power off: halted"
PI_POWER_OFF = r"^bulkhead: powering off through the BCM2835 watchdog \(the firmware halts\)$"
RESET_TIME_LIMIT = 60
# The hypervisor booting again after a machine reset: the test ends QEMU there.
SECOND_BOOT = r"(?s)^Bulkhead hypervisor \(raspi4b\) .*^Bulkhead hypervisor \(raspi4b\) "


def pi_build_dir(build):
    """The raspi4b build directory beside the qemu-virt one (build/raspi4b for build/qemu-virt)."""
    return os.path.join(os.path.dirname(os.path.normpath(build)), "raspi4b")


_made = {}  # pi_build -> make's outcome, once per run: cases run two at a time (run_all.py)
_make_lock = threading.Lock()


def make_pi(pi_build):
    """Builds the raspi4b image and guests into pi_build, once per run however many cases ask
    (two makes at once in one directory could clash). Returns None or the reason it failed."""
    with _make_lock:
        if pi_build not in _made:
            _made[pi_build] = _make_pi(pi_build)
        return _made[pi_build]


def _make_pi(pi_build):
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


def pi_image_and_guest(build, guest_name, *more_missing):
    """Builds the raspi4b tree beside build; returns (image, guest path, None) or (..., the
    reason a test cannot run: the build failed, a file is missing, or the first of
    more_missing's reasons)."""
    pi_build = pi_build_dir(build)
    image, guest = qemu.image_path(pi_build), qemu.guest_path(pi_build, guest_name)
    err = make_pi(pi_build) or qemu.missing(image, guest)
    for reason in more_missing:
        err = err or reason()
    return image, guest, err


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
    image, demo, err = pi_image_and_guest(build, "demo")
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
    reasons += powered_off(t, run_, halted)
    return qemu.verdict(name, run_, *reasons)


def linux_missing():
    """Why Debian's kernel or the test initramfs is missing, or None."""
    return (qemu.missing(qemu.LINUX_KERNEL, how="scripts/install-deps.sh")
            or qemu.missing(qemu.LINUX_INITRD, how="make linux-initrd"))


def test_linux(build):
    name = "raspi4b/linux"
    image, demo, err = pi_image_and_guest(build, "demo", linux_missing)
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
            qemu.prefixed("vm1",
                          qemu.esc("Hello from beta, a Bulkhead demo guest running at EL1!")),
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
    reasons += powered_off(t, run_, halted)
    return linux_checks.hv_verdict(name, run_, reasons)


def test_machine_reset(build):
    name = "raspi4b/machine_reset"
    image, guest, err = pi_image_and_guest(build, "testguest")
    if err:
        return qemu.failure(name, err)
    addr = qemu.PI_MODULE_ADDRS[0]
    nodes = ("crasher { compatible = \"bulkhead,vm\"; memory-size = <0x0 0x4000000>; cpus = <1>; "
             "bulkhead,on-crash = \"reset-machine\"; #address-cells = <2>; #size-cells = <2>;\n"
             + qemu.module_node(addr, guest, bootargs="mode=crash") + "};\n")
    with tempfile.TemporaryDirectory(prefix="bulkhead-pi-") as workdir:
        dtb, err = qemu.make_pi_dtb(workdir, nodes, name="machine-reset")
        if err:
            return qemu.failure(name, err)
        run_, rebooted = run_until(name, qemu.pi_command(image, dtb, [(guest, addr)]),
                                   RESET_TIME_LIMIT, SECOND_BOOT)
    t = run_.text
    reasons = [
        qemu.expect_ordered(t, [
            r"^Bulkhead hypervisor \(raspi4b\) at 0x200000\b",
            qemu.prefixed("crasher", "about to crash"),
            r"^bulkhead: crasher: stopped: device access that cannot be emulated",
            r"^bulkhead: crasher: on-crash reset-machine: resetting the machine$",
            r"^bulkhead: resetting the machine through the BCM2835 watchdog$",
            r"^Bulkhead hypervisor \(raspi4b\) at 0x200000\b"]),
        qemu.expect_none(t, [r"^bulkhead: the BCM2835 watchdog .* did not reset",
                             r"^bulkhead: firmware cannot reset the machine"]),
        None if rebooted else "the hypervisor did not boot again after the machine reset",
    ]
    return qemu.verdict(name, run_, *reasons)


def test_monitor_reset(build):
    """The monitor's reset-machine on the Pi: through the PM watchdog, and the hypervisor boots
    again (QEMU's raspi4b resets; the test ends QEMU then)."""
    name = "raspi4b/monitor_reset"
    image, guest, err = pi_image_and_guest(build, "testguest")
    if err:
        return qemu.failure(name, err)
    addr = qemu.PI_MODULE_ADDRS[0]
    nodes = ("ticker { compatible = \"bulkhead,vm\"; memory-size = <0x0 0x4000000>; cpus = <1>; "
             "#address-cells = <2>; #size-cells = <2>;\n"
             + qemu.module_node(addr, guest, bootargs="mode=ticker count=100000 tick_ms=200")
             + "};\n")
    with tempfile.TemporaryDirectory(prefix="bulkhead-pi-") as workdir:
        dtb, err = qemu.make_pi_dtb(workdir, nodes, name="monitor-reset")
        if err:
            return qemu.failure(name, err)
        s = test_console.Session(qemu.pi_command(image, dtb, [(guest, addr)]))
        at = s.step(r"^\[ticker\] tick 2$")
        at = s.step(r"^bulkhead> ", keys=b"\x14?", after=at, why="no monitor prompt")
        at = s.step(r"^bulkhead: resetting the machine through the BCM2835 watchdog$",
                    keys=b"reset-machine\r", after=at)
        s.step(r"^Bulkhead hypervisor \(raspi4b\) at 0x200000\b", after=at,
               why="the hypervisor did not boot again after the reset")
        qemu.stop(s.proc)  # it would tick on, and reset never ends a QEMU
        return s.verdict(name, lambda r: qemu.expect_ordered(r.text, [
            r"^bulkhead: the operator resets the machine$",
            r"^bulkhead: resetting the machine through the BCM2835 watchdog$"]),
            lambda r: qemu.expect_none(r.text, [r"did not reset", r"cannot reset"]))


def test_mini_uart_console(build):
    """make run's VMs with the hypervisor's console on the mini UART (stdout-path "serial1", as
    Debian's DTB has it for a real Pi): its output and keyboard through QEMU's second -serial."""
    name = "raspi4b/mini_uart_console"
    image, demo, err = pi_image_and_guest(build, "demo", linux_missing)
    if err:
        return qemu.failure(name, err)
    with tempfile.TemporaryDirectory(prefix="bulkhead-pi-") as workdir:
        cmd, err = run_demo.pi_linux_demo_command(image, demo, workdir,
                                                  "console=ttyAMA0 bulkhead.test=shell",
                                                  stdout="serial1")
        if err:
            return qemu.failure(name, err)
        # The PL011 (QEMU's first -serial) is left unconnected: nothing may depend on it.
        i = cmd.index("mon:stdio")
        cmd = cmd[:i - 1] + ["-serial", "null", "-serial", "mon:stdio"] + cmd[i + 1:]
        s = test_console.Session(cmd)
        at = s.step(r"^Bulkhead hypervisor \(raspi4b\) at 0x200000\b")
        at = s.step(r"^\[vm1\] beta says goodbye, powering off$", after=at)
        at = s.step(r"^\[vm0\] / # ", after=at, why="no shell prompt from vm0")
        at = s.step(r"^\[vm0\] mini-42$", keys=b"echo mini-$((6*7))\r", after=at,
                    why="vm0 did not answer a command typed on the mini UART")
        s.step(PI_POWER_OFF, keys=b"poweroff -f\r", after=at)
        return s.verdict(name, lambda r: qemu.expect_all(r.text, [
            r"^bulkhead: vm0: powered off", r"^bulkhead: vm1: powered off"]),
            lambda r: qemu.expect_none(r.text, [r"^bulkhead: .*stdout-path", qemu.stopped(
                ("vm0", "vm1"))]), qemu.expect_exit)


def rpi4_doc_script(block, pi_build):
    """A docs/RPI4.md block made runnable from any directory: its build/, tools/ and tests/ paths
    absolute (build/raspi4b/ being this run's Pi build)."""
    block = re.sub(r"(?<![/\w])build/raspi4b/", os.path.abspath(pi_build) + "/", block)
    return re.sub(r"(?<![/\w])(build|tools|tests)/", ROOT + r"/\1/", block)


def test_rpi4_doc(build):
    """docs/RPI4.md's bundle and its QEMU run as written (in a scratch directory): Linux's shell
    answers, `poweroff -f` ends it, the demo guest powers off, the hypervisor powers QEMU off."""
    name = "raspi4b/rpi4_doc"
    blocks = [test_doc_examples.doc_block("RPI4.md", b) for b in ("rpi4-bundle", "rpi4-qemu")]
    if None in blocks:
        return qemu.failure(name, "docs/RPI4.md lacks its rpi4-bundle or rpi4-qemu doc-example")
    pi_build = pi_build_dir(build)
    err = make_pi(pi_build)
    if err:
        return qemu.failure(name, err)
    err = linux_missing()
    if err:
        return qemu.failure(name, err)
    bundle, boot = (rpi4_doc_script(b, pi_build) for b in blocks)
    with tempfile.TemporaryDirectory(prefix="bulkhead-rpi4-doc-") as work:
        p = subprocess.run(["bash", "-e", "-c", bundle], cwd=work, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=BUILD_LIMIT)
        if p.returncode:
            return qemu.failure(name, "the rpi4-bundle block failed: "
                                + (p.stdout + p.stderr).strip()[-400:])
        s = test_console.Session(["bash", "-e", "-c", f"cd {work}\n{boot}"])
        at = s.step(r"^Bulkhead hypervisor \(raspi4b\) at 0x200000\b")
        at = s.step(r"^bulkhead: bundle at 0x", after=at)
        at = s.step(r"^\[demo\] demo says goodbye, powering off$", after=at)
        at = s.step(r"^\[linux\] / # ", after=at, why="no shell prompt from the linux VM")
        at = s.step(r"^\[linux\] doc-42$", keys=b"echo doc-$((6*7))\r", after=at)
        s.step(PI_POWER_OFF, keys=b"poweroff -f\r", after=at)
        return s.verdict(name, lambda r: qemu.expect_all(r.text, [
            r"^bulkhead: linux: 2 vCPU, 512 MiB RAM", r"^bulkhead: demo: powered off",
            r"^bulkhead: linux: powered off",
            r"^\[linux\] .*ttyAMA0 at MMIO 0xfe201000 .* is a PL011 rev"]),
            lambda r: qemu.expect_none(r.text, [qemu.stopped(("linux", "demo"))]),
            qemu.expect_exit)


SDCARD_FILES = ("start4.elf", "fixup4.dat", "bcm2711-rpi-4-b.dtb", "bulkhead.img", "bundle.cpio",
                "config.txt", "cmdline.txt")


def test_sdcard(build):
    """scripts/mksdcard.sh (make sdcard) with stand-ins for Debian's firmware files: the card's
    MBR has one FAT32 partition at 4 MiB holding the firmware, Debian's DTB, the hypervisor padded
    to its footprint, the bundle and docs/RPI4.md's config.txt."""
    name = "raspi4b/sdcard"
    pi_build = pi_build_dir(build)
    err = make_pi(pi_build) or qemu.missing(qemu.LINUX_INITRD, how="make linux-initrd")
    if err:
        return qemu.failure(name, err)
    if not qemu.which("mcopy"):
        return qemu.failure(name, "mtools not found (scripts/install-deps.sh installs it)")
    image = qemu.image_path(pi_build)
    with tempfile.TemporaryDirectory(prefix="bulkhead-sdcard-") as work:
        fw = stand_in_firmware(work)
        card = os.path.join(work, "sd.img")
        p = subprocess.run(["bash", os.path.join(ROOT, "scripts", "mksdcard.sh"), "--image", image,
                            "--bundle", qemu.LINUX_INITRD, "--out", card, "--firmware", fw],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        if p.returncode:
            return qemu.failure(name, "mksdcard.sh failed: " + (p.stdout + p.stderr).strip()[-400:])
        with open(card, "rb") as f:
            mbr = f.read(512)
        status, ptype, first, sectors = (mbr[446], mbr[450],
                                         int.from_bytes(mbr[454:458], "little"),
                                         int.from_bytes(mbr[458:462], "little"))
        if mbr[510:] != b"\x55\xaa" or ptype != 0x0C or first != 8192 or status != 0:
            return qemu.failure(name, f"MBR: signature {mbr[510:].hex()}, type {ptype:#x}, first "
                                      f"sector {first}: expected 55aa, 0xc, 8192")
        if (first + sectors) * 512 != os.path.getsize(card):
            return qemu.failure(name, f"the partition ends at {(first + sectors) * 512}, the card "
                                      f"at {os.path.getsize(card)}")
        fat = card + "@@4M"
        got = {}
        for f in SDCARD_FILES:
            dest = os.path.join(work, "out-" + f)
            c = subprocess.run(["mcopy", "-n", "-i", fat, "::" + f, dest], capture_output=True,
                               text=True)
            if c.returncode:
                return qemu.failure(name, f"{f} not on the card's FAT: {c.stderr.strip()[-200:]}")
            with open(dest, "rb") as out:
                got[f] = out.read()
    with open(image, "rb") as f:
        hyp = f.read()
    footprint = int.from_bytes(hyp[16:24], "little")
    with open(qemu.LINUX_INITRD, "rb") as f:
        bundle = f.read()
    config = got["config.txt"].decode()
    reasons = [
        None if got["start4.elf"] == b"stand-in for start4.elf\n"
        else "start4.elf is not the given one",
        None if got["bulkhead.img"][:len(hyp)] == hyp and len(got["bulkhead.img"]) == footprint
        else f"bulkhead.img is {len(got['bulkhead.img'])} bytes, not the image padded to its "
             f"footprint ({footprint})",
        None if got["bundle.cpio"] == bundle else "bundle.cpio differs",
        *[None if re.search(r"^" + re.escape(line) + "$", config, re.MULTILINE)
          else f"config.txt lacks {line!r}" for line in
          ("arm_64bit=1", "kernel=bulkhead.img", "initramfs bundle.cpio followkernel",
           "enable_gic=1", "enable_uart=1")],
        None if got["cmdline.txt"] == b"" else "cmdline.txt is not empty",
    ]
    for r in reasons:
        if r:
            return qemu.failure(name, r)
    return qemu.Result(name, True)


UBOOT = os.path.join(qemu.DEPS_DIR, "arm64", "root", "usr", "lib", "u-boot", "rpi_arm64",
                     "u-boot.bin")
UBOOT_TIME_LIMIT = 90  # U-Boot reads the 3.5 MiB hypervisor from the emulated card in about 10 s


def stand_in_firmware(work):
    """A directory with stand-ins for start4.elf and fixup4.dat, which QEMU does not run."""
    fw = os.path.join(work, "fw")
    os.makedirs(fw)
    for f in ("start4.elf", "fixup4.dat"):
        with open(os.path.join(fw, f), "w") as out:
            out.write(f"stand-in for {f}\n")
    return fw


def test_rpi4_uboot(build):
    """docs/RPI4.md's U-Boot route as written: its config.txt and boot.txt (mkimage), a card made
    by scripts/mksdcard.sh with u-boot.bin, boot.scr and the demo guest added; Debian's rpi_arm64
    U-Boot (started by QEMU, not by the Pi's firmware) runs boot.scr, which loads the hypervisor
    and the guest and adds its VM node with fdt commands; the demo VM runs and powers off."""
    name = "raspi4b/rpi4_uboot"
    blocks = [test_doc_examples.doc_block("RPI4.md", b)
              for b in ("rpi4-uboot-config", "rpi4-uboot")]
    if None in blocks:
        return qemu.failure(name, "docs/RPI4.md lacks its rpi4-uboot-config or rpi4-uboot block")
    pi_build = pi_build_dir(build)
    err = make_pi(pi_build)
    if err:
        return qemu.failure(name, err)
    image, demo = qemu.image_path(pi_build), qemu.guest_path(pi_build, "demo")
    err = qemu.missing(image, demo) or qemu.missing(UBOOT, how="scripts/install-deps.sh")
    for tool, pkg in (("mkimage", "u-boot-tools"), ("mcopy", "mtools")):
        if not err and not qemu.which(tool):
            err = f"{tool} not found ({pkg}: scripts/install-deps.sh installs it)"
    if err:
        return qemu.failure(name, err)
    with tempfile.TemporaryDirectory(prefix="bulkhead-uboot-") as work:
        paths = {n: os.path.join(work, n) for n in ("config.txt", "boot.txt", "boot.scr", "sd.img")}
        for n, text in zip(("config.txt", "boot.txt"), blocks):
            with open(paths[n], "w") as f:
                f.write(text)
        steps = [["mkimage", "-A", "arm64", "-T", "script", "-C", "none", "-d", paths["boot.txt"],
                  paths["boot.scr"]],
                 ["bash", os.path.join(ROOT, "scripts", "mksdcard.sh"), "--image", image,
                  "--bundle", demo, "--out", paths["sd.img"], "--firmware",
                  stand_in_firmware(work), "--config", paths["config.txt"], "--add", UBOOT,
                  "--add", paths["boot.scr"], "--add", demo]]
        for step in steps:
            p = subprocess.run(step, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=120)
            if p.returncode:
                return qemu.failure(name, f"{' '.join(step[:2])} failed: "
                                          f"{(p.stdout + p.stderr).strip()[-300:]}")
        # QEMU wants an SD card of a power of two bytes.
        size = os.path.getsize(paths["sd.img"])
        os.truncate(paths["sd.img"], 1 << (size - 1).bit_length())
        dtb, err = qemu.make_pi_dtb(work, "", name="uboot")
        if err:
            return qemu.failure(name, err)
        cmd = [qemu.QEMU, "-M", qemu.PI_MACHINE, "-nographic", "-serial", "mon:stdio", "-kernel",
               UBOOT, "-dtb", dtb, "-drive", f"if=sd,file={paths['sd.img']},format=raw"]
        run_, halted = run_until(name, cmd, UBOOT_TIME_LIMIT, HALTED)
    t = run_.text
    reasons = [
        qemu.expect_ordered(t, [
            r"^U-Boot 20\d\d\.", r"^## Executing script at ",
            r"^Bulkhead hypervisor \(raspi4b\) at 0x200000\b",
            r"^bulkhead: demo: 1 vCPU, 64 MiB RAM .* from /chosen/demo",
            qemu.prefixed("demo",
                          qemu.esc("Hello from demo, a Bulkhead demo guest running at EL1!")),
            qemu.prefixed("demo", qemu.esc('demo: bootargs "name=demo"')),
            qemu.prefixed("demo", qemu.esc("demo says goodbye, powering off")),
            r"^bulkhead: demo: powered off"]),
        qemu.expect_none(t, [r"^bulkhead: .*(error|refused|overlaps)"]),
        *powered_off(t, run_, halted),
    ]
    return qemu.verdict(name, run_, *reasons)


def test_rpi4_passthrough(build):
    """docs/RPI4.md's passthrough example as written: the demo guest's VM, from a bundle, owns the
    Pi's GPIO block; the hypervisor accepts it, the VM runs and powers off."""
    name = "raspi4b/rpi4_passthrough"
    desc = test_doc_examples.doc_block("RPI4.md", "rpi4-passthrough")
    if desc is None:
        return qemu.failure(name, "docs/RPI4.md lacks its rpi4-passthrough doc-example")
    image, demo, err = pi_image_and_guest(build, "demo")
    if err:
        return qemu.failure(name, err)
    with tempfile.TemporaryDirectory(prefix="bulkhead-pi-pt-") as work:
        shutil.copy(demo, os.path.join(work, "demo.bin"))
        with open(os.path.join(work, "vms.dts"), "w") as f:
            f.write(desc)
        bundle = os.path.join(work, "bundle.cpio")
        p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mkbundle.py"),
                            os.path.join(work, "vms.dts"), "-o", bundle],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        if p.returncode:
            return qemu.failure(name, "mkbundle.py failed: " + (p.stdout + p.stderr).strip()[-300:])
        dtb, err = qemu.make_pi_dtb(work, "", name="pt")
        if err:
            return qemu.failure(name, err)
        run_, halted = run_until(name, qemu.pi_command(image, dtb, extra=["-initrd", bundle]),
                                 TIME_LIMIT, HALTED)
    t = run_.text
    reasons = [
        qemu.expect_ordered(t, [
            r"^bulkhead: demo: /soc/gpio@7e200000: pinctrl-names left out of the VM's device tree",
            r"^bulkhead: demo: 1 vCPU, 64 MiB RAM",
            r"^bulkhead: demo: started",
            qemu.prefixed("demo", qemu.esc("demo says goodbye, powering off")),
            r"^bulkhead: demo: powered off"]),
        qemu.expect_none(t, [r"^bulkhead: .*(refused|overlaps|not found|VM not started)",
                             r"^error: "]),
        *powered_off(t, run_, halted),
    ]
    return qemu.verdict(name, run_, *reasons)


def powered_off(t, run_, halted):
    """The reasons the hypervisor did not power QEMU's raspi4b off through the PM watchdog."""
    if halted:
        return ["the hypervisor halted: the BCM2835 watchdog did not power QEMU's raspi4b off "
                "(the test ended QEMU)"]
    return [qemu.expect_all(t, [PI_POWER_OFF]), qemu.expect_exit(run_)]


def cases(build):
    """raspi4b's cases, run with the qemu-virt build's test run (their build is beside it)."""
    if not qemu.is_qemu_virt(build):
        return []
    return [("raspi4b/run_bare", lambda: test_run_bare(build)),
            ("raspi4b/linux", lambda: test_linux(build)),
            ("raspi4b/machine_reset", lambda: test_machine_reset(build)),
            ("raspi4b/monitor_reset", lambda: test_monitor_reset(build)),
            ("raspi4b/mini_uart_console", lambda: test_mini_uart_console(build)),
            ("raspi4b/rpi4_doc", lambda: test_rpi4_doc(build)),
            ("raspi4b/sdcard", lambda: test_sdcard(build)),
            ("raspi4b/rpi4_uboot", lambda: test_rpi4_uboot(build)),
            ("raspi4b/rpi4_passthrough", lambda: test_rpi4_passthrough(build))]


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
