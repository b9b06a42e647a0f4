#!/usr/bin/env python3
"""Builds the initramfs of the Linux guests (build/linux/initrd.cpio): a static busybox, the test
init (tests/linux/init), the few directories and device nodes they need and a handful of Debian's
kernel modules, as an uncompressed newc cpio archive. Standard library only (there may be no
`cpio` binary). The archive is the same byte for byte for the same inputs (fixed inode numbers,
owners and times).

Usage: tests/linux/mkinitramfs.py [--busybox PATH] [--init PATH] [--modules DIR]
                                  [--shmtool PATH] [-o OUT]
The busybox default is $BULKHEAD_DEPS (else /var/cache/bulkhead)/arm64/root/bin/busybox, as
scripts/install-deps.sh unpacks it. Busybox's applet links are made by the init at boot
(`busybox --install -s`), so nothing here needs to run an arm64 binary.

Modules: the passthrough tests (tests/qemu/test_passthrough.py) need drivers that Debian's kernel
has as modules: virtio_mmio and virtio_blk (a virtio-blk disk), ext4 (mounts ext2 too) and
gpio_keys (the PL061's power key), with their dependencies, read from each .ko's `.modinfo`
section ("depends=", as modinfo -F depends prints it; no modinfo binary needed). They come from
the kernel's module tree, <deps>/arm64/root/lib/modules/<version>/kernel (the version found by
glob, not hard-coded), and go to /lib/modules/*.ko in the archive with /lib/modules/load-order,
one module name a line, dependencies first; the init's passthrough mode insmods them in that
order, the other modes never touch them. Without a module tree the archive has no modules (a
warning says so) and the other modes are unaffected.

--shmtool adds a static arm64 program as /bin/shmtool (tests/linux/shmtool.c, built by
tests/linux/linux.mk): the shared-memory modes fill and check 1 MiB patterns with it.
"""

import glob
import os
import stat
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "qemu"))
import qemu  # noqa: E402

DEFAULT_BUSYBOX = os.path.join(qemu.DEPS_DIR, "arm64", "root", "bin", "busybox")
DEFAULT_INIT = os.path.join(HERE, "init")
DEFAULT_OUT = qemu.LINUX_INITRD
MODULES_GLOB = os.path.join(qemu.DEPS_DIR, "arm64", "root", "lib", "modules", "*", "kernel")

# The modules the passthrough mode loads (dependencies are added, and ordered, from .modinfo).
# crc32c_generic is ext4's and jbd2's soft dependency ("softdep=pre: crypto-crc32c", an alias
# that only a full module index resolves): metadata_csum file systems need it.
# sbsa_gwdt is the watchdog mode's (it binds only where the VM has an arm,sbsa-gwdt node);
# virtio_net (with failover and net_failover) the net mode's; virtio_pci the disk of a PCIe
# bridge behind the SMMU (test_smmu).
MODULES = ("crc32c_generic", "ext4", "virtio_mmio", "virtio_pci", "virtio_blk", "gpio_keys",
           "sbsa_gwdt", "virtio_net")
# virtio_console: hvc0 of the hypervisor's own virtio-console (tests/qemu/test_virtio.py).
MODULES += ("virtio_console",)

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


def elf_modinfo(path):
    """The `.modinfo` section of a kernel module (a 64-bit little-endian ELF) as {key: value}."""
    with open(path, "rb") as f:
        d = f.read()
    if d[:4] != b"\x7fELF" or d[4] != 2 or d[5] != 1:
        raise SystemExit(f"mkinitramfs: {path} is not a 64-bit little-endian ELF file")
    shoff = struct.unpack_from("<Q", d, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 0x3A)
    secs = [struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize) for i in range(shnum)]
    names = secs[shstrndx][4]
    for sh_name, _, _, _, off, size, *_ in secs:
        if d[names + sh_name:d.index(b"\0", names + sh_name)] == b".modinfo":
            info = {}
            for entry in d[off:off + size].split(b"\0"):
                key, eq, value = entry.decode("utf-8", "replace").partition("=")
                if eq:
                    info.setdefault(key, value)
            return info
    raise SystemExit(f"mkinitramfs: {path} has no .modinfo section")


def find_modules_dir():
    """The kernel module tree unpacked by scripts/install-deps.sh, or None (there is one kernel
    version there; the newest name wins if there are several)."""
    dirs = sorted(glob.glob(MODULES_GLOB))
    return dirs[-1] if dirs else None


def resolve_modules(moddir, wanted=MODULES):
    """[(name, path)] for the wanted modules and everything they depend on, dependencies first."""
    paths = {}
    for root, _, files in os.walk(moddir):
        for f in files:
            if f.endswith(".ko"):
                paths.setdefault(f[:-3].replace("-", "_"), os.path.join(root, f))
    order = []

    def visit(name, chain):
        name = name.replace("-", "_")
        if name in order:
            return
        if name in chain:
            raise SystemExit(f"mkinitramfs: module dependency loop: {' -> '.join(chain)}")
        if name not in paths:
            # Not fatal: the other modes need no module; the passthrough mode reports the
            # insmod failures of what depends on it.
            print(f"mkinitramfs: warning: module {name} not found under {moddir}",
                  file=sys.stderr)
            return
        deps = elf_modinfo(paths[name]).get("depends", "")
        for dep in filter(None, deps.split(",")):
            visit(dep, chain + [name])
        order.append(name)

    for w in wanted:
        visit(w, [])
    return [(n, paths[n]) for n in order]


def build(busybox, init, modules=(), shmtool=None):
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
    if shmtool:
        with open(shmtool, "rb") as f:
            tool = f.read()
        if tool[:4] != b"\x7fELF" or tool[18:20] != b"\xb7\x00":
            raise SystemExit(f"mkinitramfs: {shmtool} is not an arm64 ELF binary")
        a.file("bin/shmtool", tool)
    if modules:
        for d in ("lib", "lib/modules"):
            a.dir(d)
        for name, path in modules:
            with open(path, "rb") as f:
                a.file(f"lib/modules/{name}.ko", f.read(), 0o644)
        a.file("lib/modules/load-order", "".join(n + "\n" for n, _ in modules).encode(), 0o644)
    return a.finish()


def main():
    ap = qemu.arg_parser(__doc__, build=False)
    ap.add_argument("--busybox", default=DEFAULT_BUSYBOX)
    ap.add_argument("--init", default=DEFAULT_INIT)
    ap.add_argument("--modules", default=None,
                    help="the kernel's module tree (default: " + MODULES_GLOB + ")")
    ap.add_argument("--shmtool", default=None,
                    help="a static arm64 build of tests/linux/shmtool.c, put at /bin/shmtool")
    ap.add_argument("-o", "--output", default=DEFAULT_OUT)
    args = ap.parse_args()
    if not os.path.isfile(args.busybox):
        print(f"mkinitramfs: {args.busybox} not found (scripts/install-deps.sh unpacks it)",
              file=sys.stderr)
        return 1
    moddir = args.modules or find_modules_dir()
    modules = []
    if moddir and os.path.isdir(moddir):
        modules = resolve_modules(moddir)
    else:
        print(f"mkinitramfs: warning: no kernel modules ({args.modules or MODULES_GLOB} not found);"
              " the passthrough mode will not find its drivers", file=sys.stderr)
    data = build(args.busybox, args.init, modules, args.shmtool)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    tmp = args.output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
