#!/usr/bin/env python3
"""`make run`: boots the hypervisor on QEMU with two demo guests, "alpha" and "beta", on this
terminal. QEMU exits by itself once both guests have powered off; Ctrl-A then X quits at any time.
Returns QEMU's exit status."""

import argparse
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--platform", default="qemu-virt")
    ap.add_argument("--build", default="build/qemu-virt")
    ap.add_argument("--machine", default=qemu.MACHINE_V3)
    ap.add_argument("--cpu", default=qemu.CPU)
    args = ap.parse_args()

    image = os.path.join(args.build, "bulkhead.img")
    demo = os.path.join(args.build, "guests", "demo.bin")
    for path in (image, demo):
        if not os.path.isfile(path):
            print(f"run_demo: {path} not found (run make all guests)", file=sys.stderr)
            return 1
    virt = args.machine.split(",")[0] == "virt"
    cmd = qemu.command(image, [qemu.Module(demo, "name=alpha"), qemu.Module(demo, "name=beta")],
                       machine=args.machine, cpu=args.cpu, smp=2 if virt else None,
                       mem="1G" if virt else None)
    print(f"Bulkhead demo on QEMU {args.machine} ({args.platform}): two guests, alpha and beta.")
    print("QEMU exits when both have powered off; to quit earlier press Ctrl-A then X.")
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
