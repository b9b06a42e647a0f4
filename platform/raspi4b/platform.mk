# Raspberry Pi 4 (QEMU raspi4b, QEMU 9+). Secondary CPUs wait on the DTB's spin table.
QEMU_MACHINE := raspi4b
QEMU_CPU :=
# Where the firmware (or QEMU) loads the image: for make debug's gdb.
HYP_LOAD_ADDR := 0x200000
# Where the hypervisor places a raw guest image (RAM, at 0, + 0x80000): the test guests' link
# address.
GUEST_LINK_ADDR := 0x80000
