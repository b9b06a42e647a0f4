# The Linux guests' initramfs: Debian's static busybox and a few of its kernel's modules (unpacked
# by scripts/install-deps.sh) and the test init, packed by tests/linux/mkinitramfs.py.
LINUX_BUILD := build/linux
LINUX_INITRD := $(LINUX_BUILD)/initrd.cpio
LINUX_DEPS := $(or $(BULKHEAD_DEPS),$(DEPS_DIR))/arm64/root
LINUX_BUSYBOX := $(LINUX_DEPS)/bin/busybox
# The kernel's module tree, whatever its version (empty before install-deps.sh has run).
LINUX_MODULES := $(lastword $(sort $(wildcard $(LINUX_DEPS)/lib/modules/*/kernel)))
# /bin/shmtool: the shared-memory tests' /dev/mem pattern writer and checker (no libc).
LINUX_SHMTOOL := $(LINUX_BUILD)/shmtool
LINUX_CC ?= aarch64-linux-gnu-gcc

.PHONY: linux-initrd
linux-initrd: $(LINUX_INITRD)

$(LINUX_SHMTOOL): tests/linux/shmtool.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(LINUX_CC) -static -nostdlib -ffreestanding -fno-stack-protector -no-pie -O2 -Wall \
		-Wextra -s -o $@ $<

$(LINUX_INITRD): tests/linux/init tests/linux/mkinitramfs.py $(LINUX_BUSYBOX) $(LINUX_SHMTOOL) \
                 $(if $(LINUX_MODULES),$(dir $(LINUX_MODULES))modules.order)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CPIO    $@")
	$(Q)$(PYTHON) tests/linux/mkinitramfs.py --busybox $(LINUX_BUSYBOX) --init tests/linux/init \
		--shmtool $(LINUX_SHMTOOL) $(if $(LINUX_MODULES),--modules $(LINUX_MODULES)) -o $@
