#!/usr/bin/env python3
"""`make bench`: runs the benchmark guest (tests/guest/bench.c) on QEMU virt
with GICv3 and GICv2, under Bulkhead and on the bare board, with -icount shift=0,sleep=off (one
instruction = 1 ns of virtual time, the same counts run after run), and writes
docs/PERFORMANCE.md and docs/bench.json: per operation the instructions it costs on bare QEMU,
under Bulkhead and the difference (the cost that is ours), against the budgets of
tests/bench/budget.json; the image's size and footprint; and, unless --no-profile, where the
hypervisor's instructions go (tests/bench/profile_exits.py, about two minutes).

Each configuration runs twice and must give the same figures. Standard library only.

    tests/bench/run_bench.py [--build build/qemu-virt] [--no-profile] [--no-write]
"""

import datetime
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
sys.path.insert(0, HERE)
import qemu  # noqa: E402

ICOUNT = ["-icount", "shift=0,sleep=off"]
TIME_LIMIT = 120  # seconds per QEMU run; one takes a few
GICS = (3, 2)
RUNS = 2  # per configuration, to check that the figures are deterministic
BUDGET_FILE = os.path.join(HERE, "budget.json")
DOC = os.path.join("docs", "PERFORMANCE.md")
JSON_OUT = os.path.join("docs", "bench.json")
CROSS = os.environ.get("CROSS_COMPILE", "aarch64-linux-gnu-")

# (op, what it is, the op that is its bare-QEMU reference). BH_HVC_NULL does not exist on the
# bare board: its reference is PSCI_VERSION, which QEMU answers itself there.
OPS = (
    ("hvc_null", "HVC round trip, BH_HVC_NULL", "psci_version"),
    ("psci_version", "HVC round trip, PSCI_VERSION", "psci_version"),
    ("mmio_read", "Trapped MMIO read, PL011 UARTFR", "mmio_read"),
    ("mmio_write", "Trapped MMIO write, PL011 UARTIMSC", "mmio_write"),
    ("gicd_read", "vGIC distributor read, GICD_IIDR", "gicd_read"),
    ("ack_eoi", "Ack + EOI of a virtual SGI (must not exit)", "ack_eoi"),
    ("timer", "Virtual timer, deadline to handler, vCPU running", "timer"),
    ("timer_wfi", "Virtual timer, deadline to handler, vCPU in WFI", "timer_wfi"),
    ("ipi", "Virtual IPI, send to handler on the other vCPU (in WFI)", "ipi"),
    ("pt_irq", "Passed-through device interrupt, device raises to handler", "pt_irq"),
    ("doorbell", "Shared-memory doorbell, ring (hypercall) to handler, same vCPU", "doorbell"),
    ("doorbell_peer", "Shared-memory doorbell, ring (hypercall) to the peer VM's handler (in WFI)",
     "doorbell_peer"),
    ("net_notify", "virtio-net notify exit, empty transmit queue", "net_notify"),
    ("net_frame", "virtio-net 1500-byte frame into the other VM's receive buffer (64 a notify)",
     "net_frame"),
    ("net_ping", "virtio-net round trip, a 64-byte frame to the other VM (in WFI) and back",
     "net_ping"),
    ("noisy_idle", "Virtual timer in WFI, beside a VM idle on another CPU", "timer_wfi"),
    ("noisy_storm", "Virtual timer in WFI, beside a VM storming on another CPU", "timer_wfi"),
    ("vcpu_switch", "vCPU switch between two VMs sharing a CPU, WFI to the other's first "
     "counter read", "vcpu_switch"),
    ("boot", "Reset to the guest's first instruction", "boot"),
)

# pt_irq needs a device to pass through: the board's second PL011 (QEMU 10 virt: 0x09040000,
# SPI 8, present with two -serial), in a configuration of its own ("pt") so that the others' runs
# stay as they were. Under Bulkhead the VM is a bulkhead,vm node added to QEMU's DTB that passes
# the device through; on the bare board the same guest drives it directly.
# doorbell needs a shared-memory region with its doorbell: the same configuration's VM maps one
# (bulkhead,shared-memory "bench"); the bare board has none, so doorbell has no bare figure.
# doorbell_peer rings a second VM (vm1: the same guest with role=echo, one vCPU on a CPU of its
# own, so this configuration's board has PT_SMP CPUs), which rings back.
# The net_* rows (issue 12) use the same two VMs, each with a virtio-net port on the switch
# "bench": vm1's echo role answers the frames vm0 sends.
PT_OPS = ("pt_irq", "doorbell", "doorbell_peer", "net_notify", "net_frame", "net_ping")
PT_SMP = 3
PT_SERIALS = ["-serial", "mon:stdio", "-serial", "null"]
PT_DEVICE = "/pl011@9040000"
PT_VM_NODE = """
        shm-bench {{
            compatible = "bulkhead,shared-memory";
            bulkhead,shm-id = "bench";
            size = <0x0 0x1000>;
        }};
        vm0 {{
            compatible = "bulkhead,vm";
            memory-size = <0x0 0x10000000>;
            cpus = <2>;
            #address-cells = <2>;
            #size-cells = <2>;
            bulkhead,passthrough = "{device}";
            module@{addr:x} {{
                compatible = "multiboot,kernel", "multiboot,module";
                reg = <0x0 0x{addr:x} 0x0 0x{size:x}>;
                bootargs = "{bootargs0}";
            }};
            shm@70000000 {{
                compatible = "bulkhead,shared-memory-map";
                bulkhead,shm-id = "bench";
                bulkhead,ipa = <0x0 0x70000000>;
            }};
            net {{
                compatible = "bulkhead,virtio-net";
                bulkhead,switch = "bench";
            }};
        }};
        vm1 {{
            compatible = "bulkhead,vm";
            memory-size = <0x0 0x1000000>;
            cpus = <1>;
            #address-cells = <2>;
            #size-cells = <2>;
            module@{addr:x} {{
                compatible = "multiboot,kernel", "multiboot,module";
                reg = <0x0 0x{addr:x} 0x0 0x{size:x}>;
                bootargs = "role=echo";
            }};
            shm@70000000 {{
                compatible = "bulkhead,shared-memory-map";
                bulkhead,shm-id = "bench";
                bulkhead,ipa = <0x0 0x70000000>;
            }};
            net {{
                compatible = "bulkhead,virtio-net";
                bulkhead,switch = "bench";
            }};
        }};
"""

# The noisy-neighbour rows (issue 14): timer_wfi of a VM on physical CPU 0 (the benchmark guest
# with noisy=KIND and NOISY_ROUNDS rounds, one vCPU) beside a second VM on CPU 1
# (tests/guest/hostile.c, one vCPU) that waits in WFI (idle) or storms for NOISY_MS (its virtual
# and physical timers re-armed every 10 us, and per turn of its loop an SGI to itself, an HVC,
# two trapped MMIO reads and a WFI), longer than the measurement; each kind a configuration of
# its own, under Bulkhead only (bare, the reference is timer_wfi). The measured VM is on CPU 0:
# under -icount QEMU runs the CPUs round-robin in index order after a timer fires, so on CPU 1
# it would wait for CPU 0's whole time slice (milliseconds), an artifact of the emulator.
NOISY_KINDS = ("idle", "storm")
NOISY_OPS = tuple("noisy_" + k for k in NOISY_KINDS)
NOISY_ROUNDS = 1000
NOISY_MS = 100
NOISY_NEIGHBOUR = {"idle": "phases=idle idle_ms={ms}", "storm": "phases=storm storm_ms={ms}"}
NOISY_ADDRS = (0x44000000, 0x45000000)  # the two guests' images (QEMU's DTB is at 0x48000000)
NOISY_VM_NODES = """
        vm0 {{
            compatible = "bulkhead,vm";
            memory-size = <0x0 0x4000000>;
            cpus = <1>;
            pcpus = <0>;
            #address-cells = <2>;
            #size-cells = <2>;
            module@{addr0:x} {{
                compatible = "multiboot,kernel", "multiboot,module";
                reg = <0x0 0x{addr0:x} 0x0 0x{size0:x}>;
                bootargs = "hyp=1 noisy={kind} rounds={rounds}";
            }};
        }};
        vm1 {{
            compatible = "bulkhead,vm";
            memory-size = <0x0 0x4000000>;
            cpus = <1>;
            pcpus = <1>;
            #address-cells = <2>;
            #size-cells = <2>;
            module@{addr1:x} {{
                compatible = "multiboot,kernel", "multiboot,module";
                reg = <0x0 0x{addr1:x} 0x0 0x{size1:x}>;
                bootargs = "{neighbour}";
            }};
        }};
"""

# The vCPU switch row (issue 15): two VMs of one vCPU each on physical CPU 0, equal priority,
# the priority policy with SWITCH_SLICE_US slices: vm0 (the benchmark guest with switch=1) waits
# in WFI with nothing pending, which switches the CPU to vm1 (the same guest with role=switch,
# spinning on their shared region); bench_vcpu_switch in bench.c says what is measured. A
# configuration of its own, under Bulkhead only (bare, there is no switch: no figure). The
# short slice only makes the rounds short: vm0's timer takes the CPU back at the end of vm1's
# slice. CPU 1 has no vCPU and idles.
SWITCH_OPS = ("vcpu_switch",)
SWITCH_SLICE_US = 100  # the least bulkhead,time-slice-us accepts
SWITCH_ADDRS = NOISY_ADDRS  # the two guests' images, both bench.bin
SWITCH_BOOTARGS = ("hyp=1 switch=1", "role=switch")  # the measuring VM, then the spinning one
SWITCH_SHM_NODE = """
        shm-switch {
            compatible = "bulkhead,shared-memory";
            bulkhead,shm-id = "switch";
            size = <0x0 0x1000>;
        };
"""
SWITCH_VM_NODE = """
        vm{n} {{
            compatible = "bulkhead,vm";
            memory-size = <0x0 0x4000000>;
            cpus = <1>;
            pcpus = <0>;
            #address-cells = <2>;
            #size-cells = <2>;
            module@{addr:x} {{
                compatible = "multiboot,kernel", "multiboot,module";
                reg = <0x0 0x{addr:x} 0x0 0x{size:x}>;
                bootargs = "{bootargs}";
            }};
            shm@70000000 {{
                compatible = "bulkhead,shared-memory-map";
                bulkhead,shm-id = "switch";
                bulkhead,ipa = <0x0 0x70000000>;
            }};
        }};
"""
SWITCH_SCHEDULE_NODE = """
        schedule-cpu0 {{
            compatible = "bulkhead,schedule";
            bulkhead,cpus = <0>;
            bulkhead,policy = "priority";
            bulkhead,time-slice-us = <{slice}>;
        }};
"""


def switch_vm_nodes(size):
    """The vCPU switch configuration's nodes for /chosen: the region the two VMs share, the two
    VMs on CPU 0 (the guest, size bytes, at each of SWITCH_ADDRS) and CPU 0's schedule."""
    vms = "".join(SWITCH_VM_NODE.format(n=n, addr=addr, size=size, bootargs=bootargs)
                  for n, (addr, bootargs) in enumerate(zip(SWITCH_ADDRS, SWITCH_BOOTARGS)))
    return SWITCH_SHM_NODE + vms + SWITCH_SCHEDULE_NODE.format(slice=SWITCH_SLICE_US)


LINE_RE = re.compile(r"^(?:\[vm0\] )?BENCH (.*?)\s*$", re.MULTILINE)


class BenchError(Exception):
    pass


class Figures:
    """One run's figures: ops[op] = instructions (ns of virtual time) per operation. pt: the
    run of the passthrough configuration whose PT_OPS figures were merged in, if any."""

    def __init__(self, info, ops, raw, run_):
        self.info, self.ops, self.raw, self.run = info, ops, raw, run_
        self.pt = None
        self.noisy = {}
        self.switch = None

    def merge_switch(self, switch):
        """Takes SWITCH_OPS from switch, the vCPU switch configuration's figures."""
        self.switch = switch
        for op in SWITCH_OPS:
            self.ops.pop(op, None)
            self.raw.pop(op, None)
            if op in switch.ops:
                self.ops[op], self.raw[op] = switch.ops[op], switch.raw[op]

    def merge_noisy(self, kind, noisy):
        """Takes noisy_<kind> from noisy, that noisy-neighbour configuration's figures."""
        self.noisy[kind] = noisy
        op = "noisy_" + kind
        self.ops.pop(op, None)
        self.raw.pop(op, None)
        if op in noisy.ops:
            self.ops[op], self.raw[op] = noisy.ops[op], noisy.raw[op]

    def merge_pt(self, pt):
        """Takes PT_OPS from pt, the passthrough configuration's figures."""
        self.pt = pt
        for op in PT_OPS:
            self.ops.pop(op, None)
            self.raw.pop(op, None)
            if op in pt.ops:
                self.ops[op], self.raw[op] = pt.ops[op], pt.raw[op]


def paths(build):
    return qemu.image_path(build), qemu.guest_path(build, "bench")


def pt_dtb_path(build, gic):
    return os.path.join(build, f"bench-pt-v{gic}.dtb")


def pt_guest_addr():
    return qemu.MODULE_ADDRS[0]


def make_pt_dtb(build, gic, bootargs0="hyp=1", out=None):
    """The host DTB of the passthrough configuration under Bulkhead: QEMU's own (dumped with
    the same board and serial lines) with PT_VM_NODE in /chosen, vm0's bootargs bootargs0;
    written to out (default pt_dtb_path()). Raises BenchError."""
    image, guest = paths(build)
    out = out or pt_dtb_path(build, gic)
    nodes = PT_VM_NODE.format(device=PT_DEVICE, addr=pt_guest_addr(),
                              size=os.path.getsize(guest), bootargs0=bootargs0)
    with tempfile.TemporaryDirectory(dir=build) as work:
        dtb, err = qemu.make_dtb_with(qemu.Build(build), [], qemu.machine(gic), work, nodes,
                                      smp=PT_SMP, extra=PT_SERIALS, need_modules=False)
        if err:
            raise BenchError(f"passthrough DTB: {err}")
        os.replace(dtb, out)
    return out


def noisy_dtb_path(build, gic, kind):
    return os.path.join(build, f"bench-noisy-{kind}-v{gic}.dtb")


def hostile_path(build):
    return qemu.guest_path(build, "hostile")


def make_noisy_dtb(build, gic, kind):
    """The host DTB of the noisy-neighbour configuration `kind` ("idle" or "storm"): QEMU's own
    with NOISY_VM_NODES in /chosen; written to noisy_dtb_path(). Raises BenchError."""
    _, guest = paths(build)
    nodes = NOISY_VM_NODES.format(addr0=NOISY_ADDRS[0], size0=os.path.getsize(guest),
                                  addr1=NOISY_ADDRS[1], size1=os.path.getsize(hostile_path(build)),
                                  kind=kind, rounds=NOISY_ROUNDS,
                                  neighbour=NOISY_NEIGHBOUR[kind].format(ms=NOISY_MS))
    with tempfile.TemporaryDirectory(dir=build) as work:
        dtb, err = qemu.make_dtb_with(qemu.Build(build), [], qemu.machine(gic), work, nodes,
                                      smp=2, need_modules=False)
        if err:
            raise BenchError(f"noisy-neighbour DTB: {err}")
        os.replace(dtb, noisy_dtb_path(build, gic, kind))
    return noisy_dtb_path(build, gic, kind)


def switch_dtb_path(build, gic):
    return os.path.join(build, f"bench-switch-v{gic}.dtb")


def make_switch_dtb(build, gic):
    """The host DTB of the vCPU switch configuration: QEMU's own with switch_vm_nodes() in
    /chosen; written to switch_dtb_path(). Raises BenchError."""
    _, guest = paths(build)
    nodes = switch_vm_nodes(os.path.getsize(guest))
    with tempfile.TemporaryDirectory(dir=build) as work:
        dtb, err = qemu.make_dtb_with(qemu.Build(build), [], qemu.machine(gic), work, nodes,
                                      smp=2, need_modules=False)
        if err:
            raise BenchError(f"vCPU switch DTB: {err}")
        os.replace(dtb, switch_dtb_path(build, gic))
    return switch_dtb_path(build, gic)


def bench_command(build, gic, hyp, bootargs="hyp=1", extra=(), pt=False, noisy=None,
                  switch=False):
    """The QEMU command line of one configuration: under Bulkhead, the guest is the only module
    (one VM with both CPUs) with bootargs; bare, it is the kernel, at EL1 with QEMU's DTB and
    PSCI. extra: more QEMU options, after -icount. pt: the passthrough configuration (two
    serial lines; under Bulkhead, pt_dtb_path()'s DTB, which make_pt_dtb() writes, and the
    guest loaded as a raw file where its VM node says). noisy: the noisy-neighbour configuration
    of that kind (under Bulkhead only: noisy_dtb_path()'s DTB, the two guests loaded raw).
    switch: the vCPU switch configuration (under Bulkhead only: switch_dtb_path()'s DTB, the
    guest loaded raw twice)."""
    image, guest = paths(build)
    if switch:
        loads = []
        for addr in SWITCH_ADDRS:
            loads += ["-device", f"loader,file={guest},addr={addr:#x},force-raw=on"]
        return qemu.command(image, (), machine=qemu.machine(gic), smp=2,
                            dtb=switch_dtb_path(build, gic), extra=[*ICOUNT, *loads, *extra])
    if noisy:
        loads = []
        for addr, path in zip(NOISY_ADDRS, (guest, hostile_path(build))):
            loads += ["-device", f"loader,file={path},addr={addr:#x},force-raw=on"]
        return qemu.command(image, (), machine=qemu.machine(gic), smp=2,
                            dtb=noisy_dtb_path(build, gic, noisy), extra=[*ICOUNT, *loads, *extra])
    if pt and hyp:
        loader = f"loader,file={guest},addr={pt_guest_addr():#x},force-raw=on"
        return qemu.command(image, (), machine=qemu.machine(gic), smp=PT_SMP,
                            dtb=pt_dtb_path(build, gic),
                            extra=[*ICOUNT, *PT_SERIALS, "-device", loader, *extra])
    if pt:
        extra = [*PT_SERIALS, *extra]
    if hyp:
        return qemu.command(image, [qemu.Module(guest, bootargs)], machine=qemu.machine(gic),
                            smp=2, extra=[*ICOUNT, *extra])
    return qemu.command(guest, (), machine=qemu.machine(gic, hyp=False), smp=2,
                        extra=[*ICOUNT, *extra])


def parse(text):
    """The guest's BENCH lines -> (info, ops, raw). Raises BenchError if it failed or stopped."""
    info, ops, raw, done = None, {}, {}, False
    for m in LINE_RE.finditer(text):
        words = m.group(1).split()
        fields = dict(w.split("=", 1) for w in words if "=" in w)
        if "error" in fields:
            raise BenchError(f"the guest says: {m.group(1)}")
        if words and words[0] == "start":
            info = fields
        elif words and words[0] == "done":
            done = True
        elif "op" in fields:
            raw[fields["op"]] = fields
    if info is None:
        raise BenchError("no 'BENCH start' line from the guest")
    if not done:
        raise BenchError("no 'BENCH done' line: the guest stopped half-way")
    freq = int(info["freq"])
    for op, f in raw.items():
        ns = int(f["ticks"]) * 1e9 / freq
        ops[op] = round(ns if f["kind"] == "once" else ns / int(f["n"]), 2)
    return info, ops, raw


def run_one(build, gic, hyp, name, time_limit=TIME_LIMIT, pt=False, noisy=None, switch=False):
    """Runs one configuration (pt: the passthrough one; noisy: a noisy-neighbour one, under
    Bulkhead; switch: the vCPU switch one, under Bulkhead); returns its Figures. Raises
    BenchError."""
    missing = qemu.missing(*paths(build)[0 if hyp else 1:])
    if noisy:
        missing = missing or qemu.missing(hostile_path(build), how="make guests")
    if missing:
        raise BenchError(missing)
    if pt and hyp:
        make_pt_dtb(build, gic)
    if noisy:
        make_noisy_dtb(build, gic, noisy)
    if switch:
        make_switch_dtb(build, gic)
    run_ = qemu.run(name, bench_command(build, gic, hyp, pt=pt, noisy=noisy, switch=switch),
                    time_limit)
    try:
        info, ops, raw = parse(run_.text)
    except BenchError as e:
        raise BenchError(f"{e} (log: {run_.log})") from None
    # The neighbour was what the figure says until the measurement's end.
    why = noisy and qemu.expect_ordered(run_.text, [r"^\[vm0\] BENCH done",
                                                    r"^\[vm1\] HOSTILE (idle|storm): "])
    if why:
        raise BenchError(f"the neighbour VM stopped before the measurement did: {why} (log: "
                         f"{run_.log})")
    # The peer took its turns until the end, and saw every round.
    why = switch and qemu.expect_ordered(run_.text, [r"^\[vm0\] BENCH done",
                                                     r"^\[vm1\] BENCH switch peer: \d+ rounds"])
    if why:
        raise BenchError(f"the peer VM did not end after the measurement: {why} (log: "
                         f"{run_.log})")
    why = qemu.expect_exit(run_)
    if why:
        raise BenchError(f"{why} (log: {run_.log})")
    return Figures(info, ops, raw, run_)


# The wall time of a NET_BULK_MIB transfer between the passthrough configuration's two VMs
# over virtio-net (vm0's bootargs net_mib=), reported, not gated: a run without -icount, where
# the guest's counter follows the host's clock (so it varies from run to run and machine to
# machine, unlike every other figure here).
NET_BULK_MIB = 64


def net_bulk_wall(build, gic, time_limit=300):
    """{"mib", "seconds", "mib_per_s"} of one NET_BULK_MIB transfer under Bulkhead. Raises
    BenchError."""
    image, guest = paths(build)
    dtb = make_pt_dtb(build, gic, f"hyp=1 net_mib={NET_BULK_MIB}",
                      os.path.join(build, f"bench-netbulk-v{gic}.dtb"))
    loader = f"loader,file={guest},addr={pt_guest_addr():#x},force-raw=on"
    cmd = qemu.command(image, (), machine=qemu.machine(gic), smp=PT_SMP, dtb=dtb,
                       extra=[*PT_SERIALS, "-device", loader])
    run_ = qemu.run(f"bench-netbulk-v{gic}", cmd, time_limit)
    try:
        info, _, raw = parse(run_.text)
    except BenchError as e:
        raise BenchError(f"{e} (log: {run_.log})") from None
    if "net_bulk" not in raw:
        raise BenchError(f"no net_bulk figure (log: {run_.log})")
    seconds = int(raw["net_bulk"]["ticks"]) / int(info["freq"])
    mib = int(raw["net_bulk"]["bytes"]) / (1 << 20)
    return {"mib": round(mib, 1), "seconds": round(seconds, 2),
            "mib_per_s": round(mib / seconds, 1) if seconds else None}


def run_both(build, gic, hyp, name, time_limit=TIME_LIMIT):
    """The configuration's Figures with the passthrough configuration's PT_OPS and, under
    Bulkhead, the noisy-neighbour configurations' NOISY_OPS and the vCPU switch
    configuration's SWITCH_OPS merged in (each a run of its own). Raises BenchError."""
    f = run_one(build, gic, hyp, name, time_limit)
    f.merge_pt(run_one(build, gic, hyp, name + "-pt", time_limit, pt=True))
    for kind in NOISY_KINDS if hyp else ():
        f.merge_noisy(kind, run_one(build, gic, hyp, f"{name}-noisy-{kind}", time_limit,
                                    noisy=kind))
    if hyp:
        f.merge_switch(run_one(build, gic, hyp, f"{name}-switch", time_limit, switch=True))
    return f


def measure(build, runs=RUNS, log=print):
    """{"v3": {"bulkhead": Figures, "bare": Figures}, ...}; each configuration (and its
    passthrough configuration) run `runs` times, which must agree. Raises BenchError."""
    out = {}
    for gic in GICS:
        out[f"v{gic}"] = {}
        for hyp in (True, False):
            where = "bulkhead" if hyp else "bare"
            first = None
            for i in range(runs):
                f = run_both(build, gic, hyp, f"bench-{where}-v{gic}-{i + 1}")
                log(f"  GICv{gic} {where:8} run {i + 1}: {f.run.seconds:.1f} s, passthrough "
                    f"{f.pt.run.seconds:.1f} s"
                    + "".join(f", noisy {k} {n.run.seconds:.1f} s" for k, n in f.noisy.items())
                    + (f", switch {f.switch.run.seconds:.1f} s" if f.switch else ""))
                if first is None:
                    first = f
                elif f.raw != first.raw:
                    diff = [op for op in first.raw if first.raw[op] != f.raw.get(op)]
                    raise BenchError(f"GICv{gic} {where}: runs 1 and {i + 1} differ in "
                                     f"{', '.join(diff)}: not deterministic ({f.run.log})")
            for op in PT_OPS:
                if op not in first.ops:
                    log(f"  GICv{gic} {where}: no {op} figure (the guest found no device to "
                        f"pass through: {first.pt.run.log})")
            out[f"v{gic}"][where] = first
    return out


# ---- the image: size, footprint and what dominates it ----

def tool(name, *args):
    return subprocess.run([CROSS + name, *args], capture_output=True, text=True,
                          check=True).stdout


def image_facts(build):
    elf = os.path.join(build, "bulkhead.elf")
    text, data, bss = (int(x) for x in tool("size", elf).splitlines()[1].split()[:3])
    syms = {}
    for line in tool("nm", elf).splitlines():
        p = line.split()
        if len(p) == 3:
            syms[p[2]] = int(p[0], 16)
    biggest = []
    for line in reversed(tool("nm", "-S", "--size-sort", elf).splitlines()):
        p = line.split()
        if len(p) == 4 and len(biggest) < 8:
            biggest.append({"symbol": p[3], "bytes": int(p[1], 16), "type": p[2]})
    return {
        "text": text, "data": data, "bss": bss,
        "footprint": syms["__image_end"] - syms["__image_start"],
        "largest_symbols": biggest,
    }


def qmp(sock_path, command_line):
    """One human-monitor command through QMP; returns its text."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock_path)
    f = s.makefile("rw")
    f.readline()  # greeting
    for cmd in ({"execute": "qmp_capabilities"},
                {"execute": "human-monitor-command",
                 "arguments": {"command-line": command_line}}):
        f.write(json.dumps(cmd) + "\n")
        f.flush()
        while True:
            reply = json.loads(f.readline())
            if "return" in reply or "error" in reply:
                break
    s.close()
    if "error" in reply:
        raise BenchError(f"QMP: {reply['error']}")
    return reply["return"]


# The banner's account of the hypervisor's RAM once the VMs exist (el2/main.c, print_footprint).
FOOTPRINT_LINE = (r"^bulkhead: footprint (\d+) KiB \(image (\d+) KiB, VMs (\d+) KiB, vCPU stacks "
                  r"(\d+) KiB, guest DTBs (\d+) KiB, bundle (\d+) KiB, SMMU (\d+) KiB\) \+ (\d+) "
                  r"KiB of page tables \(and (\d+) of the image's early pages\)")
FOOTPRINT_KEYS = ("total", "image", "vms", "vcpu_stacks", "guest_dtbs", "bundle", "smmu",
                  "page_tables", "early_table_pages")


def two_vm_facts(build, facts):
    """Boots two VMs (the test guest ticking) and reads what the hypervisor uses then: the RAM
    given to the VMs and the hypervisor's own, as its banner reports them once the VMs exist.
    Best effort: {} with a "note" when it cannot tell."""
    image = qemu.image_path(build)
    guest = qemu.guest_path(build, "testguest")
    ticker = "mode=ticker count=20 tick_ms=50"
    sock = os.path.join(qemu.LOG_DIR, f"bench-qmp-{os.getpid()}.sock")
    os.makedirs(os.path.dirname(sock), exist_ok=True)
    cmd = qemu.command(image, [qemu.Module(guest, ticker), qemu.Module(guest, ticker)],
                       extra=["-qmp", f"unix:{sock},server=on,wait=off"])
    proc = qemu.start(cmd, TIME_LIMIT, text=True)
    lines = []
    started = threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line)
            if re.match(r"bulkhead: vm1: started", line):
                started.set()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    out = {}
    try:
        if not started.wait(60):
            return {"note": "the two VMs did not start within 60 s"}
        text = "".join(lines)
        m = re.search(r"^Bulkhead hypervisor \(.*\) at (0x[0-9a-f]+)", text, re.MULTILINE)
        vms = re.findall(r"^bulkhead: (vm\d): (\d+) vCPU, (\d+) MiB RAM", text, re.MULTILINE)
        board = re.search(r"^bulkhead: board .*?(\d+) MiB RAM", text, re.MULTILINE)
        out["vm_ram_mib"] = {vm: int(mib) for vm, _, mib in vms}
        out["board_ram_mib"] = int(board.group(1)) if board else None
        fp = re.search(FOOTPRINT_LINE, text, re.MULTILINE)
        if fp:
            out["footprint_kib"] = dict(zip(FOOTPRINT_KEYS, (int(x) for x in fp.groups())))
            out["footprint_line"] = fp.group(0)
        out["load_address"] = m.group(1) if m else None
    except (OSError, ValueError, IndexError, BenchError) as e:
        out["note"] = f"could not read the footprint: {e}"
    finally:
        qemu.stop(proc)
        if os.path.exists(sock):
            os.unlink(sock)
    return out


# ---- the report ----

def load_budget():
    with open(BUDGET_FILE, encoding="utf-8") as f:
        return json.load(f)


def qemu_version():
    out = subprocess.run([qemu.QEMU, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0].strip() if out else "unknown"


def git_commit():
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                              text=True, cwd=ROOT).stdout.strip() or "unknown"
    except OSError:
        return "unknown"




def fmt(v, digits=1):
    """Thousands as whole numbers, smaller figures to `digits` decimals."""
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}".replace("-", "−")


# Rows whose figure is rounded down to a counter tick: 0 means "under 16".
TICK_ROUNDED = ("timer", "timer_wfi", "noisy_idle", "noisy_storm", "boot")


def to_json(results, budget, facts, vm_facts, profile, meta):
    doc = dict(meta)
    doc["unit"] = "instructions (ns of QEMU virtual time at -icount shift=0)"
    doc["results"] = {}
    for gic_key, where in results.items():
        rows = {}
        for op, what, ref in OPS:
            measured = where["bulkhead"].raw.get(op, {})
            hyp = where["bulkhead"].ops.get(op)
            bare = where["bare"].ops.get(ref)
            b = budget.get(gic_key, {}).get(op, {})
            rows[op] = {
                "what": what,
                "bulkhead": hyp,
                "bare": bare,
                "bare_reference": ref,
                "ours": round(hyp - bare, 2) if hyp is not None and bare is not None else None,
                "budget": b.get("max"),
                "within_budget": hyp is not None and b.get("max") is not None and hyp <= b["max"],
                "samples": int(measured.get("n", 1)),
            }
        doc["results"][gic_key] = rows
    doc["image"] = facts
    doc["two_vms"] = vm_facts
    if profile:
        doc["profile"] = profile
    return doc


def markdown(doc):
    r = doc["results"]
    L = []
    add = L.append
    add("# Performance")
    add("")
    add("<!-- Generated by `make bench` (tests/bench/run_bench.py): edit the script, not this "
        "file. -->")
    add("")
    add(f"Measured on {doc['date']} at commit `{doc['commit']}` with {doc['qemu']}, "
        f"`-cpu {doc['cpu']}`, `-icount {doc['icount']}`. Every figure is a count of "
        "**instructions**, not cycles (see [How](#how-it-is-measured)); each configuration ran "
        f"twice with identical results. Machine-readable: [bench.json](bench.json).")
    add("")
    add("## Exit costs and latencies")
    add("")
    add("Instructions per operation, guest and hypervisor together. *bare*: the same guest on "
        "QEMU without a hypervisor; *ours*: Bulkhead minus bare, the cost that is ours. "
        "*budget*: the most `make test` accepts ([budget.json](../tests/bench/budget.json)).")
    add("")
    add("| Operation | bare v3 | Bulkhead v3 | ours v3 | budget v3 | bare v2 | Bulkhead v2 | "
        "ours v2 | budget v2 |")
    add("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for op, what, ref in OPS:
        if op not in r["v3"] or op not in r["v2"]:
            continue  # --render of a bench.json from before the op existed
        cells = [what + (" ¹" if ref != op else "")]
        for g in ("v3", "v2"):
            row = r[g][op]
            flag = "" if row["within_budget"] else " ⚠"
            bare = "< 16" if op in TICK_ROUNDED and row["bare"] == 0 else fmt(row["bare"])
            cells += [bare, fmt(row["bulkhead"]) + flag, fmt(row["ours"]),
                      fmt(row["budget"], 0)]
        add("| " + " | ".join(cells) + " |")
    add("")
    add("¹ BH_HVC_NULL exists only under Bulkhead; its bare reference is PSCI_VERSION, which "
        "QEMU answers itself there (the `hvc` costs the one instruction).")
    add("")
    wall = doc.get("net_bulk_wall")
    if wall:
        add(f"**{NET_BULK_MIB} MiB between two VMs over virtio-net**, 1500-byte frames, 64 a "
            "notify, each batch acknowledged by the receiving VM (the passthrough "
            "configuration's two VMs, without `-icount`: wall time on this machine, reported, "
            "not gated): " + "; ".join(f"GIC{g} {w['seconds']} s ({w['mib_per_s']} MiB/s)"
                                        for g, w in sorted(wall.items(), reverse=True)) + ".")
        add("")
    hvc3, hvc2 = r["v3"]["hvc_null"]["ours"], r["v2"]["hvc_null"]["ours"]
    prof = doc.get("profile")
    hvc = prof["exits"].get("hvc") if prof else None
    add(f"**The hypervisor's instructions per exit on the HVC path**, vector to `eret`: "
        f"{fmt(hvc3)} (GICv3) and {fmt(hvc2)} (GICv2): the round trip under Bulkhead minus the "
        "one instruction it costs on the bare board." +
        (f" The exact trace ([profile_exits.py](../tests/bench/profile_exits.py), GICv"
         f"{prof['gic']}) counts {hvc['median']:,} on the median HVC exit." if hvc else ""))
    add("")
    add("Notes on the rows:")
    add("")
    add("- Loops (HVC, MMIO, GICD): 1000 iterations after 100 of warm-up, minus the same loop "
        "without the operation, read on the generic counter: to 16/1000 of an instruction.")
    add("- Ack + EOI: `GICC_IAR` then `GICC_EOIR` (v2: loads and stores to the GICV frame that "
        "stage 2 maps as the guest's GICC) or `ICC_IAR1_EL1` then `ICC_EOIR1_EL1` (v3), for a "
        "self-SGI made pending with IRQs masked; 1000 windows between two counter reads, each "
        "within a 16-instruction tick, their starts spread within the tick so that the average "
        "comes within about an instruction of the pair's 2. The point is the budget: any "
        "exit on this path costs thousands.")
    add("- Timer: CNTV_CVAL programmed 2000 ticks ahead; the handler's first instructions read "
        "the counter. The deadline lies on a tick, so each sample is rounded down to a multiple "
        "of 16 (bare: under 16). 20 rounds after 3 of warm-up.")
    add("- IPI: CPU 0 reads the counter, sends SGI 2 to CPU 1 (waiting in WFI) and waits in WFI "
        "itself; CPU 1's vector reads the counter and answers with an SGI. QEMU with icount runs "
        "one vCPU at a time, switching when one waits: the figure counts the sender's "
        "instructions from the send to its WFI (under Bulkhead: the trapped send and the trapped "
        "WFI) plus the receiver's wake-up up to its vector. On hardware the two sides overlap.")
    add("- Passed-through interrupt: the board's second PL011 (QEMU 10 virt: `/pl011@9040000`, "
        "SPI 8, present with a second `-serial`), its TX interrupt pending once a character "
        "went out. The guest reads the counter, enables that interrupt in UARTIMSC (one store, "
        "which under Bulkhead reaches the device without an exit: stage 2 maps the device into "
        "the VM) and spins; the vector's third instruction reads the counter; the handler masks "
        "the interrupt again before its EOI. Under Bulkhead the physical SPI is taken by the "
        "hypervisor, which injects it into the VM. 1000 rounds after 3 of warm-up, their starts "
        "spread within a tick. Measured in runs of their own (the `-pt` commands below), in "
        "which the VM gets the device; every other row comes from the runs without it.")
    add("- Doorbells: `BH_HVC_DOORBELL_RING` on the VM's shared-memory channel (a region "
        "`bench` both VMs of the `-pt` runs map). *Same vCPU*: to the VM's own member bit, its "
        "handler on the ringing vCPU acknowledges with `BH_HVC_DOORBELL_ACK`. *Peer VM*: to a "
        "second VM (the same guest with `role=echo`, one vCPU on CPU 2), waiting in WFI; its "
        "handler writes the counter at its vector into the region, acknowledges and rings back, "
        "while the ringer waits in WFI: as for the IPI, the ringer's instructions up to its WFI "
        "are counted. 1000 rounds after 3 of warm-up.")
    add("- Noisy neighbour: the timer row in WFI again, in a VM of one vCPU on physical CPU 0 "
        f"({NOISY_ROUNDS} rounds), beside a second VM of one vCPU on CPU 1 "
        "([hostile.c](../tests/guest/hostile.c)) that is idle in WFI, or storms for the whole "
        "measurement: its virtual and physical timers re-armed every 10 µs, and in each turn of "
        "its loop an SGI to itself, an HVC, two trapped MMIO reads and a WFI. The difference "
        "between the two is what a neighbour's storm costs the measured VM. The measured VM is "
        "on CPU 0 because under `-icount` QEMU runs the CPUs round-robin in index order after a "
        "timer fires: on CPU 1 it would wait for CPU 0's time slice, an emulator artifact. Runs "
        "of their own (`-noisy-idle`, `-noisy-storm`), each with the two VM nodes in QEMU's DTB "
        "(`bench-noisy-KIND-vN.dtb`).")
    add("- vCPU switch: two VMs of one vCPU each on physical CPU 0, equal priorities, the "
        f"priority policy with {SWITCH_SLICE_US} µs slices (a `bulkhead,schedule` node). The "
        "first reads the counter, stores a round number into their shared region and executes "
        "WFI with nothing pending; the hypervisor blocks its vCPU and switches to the second, "
        "which spins on that word and reads the counter as soon as it changes. The figure is the "
        "difference: the WFI trap, the policy's choice, the first vCPU's context saved (EL1 "
        "registers, FP/SIMD, virtual timer, GIC virtual CPU interface) and the second's "
        "restored, the switch of hypervisor threads and the second's own exit returning, plus "
        "the store and a turn of the spin loop. The first VM's virtual timer takes the CPU back "
        "at the end of the second's slice: the next round. 1000 rounds after 3 of warm-up, the "
        "read spread within a tick. Runs of their own (`-switch`), with the two VM nodes and "
        "the schedule in QEMU's DTB (`bench-switch-vN.dtb`); the CPUs of every other row have "
        "one vCPU each and never switch.")
    add("- Boot: the counter at the guest image's first instruction. QEMU starts the counter at "
        "0 at reset, so this includes QEMU's firmware handoff (a few instructions: bare, under "
        "16) and all of the hypervisor's boot up to the VM's entry.")
    add("")
    if prof:
        add("## Where the hypervisor's instructions go")
        add("")
        add(f"`tests/bench/profile_exits.py` (QEMU's `-d in_asm,exec,nochain` trace of the "
            f"benchmark guest under Bulkhead, GICv{prof['gic']}): instructions per function, "
            "for the boot and for the exit of median length of each kind.")
        add("")
        boot_top = max(prof["boot_functions"].items(), key=lambda kv: kv[1])
        add(f"- Boot: `{boot_top[0]}` executes {100 * boot_top[1] / prof['boot_total']:.1f}% of "
            f"the {prof['boot_total']:,} instructions.")
        for kind, e in sorted(prof["exits"].items(), key=lambda kv: -kv[1]["count"]):
            fn, n = max(e["functions"].items(), key=lambda kv: kv[1])
            add(f"- {kind} ({e['count']} exits): the median one runs {e['median']:,} "
                f"instructions, {100 * n / e['median']:.1f}% of them in `{fn}`.")
        add("")
        add("```")
        L.extend(prof["text"])
        add("```")
        add("")
    f = doc["image"]
    add("## Image size and memory")
    add("")
    v = doc["two_vms"]
    fp = v.get("footprint_kib")
    add(f"`{CROSS}size build/qemu-virt/bulkhead.elf`: text {f['text']:,}, data {f['data']:,}, "
        f"bss {f['bss']:,} bytes; the image as loaded, `__image_end - __image_start` = "
        f"{f['footprint']:,} bytes ({f['footprint'] / 1024:,.0f} KiB). The rest of the "
        "hypervisor's RAM is sized at boot from the board and the VMs (el2/mm.c's allocator "
        "after the image) and reported by the banner.")
    add("")
    if fp:
        ram = ", ".join(f"{k} {m} MiB" for k, m in v["vm_ram_mib"].items())
        add(f"With two VMs booted ({ram} of the board's {v['board_ram_mib']} MiB), the banner "
            f"says: **{fp['total']:,} KiB** + {fp['page_tables']:,} KiB of page tables.")
        add("")
        add("| Part | KiB |")
        add("|---|--:|")
        for key, what in (("image", "image (text, data, bss, early page tables)"),
                          ("vms", "VMs (struct vm and their vCPUs)"),
                          ("vcpu_stacks", "vCPU thread stacks"), ("guest_dtbs", "guest DTBs"),
                          ("bundle", "bundle's DTB copy"), ("smmu", "SMMU stream tables"),
                          ("page_tables", "page tables beyond the image's early ones")):
            add(f"| {what} | {fp[key]:,} |")
        add("")
        add(f"`{v['footprint_line']}`")
    elif v.get("note"):
        add(f"Two VMs: {v['note']}.")
    add("")
    add("The largest symbols of the image (`nm -S --size-sort`):")
    add("")
    add("| Symbol | Bytes | |")
    add("|---|--:|---|")
    for s in f["largest_symbols"]:
        add(f"| `{s['symbol']}` | {s['bytes']:,} | {s['type']} |")
    add("")
    add("## Goals")
    add("")
    add("Published figures, for scale. They are not the same measure: ours count instructions "
        "on an emulator with no caches, no TLBs and no pipeline; the hardware figures are "
        "cycles, where an exception entry and return, cache and TLB misses cost far more than an "
        "instruction each.")
    add("")
    add("| | HVC round trip | Trapped GIC distributor access |")
    add("|---|--:|--:|")
    add(f"| **Bulkhead** (this page, GICv3, instructions) | {fmt(r['v3']['hvc_null']['bulkhead'])}"
        f" | {fmt(r['v3']['gicd_read']['bulkhead'])} |")
    add("| Bao, on this QEMU (QEMU-NOTES, instructions ²) | 193 | 229 |")
    add("| Xen 4.17, on this QEMU (QEMU-NOTES, instructions ²) | 474 | 596 |")
    add("| Xen on ARM, hardware (Dall et al., ISCA 2016, cycles) | 376 | 1,356 |")
    add("| KVM/ARM without VHE, hardware (same paper, cycles) | 6,500 | 7,370 |")
    add("")
    add("² QEMU 7.2, `-icount shift=0`, 1 vCPU, PSCI_VERSION through `hvc #0` and a GICD_IIDR "
        "read, per iteration of a 1,000,000-iteration loop including the loop's own 2 "
        "instructions (about 2 more than our net figures).")
    add("")
    linux = os.path.join(ROOT, "docs", "LINUX-BOOT.md")
    if os.path.isfile(linux):
        # Measured by tests/linux/boot_time.py (wall time, not icount): its result, as is.
        with open(linux, encoding="utf-8") as f:
            text = f.read()
        m = re.search(r"^## Result\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL)
        if m:
            add("## Linux boot time")
            add("")
            add("Debian's kernel to user space under Bulkhead against the same kernel on bare QEMU "
                "(`tests/linux/boot_time.py`; details in [LINUX-BOOT.md](LINUX-BOOT.md)).")
            add(m.group(1).rstrip("\n"))
            add("")
    changes = os.path.join(ROOT, "docs", "PERFORMANCE-CHANGES.md")
    if os.path.isfile(changes):
        # Before/after figures of hot-path changes are history: kept by hand, not regenerated.
        with open(changes, encoding="utf-8") as f:
            add(f.read().rstrip("\n"))
        add("")
    add("## How it is measured")
    add("")
    add("The benchmark guest ([tests/guest/bench.c](../tests/guest/bench.c)) runs at EL1 with "
        "two vCPUs (one VM holding both CPUs of the board) and reads only the generic counter, "
        "`CNTVCT_EL0`: 62.5 MHz on QEMU virt, 16 ns a tick, the same on every CPU. The PMU cannot "
        "serve: Bulkhead hides it from guests and traps its registers. With `-icount shift=0` "
        "QEMU advances virtual time by exactly 1 ns per instruction executed, by either CPU, at "
        "any exception level: so ns are instructions, guest and hypervisor together, and a "
        "figure is the same on any host, loaded or not.")
    add("")
    add("`sleep=off` is needed too: with the default `sleep=on`, virtual time follows the host's "
        "real time whenever every vCPU is idle, including before the first instruction; the "
        "boot figure of the bare board then varied from 150 to 540 µs between runs. With "
        "`sleep=off` QEMU jumps straight to the next timer deadline instead, and every figure "
        "repeats exactly.")
    add("")
    add("Reproduce: `make bench` (builds, runs everything, rewrites this page and bench.json; "
        "about four minutes, half a minute with `BENCH_ARGS=--no-profile`). The runs, from the "
        "repository's top directory:")
    add("")
    add("```")
    for c in doc["commands"].values():
        add(c)
    add("```")
    add("")
    add("The passthrough runs under Bulkhead boot `bench-pt-vN.dtb`, which run_bench.py writes "
        "into the build directory: QEMU's own DTB (`-machine dumpdtb=` with the same board, CPUs "
        "and serial lines) with this VM node added to `/chosen` (SIZE: bench.bin's size); the "
        "guest is loaded by `-device loader` where its module node says:")
    add("")
    add("```")
    node = PT_VM_NODE.format(device=PT_DEVICE, addr=pt_guest_addr(), size=0, bootargs0="hyp=1")
    L.extend(textwrap.dedent(node.replace(" 0x0>;", " SIZE>;")).strip("\n").splitlines())
    add("```")
    add("")
    add("The guest prints `BENCH op=... ticks=...` lines (documented at the top of bench.c); "
        "`make test` runs it under Bulkhead once per GIC version (and once more in the passthrough "
        "configuration, for pt_irq) and fails any operation over its budget (`bench/v3/hvc_null`, ...). A budget is raised only by a commit to "
        "tests/bench/budget.json that says why.")
    add("")
    return "\n".join(L)


def profile_data(build, gic=3, top=10):
    import profile_exits  # noqa: E402 (tests/bench)
    boot, exits = profile_exits.run_profile(build, gic)
    data = {"gic": gic, "boot_total": sum(boot.values()),
            "boot_functions": dict(boot.most_common(top)), "exits": {},
            "text": profile_exits.report(gic, boot, exits, top)}
    for kind, eps in exits.items():
        med, lengths = profile_exits.median_exit(eps)
        data["exits"][kind] = {"count": len(lengths), "median": sum(med.values()),
                               "functions": dict(med.most_common(top))}
    return data


def main():
    ap = qemu.arg_parser(__doc__)
    ap.add_argument("--no-profile", action="store_true", help="skip the trace (2 minutes)")
    ap.add_argument("--no-write", action="store_true", help="print, do not write docs/")
    ap.add_argument("--render", action="store_true",
                    help="only rewrite docs/PERFORMANCE.md from docs/bench.json (no runs)")
    args = ap.parse_args()
    os.chdir(ROOT)
    if args.render:
        with open(JSON_OUT, encoding="utf-8") as f:
            doc = json.load(f)
        with open(DOC, "w", encoding="utf-8") as f:
            f.write(markdown(doc))
        print(f"run_bench: wrote {DOC} from {JSON_OUT}")
        return 0
    if not qemu.is_qemu_virt(args.build):
        print("run_bench: the benchmarks run on qemu-virt only")
        return 1
    started = time.monotonic()
    try:
        print("run_bench: the benchmark guest, under Bulkhead and bare, GICv3 and GICv2 "
              f"({RUNS} runs each)")
        results = measure(args.build)
        budget = load_budget()
        facts = image_facts(args.build)
        print("run_bench: two VMs, for the memory figures")
        vm_facts = two_vm_facts(args.build, facts)
        print(f"run_bench: {NET_BULK_MIB} MiB between two VMs over virtio-net, wall time "
              "(no -icount)")
        net_wall = {f"v{gic}": net_bulk_wall(args.build, gic) for gic in GICS}
        for g, w in net_wall.items():
            print(f"  GIC{g}: {w['mib']} MiB in {w['seconds']} s ({w['mib_per_s']} MiB/s)")
        profile = None
        if not args.no_profile:
            print("run_bench: tracing the hypervisor's exits (about two minutes)")
            profile = profile_data(args.build)
    except (BenchError, RuntimeError, subprocess.CalledProcessError, OSError) as e:
        print(f"run_bench: FAILED: {e}")
        return 1

    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "commit": git_commit(),
        "qemu": qemu_version(),
        "cpu": qemu.CPU,
        "icount": ICOUNT[1],
        "deterministic": True,
        "runs_per_configuration": RUNS,
        "commands": {},
        "net_bulk_wall": net_wall,
    }
    for gic in GICS:
        for hyp in (True, False):
            key = f"{'bulkhead' if hyp else 'bare'}-v{gic}"
            meta["commands"][key] = shlex.join(["timeout", str(TIME_LIMIT)] +
                                               bench_command(args.build, gic, hyp))
            meta["commands"][key + "-pt"] = shlex.join(["timeout", str(TIME_LIMIT)] +
                                                       bench_command(args.build, gic, hyp,
                                                                     pt=True))
            for kind in NOISY_KINDS if hyp else ():
                meta["commands"][f"{key}-noisy-{kind}"] = shlex.join(
                    ["timeout", str(TIME_LIMIT)] + bench_command(args.build, gic, hyp,
                                                                 noisy=kind))
            if hyp:
                meta["commands"][f"{key}-switch"] = shlex.join(
                    ["timeout", str(TIME_LIMIT)] + bench_command(args.build, gic, hyp,
                                                                 switch=True))
    doc = to_json(results, budget, facts, vm_facts, profile, meta)

    over = []
    print(f"{'operation':<58} {'bare v3':>10} {'Bulkhead v3':>12} {'bare v2':>10} "
          f"{'Bulkhead v2':>12}")
    for op, what, _ in OPS:
        v3, v2 = doc["results"]["v3"][op], doc["results"]["v2"][op]
        print(f"{what:<58} {fmt(v3['bare']):>10} {fmt(v3['bulkhead']):>12} "
              f"{fmt(v2['bare']):>10} {fmt(v2['bulkhead']):>12}")
        over += [f"{g}/{op}" for g, row in (("v3", v3), ("v2", v2)) if not row["within_budget"]]
    if profile:
        print("\n".join(profile["text"]))
    if over:
        print(f"run_bench: over budget (make test will fail): {', '.join(over)}")
    if not args.no_write:
        with open(JSON_OUT, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        with open(DOC, "w", encoding="utf-8") as f:
            f.write(markdown(doc))
        print(f"run_bench: wrote {DOC} and {JSON_OUT} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
