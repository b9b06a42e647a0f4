# libFuzzer targets (clang) over the host build of the hypervisor's parsers and device models,
# under AddressSanitizer and UBSan: every tests/fuzz/fuzz_<name>.c becomes build/fuzz/fuzz_<name>,
# linked with the sources of the code it covers (FUZZ_<name>_SRCS: as their host tests link them,
# tests/host/host.mk, el2/ files with the same fakes) and the host tests' support. See docs/RELIABILITY.md, "Fuzzing".
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="fdt_config psci"]
#
# runs each target for FUZZ_SECONDS on a copy of its seed corpus (tests/fuzz/corpus/<name>, plus
# the compiled test DTBs for fdt_config) in build/fuzz/corpus/<name>, and prints executions,
# coverage and crashes (tests/fuzz/run_fuzz.py). make test runs each briefly ("fuzz/<target>").
# make fuzz-coverage then reports the lines of its code each target's corpus reaches (llvm-cov).
FUZZ_BUILD := build/fuzz
FUZZ_CC := clang
FUZZ_CFLAGS := -std=c11 -g -O1 -DBULKHEAD_HOST -D_GNU_SOURCE -Iinclude -Itests/host \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer -Wall -Wextra -Wshadow -Wvla \
               -Werror=implicit-function-declaration
FUZZ_LDLIBS := -lcmocka -lfdt
FUZZ_SECONDS ?= 60
FUZZ_ALL := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_BINS := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_ALL))
FUZZ_SUPPORT_SRCS := $(filter-out %/dtb_file.c,$(HOST_SUPPORT_SRCS))

# What each target links besides its own file and the host tests' support (printk capture, the
# console's physical side): the same sources as the host tests of the code it covers.
FUZZ_LIB_SRCS := lib/string.c lib/alloc.c
FUZZ_DEV_SRCS := $(FUZZ_LIB_SRCS) el2/esr.c el2/console_mux.c stage2/pt.c $(wildcard vdev/*.c vgic/*.c)
FUZZ_fdt_config_SRCS := $(wildcard config/*.c) $(FUZZ_LIB_SRCS)
FUZZ_bundle_SRCS := $(wildcard config/*.c) $(FUZZ_LIB_SRCS)
FUZZ_esr_mmio_SRCS := $(FUZZ_DEV_SRCS)
FUZZ_vgic_mmio_SRCS := $(FUZZ_DEV_SRCS)
FUZZ_vpl011_SRCS := $(FUZZ_DEV_SRCS)
FUZZ_doorbell_SRCS := $(FUZZ_DEV_SRCS)
FUZZ_watchdog_SRCS := $(FUZZ_DEV_SRCS)
FUZZ_psci_SRCS := $(TEST_psci_SRCS) $(HOST_PURE_SRCS)
FUZZ_virtqueue_SRCS := $(FUZZ_LIB_SRCS) vdev/virtqueue.c

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS) $(HOST_DTB)

fuzz: fuzz-build
	@$(PYTHON) tests/fuzz/run_fuzz.py --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Each source is compiled once (build/fuzz/obj/<its path>.o) and linked into every target that
# needs it.
fuzz_objs = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(sort $(1)))
.PRECIOUS: $(FUZZ_BUILD)/obj/%.o
FUZZ_HEADERS := $(wildcard include/*/*.h tests/host/*.h tests/host/*/*.h tests/fuzz/*.h)

$(FUZZ_BUILD)/obj/%.o: %.c $(FUZZ_HEADERS) tests/fuzz/fuzz.mk
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: $$(call fuzz_objs,tests/fuzz/fuzz_$$*.c $$(FUZZ_$$*_SRCS) $(FUZZ_SUPPORT_SRCS))
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(FUZZ_LDLIBS)

# make fuzz-coverage: the line coverage of the code each target reaches with its corpus as it is
# (build/fuzz/corpus, after make fuzz), from a build with clang's source-based coverage (llvm-cov).
FUZZ_COV_CFLAGS := -std=c11 -g -O1 -DBULKHEAD_HOST -D_GNU_SOURCE -Iinclude -Itests/host \
                   -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping
fuzz_cov_objs = $(patsubst %.c,$(FUZZ_BUILD)/cov/obj/%.o,$(sort $(1)))
FUZZ_COV_BINS := $(patsubst %,$(FUZZ_BUILD)/cov/fuzz_%,$(FUZZ_ALL))

.PHONY: fuzz-coverage
.PRECIOUS: $(FUZZ_BUILD)/cov/obj/%.o
fuzz-coverage: $(FUZZ_COV_BINS) $(HOST_DTB)
	@$(PYTHON) tests/fuzz/run_fuzz.py --coverage $(FUZZ_TARGETS)

$(FUZZ_BUILD)/cov/obj/%.o: %.c $(FUZZ_HEADERS) tests/fuzz/fuzz.mk
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  COVCC   $@")
	$(Q)$(FUZZ_CC) $(FUZZ_COV_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/cov/fuzz_%: $$(call fuzz_cov_objs,tests/fuzz/fuzz_$$*.c $$(FUZZ_$$*_SRCS) $(FUZZ_SUPPORT_SRCS))
	@$(if $(Q),echo "  COVLD   $@")
	$(Q)$(FUZZ_CC) $(FUZZ_COV_CFLAGS) -o $@ $^ $(FUZZ_LDLIBS)
