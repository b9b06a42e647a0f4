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
- "doc_guest_loader" (docs/CONFIG.md, "Top-level kernel modules") and "doc_own_guest"
  (README.md, "Booting your own guest"): the QEMU command as written, the guest files it names
  being copies of the demo guest (`make guests`; a README line that is just `make` builds this
  build): each kernel is a VM, in command-line order (vm0, vm1), that says hello and powers
  off, and QEMU leaves by itself.
- "doc_vm_nodes" (docs/CONFIG.md, the `bulkhead,vm` and `xen,domain` examples): both appended to
  QEMU virt's own tree (`dumpdtb`), which dtc compiles with no warning of theirs; each kernel
  module is the demo guest, placed with `-device loader` at the module's address; the VMs get
  the names, vCPUs, physical CPUs and memory the examples give, run and power off.

Run alone: tests/qemu/test_doc_examples.py [--build build/qemu-virt] [--only RE].
"""

import os
import re
import shutil
import subprocess
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
    """The code block after `<!-- doc-example: name -->` in doc (a path from the project's root;
    a bare name is under docs/), or None."""
    path = os.path.join(ROOT, doc if "/" in doc or doc == "README.md" else os.path.join("docs", doc))
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- doc-example: " + re.escape(name) + r" -->\n```(?:sh|dts)?\n(.*?)```",
                  text, re.DOTALL)
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


BARE_TIME_LIMIT = 60  # seconds per run of demo guests (one takes about 3)


def run_script(name, script, work, time_limit=BARE_TIME_LIMIT):
    """Runs a shell script in work, its session killed at the time limit; the console goes to
    build/test-logs/<name>.log. Returns (text, timed_out)."""
    proc = qemu.start(["bash", "-c", f"cd {work} && {script}"])
    console = qemu.Console(proc)
    timed_out = False
    try:
        proc.wait(timeout=time_limit)
    except subprocess.TimeoutExpired:
        timed_out = True
        qemu.stop(proc)
    text = console.text().replace("\r", "")
    path = qemu.log_path(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"# {script}\n# exit {proc.returncode}{' (killed)' if timed_out else ''}\n{text}")
    return text, timed_out


def demo_vms_checks(text, timed_out, vms):
    """Each of vms (names) said hello, counted and powered off, and the machine powered off."""
    patterns = []
    for vm in vms:
        patterns += [qemu.prefixed(vm, r"Hello from guest, a Bulkhead demo guest running at EL1!"),
                     qemu.prefixed(vm, r"guest says goodbye, powering off"),
                     r"^bulkhead: " + qemu.esc(vm) + r": powered off"]
    return [qemu.expect_all(text, patterns + [r"^bulkhead: no VM running, powering off"]),
            "QEMU still running at the time limit" if timed_out else None]


def first_failure(name, text, reasons):
    for r in reasons:
        if r:
            return qemu.Result(name, False, r, text.splitlines()[-qemu.TAIL_LINES:])
    return qemu.Result(name, True)


def test_command_block(build, name, doc, block, guest_files):
    """A documented QEMU command line run as written, in a scratch directory holding guest_files
    (copies of the demo guest, or of its binary as a stand-in initrd)."""
    script = doc_block(doc, block)
    if not script:
        return qemu.failure(name, f"{doc} has no doc-example: {block} block")
    demo = qemu.guest_path(build, "demo")
    missing = qemu.missing(qemu.image_path(build), demo)
    if missing:
        return qemu.failure(name, missing)
    script = re.sub(r"(?m)^make$", f"make -s -C {ROOT} BUILD={os.path.abspath(build)} all",
                    localized(script, build))
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        for f in guest_files:
            shutil.copy(demo, os.path.join(work, f))
        text, timed_out = run_script(name, script, os.path.abspath(work))
    return first_failure(name, text, demo_vms_checks(text, timed_out, ("vm0", "vm1")))


# A module node of an example: its unit address and kind.
MODULE_NODE = re.compile(r"@([0-9a-fA-F]+)\s*\{\s*compatible\s*=\s*\"multiboot,(kernel|ramdisk)\"")
NODE_EXAMPLES = (("vm-node", "web", 2, "2, 3", 256), ("xen-domain", "domU1", 2, None, 128))
NODE_MACHINE = qemu.MACHINE_V3
NODE_SMP = 4


def dtc_warnings(dts_path, out_path):
    """dtc's exit status and warnings, without their file positions (the same warning of QEMU's
    tree sits on other lines once the examples are appended)."""
    r = subprocess.run(["dtc", "-I", "dts", "-O", "dtb", "-o", out_path, dts_path],
                       capture_output=True, text=True)
    return r.returncode, [re.sub(r"^\S+:\d+\.\d+-\d+(\.\d+)?: ", "", l)
                          for l in r.stderr.splitlines() if l.strip()]


def test_node_examples(build):
    """docs/CONFIG.md's two VM node examples, together in QEMU virt's tree."""
    name = "doc_vm_nodes"
    blocks = [doc_block("CONFIG.md", b) for b, *_ in NODE_EXAMPLES]
    if not all(blocks):
        return qemu.failure(name, "docs/CONFIG.md lacks the vm-node or xen-domain doc-example")
    demo = qemu.guest_path(build, "demo")
    missing = qemu.missing(qemu.image_path(build), demo) or qemu.missing(qemu.which("dtc") or "dtc")
    if missing:
        return qemu.failure(name, missing)
    base = qemu.command(qemu.image_path(build), machine=NODE_MACHINE, smp=NODE_SMP, mem="1G")
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        board_dtb, board_dts = os.path.join(work, "board.dtb"), os.path.join(work, "board.dts")
        subprocess.run(base + ["-machine", "dumpdtb=" + board_dtb], capture_output=True)
        subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts", "-o", board_dts, board_dtb],
                       capture_output=True)
        rc, board_warnings = dtc_warnings(board_dts, os.path.join(work, "plain.dtb"))
        if rc:
            return qemu.failure(name, "dtc cannot recompile QEMU's own tree")
        vms_dts, vms_dtb = os.path.join(work, "vms.dts"), os.path.join(work, "vms.dtb")
        with open(board_dts) as f, open(vms_dts, "w") as out:
            out.write(f.read() + "".join("\n/ {\n" + b + "};\n" for b in blocks))
        rc, warnings = dtc_warnings(vms_dts, vms_dtb)
        theirs = [w for w in warnings if w not in board_warnings]
        if rc or theirs:
            return qemu.failure(name, "dtc on the examples: " + "; ".join(theirs or warnings))
        loaders = []
        for b in blocks:
            for addr, kind in MODULE_NODE.findall(b):
                file = demo if kind == "kernel" else qemu.image_path(build)  # any bytes will do
                loaders += ["-device", f"loader,file={file},addr=0x{addr},force-raw=on"]
        run_ = qemu.run(name, base + ["-dtb", vms_dtb] + loaders, BARE_TIME_LIMIT)
    t = run_.text
    reasons = demo_vms_checks(t, run_.timed_out, [vm for _, vm, *_ in NODE_EXAMPLES])
    for _, vm, vcpus, pcpus, mib in NODE_EXAMPLES:
        line = qemu.esc(f"bulkhead: {vm}: {vcpus} vCPU") + r".*"
        m = re.search(r"^" + line + r"$", t, re.MULTILINE)
        reasons.append(None if m and f"{mib} MiB RAM" in m.group(0) else
                       f"no banner line for {vm} with {vcpus} vCPUs and {mib} MiB")
        if pcpus:
            reasons.append(None if m and m.group(0).endswith(f"on CPUs {pcpus}") else
                           f"{vm}'s vCPUs are not on physical CPUs {pcpus}")
    return first_failure(name, t, reasons)


def cases(build):
    if not qemu.is_qemu_virt(build):
        return []
    return [("v3/doc_passthrough", lambda: test_passthrough(build)),
            ("doc_guest_loader", lambda: test_command_block(
                build, "doc_guest_loader", "CONFIG.md", "guest-loader",
                ("guest0.bin", "guest0.cpio", "guest1.bin"))),
            ("doc_own_guest", lambda: test_command_block(
                build, "doc_own_guest", "README.md", "own-guest",
                ("my-guest.bin", "other-guest.bin"))),
            ("doc_vm_nodes", lambda: test_node_examples(build))]


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
