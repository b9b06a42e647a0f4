#!/usr/bin/env python3
"""Virtio devices the hypervisor serves itself, with no backend VM (issue 12: the virtio-mmio
transport, virtio-blk, virtio-console; virtio-net has tests/qemu/test_virtio_net.py), on QEMU
virt, GICv2 and GICv3 ("v2/...", "v3/..."). VM nodes with virtio children are added to QEMU's
dumped DTB (test_shmem's helpers); guests, kernels and disk images are loaded with
`-device loader`. Disk images are built at test time with `mke2fs -t ext2 -d DIR IMG SIZE`.

- virtio_linux: Debian's Linux (bulkhead.test=virtio, tests/linux/init) with a read-only disk, a
  writable disk and a console. It mounts the read-only ext2 disk and prints the sha256 of a file
  of known content; writes persist.txt and 1 MiB to the writable disk (read back after dropping
  the page cache); writes a line to hvc0, which must reach the console multiplexer as the VM's
  line, and reads one the test types, which must reach hvc0 (the keyboard follows the console the
  guest writes to); then reboot -f: in its second life the writable disk still holds persist.txt
  from the first, and hvc0 works again.
- virtio_doc_example: docs/CONFIG.md's example ("Virtio devices") as written, but for its
  modules' sizes (set to the files'): the read-only disk's file and hvc0 both ways.
- virtio_bad: the bare-metal guest tests/guest/virtio_bad.c hands its
  virtio-blk device malformed rings, one per device reset: a buffer outside its RAM, a
  descriptor loop, a huge length, an available index far ahead, an indirect table inside an
  indirect table, rings outside its RAM. Each time the hypervisor reports the device (naming the
  VM and device) and puts it into DEVICE_NEEDS_RESET, the guest sees it and resets the device, and
  a good request works after. Debian's Linux beside it reads its own disk, all the while.

Every QEMU run has a time limit; consoles are kept in build/test-logs/.
Alone: make all guests linux-initrd; tests/qemu/test_virtio.py [--build DIR] [--only RE]
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402
import test_console  # noqa: E402
import test_shmem as shm  # noqa: E402

TIME_LIMIT = 300
STEP_LIMIT = 150  # one expected line: a Linux boot on two busy cores included
RO_ADDR, RW_ADDR = 0x60000000, 0x61000000  # the disk images (Linux's kernel and initrd below)
RO_SIZE, RW_SIZE = "4M", "8M"
HELLO = b"Hello from a disk the hypervisor serves, with no backend VM.\n" * 100
TYPED = "typed-into-hvc0"


class Ctx(qemu.Build):
    def __init__(self, build):
        super().__init__(build)
        self.virtio_bad = qemu.guest_path(build, "virtio_bad")

    def missing_linux(self):
        return (qemu.missing(self.image, how="make all")
                or qemu.missing(qemu.LINUX_KERNEL, how="scripts/install-deps.sh")
                or qemu.missing(qemu.LINUX_INITRD, how="make linux-initrd")
                or (None if qemu.which("dtc") else "dtc not found")
                or (None if shutil.which("mke2fs") or os.path.exists("/sbin/mke2fs")
                    else "mke2fs not found (e2fsprogs)"))

    def missing_bare(self):
        return (self.missing_linux()
                or qemu.missing(self.virtio_bad, how="make guests"))


def mke2fs(path, files, size):
    """An ext2 image of size with files ({name: bytes}) at its root. Returns a reason or None."""
    tool = shutil.which("mke2fs") or "/sbin/mke2fs"
    with tempfile.TemporaryDirectory(prefix="bulkhead-disk-") as root:
        for name, data in files.items():
            with open(os.path.join(root, name), "wb") as f:
                f.write(data)
        p = subprocess.run([tool, "-q", "-F", "-t", "ext2", "-d", root, path, size],
                           capture_output=True, text=True)
    return f"mke2fs failed: {p.stderr.strip()[-300:]}" if p.returncode else None


def disk(name, addr, path, read_only):
    out = (f"\t\t\t{name} {{\n\t\t\t\tcompatible = \"bulkhead,virtio-blk\", "
           f"\"multiboot,module\";\n\t\t\t\treg = <0x0 {addr:#x} 0x0 "
           f"{os.path.getsize(path):#x}>;\n")
    return out + ("\t\t\t\tread-only;\n" if read_only else "") + "\t\t\t};\n"


def console():
    return "\t\t\tconsole {\n\t\t\t\tcompatible = \"bulkhead,virtio-console\";\n\t\t\t};\n"


def linux_vm(name, bootargs, children, kernel_addr=shm.KERNEL_ADDR, initrd_addr=shm.INITRD_ADDR,
             pcpus=None):
    return shm.vm(name, [shm.module(kernel_addr, os.path.getsize(qemu.LINUX_KERNEL), bootargs),
                         shm.module(initrd_addr, os.path.getsize(qemu.LINUX_INITRD),
                                    kind="ramdisk")] + children,
                  mem=0x10000000, pcpus=pcpus)


class Session(test_console.Session):
    def __init__(self, cmd):
        super().__init__(cmd)
        self.deadline = self.start + TIME_LIMIT

    def wait_for(self, pattern, after=0):
        saved = test_console.STEP_LIMIT
        test_console.STEP_LIMIT = STEP_LIMIT
        try:
            return super().wait_for(pattern, after)
        finally:
            test_console.STEP_LIMIT = saved


def session_dtb(ctx, gic, work, nodes, smp=2):
    return qemu.make_dtb_with(ctx, [], qemu.machine(gic), work, nodes, smp=smp, mem=shm.MEM,
                              need_modules=False)


def test_linux(ctx, gic):
    name = f"v{gic}/virtio_linux"
    missing = ctx.missing_linux()
    if missing:
        return qemu.failure(name, missing)
    with tempfile.TemporaryDirectory(prefix="bulkhead-virtio-") as work:
        ro, rw = os.path.join(work, "ro.img"), os.path.join(work, "rw.img")
        err = (mke2fs(ro, {"hello.txt": HELLO}, RO_SIZE) or mke2fs(rw, {}, RW_SIZE))
        if err:
            return qemu.failure(name, err)
        args = "console=ttyAMA0 bulkhead.test=virtio bulkhead.virtio-reboot"
        nodes = linux_vm("linux", args, [disk("disk@0", RO_ADDR, ro, True),
                                         disk("disk@1", RW_ADDR, rw, False), console()])
        dtb, err = session_dtb(ctx, gic, work, nodes)
        if err:
            return qemu.failure(name, err)
        files = [(qemu.LINUX_KERNEL, shm.KERNEL_ADDR), (qemu.LINUX_INITRD, shm.INITRD_ADDR),
                 (ro, RO_ADDR), (rw, RW_ADDR)]
        cmd = qemu.command(ctx.image, machine=qemu.machine(gic), smp=2, mem=shm.MEM, dtb=dtb,
                           extra=shm.loaders(*files))
        return linux_session(name, cmd)


def boot_steps(s, boot, at, writable):
    """One life of the virtio mode: its disk checks, then hvc0 both ways."""
    line = qemu.prefixed
    sha = hashlib.sha256(HELLO).hexdigest()
    at = s.step(line("linux", rf"LINUX user space: .* boot-count={boot} "), after=at)
    at = s.step(line("linux", rf"LINUX virtio disk vda file hello.txt sha256={sha}$"), after=at)
    if writable:
        persist = "none" if boot == 0 else "written at boot-count 0"
        at = s.step(line("linux", rf"LINUX virtio disk vdb persist: {persist}$"), after=at)
        at = s.step(line("linux", r"LINUX virtio disk vdb rw: written=(\w+) read=\1$"), after=at)
    at = s.step(line("linux", rf"HVC0 hello from hvc0 \(boot-count {boot}\)$"), after=at)
    at = s.step(line("linux", r"LINUX virtio hvc0 ready$"), after=at)
    return s.step(line("linux", rf"LINUX virtio hvc0 got '{TYPED}{boot}'$"),
                  keys=f"{TYPED}{boot}\r".encode(), after=at)


def linux_session(name, cmd):
    line = qemu.prefixed
    s = Session(cmd)
    at = 0
    for boot in (0, 1):
        at = boot_steps(s, boot, at, True)
    s.step(line("linux", r"LINUX virtio done$"), after=at)
    return s.verdict(name, lambda r: qemu.expect_all(r.text, [
        r"^bulkhead: linux: reset$",
        line("linux", r"LINUX virtio device virtio0: id=0x0002 driver=virtio_blk$"),
        line("linux", r"LINUX virtio device virtio2: id=0x0003 driver=virtio_console$"),
        line("linux", r"LINUX virtio disk vda: sectors=8192 ro=1$"),
        line("linux", r"LINUX virtio disk vdb: sectors=16384 ro=0$")]),
        lambda r: qemu.expect_none(r.text, [r"device needs a reset", line("linux", "FAIL")]))


def with_file_sizes(block, files):
    """The example's reg sizes set to its files' (a `reg = <0x0 ADDR 0x0 SIZE>` each)."""
    for path, addr in files:
        block = re.sub(rf"(reg = <0x0 {addr:#x} 0x0 )0x[0-9a-f]+>",
                       lambda m, p=path: f"{m.group(1)}{os.path.getsize(p):#x}>", block)
    return block


def test_doc_example(ctx, gic):
    """docs/CONFIG.md's virtio example as written, but for its modules' sizes."""
    name = f"v{gic}/virtio_doc_example"
    missing = ctx.missing_linux()
    if missing:
        return qemu.failure(name, missing)
    block = shm.doc_chosen("virtio-blk")
    if not block:
        return qemu.failure(name, "docs/CONFIG.md lacks the virtio-blk doc-example")
    with tempfile.TemporaryDirectory(prefix="bulkhead-virtio-") as work:
        ro = os.path.join(work, "ro.img")
        err = mke2fs(ro, {"hello.txt": HELLO}, RO_SIZE)
        if err:
            return qemu.failure(name, err)
        files = [(qemu.LINUX_KERNEL, 0x50000000), (qemu.LINUX_INITRD, 0x58000000),
                 (ro, 0x60000000)]
        dtb, err = session_dtb(ctx, gic, work, with_file_sizes(block, files))
        if err:
            return qemu.failure(name, err)
        cmd = qemu.command(ctx.image, machine=qemu.machine(gic), smp=2, mem=shm.MEM, dtb=dtb,
                           extra=shm.loaders(*files))
        s = Session(cmd)
        at = boot_steps(s, 0, 0, False)
        s.step(qemu.prefixed("linux", r"LINUX virtio done$"), after=at)
        return s.verdict(name, lambda r: qemu.expect_all(r.text, [
            qemu.prefixed("linux", r"\[ *[\d.]+\] virtio_blk virtio0: \[vda\] 8192 512-byte "
                          r"logical blocks"),
            qemu.prefixed("linux", r"LINUX virtio disk vda: sectors=8192 ro=1$")]))


BAD_CASES = ("outside RAM", "loop", "huge length", "index ahead", "head beyond",
             "nested indirect", "rings outside RAM")
BAD_REPORTS = (r"descriptor 1: buffer 0x[0-9a-f]+\+0x200 outside the VM's RAM",
               r"chain of head 0 loops \(descriptor 0 seen again\)",
               r"descriptor 0: buffer 0x[0-9a-f]+\+0xffffffff outside the VM's RAM",
               r"available index \d+ is 1001 ahead of the device's \d+ \(size 8\)",
               r"available entry \d+: head 200 beyond the queue's 8",
               r"descriptor 0: an indirect table inside an indirect table",
               r"rings outside the VM's RAM \(desc 0x[0-9a-f]+, .*\)")
BAD_ADDR, BAD_DISK_ADDR = shm.ADDR_A, 0x62000000


def test_bad(ctx, gic):
    name = f"v{gic}/virtio_bad"
    missing = ctx.missing_bare()
    if missing:
        return qemu.failure(name, missing)
    with tempfile.TemporaryDirectory(prefix="bulkhead-virtio-") as work:
        ro, raw = os.path.join(work, "ro.img"), os.path.join(work, "raw.img")
        err = mke2fs(ro, {"hello.txt": HELLO}, RO_SIZE)
        if err:
            return qemu.failure(name, err)
        with open(raw, "wb") as f:
            f.write(b"BULKHEAD-DISK".ljust(0x10000, b"\0"))
        linux = linux_vm("linux", "console=ttyAMA0 bulkhead.test=virtio",
                         [disk("disk@0", RO_ADDR, ro, True)])
        bad = shm.vm("bad", [shm.module(BAD_ADDR, os.path.getsize(ctx.virtio_bad)),
                             disk("disk@0", BAD_DISK_ADDR, raw, True)])
        dtb, err = session_dtb(ctx, gic, work, linux + bad)
        if err:
            return qemu.failure(name, err)
        files = [(qemu.LINUX_KERNEL, shm.KERNEL_ADDR), (qemu.LINUX_INITRD, shm.INITRD_ADDR),
                 (ro, RO_ADDR), (ctx.virtio_bad, BAD_ADDR), (raw, BAD_DISK_ADDR)]
        cmd = qemu.command(ctx.image, machine=qemu.machine(gic), smp=2, mem=shm.MEM, dtb=dtb,
                           extra=shm.loaders(*files))
        run_ = qemu.run(name, cmd, TIME_LIMIT)
    t = run_.text
    sha = hashlib.sha256(HELLO).hexdigest()
    checks = ["a good read first"]
    for c in BAD_CASES:
        checks += [f"{c}: device needs a reset", f"{c}: nothing served before the reset",
                   f"{c}: a good read after the reset"]
    reports = [r"^bulkhead: bad: virtio-blk@[0-9a-f]+: queue 0: " + r + ": device needs a reset$"
               for r in BAD_REPORTS]
    reasons = [qemu.expect_ordered(t, reports),
               qemu.expect_all(t, shm.passes("bad", checks) + [
                   shm.clean_done("bad"),
                   qemu.prefixed("linux", rf"LINUX virtio disk vda file hello.txt sha256={sha}$"),
                   qemu.prefixed("linux", r"LINUX virtio done$")])]
    reasons += qemu.ends_cleanly(t, run_, ("linux", "bad"), forbid=shm.no_fail(("bad",)))
    return qemu.verdict(name, run_, *reasons)


def cases(build):
    """[(name, callable returning a Result)]."""
    ctx = Ctx(build)
    out = []
    for gic in (3, 2):
        out += [(f"v{gic}/virtio_linux", lambda g=gic: test_linux(ctx, g)),
                (f"v{gic}/virtio_doc_example", lambda g=gic: test_doc_example(ctx, g)),
                (f"v{gic}/virtio_bad", lambda g=gic: test_bad(ctx, g))]
    return out


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
