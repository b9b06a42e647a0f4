#!/usr/bin/env python3
"""DMA isolation with the SMMUv3 (GitHub issue 10) on QEMU 10 virt with `iommu=smmuv3`, for
GICv3 and GICv2 ("v3/...", "v2/..."). Each test dumps QEMU's DTB with the run's devices present, adds VM nodes to /chosen that pass the
PCIe host bridge (`/pcie@10000000`, behind the SMMU) to one VM, and boots the hypervisor.

- smmu_linux: Debian's Linux in a VM that is not direct-mapped gets the bridge with a
  virtio-blk-pci disk (an ext2 image made with `mke2fs -d`, holding one file); its
  `bulkhead.test=passthrough` mode (tests/linux/init) loads virtio_pci and virtio_blk, mounts
  /dev/vda read-only and prints the file's md5sum, which must be the test's. The disk has
  `iommu_platform=on`: without it QEMU's virtio devices bypass the IOMMU (their DMA addresses
  taken as physical ones), which no real device can do. A bare-metal test
  guest ticks beside it. Checked too: the SMMU was found and the bridge's 65536 stream IDs bound
  to the Linux VM, no DMA warning, no SMMU event, both VMs power off.
- smmu_stray_dma: the bare-metal guest tests/guest/dmatest.c in a VM "dma" that owns the bridge
  with QEMU's `edu` device (a DMA engine) behind it, and in a VM "victim" that writes a pattern
  in its RAM and checks it for 12 s. "dma" copies a page of its own RAM through the device and
  back into a block of its RAM its CPU never touched (the device's addresses are IPAs, translated
  by the SMMU: it must work), then reads the
  victim's RAM address from the hypervisor's log and has the device write there and read from
  there; it first resets its VM once (reboot=1) and copies again in its second life (its RAM
  unmapped and mapped again, the SMMU's TLB invalidated). Checked: the hypervisor reports the SMMU's event naming the VM "dma", stream 0x8 (edu at
  00:01.0) and that address; "dma" is stopped (its default on-crash policy) and never prints
  that it still runs; the victim's pattern is intact; the machine powers off.

Running them: in `make test` (tests/run_all.py). Alone:
    make all guests linux-initrd
    tests/qemu/test_smmu.py [--build build/qemu-virt] [--only RE]
"""

import hashlib
import os
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402
import test_passthrough as ptt  # noqa: E402

LINUX_TIME_LIMIT = 240  # seconds (a passing run takes 30-90 under TCG)
BARE_TIME_LIMIT = 90
MEM = "2G"
SMP = 3

BRIDGE = "/pcie@10000000"
# edu's default DMA mask is 28 bits; RAM is at 1 GiB.
EDU = ["-device", "edu,dma_mask=0xffffffffff"]
LINUX_VM = "linux"
GUEST_VM = "guest"
DMA_VM, VICTIM_VM = "dma", "victim"
DMA_ADDR, VICTIM_ADDR = 0x44000000, 0x45000000
VICTIM_SECONDS = 12

SMMU_FOUND = r"^bulkhead: SMMU /smmuv3@9050000: 16 stream ID bits \(2-level stream table\)"


def machine(gic):
    return qemu.machine(gic) + ",iommu=smmuv3"


def bound(vm):
    return (r"^bulkhead: " + qemu.esc(vm)
            + r": SMMU: streams 0x0-0xffff translate through its stage 2 \(VMID \d+\)")


class Ctx(ptt.Ctx):
    def __init__(self, build):
        super().__init__(build)
        self.dmatest = qemu.guest_path(build, "dmatest")

    def missing_dma(self):
        return (qemu.missing(self.image, how="make all")
                or qemu.missing(self.dmatest, how="make guests")
                or (None if qemu.which("dtc") else "dtc not found"))


def run(ctx, gic, name, nodes, extra, time_limit):
    """Dumps the DTB with extra's devices, adds nodes, boots: (Run, None) or (None, reason)."""
    with tempfile.TemporaryDirectory(prefix="bulkhead-smmu-") as work:
        extra = list(extra)
        dtb, err = qemu.make_dtb_with(ctx, [], machine(gic), work, nodes, smp=SMP, mem=MEM,
                                      extra=extra, need_modules=False)
        if err:
            return None, err
        cmd = qemu.command(ctx.image, machine=machine(gic), smp=SMP, mem=MEM, dtb=dtb,
                           extra=extra)
        return qemu.run(name, cmd, time_limit), None


# ---- a Linux VM reads a virtio-blk-pci disk through the SMMU ----

def test_linux(ctx, gic):
    name = f"v{gic}/smmu_linux"
    missing = ctx.missing_linux()
    if missing:
        return qemu.failure(name, missing)
    nodes = (ptt.vm_node(LINUX_VM, ptt.linux_modules(), [BRIDGE]) + ptt.guest_node(ctx))
    with tempfile.TemporaryDirectory(prefix="bulkhead-smmu-disk-") as work:
        img, err = ptt.make_disk(work)
        if err:
            return qemu.failure(name, err)
        extra = (ptt.linux_loaders() + ptt.loaders((ctx.testguest, ptt.GUEST_ADDR))
                 + ["-drive", f"if=none,id=d0,file={img},format=raw,readonly=on",
                    "-device", "virtio-blk-pci,drive=d0,disable-legacy=on,iommu_platform=on"])
        r, err = run(ctx, gic, name, nodes, extra, LINUX_TIME_LIMIT)
    if err:
        return qemu.failure(name, err)
    t = r.text
    md5 = hashlib.md5(ptt.DISK_TEXT).hexdigest()
    reasons = [qemu.expect_all(t, [SMMU_FOUND, bound(LINUX_VM)]),
               qemu.expect_all(t, [ptt.pt(LINUX_VM, r"disk: /dev/vda mounted"),
                                   ptt.pt(LINUX_VM, r"disk-md5: " + md5 + r"\s+/mnt/"
                                          + ptt.DISK_FILE)]),
               ptt.check_modules(t, LINUX_VM),
               qemu.expect_none(t, [ptt.DMA_WARNING, r"^bulkhead: .*SMMU.*(blocked|error)"]),
               qemu.expect_all(t, [qemu.prefixed(GUEST_VM, "ticker done")]),
               *ptt.ends_cleanly(t, r, (LINUX_VM, GUEST_VM))]
    return ptt.verdict(name, r, reasons)


# ---- a bare-metal guest's stray DMA is blocked ----

def dma_nodes(ctx):
    size = os.path.getsize(ctx.dmatest)
    dma = ptt.vm_node(DMA_VM, [ptt.module_node("kernel", DMA_ADDR, size,
                                               f"mode=dma victim={VICTIM_VM} reboot=1")],
                      [BRIDGE], props=["bulkhead,monitor"], mem=0x4000000, cpus=1)
    victim = ptt.vm_node(VICTIM_VM, [ptt.module_node("kernel", VICTIM_ADDR, size,
                                                     f"mode=victim seconds={VICTIM_SECONDS}")],
                         mem=0x4000000, cpus=1)
    return victim + dma


def test_stray_dma(ctx, gic):
    name = f"v{gic}/smmu_stray_dma"
    missing = ctx.missing_dma()
    if missing:
        return qemu.failure(name, missing)
    extra = ptt.loaders((ctx.dmatest, DMA_ADDR), (ctx.dmatest, VICTIM_ADDR)) + EDU
    r, err = run(ctx, gic, name, dma_nodes(ctx), extra, BARE_TIME_LIMIT)
    if err:
        return qemu.failure(name, err)
    t = r.text
    dma = lambda line: qemu.prefixed(DMA_VM, line)  # noqa: E731
    m = qemu.re.search(dma(r"dmatest: DMA write to (0x[0-9a-f]+)"), t, qemu.re.MULTILINE)
    target = m.group(1) if m else "0x[0-9a-f]+"
    reasons = [qemu.expect_all(t, [SMMU_FOUND, bound(DMA_VM)]),
               qemu.expect_ordered(t, [dma(r"PASS dma_bridge"), dma(r"PASS dma_own_ram"),
                                       dma(r"dmatest: resetting the VM"), r"^bulkhead: dma: reset",
                                       dma(r"PASS dma_bridge"), dma(r"PASS dma_own_ram"),
                                       dma(r"dmatest: DMA write to 0x[0-9a-f]+")]),
               qemu.expect_all(t, [r"^bulkhead: dma: DMA blocked by the SMMU: stream 0x8 wrote to "
                                   r"address " + target + r" \(address not mapped",
                                   r"^bulkhead: dma: stopped: a device of it did DMA outside "
                                   r"its memory"]),
               qemu.expect_none(t, [dma(r"dmatest: still running"), dma(r"FAIL .*")]),
               qemu.expect_all(t, [qemu.prefixed(VICTIM_VM, r"PASS victim_pattern"),
                                   r"^bulkhead: victim: powered off",
                                   r"^bulkhead: no VM running, powering off"]),
               qemu.expect_exit(r)]
    return ptt.verdict(name, r, reasons)


def cases(build):
    """[(name, callable returning a Result)]: the Linux runs (the longest) first."""
    ctx = Ctx(build)
    out = []
    for gic in (3, 2):
        out.append((f"v{gic}/smmu_linux", lambda g=gic: test_linux(ctx, g)))
    for gic in (3, 2):
        out.append((f"v{gic}/smmu_stray_dma", lambda g=gic: test_stray_dma(ctx, g)))
    return out


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
