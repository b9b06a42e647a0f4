#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/).

Run from anywhere: python3 tests/fuzz/seeds.py. Needs dtc. Each seed is a small, hand-made input
in its target's format (see the comment at the top of tests/fuzz/fuzz_<target>.c) that reaches
something a random start would take long to find: a enabled distributor with an SPI on its way
to a vCPU, a PSCI CPU_ON then the vCPU starting, a UART with its receive interrupt unmasked.
fdt_config's seeds are the host tests' device trees (tests/host/dts) and tests/fuzz/seeds/*.dts
compiled by dtc; a seed whose name starts with "xen-partial" gets the partial device tree
tests/fuzz/seeds/xen-partial-module.dts after it, padded to its module's 4 KiB.
Files named crash-* in a corpus are regressions (inputs that crashed a target once): this
script never removes them.
"""

import glob
import os
import struct
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def u8(v):
    return struct.pack("<B", v & 0xFF)


def u16(v):
    return struct.pack("<H", v & 0xFFFF)


def u32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


def u64(v):
    return struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def dtc(path):
    return subprocess.run(["dtc", "-q", "-E", "no-name_properties", "-I", "dts", "-O", "dtb", path],
                          check=True, stdout=subprocess.PIPE).stdout


# ---- fdt_config ----

def fdt_config():
    for dts in sorted(glob.glob(os.path.join(ROOT, "tests", "host", "dts", "*.dts"))):
        write("fdt_config", os.path.basename(dts)[:-4] + ".dtb", dtc(dts))
    seeds = os.path.join(ROOT, "tests", "fuzz", "seeds")
    module = dtc(os.path.join(seeds, "xen-partial-module.dts"))
    module += bytes(4096 - len(module))
    for dts in sorted(glob.glob(os.path.join(seeds, "*.dts"))):
        name = os.path.basename(dts)[:-4]
        if name.endswith("-module"):
            continue
        data = dtc(dts)
        if name.startswith("xen-partial"):
            data += module
        write("fdt_config", name + ".dtb", data)


# ---- esr_mmio: setup byte, then ESR (4) HPFAR (8) FAR (8) value (8) vCPU (1) ----

EC_DABT_LOW = 0x24
GICD, GICC, GICR, UART = 0x08000000, 0x08010000, 0x080A0000, 0x09000000


def dabt(ipa, size, write_, reg=1, value=0, vcpu=0, sign=False, sf=True):
    sas = {1: 0, 2: 1, 4: 2, 8: 3}[size]
    iss = (1 << 24) | (sas << 22) | (int(sign) << 21) | (reg << 16) | (int(sf) << 15)
    iss |= int(write_) << 6 | 0x07  # translation fault, level 3
    esr = (EC_DABT_LOW << 26) | (1 << 25) | iss
    return u32(esr) + u64((ipa >> 12) << 4) + u64(ipa & 0xFFF) + u64(value) + u8(vcpu)


def esr_mmio():
    for v3 in (0, 1):
        for cpus in (1, 2, 4):
            setup = u8(v3 | ((cpus - 1) << 1))
            recs = [dabt(GICD + 0x000, 4, True, value=3),          # GICD_CTLR: both groups on
                    dabt(GICD + 0x004, 4, False),                  # GICD_TYPER
                    dabt(GICD + 0x104, 4, True, value=0x2),        # ISENABLER1: SPI 33 (UART)
                    dabt(UART + 0x030, 2, True, value=0x301),      # UARTCR
                    dabt(UART + 0x038, 4, True, value=0x30),       # UARTIMSC: RX, TX
                    dabt(UART + 0x000, 1, True, value=ord("A")),   # UARTDR
                    dabt(UART + 0x018, 4, False, sign=True, sf=False),  # UARTFR
                    dabt(UART + 0xFE0, 1, False, reg=31),         # PeriphID0 into xzr
                    dabt(GICD + 0xFFE8 if v3 else GICD + 0xFE8, 4, False)]
            if v3:
                recs += [dabt(GICR + 0x14, 4, True, value=0),      # GICR_WAKER
                         dabt(GICR + 0x10100, 4, True, value=0xFFFF),  # ISENABLER0
                         dabt(GICR + 0x20008, 8, False, vcpu=1)]   # the next frame's TYPER
            else:
                recs += [dabt(GICD + 0xF00, 4, True, value=0x01FF0001)]  # GICD_SGIR
            write("esr_mmio", f"v{2 + v3}-{cpus}cpu", setup + b"".join(recs))
    # A data abort without a syndrome, a stage-1 walk, a system register access.
    write("esr_mmio", "no-isv", u8(1) + u32(EC_DABT_LOW << 26 | 0x07) + u64(GICD >> 8) + u64(0) * 2
          + u8(0) + u32(0x18 << 26 | 0x300000 | 0x1) + u64(0) * 3 + u8(0))


# ---- vgic_mmio: setup byte, then opcode (bits 0-3: op, 4-7: vCPU) and fields ----

def vgic_setup(v3, cpus, lrs):
    return u8(int(v3) | ((cpus - 2) << 1) | ((lrs - 1) << 3))


def dist_w(cpu, off, size, val):
    return u8(cpu << 4 | 1) + u16(off) + u8({1: 0, 2: 1, 4: 2, 8: 3}[size]) + u64(val)


def dist_r(cpu, off, size=4):
    return u8(cpu << 4 | 0) + u16(off) + u8({1: 0, 2: 1, 4: 2, 8: 3}[size])


def redist_w(cpu, target, off, size, val):
    return u8(cpu << 4 | 3) + u8(target) + u32(off) + u8({1: 0, 2: 1, 4: 2, 8: 3}[size]) + u64(val)


def redist_r(cpu, target, off):
    return u8(cpu << 4 | 2) + u8(target) + u32(off) + u8(2)


def op(cpu, code, *fields):
    return u8(cpu << 4 | code) + b"".join(fields)


def vgic_mmio():
    for v3 in (False, True):
        for cpus in (2, 4):
            s = vgic_setup(v3, cpus, 4)
            s += dist_w(0, 0x000, 4, 0x3 if not v3 else 0x12)        # CTLR
            s += dist_w(0, 0x104, 4, 0xFFFFFFFF)                     # ISENABLER1
            s += dist_w(0, 0x420, 4, 0x80808080)                     # IPRIORITYR
            if v3:
                s += dist_w(0, 0x6000 + 8 * 40, 8, 1)                # IROUTER40: vCPU 1
                s += redist_w(1, 1, 0x14, 4, 0)                      # WAKER
                s += redist_w(1, 1, 0x10100, 4, 0xFFFF)              # ISENABLER0: SGIs
                s += op(0, 4, u64(1 << 40 | 0x3 << 0 | 5 << 24))      # SGI1R: SGI 5 to 0, 1
            else:
                s += dist_w(0, 0x828, 4, 0x02020202)                 # ITARGETSR: vCPU 1
                s += dist_w(0, 0xF00, 4, 0x00030005)                 # SGIR: SGI 5 to 0, 1
            s += op(0, 5, u16(40 - 16), u8(1))                       # SPI 40 line high
            s += op(1, 6, u16(41 - 16))                              # SPI 41 edge
            s += op(0, 7, u8(1), u8(3))                              # SGI 3 to vCPU 1
            s += op(1, 8) + op(1, 10, u8(0 << 2 | 1)) + op(1, 10, u8(1 << 2 | 3))
            s += op(1, 9) + dist_r(0, 0x304) + dist_w(0, 0x384, 4, 0xFFFFFFFF)  # ICACTIVER
            s += op(1, 8) + op(1, 10, u8(0 << 2 | 3)) + op(1, 9)
            s += op(0, 12, u16(27), u16(27), u8(0)) + op(0, 5, u16(27 - 16), u8(1))  # timer
            s += op(0, 8) + op(0, 9) + op(0, 5, u16(27 - 16), u8(0)) + op(0, 13, u16(27))
            s += op(0, 12, u16(40), u16(40), u8(1)) + op(0, 11) + op(0, 14) + op(1, 15)
            write("vgic_mmio", f"v{3 if v3 else 2}-{cpus}cpu", s)
    # Every register of the frame read once, by vCPU 0.
    for v3 in (False, True):
        s = vgic_setup(v3, 2, 1)
        for off in range(0, 0x10000 if v3 else 0x1000, 0x100 if v3 else 0x40):
            s += dist_r(0, off)
        write("vgic_mmio", f"v{3 if v3 else 2}-sweep", s)


# ---- vpl011: opcode (bits 0-1: read, write, typed byte, reset; bit 4: vCPU) and fields ----

def uart_w(off, val, size=4):
    return u8(1) + u16(off) + u8({1: 0, 2: 1, 4: 2, 8: 3}[size]) + u64(val)


def uart_r(off, size=4):
    return u8(0) + u16(off) + u8({1: 0, 2: 1, 4: 2, 8: 3}[size])


def typed(text):
    return b"".join(u8(2) + u8(c) for c in text)


def vpl011():
    s = uart_w(0x030, 0x301) + uart_w(0x038, 0x50) + uart_w(0x034, 0x12)
    s += typed(b"root\r") + uart_r(0x018) + uart_r(0x000) * 6 + uart_r(0x040)
    s += uart_w(0x044, 0x7FF) + uart_w(0x000, ord("$"), 1) + typed(b"\x14\x14x\x140\x14?")
    s += uart_r(0xFE0, 1) + uart_r(0xFFC) + u8(3) + uart_r(0x03C)
    write("vpl011", "rx-irq", s)
    s = uart_w(0x038, 0x20) + b"".join(uart_w(0x000, c, 1) for c in b"\x1b[2J\x08\x08[vm1] ok\r\n")
    s += uart_w(0x02C, 0x70) + uart_w(0x024, 13) + uart_w(0x028, 1) + uart_w(0x048, 0)
    write("vpl011", "tx-escapes", s)
    write("vpl011", "fifo-full", typed(bytes(range(0x20, 0x20 + 40))) + uart_r(0x018)
          + uart_r(0x000) * 40)


# ---- psci: setup byte (vCPUs - 1), then opcode (bit 0: call; bits 4-7: vCPU) and x0-x3 ----

PSCI = dict(VERSION=0x84000000, CPU_SUSPEND=0x84000001, CPU_OFF=0x84000002, CPU_ON=0x84000003,
            AFFINITY_INFO=0x84000004, MIGRATE_INFO_TYPE=0x84000006, SYSTEM_OFF=0x84000008,
            SYSTEM_RESET=0x84000009, FEATURES=0x8400000A)
SMC64 = 0x40000000


def call(cpu, x0, x1=0, x2=0, x3=0):
    return u8(cpu << 4 | 1) + u64(x0) + u64(x1) + u64(x2) + u64(x3)


def start(cpu):
    return u8(cpu << 4)


def psci():
    s = u8(3) + call(0, PSCI["VERSION"]) + call(0, 0x80000000) + call(0, 0x80000001, 0x80000000)
    s += call(0, PSCI["CPU_ON"] | SMC64, 1, 0x40080000, 0x1234) + call(0, PSCI["CPU_ON"], 1)
    s += call(0, PSCI["AFFINITY_INFO"], 1, 0) + start(1) + call(1, PSCI["AFFINITY_INFO"], 0, 0)
    s += call(1, PSCI["CPU_ON"], 0) + call(1, PSCI["CPU_ON"], 7) + call(1, PSCI["CPU_SUSPEND"])
    s += call(1, PSCI["CPU_OFF"]) + call(0, PSCI["AFFINITY_INFO"] | SMC64, 1, 1)
    for fid in list(PSCI.values()) + [0x80000000, 0x80008000, 0xC4000003]:
        s += call(0, PSCI["FEATURES"], fid)
    s += call(0, PSCI["MIGRATE_INFO_TYPE"]) + call(0, 0xDEADBEEF00000000 | PSCI["VERSION"])
    s += call(0, PSCI["SYSTEM_RESET"]) + call(0, PSCI["SYSTEM_OFF"])
    write("psci", "psci-4cpu", s)
    s = u8(1)
    for fid in (0x86000001, 0x86000002, 0x8600FF00, 0x8600FF01, 0x86000010, 0x86000011,
                0x86000012, 0x86000013, 0x86000020, 0x86000021, 0xC6000001):
        s += call(0, fid, 0, 1, 2)
    write("psci", "vendor-2cpu", s)


# ---- doorbell: opcode (bits 0-2: read, write, ring, ack, reset; bit 4: the VM) and fields ----

def db_w(vm, off, val, size=4):
    return u8(vm << 4 | 1) + u16(off) + u8({1: 0, 2: 1, 4: 2, 8: 3}[size]) + u64(val)


def db_r(vm, off, size=4):
    return u8(vm << 4 | 0) + u16(off) + u8({1: 0, 2: 1, 4: 2, 8: 3}[size])


def doorbell():
    # Its own registers: who am I, ring the peer, the peer reads and acknowledges, a refused
    # ring (member 2 is on no channel), the hypercalls, a reset (which rings the peer).
    s = db_r(0, 0x800) + db_r(0, 0x804) + db_r(0, 0x814) + db_w(0, 0x808, 0x2)
    s += db_r(1, 0x80C) + db_w(1, 0x80C, 0x1) + db_w(1, 0x808, 0x4) + db_r(1, 0x810)
    s += u8(1 << 4 | 2) + u8(0) + u64(1) + u8(0 << 4 | 3) + u8(0) + u8(2) + u8(1) + u64(2)
    s += u8(1 << 4 | 4) + db_r(0, 0x80C) + db_r(0, 0x818)
    write("doorbell", "registers", s)
    # The PL061 face as Linux's gpio-pl061 drives it: lines 0-3 in, edge interrupts on, then
    # output line 4 + 1 rings member 1; GPIODATA through its address mask; GPIOIC.
    s = db_w(1, 0x400, 0xF0) + db_w(1, 0x404, 0) + db_w(1, 0x40C, 0x0F) + db_w(1, 0x410, 0x0F)
    s += db_w(0, 0x400, 0xF0) + db_w(0, 0x3FC, 0x20, 1) + db_r(1, 0x414) + db_r(1, 0x418)
    s += db_r(1, 0x3FC) + db_w(1, 0x41C, 0x0F) + db_w(1, 0x80C, 0x1) + db_r(1, 0xFE0, 1)
    s += db_w(0, 0x404, 0x0F) + db_w(0, 0x408, 0x0F) + db_w(0, 0x420, 0xFF)
    write("doorbell", "pl061", s)


# ---- watchdog: opcode (bits 0-2: read, write, time, halt, reset; bit 4: the refresh frame) ----

def wd_w(off, val, size=4, refresh=False):
    return u8((0x10 if refresh else 0) | 1) + u16(off) + u8({1: 0, 2: 1, 4: 2, 8: 3}[size]) + u64(val)


def wd_r(off, size=4, refresh=False):
    return u8(0x10 if refresh else 0) + u16(off) + u8({1: 0, 2: 1, 4: 2, 8: 3}[size])


def watchdog():
    # As Linux's sbsa_gwdt: W_IIDR, WOR low then high, enable; refreshes in time; then time
    # passing: WS0, a refresh, WS0 again and WS1; WCV written; a reset.
    s = wd_r(0xFCC) + wd_w(0x8, 1000) + wd_w(0xC, 0) + wd_w(0x0, 1) + wd_w(0x0, 0, refresh=True)
    s += u8(2) + u32(900) + wd_w(0x0, 0, refresh=True) + u8(2) + u32(1000) + wd_r(0x0)
    s += wd_w(0x0, 0, refresh=True) + u8(2) + u32(1000) + u8(2) + u32(1000) + wd_r(0x0)
    s += wd_w(0x10, 5, 8) + wd_r(0x14) + u8(3) + u8(4) + wd_r(0x0)
    write("watchdog", "linux", s)


# ---- bundle ----

def bundle():
    """Bundles as tools/mkbundle.py packs them: two VMs (one with a ramdisk, one with a Xen
    partial device tree and 1/1 cells), a top-level kernel and a shared-memory region."""
    import sys
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import mkbundle
    import tempfile
    partial = dtc(os.path.join(ROOT, "tests", "fuzz", "seeds", "xen-partial-module.dts"))
    dts = """/dts-v1/;
/ { chosen {
    a { compatible = "bulkhead,vm"; cpus = <1>; memory-size = <0x0 0x4000000>;
        kernel { compatible = "multiboot,kernel", "multiboot,module"; bulkhead,file = "k";
                 bootargs = "name=a"; };
        ramdisk { compatible = "multiboot,ramdisk", "multiboot,module"; bulkhead,file = "./r"; };
    };
    b { compatible = "xen,domain"; cpus = <1>; memory = <0x0 0x10000>;
        #address-cells = <1>; #size-cells = <1>;
        module { compatible = "multiboot,kernel", "multiboot,module"; bulkhead,file = "k"; };
        dt { compatible = "multiboot,device-tree", "multiboot,module"; bulkhead,file = "p.dtb"; };
    };
    module@0 { compatible = "multiboot,kernel", "multiboot,module"; bulkhead,file = "sub/k2"; };
    shm { compatible = "bulkhead,shared-memory"; bulkhead,shm-id = "x"; size = <0x0 0x200000>; };
}; };
"""
    with tempfile.TemporaryDirectory() as work:
        src = os.path.join(work, "vms.dts")
        with open(src, "w") as f:
            f.write(dts)
        desc = mkbundle.compile_description(src, "dtc")
        files = [("k", b"kernel" * 11), ("r", b"ramdisk"), ("p.dtb", partial),
                 ("sub/k2", b"k2" * 40)]
        for name, entries in (("two-vms", files), ("missing-file", files[:2]),
                              ("twice", files + [("k", b"again")])):
            out = os.path.join(work, name)
            mkbundle.write_archive(out, [(mkbundle.DESCRIPTION, desc)] + entries)
            with open(out, "rb") as f:
                write("bundle", name + ".cpio", f.read())


def main():
    fdt_config()
    bundle()
    doorbell()
    watchdog()
    esr_mmio()
    vgic_mmio()
    vpl011()
    psci()


if __name__ == "__main__":
    main()
