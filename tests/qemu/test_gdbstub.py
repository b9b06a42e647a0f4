#!/usr/bin/env python3
"""gdb stub tests (docs/DEBUGGING.md): two bare-metal tickers (tests/guest/testguest.c,
mode=ticker), vm1 debugged through the hypervisor's gdb stub on QEMU's second PL011, a TCP
socket the test holds (`-append bulkhead.gdb=vm1 -serial mon:stdio -serial tcp:...`).

- gdbstub_protocol: the test speaks GDB's remote protocol itself (no gdb needed): attach stops
  vm1, a breakpoint (Z0) at delay_ms is hit at that address, vm0 keeps ticking while vm1 stands
  still, a single step moves the PC by 4, memory reads match the ELF's data (data_marker),
  Ctrl-C stops the running VM, a gdb that comes back after losing its connection while the VM
  ran finds it stopped, and detach lets vm1 finish its ticks and power off.
- gdbstub_cpu0: the same with vm0 debugged (vm1 ticking), whose vCPU runs on CPU 0, the CPU that
  takes the stub's UART interrupt: there the stub answers from inside the vCPU's own exit.
- gdbstub_guest_brk: a BRK of the guest's own (written by the test with M, not a breakpoint
  of gdb's) while gdb is attached reaches the guest's EL1 exception handler, syndrome and all,
  instead of stopping the VM for gdb.
- gdbstub_linux: Debian's Linux alone in a 2-vCPU VM, debugged: a thread per vCPU, each one's
  registers (a kernel PC at EL1h, or a user one at EL0t; at least one in the kernel), memory at
  its PC (a kernel virtual address for one at least), Ctrl-C, a step, detach; Linux then
  ends its checks without a warning in dmesg (but the hrtimer one a stopped or starved guest
  prints).
- gdbstub_gdb: the same as gdbstub_protocol through gdb-multiarch -batch, as docs/DEBUGGING.md shows it: break,
  continue, info registers pc, stepi, x and print of a global, detach.

Addresses come from the guest's ELF symbols (build/.../guests/testguest.elf). Every QEMU run has
a time limit; consoles are kept in build/test-logs/.
"""

import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402

TIME_LIMIT = 150
STEP_LIMIT = 40  # for one expected event (a stop, a console line)
GDB = "gdb-multiarch"
DATA_INITIAL = 0x600DDA7A  # testguest.c's data_marker
# vm0 ticks for longer than the test lasts (QEMU is ended once vm1 is done); vm1 long enough
# for the test to attach before it is done.
VM0_ARGS = "mode=ticker count=3000 tick_ms=50"
VM1_ARGS = "mode=ticker count=60 tick_ms=50"


class Ctx(qemu.Build):
    def __init__(self, build):
        super().__init__(build)
        self.guest = qemu.guest_path(build, "testguest")
        self.elf = os.path.join(build, "guests", "testguest.elf")


# ---- the guest's symbols, from its ELF (64-bit little-endian, .symtab) ----

def elf_symbols(path):
    """{name: value} of an ELF64 file's symbol table."""
    with open(path, "rb") as f:
        data = f.read()
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
                for i in range(shnum)]
    syms = {}
    for s in sections:
        if s[1] != 2:  # SHT_SYMTAB
            continue
        strtab = sections[s[6]]
        for off in range(s[4], s[4] + s[5], 24):
            name_off, _info, _other, _shndx, value, _size = struct.unpack_from("<IBBHQQ", data,
                                                                               off)
            start = strtab[4] + name_off
            name = data[start:data.index(b"\0", start)].decode()
            if name:
                syms[name] = value
    return syms


# ---- one QEMU run with the stub's socket ----

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Run:
    """QEMU with vm0 and vm1 tickers, one of them debugged on a TCP port (the other ticks for
    longer than the test lasts); its console read as it runs."""

    def __init__(self, ctx, name, gic=3, debugged="vm1", modules=None):
        self.name = name
        self.port = free_port()
        if modules is None:
            modules = [qemu.Module(ctx.guest, VM1_ARGS if debugged == "vm0" else VM0_ARGS),
                       qemu.Module(ctx.guest, VM1_ARGS if debugged == "vm1" else VM0_ARGS)]
        self.cmd = qemu.command(
            ctx.image, modules, machine=qemu.machine(gic), append="bulkhead.gdb=" + debugged,
            extra=["-serial", "mon:stdio",
                   "-serial", f"tcp:127.0.0.1:{self.port},server=on,wait=off"])
        self.begin = time.monotonic()
        self.proc = qemu.start(self.cmd, time_limit=TIME_LIMIT)
        self._buf = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            with self._lock:
                self._buf += chunk

    def text(self):
        with self._lock:
            return bytes(self._buf).decode("utf-8", "replace").replace("\r", "")

    def wait_for(self, pattern, limit=STEP_LIMIT):
        """The match of pattern in the console, waiting up to limit seconds; None if not."""
        end = time.monotonic() + limit
        rx = re.compile(pattern, re.MULTILINE)
        while time.monotonic() < end:
            m = rx.search(self.text())
            if m or self.proc.poll() is not None:
                return m or rx.search(self.text())
            time.sleep(0.1)
        return None

    def ticks(self, vm):
        """The last tick number the VM printed."""
        found = re.findall(r"^\[" + vm + r"\] tick (\d+)$", self.text(), re.MULTILINE)
        return int(found[-1]) if found else 0

    def connect(self):
        end = time.monotonic() + 20
        while time.monotonic() < end:
            try:
                return socket.create_connection(("127.0.0.1", self.port), timeout=5)
            except OSError:
                time.sleep(0.1)
        return None

    def finish(self, notes=()):
        """Ends QEMU; returns a qemu.Run with the console saved to build/test-logs/."""
        qemu.stop(self.proc)
        self._reader.join(5)
        text = self.text()
        path = qemu.log_path(self.name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        seconds = time.monotonic() - self.begin
        with open(path, "w", encoding="utf-8") as f:
            f.write("# " + " ".join(self.cmd) + "\n")
            f.write(text)
            for n in notes:
                f.write("# test: " + n + "\n")
        return qemu.Run(self.name, self.cmd, text, self.proc.returncode, False, seconds, path)


# ---- GDB's remote protocol, the debugger's side ----

class Rsp:
    """A minimal gdb: sends packets, checks acks and checksums, returns the replies."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.log = []

    def _byte(self, deadline):
        while not self.buf:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                d = self.sock.recv(4096)
            except socket.timeout:
                d = None
            if d is None or time.monotonic() > deadline:
                raise TimeoutError("no answer from the stub")
            if not d:
                raise ConnectionError("the stub's socket closed")
            self.buf += d
        c, self.buf = self.buf[:1], self.buf[1:]
        return c

    def send(self, payload, raw=False):
        """Sends payload as a packet (raw: as bytes as they are) and waits for its '+'."""
        self.log.append("-> " + (payload.decode() if isinstance(payload, bytes) else payload))
        if raw:
            self.sock.sendall(payload)
            return
        body = payload.encode()
        self.sock.sendall(b"$" + body + b"#%02x" % (sum(body) & 0xFF))
        deadline = time.monotonic() + 10
        while True:
            c = self._byte(deadline)
            if c == b"+":
                return
            if c == b"-":
                raise ValueError(f"stub refused {payload!r}")

    def receive(self, limit=10):
        """The next packet's payload, its checksum checked, escapes undone; acknowledged."""
        deadline = time.monotonic() + limit
        while self._byte(deadline) != b"$":
            pass
        raw = b""
        while (c := self._byte(deadline)) != b"#":
            raw += c
        cs = self._byte(deadline) + self._byte(deadline)
        if int(cs, 16) != sum(raw) & 0xFF:
            raise ValueError(f"bad checksum on {raw!r}")
        self.sock.sendall(b"+")
        out, esc = bytearray(), False
        for b in raw:
            if esc:
                out.append(b ^ 0x20)
                esc = False
            elif b == 0x7D:
                esc = True
            else:
                out.append(b)
        reply = out.decode("latin-1")
        self.log.append("<- " + reply[:100])
        return reply

    def ask(self, payload, limit=10):
        self.send(payload)
        return self.receive(limit)


def regs_of(reply):
    """x0-x30, sp, pc (8 bytes each), cpsr (4 bytes) from a 'g' reply."""
    b = bytes.fromhex(reply)
    if len(b) != 33 * 8 + 4:
        raise ValueError(f"'g' reply of {len(b)} bytes")
    return list(struct.unpack("<33QI", b))


def protocol_session(rsp, run, syms, dbg, other):
    """The protocol test's steps, dbg the debugged VM, other the other one; returns None or the
    first reason it failed."""
    brk = syms["delay_ms"]
    marker = syms["data_marker"]
    sup = rsp.ask("qSupported:multiprocess+;swbreak+;xmlRegisters=aarch64")
    if "qXfer:features:read+" not in sup:
        return f"qSupported answered {sup!r}"
    stop = rsp.ask("?")
    if not stop.startswith("T05"):
        return f"'?' answered {stop!r}, expected a stop reply"
    if not run.wait_for(r"^bulkhead: " + dbg + r": gdb attached", 10):
        return f"no '{dbg}: gdb attached' line"
    xml = rsp.ask("qXfer:features:read:target.xml:0,400")
    if "org.gnu.gdb.aarch64.core" not in xml:
        return f"target.xml: {xml[:80]!r}"
    if (r := rsp.ask(f"Z0,{brk:x},4")) != "OK":
        return f"Z0 at delay_ms answered {r!r}"
    rsp.send("c")
    stop = rsp.receive(STEP_LIMIT)
    if not stop.startswith("T05"):
        return f"after c: {stop!r}, expected T05 (breakpoint)"
    pc = regs_of(rsp.ask("g"))[32]
    if pc != brk:
        return f"stopped at pc {pc:#x}, the breakpoint is at delay_ms {brk:#x}"
    if (r := rsp.ask("p20")) != struct.pack("<Q", brk).hex():
        return f"p20 (pc) answered {r!r}"
    # The debugged VM stands still while the other ticks on.
    n_other, n_dbg = run.ticks(other), run.ticks(dbg)
    time.sleep(3)
    if run.ticks(other) < n_other + 5:
        return f"{other} ticked {run.ticks(other) - n_other} times in 3 s while {dbg} was stopped"
    if run.ticks(dbg) != n_dbg:
        return f"{dbg} ticked from {n_dbg} to {run.ticks(dbg)} while stopped at a breakpoint"
    if (r := rsp.ask(f"z0,{brk:x},4")) != "OK":
        return f"z0 answered {r!r}"
    rsp.send("s")
    stop = rsp.receive(STEP_LIMIT)
    if not stop.startswith("T05"):
        return f"after s: {stop!r}"
    pc = regs_of(rsp.ask("g"))[32]
    if pc != brk + 4:
        return f"a step from {brk:#x} went to {pc:#x}, not the next instruction"
    mem = rsp.ask(f"m{marker:x},4")
    if mem != struct.pack("<I", DATA_INITIAL).hex():
        return f"data_marker read as {mem!r}, the ELF says {DATA_INITIAL:#x}"
    if not (r := rsp.ask("m10,4")).startswith("E"):
        return f"a read of unmapped address 0x10 answered {r!r}, expected an error"
    # Ctrl-C stops it while it runs.
    rsp.send("c")
    time.sleep(0.5)
    rsp.send(b"\x03", raw=True)
    stop = rsp.receive(STEP_LIMIT)
    if not stop.startswith("T02"):
        return f"after Ctrl-C: {stop!r}, expected T02"
    # Left running: the caller's gdb goes away without a word and comes back.
    rsp.send("c")
    return None


def reconnect_session(rsp):
    """A gdb that lost its connection while the VM ran: the stub stops the VM for it."""
    stop = rsp.ask("?")
    if not stop.startswith("T"):
        return f"'?' after reconnecting answered {stop!r}"
    regs = rsp.ask("g")
    if regs.startswith("E") or len(regs) != 2 * (33 * 8 + 4):
        return f"'g' after reconnecting answered {regs[:40]!r}"
    if (r := rsp.ask("D")) != "OK":
        return f"D answered {r!r}"
    return None


def test_protocol(ctx, gic, dbg="vm1"):
    name = f"v{gic}/gdbstub_protocol" if dbg == "vm1" else f"v{gic}/gdbstub_cpu0"
    other = "vm0" if dbg == "vm1" else "vm1"
    syms = elf_symbols(ctx.elf)
    run = Run(ctx, name, gic, dbg)
    reason = None
    rsp = None
    sock = None
    try:
        if not run.wait_for(r"^\[" + dbg + r"\] tick 3$"):
            reason = f"{dbg} never ticked"
        elif not (sock := run.connect()):
            reason = "cannot connect to the gdb stub's serial port"
        else:
            rsp = Rsp(sock)
            reason = protocol_session(rsp, run, syms, dbg, other)
            if not reason:
                sock.close()
                time.sleep(0.5)
                sock = run.connect()
                log = rsp.log
                rsp = Rsp(sock)
                rsp.log = log + ["(reconnected)"]
                reason = reconnect_session(rsp)
        if not reason and not run.wait_for(r"^bulkhead: " + dbg + r": powered off", STEP_LIMIT):
            reason = f"{dbg} did not finish after detach"
    except (OSError, ValueError, TimeoutError) as e:
        reason = f"{type(e).__name__}: {e}"
    finally:
        if sock:
            sock.close()
    r = run.finish(rsp.log if rsp else ())
    return qemu.verdict(name, r, reason,
                        qemu.expect_ordered(r.text, [
                            r"^bulkhead: " + dbg + r": gdb stub on /pl011@9040000",
                            r"^bulkhead: " + dbg + r": gdb attached",
                            r"^bulkhead: " + dbg + r": gdb detached",
                            r"^\[" + dbg + r"\] ticker done"]),
                        qemu.expect_none(r.text, [qemu.stopped(["vm0", "vm1"])]))


# ---- the guest's own BRK ----

GUEST_BRK = 0xD4202460  # BRK #0x123
GUEST_BRK_ESR = 0xF2000123  # EC 0x3c, IL, the immediate


def test_guest_brk(ctx, gic):
    name = f"v{gic}/gdbstub_guest_brk"
    syms = elf_symbols(ctx.elf)
    run = Run(ctx, name, gic)
    reason = None
    rsp = sock = None
    try:
        if not run.wait_for(r"^\[vm1\] tick 3$"):
            reason = "vm1 never ticked"
        elif not (sock := run.connect()):
            reason = "cannot connect to the gdb stub's serial port"
        else:
            rsp = Rsp(sock)
            rsp.ask("qSupported")
            rsp.ask("?")
            insn = struct.pack("<I", GUEST_BRK).hex()
            if (r := rsp.ask(f"M{syms['delay_ms']:x},4:{insn}")) != "OK":
                reason = f"M answered {r!r}"
            else:
                rsp.send("c")
        if not reason and not run.wait_for(
                r"^\[vm1\] guest: unexpected sync exception .*ESR_EL1=0x%x " % GUEST_BRK_ESR,
                STEP_LIMIT):
            reason = "the guest's own BRK did not reach its exception handler"
    except (OSError, ValueError, TimeoutError) as e:
        reason = f"{type(e).__name__}: {e}"
    finally:
        if sock:
            sock.close()
    r = run.finish(rsp.log if rsp else ())
    return qemu.verdict(name, r, reason, qemu.expect_none(r.text, [qemu.stopped(["vm0", "vm1"])]))


# ---- Linux ----

def linux_session(rsp):
    """The Linux test's steps; returns None or the first reason it failed."""
    rsp.ask("qSupported:multiprocess+;swbreak+;xmlRegisters=aarch64")
    if not (r := rsp.ask("?")).startswith("T"):
        return f"'?' answered {r!r}"
    if (r := rsp.ask("qfThreadInfo")) != "m1,2":
        return f"qfThreadInfo answered {r!r}, expected a thread per vCPU"
    in_kernel = 0
    for th in (1, 2):
        if (r := rsp.ask(f"Hg{th}")) != "OK":
            return f"Hg{th} answered {r!r}"
        regs = regs_of(rsp.ask("g"))
        # Stopped in the kernel (EL1h, a kernel address) or in user space (EL0t, an address
        # below the kernel's half): anything else is not a vCPU's real state.
        kernel = regs[32] >= 0xFFFF000000000000 and regs[33] & 0xF == 5
        user = regs[32] < 1 << 48 and regs[33] & 0xF == 0
        if not (kernel or user):
            return (f"thread {th}: pc {regs[32]:#x} cpsr {regs[33]:#x}: neither the kernel at "
                    "EL1h nor user space at EL0t")
        in_kernel += kernel
        code = rsp.ask(f"m{regs[32]:x},8")
        if len(code) != 16:
            return f"thread {th}: reading 8 bytes at its pc {regs[32]:#x} answered {code!r}"
    if not in_kernel:
        return "no vCPU stopped in the kernel: its memory at a kernel address was not read"
    rsp.ask("Hg0")
    rsp.ask("Hc-1")
    rsp.send("c")
    time.sleep(1)
    rsp.send(b"\x03", raw=True)
    if not (r := rsp.receive(STEP_LIMIT)).startswith("T02"):
        return f"after Ctrl-C: {r!r}"
    rsp.send("s")
    if not (r := rsp.receive(STEP_LIMIT)).startswith("T05"):
        return f"after s: {r!r}"
    if (r := rsp.ask("D")) != "OK":
        return f"D answered {r!r}"
    return None


def test_linux(ctx, gic):
    name = f"v{gic}/gdbstub_linux"
    why = qemu.missing(qemu.LINUX_KERNEL, qemu.LINUX_INITRD,
                       how="run scripts/install-deps.sh and make linux-initrd")
    if why:
        return qemu.failure(name, why)
    run = Run(ctx, name, gic, "vm0", [qemu.linux_module(0, "console=ttyAMA0")])
    reason = None
    rsp = sock = None
    try:
        if not run.wait_for(r"^\[vm0\] LINUX user space", 120):
            reason = "Linux did not reach user space"
        elif not (sock := run.connect()):
            reason = "cannot connect to the gdb stub's serial port"
        else:
            rsp = Rsp(sock)
            reason = linux_session(rsp)
        if not reason and not run.wait_for(r"^bulkhead: vm0: powered off", 120):
            reason = "Linux did not finish after detach"
    except (OSError, ValueError, TimeoutError) as e:
        reason = f"{type(e).__name__}: {e}"
    finally:
        if sock:
            sock.close()
    r = run.finish(rsp.log if rsp else ())
    warnings = qemu.linux_dmesg_warnings(r.text, "vm0")
    return qemu.verdict(name, r, reason,
                        qemu.expect_ordered(r.text, [r"^bulkhead: vm0: gdb attached",
                                                     r"^bulkhead: vm0: gdb detached",
                                                     r"^\[vm0\] LINUX dmesg-warnings=\d+",
                                                     r"^\[vm0\] LINUX checks done"]),
                        warnings and "dmesg warning(s) after the debug session:"
                        + "".join(f"\n      {w}" for w in warnings),
                        qemu.expect_none(r.text, [qemu.stopped(["vm0"])]))


# ---- gdb-multiarch ----

def test_gdb(ctx, gic):
    name = f"v{gic}/gdbstub_gdb"
    if not qemu.which(GDB):
        return qemu.failure(name, f"{GDB} not found (scripts/install-deps.sh installs it)")
    syms = elf_symbols(ctx.elf)
    run = Run(ctx, name, gic)
    reason = None
    out = ""
    try:
        if not run.wait_for(r"^\[vm1\] tick 3$"):
            reason = "vm1 never ticked"
        else:
            gdb = [GDB, "-batch", "-nx", "-ex", "set architecture aarch64",
                   "-ex", f"target remote 127.0.0.1:{run.port}",
                   "-ex", "break delay_ms", "-ex", "continue",
                   "-ex", "info registers pc", "-ex", "stepi", "-ex", "info registers pc",
                   "-ex", "x/1xw &data_marker", "-ex", "print/x data_marker",
                   "-ex", "detach", ctx.elf]
            p = subprocess.run(gdb, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=90)
            out = p.stdout + p.stderr
            reason = check_gdb_output(out, syms)
        if not reason and not run.wait_for(r"^bulkhead: vm1: powered off", STEP_LIMIT):
            reason = "vm1 did not finish after detach"
    except subprocess.TimeoutExpired:
        reason = "gdb-multiarch did not finish in 90 s"
    r = run.finish(out.splitlines())
    return qemu.verdict(name, r, reason, qemu.expect_none(r.text, [qemu.stopped(["vm0", "vm1"])]))


def check_gdb_output(out, syms):
    brk = syms["delay_ms"]
    pcs = [int(x, 16) for x in re.findall(r"^pc\s+(0x[0-9a-f]+)", out, re.MULTILINE)]
    if not re.search(r"^Breakpoint 1, .*delay_ms", out, re.MULTILINE):
        return f"gdb did not stop at the breakpoint: {out.strip()[-300:]!r}"
    if len(pcs) != 2 or pcs[0] != brk or pcs[1] != brk + 4:
        return f"pc before and after stepi: {[hex(p) for p in pcs]}, expected {brk:#x}, +4"
    if not re.search(r"<data_marker>:\s+0x600dda7a", out):
        return f"x/1xw &data_marker: {out.strip()[-300:]!r}"
    if not re.search(r"^\$1 = 0x600dda7a", out, re.MULTILINE):
        return f"print/x data_marker: {out.strip()[-300:]!r}"
    if "detached" not in out:
        return "gdb did not detach"
    return None


def cases(build):
    ctx = Ctx(build)
    out = []
    for gic in (3, 2):
        out.append((f"v{gic}/gdbstub_protocol", lambda g=gic: guarded(ctx, test_protocol, g)))
    out.append(("v3/gdbstub_cpu0", lambda: guarded(ctx, test_protocol, 3, "vm0")))
    out.append(("v3/gdbstub_guest_brk", lambda: guarded(ctx, test_guest_brk, 3)))
    out.append(("v3/gdbstub_linux", lambda: guarded(ctx, test_linux, 3)))
    out.append(("v3/gdbstub_gdb", lambda: guarded(ctx, test_gdb, 3)))
    return out


def guarded(ctx, fn, gic, *args):
    why = qemu.missing(ctx.image, ctx.guest, ctx.elf)
    if why:
        return qemu.failure(f"v{gic}/{fn.__name__}", why)
    return fn(ctx, gic, *args)


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
