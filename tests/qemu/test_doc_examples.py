#!/usr/bin/env python3
"""The documentation's command blocks, run as they are written.

A block in docs/*.md that follows a `<!-- doc-example: NAME -->` line is a shell script a user
copies from the project's root. The test runs it in a scratch directory, the relative paths of
the project (`build/...`) pointing at this build, types into the VM's console what the text
beside the block tells the user to type, and checks what the text says happens:

- "v3/doc_passthrough" (docs/CONFIG.md, "Passing devices through"): Debian's Linux in a VM that
  owns the second PL011 and the PL031: a line echoed into /dev/ttyAMA1 lands in the second
  serial backend's file, the RTC reads the host's clock within seconds, and `poweroff -f` ends
  the run with QEMU leaving by itself.

Run alone: tests/qemu/test_doc_examples.py [--build build/qemu-virt] [--only RE].
"""

import os
import re
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402
import test_console  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLOCK_SLACK = 10  # seconds between the guest's RTC and the host's clock


def doc_block(doc, name):
    """The shell block after `<!-- doc-example: name -->` in docs/doc, or None."""
    with open(os.path.join(ROOT, "docs", doc), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- doc-example: " + re.escape(name) + r" -->\n```sh\n(.*?)```", text,
                  re.DOTALL)
    return m.group(1) if m else None


def localized(script, build):
    """The script with the project's relative build paths made absolute for this build."""
    script = re.sub(r"(?<![/\w])build/qemu-virt/", os.path.abspath(build) + "/", script)
    return re.sub(r"(?<![/\w])build/", os.path.join(ROOT, "build") + "/", script)


def test_passthrough(build):
    name = "v3/doc_passthrough"
    script = doc_block("CONFIG.md", "passthrough")
    if not script:
        return qemu.failure(name, "docs/CONFIG.md has no doc-example: passthrough block")
    missing = (qemu.missing(qemu.image_path(build), how="make all")
               or qemu.missing(qemu.LINUX_KERNEL, how="scripts/install-deps.sh")
               or qemu.missing(qemu.LINUX_INITRD, how="make linux-initrd"))
    if missing:
        return qemu.failure(name, missing)
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        work = os.path.abspath(work)
        cmd = ["bash", "-c", f"cd {work} && " + localized(script, build)]
        s = test_console.Session(cmd)
        failed = None
        if s.wait_for(r"^\[linux\] LINUX shell") is None:
            failed = "the VM's shell did not come up"
        else:
            time.sleep(1)
            s.type(b"echo doc-example-line > /dev/ttyAMA1\n")
            s.type(b"cat /sys/class/rtc/rtc0/since_epoch\n")
            host_now = time.time()
            if s.wait_for(r"^\[linux\] \d{9,}$") is None:
                failed = "the RTC's since_epoch was not printed"
            else:
                s.type(b"poweroff -f\n")
        text, timed_out = s.finish(name, failed is not None)
        uart1_path = os.path.join(work, "uart1.txt")
        uart1 = open(uart1_path, encoding="utf-8", errors="replace").read() \
            if os.path.exists(uart1_path) else ""
    if failed:
        return qemu.Result(name, False, failed, text.splitlines()[-qemu.TAIL_LINES:])
    m = re.search(r"^\[linux\] (\d{9,})$", text, re.MULTILINE)
    reasons = [
        None if "doc-example-line" in uart1 else
        f"the line echoed into /dev/ttyAMA1 is not in uart1.txt ({uart1[-80:]!r})",
        None if m and abs(int(m.group(1)) - host_now) <= CLOCK_SLACK else
        f"the RTC says {m.group(1) if m else '?'}, the host {host_now:.0f}",
        qemu.expect_all(text, [r"^bulkhead: linux: powered off",
                               r"^bulkhead: no VM running, powering off"]),
        "QEMU still running at the time limit" if timed_out else None,
    ]
    for r in reasons:
        if r:
            return qemu.Result(name, False, r, text.splitlines()[-qemu.TAIL_LINES:])
    return qemu.Result(name, True)


def cases(build):
    if not qemu.is_qemu_virt(build):
        return []
    return [("v3/doc_passthrough", lambda: test_passthrough(build))]


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
