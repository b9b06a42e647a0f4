# QEMU's virt machine. Everything about the board comes from its DTB; this only says how to run it.
QEMU_MACHINE_V2 := virt,virtualization=on,gic-version=2
QEMU_MACHINE_V3 := virt,virtualization=on,gic-version=3
QEMU_MACHINE := $(QEMU_MACHINE_V3)
QEMU_CPU := cortex-a72
# Where QEMU loads the image (RAM + the Image header's text_offset): for make debug's gdb.
HYP_LOAD_ADDR := 0x40200000
# Where the hypervisor places a raw guest image (RAM + 0x80000): the test guests' link address.
GUEST_LINK_ADDR := 0x40080000
