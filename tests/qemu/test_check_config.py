#!/usr/bin/env python3
"""The configuration checker (issue 16): `make check-config DTB=...`, the host tool
build/host/bulkhead-check-config, on DTBs dumped from QEMU virt (`-machine dumpdtb`, with the
guest-loader modules of each case) with one mistake each added to /chosen (qemu.make_dtb_with).
No guest boots but in the last case; QEMU only writes the trees.

- check_config/<mistake>: the tool prints the named "error: <node>: ..." line (or, for Xen's
  properties that Bulkhead does not implement, the "warning: ..." line) and exits 1 (0 for a
  warning alone): a misspelled compatible ("bulkhead,vn"), a misspelled property, a module
  outside RAM, a guest where QEMU puts its DTB (RAM + 128 MiB, docs/CONFIG.md's old example), a
  module over the hypervisor, two VMs' modules over each other, a device passed to two VMs
  (naming both), an unknown `bulkhead.` option ("did you mean"), `xen,static-mem`, a
  shared-memory map's misspelled property ("did you mean") and its IPA not a page multiple
  (config/shmem.c's check); a file that is not a DTB exits 2. A CPU pinned by two VMs is no
  longer a mistake (issue 15: they take turns): no error, exit 0.
- check_config/dtb_addr: `make check-config DTB=... DTB_ADDR=...` (the make target itself): a
  module clear of QEMU's DTB overlaps a DTB said to be elsewhere.
- check_config/demo: the DTB `make run` boots (tests/qemu/run_demo.py's command) passes: exit 0,
  no error and no warning.
- check_config/doc_*: docs/CONFIG.md's examples pass: the `bulkhead,vm` and `xen,domain` trees
  (sections 1 and 2) in QEMU's /chosen, the guest-loader command (section 3, its files replaced
  by small ones), and the passthrough example's vms.dtb made by its own script.
- v3/check_config_boot: the hypervisor prints at boot the same error line as the tool for the
  misspelled compatible, and the good VM beside it runs.

Run alone: tests/qemu/test_check_config.py [--build build/qemu-virt] [--only RE] (needs `make all
guests linux-initrd`; it builds the tool with `make check-config-tool`).
"""

import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402
import run_demo  # noqa: E402
import test_doc_examples  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "build", "host", "bulkhead-check-config")
TIME_LIMIT = 60
_tool_lock = threading.Lock()
_tool_built = []


def build_tool():
    """Builds the tool once (make check-config-tool); None, or why it could not be built."""
    with _tool_lock:
        if not _tool_built:
            p = subprocess.run(["make", "--no-print-directory", "-s", "check-config-tool"],
                               cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True)
            _tool_built.append(None if p.returncode == 0 and os.path.isfile(TOOL) else
                               f"make check-config-tool failed: {(p.stdout + p.stderr)[-300:]}")
        return _tool_built[0]


def run_tool(args):
    """(exit status, output) of the tool with args, or of make when args starts with "make"."""
    cmd = args if args[0] == "make" else [TOOL, *args]
    p = subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=TIME_LIMIT)
    return p.returncode, p.stdout + p.stderr


class Ctx(qemu.Build):
    def __init__(self, build):
        super().__init__(build)
        self.testguest = qemu.guest_path(build, "testguest")


def small_file(work, name="guest.bin", size=0x1000):
    path = os.path.join(work, name)
    with open(path, "wb") as f:
        f.write(b"\xa5" * size)
    return path


def vm_node(name, kernel_addr, extra="", compat="bulkhead,vm", size=0x1000):
    """A VM node with one kernel module (nothing is loaded: only its reg matters here)."""
    return f"""
{name} {{
    compatible = "{compat}";
    memory-size = <0x0 0x4000000>;
    {extra}
    kernel@{kernel_addr:x} {{
        compatible = "multiboot,kernel", "multiboot,module";
        reg = <{kernel_addr >> 32:#x} {kernel_addr & 0xffffffff:#x} 0x0 {size:#x}>;
    }};
}};
"""


def shm_nodes(map_props):
    """A 4 KiB shared-memory region "chan" and a VM that maps it with map_props."""
    return ("""
shm-chan {
    compatible = "bulkhead,shared-memory";
    bulkhead,shm-id = "chan";
    size = <0x0 0x1000>;
};
""" + vm_node("vm1", 0x50000000, """
    shm {
        compatible = "bulkhead,shared-memory-map";
        bulkhead,shm-id = "chan";
""" + map_props + """
    };
"""))


def xen_node(name, kernel_addr, extra=""):
    return f"""
{name} {{
    compatible = "xen,domain";
    memory = <0 65536>;
    {extra}
    module@{kernel_addr:x} {{
        compatible = "multiboot,kernel", "multiboot,module";
        reg = <0x0 {kernel_addr:#x} 0x0 0x1000>;
    }};
}};
"""


# name: (chosen nodes, guest-loader module addresses, -append, expected line (regex), status)
MISTAKES = {
    "bad_compatible": (vm_node("vm1", 0x50000000, compat="bulkhead,vn"), (0x44000000,), None,
                       r'^error: /chosen/vm1: unknown compatible "bulkhead,vn": the node is '
                       r'ignored; did you mean "bulkhead,vm"\?$', 1),
    "bad_property": (vm_node("vm1", 0x50000000, "pcpu = <1>;"), (), None,
                     r'^error: /chosen/vm1: unknown property "pcpu" is ignored; did you mean '
                     r'"pcpus"\?$', 1),
    "outside_ram": (vm_node("vm1", 0x100000000), (0x44000000,), None,
                    r"^error: /chosen/vm1/kernel@100000000: kernel module 0x100000000\+0x1000 "
                    r"lies outside RAM", 1),
    "over_dtb": ("", (0x48000000,), None,
                 r"^error: /chosen/module@0x48000000: kernel module 0x48000000\+0x1000 overlaps "
                 r"the host DTB \(0x48000000\+", 1),
    "over_hypervisor": (vm_node("vm1", 0x40300000), (0x44000000,), None,
                        r"^error: /chosen/vm1/kernel@40300000: kernel module 0x40300000\+0x1000 "
                        r"overlaps the hypervisor \(0x40200000\+", 1),
    "modules_overlap": (vm_node("a", 0x50000000, size=0x2000) + vm_node("b", 0x50001000), (),
                        None, r"^error: /chosen/b: kernel module 0x50001000\+0x1000 overlaps the "
                        r"kernel module of /chosen/a; give each module its own range$", 1),
    # Not a mistake since issue 15: the two VMs take turns on CPU 1.
    "cpu_twice": (vm_node("a", 0x50000000, "pcpus = <1>;")
                  + vm_node("b", 0x51000000, "pcpus = <1>;"), (), None,
                  r": 0 errors, 0 warnings; 2 VMs would start$", 0),
    "device_twice": (vm_node("a", 0x50000000, 'bulkhead,passthrough = "/pl031@9010000";')
                     + vm_node("b", 0x51000000, 'bulkhead,passthrough = "/pl031@9010000";'), (),
                     None, r"^error: /chosen/b: /pl031@9010000: already passed to /chosen/a ", 1),
    "unknown_option": ("", (0x44000000,), "bulkhead.vm-cpu=2",
                       r'^error: bootargs: "bulkhead.vm-cpu=2": unknown option; did you mean '
                       r"bulkhead.vm-cpus\?$", 1),
    "shm_property": (shm_nodes('bulkhead,ipa = <0x0 0x70000000>; bulkhead,acess = "ro";'), (),
                     None, r'^error: /chosen/vm1/shm: unknown property "bulkhead,acess" is '
                     r'ignored; did you mean "bulkhead,access"\?$', 1),
    "shm_ipa": (shm_nodes("bulkhead,ipa = <0x0 0x70000800>;"), (), None,
                r"^error: /chosen/vm1/shm: IPA 0x70000800 is not a multiple of 4 KiB$", 1),
    "xen_static_mem": (xen_node("domU1", 0x50000000, "xen,static-mem = <0x0 0x60000000 0x0 "
                                "0x4000000>; direct-map; vpl011;"), (), None,
                       r'^warning: /chosen/domU1: Xen\'s "xen,static-mem" is not implemented by '
                       r"Bulkhead: ignored", 0),
}


def dumped_dtb(ctx, work, chosen="", addrs=(), append=None, smp=4, mem="1G", modules=None):
    """QEMU virt's DTB with guest-loader modules at addrs (or modules) and chosen nodes added."""
    if modules is None:
        guest = small_file(work)
        modules = [qemu.Module(guest, addr=a) for a in addrs]
    extra = ["-append", append] if append is not None else []
    return qemu.make_dtb_with(ctx, modules, qemu.MACHINE_V3, work, chosen, smp=smp, mem=mem,
                              extra=extra, need_modules=False)


def expect_tool(name, args, line_re, status, clean=False):
    """Runs the tool; its status must be `status` and line_re one of its lines; with clean, no
    error and no warning line."""
    code, out = run_tool(args)
    reasons = [
        None if code == status else f"exit status {code}, expected {status}",
        qemu.expect_all(out, [line_re]) if line_re else None,
        qemu.expect_none(out, [r"^error: ", r"^warning: "]) if clean else None,
    ]
    for r in reasons:
        if r:
            return qemu.Result(name, False, r, out.splitlines()[-qemu.TAIL_LINES:])
    return qemu.Result(name, True)


def in_workdir(name, fn):
    """Runs fn(work) in a scratch directory after building the tool; a Result."""
    err = build_tool()
    if err:
        return qemu.failure(name, err)
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        return fn(os.path.abspath(work))


def test_mistake(ctx, case):
    name = f"check_config/{case}"
    chosen, addrs, append, line_re, status = MISTAKES[case]
    missing = ctx.missing(ctx.image)
    if missing:
        return qemu.failure(name, missing)

    def run(work):
        dtb, err = dumped_dtb(ctx, work, chosen, addrs, append)
        if err:
            return qemu.failure(name, err)
        return expect_tool(name, [dtb], line_re, status)
    return in_workdir(name, run)


def test_not_a_dtb(ctx):
    name = "check_config/not_a_dtb"

    def run(work):
        path = small_file(work, "garbage.dtb", 64)
        r = expect_tool(name, [path], r"not a device tree blob", 2)
        return r if not r.ok else expect_tool(name, [os.path.join(work, "absent.dtb")],
                                              r"No such file", 2)
    return in_workdir(name, run)


def test_dtb_addr(ctx):
    """Through the make target, with the DTB said to be where the module is."""
    name = "check_config/dtb_addr"
    missing = ctx.missing(ctx.image)
    if missing:
        return qemu.failure(name, missing)

    def run(work):
        dtb, err = dumped_dtb(ctx, work, addrs=(0x44000000,))
        if err:
            return qemu.failure(name, err)
        r = expect_tool(name, ["make", "--no-print-directory", "-s", "check-config",
                               "DTB=" + dtb], None, 0, clean=True)
        if not r.ok:
            return r
        return expect_tool(name, ["make", "--no-print-directory", "-s", "check-config",
                                  "DTB=" + dtb, "DTB_ADDR=0x44000000"],
                           r"^error: /chosen/module@0x44000000: kernel module 0x44000000\+0x1000 "
                           r"overlaps the host DTB \(0x44000000\+", 2)
    return in_workdir(name, run)


def test_demo(ctx):
    """The tree `make run` boots."""
    name = "check_config/demo"
    demo = qemu.guest_path(ctx.build, "demo")
    missing = (ctx.missing(ctx.image, demo) or qemu.missing(qemu.LINUX_KERNEL, how="make deps")
               or qemu.missing(qemu.LINUX_INITRD, how="make linux-initrd"))
    if missing:
        return qemu.failure(name, missing)

    def run(work):
        dumped = os.path.join(work, "demo.dtb")
        cmd, err = run_demo.linux_demo_command(ctx.image, demo, qemu.MACHINE_V3, work)
        if err:
            return qemu.failure(name, err)
        cmd += ["-machine", "dumpdtb=" + dumped]
        subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIME_LIMIT)
        if not os.path.isfile(dumped):
            return qemu.failure(name, "dumpdtb of make run's command failed")
        return expect_tool(name, [dumped], r"; 2 VMs would start$", 0, clean=True)
    return in_workdir(name, run)


def config_md():
    with open(os.path.join(ROOT, "docs", "CONFIG.md"), encoding="utf-8") as f:
        return f.read()


def chosen_examples():
    """The contents of docs/CONFIG.md's `chosen { ... };` dts blocks that describe VMs."""
    out = []
    for block in re.findall(r"```dts\n(.*?)```", config_md(), re.DOTALL):
        m = re.match(r"chosen \{\n(.*)\};\s*$", block, re.DOTALL)
        if m and ("bulkhead,vm" in block or "xen,domain" in block):
            out.append(m.group(1))
    return out


def test_doc_trees(ctx):
    name = "check_config/doc_trees"
    missing = ctx.missing(ctx.image)
    if missing:
        return qemu.failure(name, missing)
    blocks = chosen_examples()
    if len(blocks) < 2:
        return qemu.failure(name, f"docs/CONFIG.md: {len(blocks)} VM examples found, 2 expected")

    def run(work):
        for i, block in enumerate(blocks):
            dtb, err = dumped_dtb(ctx, work, block)
            if err:
                return qemu.failure(name, f"example {i + 1}: {err}")
            r = expect_tool(name, [dtb], None, 0, clean=True)
            if not r.ok:
                r.reason = f"example {i + 1}: {r.reason}"
                return r
        return qemu.Result(name, True)
    return in_workdir(name, run)


def test_doc_loader(ctx):
    """Section 3's QEMU command as written, its guest files replaced by small ones, dumping its
    DTB instead of booting."""
    name = "check_config/doc_loader"
    missing = ctx.missing(ctx.image)
    if missing:
        return qemu.failure(name, missing)
    m = re.search(r"## 3\..*?```sh\n(.*?)```", config_md(), re.DOTALL)
    if not m:
        return qemu.failure(name, "docs/CONFIG.md: no guest-loader command in section 3")
    args = shlex.split(m.group(1).replace("\\\n", " "))

    def run(work):
        cmd = [qemu.QEMU]
        for i, a in enumerate(args[1:], 1):
            if args[i - 1] == "-kernel":
                a = ctx.image
            elif a.startswith("guest-loader,"):
                a = re.sub(r"(kernel|initrd)=[^,]*",
                           lambda f: f"{f.group(1)}={small_file(work, f'file{i}.bin')}", a)
            cmd.append(a)
        dumped = os.path.join(work, "loader.dtb")
        cmd += ["-nic", "none", "-machine", "dumpdtb=" + dumped]
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=TIME_LIMIT)
        if not os.path.isfile(dumped):
            return qemu.failure(name, f"dumpdtb failed: {(p.stdout + p.stderr)[-300:]}")
        return expect_tool(name, [dumped], r"; 2 VMs would start$", 0, clean=True)
    return in_workdir(name, run)


def test_doc_passthrough(ctx):
    """The passthrough example's script up to its vms.dtb (not the boot)."""
    name = "check_config/doc_passthrough"
    script = test_doc_examples.doc_block("CONFIG.md", "passthrough")
    if not script:
        return qemu.failure(name, "docs/CONFIG.md has no doc-example: passthrough block")
    missing = (ctx.missing(ctx.image) or qemu.missing(qemu.LINUX_KERNEL, how="make deps")
               or qemu.missing(qemu.LINUX_INITRD, how="make linux-initrd"))
    if missing:
        return qemu.failure(name, missing)
    script = re.sub(r"^\$QEMU -dtb vms\.dtb\s*$", "", script, flags=re.MULTILINE)

    def run(work):
        p = subprocess.run(["bash", "-c", f"cd {work} && "
                            + test_doc_examples.localized(script, ctx.build)],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=TIME_LIMIT)
        dtb = os.path.join(work, "vms.dtb")
        if p.returncode or not os.path.isfile(dtb):
            return qemu.failure(name, f"the example's script failed: {p.stderr[-300:]}")
        return expect_tool(name, [dtb], r"; 1 VM would start$", 0, clean=True)
    return in_workdir(name, run)


def test_boot(ctx):
    """The misspelled compatible beside a good VM: the same line at boot as from the tool."""
    name = "v3/check_config_boot"
    missing = ctx.missing(ctx.image, ctx.testguest)
    if missing:
        return qemu.failure(name, missing)
    line_re = MISTAKES["bad_compatible"][3]

    def run(work):
        good = qemu.Module(ctx.testguest, "mode=ticker count=3", addr=0x44000000)
        dtb, err = dumped_dtb(ctx, work, vm_node("vm1", 0x50000000, compat="bulkhead,vn"),
                              modules=[good], smp=2)
        if err:
            return qemu.failure(name, err)
        tool = expect_tool(name, [dtb], line_re, 1)
        if not tool.ok:
            return tool
        cmd = qemu.command(ctx.image, [good], machine=qemu.MACHINE_V3, dtb=dtb)
        run_ = qemu.run(name, cmd, TIME_LIMIT)
        t = run_.text
        return qemu.verdict(name, run_, qemu.expect_all(t, [line_re]),
                            *qemu.ends_cleanly(t, run_, ("vm0",)),
                            qemu.expect_all(t, [qemu.prefixed("vm0", "ticker done")]))
    return in_workdir(name, run)


def cases(build):
    if not qemu.is_qemu_virt(build):
        return []
    ctx = Ctx(build)
    out = [(f"check_config/{c}", lambda c=c: test_mistake(ctx, c)) for c in MISTAKES]
    out += [("check_config/not_a_dtb", lambda: test_not_a_dtb(ctx)),
            ("check_config/dtb_addr", lambda: test_dtb_addr(ctx)),
            ("check_config/demo", lambda: test_demo(ctx)),
            ("check_config/doc_trees", lambda: test_doc_trees(ctx)),
            ("check_config/doc_loader", lambda: test_doc_loader(ctx)),
            ("check_config/doc_passthrough", lambda: test_doc_passthrough(ctx)),
            ("v3/check_config_boot", lambda: test_boot(ctx))]
    return out


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
