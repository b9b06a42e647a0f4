#!/usr/bin/env python3
"""Device passthrough tests (GitHub issue 9) on QEMU virt, for GICv2 and GICv3 ("v2/...",
"v3/..."): the board's own devices given to a VM, described in the device tree. Each test dumps
QEMU's DTB with the run's devices present (qemu.make_dtb_with), adds VM nodes to /chosen, loads
the guests with `-device loader` and boots the hypervisor with that DTB.

The Linux guest is Debian's kernel with the test initramfs (`make linux-initrd`) in its
`bulkhead.test=passthrough` mode (tests/linux/init): it loads its modules, then reports on
"LINUX pt ..." lines each device it has and "none" for each it lacks.

- pt_uart_rtc_gpio: a `bulkhead,vm` node "linux" (2 vCPUs, 512 MiB) with
  `bulkhead,passthrough = "/pl011@9040000", "/pl031@9010000", "/pl061@9030000", "/gpio-keys"`
  beside a bare-metal test guest "guest" (a ticker). QEMU's second serial port is a Unix socket
  the test holds (`-serial mon:stdio -serial chardev:s1`), its monitor a QMP socket. Checked:
  Linux binds ttyAMA1 to the PL011 at 0x09040000; the line the guest writes there reaches the
  socket; the line the test then writes into the socket reaches the guest (echoed on its console)
  and the port's interrupt (INTID 40), which the guest routed to its last CPU (smp_affinity,
  i.e. GICD_ITARGETSR / GICD_IROUTER), was taken on that CPU meanwhile; rtc0's since_epoch is
  within RTC_TOLERANCE s of the host's clock when the line arrives; after the guest says
  "gpio-key: ready", QEMU's `system_powerdown` (QMP) makes the "GPIO Key Poweroff" count in its
  /proc/interrupts go up; both VMs power off, QEMU exits by itself.
- pt_reset: the same VM and checks, but the guest first reboots itself (bulkhead.pt-reboot) with
  ttyAMA1 open, its interrupt enabled: "bulkhead: linux: reset" once, then on boot-count 1
  everything works as above (the VM's reset gave its devices and SPIs back in a usable state).
- pt_virtio_blk: the last virtio-mmio transport (`/virtio_mmio@a003e00`, where QEMU puts
  `-device virtio-blk-device`) passed to a `direct-map` Linux VM; the disk is an ext2 image the
  test makes with `mke2fs -d` holding one file; the guest mounts /dev/vda read-only and prints the
  file's md5sum, which must be the test's. The guest has no UART or GPIO of the board (they were
  not passed), and the hypervisor prints no DMA warning (the VM is direct-mapped). The test guest
  runs beside it.
- pt_ipa: the same boot (checked once, by whichever of the two tests comes first): the VM also
  has the PL031, moved to IPA 0x09110000 by `bulkhead,passthrough-ipa`; Linux finds it there
  (node pl031@9110000, device "9110000.pl031", none at 0x9010000) and its time is right.
- pt_dma_warning: the same transport given to a test guest without direct-map: the hypervisor
  warns ("bulkhead: dma: warning: /virtio_mmio@a003e00 can do DMA ... direct-map ...") and the VM
  runs all the same.
- pt_xen: Xen's binding: a `xen,domain` node "domU1" whose `multiboot,device-tree` module (a
  partial DTB compiled with dtc, loaded with `-device loader`) has the PL031 and the second PL011
  under /passthrough with `xen,reg`/`xen,path`; the guest sees rtc0 (time checked) and ttyAMA1
  (both directions checked, as above).
- pt_phandle: `bulkhead,passthrough = <phandle>` (the PL061's, read from QEMU's tree) in one test
  guest's node and "/pl061@9030000" in another's: the second is refused as a double claim of
  /pl061@9030000, so the phandle was resolved to that node.
- pt_bad_double, pt_bad_console, pt_bad_unknown, pt_bad_ram, pt_bad_gic, pt_bad_xen_unaligned:
  bare-metal test guests only: a good VM "good" and a bad one; the bad one is refused with an
  "error: ..." line naming its node (/chosen/<node>) and a keyword ("already passed", "console",
  "not found", "overlaps RAM", "GIC", "page-aligned"), then "bulkhead: /chosen/<node>: VM not
  started" (or the VM's name), and never starts; the good VM starts and finishes. Respectively:
  /pl031@9010000 passed to two VMs (the first one, "good", keeps it), the hypervisor's console
  /pl011@9000000, a path that does not exist ("/nope@0"), a device node added to the tree whose
  reg lies in RAM, one added over the GIC distributor's registers, and a Xen partial DTB whose
  xen,reg starts at 0x9010100.
- pt_bad_spi_double, pt_bad_spi_console, pt_bad_ppi: the same with a device the test adds at a
  free address whose interrupt is the PL031's SPI 2 while "good" has the PL031 ("already
  passed"), the console UART's SPI 1 ("console"), or PPI 9 (only SPIs can be passed: "SPI").

Every QEMU run has a time limit; consoles are kept in build/test-logs/ (with the second serial
port's traffic and the QMP commands at the end of the interactive runs' logs).

Running them. They are in `make test` (tests/run_all.py, two QEMU runs at a time). Alone:
    make all guests linux-initrd
    tests/qemu/test_passthrough.py [--build build/qemu-virt] [--only RE]
They need QEMU 10 (the second PL011 at 0x09040000 exists only there), dtc and mke2fs (e2fsprogs,
`-d` makes the image without root). The Linux guest's side can be tried on the bare board, no
hypervisor, with every device at once:
    qemu-system-aarch64 -M virt,gic-version=3 -cpu cortex-a72 -m 1G -nographic -nic none \
        -kernel /var/cache/bulkhead/arm64/vmlinuz -initrd build/linux/initrd.cpio \
        -append "console=ttyAMA0 bulkhead.test=passthrough bulkhead.pt-wait=10" \
        -serial mon:stdio -serial file:/tmp/ttyAMA1.out \
        -drive if=none,id=d0,file=disk.img,format=raw,readonly=on -device virtio-blk-device,drive=d0
(it waits bulkhead.pt-wait seconds for a line on ttyAMA1 and for the power key, then goes on).
When a device is not usable in the guest, the failure quotes the guest's "LINUX pt bound: ... ->
no driver" and "LINUX pt deferred: ..." lines; the log has the guest tree's nodes, phandles and
references around the board's devices ("LINUX pt dt...") to see why.
"""

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402

LINUX_TIME_LIMIT = 180  # seconds per Linux run (a passing one takes 15-60 under TCG)
BARE_TIME_LIMIT = 60  # seconds per run of bare-metal guests only
RTC_TOLERANCE = 5  # seconds between the guest's RTC and the host's clock
PT_WAIT = 40  # the guest's bulkhead.pt-wait: how long it waits for the serial line and the key
MEM = "2G"
SMP = 3  # Linux: 2 vCPUs, the test guest: 1

LINUX_VM = "linux"
XEN_VM = "domU1"
GUEST_VM = "guest"
KERNEL_ADDR, INITRD_ADDR = qemu.LINUX_ADDRS[0]
GUEST_ADDR = 0x44000000  # the bare-metal test guest's image
BAD_GUEST_ADDR = 0x45000000  # a second copy for the bad VMs
PARTIAL_DTB_ADDR = 0x4F000000  # a Xen multiboot,device-tree module (QEMU's DTB is at 0x48000000)

GUEST_TX = "bulkhead-pt hello from the guest on ttyAMA1"  # what tests/linux/init writes
HOST_TX = "bulkhead-pt reply from the host 4242"  # what the test writes back
TICKER = "mode=ticker count=150 tick_ms=100"  # 15 s: still ticking while Linux boots
LINUX_ARGS = f"console=ttyAMA0 bulkhead.test=passthrough bulkhead.pt-wait={PT_WAIT}"


class Ctx(qemu.Build):
    def __init__(self, build):
        super().__init__(build)
        self.testguest = qemu.guest_path(build, "testguest")
        self._lock = threading.Lock()
        self._boots = {}

    def missing_linux(self):
        return (qemu.missing(self.image, how="make all")
                or qemu.missing(self.testguest, how="make guests")
                or qemu.missing(qemu.LINUX_KERNEL, how="scripts/install-deps.sh")
                or qemu.missing(qemu.LINUX_INITRD, how="make linux-initrd")
                or (None if qemu.which("dtc") else "dtc not found"))

    def shared(self, key, boot):
        """boot()'s result, run once per key for every test that asks (thread-safe): two tests
        can check one boot."""
        with self._lock:
            entry = self._boots.setdefault(key, [threading.Lock(), None])
        with entry[0]:
            if entry[1] is None:
                entry[1] = boot()
            return entry[1]

    def missing_bare(self):
        return (qemu.missing(self.image, how="make all")
                or qemu.missing(self.testguest, how="make guests")
                or (None if qemu.which("dtc") else "dtc not found"))


# ---- device tree text ----

def module_node(kind, addr, size, bootargs=None, indent="\t\t\t"):
    """A boot module node (kind: "kernel", "ramdisk" or "device-tree"), cells 2/2."""
    lines = [f"{indent}module@{addr:x} {{",
             f'{indent}\tcompatible = "multiboot,{kind}", "multiboot,module";',
             f"{indent}\treg = <0x0 {addr:#x} 0x0 {size:#x}>;"]
    if bootargs is not None:
        lines.append(f'{indent}\tbootargs = "{bootargs}";')
    lines.append(f"{indent}}};")
    return "\n".join(lines) + "\n"


def vm_node(name, modules, passthrough=(), props=(), mem=0x20000000, cpus=2, xen=False):
    """A `bulkhead,vm` node (or with xen a `xen,domain` node) under /chosen."""
    out = [f"\t\t{name} {{"]
    if xen:
        out += ['\t\t\tcompatible = "xen,domain";', f"\t\t\tmemory = <0x0 {mem // 1024:#x}>;"]
    else:
        out += ['\t\t\tcompatible = "bulkhead,vm";', f"\t\t\tmemory-size = <0x0 {mem:#x}>;"]
    out += [f"\t\t\tcpus = <{cpus}>;", "\t\t\t#address-cells = <2>;", "\t\t\t#size-cells = <2>;"]
    if passthrough:
        out.append("\t\t\tbulkhead,passthrough = " + ", ".join(f'"{p}"' for p in passthrough)
                   + ";")
    out += [f"\t\t\t{p};" for p in props]
    return "\n".join(out) + "\n" + "".join(modules) + "\t\t};\n"


def linux_modules(bootargs=LINUX_ARGS):
    return [module_node("kernel", KERNEL_ADDR, os.path.getsize(qemu.LINUX_KERNEL), bootargs),
            module_node("ramdisk", INITRD_ADDR, os.path.getsize(qemu.LINUX_INITRD))]


def guest_node(ctx, name=GUEST_VM, bootargs=TICKER, passthrough=(), addr=GUEST_ADDR):
    """The bare-metal test guest as a 1-vCPU, 64 MiB `bulkhead,vm`."""
    return vm_node(name, [module_node("kernel", addr, os.path.getsize(ctx.testguest), bootargs)],
                   passthrough, mem=0x4000000, cpus=1)


def loaders(*files):
    """-device loader arguments: (file, addr) pairs copied raw into RAM by QEMU."""
    out = []
    for path, addr in files:
        out += ["-device", f"loader,file={path},addr={addr:#x},force-raw=on"]
    return out


def linux_loaders():
    return loaders((qemu.LINUX_KERNEL, KERNEL_ADDR), (qemu.LINUX_INITRD, INITRD_ADDR))


# The partial device tree of Xen's binding (a multiboot,device-tree module): the devices under
# /passthrough with xen,reg = <paddr size gaddr> and xen,path, interrupt-parent 65000 (Xen's
# guest GIC phandle), the fixed clock they reference beside them. The clock has no
# clock-output-names: named "clk24mhz" as in QEMU's tree, it would clash with the clock of the VM's
# own emulated PL011 (also "clk24mhz") and Linux would defer both devices for want of a clock.
PARTIAL_DTS = """/dts-v1/;

/ {{
\t#address-cells = <2>;
\t#size-cells = <1>;

\tpassthrough {{
\t\tcompatible = "simple-bus";
\t\tranges;
\t\t#address-cells = <2>;
\t\t#size-cells = <1>;
{devices}
\t\tapb_pclk: apb-pclk {{
\t\t\tcompatible = "fixed-clock";
\t\t\t#clock-cells = <0>;
\t\t\tclock-frequency = <24000000>;
\t\t}};
\t}};
}};
"""

PARTIAL_RTC = """
\t\tpl031@9010000 {{
\t\t\tcompatible = "arm,pl031", "arm,primecell";
\t\t\treg = <0x0 0x9010000 0x1000>;
\t\t\tinterrupts = <0x0 0x2 0x4>;
\t\t\tinterrupt-parent = <0xfde8>;
\t\t\tclocks = <&apb_pclk>;
\t\t\tclock-names = "apb_pclk";
\t\t\txen,reg = <0x0 {paddr:#x} 0x1000 0x0 0x9010000>;
\t\t\txen,path = "/pl031@9010000";
\t\t\txen,force-assign-without-iommu;
\t\t}};
"""

PARTIAL_UART = """
\t\tpl011@9040000 {
\t\t\tcompatible = "arm,pl011", "arm,primecell";
\t\t\treg = <0x0 0x9040000 0x1000>;
\t\t\tinterrupts = <0x0 0x8 0x4>;
\t\t\tinterrupt-parent = <0xfde8>;
\t\t\tclocks = <&apb_pclk &apb_pclk>;
\t\t\tclock-names = "uartclk", "apb_pclk";
\t\t\txen,reg = <0x0 0x9040000 0x1000 0x0 0x9040000>;
\t\t\txen,path = "/pl011@9040000";
\t\t\txen,force-assign-without-iommu;
\t\t};
"""


def compile_partial(workdir, devices):
    """Compiles a partial DTB with these device nodes; (path, None) or (None, reason)."""
    src = os.path.join(workdir, "partial.dts")
    out = os.path.join(workdir, "partial.dtb")
    with open(src, "w", encoding="utf-8") as f:
        f.write(PARTIAL_DTS.format(devices="".join(devices)))
    p = subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", out, src],
                       capture_output=True, text=True)
    if p.returncode:
        return None, f"dtc of the partial DTB failed: {p.stderr.strip()[-300:]}"
    return out, None


def xen_node(name, modules, partial, mem=0x20000000, cpus=2):
    return vm_node(name, modules + [module_node("device-tree", PARTIAL_DTB_ADDR,
                                                os.path.getsize(partial))],
                   mem=mem, cpus=cpus, xen=True)


# ---- an interactive run: the console, the second serial port and QMP ----

class PtRun:
    """One QEMU run with a test-held second serial port (a Unix socket) and a QMP socket. It
    answers the guest's line on the serial port with HOST_TX and sends system_powerdown once the
    console shows `powerdown_re`. Afterwards: `run` (a qemu.Run), `serial` (what the guest sent
    there), `lines` ([(host time, console line)]), `notes` (what the test did, when)."""

    def __init__(self, name, workdir):
        self.name = name
        self.serial_path = os.path.join(workdir, "s1.sock")
        self.qmp_path = os.path.join(workdir, "qmp.sock")
        self.serial = b""
        self.lines = []
        self.notes = []
        self.run = None
        self._buf = bytearray()
        self._partial = b""
        self._lock = threading.Lock()

    def devices(self):
        """The run's -serial/-chardev/-qmp arguments (the console stays on stdio)."""
        return ["-chardev", f"socket,id=s1,path={self.serial_path},server=on,wait=off",
                "-serial", "mon:stdio", "-serial", "chardev:s1",
                "-qmp", f"unix:{self.qmp_path},server=on,wait=off"]

    @staticmethod
    def dump_devices():
        """What stands in for devices() when the DTB is dumped: the same two PL011s."""
        return ["-serial", "null", "-serial", "null"]

    def _read(self, proc):
        fd = proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            now = time.time()
            with self._lock:
                self._buf += chunk
                parts = (self._partial + chunk).split(b"\n")
                self._partial = parts.pop()
                for p in parts:
                    self.lines.append((now, p.decode("utf-8", "replace").rstrip("\r")))

    def text(self):
        with self._lock:
            return bytes(self._buf).decode("utf-8", "replace")

    def _note(self, what):
        self.notes.append(f"{time.time():.2f} " + " | ".join(what.splitlines()))

    @staticmethod
    def _connect(path, deadline):
        while time.monotonic() < deadline:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return s
            except OSError:
                s.close()
                time.sleep(0.05)
        return None

    def _qmp(self, sock, command):
        """Sends one QMP command; returns what came back within 5 s (events included)."""
        sock.sendall(json.dumps({"execute": command}).encode() + b"\n")
        sock.settimeout(5)
        got = b""
        try:
            while b'"return"' not in got and b'"error"' not in got:
                d = sock.recv(4096)
                if not d:
                    break
                got += d
        except OSError:
            pass
        return got.decode("utf-8", "replace").strip()

    def go(self, cmd, time_limit, powerdown_re=None, sockets=True):
        """Runs cmd (with devices() in it if sockets) for at most time_limit seconds."""
        begin = time.monotonic()
        deadline = begin + time_limit
        proc = qemu.start(cmd, time_limit=time_limit + 5)
        reader = threading.Thread(target=self._read, args=(proc,), daemon=True)
        reader.start()
        ser = qmp = None
        if sockets:
            ser = self._connect(self.serial_path, min(deadline, begin + 20))
            qmp = self._connect(self.qmp_path, min(deadline, begin + 20))
            if ser is None or qmp is None:
                self._note("could not connect to the serial or QMP socket")
        if qmp is not None:
            self._note("QMP qmp_capabilities: " + self._qmp(qmp, "qmp_capabilities")[-300:])
        if ser is not None:
            ser.setblocking(False)
        replied = powered = False
        pd = re.compile(powerdown_re, re.MULTILINE) if powerdown_re else None
        timed_out = False
        while proc.poll() is None:
            if time.monotonic() > deadline:
                timed_out = True
                break
            if ser is not None:
                try:
                    d = ser.recv(4096)
                    if d:
                        self.serial += d
                        self._note(f"serial1 from the guest: {d!r}")
                except BlockingIOError:
                    pass
                except OSError as e:
                    self._note(f"serial1: {e}")
                    ser = None
                if ser is not None and not replied and GUEST_TX.encode() in self.serial:
                    try:
                        ser.setblocking(True)
                        ser.sendall(HOST_TX.encode() + b"\n")
                        ser.setblocking(False)
                        self._note(f"serial1 to the guest: {HOST_TX!r}")
                    except OSError as e:
                        self._note(f"serial1: sending failed: {e}")
                    replied = True
            if pd and not powered and qmp is not None and pd.search(self.text()):
                self._note("QMP system_powerdown: " + self._qmp(qmp, "system_powerdown")[-300:])
                powered = True
            time.sleep(0.05)
        if timed_out:
            qemu.stop(proc)
        else:
            proc.wait()
        reader.join(5)
        for s in (ser, qmp):
            if s is not None:
                s.close()
        seconds = time.monotonic() - begin
        text = self.text().replace("\r\n", "\n").replace("\r", "\n")
        log = qemu.log_path(self.name)
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, "w", encoding="utf-8") as f:
            f.write("# " + " ".join(qemu._shell_quote(a) for a in cmd) + "\n")
            f.write(f"# exit {proc.returncode}{' (killed at the time limit)' if timed_out else ''}"
                    f", {seconds:.1f} s\n")
            f.write(text)
            f.write("\n# ---- the test's side ----\n")
            f.writelines(f"# {n}\n" for n in self.notes)
        self.run = qemu.Run(self.name, cmd, text, proc.returncode, timed_out, seconds, log)
        return self.run

    def line_time(self, pattern):
        """(host time, match) of the first console line matching pattern, else (None, None)."""
        rx = re.compile(pattern)
        with self._lock:
            for t, line in self.lines:
                m = rx.search(line)
                if m:
                    return t, m
        return None, None


# ---- checks of the init's report ----

def pt(vm, line_re):
    """A "LINUX pt ..." line of VM vm."""
    return qemu.prefixed(vm, r"LINUX pt " + line_re)


def check_uart(r, vm):
    t = r.run.text
    got = r.serial.decode("utf-8", "replace")
    return [
        qemu.expect_all(t, [pt(vm, r"uart: ttyAMA1 at MMIO 0x9040000 .*PL011")]),
        None if GUEST_TX in got else
        f"the guest's line {GUEST_TX!r} did not reach the second serial port (got {got[-200:]!r})",
        qemu.expect_all(t, [pt(vm, r"uart-rx: '" + qemu.esc(HOST_TX) + "'")]),
        uart_irq(t, vm),
    ]


def uart_irq(t, vm):
    """The second PL011's interrupt (SPI 8, INTID 40) was taken while the port was open, on the
    CPU the guest routed it to (its last)."""
    m = re.search(pt(vm, r"uart-irq: \d+:((?:\s+\d+)+)\s+GIC\S*\s+40 Level\s+uart-pl011"), t,
                  re.MULTILINE)
    if not m:
        return f"[{vm}] no 'LINUX pt uart-irq:' line for INTID 40 (the second PL011's SPI 8)"
    counts = [int(c) for c in m.group(1).split()]
    if sum(counts) == 0:
        return f"[{vm}] the second PL011's interrupt was never taken: {m.group(0)!r}"
    a = re.search(pt(vm, r"uart-affinity: irq \d+ -> CPU(\d+) .*"), t, re.MULTILINE)
    if not a:
        return f"[{vm}] no 'LINUX pt uart-affinity:' line (the guest did not route the interrupt)"
    cpu = int(a.group(1))
    if cpu >= len(counts) or counts[cpu] == 0:
        return (f"[{vm}] the second PL011's interrupt, routed to CPU{cpu}, was not taken there: "
                f"{m.group(0)!r} ({a.group(0)!r})")
    return None


def check_rtc(r, vm):
    when, m = r.line_time(pt(vm, r"rtc: since_epoch=(\d+)"))
    if not m:
        return qemu.expect_all(r.run.text, [pt(vm, r"rtc: since_epoch=\d+")])
    diff = int(m.group(1)) - when
    if abs(diff) > RTC_TOLERANCE:
        return (f"rtc0 since_epoch={m.group(1)} is {diff:+.1f} s from the host's clock when the "
                f"line arrived (tolerance {RTC_TOLERANCE} s)")
    return None


def check_gpio(r, vm):
    t = r.run.text
    m = re.search(pt(vm, r"gpio-key: before=(\d+) after=(\d+)"), t, re.MULTILINE)
    if not m:
        return qemu.expect_ordered(t, [pt(vm, r"gpio-key: ready"),
                                       pt(vm, r"gpio-key: before=\d+ after=\d+")])
    if int(m.group(2)) <= int(m.group(1)):
        return (f"the GPIO power key's interrupt count did not go up after system_powerdown "
                f"({m.group(0).strip()!r})")
    return qemu.expect_all(t, [pt(vm, r"irq: .*pl061.*GPIO Key Poweroff")])


def check_modules(t, vm):
    return qemu.expect_all(t, [pt(vm, r"modules: loaded=\d+ failed=none"), pt(vm, r"done")])


def ends_cleanly(t, run_, vms):
    return qemu.ends_cleanly(t, run_, vms, forbid=[qemu.stopped(vms), r"PANIC.*"],
                             forbid_first=True)


def hv_notes(text):
    """The hypervisor's error lines, for a failure's reason."""
    return [l for l in text.splitlines()
            if l.startswith("error: ") or "PANIC" in l or "not started" in l][:6]


GUEST_NOTE = re.compile(r"^\[[^]]+\] LINUX pt (deferred|module \S+: FAIL|bound: .*no driver)")


def verdict(name, run_, reasons):
    """The Result; a failure's reason adds the hypervisor's error lines and the guest's notes on
    devices it could not use (deferred probes, unbound devices, modules that failed)."""
    r = qemu.verdict(name, run_, *reasons)
    if not r.ok and run_ is not None:
        notes = hv_notes(run_.text)
        if notes:
            r.reason += "\n    hypervisor: " + "\n    hypervisor: ".join(notes)
        guest = [l for l in run_.text.splitlines() if GUEST_NOTE.match(l)][:8]
        if guest:
            r.reason += "\n    guest: " + "\n    guest: ".join(guest)
    return r


def make_dtb(ctx, gic, work, nodes, extra, root_nodes=""):
    return qemu.make_dtb_with(ctx, [], qemu.machine(gic), work, nodes, smp=SMP, mem=MEM,
                              extra=extra, root_nodes=root_nodes, need_modules=False)


def workdir():
    """A short directory for the Unix sockets (their paths have a 108-byte limit)."""
    return tempfile.TemporaryDirectory(prefix="bulkhead-pt-")


# ---- 1. UART + RTC + GPIO to a Linux VM, a test guest beside it ----

def test_uart_rtc_gpio(ctx, gic, reset=False):
    """With reset (pt_reset), the guest first reboots itself with the UART open (bulkhead.pt-reboot)
    and the same checks run on its second boot."""
    name = f"v{gic}/pt_reset" if reset else f"v{gic}/pt_uart_rtc_gpio"
    missing = ctx.missing_linux()
    if missing:
        return qemu.failure(name, missing)
    args = LINUX_ARGS + (" bulkhead.pt-reboot" if reset else "")
    nodes = (vm_node(LINUX_VM, linux_modules(args), ["/pl011@9040000", "/pl031@9010000",
                                                     "/pl061@9030000", "/gpio-keys"])
             + guest_node(ctx))
    files = linux_loaders() + loaders((ctx.testguest, GUEST_ADDR))
    with workdir() as work:
        dtb, err = make_dtb(ctx, gic, work, nodes, PtRun.dump_devices())
        if err:
            return qemu.failure(name, err)
        r = PtRun(name, work)
        cmd = qemu.command(ctx.image, machine=qemu.machine(gic), smp=SMP, mem=MEM, dtb=dtb,
                           extra=files + r.devices())
        r.go(cmd, LINUX_TIME_LIMIT, powerdown_re=pt(LINUX_VM, r"gpio-key: ready"))
    t = r.run.text
    reasons = [qemu.expect_all(t, [qemu.prefixed(LINUX_VM, r"LINUX user space")]),
               *check_uart(r, LINUX_VM), check_rtc(r, LINUX_VM), check_gpio(r, LINUX_VM),
               qemu.expect_all(t, [pt(LINUX_VM, r"disk: none")]),
               check_modules(t, LINUX_VM),
               qemu.expect_all(t, [qemu.prefixed(GUEST_VM, "ticker done")]),
               *ends_cleanly(t, r.run, (LINUX_VM, GUEST_VM))]
    if reset:
        reset_line = r"^bulkhead: " + LINUX_VM + r": reset$"
        reasons[1:1] = [
            qemu.expect_ordered(t, [pt(LINUX_VM, r"rebooting \(boot-count=0, /dev/ttyAMA1 open\)"),
                                    reset_line,
                                    qemu.prefixed(LINUX_VM, r"LINUX user space: .*boot-count=1"),
                                    pt(LINUX_VM, r"uart: ttyAMA1 ")]),
            qemu.expect_count(t, reset_line, 1)]
    return verdict(name, r.run, reasons)


# ---- 2. a virtio-blk disk to a direct-mapped Linux VM ----

DISK_FILE = "hello.txt"
# Where the virtio-blk VM sees the PL031 (bulkhead,passthrough-ipa): nothing is there on virt.
RTC_IPA = 0x9110000
DISK_TEXT = b"Bulkhead passthrough: a file on a virtio-blk disk read by a Linux VM.\n" * 40


def make_disk(work):
    """An 8 MiB ext2 image holding DISK_FILE; (path, None) or (None, reason)."""
    root = os.path.join(work, "disk")
    os.makedirs(root)
    with open(os.path.join(root, DISK_FILE), "wb") as f:
        f.write(DISK_TEXT)
    img = os.path.join(work, "disk.img")
    mke2fs = qemu.which("mke2fs") or next(
        (p for p in ("/usr/sbin/mke2fs", "/sbin/mke2fs") if os.path.isfile(p)), None)
    if not mke2fs:
        return None, "mke2fs not found (e2fsprogs)"
    p = subprocess.run([mke2fs, "-q", "-F", "-t", "ext2", "-d", root, img, "8M"],
                       capture_output=True, text=True)
    if p.returncode:
        return None, f"mke2fs failed: {(p.stdout + p.stderr).strip()[-300:]}"
    return img, None


def virtio_boot(ctx, gic):
    """The boot that pt_virtio_blk and pt_ipa both check: (PtRun, None) or (None, reason)."""
    name = f"v{gic}/pt_virtio_blk"
    missing = ctx.missing_linux()
    if missing:
        return None, missing
    ipa = f"bulkhead,passthrough-ipa = <0x0 0xa003e00 0x0 {RTC_IPA:#x}>"
    nodes = (vm_node(LINUX_VM, linux_modules(), ["/virtio_mmio@a003e00", "/pl031@9010000"],
                     props=["direct-map", ipa])
             + guest_node(ctx))
    files = linux_loaders() + loaders((ctx.testguest, GUEST_ADDR))
    with workdir() as work:
        img, err = make_disk(work)
        if err:
            return None, err
        disk = ["-drive", f"if=none,id=d0,file={img},format=raw,readonly=on",
                "-device", "virtio-blk-device,drive=d0"]
        dtb, err = make_dtb(ctx, gic, work, nodes, disk)
        if err:
            return None, err
        r = PtRun(name, work)
        cmd = qemu.command(ctx.image, machine=qemu.machine(gic), smp=SMP, mem=MEM, dtb=dtb,
                           extra=files + disk)
        r.go(cmd, LINUX_TIME_LIMIT, sockets=False)
    return r, None


def test_virtio_blk(ctx, gic):
    name = f"v{gic}/pt_virtio_blk"
    r, err = ctx.shared(("virtio", gic), lambda: virtio_boot(ctx, gic))
    if err:
        return qemu.failure(name, err)
    t = r.run.text
    md5 = hashlib.md5(DISK_TEXT).hexdigest()
    reasons = [qemu.expect_all(t, [qemu.prefixed(LINUX_VM, r"LINUX user space")]),
               qemu.expect_all(t, [pt(LINUX_VM, r"disk: /dev/vda mounted"),
                                   pt(LINUX_VM, r"disk-md5: " + md5 + r"\s+/mnt/" + DISK_FILE)]),
               # Only what was passed: the board's second UART and GPIO stay out.
               qemu.expect_all(t, [pt(LINUX_VM, r"uart: none"), pt(LINUX_VM, r"gpio-key: none")]),
               check_modules(t, LINUX_VM),
               # direct-map: no warning that the device's DMA misses the VM's RAM.
               qemu.expect_none(t, [DMA_WARNING]),
               qemu.expect_all(t, [qemu.prefixed(GUEST_VM, "ticker done")]),
               *ends_cleanly(t, r.run, (LINUX_VM, GUEST_VM))]
    return verdict(name, r.run, reasons)


def test_ipa(ctx, gic):
    """The PL031 of pt_virtio_blk's boot, moved by bulkhead,passthrough-ipa."""
    name = f"v{gic}/pt_ipa"
    r, err = ctx.shared(("virtio", gic), lambda: virtio_boot(ctx, gic))
    if err:
        return qemu.failure(name, err)
    t = r.run.text
    want = f"rtc-pl031 {RTC_IPA:x}.pl031"
    m = re.search(pt(LINUX_VM, r"rtc: .*"), t, re.MULTILINE)
    reasons = [None if m and m.group(0).endswith("name=" + want)
               else f"rtc0 is not {want!r}: {m.group(0) if m else 'no LINUX pt rtc line'!r}",
               check_rtc(r, LINUX_VM),
               qemu.expect_all(t, [pt(LINUX_VM, r"dt: .*\bpl031@" + f"{RTC_IPA:x}" + r"\b")]),
               qemu.expect_none(t, [pt(LINUX_VM, r"dt: .*\bpl031@9010000\b")])]
    return verdict(name, r.run, reasons)


DMA_WARNING = r"^bulkhead: .*warning: .*DMA"


# ---- 3. Xen's binding: a xen,domain with a partial device tree ----

def test_xen(ctx, gic):
    name = f"v{gic}/pt_xen"
    missing = ctx.missing_linux()
    if missing:
        return qemu.failure(name, missing)
    with workdir() as work:
        partial, err = compile_partial(work, [PARTIAL_RTC.format(paddr=0x9010000), PARTIAL_UART])
        if err:
            return qemu.failure(name, err)
        nodes = xen_node(XEN_VM, linux_modules(), partial) + guest_node(ctx)
        files = (linux_loaders() + loaders((ctx.testguest, GUEST_ADDR),
                                           (partial, PARTIAL_DTB_ADDR)))
        dtb, err = make_dtb(ctx, gic, work, nodes, PtRun.dump_devices())
        if err:
            return qemu.failure(name, err)
        r = PtRun(name, work)
        cmd = qemu.command(ctx.image, machine=qemu.machine(gic), smp=SMP, mem=MEM, dtb=dtb,
                           extra=files + r.devices())
        r.go(cmd, LINUX_TIME_LIMIT)
    t = r.run.text
    reasons = [qemu.expect_all(t, [qemu.prefixed(XEN_VM, r"LINUX user space")]),
               check_rtc(r, XEN_VM), *check_uart(r, XEN_VM),
               qemu.expect_all(t, [pt(XEN_VM, r"gpio-key: none"), pt(XEN_VM, r"disk: none")]),
               check_modules(t, XEN_VM),
               qemu.expect_all(t, [qemu.prefixed(GUEST_VM, "ticker done")]),
               *ends_cleanly(t, r.run, (XEN_VM, GUEST_VM))]
    return verdict(name, r.run, reasons)


# ---- 4. bad configurations: refused by name, the good VM runs ----

GOOD_VM = "good"
SHORT_TICKER = "mode=ticker count=5"
# A device the test adds to the host tree whose registers lie in RAM (RAM is 0x40000000-0xbfffffff).
RAM_DEVICE = """
\tbulkhead-test-dev@7f000000 {
\t\tcompatible = "bulkhead,test-device";
\t\treg = <0x0 0x7f000000 0x0 0x1000>;
\t};
"""

# A device the test adds whose registers are the GIC distributor's first page (0x08000000).
GIC_DEVICE = """
\tbulkhead-test-dev@8000000 {
\t\tcompatible = "bulkhead,test-device";
\t\treg = <0x0 0x8000000 0x0 0x1000>;
\t};
"""


def irq_device(spi_type, num):
    """A device the test adds at 0x09110000 (nothing is there on virt) with one interrupt."""
    return f"""
\tbulkhead-test-dev@9110000 {{
\t\tcompatible = "bulkhead,test-device";
\t\treg = <0x0 0x9110000 0x0 0x1000>;
\t\tinterrupts = <{spi_type} {num} 0x4>;
\t}};
"""


# case -> (bad VM node, the good VM's passthrough, the bad VM's, keyword regex of the error line,
#          nodes added to the host tree's root, the device the error line must name)
BAD_CASES = {
    "double": ("dup", ["/pl031@9010000"], ["/pl031@9010000"], r"already passed", "",
               "/pl031@9010000"),
    "console": ("cons", [], ["/pl011@9000000"], r"console", "", "/pl011@9000000"),
    "unknown": ("nope", [], ["/nope@0"], r"not found", "", "/nope@0"),
    "ram": ("inram", [], ["/bulkhead-test-dev@7f000000"], r"overlaps RAM", RAM_DEVICE,
            "/bulkhead-test-dev@7f000000"),
    "gic": ("gic", [], ["/bulkhead-test-dev@8000000"], r"\bGIC\b", GIC_DEVICE,
            "/bulkhead-test-dev@8000000"),
    # Windows apart, interrupts shared: the PL031's SPI 2, the console's SPI 1, a PPI.
    "spi_double": ("dupspi", ["/pl031@9010000"], ["/bulkhead-test-dev@9110000"],
                   r"already passed", irq_device(0, 2), "/bulkhead-test-dev@9110000"),
    "spi_console": ("consspi", [], ["/bulkhead-test-dev@9110000"], r"console", irq_device(0, 1),
                    "/bulkhead-test-dev@9110000"),
    "ppi": ("ppi", [], ["/bulkhead-test-dev@9110000"], r"SPI", irq_device(1, 9),
            "/bulkhead-test-dev@9110000"),
}


def bad_run(ctx, gic, name, nodes, root_nodes="", extra=()):
    with workdir() as work:
        dtb, err = make_dtb(ctx, gic, work, nodes, [], root_nodes=root_nodes)
        if err:
            return None, err
        files = loaders((ctx.testguest, GUEST_ADDR), (ctx.testguest, BAD_GUEST_ADDR))
        cmd = qemu.command(ctx.image, machine=qemu.machine(gic), smp=SMP, mem=MEM, dtb=dtb,
                           extra=files + list(extra))
        return qemu.run(name, cmd, BARE_TIME_LIMIT), None


def refused(t, node, keyword, device=None):
    """The reasons a bad VM node was not refused as it should be."""
    path = "/chosen/" + node
    err = [l for l in t.splitlines() if l.startswith("error: ") and path in l]
    reasons = []
    if not err:
        reasons.append(f"no 'error: ...' line naming {path}")
    elif not any(re.search(keyword, l) for l in err):
        reasons.append(f"the error lines naming {path} lack /{keyword}/: {err[:3]}")
    elif device and not any(device in l and re.search(keyword, l) for l in err):
        reasons.append(f"the error line naming {path} does not name {device}: {err[:3]}")
    reasons.append(qemu.expect_all(t, [r"^bulkhead: (" + qemu.esc(path) + "|" + qemu.esc(node)
                                       + r"): VM not started"]))
    reasons.append(qemu.expect_none(t, [r"^bulkhead: " + qemu.esc(node) + r": started",
                                        qemu.prefixed(node, r".*")]))
    return reasons


def test_bad(ctx, gic, case):
    name = f"v{gic}/pt_bad_{case}"
    missing = ctx.missing_bare()
    if missing:
        return qemu.failure(name, missing)
    node, good_pt, bad_pt, keyword, root_nodes, device = BAD_CASES[case]
    nodes = (guest_node(ctx, GOOD_VM, SHORT_TICKER, good_pt)
             + guest_node(ctx, node, SHORT_TICKER, bad_pt, addr=BAD_GUEST_ADDR))
    run_, err = bad_run(ctx, gic, name, nodes, root_nodes)
    if err:
        return qemu.failure(name, err)
    t = run_.text
    reasons = refused(t, node, keyword, device)
    reasons += [qemu.expect_all(t, [qemu.prefixed(GOOD_VM, "ticker done")]),
                *qemu.ends_cleanly(t, run_, (GOOD_VM,))]
    return verdict(name, run_, reasons)


def host_phandle(ctx, gic, path):
    """The phandle of host node path in QEMU's tree (as the bad runs dump it), or (None, reason)."""
    with workdir() as work:
        dtb, err = make_dtb(ctx, gic, work, "", [])
        if err:
            return None, err
        p = subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts", dtb], capture_output=True,
                           text=True)
    name = path.rsplit("/", 1)[-1]
    m = re.search(r"^\t" + re.escape(name) + r" \{\n(?:\t\t.*\n)*?\t\tphandle = <(0x[0-9a-f]+)>;",
                  p.stdout, re.MULTILINE)
    if not m:
        return None, f"no phandle for {path} in QEMU's tree"
    return int(m.group(1), 16), None


def test_phandle(ctx, gic):
    """bulkhead,passthrough by phandle: the PL061 by its phandle to "good", then by path to "dup",
    which is refused as a double claim of /pl061@9030000 (so the phandle meant that node)."""
    name = f"v{gic}/pt_phandle"
    missing = ctx.missing_bare()
    if missing:
        return qemu.failure(name, missing)
    ph, err = host_phandle(ctx, gic, "/pl061@9030000")
    if err:
        return qemu.failure(name, err)
    good = guest_node(ctx, GOOD_VM, SHORT_TICKER).replace(
        "\t\t\tcpus = <1>;", f"\t\t\tcpus = <1>;\n\t\t\tbulkhead,passthrough = <{ph:#x}>;")
    nodes = good + guest_node(ctx, "dup", SHORT_TICKER, ["/pl061@9030000"], addr=BAD_GUEST_ADDR)
    run_, err = bad_run(ctx, gic, name, nodes)
    if err:
        return qemu.failure(name, err)
    t = run_.text
    reasons = refused(t, "dup", r"already passed to /chosen/" + GOOD_VM, "/pl061@9030000")
    reasons += [qemu.expect_all(t, [qemu.prefixed(GOOD_VM, "ticker done")]),
                *qemu.ends_cleanly(t, run_, (GOOD_VM,))]
    return verdict(name, run_, reasons)


def test_bad_xen_unaligned(ctx, gic):
    name = f"v{gic}/pt_bad_xen_unaligned"
    missing = ctx.missing_bare()
    if missing:
        return qemu.failure(name, missing)
    node = "domUx"
    with workdir() as work:
        partial, err = compile_partial(work, [PARTIAL_RTC.format(paddr=0x9010100)])
        if err:
            return qemu.failure(name, err)
        bad = xen_node(node, [module_node("kernel", BAD_GUEST_ADDR, os.path.getsize(ctx.testguest),
                                          SHORT_TICKER)], partial, mem=0x4000000, cpus=1)
        nodes = guest_node(ctx, GOOD_VM, SHORT_TICKER) + bad
        run_, err = bad_run(ctx, gic, name, nodes,
                            extra=loaders((partial, PARTIAL_DTB_ADDR)))
    if err:
        return qemu.failure(name, err)
    t = run_.text
    reasons = refused(t, node, r"page-aligned")
    reasons += [qemu.expect_all(t, [qemu.prefixed(GOOD_VM, "ticker done")]),
                *qemu.ends_cleanly(t, run_, (GOOD_VM,))]
    return verdict(name, run_, reasons)


def test_dma_warning(ctx, gic):
    """A DMA-capable device (a virtio-mmio transport) given to a VM without direct-map: the VM
    starts and runs, with a warning naming the device and the VM."""
    name = f"v{gic}/pt_dma_warning"
    missing = ctx.missing_bare()
    if missing:
        return qemu.failure(name, missing)
    nodes = (guest_node(ctx, GOOD_VM, SHORT_TICKER)
             + guest_node(ctx, "dma", SHORT_TICKER, ["/virtio_mmio@a003e00"], addr=BAD_GUEST_ADDR))
    run_, err = bad_run(ctx, gic, name, nodes)
    if err:
        return qemu.failure(name, err)
    t = run_.text
    reasons = [qemu.expect_all(t, [r"^bulkhead: dma: warning: .*/virtio_mmio@a003e00.*DMA.*"
                                   r"direct-map"]),
               qemu.expect_count(t, DMA_WARNING, 1),
               qemu.expect_all(t, [qemu.prefixed(GOOD_VM, "ticker done"),
                                   qemu.prefixed("dma", "ticker done")]),
               *qemu.ends_cleanly(t, run_, (GOOD_VM, "dma"))]
    return verdict(name, run_, reasons)


def cases(build):
    """[(name, callable returning a Result)]: the Linux runs (the longest) first."""
    ctx = Ctx(build)
    out = []
    for gic in (3, 2):
        out += [(f"v{gic}/pt_uart_rtc_gpio", lambda g=gic: test_uart_rtc_gpio(ctx, g)),
                (f"v{gic}/pt_virtio_blk", lambda g=gic: test_virtio_blk(ctx, g)),
                (f"v{gic}/pt_ipa", lambda g=gic: test_ipa(ctx, g)),
                (f"v{gic}/pt_xen", lambda g=gic: test_xen(ctx, g)),
                (f"v{gic}/pt_reset", lambda g=gic: test_uart_rtc_gpio(ctx, g, reset=True))]
    for gic in (3, 2):
        out += [(f"v{gic}/pt_bad_{c}", lambda g=gic, c=c: test_bad(ctx, g, c)) for c in BAD_CASES]
        out.append((f"v{gic}/pt_bad_xen_unaligned", lambda g=gic: test_bad_xen_unaligned(ctx, g)))
        out.append((f"v{gic}/pt_dma_warning", lambda g=gic: test_dma_warning(ctx, g)))
        out.append((f"v{gic}/pt_phandle", lambda g=gic: test_phandle(ctx, g)))
    return out


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
