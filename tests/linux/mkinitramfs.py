#!/usr/bin/env python3
"""Builds the initramfs of the Linux guests (build/linux/initrd.cpio): a static busybox, the test
init (tests/linux/init) and the few directories and device nodes they need, as an uncompressed
newc cpio archive. Standard library only (there may be no `cpio` binary). The archive is the same
byte for byte for the same inputs (fixed inode numbers, owners and times).

Usage: tests/linux/mkinitramfs.py [--busybox PATH] [--init PATH] [-o OUT]
The busybox default is $BULKHEAD_DEPS (else /var/cache/bulkhead)/arm64/root/bin/busybox, as
scripts/install-deps.sh unpacks it. Busybox's applet links are made by the init at boot
(`busybox --install -s`), so nothing here needs to run an arm64 binary.
"""

import os
import stat
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "qemu"))
import qemu  # noqa: E402

DEFAULT_BUSYBOX = os.path.join(qemu.DEPS_DIR, "arm64", "root", "bin", "busybox")
DEFAULT_INIT = os.path.join(HERE, "init")
DEFAULT_OUT = qemu.LINUX_INITRD

DIRS = ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "etc", "root",
        "run", "mnt")
MTIME = 0


class Newc:
    """Writes a newc ("070701") cpio archive into a bytearray."""

    def __init__(self):
        self.data = bytearray()
        self.ino = 1

    def _pad4(self):
        self.data += b"\0" * (-len(self.data) % 4)

    def add(self, name, mode, body=b"", rdev=(0, 0), nlink=1):
        name_b = name.encode() + b"\0"
        fields = (self.ino, mode, 0, 0, nlink, MTIME, len(body), 0, 0, rdev[0], rdev[1],
                  len(name_b), 0)
        self.ino += 1
        self.data += b"070701" + b"".join(b"%08x" % f for f in fields)
        self.data += name_b
        self._pad4()
        self.data += body
        self._pad4()

    def dir(self, name, perm=0o755):
        self.add(name, stat.S_IFDIR | perm, nlink=2)

    def file(self, name, body, perm=0o755):
        self.add(name, stat.S_IFREG | perm, body)

    def symlink(self, name, target):
        self.add(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name, major, minor, perm=0o600):
        self.add(name, stat.S_IFCHR | perm, rdev=(major, minor))

    def finish(self):
        self.ino = 0
        self.add("TRAILER!!!", 0)
        # Pad to 512 bytes as cpio(1) does; the kernel skips the zeros.
        self.data += b"\0" * (-len(self.data) % 512)
        return bytes(self.data)


def build(busybox, init):
    with open(busybox, "rb") as f:
        bb = f.read()
    if bb[:4] != b"\x7fELF" or bb[18:20] != b"\xb7\x00":  # e_machine EM_AARCH64 (183)
        raise SystemExit(f"mkinitramfs: {busybox} is not an arm64 ELF binary")
    with open(init, "rb") as f:
        init_text = f.read()
    if not init_text.startswith(b"#!/bin/sh"):
        raise SystemExit(f"mkinitramfs: {init} does not start with #!/bin/sh")
    a = Newc()
    for d in DIRS:
        a.dir(d, 0o1777 if d == "tmp" else 0o755)
    # The kernel opens /dev/console for init's stdin/out/err before devtmpfs is mounted.
    a.chardev("dev/console", 5, 1)
    a.chardev("dev/null", 1, 3, 0o666)
    a.file("bin/busybox", bb)
    a.symlink("bin/sh", "busybox")
    a.file("init", init_text)
    return a.finish()


def main():
    ap = qemu.arg_parser(__doc__, build=False)
    ap.add_argument("--busybox", default=DEFAULT_BUSYBOX)
    ap.add_argument("--init", default=DEFAULT_INIT)
    ap.add_argument("-o", "--output", default=DEFAULT_OUT)
    args = ap.parse_args()
    if not os.path.isfile(args.busybox):
        print(f"mkinitramfs: {args.busybox} not found (scripts/install-deps.sh unpacks it)",
              file=sys.stderr)
        return 1
    data = build(args.busybox, args.init)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    tmp = args.output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
