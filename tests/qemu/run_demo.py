#!/usr/bin/env python3
"""`make run` and `make run-bare`: boot the hypervisor on QEMU on this terminal.

make run:      Debian's Linux with a shell (vm0, 2 vCPUs, keyboard input goes to it) beside a
               bare-metal guest of ours (vm1, "beta") that says hello and powers off.
make run-bare: two bare-metal guests of ours, alpha and beta, that power off by themselves.

QEMU exits once every VM has powered off ("poweroff -f" in Linux); Ctrl-A then X quits at any
time. Returns QEMU's exit status."""

import os
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402


def linux_demo_command(image, demo, machine, cpu=qemu.CPU):
    """make run's QEMU command: also what tests/qemu/test_console.py types into."""
    modules = [qemu.linux_module(0, "console=ttyAMA0 quiet bulkhead.test=shell"),
               qemu.Module(demo, "name=beta", addr=0x44000000)]
    return qemu.command(image, modules, machine=machine, cpu=cpu, smp=4, mem="2G",
                        append="bulkhead.vm-cpus=2 bulkhead.vm-memory=512M")


def linux_demo(args, image, demo):
    missing = [p for p in (qemu.LINUX_KERNEL, qemu.LINUX_INITRD) if not os.path.isfile(p)]
    if missing:
        print(f"run_demo: {', '.join(missing)} not found (make run builds them)", file=sys.stderr)
        return None
    print("Bulkhead demo: Debian's Linux (vm0, 2 vCPUs) with a shell beside a bare-metal guest "
          "(vm1).")
    print("The keyboard goes to vm0; Ctrl-T then ? opens the hypervisor's monitor (help, vms, "
          "stop, restart...).")
    print("Leave with 'poweroff -f' in the shell, or Ctrl-A then X.")
    return linux_demo_command(image, demo, args.machine, args.cpu)


def bare_demo(args, image, demo):
    virt = args.machine.split(",")[0] == "virt"
    print(f"Bulkhead demo on QEMU {args.machine} ({args.platform}): two guests, alpha and beta.")
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
