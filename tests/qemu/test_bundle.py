#!/usr/bin/env python3
"""Bundles (docs/CONFIG.md, "Booting from a bundle"): VMs from one cpio archive loaded with
QEMU's -initrd, the way the Raspberry Pi firmware or U-Boot load an initramfs.

- "bundle_tool": tools/mkbundle.py names every problem of a description (a missing file, a
  bulkhead,file beside a reg, a path out of the directory) and writes nothing; a good one is
  packed with every file's data 8-byte aligned, where the tool says.
- "bundle_check_config": `make check-config DTB=<QEMU's tree> BUNDLE=...` checks a bundle's VMs
  (placed where QEMU virt puts an initrd, the DTB after it) and names a file it lacks.
- "v3/bundle_doc", "v2/bundle_doc": the documentation's example run as written (GICv2: with
  gic-version=2), in a scratch directory: tools/mkbundle.py packs Debian's Linux with the test
  initramfs (a 2-vCPU VM) and the demo guest; one `-initrd bundle.cpio`, no DTB edited. Both VMs
  start, the demo says hello, counts and powers off, Linux reaches user space with nproc=2 and
  powers off, then the hypervisor powers the machine off and QEMU leaves by itself.
- "v3/bundle_missing_file": a description naming a file the archive does not hold (packed with
  mkbundle's writer, bypassing its checks): the error names the module's node and the file, that
  VM is not started, the demo VM beside it runs and powers off.
- "v3/bundle_truncated": the archive cut inside its last file: the error names that entry, the
  VM needing it is not started, the VM whose file came before runs and powers off.
- "v3/bundle_bad_description": a bundle whose bulkhead.dtb is not a device tree, beside a VM
  passed with -device guest-loader: the error names the description, that VM runs.
- "v3/bundle_overlay": the description written as a dtc overlay (`/plugin/; &{/chosen} {...};`):
  its VM runs as from a /chosen.
- "raspi4b/bundle_bare" (QEMU 10 raspi4b, build/raspi4b beside the --build directory): two demo
  guests built for the Pi's map from one -initrd bundle with Debian's bcm2711-rpi-4-b.dtb as the
  only DTB (no module nodes, no -device loader): both say hello and power off, the hypervisor
  powers the Pi off through the BCM2835 watchdog (or halts: the test ends QEMU then).
- "raspi4b/bundle_linux": the same way, Debian's Linux (2 vCPUs, the test initramfs, console on
  ttyAMA0 without earlycon) beside the demo guest, the DTB with the nodes QEMU does not model
  disabled: the PL011 binds, user space runs its checks with nproc=2, both VMs power off.

Run alone: tests/qemu/test_bundle.py [--build build/qemu-virt] [--only RE].
"""

import os
import re
import sys
import subprocess
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import mkbundle  # noqa: E402
import qemu  # noqa: E402
import test_doc_examples  # noqa: E402
import test_raspi4b  # noqa: E402

LINUX_TIME_LIMIT = 150  # seconds; a passing run takes about 13 alone
BARE_TIME_LIMIT = 60  # a run of demo guests takes a few seconds
PI_TIME_LIMIT = 90

DEMO_VM = """
        {name} {{
            compatible = "bulkhead,vm";
            cpus = <1>;
            memory-size = <0x0 0x4000000>;
            kernel {{
                compatible = "multiboot,kernel", "multiboot,module";
                bulkhead,file = "{file}";
                bootargs = "name={name}";
            }};
        }};"""


def description(vms, overlay=False):
    """A description with a demo-guest VM per (name, file) of vms; with overlay, written as a dtc
    overlay of /chosen."""
    nodes = "".join(DEMO_VM.format(name=n, file=f) for n, f in vms)
    if overlay:
        return "/dts-v1/;\n/plugin/;\n&{/chosen} {" + nodes + "\n};\n"
    return "/dts-v1/;\n/ {\n    chosen {" + nodes + "\n    };\n};\n"


def pack(work, dts, files):
    """Compiles dts and writes work/bundle.cpio with it and files ((name, path) pairs, not
    checked: a test may leave one out). Returns (path, None) or (None, reason)."""
    src = os.path.join(work, "vms.dts")
    with open(src, "w", encoding="utf-8") as f:
        f.write(dts)
    try:
        dtb = mkbundle.compile_description(src, "dtc")
    except mkbundle.BundleError as e:
        return None, str(e)
    out = os.path.join(work, "bundle.cpio")
    mkbundle.write_archive(out, [(mkbundle.DESCRIPTION, dtb)] + list(files))
    return out, None


def demo_checks(text, vms):
    patterns = []
    for vm in vms:
        patterns += [qemu.prefixed(vm, r"Hello from " + qemu.esc(vm) + r", a Bulkhead demo guest"),
                     qemu.prefixed(vm, qemu.esc(vm) + r" says goodbye, powering off"),
                     r"^bulkhead: " + qemu.esc(vm) + r": powered off"]
    return qemu.expect_all(text, patterns)


def test_doc(build, gic):
    name = f"v{gic}/bundle_doc"
    script = test_doc_examples.doc_block("CONFIG.md", "bundle")
    if not script:
        return qemu.failure(name, "docs/CONFIG.md has no doc-example: bundle block")
    missing = (qemu.missing(qemu.image_path(build), qemu.guest_path(build, "demo"))
               or qemu.missing(qemu.LINUX_KERNEL, how="scripts/install-deps.sh")
               or qemu.missing(qemu.LINUX_INITRD, how="make linux-initrd"))
    if missing:
        return qemu.failure(name, missing)
    script = test_doc_examples.localized(script, build)
    script = re.sub(r"(?<![/\w])tools/mkbundle\.py", os.path.join(ROOT, "tools", "mkbundle.py"),
                    script)
    script = script.replace("qemu-system-aarch64 ", qemu.QEMU + " ")
    if gic == 2:
        script = script.replace("gic-version=3", "gic-version=2")
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    begin = time.monotonic()
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        text, timed_out = test_doc_examples.run_script(name, script, os.path.abspath(work),
                                                       LINUX_TIME_LIMIT)
    seconds = time.monotonic() - begin
    reasons = [
        qemu.expect_all(text, [r"^mkbundle: my-vms/bundle\.cpio: 4 files",
                               r"^bulkhead: bundle at 0x[0-9a-f]+ \(0x[0-9a-f]+ bytes\)",
                               r"^bulkhead: bundle: 4 files, 2 nodes of bulkhead\.dtb's /chosen "
                               r"taken",
                               r"^bulkhead: linux: 2 vCPU, 256 MiB RAM .* from /chosen/linux",
                               r"^bulkhead: demo: 1 vCPU, 64 MiB RAM .* from /chosen/demo"]),
        qemu.expect_none(text, [r"^error: ", r"VM not started", r"PANIC", qemu.stopped(
            ["linux", "demo"])]),
        demo_checks(text, ["demo"]),
        qemu.expect_all(text, [qemu.prefixed("linux", r"LINUX user space"),
                               qemu.prefixed("linux", r"LINUX nproc=2 "),
                               r"^bulkhead: linux: powered off",
                               r"^bulkhead: no VM running, powering off"]),
        "QEMU still running at the time limit" if timed_out else None,
    ]
    for r in reasons:
        if r:
            return qemu.Result(name, False, r, text.splitlines()[-qemu.TAIL_LINES:], seconds,
                               qemu.log_path(name))
    return qemu.Result(name, True, seconds=seconds, log=qemu.log_path(name))


def run_virt(name, build, make_bundle):
    """Boots the hypervisor on QEMU virt GICv3 with the bundle make_bundle(work) writes.
    Returns (Run, None) or (None, reason)."""
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        bundle, err = make_bundle(os.path.abspath(work))
        if err:
            return None, err
        cmd = qemu.command(qemu.image_path(build), smp=4, mem="1G", extra=["-initrd", bundle])
        return qemu.run(name, cmd, BARE_TIME_LIMIT), None


def test_missing_file(build):
    name = "v3/bundle_missing_file"
    demo = qemu.guest_path(build, "demo")
    missing = qemu.missing(qemu.image_path(build), demo)
    if missing:
        return qemu.failure(name, missing)
    run_, err = run_virt(name, build, lambda work: pack(
        work, description([("ghost", "guests/ghost.bin"), ("demo", "demo.bin")]),
        [("demo.bin", demo)]))
    if err:
        return qemu.failure(name, err)
    return qemu.verdict(name, run_, qemu.expect_ordered(run_.text, [
        r"^error: /chosen/ghost/kernel: file \"guests/ghost\.bin\" is not in the bundle's archive",
        r"^bulkhead: /chosen/ghost: VM not started"]),
        demo_checks(run_.text, ["demo"]),
        qemu.expect_all(run_.text, [r"^bulkhead: no VM running, powering off"]),
        qemu.expect_exit(run_))


def test_truncated(build):
    name = "v3/bundle_truncated"
    demo = qemu.guest_path(build, "demo")
    missing = qemu.missing(qemu.image_path(build), demo)
    if missing:
        return qemu.failure(name, missing)

    def truncated(work):
        bundle, err = pack(work, description([("first", "a.bin"), ("second", "b.bin")]),
                           [("a.bin", demo), ("b.bin", demo)])
        if bundle:
            size = os.path.getsize(bundle)
            with open(bundle, "r+b") as f:
                f.truncate(size - 4096)  # inside b.bin, the last file
        return bundle, err

    run_, err = run_virt(name, build, truncated)
    if err:
        return qemu.failure(name, err)
    return qemu.verdict(name, run_, qemu.expect_ordered(run_.text, [
        r"^error: bundle at 0x[0-9a-f]+: entry at offset 0x[0-9a-f]+ \(\"(\./)*b\.bin\"\): "
        r"truncated data; the archive is read up to there",
        r"^error: /chosen/second/kernel: file \"b\.bin\" is not in the bundle's archive",
        r"^bulkhead: /chosen/second: VM not started"]),
        demo_checks(run_.text, ["first"]),
        qemu.expect_all(run_.text, [r"^bulkhead: no VM running, powering off"]),
        qemu.expect_exit(run_))


def test_overlay(build):
    name = "v3/bundle_overlay"
    demo = qemu.guest_path(build, "demo")
    missing = qemu.missing(qemu.image_path(build), demo)
    if missing:
        return qemu.failure(name, missing)
    dts = description([("demo", "demo.bin")], overlay=True)
    run_, err = run_virt(name, build, lambda work: pack(work, dts, [("demo.bin", demo)]))
    if err:
        return qemu.failure(name, err)
    return qemu.verdict(name, run_, qemu.expect_all(run_.text, [
        r"^bulkhead: bundle: 2 files, 1 node of bulkhead\.dtb's /chosen taken",
        r"^bulkhead: demo: 1 vCPU, 64 MiB RAM .* from /chosen/demo"]),
        demo_checks(run_.text, ["demo"]),
        qemu.expect_all(run_.text, [r"^bulkhead: no VM running, powering off"]),
        qemu.expect_exit(run_))


def test_check_config(build):
    """make check-config DTB=... BUNDLE=...: the bundle's VMs checked on QEMU's own tree, and a
    bundle missing a file named as the hypervisor would name it."""
    name = "bundle_check_config"
    demo = qemu.guest_path(build, "demo")
    missing = qemu.missing(qemu.image_path(build), demo)
    if missing:
        return qemu.failure(name, missing)
    host_build = os.path.join(os.path.dirname(os.path.normpath(build)), "host")
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        work = os.path.abspath(work)
        board = os.path.join(work, "board.dtb")
        subprocess.run(qemu.command(qemu.image_path(build), smp=2, mem="1G")
                       + ["-machine", "dumpdtb=" + board], capture_output=True, timeout=60)
        runs = []
        for vms in ([("demo", "demo.bin")], [("demo", "demo.bin"), ("ghost", "ghost.bin")]):
            bundle, err = pack(work, description(vms), [("demo.bin", demo)])
            if err:
                return qemu.failure(name, err)
            runs.append(subprocess.run(
                ["make", "--no-print-directory", f"HOST_BUILD={host_build}", "check-config",
                 f"DTB={board}", f"BUNDLE={bundle}"], cwd=ROOT, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, timeout=300))
    good, bad = runs
    text = good.stdout + bad.stdout
    reasons = [
        None if good.returncode == 0 else f"exit {good.returncode} for a good bundle",
        qemu.expect_all(good.stdout, [r"^bulkhead: the DTB at 0x48200000\+",
                                      r"^bulkhead: bundle at 0x48000000 ",
                                      r"board\.dtb: 0 errors, 0 warnings; 1 VM would start"]),
        # make's own status: 2 when the tool's is not 0.
        None if bad.returncode != 0 else "make check-config passed a bundle missing a file",
        qemu.expect_all(bad.stdout, [
            r"^error: /chosen/ghost/kernel: file \"ghost\.bin\" is not in the bundle's archive",
            r"^bulkhead: /chosen/ghost: VM not started",
            r"board\.dtb: 1 error, 0 warnings; 1 VM would start"]),
    ]
    for r in reasons:
        if r:
            return qemu.Result(name, False, r, text.splitlines()[-qemu.TAIL_LINES:])
    return qemu.Result(name, True)


def test_bad_description(build):
    name = "v3/bundle_bad_description"
    demo = qemu.guest_path(build, "demo")
    missing = qemu.missing(qemu.image_path(build), demo)
    if missing:
        return qemu.failure(name, missing)
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        bundle = os.path.join(os.path.abspath(work), "bundle.cpio")
        mkbundle.write_archive(bundle, [(mkbundle.DESCRIPTION, b"/dts-v1/; / { chosen { }; };\n"),
                                        ("demo.bin", demo)])
        # The VM beside it comes the other way, a guest-loader module in the host DTB.
        cmd = qemu.command(qemu.image_path(build), [qemu.Module(demo, "name=loaded")], smp=2,
                           mem="1G", extra=["-initrd", bundle])
        run_ = qemu.run(name, cmd, BARE_TIME_LIMIT)
    return qemu.verdict(name, run_, qemu.expect_ordered(run_.text, [
        r"^error: bundle: bulkhead\.dtb does not parse as a device tree \(FDT_ERR_BADMAGIC\): "
        r"no VM from it", r"^bulkhead: vm0: started"]),
        qemu.expect_all(run_.text, [
            qemu.prefixed("vm0", r"Hello from loaded, a Bulkhead demo guest"),
            qemu.prefixed("vm0", r"loaded says goodbye, powering off"),
            r"^bulkhead: vm0: powered off"]),
        qemu.expect_all(run_.text, [r"^bulkhead: no VM running, powering off"]),
        qemu.expect_exit(run_))


_pi_make_lock = threading.Lock()
_pi_made = {}


def make_pi_once(build):
    """(raspi4b build directory, None or why its make failed): one make per run, since the runner
    runs two cases at once and two makes in one directory clash."""
    pi = test_raspi4b.pi_build_dir(build)
    with _pi_make_lock:
        if pi not in _pi_made:
            _pi_made[pi] = test_raspi4b.make_pi(pi)
        return pi, _pi_made[pi]


def test_pi_bare(build):
    name = "raspi4b/bundle_bare"
    pi, err = make_pi_once(build)
    if err:
        return qemu.failure(name, err)
    demo = qemu.guest_path(pi, "demo")
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        work = os.path.abspath(work)
        dtb, err = qemu.make_pi_dtb(work, "", name="bundle")
        if not err:
            bundle, err = pack(work, description([("alpha", "demo.bin"), ("beta", "demo.bin")]),
                               [("demo.bin", demo)])
        if err:
            return qemu.failure(name, err)
        cmd = qemu.pi_command(qemu.image_path(pi), dtb, extra=["-initrd", bundle])
        # The end of the run: a power-off through the watchdog (QEMU leaves) or a halt.
        run_, _ = test_raspi4b.run_until(name, cmd, PI_TIME_LIMIT, test_raspi4b.HALTED)
    return qemu.verdict(name, run_, qemu.expect_all(run_.text, [
        r"^bulkhead: bundle at 0x[0-9a-f]+ ", r"^bulkhead: alpha: started",
        r"^bulkhead: beta: started"]),
        qemu.expect_none(run_.text, [r"^error: ", r"VM not started", r"PANIC"]),
        demo_checks(run_.text, ["alpha", "beta"]),
        qemu.expect_all(run_.text, [r"^bulkhead: no VM running"]),
        "killed at the time limit" if run_.timed_out else None)


LINUX_VM = """
        linux {
            compatible = "bulkhead,vm";
            cpus = <2>;
            memory-size = <0x0 0x10000000>;
            kernel {
                compatible = "multiboot,kernel", "multiboot,module";
                bulkhead,file = "linux/Image";
                bootargs = "console=ttyAMA0";
            };
            ramdisk {
                compatible = "multiboot,ramdisk", "multiboot,module";
                bulkhead,file = "linux/initrd.cpio";
            };
        };"""


def test_pi_linux(build):
    name = "raspi4b/bundle_linux"
    pi, err = make_pi_once(build)
    err = (err or qemu.missing(qemu.LINUX_KERNEL, how="scripts/install-deps.sh")
           or qemu.missing(qemu.LINUX_INITRD, how="make linux-initrd"))
    if err:
        return qemu.failure(name, err)
    demo = qemu.guest_path(pi, "demo")
    dts = description([("demo", "demo.bin")]).replace("    chosen {", "    chosen {" + LINUX_VM)
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        work = os.path.abspath(work)
        dtb, err = qemu.make_pi_dtb(work, "", for_linux=True, name="bundle-linux")
        if not err:
            bundle, err = pack(work, dts, [("linux/Image", qemu.LINUX_KERNEL),
                                           ("linux/initrd.cpio", qemu.LINUX_INITRD),
                                           ("demo.bin", demo)])
        if err:
            return qemu.failure(name, err)
        cmd = qemu.pi_command(qemu.image_path(pi), dtb, extra=["-initrd", bundle])
        run_, _ = test_raspi4b.run_until(name, cmd, LINUX_TIME_LIMIT, test_raspi4b.HALTED)
    t = run_.text
    return qemu.verdict(name, run_, qemu.expect_all(t, [
        r"^bulkhead: bundle at 0x[0-9a-f]+ ",
        r"^bulkhead: linux: 2 vCPU, 256 MiB RAM .* from /chosen/linux",
        r"^bulkhead: demo: 1 vCPU, 64 MiB RAM .* from /chosen/demo"]),
        qemu.expect_none(t, [r"^error: ", r"VM not started", r"PANIC",
                             qemu.stopped(["linux", "demo"]),
                             qemu.prefixed("linux", r".*unable to open an initial console")]),
        demo_checks(t, ["demo"]),
        qemu.expect_all(t, [qemu.prefixed("linux", r"\[ *[\d.]+\] [0-9a-f]+\.(pl011|serial): "
                                          r"ttyAMA0 at MMIO 0xfe201000 .* is a PL011 rev\d"),
                            qemu.prefixed("linux", r"LINUX user space"),
                            qemu.prefixed("linux", r"LINUX nproc=2 "),
                            r"^bulkhead: linux: powered off", r"^bulkhead: no VM running"]),
        "killed at the time limit" if run_.timed_out else None)


def test_tool():
    """tools/mkbundle.py: every problem of a description named, nothing written; a good one
    packed with each file's data 8-byte aligned and readable back."""
    name = "bundle_tool"
    tool = os.path.join(ROOT, "tools", "mkbundle.py")
    bad = ("/dts-v1/;\n/ { chosen { a { compatible = \"bulkhead,vm\";\n"
           "kernel { compatible = \"multiboot,kernel\"; bulkhead,file = \"nothere.bin\"; };\n"
           "ramdisk { compatible = \"multiboot,ramdisk\"; bulkhead,file = \"r\"; "
           "reg = <0 1 0 2>; };\n"
           "dt { compatible = \"multiboot,device-tree\"; bulkhead,file = \"../x\"; }; }; }; };\n")
    good = description([("a", "k"), ("b", "sub/kk")])
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        os.makedirs(os.path.join(work, "sub"))
        for f, size in (("r", 3), ("k", 5), ("sub/kk", 4097)):
            with open(os.path.join(work, f), "wb") as fh:
                fh.write(bytes(range(256)) * (size // 256) + bytes(size % 256))
        results = []
        for dts in (bad, good):
            with open(os.path.join(work, "vms.dts"), "w", encoding="utf-8") as fh:
                fh.write(dts)
            results.append(subprocess.run(
                [sys.executable, tool, os.path.join(work, "vms.dts"), "-o",
                 os.path.join(work, "out.cpio")], stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, timeout=60))
            if dts is bad and os.path.exists(os.path.join(work, "out.cpio")):
                return qemu.failure(name, "a bundle was written for a description with errors")
        (bad_run, good_run) = results
        text = bad_run.stdout + good_run.stdout
        try:
            data = open(os.path.join(work, "out.cpio"), "rb").read()
        except OSError:
            data = b""
    reasons = [
        None if bad_run.returncode == 1 else f"exit {bad_run.returncode} for the bad description",
        qemu.expect_all(text, [r"/chosen/a/kernel: file \"nothere\.bin\" not found",
                               r"/chosen/a/ramdisk: both bulkhead,file \"r\" and a reg",
                               r"/chosen/a/dt: bulkhead,file \"\.\./x\" must be a path inside"]),
        None if good_run.returncode == 0 else f"exit {good_run.returncode} for a good one",
        qemu.expect_all(text, [r"^mkbundle: .*out\.cpio: 3 files"]),
    ]
    offsets = [int(m.group(1), 16) for m in re.finditer(r"^  (0x[0-9a-f]+) ", good_run.stdout,
                                                         re.MULTILINE)]
    if len(offsets) != 3 or any(o % 8 for o in offsets):
        reasons.append(f"data offsets {offsets}: three, each 8-byte aligned, expected")
    elif data[offsets[2]:offsets[2] + 4097] != bytes(range(256)) * 16 + bytes(1):
        reasons.append("sub/kk's bytes are not at the offset the tool printed")
    for r in reasons:
        if r:
            return qemu.Result(name, False, r, text.splitlines()[-qemu.TAIL_LINES:])
    return qemu.Result(name, True)


def cases(build):
    if not qemu.is_qemu_virt(build):
        return []
    # raspi4b first: as far as can be from test_raspi4b.py's cases, which build the same
    # build/raspi4b (two makes at once in one directory could clash).
    return [("bundle_tool", test_tool),
            ("bundle_check_config", lambda: test_check_config(build)),
            ("raspi4b/bundle_bare", lambda: test_pi_bare(build)),
            ("raspi4b/bundle_linux", lambda: test_pi_linux(build)),
            ("v3/bundle_doc", lambda: test_doc(build, 3)),
            ("v2/bundle_doc", lambda: test_doc(build, 2)),
            ("v3/bundle_missing_file", lambda: test_missing_file(build)),
            ("v3/bundle_truncated", lambda: test_truncated(build)),
            ("v3/bundle_bad_description", lambda: test_bad_description(build)),
            ("v3/bundle_overlay", lambda: test_overlay(build))]


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
