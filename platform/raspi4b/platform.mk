# Raspberry Pi 4 (QEMU raspi4b, QEMU 9+). Secondary CPUs wait on the DTB's spin table.
QEMU_MACHINE := raspi4b
QEMU_CPU :=
# Where the firmware (or QEMU) loads the image: for make debug's gdb.
HYP_LOAD_ADDR := 0x200000
