# Bulkhead: `make` builds the image, `make run` boots the demo, `make test` runs every test.
PLATFORM ?= qemu-virt
CROSS_COMPILE ?= aarch64-linux-gnu-
DEPS_DIR ?= /var/cache/bulkhead
PYTHON ?= python3

BUILD := build/$(PLATFORM)
CC := $(CROSS_COMPILE)gcc
LD := $(CROSS_COMPILE)ld
OBJCOPY := $(CROSS_COMPILE)objcopy
NM := $(CROSS_COMPILE)nm
SIZE := $(CROSS_COMPILE)size
HOSTCC ?= gcc

include platform/$(PLATFORM)/platform.mk

LIBFDT_ROOT := $(DEPS_DIR)/arm64/root/usr
LIBFDT_A := $(LIBFDT_ROOT)/lib/aarch64-linux-gnu/libfdt.a

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wvla -Wswitch-default \
            -Wstrict-prototypes -Wpointer-arith
# Hypervisor code: freestanding, position independent (it relocates itself), no FP/SIMD. Calls
# are direct (no -fno-plt): a static PIE needs no PLT, and a call through the GOT costs an exit
# three instructions per call instead of one.
HV_CFLAGS := -std=c11 -ffreestanding -fno-builtin -nostdinc -isystem $(shell $(CC) -print-file-name=include 2>/dev/null) \
             -mgeneral-regs-only -mstrict-align -mno-outline-atomics -fpie -fno-stack-protector \
             -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -O2 -g $(WARNINGS) \
             -include include/bulkhead/hidden.h \
             -Iinclude -Iinclude/target -I$(LIBFDT_ROOT)/include -Iplatform/$(PLATFORM) \
             -DPLATFORM=\"$(PLATFORM)\" -MMD -MP
HV_ASFLAGS := -Iinclude -D__ASSEMBLY__ -MMD -MP
HV_LDFLAGS := -nostdlib -static -pie --no-dynamic-linker -z norelro -z noexecstack \
              --no-warn-rwx-segments -T el2/bulkhead.ld

HV_DIRS := el2 stage2 vgic vtimer config vdev drivers lib platform/$(PLATFORM)
# config/check_run.c is the host tool's run (make check-config), no part of the hypervisor.
HV_SRC := $(filter-out config/check_run.c,$(foreach d,$(HV_DIRS),$(wildcard $(d)/*.c) $(wildcard $(d)/*.S)))
HV_OBJ := $(patsubst %,$(BUILD)/%.o,$(HV_SRC))

IMAGE := $(BUILD)/bulkhead.img
ELF := $(BUILD)/bulkhead.elf

.PHONY: all deps run run-shm run-bare debug test check check-config check-config-tool format format-check lint bench guests clean help bundle sdcard
all: $(IMAGE)

# Install what is missing (idempotent, a no-op on a ready machine).
deps:
	@bash scripts/install-deps.sh

# V=1 shows whole command lines.
Q := $(if $(V),,@)

$(BUILD)/%.c.o: %.c Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(HV_CFLAGS) -c $< -o $@

$(BUILD)/%.S.o: %.S Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $<")
	$(Q)$(CC) $(HV_ASFLAGS) -c $< -o $@

# Backtraces name functions: the first link finds the text symbols, the second embeds them in
# .ksyms, which sits after all code and data so that no text address moves between the two.
$(BUILD)/ksyms-empty.S:
	@mkdir -p $(dir $@)
	@printf '.section .ksyms,"a"\n.balign 8\n.global ksyms_count\nksyms_count: .quad 0\n.global ksyms_table\nksyms_table:\n' > $@

$(BUILD)/bulkhead.pass1.elf: $(HV_OBJ) $(BUILD)/ksyms-empty.S.o el2/bulkhead.ld
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LD) $(HV_LDFLAGS) -o $@ $(HV_OBJ) $(BUILD)/ksyms-empty.S.o $(LIBFDT_A)

$(BUILD)/ksyms.S: $(BUILD)/bulkhead.pass1.elf scripts/gen-ksyms.sh
	$(Q)bash scripts/gen-ksyms.sh $(NM) $< > $@

$(ELF): $(HV_OBJ) $(BUILD)/ksyms.S.o el2/bulkhead.ld
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LD) $(HV_LDFLAGS) -o $@ $(HV_OBJ) $(BUILD)/ksyms.S.o $(LIBFDT_A)
	@$(NM) -n $@ | grep -q ' T primary_entry' || (echo "link: no entry" && false)

$(BUILD)/ksyms-empty.S.o: $(BUILD)/ksyms-empty.S
	$(Q)$(CC) $(HV_ASFLAGS) -c $< -o $@
$(BUILD)/ksyms.S.o: $(BUILD)/ksyms.S
	$(Q)$(CC) $(HV_ASFLAGS) -c $< -o $@

$(IMAGE): $(ELF)
	$(Q)$(OBJCOPY) -O binary $< $@
	@bash scripts/check-ksyms.sh $(NM) $(BUILD)/bulkhead.pass1.elf $<
	@$(SIZE) $<

-include $(HV_OBJ:.o=.d)

include tests/guest/guest.mk
include tests/host/host.mk
include tests/fuzz/fuzz.mk
include tests/bench/bench.mk
include tests/linux/linux.mk

# The configuration checker on the host: config/'s checks (config/check.c) over a DTB file.
CHECK_CONFIG := $(HOST_BUILD)/bulkhead-check-config
CHECK_CONFIG_SRCS := tools/check_config.c $(wildcard config/*.c) lib/string.c
$(CHECK_CONFIG): $(CHECK_CONFIG_SRCS) $(wildcard include/*/*.h) Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  HOSTCC  $@")
	$(Q)$(HOSTCC) -std=c11 -O1 -g -DBULKHEAD_HOST -D_GNU_SOURCE -Iinclude $(WARNINGS) -o $@ \
		$(CHECK_CONFIG_SRCS) -lfdt

check-config-tool: $(CHECK_CONFIG)
check-config: $(CHECK_CONFIG)
	@test -n "$(DTB)" || (echo "usage: make check-config DTB=file.dtb [DTB_ADDR=addr] [HYP=addr+size] [BUNDLE=file.cpio [INITRD_ADDR=addr]]" && false)
	@$(CHECK_CONFIG) $(if $(DTB_ADDR),--dtb-addr $(DTB_ADDR)) $(if $(HYP),--hyp $(HYP)) \
		$(if $(BUNDLE),--bundle $(BUNDLE)) $(if $(INITRD_ADDR),--initrd-addr $(INITRD_ADDR)) $(DTB)

# A bundle (docs/CONFIG.md, "Booting from a bundle"): the VM description CONFIG (a .dts) and the
# files it names in one cpio archive, to load as the hypervisor's initramfs.
bundle:
	@test -n "$(CONFIG)" || (echo "usage: make bundle CONFIG=vms.dts [OUT=bundle.cpio]" && false)
	@$(PYTHON) tools/mkbundle.py $(CONFIG) -o $(or $(OUT),$(BUILD)/bundle.cpio)

# A Raspberry Pi 4 SD card image (docs/RPI4.md): Debian's firmware, its DTB, the hypervisor and
# the bundle BUNDLE as its initramfs.
sdcard: all
	@test "$(PLATFORM)" = raspi4b || (echo "usage: make sdcard PLATFORM=raspi4b BUNDLE=bundle.cpio [SDCARD=file]" && false)
	@test -n "$(BUNDLE)" || (echo "usage: make sdcard PLATFORM=raspi4b BUNDLE=bundle.cpio [SDCARD=file]" && false)
	@bash scripts/install-deps.sh --raspi-firmware
	@bash scripts/mksdcard.sh --image $(IMAGE) --bundle $(BUNDLE) --out $(or $(SDCARD),$(BUILD)/sdcard.img)

# The demo: Debian's Linux with a shell beside a bare-metal guest of ours (make run), or two
# bare-metal guests that power off by themselves (make run-bare).
run: deps
	@$(MAKE) --no-print-directory all guests linux-initrd
	@$(PYTHON) tests/qemu/run_demo.py --platform $(PLATFORM) --build $(BUILD) --machine $(QEMU_MACHINE) $(if $(QEMU_CPU),--cpu $(QEMU_CPU))

# Shared memory between VMs: Linux with a shell beside a bare-metal producer (docs/CONFIG.md,
# "Sharing memory between VMs"); in the shell, `devmem 0x70000008 64` reads the counter.
run-shm: deps
	@$(MAKE) --no-print-directory all guests linux-initrd
	@$(PYTHON) tests/qemu/test_shmem.py --demo --build $(BUILD)

run-bare: deps
	@$(MAKE) --no-print-directory all guests
	@$(PYTHON) tests/qemu/run_demo.py --bare --platform $(PLATFORM) --build $(BUILD) --machine $(QEMU_MACHINE) $(if $(QEMU_CPU),--cpu $(QEMU_CPU))

# make run-bare with QEMU halted at the first instruction, waiting for gdb on TCP port 1234.
# The image is position-independent and linked at 0: gdb needs its load address (QEMU puts an
# Image at RAM + text_offset, 0x40200000 on virt; the banner prints it) for every section.
debug: deps
	@$(MAKE) --no-print-directory all guests
	@echo "QEMU waits for gdb. In another terminal, from $(CURDIR):"
	@echo "  gdb-multiarch -ex 'add-symbol-file -o $(HYP_LOAD_ADDR) $(BUILD)/bulkhead.elf' -ex 'target remote :1234'"
	@echo "then for example: break hyp_main, continue, print nr_vms. Ctrl-A then X quits QEMU."
	@$(PYTHON) tests/qemu/run_demo.py --bare --gdb --platform $(PLATFORM) --build $(BUILD) --machine $(QEMU_MACHINE) $(if $(QEMU_CPU),--cpu $(QEMU_CPU))

test: deps
	@$(MAKE) --no-print-directory all guests host-tests fuzz-build check-config-tool linux-initrd
	@$(PYTHON) tests/run_all.py --build $(BUILD)

# make check: what a contributor runs before sending a change (make test runs it too): the
# surface style (.clang-format), cppcheck's warnings on the hypervisor's sources, the host tests.
C_SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
LINT_DIRS := el2 stage2 vgic vtimer config vdev drivers lib
CPPCHECK_FLAGS := --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
                  --inline-suppr --suppress=missingIncludeSystem -Iinclude -Iinclude/target \
                  -I$(LIBFDT_ROOT)/include

check: deps
	@$(MAKE) --no-print-directory host-tests
	@$(PYTHON) tests/run_all.py --only '^(check|host)/'

format:
	clang-format -i $(C_SOURCES)

format-check:
	@clang-format --dry-run --Werror $(C_SOURCES)

lint:
	@cppcheck $(CPPCHECK_FLAGS) $(LINT_DIRS)

clean:
	rm -rf build

help:
	@echo "make [PLATFORM=qemu-virt|raspi4b]  build $(IMAGE)"
	@echo "make run                           Linux with a shell beside a bare-metal guest, on QEMU"
	@echo "make run-shm                       Linux with a shell reading a bare-metal guest's shared memory"
	@echo "make run-bare                      two bare-metal guests that power off by themselves"
	@echo "make debug                         make run-bare halted for gdb (prints the gdb command)"
	@echo "make bench                         exit costs and latencies under -icount (docs/PERFORMANCE.md)"
	@echo "make test                          host unit tests + QEMU boot tests, ends with 'N passed, N failed'"
	@echo "make check                         format check, cppcheck, host unit tests (make format fixes the first)"
	@echo "make fuzz [FUZZ_SECONDS=60]        each libFuzzer target for FUZZ_SECONDS (docs/RELIABILITY.md)"
	@echo "make check-config DTB=file.dtb     checks a configuration (VMs under /chosen) before booting it;"
	@echo "    [DTB_ADDR=addr] [HYP=addr+size] where the DTB and the hypervisor go (default: as on QEMU virt)"
	@echo "make bundle CONFIG=vms.dts [OUT=f]  packs the VMs of vms.dts and the files they name into one"
	@echo "    cpio archive to load as the initramfs (default OUT: $(BUILD)/bundle.cpio)"
	@echo "make sdcard PLATFORM=raspi4b BUNDLE=f  a Raspberry Pi 4 SD card image with the VMs of bundle f"
	@echo "    [SDCARD=file] (default: $(BUILD)/sdcard.img; docs/RPI4.md)"
