# Host unit tests (cmocka) of the logic that needs no hardware, under ASan and UBSan.
# Every tests/host/test_<name>.c becomes build/host/test_<name>, linked with the pure sources.
HOST_BUILD := build/host
HOST_CFLAGS := -std=c11 -g -O1 -DBULKHEAD_HOST -D_GNU_SOURCE -Iinclude -Itests/host \
               -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
               -Wall -Wextra -Werror -Wshadow -Wvla
HOST_LDLIBS := -lcmocka -lfdt

# Pure hypervisor sources: they must compile unchanged here.
HOST_PURE_SRCS := $(wildcard config/*.c) lib/string.c lib/alloc.c stage2/pt.c el2/esr.c el2/console_mux.c \
                  vdev/mmio.c vdev/vdev.c vdev/vpl011.c vdev/passthrough.c vdev/doorbell.c vdev/sbsa_gwdt.c vdev/vswitch.c vgic/vgic_dev.c \
                  vgic/vgic.c vgic/lr.c vgic/vgic_mmio.c vgic/vgic_mmio_v2.c vgic/vgic_mmio_v3.c vtimer/ptimer.c el2/idregs.c \
                  drivers/smmuv3_enc.c el2/sched_policy.c
# Virtio: the transport, its queues and its devices (include/bulkhead/virtio.h).
HOST_PURE_SRCS += vdev/virtqueue.c vdev/virtio_mmio.c vdev/virtio_blk.c vdev/virtio_console.c
# virtio-net, a port of the hypervisor's switch (vdev/vswitch.c).
HOST_PURE_SRCS += vdev/virtio_net.c
HOST_PURE_SRCS := $(filter $(wildcard $(HOST_PURE_SRCS)),$(HOST_PURE_SRCS))
HOST_SUPPORT_SRCS := $(wildcard tests/host/support/*.c)
HOST_TESTS := $(patsubst tests/host/%.c,$(HOST_BUILD)/%,$(wildcard tests/host/test_*.c))
HOST_DTS := $(wildcard tests/host/dts/*.dts)
HOST_DTB := $(patsubst tests/host/dts/%.dts,$(HOST_BUILD)/dts/%.dtb,$(HOST_DTS))

# el2/ files that touch the CPU compile here against arch/sysreg.h's fake registers. Each is
# linked only into its own test, with fakes of the modules it calls (tests/host/fake/fake.h):
# TEST_<name>_SRCS is what test_<name> links besides the pure and support sources.
HOST_FAKE := tests/host/fake
TEST_inject_SRCS := el2/inject.c $(HOST_FAKE)/arch.c
TEST_psci_SRCS := el2/psci.c $(HOST_FAKE)/arch.c $(HOST_FAKE)/sched.c $(HOST_FAKE)/vm.c \
                  $(HOST_FAKE)/monitor.c
TEST_traps_SRCS := el2/traps.c el2/inject.c el2/psci.c el2/vcpu.c el2/passthrough.c \
                   $(HOST_FAKE)/arch.c $(HOST_FAKE)/sched.c $(HOST_FAKE)/vm.c $(HOST_FAKE)/hw.c \
                   $(HOST_FAKE)/monitor.c $(HOST_FAKE)/gdbstub.c $(HOST_FAKE)/smmuv3.c
TEST_gdbstub_SRCS := el2/gdbstub_proto.c
TEST_monitor_SRCS := el2/monitor_cmd.c
TEST_vm_SRCS := el2/vm.c lib/zero_ram.c el2/passthrough.c $(HOST_FAKE)/arch.c $(HOST_FAKE)/sched.c $(HOST_FAKE)/hw.c \
                tests/host/vm_fixture.c $(HOST_FAKE)/smmuv3.c
TEST_vm_operator_SRCS := $(TEST_vm_SRCS)
TEST_smmuv3_SRCS := drivers/smmuv3.c $(HOST_FAKE)/arch.c
TEST_bcm2835_wdt_SRCS := drivers/bcm2835_wdt.c
TEST_bcm2835_aux_uart_SRCS := drivers/bcm2835_aux_uart.c

.PHONY: host-tests
host-tests: $(HOST_TESTS) $(HOST_DTB)

# $$* in the prerequisites (secondary expansion) is the test's name, for its TEST_<name>_SRCS.
.SECONDEXPANSION:
$(HOST_BUILD)/test_%: tests/host/test_%.c $$(TEST_$$*_SRCS) $(HOST_PURE_SRCS) $(HOST_SUPPORT_SRCS) \
                      $(wildcard include/*/*.h tests/host/*.h tests/host/*/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  HOSTCC  $@")
	$(Q)$(HOSTCC) $(HOST_CFLAGS) -o $@ $< $(TEST_$*_SRCS) $(HOST_PURE_SRCS) $(HOST_SUPPORT_SRCS) $(HOST_LDLIBS)

# Test device trees; some are malformed on purpose, so dtc's own warnings are not errors here, and
# a VM node's "name" property (see docs/CONFIG.md) is allowed to differ from the node's name.
$(HOST_BUILD)/dts/%.dtb: tests/host/dts/%.dts
	@mkdir -p $(dir $@)
	dtc -q -E no-name_properties -I dts -O dtb -o $@ $<
