# The bare-metal EL1 test guests: raw binaries run at RAM base + 0x80000 (GUEST_LINK_ADDR, from
# platform/*/platform.mk: 0x4008_0000 on QEMU virt, 0x8_0000 on the Raspberry Pi), under the
# hypervisor or on the bare board. Each is <name>.c (plus, for a guest split by topic,
# <name>_*.c) linked with the guest library (tests/guest/lib: runtime, vectors, GIC, device
# tree, PASS/FAIL reports), lib/printf.c, lib/string.c and libfdt.
GUEST_BUILD := $(BUILD)/guests
GUEST_OBJDIR := $(GUEST_BUILD)/obj
GUEST_DIR := tests/guest
GUEST_LINK_ADDR ?= 0x40080000

# FP/SIMD allowed (start.S enables it; libfdt needs it), except where the exception path runs.
# _LIBC_LIMITS_H_: gcc's limits.h must not look for a libc one (-nostdinc).
# -iquote: the library's headers ("gic.h", ...) before any of the same name in include/.
GUEST_CFLAGS := -std=gnu11 -ffreestanding -fno-builtin -nostdinc \
                -isystem $(shell $(CC) -print-file-name=include 2>/dev/null) \
                -fno-pie -fno-stack-protector -fno-omit-frame-pointer -O2 -g -D_LIBC_LIMITS_H_ \
                -Wall -Wextra -Werror -Wshadow -Wvla \
                -iquote $(GUEST_DIR)/lib -Iinclude -Iinclude/target -I$(LIBFDT_ROOT)/include \
                -MMD -MP
GUEST_ASFLAGS := -D__ASSEMBLY__ -DGUEST_LINK_ADDR=$(GUEST_LINK_ADDR) -MMD -MP
GUEST_LDFLAGS := -nostdlib -nostartfiles -static -no-pie -Wl,--build-id=none \
                 -Wl,--no-warn-rwx-segments -Wl,--defsym=GUEST_LINK_ADDR=$(GUEST_LINK_ADDR) \
                 -T $(GUEST_DIR)/guest.ld

GUEST_LIB_OBJ := $(patsubst %,$(GUEST_OBJDIR)/lib/%.o,start vectors exceptions runtime dt gic report vnet) \
                 $(GUEST_OBJDIR)/printf.o $(GUEST_OBJDIR)/string.o
GUEST_NAMES := testguest demo irqtest bench shmem hostile dmatest
# virtio_bad: malformed virtio rings (tests/qemu/test_virtio.py).
GUEST_NAMES += virtio_bad
GUEST_BINS := $(patsubst %,$(GUEST_BUILD)/%.bin,$(GUEST_NAMES))

# The parts of a guest split by topic, beyond its <name>.o.
guest_parts = $(patsubst $(GUEST_DIR)/%.c,$(GUEST_OBJDIR)/%.o,$(wildcard $(GUEST_DIR)/$(1)_*.c))
$(GUEST_BUILD)/irqtest.elf: $(call guest_parts,irqtest)
$(GUEST_BUILD)/testguest.elf: $(call guest_parts,testguest)

# Code that runs in exception and interrupt handlers: the vectors save only the general
# registers, so it must not touch FP/SIMD ones.
GUEST_NOFP_OBJ := $(GUEST_OBJDIR)/lib/exceptions.o $(GUEST_OBJDIR)/lib/gic.o \
                  $(GUEST_OBJDIR)/bench.o $(GUEST_OBJDIR)/shmem.o $(GUEST_OBJDIR)/hostile.o \
                  $(GUEST_OBJDIR)/irqtest.o $(call guest_parts,irqtest)
$(GUEST_NOFP_OBJ): GUEST_CFLAGS += -mgeneral-regs-only

.PHONY: guests
guests: $(GUEST_BINS)

$(GUEST_OBJDIR)/%.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OBJDIR)/%.o: $(GUEST_DIR)/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_ASFLAGS) -c $< -o $@

$(GUEST_OBJDIR)/%.o: lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_BUILD)/%.elf: $(GUEST_OBJDIR)/%.o $(GUEST_LIB_OBJ) $(GUEST_DIR)/guest.ld
	$(CC) $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^) $(LIBFDT_A) -lgcc

$(GUEST_BUILD)/%.bin: $(GUEST_BUILD)/%.elf
	$(OBJCOPY) -O binary $< $@

.PRECIOUS: $(GUEST_BUILD)/%.elf $(GUEST_OBJDIR)/%.o

-include $(wildcard $(GUEST_OBJDIR)/*.d $(GUEST_OBJDIR)/lib/*.d)
