#!/usr/bin/env python3
"""Console tests: the keyboard as `make run` uses it, on make run's own QEMU command (Debian's
Linux with a shell in vm0 beside the bare-metal demo guest in vm1), its console on a pipe: the
test waits for the shell, types a command a character at a time, as a person would, and reads
the answer; Ctrl-T 1 and Ctrl-T 0 move the keyboard between the VMs; `poweroff -f` ends Linux and, the demo having powered off
by itself, the machine. What is typed reaches the guest through the physical UART's interrupt,
the console multiplexer, the VM's emulated PL011 and its SPI."""

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

TIME_LIMIT = 240
STEP_LIMIT = 90  # for one expected answer: a Linux boot on two busy cores included
KEY_DELAY = 0.02  # between typed characters: a person, not a paste
CTRL_T = b"\x14"


class Ctx(qemu.Build):
    def __init__(self, build):
        super().__init__(build)
        self.demo = qemu.guest_path(build, "demo")


class Session:
    """A QEMU whose console the test reads while it runs and types into, in steps (step()); the
    first step that fails records its reason in `reasons`, and the steps after it do nothing."""

    def __init__(self, cmd):
        self.cmd = cmd
        self.start = time.monotonic()
        self.reasons = []
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.deadline = time.monotonic() + TIME_LIMIT
        self._buf = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for chunk in iter(lambda: self.proc.stdout.read1(4096), b""):
            with self._lock:
                self._buf += chunk

    def text(self):
        with self._lock:
            return self._buf.decode("utf-8", "replace").replace("\r", "")

    def wait_for(self, pattern, after=0):
        """Waits until pattern appears past offset `after` of the text; returns the match's end,
        or None after STEP_LIMIT seconds or when QEMU has exited without printing it."""
        step_deadline = min(self.deadline, time.monotonic() + STEP_LIMIT)
        while time.monotonic() < step_deadline:
            m = re.compile(pattern, re.MULTILINE).search(self.text(), after)
            if m:
                return m.end()
            if self.proc.poll() is not None:
                time.sleep(0.2)  # the reader may still hold QEMU's last lines
                m = re.compile(pattern, re.MULTILINE).search(self.text(), after)
                return m.end() if m else None
            time.sleep(0.05)
        return None

    def type(self, keys):
        for i in range(len(keys)):
            self.proc.stdin.write(keys[i:i + 1])
            self.proc.stdin.flush()
            time.sleep(KEY_DELAY)

    def step(self, pattern, keys=b"", after=0, why=""):
        """Types `keys` (if any), then waits for pattern past offset `after`; returns the match's
        end. If it does not come, records `why` (or the pattern) in self.reasons and returns
        `after`; once a step has failed, returns `after` at once, typing nothing."""
        if self.reasons:
            return after
        if keys:
            self.type(keys)
        end = self.wait_for(pattern, after)
        if end is None:
            self.reasons.append(why or f"no {pattern!r}")
            return after
        return end

    def verdict(self, name, *checks):
        """Ends the session (finish()) and judges it: by the failed step's reason, or, when every
        step passed, by the checks, functions of the qemu.Run that return a reason or None."""
        text, timed_out = self.finish(name, bool(self.reasons))
        run_ = qemu.Run(name, self.cmd, text, None if timed_out else self.proc.returncode,
                        timed_out, time.monotonic() - self.start, qemu.log_path(name))
        reasons = self.reasons or [check(run_) for check in checks]
        return qemu.verdict(name, run_, *reasons)

    def finish(self, name, failed):
        """Waits for QEMU to exit (ends it at once after a failed step); saves the console like
        qemu.run() does."""
        timed_out = False
        try:
            self.proc.wait(1 if failed else max(1, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
            qemu.stop(self.proc)
        self._reader.join(5)
        text = self.text()
        path = qemu.log_path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return text, timed_out


def demo_test(ctx, gic, name, session):
    """Runs session(name, cmd) on make run's own command (run_demo.py) for this GIC."""
    missing = ctx.missing(ctx.demo, qemu.LINUX_KERNEL, qemu.LINUX_INITRD)
    if missing:
        return qemu.failure(name, missing)
    with tempfile.TemporaryDirectory(prefix="bulkhead-demo-") as work:
        cmd, err = run_demo.linux_demo_command(ctx.image, ctx.demo, qemu.machine(gic), work)
        if err:
            return qemu.failure(name, err)
        return session(name, cmd)


def test_keyboard(ctx, gic):
    return demo_test(ctx, gic, f"v{gic}/console_keyboard", keyboard_session)


def keyboard_session(name, cmd):
    s = Session(cmd)
    step = s.step
    pos = step(r"^\[vm0\] LINUX shell:", why="the shell never started")
    pos = step(r"^\[vm1\] beta: publishing a counter in shared memory at 0x70000008", after=0,
               why="the demo guest (vm1) did not publish its counter")
    # Someone types: the focused VM's output now comes as typed (the shell's prompt included).
    pos = step(r"typed-42", b"echo typed-$((6*7))\r", pos,
               "a command typed on the console was not run by vm0's shell")
    pos = step(r"keyboard input now goes to vm1", CTRL_T + b"1", pos,
               "Ctrl-T 1 did not give the keyboard to vm1")
    pos = step(r"keyboard input now goes to vm0", CTRL_T + b"0", pos,
               "Ctrl-T 0 did not give the keyboard back to vm0")
    pos = step(r"back-7", b"echo back-$((3+4))\r", pos,
               "vm0's shell did not get the keyboard back")
    # Line editing: what a backspace (the DEL key) erased is not run.
    pos = step(r"edited-9", b"echo wrong\x7f\x7f\x7f\x7f\x7fedited-$((4+5))\r", pos,
               "a line edited with backspace was not run as shown")
    # The shared-memory channel as the banner says: vm0 reads beta's counter (not zero).
    pos = step(r"^\[vm0\] 0x0*[1-9a-fA-F][0-9a-fA-F]*$", b"devmem 0x70000008 64\r", pos,
               "vm0 did not read beta's counter through devmem 0x70000008 64")
    # vm0 leaves: beta sees it on the channel and follows; the machine powers off.
    step(r"no VM running, powering off", b"poweroff -f\r", pos,
         "'poweroff -f' did not end the machine")
    # The shell's terminal escapes (a cursor-position query at every prompt) and its backspaces
    # are not shown as text.
    return s.verdict(name, lambda r: qemu.expect_none(r.text, [r"PANIC", r"stopped:", r"\^\[",
                                                               r"\^H"]))


PASTE = (b"echo 0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-$((6*7))"
         b"; sleep 1; echo done-after-$((2*3))\r")


def test_paste(ctx, gic):
    """make run's demo, as a new user meets it: the shell's prompt shows without a key pressed
    (the VM waits after printing it), and a command pasted at full speed, longer than the
    emulated UART's 32-byte FIFO, arrives whole (the console holds it back, never drops it)."""
    return demo_test(ctx, gic, f"v{gic}/console_paste", paste_session)


def paste_session(name, cmd):
    s = Session(cmd)
    pos = s.step(r"^\[vm0\] / # ", why="the shell's prompt did not show before anyone typed")
    if not s.reasons:
        s.proc.stdin.write(PASTE)
        s.proc.stdin.flush()
        pos = s.step(r"Z-42$", after=pos, why="the pasted command was not run whole")
        s.step(r"done-after-6", after=pos, why="the pasted command's second half was lost")
        s.type(b"poweroff -f\r")
        s.step(r"no VM running, powering off", why="'poweroff -f' did not end the machine")
    return s.verdict(name)


def cases(build):
    ctx = Ctx(build)
    out = [(f"v{gic}/console_keyboard", lambda g=gic: test_keyboard(ctx, g)) for gic in (3, 2)]
    return out + [(f"v{gic}/console_paste", lambda g=gic: test_paste(ctx, g)) for gic in (3, 2)]


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
