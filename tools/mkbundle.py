#!/usr/bin/env python3
"""Packs a bundle: one cpio newc archive holding a VM description and the files it names, to be
loaded as the hypervisor's initramfs (docs/CONFIG.md, "Booting from a bundle").

    tools/mkbundle.py vms.dts [-o bundle.cpio]        (or: make bundle CONFIG=vms.dts [OUT=...])

vms.dts (or a compiled .dtb) has the VM nodes of docs/CONFIG.md in its /chosen (or, as an overlay,
`/plugin/; &{/chosen} { ... };`); each module names
a file with `bulkhead,file = "path";` instead of a reg. Paths are relative to the description's
directory and are the files' names in the archive. The description, compiled by dtc, goes in as
bulkhead.dtb. Checked before anything is written: the description compiles and has a /chosen,
every named file exists, is not empty and fits cpio newc's 32-bit size, no module has both a
bulkhead,file and a reg, no name leaves the directory. A file named by several modules is packed
once. Each file's data starts 8-byte aligned in the archive (a partial device tree is read in
place, libfdt wants that), with "./" prefixes on names where needed: the hypervisor skips them.
Standard library only.
"""

import argparse
import os
import struct
import subprocess
import sys

DESCRIPTION = "bulkhead.dtb"
FILE_PROP = "bulkhead,file"
FDT_MAGIC = 0xD00DFEED
FDT_BEGIN_NODE, FDT_END_NODE, FDT_PROP, FDT_NOP, FDT_END = 1, 2, 3, 4, 9
CPIO_MAX_SIZE = 0xFFFFFFFF
DATA_ALIGN = 8


class BundleError(Exception):
    pass


def fdt_nodes(dtb):
    """[(path, {property: bytes})] of a flattened device tree, in tree order."""
    if len(dtb) < 40 or struct.unpack_from(">I", dtb, 0)[0] != FDT_MAGIC:
        raise BundleError("the description is not a device tree blob")
    off_struct, off_strings = struct.unpack_from(">II", dtb, 8)
    pos, stack, nodes = off_struct, [], []

    def cstr(at):
        return dtb[at:dtb.index(b"\0", at)].decode()

    while True:
        (token,) = struct.unpack_from(">I", dtb, pos)
        pos += 4
        if token == FDT_BEGIN_NODE:
            name = cstr(pos)
            pos += (len(name) + 4) & ~3
            stack.append(name)
            path = "/" + "/".join(n for n in stack[1:]) if len(stack) > 1 else "/"
            nodes.append((path, {}))
        elif token == FDT_END_NODE:
            stack.pop()
        elif token == FDT_PROP:
            length, nameoff = struct.unpack_from(">II", dtb, pos)
            pos += 8
            nodes[-1][1][cstr(off_strings + nameoff)] = dtb[pos:pos + length]
            pos += (length + 3) & ~3
        elif token == FDT_NOP:
            continue
        elif token == FDT_END:
            return nodes
        else:
            raise BundleError(f"the description's structure is malformed (token {token})")


def compile_description(config, dtc):
    """The description as a DTB: config itself if it is one, else dtc's output."""
    with open(config, "rb") as f:
        data = f.read()
    if data[:4] == struct.pack(">I", FDT_MAGIC):
        return data
    r = subprocess.run([dtc, "-q", "-I", "dts", "-O", "dtb", "-o", "-", config],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise BundleError(f"dtc cannot compile {config}:\n{r.stderr.decode(errors='replace')}")
    return r.stdout


def archive_name(value, node):
    """A bulkhead,file value as the archive's name for it, checked."""
    if not value.endswith(b"\0") or b"\0" in value[:-1] or len(value) < 2:
        raise BundleError(f"{node}: {FILE_PROP} is not one string")
    name = value[:-1].decode()
    while name.startswith("./"):
        name = name[2:]
    parts = name.split("/")
    if name.startswith("/") or ".." in parts or not name:
        raise BundleError(f"{node}: {FILE_PROP} \"{name}\" must be a path inside the "
                          "description's directory")
    if name == DESCRIPTION:
        raise BundleError(f"{node}: {FILE_PROP} \"{name}\" is the description's own name")
    return name


def chosen_root(nodes):
    """The node whose children the hypervisor takes: /chosen, or in an overlay (dtc's /plugin/,
    `&{/chosen} { ... };`) the __overlay__ of the fragment whose target-path is "/chosen"."""
    paths = {path for path, _ in nodes}
    if "/chosen" in paths:
        return "/chosen"
    for path, props in nodes:
        if path.count("/") == 1 and props.get("target-path") == b"/chosen\0" \
                and path + "/__overlay__" in paths:
            return path + "/__overlay__"
    raise BundleError("the description has no /chosen node (nor an overlay fragment for it): no "
                      "VM in it")


def named_files(nodes, base_dir):
    """{archive name: path on disk}, in the order first named; raises on any problem, naming
    every one found."""
    problems, files = [], {}
    root = chosen_root(nodes)
    for path, props in nodes:
        if FILE_PROP not in props:
            continue
        try:
            name = archive_name(props[FILE_PROP], path)
        except BundleError as e:
            problems.append(str(e))
            continue
        if not path.startswith(root + "/"):
            problems.append(f"{path}: {FILE_PROP} outside {root}: the hypervisor reads only "
                            "its nodes")
        if "reg" in props:
            problems.append(f"{path}: both {FILE_PROP} \"{name}\" and a reg: give one of them")
        disk = os.path.join(base_dir, name)
        if not os.path.isfile(disk):
            problems.append(f"{path}: file \"{name}\" not found ({disk})")
        elif os.path.getsize(disk) == 0:
            problems.append(f"{path}: file \"{name}\" is empty")
        elif os.path.getsize(disk) > CPIO_MAX_SIZE:
            problems.append(f"{path}: file \"{name}\" is larger than cpio newc's 4 GiB")
        files.setdefault(name, disk)
    if problems:
        raise BundleError("\n".join(problems))
    return files


def cpio_header(name, size, ino, mode):
    return (b"070701" + b"".join(b"%08x" % v for v in (
        ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, len(name) + 1, 0)) + name.encode() + b"\0")


def pad(n, align=4):
    return b"\0" * (-n % align)


def aligned_name(offset, name):
    """name, or name behind "./" prefixes, so that its data starts DATA_ALIGN-aligned."""
    for prefix in ("", "./", "././", "./././"):
        header = 110 + len(prefix + name) + 1
        if (offset + header + (-header % 4)) % DATA_ALIGN == 0:
            return prefix + name
    raise AssertionError("unreachable: four prefixes cover every 4-byte offset")


def write_archive(out, entries):
    """entries: [(name, bytes or path)]. Returns [(name, data offset, size)]."""
    layout, offset = [], 0
    with open(out, "wb") as f:
        for ino, (name, src) in enumerate(entries, start=1):
            data = src if isinstance(src, bytes) else open(src, "rb").read()
            name = aligned_name(offset, name)
            head = cpio_header(name, len(data), ino, 0o100644)
            head += pad(len(head))
            layout.append((name, offset + len(head), len(data)))
            f.write(head + data + pad(len(data)))
            offset += len(head) + len(data) + len(pad(len(data)))
        trailer = cpio_header("TRAILER!!!", 0, 0, 0)
        f.write(trailer + pad(len(trailer)))
    return layout


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", help="the VM description: a .dts (compiled with dtc) or a .dtb")
    ap.add_argument("-o", "--output", default="bundle.cpio")
    ap.add_argument("--dtc", default=os.environ.get("DTC", "dtc"))
    args = ap.parse_args()
    try:
        dtb = compile_description(args.config, args.dtc)
        files = named_files(fdt_nodes(dtb), os.path.dirname(os.path.abspath(args.config)))
    except (BundleError, OSError) as e:
        for line in str(e).splitlines():
            print(f"mkbundle: {args.config}: {line}", file=sys.stderr)
        return 1
    root = chosen_root(fdt_nodes(dtb))
    for path, _ in fdt_nodes(dtb):
        if path.count("/") == 1 and path != "/" and not root.startswith(path) \
                and path not in ("/__fixups__", "/__local_fixups__", "/__symbols__"):
            print(f"mkbundle: {args.config}: warning: {path}: the hypervisor takes only {root}'s "
                  "nodes from a bundle: ignored", file=sys.stderr)
    if not files:
        print(f"mkbundle: {args.config}: no module names a file ({FILE_PROP}): the bundle would "
              "start no VM", file=sys.stderr)
        return 1
    layout = write_archive(args.output, [(DESCRIPTION, dtb)] + list(files.items()))
    total = os.path.getsize(args.output)
    print(f"mkbundle: {args.output}: {len(layout)} files, {total} bytes")
    for name, offset, size in layout:
        print(f"  {offset:#010x} {size:>10}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
