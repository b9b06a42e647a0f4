#!/usr/bin/env python3
"""`make run` and `make run-bare`: boot the hypervisor on QEMU on this terminal.

make run:      Debian's Linux with a shell (vm0, 2 vCPUs, keyboard input goes to it) beside a
               bare-metal guest of ours (vm1, "beta") that says hello, then publishes a counter
               in a shared-memory channel that the shell reads (devmem 0x70000008 64), and
               answers ping on the hypervisor's switch "demo" (ping 10.0.0.2 in the shell), until
               vm0 powers off.
make run-bare: two bare-metal guests of ours, alpha and beta, that power off by themselves.
On raspi4b (PLATFORM=raspi4b) both run in Debian's bcm2711-rpi-4-b.dtb with the VM nodes added;
make run's beta there counts to five and powers off (no shared-memory channel).

QEMU exits once every VM has powered off ("poweroff -f" in Linux); Ctrl-A then X quits at any
time. Returns QEMU's exit status."""

import os
import subprocess
import sys
import tempfile
import types

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402


DEMO_SMP, DEMO_MEM = 4, "2G"
BETA_ADDR = 0x44000000
SHM_IPA = 0x70000000  # the channel "demo" in both VMs
SHM_COUNTER = SHM_IPA + 8  # beta's counter: the region's second 64-bit word
LINUX_IP, BETA_IP = "10.0.0.1", "10.0.0.2"  # on the switch "demo" (virtio-net)
NET_NODE = ("net { compatible = \"bulkhead,virtio-net\"; bulkhead,switch = \"demo\"; };\n")


def shm_map(access):
    return (f"shm@{SHM_IPA:x} {{ compatible = \"bulkhead,shared-memory-map\"; "
            f"bulkhead,shm-id = \"demo\"; bulkhead,ipa = <0x0 {SHM_IPA:#x}>; "
            f"bulkhead,access = \"{access}\"; }};\n")


def demo_nodes(demo):
    """make run's VMs (docs/CONFIG.md's bindings): Linux in vm0, 2 vCPUs, 512 MiB, a shell; the
    demo guest in vm1 ("beta"), 1 vCPU, 64 MiB; a 4 KiB channel "demo" that beta writes and vm0
    reads (read-only), at 0x70000000 in both; a virtio-net port each on the switch "demo",
    Linux's eth0 at LINUX_IP, beta answering ping at BETA_IP."""
    kernel, initrd = qemu.LINUX_ADDRS[0]
    cells = "#address-cells = <2>; #size-cells = <2>;"
    return ("shm-demo { compatible = \"bulkhead,shared-memory\"; bulkhead,shm-id = \"demo\"; "
            "size = <0x0 0x1000>; };\n"
            f"vm0 {{ compatible = \"bulkhead,vm\"; memory-size = <0x0 0x20000000>; cpus = <2>; "
            f"{cells}\n"
            + qemu.module_node(kernel, qemu.LINUX_KERNEL,
                               bootargs="console=ttyAMA0 quiet bulkhead.test=shell "
                               f"bulkhead.net-ip={LINUX_IP}/24 bulkhead.net-peer={BETA_IP}")
            + qemu.module_node(initrd, qemu.LINUX_INITRD, kind="ramdisk")
            + shm_map("ro") + NET_NODE + "};\n"
            f"vm1 {{ compatible = \"bulkhead,vm\"; memory-size = <0x0 0x4000000>; cpus = <1>; "
            f"{cells}\n"
            + qemu.module_node(BETA_ADDR, demo, bootargs=f"name=beta ip={BETA_IP}")
            + shm_map("rw") + NET_NODE + "};\n")


def linux_demo_command(image, demo, machine, workdir, cpu=qemu.CPU):
    """make run's QEMU command, its tree written in workdir (QEMU's own, dumped, with the VMs
    added): also what tests/qemu/test_console.py types into. Returns (command, None) or (None,
    why not)."""
    kernel, initrd = qemu.LINUX_ADDRS[0]
    loaders = []
    for path, addr in ((qemu.LINUX_KERNEL, kernel), (qemu.LINUX_INITRD, initrd), (demo, BETA_ADDR)):
        loaders += ["-device", f"loader,file={path},addr={addr:#x},force-raw=on"]
    dtb, err = qemu.make_dtb_with(types.SimpleNamespace(image=image), [],
                                  machine, workdir, demo_nodes(demo), smp=DEMO_SMP, mem=DEMO_MEM,
                                  need_modules=False)
    if err:
        return None, err
    return qemu.command(image, machine=machine, cpu=cpu, smp=DEMO_SMP, mem=DEMO_MEM, dtb=dtb,
                        extra=loaders), None


# Linux and the demo guest on the Pi, above the hypervisor (0x200000) and QEMU's DTB (0x8000000):
# Debian's kernel (about 33 MB), its initramfs, beta.
PI_LINUX_ADDRS = (0x10000000, 0x14000000)
PI_BETA_ADDR = 0x15000000
PI_LINUX_CPUS = 2


def pi_linux_nodes(demo, bootargs):
    """The raspi4b demo's VMs: Linux in vm0 (PI_LINUX_CPUS vCPUs, 512 MiB; its console the VM's
    PL011, ttyAMA0, without earlycon), the demo guest in vm1 ("beta", 1 vCPU, 64 MiB), which
    counts to five and powers off."""
    kernel, initrd = PI_LINUX_ADDRS
    cells = "#address-cells = <2>; #size-cells = <2>;"
    return (f"vm0 {{ compatible = \"bulkhead,vm\"; memory-size = <0x0 0x20000000>; "
            f"cpus = <{PI_LINUX_CPUS}>; {cells}\n"
            + qemu.module_node(kernel, qemu.LINUX_KERNEL, bootargs=bootargs)
            + qemu.module_node(initrd, qemu.LINUX_INITRD, kind="ramdisk") + "};\n"
            f"vm1 {{ compatible = \"bulkhead,vm\"; memory-size = <0x0 0x4000000>; cpus = <1>; "
            f"{cells}\n" + qemu.module_node(PI_BETA_ADDR, demo, bootargs="name=beta") + "};\n")


def pi_linux_demo_command(image, demo, workdir, bootargs, stdout="serial0"):
    """make PLATFORM=raspi4b run's QEMU command (and tests/qemu/test_raspi4b.py's with the test
    init's checks): Debian's DTB with the nodes QEMU does not model disabled and pi_linux_nodes
    added, the modules placed raw; stdout: its stdout-path (qemu.make_pi_dtb). Returns (command,
    None) or (None, why not)."""
    kernel, initrd = PI_LINUX_ADDRS
    dtb, err = qemu.make_pi_dtb(workdir, pi_linux_nodes(demo, bootargs), for_linux=True,
                                name="linux-demo", stdout=stdout)
    if err:
        return None, err
    loads = ((qemu.LINUX_KERNEL, kernel), (qemu.LINUX_INITRD, initrd), (demo, PI_BETA_ADDR))
    return qemu.pi_command(image, dtb, loads), None


def pi_linux_demo(image, demo):
    cmd, err = pi_linux_demo_command(image, demo, tempfile.mkdtemp(prefix="bulkhead-demo-"),
                                     "console=ttyAMA0 quiet bulkhead.test=shell")
    if err:
        print(f"run_demo: {err}", file=sys.stderr)
        return None
    print(f"Bulkhead demo on QEMU raspi4b: Debian's Linux (vm0, {PI_LINUX_CPUS} vCPUs) with a "
          "shell beside a bare-metal guest (vm1, beta) that counts to five and powers off.")
    print("The keyboard goes to vm0; Ctrl-T then ? opens the hypervisor's monitor (help, vms, "
          "stop, restart...).")
    print("Leave with 'poweroff -f' in the shell: the hypervisor then powers the Pi off and QEMU "
          "exits; or Ctrl-A then X.")
    return cmd


def linux_demo(args, image, demo):
    missing = [p for p in (qemu.LINUX_KERNEL, qemu.LINUX_INITRD) if not os.path.isfile(p)]
    if missing:
        print(f"run_demo: {', '.join(missing)} not found (make run builds them)", file=sys.stderr)
        return None
    if args.machine.split(",")[0] == qemu.PI_MACHINE:
        return pi_linux_demo(image, demo)
    cmd, err = linux_demo_command(image, demo, args.machine,
                                  tempfile.mkdtemp(prefix="bulkhead-demo-"), args.cpu)
    if err:
        print(f"run_demo: {err}", file=sys.stderr)
        return None
    print("Bulkhead demo: Debian's Linux (vm0, 2 vCPUs) with a shell beside a bare-metal guest "
          "(vm1, beta).")
    print(f"beta publishes a counter in memory both VMs share: in the shell, "
          f"'devmem {SHM_COUNTER:#x} 64' reads it.")
    print("The keyboard goes to vm0; Ctrl-T then ? opens the hypervisor's monitor (help, vms, "
          "stop, restart...).")
    print("Leave with 'poweroff -f' in the shell (beta follows), or Ctrl-A then X.")
    return cmd


def bare_demo(args, image, demo):
    board = args.machine.split(",")[0]
    virt = board == "virt"
    print(f"Bulkhead demo on QEMU {args.machine} ({args.platform}): two guests, alpha and beta.")
    if board == qemu.PI_MACHINE:
        # No QEMU-made DTB to add guest-loader modules to: Debian's, with the VM nodes added.
        cmd, err = qemu.pi_bare_demo_command(image, demo,
                                             tempfile.mkdtemp(prefix="bulkhead-demo-"))
        if err:
            print(f"run_demo: {err}", file=sys.stderr)
            return None
        print("QEMU exits when both have powered off (the hypervisor powers the Pi off through "
              "its PM watchdog); to quit earlier press Ctrl-A then X.")
        return cmd
    print("QEMU exits when both have powered off; to quit earlier press Ctrl-A then X.")
    return qemu.command(image, [qemu.Module(demo, "name=alpha"), qemu.Module(demo, "name=beta")],
                        machine=args.machine, cpu=args.cpu, smp=2 if virt else None,
                        mem="1G" if virt else None)


def main():
    ap = qemu.arg_parser(__doc__)
    ap.add_argument("--platform", default="qemu-virt")
    ap.add_argument("--machine", default=qemu.MACHINE_V3)
    ap.add_argument("--cpu", default=qemu.CPU)
    ap.add_argument("--bare", action="store_true", help="two bare-metal guests, no Linux")
    ap.add_argument("--gdb", action="store_true",
                    help="QEMU halted at the first instruction, gdb stub on TCP port 1234")
    args = ap.parse_args()

    image = qemu.image_path(args.build)
    demo = qemu.guest_path(args.build, "demo")
    missing = qemu.missing(image, demo)
    if missing:
        print(f"run_demo: {missing}", file=sys.stderr)
        return 1
    cmd = bare_demo(args, image, demo) if args.bare else linux_demo(args, image, demo)
    if cmd is None:
        return 1
    if args.gdb:
        cmd += ["-s", "-S"]
    sys.stdout.flush()
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 130
    except FileNotFoundError:
        print(f"run_demo: {cmd[0]} not found (make deps installs it)", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main())
