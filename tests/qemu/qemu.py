"""Runs QEMU for Bulkhead's boot tests and checks what its console printed. Standard library only.

A test builds a command line with `command()`, runs it with `run()` (time limit, console saved to
build/test-logs/<test>.log) and checks the text with the `expect_*` helpers, each of which returns
None when satisfied or a one-line reason. `Result` carries a test's verdict and, on failure, the
last console lines. Also shared by the test modules, the benchmarks and the tools beside them:
where a build and the Linux guest's files are (`Build`, `missing()`, LINUX_KERNEL), the board for
a GIC version (`machine()`), console line patterns (`prefixed()`, `ends_cleanly()`), the --build
command line (`arg_parser()`) and QEMU started in its own session (`start()`, `Console`).
"""

import argparse
import glob
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

QEMU = os.environ.get("QEMU", "qemu-system-aarch64")
LOG_DIR = os.path.join("build", "test-logs")
TAIL_LINES = 20

# The machine the hypervisor boots on, as the brief's command line gives it.
MACHINE_V2 = "virt,virtualization=on,gic-version=2"
MACHINE_V3 = "virt,virtualization=on,gic-version=3"
CPU = "cortex-a72"

# Where QEMU's guest-loader puts each guest module (clear of where QEMU puts its DTB).
MODULE_ADDRS = (0x44000000, 0x46000000, 0x48000000, 0x4A000000)

DEFAULT_BUILD = "build/qemu-virt"
# Debian's arm64 kernel and busybox, unpacked by scripts/install-deps.sh, and the Linux guests'
# initramfs (`make linux-initrd`, tests/linux/mkinitramfs.py).
DEPS_DIR = os.environ.get("BULKHEAD_DEPS", "/var/cache/bulkhead")
LINUX_KERNEL = os.path.join(DEPS_DIR, "arm64", "vmlinuz")
LINUX_INITRD = os.path.join("build", "linux", "initrd.cpio")
# Where a Linux VM's kernel and initramfs go, for vm0 and vm1: clear of the hypervisor, of QEMU's
# DTB (RAM + 128 MiB) and of each other (the kernel is about 33 MB).
LINUX_ADDRS = ((0x50000000, 0x58000000), (0x60000000, 0x68000000))


def machine(gic, hyp=True):
    """QEMU's -M for GIC version gic: with EL2 for the hypervisor, else the bare board."""
    if hyp:
        return MACHINE_V2 if gic == 2 else MACHINE_V3
    return f"virt,gic-version={gic}"


# ---- a build's files ----

def image_path(build):
    """The hypervisor image of a build directory."""
    return os.path.join(build, "bulkhead.img")


def guest_path(build, guest):
    """A bare-metal guest of tests/guest in a build directory: "testguest", "bench", ..."""
    return os.path.join(build, "guests", guest + ".bin")


def is_qemu_virt(build):
    """The build directory is QEMU virt's (build/qemu-virt): QEMU runs no other platform's."""
    return os.path.basename(os.path.normpath(build)) == "qemu-virt"


def missing(*paths, how="run make all guests"):
    """None when every path is a file, else the reason for the first that is not."""
    for p in paths:
        if not os.path.isfile(p):
            return f"{p} not found ({how})"
    return None


class Build:
    """Paths of one build: the hypervisor image (a test module's context adds its guests)."""

    def __init__(self, build):
        self.build = build
        self.image = image_path(build)

    def missing(self, *paths):
        return missing(*paths)


@dataclass
class Module:
    """One guest: a `-device guest-loader` with its kernel (and optional initrd)."""

    kernel: str
    bootargs: str = ""
    addr: int = 0  # 0: the next of MODULE_ADDRS
    initrd: str = ""
    initrd_addr: int = 0


@dataclass
class Run:
    """What one QEMU run left: the console text and how it ended."""

    name: str
    cmd: list
    text: str
    returncode: int
    timed_out: bool
    seconds: float
    log: str

    def tail(self, n=TAIL_LINES):
        return self.text.splitlines()[-n:]


@dataclass
class Result:
    """One test's verdict. `reason` is set when it failed; `tail` is the console's end then."""

    name: str
    ok: bool
    reason: str = ""
    tail: list = field(default_factory=list)
    seconds: float = 0.0
    log: str = ""

    def line(self):
        return f"PASS: {self.name}" if self.ok else f"FAIL: {self.name}: {self.reason}"

    def report(self):
        """The result line, and on failure the console tail and where the full log is."""
        out = [self.line()]
        if not self.ok and (self.tail or self.log):
            if self.log:
                out.append(f"    log: {self.log}")
            if self.tail:
                out.append(f"    last {len(self.tail)} console lines:")
                out.extend(quoted(self.tail))
        return "\n".join(out)

    def summary(self):
        """report(), with the time the test took after a pass: what a runner prints."""
        return self.report() + (f"  ({self.seconds:.1f} s)" if self.ok and self.seconds else "")


def quoted(lines):
    """Console (or other program output) lines as a report shows them, indented behind "| "."""
    return ["    | " + l for l in lines]


def _opt(value):
    """Escapes a value for QEMU's option syntax, where a literal comma is written ',,'."""
    return str(value).replace(",", ",,")


# Linux warnings that say only that the host was busy (QEMU's vCPU threads lost their host CPU for
# a while) or that the guest stood still (a debugger held it); bare QEMU prints them too under
# load. Never counted as the hypervisor's.
HOST_LOAD_WARNINGS = (r"hrtimer: interrupt took \d+ ns",)


def host_load_warning(line):
    return any(re.search(p, line) for p in HOST_LOAD_WARNINGS)


def linux_dmesg_warnings(text, vm):
    """The dmesg warning lines a Linux guest's checks (tests/linux/init) printed for vm, host-load
    warnings aside."""
    lines = re.findall(r"^\[" + esc(vm) + r"\] LINUX dmesg: (.*)$", text, re.MULTILINE)
    return [l for l in lines if not host_load_warning(l)]


def linux_module(vm, bootargs):
    """Debian's kernel with the test initramfs as the guest of VM number vm (0 or 1)."""
    kaddr, iaddr = LINUX_ADDRS[vm]
    return Module(LINUX_KERNEL, bootargs, addr=kaddr, initrd=LINUX_INITRD, initrd_addr=iaddr)


def module_args(modules):
    """The -device guest-loader arguments for modules, in order (vm0 first)."""
    args = []
    for i, m in enumerate(modules):
        addr = m.addr or MODULE_ADDRS[i]
        dev = f"guest-loader,addr={addr:#x},kernel={_opt(m.kernel)}"
        if m.bootargs:
            dev += f",bootargs={_opt(m.bootargs)}"
        args += ["-device", dev]
        if m.initrd:
            iaddr = m.initrd_addr or addr + 0x1000000
            args += ["-device", f"guest-loader,addr={iaddr:#x},initrd={_opt(m.initrd)}"]
    return args


def command(kernel, modules=(), machine=MACHINE_V3, cpu=CPU, smp=2, mem="1G", dtb=None,
            append=None, extra=()):
    """A QEMU command line: the board, `kernel` (the hypervisor image, or a bare guest), the guest
    modules, and optionally a DTB to use instead of QEMU's. The console is on stdio."""
    cmd = [QEMU, "-M", machine, "-cpu", cpu]
    if smp:
        cmd += ["-smp", str(smp)]
    if mem:
        cmd += ["-m", str(mem)]
    # No NIC: QEMU's default virtio-net wants a option ROM that a minimal install lacks.
    cmd += ["-nographic", "-nic", "none", "-kernel", kernel]
    if append is not None:
        cmd += ["-append", append]
    if dtb:
        cmd += ["-dtb", dtb]
    cmd += module_args(modules)
    cmd += list(extra)
    return cmd


# ---- a DTB of QEMU's with VM nodes added ----

def make_dtb_with(ctx, modules, machine, workdir, chosen_nodes, smp=2, extra=(), mem="1G",
                  root_nodes="", need_modules=True):
    """Dumps the DTB QEMU would pass (guest-loader nodes included) with `ctx.image` as the kernel,
    these modules, -smp, -m and extra arguments (give the real run's devices: they change the
    tree), and adds chosen_nodes (DTS text) to /chosen and root_nodes to /. With need_modules,
    the dumped tree must have guest-loader modules. Returns (path, None) or (None, reason)."""
    dumped = os.path.join(workdir, "host.dtb")
    cmd = command(ctx.image, modules, machine=machine, smp=smp, mem=mem,
                  extra=["-machine", "dumpdtb=" + dumped, *extra])
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=60)
    except subprocess.TimeoutExpired:
        return None, "dumpdtb: QEMU did not exit"
    if not os.path.isfile(dumped):
        return None, f"dumpdtb failed: {(p.stdout + p.stderr).strip()[-300:]}"
    dts, err = decompile_dtb(dumped)
    if err:
        return None, err
    if need_modules and "module@" not in dts:
        return None, "dumped DTB has no /chosen with guest-loader modules"
    span, err = chosen_span(dts)
    if err:
        return None, err
    dts = dts[:span[1]] + chosen_nodes.lstrip("\n") + dts[span[1]:]
    if root_nodes:
        end = dts.rfind("};")
        if end < 0:
            return None, "cannot find the end of / in the decompiled DTB"
        dts = dts[:end] + root_nodes.lstrip("\n") + dts[end:]
    return compile_dts(dts, workdir, "bad")


def decompile_dtb(path):
    """A DTB as DTS text: (text, None) or (None, reason)."""
    if not which("dtc"):
        return None, "dtc not found"
    p = subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts", path], capture_output=True,
                       text=True)
    if p.returncode:
        return None, f"dtc -I dtb {path} failed: {p.stderr.strip()[-300:]}"
    return p.stdout, None


def chosen_span(dts):
    """Where /chosen's contents lie in decompiled DTS text: ((start, end), None), end being its
    closing brace (the one at the node's own indent), or (None, reason)."""
    m = re.search(r"^([ \t]*)chosen \{\n", dts, re.MULTILINE)
    if not m:
        return None, "the DTB has no /chosen"
    close = re.compile(r"^" + m.group(1) + r"\};\n", re.MULTILINE).search(dts, m.end())
    if not close:
        return None, "cannot find the end of /chosen in the decompiled DTB"
    return (m.end(), close.start()), None


def compile_dts(dts, workdir, name):
    """Compiles DTS text into workdir/<name>.dtb (its source kept beside it): (path, None) or
    (None, reason)."""
    src = os.path.join(workdir, name + ".dts")
    out = os.path.join(workdir, name + ".dtb")
    with open(src, "w", encoding="utf-8") as f:
        f.write(dts)
    p = subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", out, src],
                       capture_output=True, text=True)
    if p.returncode:
        return None, f"dtc -I dts {src} failed: {p.stderr.strip()[-300:]}"
    return out, None


def module_node(addr, path, kind="kernel", bootargs=None):
    """A multiboot module of the file at path, placed at addr, under a VM node whose cells are 2
    and 2 (the default)."""
    out = (f"module@{addr:x} {{ compatible = \"multiboot,{kind}\", \"multiboot,module\"; "
           f"reg = <0x0 {addr:#x} 0x0 {os.path.getsize(path):#x}>;")
    return out + (f" bootargs = \"{bootargs}\"; }};\n" if bootargs else " };\n")


def log_path(name):
    return os.path.join(LOG_DIR, name + ".log")


def start(cmd, time_limit=None, text=False):
    """Starts cmd in a session of its own with stdin closed and stdout and stderr on one pipe;
    with time_limit, under timeout(1), which kills it after that many seconds (stop() ends
    both)."""
    if time_limit is not None:
        cmd = ["timeout", str(time_limit)] + list(cmd)
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=text, start_new_session=True)


def stop(proc):
    """Kills the session start() made (timeout and its QEMU) and reaps it."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class Console:
    """Reads all that a started (binary) process prints, in a thread, so that its pipe never
    fills while the caller waits for the process."""

    def __init__(self, proc):
        self._chunks = []
        self._reader = threading.Thread(target=lambda: self._chunks.append(proc.stdout.read()),
                                        daemon=True)
        self._reader.start()

    def text(self, wait=5):
        """What it read, once the process has closed its output (waits up to `wait` seconds)."""
        self._reader.join(wait)
        return b"".join(c for c in self._chunks if c).decode("utf-8", "replace")


def run(name, cmd, timeout):
    """Runs cmd with stdin closed for at most `timeout` seconds (then kills it), saves the console
    to build/test-logs/<name>.log and returns a Run."""
    path = log_path(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    begin = time.monotonic()
    proc = start(cmd)
    console = Console(proc)
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        proc.wait()
    text = console.text().replace("\r\n", "\n").replace("\r", "\n")
    seconds = time.monotonic() - begin
    with open(path, "w", encoding="utf-8") as f:
        f.write("# " + " ".join(_shell_quote(a) for a in cmd) + "\n")
        f.write(f"# exit {proc.returncode}{' (killed at the time limit)' if timed_out else ''},"
                f" {seconds:.1f} s\n")
        f.write(text)
    return Run(name, cmd, text, proc.returncode, timed_out, seconds, path)


def _shell_quote(s):
    return s if re.fullmatch(r"[\w@%+=:,./-]+", s) else "'" + s.replace("'", "'\\''") + "'"


# ---- console line patterns ----

def esc(s):
    return re.escape(s)


def prefixed(prefix, line_re):
    """A guest's console line: "[vm0] L" under the hypervisor (prefix "vm0"), "L" bare."""
    return (r"^\[" + esc(prefix) + r"\] " if prefix else r"^") + line_re


def stopped(vms):
    """The hypervisor's line saying that one of the VMs vms was stopped."""
    return r"^bulkhead: (" + "|".join(map(esc, vms)) + r"): stopped.*"


# ---- checks: each returns None when satisfied, else a one-line reason ----

def _search(pattern, text, pos=0):
    return re.compile(pattern, re.MULTILINE).search(text, pos)


def expect_ordered(text, patterns):
    """Every regex matches, each after the end of the previous one's match."""
    pos = 0
    prev = None
    for p in patterns:
        m = _search(p, text, pos)
        if not m:
            if prev is not None and _search(p, text):
                return f"/{p}/ only appears before /{prev}/"
            return f"missing /{p}/"
        pos = m.end()
        prev = p
    return None


def expect_all(text, patterns):
    """Every regex matches somewhere, in any order."""
    missing = [p for p in patterns if not _search(p, text)]
    return f"missing {', '.join('/' + p + '/' for p in missing)}" if missing else None


def expect_none(text, patterns):
    """No regex matches; the reason quotes the first offending line."""
    for p in patterns:
        m = _search(p, text)
        if m:
            line = text[text.rfind("\n", 0, m.start()) + 1:].split("\n", 1)[0]
            return f"unexpected {line.strip()!r}"
    return None


def count(text, pattern):
    return len(re.compile(pattern, re.MULTILINE).findall(text))


def expect_count(text, pattern, n):
    c = count(text, pattern)
    return None if c == n else f"/{pattern}/ matched {c} times, expected {n}"


def expect_exit(run_, limit_note=""):
    """QEMU ended by itself (not killed at the time limit) with status 0."""
    if run_.timed_out:
        return f"QEMU still running after {run_.seconds:.0f} s, killed{limit_note}"
    if run_.returncode != 0:
        return f"QEMU exited with status {run_.returncode}"
    return None


def ends_cleanly(text, run_, vms, forbid=(), forbid_first=False):
    """Every VM started and powered off, the hypervisor said so and QEMU left by itself: the
    reasons, in this order. With forbid, also no line matching any of those regexes (such as
    stopped(vms)), checked after the powered-off lines, or with forbid_first right after the
    started lines. The order is the test's: a failure names the first reason found."""
    started = expect_all(text, [r"^bulkhead: " + esc(vm) + r": started" for vm in vms])
    off = expect_all(text, [r"^bulkhead: " + esc(vm) + r": powered off" for vm in vms])
    none = expect_none(text, list(forbid)) if forbid else None
    return [started, *((none, off) if forbid_first else (off, none)),
            expect_all(text, [r"^bulkhead: no VM running, powering off"]),
            expect_exit(run_)]


def verdict(name, run_, *reasons):
    """A Result from a run and the checks' outcomes: the first reason that is not None fails it."""
    for r in reasons:
        if r:
            return Result(name, False, r, run_.tail() if run_ else [], run_.seconds if run_ else 0,
                          run_.log if run_ else "")
    return Result(name, True, seconds=run_.seconds if run_ else 0, log=run_.log if run_ else "")


def failure(name, reason):
    return Result(name, False, reason)


def which(tool):
    return shutil.which(tool)


def arg_parser(doc, build=True):
    """The command line of a script: --help prints doc as written; --build DIR (default
    build/qemu-virt) unless build is False."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    if build:
        ap.add_argument("--build", default=DEFAULT_BUILD)
    return ap


def selected(name, only):
    """A test is run: no --only, or its name matches that regex."""
    return not only or re.search(only, name)


def totals(passed, failed):
    """Prints the last line of a run, "N passed, N failed"; returns the exit status: 1 when a
    test failed or none passed."""
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed or not passed else 0


def run_cases_main(cases, doc):
    """The command line of a test module run on its own: --build, --only REGEX; runs its
    cases(build) one after the other and ends with "N passed, N failed". Returns the exit code."""
    ap = arg_parser(doc)
    ap.add_argument("--only", default="", help="regex on the test names")
    args = ap.parse_args()
    passed = failed = 0
    for name, fn in cases(args.build):
        if not selected(name, args.only):
            continue
        r = fn()
        print(r.summary(), flush=True)
        passed += r.ok
        failed += not r.ok
    return totals(passed, failed)


# ---- QEMU raspi4b: Debian's Raspberry Pi 4 DTB with VM nodes added ----

# QEMU's raspi4b: fixed 2 GiB of RAM at 0 and 4 CPUs (no -smp, -m or -cpu), the PL011 (UART0,
# serial0 in the DTB's aliases) on the first -serial. QEMU puts a -dtb at RAM + 128 MiB
# (0x0800_0000) and the hypervisor's image at 0x20_0000 (HYP_LOAD_ADDR); modules go above both.
PI_MACHINE = "raspi4b"
PI_MODULE_ADDRS = (0x10000000, 0x12000000, 0x14000000, 0x16000000)
# Nodes of Debian's DTB that make Linux die in its initcalls on QEMU's raspi4b, which does not
# model the HDMI/DVP block at 0xfef00000 (../shared/QEMU-NOTES.md, issue 13): disabled for Linux.
PI_QEMU_MISSING = ("clock@7ef00000", "interrupt-controller@7ef00100", "hdmi@7ef00700",
                   "hdmi@7ef05700", "i2c@7ef04500", "i2c@7ef09500")


def pi_debian_dtb():
    """Debian's bcm2711-rpi-4-b.dtb, unpacked by scripts/install-deps.sh, or None if absent."""
    found = sorted(glob.glob(os.path.join(DEPS_DIR, "arm64", "root", "usr", "lib", "linux-image-*",
                                          "broadcom", "bcm2711-rpi-4-b.dtb")))
    return found[-1] if found else None


def make_pi_dtb(workdir, chosen_nodes, for_linux=False, name="raspi4b", stdout="serial0"):
    """Debian's Raspberry Pi 4 DTB decompiled, /chosen/stdout-path set to stdout ("serial0", the
    PL011; "serial1" is the mini UART, QEMU's second -serial),
    chosen_nodes (DTS text: the `bulkhead,vm` nodes) added to /chosen and, with for_linux, the
    nodes QEMU does not model disabled (PI_QEMU_MISSING); compiled into workdir/<name>.dtb.
    Returns (path, None) or (None, reason)."""
    src_dtb = pi_debian_dtb()
    if not src_dtb:
        return None, (f"Debian's bcm2711-rpi-4-b.dtb not found under {DEPS_DIR}/arm64/root "
                      "(scripts/install-deps.sh unpacks it)")
    dts, err = decompile_dtb(src_dtb)
    if err:
        return None, err
    span, err = chosen_span(dts)
    if err:
        return None, f"{src_dtb}: {err}"
    start, end = span
    body = re.sub(r"^[ \t]*stdout-path = [^;]*;\n", "", dts[start:end], flags=re.MULTILINE)
    dts = (dts[:start] + f"\t\tstdout-path = \"{stdout}\";\n" + body + chosen_nodes.lstrip("\n")
           + dts[end:])
    if for_linux:
        for node in PI_QEMU_MISSING:
            n = re.search(r"^([ \t]*)" + re.escape(node) + r" \{\n", dts, re.MULTILINE)
            if n:
                # Its own status, if it has one ("okay" in some), replaced: not a second one.
                close = re.compile(r"^" + n.group(1) + r"\};\n", re.MULTILINE).search(dts, n.end())
                body = re.sub(r"^" + n.group(1) + r"\tstatus = [^;]*;\n", "",
                              dts[n.end():close.start()], flags=re.MULTILINE)
                dts = (dts[:n.end()] + n.group(1) + "\tstatus = \"disabled\";\n" + body
                       + dts[close.start():])
    return compile_dts(dts, workdir, name)


def pi_command(image, dtb, loads=(), extra=()):
    """A QEMU raspi4b command line: the hypervisor image, the DTB, files placed raw in RAM
    (loads: (path, address) pairs, `-device loader,force-raw=on`), the PL011 on stdio."""
    cmd = [QEMU, "-M", PI_MACHINE, "-nographic", "-serial", "mon:stdio", "-kernel", image,
           "-dtb", dtb]
    for path, addr in loads:
        cmd += ["-device", f"loader,file={_opt(path)},addr={addr:#x},force-raw=on"]
    return cmd + list(extra)


def pi_bare_demo_command(image, demo, workdir):
    """make PLATFORM=raspi4b run-bare's QEMU command: two VMs, alpha and beta, each the demo guest
    (built for the Pi's map) with 1 vCPU and 64 MiB, in `bulkhead,vm` nodes of Debian's DTB
    written in workdir. Returns (command, None) or (None, why not)."""
    nodes = ""
    loads = []
    for name, addr in (("alpha", PI_MODULE_ADDRS[0]), ("beta", PI_MODULE_ADDRS[1])):
        nodes += (f"{name} {{ compatible = \"bulkhead,vm\"; memory-size = <0x0 0x4000000>; "
                  f"cpus = <1>; #address-cells = <2>; #size-cells = <2>;\n"
                  + module_node(addr, demo, bootargs=f"name={name}") + "};\n")
        loads.append((demo, addr))
    dtb, err = make_pi_dtb(workdir, nodes, name="bare-demo")
    if err:
        return None, err
    return pi_command(image, dtb, loads), None
