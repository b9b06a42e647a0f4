#!/usr/bin/env bash
# Installs what `make`, `make run` and `make test` need on Debian 12, through apt-get only.
# Idempotent: on a ready machine it checks and returns in well under a second.
# --raspi-firmware: also Debian's raspi-firmware (the Pi's start4.elf, fixup4.dat), unpacked for
# `make sdcard` (scripts/mksdcard.sh); it is in the non-free-firmware component, added for it.
set -euo pipefail

want_raspi=0
[ "${1:-}" != --raspi-firmware ] || want_raspi=1

# qemu-system-arm 10 (bookworm-backports) is the first with the raspi4b machine.
HOST_PKGS=(make gcc gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libcmocka-dev
           device-tree-compiler libfdt-dev pkg-config clang-format cppcheck gdb-multiarch
           clang libclang-rt-14-dev dosfstools mtools u-boot-tools)
# Debian's arm64 packages that conflict with the host's are unpacked here, not installed.
DEPS_DIR=${BULKHEAD_DEPS:-/var/cache/bulkhead}
# Debian's own arm64 Linux kernel and a static busybox are the Linux guests of the tests;
# u-boot-rpi's rpi_arm64 U-Boot boots the hypervisor on raspi4b in docs/RPI4.md's U-Boot route.
ARM64_UNPACK=(libfdt-dev linux-image-arm64 busybox-static u-boot-rpi)
BACKPORTS_PKGS=(qemu-system-arm)
NONFREE_FW_SOURCES=/etc/apt/sources.list.d/bulkhead-non-free-firmware.sources
RASPI_DONE=$DEPS_DIR/raspi-firmware/.done
BACKPORTS_SOURCES=/etc/apt/sources.list.d/bulkhead-backports.sources
OLD_BACKPORTS_LIST=/etc/apt/sources.list.d/bulkhead-backports.list

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

qemu_is_new_enough() {
    command -v qemu-system-aarch64 >/dev/null || return 1
    local major
    major=$(qemu-system-aarch64 --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p')
    [ "${major:-0}" -ge 9 ]
}

missing=()
for p in "${HOST_PKGS[@]}"; do have_pkg "$p" || missing+=("$p"); done
unpack=()
for p in "${ARM64_UNPACK[@]}"; do [ -f "$DEPS_DIR/arm64/.$p.done" ] || unpack+=("$p"); done
need_qemu=0
qemu_is_new_enough || need_qemu=1
arch_ok=0
dpkg --print-foreign-architectures | grep -qx arm64 && arch_ok=1

need_raspi=0
[ $want_raspi -eq 0 ] || [ -f "$RASPI_DONE" ] || need_raspi=1

if [ ${#missing[@]} -eq 0 ] && [ ${#unpack[@]} -eq 0 ] && [ $need_qemu -eq 0 ] &&
    [ $arch_ok -eq 1 ] && [ $need_raspi -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing ${missing[*]:-} (qemu>=9: $((1-need_qemu))); run as root" >&2
    exit 1
fi

# The machine's own entry for Debian's main suite, as "URI<TAB>Signed-By": a deb822 stanza in
# sources.list.d (Debian 12's default) or a one-line entry in sources.list. The backports suite is
# added from the same archive (whatever mirror the machine uses) with the same key.
debian_source() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && [ "$f" != "$BACKPORTS_SOURCES" ] || continue
        awk -v RS= -F'\n' '{
            uri = ""; key = ""; deb = 0; main = 0
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^Types:.*(^|[ \t])deb([ \t]|$)/) deb = 1
                if ($i ~ /^URIs:/) { split($i, u, /[ \t]+/); uri = u[2] }
                if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) main = 1
                if ($i ~ /^Signed-By:/) { split($i, k, /[ \t]+/); key = k[2] }
            }
            if (deb && main && uri != "") { print uri "\t" key; exit }
        }' "$f"
    done | head -n1
    [ -f /etc/apt/sources.list ] &&
        sed -n 's/^deb \(\[[^]]*signed-by=\([^] ]*\)[^]]*\] \)\{0,1\}\([^ []*\) bookworm .*/\3\t\2/p' \
            /etc/apt/sources.list | head -n1
}

add_backports() {
    local uri key
    IFS=$'\t' read -r uri key < <(debian_source | head -n1) || true
    if [ -z "$uri" ]; then
        echo "install-deps: no Debian bookworm entry in /etc/apt sources to add backports from" >&2
        exit 1
    fi
    {
        echo "Types: deb"
        echo "URIs: $uri"
        echo "Suites: bookworm-backports"
        echo "Components: main"
        [ -z "$key" ] || echo "Signed-By: $key"
    } > "$BACKPORTS_SOURCES"
    rm -f "$OLD_BACKPORTS_LIST"
}

# The machine's Debian source for the non-free-firmware component, same archive and key (a
# deb822 file: a one-line entry beside a deb822 one for the same URI makes apt refuse both).
add_non_free_firmware() {
    local uri key
    IFS=$'\t' read -r uri key < <(debian_source | head -n1) || true
    if [ -z "$uri" ]; then
        echo "install-deps: no Debian bookworm source in /etc/apt to add non-free-firmware to" >&2
        exit 1
    fi
    {
        echo "Types: deb"
        echo "URIs: $uri"
        echo "Suites: bookworm"
        echo "Components: non-free-firmware"
        [ -z "$key" ] || echo "Signed-By: $key"
    } > "$NONFREE_FW_SOURCES"
}

export DEBIAN_FRONTEND=noninteractive
[ $arch_ok -eq 1 ] || dpkg --add-architecture arm64
if [ $need_qemu -eq 1 ] && [ ! -f "$BACKPORTS_SOURCES" ]; then
    add_backports
fi
if [ $need_raspi -eq 1 ] && ! apt-cache show raspi-firmware >/dev/null 2>&1 &&
    [ ! -f "$NONFREE_FW_SOURCES" ]; then
    add_non_free_firmware
fi
apt-get update -q -o Acquire::Retries=3
[ ${#missing[@]} -eq 0 ] || apt-get install -y -q --no-install-recommends "${missing[@]}"
if [ $need_qemu -eq 1 ]; then
    apt-get install -y -q --no-install-recommends -t bookworm-backports "${BACKPORTS_PKGS[@]}"
fi
# The metapackage only names the kernel package of the day: follow it to the real one.
real_package() {
    if [ "$1" = linux-image-arm64 ]; then
        apt-cache depends "linux-image-arm64:arm64" | sed -n 's/.*Depends: \(linux-image-[^:]*\).*/\1/p' |
            head -n1
    else
        echo "$1"
    fi
}

for p in "${unpack[@]}"; do
    mkdir -p "$DEPS_DIR/arm64/debs"
    real=$(real_package "$p")
    [ -n "$real" ] || { echo "install-deps: no arm64 package for $p" >&2; exit 1; }
    (cd "$DEPS_DIR/arm64/debs" && apt-get download -q "$real:arm64")
    dpkg -x "$(ls -t "$DEPS_DIR/arm64/debs/${real}_"*_arm64.deb | head -n1)" "$DEPS_DIR/arm64/root"
    touch "$DEPS_DIR/arm64/.$p.done"
done
# Stable names for the guests, whatever the kernel's version.
if [ -d "$DEPS_DIR/arm64/root/boot" ]; then
    ln -sf "$(ls "$DEPS_DIR"/arm64/root/boot/vmlinuz-* | sort -V | tail -n1)" "$DEPS_DIR/arm64/vmlinuz"
fi
# The Pi's firmware files, for scripts/mksdcard.sh: only the package's files (its hooks want a Pi).
if [ $need_raspi -eq 1 ]; then
    mkdir -p "$DEPS_DIR/raspi-firmware/debs"
    (cd "$DEPS_DIR/raspi-firmware/debs" && apt-get download -q raspi-firmware)
    dpkg -x "$(ls -t "$DEPS_DIR"/raspi-firmware/debs/raspi-firmware_*.deb | head -n1)" \
        "$DEPS_DIR/raspi-firmware/root"
    touch "$RASPI_DONE"
fi
