# The Linux guests' initramfs: Debian's static busybox (unpacked by
# scripts/install-deps.sh) and the test init, packed by tests/linux/mkinitramfs.py.
LINUX_BUILD := build/linux
LINUX_INITRD := $(LINUX_BUILD)/initrd.cpio
LINUX_BUSYBOX := $(or $(BULKHEAD_DEPS),$(DEPS_DIR))/arm64/root/bin/busybox

.PHONY: linux-initrd
linux-initrd: $(LINUX_INITRD)

$(LINUX_INITRD): tests/linux/init tests/linux/mkinitramfs.py $(LINUX_BUSYBOX)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CPIO    $@")
	$(Q)$(PYTHON) tests/linux/mkinitramfs.py --busybox $(LINUX_BUSYBOX) --init tests/linux/init -o $@
