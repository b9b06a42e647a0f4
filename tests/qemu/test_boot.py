#!/usr/bin/env python3
"""Boot tests of the hypervisor on QEMU virt, for GICv2 and GICv3, plus the test guest on the bare
board. Each test is one function returning a qemu.Result; `cases(build)` lists them by name
("v3/selftest", ...). Run alone: tests/qemu/test_boot.py [--build build/qemu-virt] [--only RE].
"""

import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402

HEX = r"0x[0-9a-fA-F]+"
TIME_LIMIT = 120  # seconds per QEMU run; a passing one takes a few

# What the test guest checks under the hypervisor, on its second boot (after the reset).
SELFTEST_CHECKS = ("hvc_null", "psci_version", "psci_features", "smccc_version", "uart_mmio",
                   "ram_rw", "outside_ram", "reset_pristine")
# ... and on the bare board.
BARE_CHECKS = ("psci_version", "psci_features", "uart_mmio", "ram_rw", "outside_ram")

# 50 ms a tick: vm1 must still be ticking when vm0 resets, even on a loaded machine.
TICKER = "mode=ticker count=30 tick_ms=50"


class Ctx(qemu.Build):
    """Paths of one build: the hypervisor image and the guests."""

    def __init__(self, build):
        super().__init__(build)
        self.testguest = qemu.guest_path(build, "testguest")
        self.demo = qemu.guest_path(build, "demo")


def hv_runs(ctx, name, modules, machine, dtb=None):
    missing = ctx.missing(ctx.image, *[m.kernel for m in modules])
    if missing:
        return None, missing
    cmd = qemu.command(ctx.image, modules, machine=machine, dtb=dtb)
    return qemu.run(name, cmd, TIME_LIMIT), None


# ---- (a) selftest: vm0 checks the hypervisor and resets once; vm1 ticks on meanwhile ----

def test_selftest(ctx, gic):
    name = f"v{gic}/selftest"
    machine = qemu.machine(gic)
    run_, err = hv_runs(ctx, name, [qemu.Module(ctx.testguest, "mode=selftest hyp=1"),
                                    qemu.Module(ctx.testguest, TICKER)], machine)
    if err:
        return qemu.failure(name, err)
    t = run_.text
    reset_line = r"^bulkhead: vm0: reset\b"
    done = re.search(qemu.prefixed("vm0", r"DONE passed=(\d+) failed=(\d+)"), t, re.MULTILINE)
    reasons = [
        qemu.expect_none(t, [qemu.prefixed("vm0", r"FAIL\b.*"),
                             qemu.prefixed("vm1", r"FAIL\b.*")]),
        qemu.expect_all(t, [qemu.prefixed("vm0", r"PASS " + qemu.esc(c) + r"\s*$")
                            for c in SELFTEST_CHECKS]),
        None if done else "missing /[vm0] DONE passed=N failed=M/",
        None if not done or done.group(2) == "0" else f"vm0 reports {done.group(2)} failures",
        None if not done or int(done.group(1)) >= len(SELFTEST_CHECKS)
        else f"vm0 passed only {done.group(1)} checks, expected {len(SELFTEST_CHECKS)}",
        # The outside-RAM accesses are reported, naming vm0 (0x1000 is one of them).
        qemu.expect_all(t, [r"^bulkhead: vm0: no RAM or device at IPA " + HEX + r" \(pc=" + HEX
                            + r" esr=" + HEX + r"\), abort injected",
                            r"^bulkhead: vm0: no RAM or device at IPA 0x0*1000 "]),
        qemu.expect_count(t, reset_line, 1),
        qemu.expect_ordered(t, [qemu.prefixed("vm0", "resetting"), reset_line,
                                qemu.prefixed("vm0", r"DONE passed=")]),
        # vm1 kept running through vm0's reset.
        qemu.expect_ordered(t, [reset_line, qemu.prefixed("vm1", r"tick \d+")]),
        qemu.expect_all(t, [qemu.prefixed("vm1", "ticker done")]),
    ]
    return qemu.verdict(name, run_, *reasons, *qemu.ends_cleanly(t, run_, ("vm0", "vm1")))


# ---- (b) crash: vm0 does an access the hypervisor cannot emulate; vm1 is not affected ----

def test_crash(ctx, gic):
    name = f"v{gic}/crash"
    machine = qemu.machine(gic)
    run_, err = hv_runs(ctx, name, [qemu.Module(ctx.testguest, "mode=crash"),
                                    qemu.Module(ctx.testguest, TICKER)], machine)
    if err:
        return qemu.failure(name, err)
    t = run_.text
    stopped = (r"^bulkhead: vm0: stopped: .+ \(pc=" + HEX + r" esr=" + HEX + r" far=" + HEX
               + r"\)")
    reasons = [
        qemu.expect_ordered(t, [r"^bulkhead: vm0: started", qemu.prefixed("vm0", "about to crash"),
                                stopped]),
        # far is the UART the LDP touched.
        qemu.expect_all(t, [r"^bulkhead: vm0: stopped: .* far=0x0*9000000\)"]),
        qemu.expect_none(t, [qemu.prefixed("vm0", "FAIL crash survived"),
                             qemu.prefixed("vm1", r"FAIL\b.*"),
                             r"^bulkhead: vm0: powered off"]),
        qemu.expect_all(t, [r"^bulkhead: vm1: started", qemu.prefixed("vm1", "tick 30"),
                            qemu.prefixed("vm1", "ticker done"), r"^bulkhead: vm1: powered off",
                            r"^bulkhead: no VM running, powering off"]),
        qemu.expect_exit(run_),
    ]
    return qemu.verdict(name, run_, *reasons)


# ---- (c) bad_config: a malformed VM node in the host DT is refused; the others run ----

BAD_VM = """
\t\tbad-vm {
\t\t\tcompatible = "bulkhead,vm";
\t\t\tcpus = <64>;
\t\t\tmemory-size = <0x0 0x8000000>;
\t\t\tmodule@47000000 {
\t\t\t\tcompatible = "multiboot,kernel", "multiboot,module";
\t\t\t\treg = <0x0 0x47000000 0x0 0x10000>;
\t\t\t};
\t\t};
"""


def make_bad_dtb(ctx, modules, machine, workdir):
    """Dumps the DTB QEMU would pass (guest-loader nodes included), adds /chosen/bad-vm.
    Returns (path, None) or (None, reason)."""
    return make_dtb_with(ctx, modules, machine, workdir, BAD_VM)


# Moved to qemu.py (the passthrough tests use it too).
make_dtb_with = qemu.make_dtb_with


def test_bad_config(ctx, gic):
    name = f"v{gic}/bad_config"
    machine = qemu.machine(gic)
    modules = [qemu.Module(ctx.testguest, "mode=ticker count=5"),
               qemu.Module(ctx.testguest, "mode=ticker count=5")]
    missing = ctx.missing(ctx.image, ctx.testguest)
    if missing:
        return qemu.failure(name, missing)
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        dtb, err = make_bad_dtb(ctx, modules, machine, work)
        if err:
            return qemu.failure(name, err)
        run_, err = hv_runs(ctx, name, modules, machine, dtb=dtb)
    if err:
        return qemu.failure(name, err)
    t = run_.text
    reasons = [
        qemu.expect_all(t, [r"^error: /chosen/bad-vm\b",
                            r"^bulkhead: /chosen/bad-vm: VM not started"]),
        qemu.expect_none(t, [r"^bulkhead: (bad-vm|/chosen/bad-vm): started"]),
        # The two good VMs (named vm0 and vm1, as the modules come in that order) run to their end.
        *qemu.ends_cleanly(t, run_, ("vm0", "vm1")),
        qemu.expect_all(t, [qemu.prefixed("vm0", "ticker done"),
                            qemu.prefixed("vm1", "ticker done")]),
    ]
    return qemu.verdict(name, run_, *reasons)


# ---- explicit VM nodes: ours (pinned, sized) and Xen dom0less, beside a guest-loader VM ----

EXPLICIT_ADDR = 0x4A000000
DOM0LESS_ADDR = 0x4B000000
EXPLICIT_VMS = """
        alpha {{
            compatible = "bulkhead,vm";
            memory-size = <0x0 0x4000000>;
            cpus = <1>;
            pcpus = <2>;
            #address-cells = <2>;
            #size-cells = <2>;
            module@{a:x} {{
                compatible = "multiboot,kernel", "multiboot,module";
                reg = <0x0 0x{a:x} 0x0 0x{size:x}>;
                bootargs = "mode=ticker count=3";
            }};
        }};
        domU1 {{
            compatible = "xen,domain";
            memory = <0x0 0x10000>;
            cpus = <1>;
            #address-cells = <2>;
            #size-cells = <2>;
            module@{d:x} {{
                compatible = "multiboot,kernel", "multiboot,module";
                reg = <0x0 0x{d:x} 0x0 0x{size:x}>;
                bootargs = "mode=ticker count=3";
            }};
        }};
"""


def test_explicit_vms(ctx, gic):
    name = f"v{gic}/explicit_vms"
    machine = qemu.machine(gic)
    missing = ctx.missing(ctx.image, ctx.testguest)
    if missing:
        return qemu.failure(name, missing)
    modules = [qemu.Module(ctx.testguest, "mode=ticker count=3")]
    size = os.path.getsize(ctx.testguest)
    nodes = EXPLICIT_VMS.format(a=EXPLICIT_ADDR, d=DOM0LESS_ADDR, size=size)
    loaders = ["-device", f"loader,file={ctx.testguest},addr={EXPLICIT_ADDR:#x},force-raw=on",
               "-device", f"loader,file={ctx.testguest},addr={DOM0LESS_ADDR:#x},force-raw=on"]
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        dtb, err = make_dtb_with(ctx, modules, machine, work, nodes, smp=3)
        if err:
            return qemu.failure(name, err)
        cmd = qemu.command(ctx.image, modules, machine=machine, smp=3, dtb=dtb, extra=loaders)
        run_ = qemu.run(name, cmd, TIME_LIMIT)
    t = run_.text
    reasons = [
        qemu.expect_all(t, [r"^bulkhead: alpha: 1 vCPU, 64 MiB RAM",
                            r"^bulkhead: domU1: 1 vCPU, 64 MiB RAM"]),
        *qemu.ends_cleanly(t, run_, ("alpha", "domU1", "vm2")),
        qemu.expect_all(t, [qemu.prefixed("alpha", "ticker done"),
                            qemu.prefixed("domU1", "ticker done"),
                            qemu.prefixed("vm2", "ticker done")]),
    ]
    return qemu.verdict(name, run_, *reasons)


# ---- the hypervisor's RAM, sized at boot from the board and the VMs ----

FOOTPRINT = (r"^bulkhead: footprint (\d+) KiB \(image (\d+) KiB, VMs (\d+) KiB, vCPU stacks (\d+) "
             r"KiB, guest DTBs (\d+) KiB, bundle (\d+) KiB, SMMU (\d+) KiB\) \+ (\d+) KiB of page "
             r"tables \(and (\d+) of the image's early pages\)")
FOOTPRINT_MAX_KIB = 1024  # beside the page tables (issue 17)
# A 32-bit IPA's root (four concatenated pages), the level-2 and level-3 tables of the devices
# below 1 GiB, the GICv2 frame's: 6 pages at most; and RAM's level-3 tables (it is mapped by pages),
# one for each 2 MiB of it
TABLES_PER_VM_KIB = 24
RAM_MIB_PER_TABLE = 2
VM_RAM = r"^bulkhead: vm\d+: \d+ vCPUs?, (\d+) MiB RAM"


def test_footprint(ctx, gic, nr_vms, smp):
    """nr_vms ticking VMs (two to a CPU with 8: time-shared vCPUs) all run, and the banner's
    footprint (the image, the VMs' structures, vCPU stacks and guest DTBs) stays under 1 MiB
    with its parts adding up, the page tables beside it few: a 4 KiB table for each 2 MiB of the VMs'
    RAM and a handful more per VM."""
    name = f"v{gic}/footprint_{nr_vms}vms"
    missing = ctx.missing(ctx.image, ctx.testguest)
    if missing:
        return qemu.failure(name, missing)
    # 8 MiB apart, below QEMU's DTB (RAM + 128 MiB)
    modules = [qemu.Module(ctx.testguest, "mode=ticker count=3", addr=0x44000000 + i * 0x800000)
               for i in range(nr_vms)]
    cmd = qemu.command(ctx.image, modules, machine=qemu.machine(gic), smp=smp)
    run_ = qemu.run(name, cmd, TIME_LIMIT)
    t = run_.text
    vms = [f"vm{i}" for i in range(nr_vms)]
    m = re.search(FOOTPRINT, t, re.MULTILINE)
    reasons = [None if m else f"no line /{FOOTPRINT}/"]
    if m:
        total, image, vm_kib, stacks, dtbs, bundle, smmu, tables, _ = (int(x) for x in m.groups())
        parts = image + vm_kib + stacks + dtbs + bundle + smmu
        ram_mib = sum(int(x) for x in re.findall(VM_RAM, t, re.MULTILINE))
        tables_max_kib = TABLES_PER_VM_KIB * nr_vms + 4 * -(-ram_mib // RAM_MIB_PER_TABLE)
        reasons += [
            None if total < FOOTPRINT_MAX_KIB else f"footprint {total} KiB, not under 1 MiB",
            None if parts <= total <= parts + 8 else f"footprint {total} KiB, parts {parts} KiB",
            None if vm_kib > 0 and dtbs > 0 else "no VM or guest DTB in the footprint",
            None if tables <= tables_max_kib
            else f"{tables} KiB of page tables for {nr_vms} VMs ({ram_mib} MiB of RAM), more "
                 f"than {tables_max_kib} KiB",
        ]
    reasons += [*qemu.ends_cleanly(t, run_, vms),
                qemu.expect_all(t, [qemu.prefixed(vm, "ticker done") for vm in vms])]
    return qemu.verdict(name, run_, *reasons)


# ---- boot modules where no module may be: refused by name before anything reads them ----

HYP_BASE = 0x40200000  # where QEMU virt loads the hypervisor image (RAM + 2 MiB)
MODULE_OUTSIDE_RAM = 0x100000  # flash on virt: QEMU's guest-loader still puts a module there


def elf_symbols(elf, names):
    """{name: value} of the ELF's symbols, or (None, reason)."""
    nm = qemu.which("aarch64-linux-gnu-nm") or qemu.which("nm")
    if not nm:
        return None, "nm not found"
    p = subprocess.run([nm, elf], capture_output=True, text=True)
    syms = {}
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) == 3 and f[2] in names:
            syms[f[2]] = int(f[0], 16)
    missing = [n for n in names if n not in syms]
    return (None, f"{elf}: no symbol {missing[0]}") if missing else (syms, None)


def module_refused(ctx, gic, name, bad, expected_error):
    """Runs the bad module (as vm0) beside a good ticker VM: the bad one must be refused with
    expected_error naming its node, the good one (then vm0) must run and the machine power off."""
    machine = qemu.machine(gic)
    good = qemu.Module(ctx.testguest, "mode=ticker count=3", addr=0x46000000)
    run_, err = hv_runs(ctx, name, [bad, good], machine)
    if err:
        return qemu.failure(name, err)
    t = run_.text
    bad_node = f"/chosen/module@{bad.addr:#010x}"  # QEMU's node names have 8 hex digits
    reasons = [
        qemu.expect_all(t, [r"^Bulkhead hypervisor \(qemu-virt\) at "
                            + qemu.esc(f"{HYP_BASE:#x}")]),
        qemu.expect_ordered(t, [expected_error,
                                r"^bulkhead: " + qemu.esc(bad_node) + r": VM not started"]),
        qemu.expect_none(t, [r"^bulkhead: vm1: ", r"^bulkhead: PANIC"]),
        *qemu.ends_cleanly(t, run_, ("vm0",)),
        qemu.expect_all(t, [qemu.prefixed("vm0", "ticker done")]),
    ]
    return qemu.verdict(name, run_, *reasons)


def test_module_in_hypervisor(ctx, gic):
    """An initrd inside the hypervisor's bss: QEMU allows it (the image file ends before the bss),
    and before the fix the VM got a copy of live hypervisor memory."""
    name = f"v{gic}/module_in_hypervisor"
    missing = ctx.missing(ctx.image, ctx.testguest)
    if missing:
        return qemu.failure(name, missing)
    elf = os.path.join(os.path.dirname(ctx.image), "bulkhead.elf")
    syms, err = elf_symbols(elf, ("__bss_start", "__bss_end", "__image_end"))
    if err:
        return qemu.failure(name, err)
    size = 0x1000
    addr = HYP_BASE + ((syms["__bss_start"] + syms["__bss_end"]) // 2 & ~0xfff)
    if addr < HYP_BASE + os.path.getsize(ctx.image) or addr + size > HYP_BASE + syms["__image_end"]:
        return qemu.failure(name, f"no room for a 4 KiB module in the bss at {addr:#x}")
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        initrd = os.path.join(work, "initrd.bin")
        with open(initrd, "wb") as f:
            f.write(b"\xa5" * size)
        bad = qemu.Module(ctx.testguest, "mode=ticker count=3", addr=0x44000000, initrd=initrd,
                          initrd_addr=addr)
        error = (r"^error: "
                 + qemu.esc(f"/chosen/module@{addr:#010x}: ramdisk module {addr:#x}+0x1000")
                 + r" overlaps the hypervisor \(" + qemu.esc(f"{HYP_BASE:#x}") + r"\+")
        result = module_refused(ctx, gic, name, bad, error)
    return result


def test_module_outside_ram(ctx, gic):
    """A kernel module outside RAM: before the fix, the hypervisor's data abort in layout_vm."""
    name = f"v{gic}/module_outside_ram"
    missing = ctx.missing(ctx.image, ctx.testguest)
    if missing:
        return qemu.failure(name, missing)
    bad = qemu.Module(ctx.testguest, "mode=ticker count=3", addr=MODULE_OUTSIDE_RAM)
    error = (r"^error: " + qemu.esc(f"/chosen/module@{MODULE_OUTSIDE_RAM:#010x}: kernel module "
                                   f"{MODULE_OUTSIDE_RAM:#x}+") + HEX + r" lies outside RAM")
    return module_refused(ctx, gic, name, bad, error)


# ---- a guest faulting in a loop does not flood the console the VMs share ----

def test_fault_flood(ctx):
    name = "v3/fault_flood"
    machine = qemu.MACHINE_V3
    run_, err = hv_runs(ctx, name, [qemu.Module(ctx.testguest, "mode=faultloop count=100"),
                                    qemu.Module(ctx.testguest, "mode=ticker count=3")], machine)
    if err:
        return qemu.failure(name, err)
    t = run_.text
    reasons = [
        qemu.expect_all(t, [qemu.prefixed("vm0", r"faultloop: 100 of 100 loads aborted"),
                            qemu.prefixed("vm1", "ticker done")]),
        qemu.expect_count(t, r"^bulkhead: vm0: no RAM or device at IPA", 32),
        qemu.expect_count(t, r"^bulkhead: vm0: more faults than 32: not reported", 1),
        *qemu.ends_cleanly(t, run_, ("vm0", "vm1")),
    ]
    return qemu.verdict(name, run_, *reasons)


def test_long_cmdline(ctx):
    """A hypervisor command line longer than it keeps: the warning, printed while the board's DTB
    is read and before the console exists, is not lost; the options it kept apply."""
    name = "v3/long_cmdline"
    missing = ctx.missing(ctx.image, ctx.testguest)
    if missing:
        return qemu.failure(name, missing)
    append = "bulkhead.vm-memory=128M " + "x" * 600
    cmd = qemu.command(ctx.image, [qemu.Module(ctx.testguest, "mode=ticker count=2")],
                       machine=qemu.MACHINE_V3, append=append)
    run_ = qemu.run(name, cmd, TIME_LIMIT)
    t = run_.text
    reasons = [
        qemu.expect_ordered(t, [r"^error: /chosen: bootargs is longer than 511 bytes: truncated",
                                r"^Bulkhead hypervisor",
                                r"^bulkhead: vm0: 2 vCPU, 128 MiB RAM",
                                qemu.prefixed("vm0", "ticker done")]),
        *qemu.ends_cleanly(t, run_, ("vm0",)),
    ]
    return qemu.verdict(name, run_, *reasons)


# ---- PSCI races on one 2-vCPU VM: both vCPUs resetting it at once; every vCPU off ----

RACE_RESETS = 50  # the race needs tries: before the fix, about one in 20 deadlocked
RACE_TIME_LIMIT = 60  # a passing run takes a few seconds; a deadlock never ends


def test_reset_race(ctx, gic):
    """Both vCPUs of vm0 call SYSTEM_RESET at the same moment, RACE_RESETS times: each time exactly
    one reset happens, and the VM powers off after the last."""
    name = f"v{gic}/reset_race"
    missing = ctx.missing(ctx.image, ctx.testguest)
    if missing:
        return qemu.failure(name, missing)
    module = qemu.Module(ctx.testguest, f"mode=resetrace count={RACE_RESETS}")
    cmd = qemu.command(ctx.image, [module], machine=qemu.machine(gic), smp=2)
    run_ = qemu.run(name, cmd, RACE_TIME_LIMIT)
    t = run_.text
    reset_line = r"^bulkhead: vm0: reset\b"
    reasons = [
        qemu.expect_all(t, [r"^bulkhead: vm0: 2 vCPU"]),
        qemu.expect_none(t, [qemu.prefixed("vm0", r"FAIL\b.*"), r"^bulkhead: vm0: stopped"]),
        qemu.expect_ordered(t, [qemu.prefixed("vm0", f"resetrace: boot {i}")
                                for i in range(RACE_RESETS + 1)]
                            + [qemu.prefixed("vm0", "resetrace done")]),
        qemu.expect_count(t, reset_line, RACE_RESETS),
        *qemu.ends_cleanly(t, run_, ("vm0",)),
    ]
    return qemu.verdict(name, run_, *reasons)


def test_cpu_off_all(ctx, gic):
    """vm0 turns both its vCPUs off with CPU_OFF: nothing can start them again, so the VM is off,
    and with it the machine."""
    name = f"v{gic}/cpu_off_all"
    missing = ctx.missing(ctx.image, ctx.testguest)
    if missing:
        return qemu.failure(name, missing)
    cmd = qemu.command(ctx.image, [qemu.Module(ctx.testguest, "mode=cpuoff")],
                       machine=qemu.machine(gic), smp=2)
    run_ = qemu.run(name, cmd, RACE_TIME_LIMIT)
    t = run_.text
    off_line = r"^bulkhead: vm0: powered off \(no vCPU left on\)"
    reasons = [
        qemu.expect_all(t, [r"^bulkhead: vm0: 2 vCPU"]),
        qemu.expect_none(t, [qemu.prefixed("vm0", r"FAIL\b.*"), qemu.prefixed("vm0", r"guest: .*"),
                             r"^bulkhead: vm0: stopped"]),
        qemu.expect_ordered(t, [qemu.prefixed("vm0", "cpuoff: CPU 1 off"),
                                qemu.prefixed("vm0", "cpuoff: CPU 0 off"), off_line,
                                r"^bulkhead: no VM running, powering off"]),
        qemu.expect_count(t, r"^bulkhead: vm0: powered off", 1),
        *qemu.ends_cleanly(t, run_, ("vm0",)),
    ]
    return qemu.verdict(name, run_, *reasons)


def test_garbage_kernel(ctx, gic):
    """vm0's kernel is eight bytes of text: it runs into them, its exception vector (nothing at
    VBAR 0) faults each time it is sent there, and it can never go on. It is stopped, saying so,
    while vm1 runs to its end; then the machine powers off by itself, not held up forever."""
    name = f"v{gic}/garbage_kernel"
    missing = ctx.missing(ctx.image, ctx.testguest)
    if missing:
        return qemu.failure(name, missing)
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        garbage = os.path.join(work, "garbage.bin")
        with open(garbage, "wb") as f:
            f.write(b"garbage!")
        modules = [qemu.Module(garbage), qemu.Module(ctx.testguest, "mode=ticker count=3")]
        cmd = qemu.command(ctx.image, modules, machine=qemu.machine(gic), smp=2)
        run_ = qemu.run(name, cmd, RACE_TIME_LIMIT)
    t = run_.text
    reasons = [
        qemu.expect_all(t, [r"^bulkhead: vm0: stopped: its exception vector faults at once",
                            qemu.prefixed("vm1", "ticker done"),
                            r"^bulkhead: vm1: powered off",
                            r"^bulkhead: no VM running, powering off"]),
        qemu.expect_exit(run_),
    ]
    return qemu.verdict(name, run_, *reasons)


CRASHER_ADDR = 0x4A000000
CRASHER_VM = """
        crasher {{
            compatible = "bulkhead,vm";
            memory-size = <0x0 0x4000000>;
            cpus = <1>;
            bulkhead,on-crash = "restart";
            bulkhead,restart-limit = <2>;
            #address-cells = <2>;
            #size-cells = <2>;
            module@{a:x} {{
                compatible = "multiboot,kernel", "multiboot,module";
                reg = <0x0 0x{a:x} 0x0 0x{size:x}>;
                bootargs = "mode=crash";
            }};
        }};
"""


def test_on_crash_restart(ctx, gic):
    """A VM with bulkhead,on-crash = "restart" and a limit of 2 that crashes at every boot (an
    access the hypervisor cannot emulate): it is restarted twice, each time saying so, then stays
    stopped; the VM beside it runs to its end and the machine powers off."""
    name = f"v{gic}/on_crash_restart"
    machine = qemu.machine(gic)
    missing = ctx.missing(ctx.image, ctx.testguest)
    if missing:
        return qemu.failure(name, missing)
    modules = [qemu.Module(ctx.testguest, "mode=ticker count=3")]
    nodes = CRASHER_VM.format(a=CRASHER_ADDR, size=os.path.getsize(ctx.testguest))
    loaders = ["-device", f"loader,file={ctx.testguest},addr={CRASHER_ADDR:#x},force-raw=on"]
    os.makedirs(qemu.LOG_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qemu.LOG_DIR) as work:
        dtb, err = qemu.make_dtb_with(ctx, modules, machine, work, nodes)
        if err:
            return qemu.failure(name, err)
        cmd = qemu.command(ctx.image, modules, machine=machine, dtb=dtb, extra=loaders)
        run_ = qemu.run(name, cmd, RACE_TIME_LIMIT)
    t = run_.text
    stop = r"^bulkhead: crasher: stopped: device access that cannot be emulated"
    reasons = [
        qemu.expect_ordered(t, [stop, r"^bulkhead: crasher: restarting \(on-crash restart: 1 of 2\)",
                                stop, r"^bulkhead: crasher: restarting \(on-crash restart: 2 of 2\)",
                                stop, r"^bulkhead: crasher: restarted 2 times already: it stays "
                                      r"stopped"]),
        qemu.expect_count(t, stop, 3),
        qemu.expect_all(t, [qemu.prefixed("vm1", "ticker done"), r"^bulkhead: vm1: powered off",
                            r"^bulkhead: no VM running, powering off"]),
        qemu.expect_exit(run_),
    ]
    return qemu.verdict(name, run_, *reasons)


# ---- the hypervisor's own fault report: bulkhead.selftest=panic faults on purpose ----

def test_panic_report(ctx):
    name = "panic_report"
    missing = ctx.missing(ctx.image)
    if missing:
        return qemu.failure(name, missing)
    cmd = qemu.command(ctx.image, [], machine=qemu.MACHINE_V3, append="bulkhead.selftest=panic")
    run_ = qemu.run(name, cmd, TIME_LIMIT)
    t = run_.text
    reasons = [
        qemu.expect_ordered(t, [r"^bulkhead: PANIC on CPU 0: .*data abort at EL2",
                                r"ESR_EL2 0x0*96000005 +FAR_EL2 0x0*7ff0000000",
                                r"PC 0x[0-9a-f]+ selftest_panic\+0x",
                                r"LR 0x[0-9a-f]+ hyp_main\+0x", r"^\s*x0 ", r"^backtrace:",
                                r"primary_entry\+0x"]),
        qemu.expect_exit(run_),
    ]
    return qemu.verdict(name, run_, *reasons)


# ---- (d) the test guest itself, on the bare board (no hypervisor) ----

def bare(ctx, name, kernel, append):
    missing = ctx.missing(kernel)
    if missing:
        return None, missing
    cmd = qemu.command(kernel, (), machine="virt", smp=1, append=append)
    return qemu.run(name, cmd, TIME_LIMIT), None


def test_guests_bare(ctx):
    name = "guests_bare"
    run_, err = bare(ctx, name, ctx.testguest, "mode=selftest")
    if err:
        return qemu.failure(name, err)
    t = run_.text
    reasons = [
        qemu.expect_none(t, [r"^FAIL\b.*", r"^guest: unexpected"]),
        qemu.expect_all(t, [r"^PASS " + qemu.esc(c) + r"\s*$" for c in BARE_CHECKS]),
        qemu.expect_all(t, [r"^DONE passed=%d failed=0\s*$" % len(BARE_CHECKS)]),
        qemu.expect_exit(run_),
    ]
    return qemu.verdict(name, run_, *reasons)


def test_demo_bare(ctx):
    name = "demo_bare"
    run_, err = bare(ctx, name, ctx.demo, "name=alpha")
    if err:
        return qemu.failure(name, err)
    t = run_.text
    reasons = [
        qemu.expect_ordered(t, [r"^Hello from alpha\b", r"1024 MiB of RAM", r"bootargs \"name=alpha\"",
                                r"^alpha counts 5", r"^alpha says goodbye"]),
        qemu.expect_exit(run_),
    ]
    return qemu.verdict(name, run_, *reasons)


def cases(build):
    """[(name, callable returning a Result)], the bare-board guest tests first (they are quick)."""
    ctx = Ctx(build)
    out = [("guests_bare", lambda: test_guests_bare(ctx)),
           ("demo_bare", lambda: test_demo_bare(ctx))]
    for gic in (3, 2):
        out += [(f"v{gic}/selftest", lambda g=gic: test_selftest(ctx, g)),
                (f"v{gic}/crash", lambda g=gic: test_crash(ctx, g)),
                (f"v{gic}/bad_config", lambda g=gic: test_bad_config(ctx, g)),
                (f"v{gic}/explicit_vms", lambda g=gic: test_explicit_vms(ctx, g)),
                (f"v{gic}/reset_race", lambda g=gic: test_reset_race(ctx, g)),
                (f"v{gic}/cpu_off_all", lambda g=gic: test_cpu_off_all(ctx, g)),
                (f"v{gic}/garbage_kernel", lambda g=gic: test_garbage_kernel(ctx, g)),
                (f"v{gic}/on_crash_restart", lambda g=gic: test_on_crash_restart(ctx, g)),
                (f"v{gic}/footprint_2vms", lambda g=gic: test_footprint(ctx, g, 2, 2)),
                (f"v{gic}/footprint_8vms", lambda g=gic: test_footprint(ctx, g, 8, 4))]
    for gic in (3, 2):
        out += [(f"v{gic}/module_in_hypervisor", lambda g=gic: test_module_in_hypervisor(ctx, g)),
                (f"v{gic}/module_outside_ram", lambda g=gic: test_module_outside_ram(ctx, g))]
    out.append(("panic_report", lambda: test_panic_report(ctx)))
    out.append(("v3/fault_flood", lambda: test_fault_flood(ctx)))
    out.append(("v3/long_cmdline", lambda: test_long_cmdline(ctx)))
    return out


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
