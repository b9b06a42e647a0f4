#!/usr/bin/env python3
"""Where the hypervisor's instructions go: runs the benchmark guest under Bulkhead with QEMU's
`-d in_asm,exec,nochain` trace (deterministic with -icount shift=0,sleep=off) and counts, per
function of build/<platform>/bulkhead.elf, the instructions the hypervisor executes

  - from reset to the guest's first instruction (the boot), and
  - in each exit, from the EL2 vector to the eret back into the guest, grouped by what the exit
    ran (hvc, dabt = a trapped MMIO access, sysreg, wfx, irq = a physical interrupt): for each
    kind the number of exits, the median instructions per exit, and the functions of one median
    exit.

A TB's instructions are counted each time the trace says it runs (exact unless an exception
leaves a TB half-way, which the hypervisor's own code does not do). The trace is a few GB: it is
read through a FIFO, never stored. Standard library only; takes a minute or two.

    tests/bench/profile_exits.py [--build build/qemu-virt] [--gic 3] [--top 12]
                                 [--kind irq] [--order] [--each]

--kind shows only the exits of one kind (no boot); --order adds the median exit's functions in
the order they ran, calls and returns as they came (a function left and re-entered shows twice);
--each lists every exit of the kind, in the order they happened, with its length and its three
costliest functions (the timer rows' exits are the irq ones after the GICD loop, for instance).
"""

import bisect
import collections
import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "qemu"))
sys.path.insert(0, HERE)
import qemu  # noqa: E402
import run_bench  # noqa: E402

TRACE_RE = re.compile(r"^Trace (\d+): (0x[0-9a-f]+) \[[0-9a-f]+/([0-9a-f]+)/")
KINDS = (("vgic_mmio_write", "dabt vgic write"), ("handle_hvc", "hvc"), ("handle_dabt", "dabt"), ("handle_sysreg", "sysreg"),
         ("handle_wfx", "wfx"), ("handle_smc", "smc"))
QEMU_STUB = (0x40000000, 0x40000100)  # QEMU's own boot code on virt, before the image
TIME_LIMIT = 900  # seconds: the trace slows QEMU down a lot


class Counts(collections.Counter):
    """Instructions per function, and (order) the runs of consecutive instructions in one
    function as [name, count] lists, in the order they ran."""

    def __init__(self):
        super().__init__()
        self.order = []

    def add(self, name, n):
        self[name] += n
        if self.order and self.order[-1][0] == name:
            self.order[-1][1] += n
        else:
            self.order.append([name, n])


class Symbols:
    def __init__(self, elf, nm):
        out = subprocess.run([nm, "-n", elf], capture_output=True, text=True, check=True).stdout
        self.addrs, self.names = [], []
        self.end = 0  # the highest symbol: the image's end, bss included
        for line in out.splitlines():
            p = line.split()
            if len(p) != 3:
                continue
            self.end = max(self.end, int(p[0], 16))
            if p[1] in "tTwW":
                self.addrs.append(int(p[0], 16))
                self.names.append(p[2])

    def range(self, name):
        """[start, end) of function name: up to the next symbol."""
        i = self.names.index(name)
        return self.addrs[i], self.addrs[i + 1] if i + 1 < len(self.addrs) else self.end

    def name(self, offset):
        i = bisect.bisect_right(self.addrs, offset) - 1
        return self.names[i] if i >= 0 else "?"


def kind_of(funcs):
    for fn, kind in KINDS:
        if fn in funcs:
            return kind
    return "irq" if "handle_physical_irqs" in funcs else "other"


class Exit:
    """One exit of one CPU: instructions per function, in segments split where the CPU waited
    (another CPU's TBs ran between two of its own: under -icount QEMU runs one CPU at a time
    and changes CPU when one waits, as a vCPU blocked in WFI does in idle_wfi)."""

    def __init__(self, cpu, seq):
        self.cpu = cpu
        self.seq = seq  # the trace line's TB count when the exit began
        self.segments = [Counts()]

    def total(self):
        total = Counts()
        for seg in self.segments:
            for name, n in seg.order:
                total.add(name, n)
        return total


def profile(stream, syms, guest_syms=None, window=None, by_cpu=False):
    """Reads the trace; returns (boot Counter, {kind: [Counter per exit]}). Each CPU's exits
    are followed on their own (the trace names the CPU of each TB). An exit in which the CPU
    waited also counts its first segment as "KIND to the wait" and its last as "KIND from the
    wake". window: a function of guest_syms (guest addresses): only the exits that begin between
    the first and the last TB run in it, on any CPU, are kept. by_cpu: each CPU's exits apart,
    as kinds "KIND cpuN"."""
    size = {}
    counting_tb = False
    ninsn = 0
    base = None
    boot = collections.Counter()
    booting = True
    done = []
    cur = {}  # CPU: its open Exit
    last_cpu = None
    seq = 0
    window_seq = [None, None]
    win = guest_syms.range(window) if window else None
    for line in stream:
        if line.startswith("IN:"):
            counting_tb, ninsn = True, 0
            continue
        if counting_tb and line.startswith("0x"):
            ninsn += 1
            continue
        m = TRACE_RE.match(line)
        if not m:
            continue
        cpu, host, pc = int(m.group(1)), m.group(2), int(m.group(3), 16)
        seq += 1
        if counting_tb:
            size[host] = ninsn
            counting_tb = False
        n = size.get(host, 0)
        if base is None:
            if not QEMU_STUB[0] <= pc < QEMU_STUB[1]:
                base = pc  # the image's first instruction: _start, at offset 0
            else:
                continue
        off = pc - base
        in_hyp = 0 <= off < syms.end
        if booting:
            if in_hyp:
                boot[syms.name(off)] += n
                continue
            booting = False
        if win and not in_hyp and win[0] <= pc < win[1]:
            window_seq[0] = window_seq[0] or seq
            window_seq[1] = seq
        ex = cur.get(cpu)
        if in_hyp:
            if ex is None:
                ex = cur[cpu] = Exit(cpu, seq)
            elif last_cpu != cpu:
                ex.segments.append(Counts())
            ex.segments[-1].add(syms.name(off), n)
        elif ex is not None:
            done.append(ex)
            del cur[cpu]
        last_cpu = cpu
    exits = collections.defaultdict(list)
    for ex in done:
        if win and (window_seq[0] is None or not window_seq[0] <= ex.seq <= window_seq[1]):
            continue
        total = ex.total()
        kind = kind_of(total) + (f" cpu{ex.cpu}" if by_cpu else "")
        exits[kind].append(total)
        if len(ex.segments) > 1:
            exits[kind + " to the wait"].append(ex.segments[0])
            exits[kind + " from the wake"].append(ex.segments[-1])
    return boot, exits


def run_profile(build, gic, nm="aarch64-linux-gnu-nm", window=None, by_cpu=False):
    """Runs the benchmark guest under the traced hypervisor. Returns (boot, exits): boot a
    Counter of instructions per function before the guest's first instruction, exits
    {kind: [Counter per exit]}; window and by_cpu: see profile(), window a function of the
    benchmark guest. Raises RuntimeError when the guest does not finish."""
    syms = Symbols(os.path.join(build, "bulkhead.elf"), nm)
    guest_syms = Symbols(os.path.join(build, "guests", "bench.elf"), nm) if window else None
    with tempfile.TemporaryDirectory() as tmp:
        fifo = os.path.join(tmp, "trace")
        os.mkfifo(fifo)
        cmd = run_bench.bench_command(build, gic, True, bootargs="hyp=1 iters=100 rounds=5",
                                      extra=["-d", "in_asm,exec,nochain", "-D", fifo])
        proc = qemu.start(cmd, TIME_LIMIT)
        console = qemu.Console(proc)
        try:
            with open(fifo, errors="replace") as stream:
                boot, exits = profile(stream, syms, guest_syms, window, by_cpu)
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise RuntimeError("QEMU did not exit after the trace ended") from None
        finally:
            if proc.poll() is None:
                qemu.stop(proc)
        text = console.text()
    if "BENCH done" not in text:
        raise RuntimeError("the benchmark guest did not finish under the trace; console ends:\n"
                           + text[-2000:])
    return boot, exits


def median_exit(exits):
    """The exit of median length (a Counter), and the sorted lengths."""
    lengths = sorted(sum(c.values()) for c in exits)
    eps = sorted(exits, key=lambda c: sum(c.values()))
    return eps[len(eps) // 2], lengths


def report(gic, boot, exits, top, kind_only=None, order=False, each=False):
    """The profile as text lines: the boot and every kind, or only kind_only's exits; order and
    each as the options --order and --each."""
    out = []
    if not kind_only:
        total = sum(boot.values())
        out.append(f"GICv{gic}: boot, reset to the guest's first instruction: {total} instructions")
        for fn, n in boot.most_common(top):
            out.append(f"  {n:>11} {100 * n / total:5.1f}%  {fn}")
    for kind in sorted(exits, key=lambda k: -len(exits[k])):
        if kind_only and kind != kind_only:
            continue
        med, lengths = median_exit(exits[kind])
        n_med = sum(med.values())
        out.append(f"{kind}: {len(lengths)} exits, median {n_med} instructions from vector to "
                   f"eret (min {lengths[0]}, max {lengths[-1]})")
        for fn, n in med.most_common(top):
            out.append(f"  {n:>11} {100 * n / n_med:5.1f}%  {fn}")
        if order and hasattr(med, "order"):
            out.append("  in the order they ran:")
            out.extend(f"  {n:>11}  {fn}" for fn, n in med.order)
        if each:
            out.append("  every exit, in the order they ran:")
            for i, e in enumerate(exits[kind]):
                costliest = ", ".join(f"{fn} {n}" for fn, n in e.most_common(3))
                out.append(f"  {i:>5} {sum(e.values()):>7}  {costliest}")
    return out


def main():
    ap = qemu.arg_parser(__doc__)
    ap.add_argument("--gic", type=int, choices=(2, 3), default=3)
    ap.add_argument("--top", type=int, default=12, help="functions shown per exit kind")
    ap.add_argument("--nm", default="aarch64-linux-gnu-nm")
    ap.add_argument("--window", metavar="GUEST_FUNCTION",
                    help="only the exits while the benchmark guest runs this function of its "
                         "own (e.g. cpu1_main: the ipi row, CPU 1's side of it)")
    ap.add_argument("--by-cpu", action="store_true", help="each CPU's exits apart")
    ap.add_argument("--kind", help="only this kind of exit (hvc, dabt, sysreg, wfx, irq, ...)")
    ap.add_argument("--order", action="store_true",
                    help="the median exit's functions in the order they ran")
    ap.add_argument("--each", action="store_true", help="every exit's length, in order")
    args = ap.parse_args()
    try:
        boot, exits = run_profile(args.build, args.gic, args.nm, args.window, args.by_cpu)
    except RuntimeError as e:
        print(e)
        return 1
    print("\n".join(report(args.gic, boot, exits, args.top, args.kind, args.order, args.each)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
