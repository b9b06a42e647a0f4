#!/usr/bin/env bash
# Lays out a Raspberry Pi 4 SD card image (docs/RPI4.md): an MBR with one FAT32 partition holding
# the Pi's firmware (start4.elf, fixup4.dat from Debian's raspi-firmware), Debian's
# bcm2711-rpi-4-b.dtb, the hypervisor, a bundle of VMs as its initramfs, config.txt and an empty
# cmdline.txt. Write it to a card with dd. No root needed: mkfs.vfat and mtools work on files.
#
#   scripts/mksdcard.sh --image build/raspi4b/bulkhead.img --bundle pi-vms/bundle.cpio \
#       --out build/raspi4b/sdcard.img [--firmware DIR] [--dtb FILE] [--config FILE] [--add FILE]...
#
# --firmware: the directory with start4.elf and fixup4.dat (default: where
# `scripts/install-deps.sh --raspi-firmware` unpacks Debian's package); --dtb: the Pi 4's device
# tree (default: the one of Debian's arm64 kernel that install-deps.sh unpacks); --config: a
# config.txt of your own (the U-Boot route of docs/RPI4.md: kernel=u-boot.bin); --add: one more
# file for the partition (u-boot.bin, boot.scr, a guest's image), as many times as needed.
set -euo pipefail

DEPS_DIR=${BULKHEAD_DEPS:-/var/cache/bulkhead}
PART_START_MIB=4 # the partition's first byte: 4 MiB, aligned for SD cards' erase blocks
MIN_PART_MIB=64  # FAT32 wants at least 65525 clusters
image= bundle= out= config=
extra=()
firmware=$DEPS_DIR/raspi-firmware/root/usr/lib/raspi-firmware
dtb=$(ls "$DEPS_DIR"/arm64/root/usr/lib/linux-image-*/broadcom/bcm2711-rpi-4-b.dtb 2>/dev/null |
    sort -V | tail -n1 || true)

die() { echo "mksdcard: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
    --image) image=$2; shift 2 ;;
    --bundle) bundle=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --firmware) firmware=$2; shift 2 ;;
    --dtb) dtb=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --add) extra+=("$2"); shift 2 ;;
    *) die "unknown argument $1 (see the comment at the top of $0)" ;;
    esac
done
[ -n "$image" ] && [ -n "$bundle" ] && [ -n "$out" ] || die "--image, --bundle and --out are needed"
for f in "$image" "$bundle" "$firmware/start4.elf" "$firmware/fixup4.dat" ${config:+"$config"} \
    ${extra[@]+"${extra[@]}"}; do
    [ -f "$f" ] || die "$f not found (the firmware: scripts/install-deps.sh --raspi-firmware)"
done
[ -n "$dtb" ] && [ -f "$dtb" ] || die "no bcm2711-rpi-4-b.dtb (scripts/install-deps.sh unpacks it)"
for t in mkfs.vfat mcopy; do
    command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] ||
        die "$t not found (scripts/install-deps.sh installs it)"
done
mkfs_vfat=$(command -v mkfs.vfat || echo /usr/sbin/mkfs.vfat)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$firmware/start4.elf" "$firmware/fixup4.dat" "$dtb" "$stage/"
cp "$image" "$stage/bulkhead.img"
# The hypervisor's footprint (.bss, stacks, page tables) is its arm64 header's image_size, more
# than the file: padded to it, `followkernel` cannot put the bundle where .bss is zeroed.
[ "$(dd if="$image" bs=1 skip=56 count=4 status=none)" = $'ARM\x64' ] ||
    die "$image: no arm64 Image header (build/raspi4b/bulkhead.img is one)"
footprint=$(od -An -tu8 -j16 -N8 "$image" | tr -d ' ')
[ "$footprint" -ge "$(stat -c %s "$image")" ] || die "$image: image_size below the file's size"
truncate -s "$footprint" "$stage/bulkhead.img"
cp "$bundle" "$stage/bundle.cpio"
names=(start4.elf fixup4.dat bcm2711-rpi-4-b.dtb bulkhead.img bundle.cpio config.txt cmdline.txt)
for f in ${extra[@]+"${extra[@]}"}; do
    cp "$f" "$stage/"
    names+=("$(basename "$f")")
done
cat > "$stage/config.txt" <<'EOF'
# Bulkhead on a Raspberry Pi 4 (docs/RPI4.md)
arm_64bit=1
kernel=bulkhead.img
kernel_address=0x200000
initramfs bundle.cpio followkernel
enable_gic=1
enable_uart=1
upstream_kernel=1
EOF
[ -z "$config" ] || cp "$config" "$stage/config.txt"
: > "$stage/cmdline.txt"

# The partition: the files, a quarter more and 16 MiB to spare, at least MIN_PART_MIB.
used_kib=$(du -sk "$stage" | cut -f1)
part_mib=$(( (used_kib * 5 / 4) / 1024 + 16 ))
[ "$part_mib" -ge "$MIN_PART_MIB" ] || part_mib=$MIN_PART_MIB
part="$stage/part.img"
"$mkfs_vfat" -F 32 -n BULKHEAD -C "$part" $((part_mib * 1024)) >/dev/null
(cd "$stage" && mcopy -i "$part" "${names[@]}" ::)

# The card: the MBR (one primary partition, type 0x0c: FAT32 with LBA), then the partition.
rm -f "$out"
truncate -s $(((PART_START_MIB + part_mib) * 1024 * 1024)) "$out"
python3 - "$out" "$((PART_START_MIB * 2048))" "$((part_mib * 2048))" <<'EOF'
import struct, sys
path, start, sectors = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# Status, CHS first (unused: 0xfe 0xff 0xff), type, CHS last, first LBA, sectors.
entry = struct.pack("<B3sB3sII", 0, b"\xfe\xff\xff", 0x0C, b"\xfe\xff\xff", start, sectors)
with open(path, "r+b") as f:
    f.seek(446)
    f.write(entry + bytes(48) + b"\x55\xaa")
EOF
dd if="$part" of="$out" bs=1M seek="$PART_START_MIB" conv=notrunc status=none
echo "mksdcard: $out: $((PART_START_MIB + part_mib)) MiB, FAT32 partition at $PART_START_MIB MiB" \
    "with ${names[*]}"
echo "mksdcard: write it with: dd if=$out of=/dev/sdX bs=4M conv=fsync (everything on sdX is lost)"
