"""Runs QEMU for Bulkhead's boot tests and checks what its console printed. Standard library only.

A test builds a command line with `command()`, runs it with `run()` (time limit, console saved to
build/test-logs/<test>.log) and checks the text with the `expect_*` helpers, each of which returns
None when satisfied or a one-line reason. `Result` carries a test's verdict and, on failure, the
last console lines.
"""

import argparse
import os
import re
import shutil
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
                out.extend("    | " + l for l in self.tail)
        return "\n".join(out)


def _opt(value):
    """Escapes a value for QEMU's option syntax, where a literal comma is written ',,'."""
    return str(value).replace(",", ",,")


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


def log_path(name):
    return os.path.join(LOG_DIR, name + ".log")


def run(name, cmd, timeout):
    """Runs cmd with stdin closed for at most `timeout` seconds (then kills it), saves the console
    to build/test-logs/<name>.log and returns a Run."""
    path = log_path(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    chunks = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        proc.wait()
    reader.join(5)
    seconds = time.monotonic() - start
    raw = b"".join(c for c in chunks if c)
    text = raw.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    with open(path, "w", encoding="utf-8") as f:
        f.write("# " + " ".join(_shell_quote(a) for a in cmd) + "\n")
        f.write(f"# exit {proc.returncode}{' (killed at the time limit)' if timed_out else ''},"
                f" {seconds:.1f} s\n")
        f.write(text)
    return Run(name, cmd, text, proc.returncode, timed_out, seconds, path)


def _shell_quote(s):
    return s if re.fullmatch(r"[\w@%+=:,./-]+", s) else "'" + s.replace("'", "'\\''") + "'"


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


def run_cases_main(cases, doc):
    """The command line of a test module run on its own: --build, --only REGEX; runs its
    cases(build) one after the other and ends with "N passed, N failed". Returns the exit code."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build/qemu-virt")
    ap.add_argument("--only", default="", help="regex on the test names")
    args = ap.parse_args()
    passed = failed = 0
    for name, fn in cases(args.build):
        if args.only and not re.search(args.only, name):
            continue
        r = fn()
        print(r.report() + (f"  ({r.seconds:.1f} s)" if r.ok and r.seconds else ""), flush=True)
        passed += r.ok
        failed += not r.ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0
