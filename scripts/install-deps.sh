#!/usr/bin/env bash
# Installs what `make`, `make run` and `make test` need on Debian 12, through apt-get only.
# Idempotent: on a ready machine it checks and returns in well under a second.
set -euo pipefail

# qemu-system-arm 10 (bookworm-backports) is the first with the raspi4b machine.
HOST_PKGS=(make gcc gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libcmocka-dev
           device-tree-compiler libfdt-dev pkg-config)
# Debian's arm64 packages that conflict with the host's are unpacked here, not installed.
DEPS_DIR=${BULKHEAD_DEPS:-/var/cache/bulkhead}
# Debian's own arm64 Linux kernel and a static busybox are the Linux guests of the tests.
ARM64_UNPACK=(libfdt-dev linux-image-arm64 busybox-static)
BACKPORTS_PKGS=(qemu-system-arm)
BACKPORTS_LIST=/etc/apt/sources.list.d/bulkhead-backports.list

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

if [ ${#missing[@]} -eq 0 ] && [ ${#unpack[@]} -eq 0 ] && [ $need_qemu -eq 0 ] && [ $arch_ok -eq 1 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing ${missing[*]:-} (qemu>=9: $((1-need_qemu))); run as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
[ $arch_ok -eq 1 ] || dpkg --add-architecture arm64
if [ ! -f "$BACKPORTS_LIST" ]; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" > "$BACKPORTS_LIST"
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
