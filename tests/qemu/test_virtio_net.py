#!/usr/bin/env python3
"""virtio-net between VMs through a switch in the hypervisor (issue 12; docs/CONFIG.md, "A network
between VMs"), on QEMU virt with GICv3 and GICv2:

- net_linux: three Debian Linux VMs (1 vCPU, 256 MiB each), each with a "bulkhead,virtio-net"
  child node; linux0 and linux1 on switch "lan0" (default MACs), linux2 on "lan1" (its own
  local-mac-address). The test init (tests/linux/init, bulkhead.test=net) gives eth0 the address
  the test passes (bulkhead.net-ip), then linux0 and linux1 ping each other 20 times, ping
  linux2 (no answer: another switch), and move 16 MiB from linux1 to linux0 with busybox nc,
  each printing the sha256 of what it sent or received, which must match; linux2 pings both,
  reaches neither and receives no frame at all. Each eth0's MAC is checked against the binding
  (the default one is computed here as vnet_default_mac does). No device is reset, every VM
  powers off.
- net_doc_example: docs/CONFIG.md's virtio-net example as written (two bare-metal demo guests on
  one switch, alpha pinging beta five times over ARP and ICMP), GICv3 and GICv2.
- net_demo_ping: `make run`'s own QEMU command (tests/qemu/run_demo.py): in Linux's shell, eth0
  is up at 10.0.0.1 and `ping -c 3 10.0.0.2` typed on the console is answered by the bare-metal
  demo guest (vm1, beta: ARP and ICMP echo over its own small virtio-net driver,
  tests/guest/lib/vnet.c) through the switch "demo".

Run on its own: tests/qemu/test_virtio_net.py [--build DIR] [--only REGEX].
"""

import os
import re
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402
import test_console  # noqa: E402
import test_shmem as shm  # noqa: E402

TIME_LIMIT = 600  # three Linux boots and 16 MiB through TCG on a loaded machine
MEM = "2G"
SMP = 4
KERNEL_ADDR, INITRD_ADDR = qemu.LINUX_ADDRS[0]
NET_BYTES = 16 * 1024 * 1024
ALONE_MAC = "02:00:00:00:00:03"


class Ctx(qemu.Build):
    def missing_linux(self):
        return (qemu.missing(self.image, how="make all")
                or qemu.missing(qemu.LINUX_KERNEL, how="scripts/install-deps.sh")
                or qemu.missing(qemu.LINUX_INITRD, how="make linux-initrd")
                or (None if qemu.which("dtc") else "dtc not found"))


def default_mac(vm_name, port=0):
    """config/vswitch.c's vnet_default_mac: 02:b4, FNV-1a of the VM's name, the port."""
    h = 2166136261
    for c in vm_name.encode():
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return "02:b4:%02x:%02x:%02x:%02x" % ((h >> 16) & 255, (h >> 8) & 255, h & 255, port)


def module(addr, size, bootargs=None, kind="kernel"):
    out = (f"\t\t\tmodule@{addr:x} {{\n\t\t\t\tcompatible = \"multiboot,{kind}\", "
           f"\"multiboot,module\";\n\t\t\t\treg = <0x0 {addr:#x} 0x0 {size:#x}>;\n")
    if bootargs:
        out += f"\t\t\t\tbootargs = \"{bootargs}\";\n"
    return out + "\t\t\t};\n"


def net_node(switch, mac=None):
    out = (f"\t\t\tnet {{\n\t\t\t\tcompatible = \"bulkhead,virtio-net\";\n"
           f"\t\t\t\tbulkhead,switch = \"{switch}\";\n")
    if mac:
        out += f"\t\t\t\tlocal-mac-address = [{mac.replace(':', ' ')}];\n"
    return out + "\t\t\t};\n"


def linux_vm(name, bootargs, children):
    mods = [module(KERNEL_ADDR, os.path.getsize(qemu.LINUX_KERNEL), bootargs),
            module(INITRD_ADDR, os.path.getsize(qemu.LINUX_INITRD), kind="ramdisk")]
    return (f"\t\t{name} {{\n\t\t\tcompatible = \"bulkhead,vm\";\n"
            f"\t\t\tmemory-size = <0x0 0x10000000>;\n\t\t\tcpus = <1>;\n"
            f"\t\t\t#address-cells = <2>;\n\t\t\t#size-cells = <2>;\n"
            + "".join(mods + children) + "\t\t};\n")


def net_args(ip, peer, other, role):
    return (f"console=ttyAMA0 bulkhead.test=net bulkhead.net-ip={ip}/24 bulkhead.net-peer={peer} "
            f"bulkhead.net-other={other} bulkhead.net-role={role} bulkhead.net-bytes={NET_BYTES}")


def boot(ctx, gic, name, nodes, limit=TIME_LIMIT, files=None):
    files = files or [(qemu.LINUX_KERNEL, KERNEL_ADDR), (qemu.LINUX_INITRD, INITRD_ADDR)]
    loaders = []
    for path, addr in files:
        loaders += ["-device", f"loader,file={path},addr={addr:#x},force-raw=on"]
    with tempfile.TemporaryDirectory(prefix="bulkhead-net-") as work:
        dtb, err = qemu.make_dtb_with(ctx, [], qemu.machine(gic), work, nodes, smp=SMP, mem=MEM,
                                      need_modules=False)
        if err:
            return None, err
        cmd = qemu.command(ctx.image, machine=qemu.machine(gic), smp=SMP, mem=MEM, dtb=dtb,
                           extra=loaders)
        return qemu.run(name, cmd, limit), None


def ping_ok(vm, target):
    return qemu.prefixed(vm, r"LINUX net ping " + qemu.esc(target)
                         + r": 20 packets transmitted, 20 packets received, 0% packet loss")


def ping_fails(vm, target, what="ping other"):
    return qemu.prefixed(vm, r"LINUX net " + what + " " + qemu.esc(target)
                         + r": 3 packets transmitted, 0 packets received")


def sha_reason(text):
    """The sha256 linux1 sent is the one linux0 received, over NET_BYTES bytes."""
    sent = re.search(r"^\[linux1\] LINUX net sending (\d+) bytes sha256 ([0-9a-f]{64})", text,
                     re.MULTILINE)
    got = re.search(r"^\[linux0\] LINUX net received (\d+) bytes sha256 ([0-9a-f]{64}) in (\d+) cs",
                    text, re.MULTILINE)
    if not sent or not got:
        return "no 'LINUX net sending' line from linux1 or 'received' line from linux0"
    if int(sent.group(1)) != NET_BYTES or int(got.group(1)) != NET_BYTES:
        return f"sent {sent.group(1)} bytes, received {got.group(1)}, expected {NET_BYTES}"
    if sent.group(2) != got.group(2):
        return f"sha256 sent {sent.group(2)} != received {got.group(2)}"
    return None


def test_linux(ctx, gic):
    name = f"v{gic}/net_linux"
    missing = ctx.missing_linux()
    if missing:
        return qemu.failure(name, missing)
    nodes = (linux_vm("linux0", net_args("10.0.0.1", "10.0.0.2", "10.0.0.3", "recv"),
                      [net_node("lan0")])
             + linux_vm("linux1", net_args("10.0.0.2", "10.0.0.1", "10.0.0.3", "send"),
                        [net_node("lan0")])
             + linux_vm("linux2", net_args("10.0.0.3", "10.0.0.1", "10.0.0.2", "alone")
                        + " bulkhead.net-stay=20", [net_node("lan1", ALONE_MAC)]))
    run_, err = boot(ctx, gic, name, nodes)
    if err:
        return qemu.failure(name, err)
    t = run_.text
    vms = ("linux0", "linux1", "linux2")
    reasons = [qemu.expect_all(t, [
        qemu.prefixed("linux0", r"LINUX net up: eth0 " + default_mac("linux0")
                      + r" 10\.0\.0\.1/24 role=recv"),
        qemu.prefixed("linux1", r"LINUX net up: eth0 " + default_mac("linux1")
                      + r" 10\.0\.0\.2/24 role=send"),
        qemu.prefixed("linux2", r"LINUX net up: eth0 " + ALONE_MAC + r" 10\.0\.0\.3/24 role=alone"),
        ping_ok("linux0", "10.0.0.2"), ping_ok("linux1", "10.0.0.1"),
        ping_fails("linux0", "10.0.0.3"), ping_fails("linux1", "10.0.0.3"),
        ping_fails("linux2", "10.0.0.1", "alone ping"), ping_fails("linux2", "10.0.0.2",
                                                                   "alone ping"),
        qemu.prefixed("linux1", r"LINUX net sent; receiver said 'done'"),
        qemu.prefixed("linux2", r"LINUX net stats: rx_packets=0 "),
    ] + [qemu.prefixed(v, r"LINUX net done") for v in vms]),
        sha_reason(t),
        qemu.expect_none(t, [r"device needs a reset", r"^\[linux\d\] LINUX net: .*"])]
    reasons += qemu.ends_cleanly(t, run_, vms, forbid=[qemu.stopped(vms)])
    return qemu.verdict(name, run_, *reasons)


def test_doc_example(ctx, gic):
    name = f"v{gic}/net_doc_example"
    demo = qemu.guest_path(ctx.build, "demo")
    missing = qemu.missing(ctx.image, how="make all") or qemu.missing(demo, how="make guests")
    if missing:
        return qemu.failure(name, missing)
    block = shm.doc_chosen("virtio-net")
    if not block:
        return qemu.failure(name, "docs/CONFIG.md lacks the virtio-net doc-example")
    run_, err = boot(ctx, gic, name, block, files=[(demo, 0x44000000), (demo, 0x45000000)],
                     limit=180)
    if err:
        return qemu.failure(name, err)
    t = run_.text
    reasons = [qemu.expect_all(t, [
        qemu.prefixed("alpha", r"alpha: answering ping at 10\.0\.0\.1 on virtio-net \(MAC "
                      + default_mac("alpha") + r"\)"),
        qemu.prefixed("beta", r"beta: answering ping at 10\.0\.0\.2 on virtio-net \(MAC "
                      r"02:00:00:00:00:02\)"),
        qemu.prefixed("alpha", r"alpha: 5 of 5 pings to 10\.0\.0\.2 answered"),
        qemu.prefixed("beta", r"beta: answered 5 pings")])]
    reasons += qemu.ends_cleanly(t, run_, ("alpha", "beta"), forbid=[qemu.stopped(("alpha", "beta")),
                                                                    r"device needs a reset"])
    return qemu.verdict(name, run_, *reasons)


def demo_ping_session(name, cmd):
    s = test_console.Session(cmd)
    pos = s.step(r"^\[vm0\] LINUX eth0 is 10\.0\.0\.1/24", why="Linux's eth0 did not come up")
    s.step(r"^\[vm1\] beta: answering ping at 10\.0\.0\.2 on virtio-net", after=0,
           why="the demo guest (vm1) did not bring its virtio-net device up")
    pos = s.step(r"^\[vm0\] / # ", after=pos, why="no shell prompt")
    pos = s.step(r"3 packets transmitted, 3 packets received, 0% packet loss",
                 b"ping -c 3 10.0.0.2\r", pos, "beta did not answer Linux's ping")
    # The operator reads the switch's counters: each side sent its ARP and 3 echoes or replies.
    pos = s.step(r"^bulkhead monitor commands", test_console.CTRL_T + b"?", pos,
                 "Ctrl-T ? did not open the monitor")
    pos = s.step(r"^demo: vm0 virtio-net@\w+ [0-9a-f:]{17} sent ([4-9]|\d\d+) frames \d+ bytes "
                 r"\(0 errors\), received ([4-9]|\d\d+) frames \d+ bytes \(0 drops\)",
                 b"net\r", pos, "the monitor's net did not show vm0's port with its frames")
    s.step(r"^demo: vm1 virtio-net@\w+ [0-9a-f:]{17} sent ([4-9]|\d\d+) frames", after=pos,
           why="the monitor's net did not show the demo guest's port")
    pos = s.step(r"left the monitor", b"exit\r", pos, "the monitor's exit did not close it")
    s.step(r"no VM running, powering off", b"poweroff -f\r", pos,
           "'poweroff -f' did not end the machine")
    return s.verdict(name, lambda r: qemu.expect_all(r.text, [r"^\[vm1\] beta: answered [1-9]\d* "
                                                              r"pings"]),
                     lambda r: qemu.expect_none(r.text, [r"PANIC", r"stopped:",
                                                         r"device needs a reset"]))


def test_demo_ping(build, gic):
    ctx = test_console.Ctx(build)
    return test_console.demo_test(ctx, gic, f"v{gic}/net_demo_ping", demo_ping_session)


def cases(build):
    """[(name, callable returning a Result)]."""
    ctx = Ctx(build)
    out = []
    for gic in (3, 2):
        out += [(f"v{gic}/net_linux", lambda g=gic: test_linux(ctx, g)),
                (f"v{gic}/net_doc_example", lambda g=gic: test_doc_example(ctx, g))]
    out += [("v3/net_demo_ping", lambda: test_demo_ping(build, 3))]
    return out


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
