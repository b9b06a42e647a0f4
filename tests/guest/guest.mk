# The bare-metal EL1 test guests: raw binaries run at 0x4008_0000 (RAM base + 0x80000), under the
# hypervisor or on the bare board. Each links the runtime (start.S, runtime.c, exceptions.c),
# lib/printf.c, lib/string.c and libfdt.
GUEST_BUILD := $(BUILD)/guests
GUEST_OBJDIR := $(GUEST_BUILD)/obj
GUEST_DIR := tests/guest

# FP/SIMD allowed (start.S enables it; libfdt needs it), except where the exception path runs.
# _LIBC_LIMITS_H_: gcc's limits.h must not look for a libc one (-nostdinc).
GUEST_CFLAGS := -std=gnu11 -ffreestanding -fno-builtin -nostdinc \
                -isystem $(shell $(CC) -print-file-name=include 2>/dev/null) \
                -fno-pie -fno-stack-protector -fno-omit-frame-pointer -O2 -g -D_LIBC_LIMITS_H_ \
                -Wall -Wextra -Werror -Wshadow -Wvla \
                -Iinclude -Iinclude/target -I$(LIBFDT_ROOT)/include -I$(GUEST_DIR) -MMD -MP
GUEST_ASFLAGS := -D__ASSEMBLY__ -MMD -MP
GUEST_LDFLAGS := -nostdlib -nostartfiles -static -no-pie -Wl,--build-id=none \
                 -Wl,--no-warn-rwx-segments -T $(GUEST_DIR)/guest.ld

GUEST_RT_OBJ := $(GUEST_OBJDIR)/start.o $(GUEST_OBJDIR)/runtime.o $(GUEST_OBJDIR)/exceptions.o \
                $(GUEST_OBJDIR)/printf.o $(GUEST_OBJDIR)/string.o
GUEST_NAMES := testguest demo irqtest bench
GUEST_BINS := $(patsubst %,$(GUEST_BUILD)/%.bin,$(GUEST_NAMES))

.PHONY: guests
guests: $(GUEST_BINS)

$(GUEST_OBJDIR)/exceptions.o: $(GUEST_DIR)/exceptions.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -mgeneral-regs-only -c $< -o $@

$(GUEST_OBJDIR)/%.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OBJDIR)/%.o: $(GUEST_DIR)/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_ASFLAGS) -c $< -o $@

$(GUEST_OBJDIR)/%.o: lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_BUILD)/%.elf: $(GUEST_OBJDIR)/%.o $(GUEST_RT_OBJ) $(GUEST_DIR)/guest.ld
	$(CC) $(GUEST_LDFLAGS) -o $@ $< $(GUEST_RT_OBJ) $(LIBFDT_A) -lgcc

$(GUEST_BUILD)/%.bin: $(GUEST_BUILD)/%.elf
	$(OBJCOPY) -O binary $< $@

.PRECIOUS: $(GUEST_BUILD)/%.elf $(GUEST_OBJDIR)/%.o

-include $(wildcard $(GUEST_OBJDIR)/*.d)
