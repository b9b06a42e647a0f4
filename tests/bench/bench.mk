# make bench: exit costs, interrupt latencies and Linux boot time. Runs the benchmark guest under the hypervisor and
# on the bare board (GICv3 and GICv2, QEMU -icount: instruction counts, the same every run) and
# rewrites docs/PERFORMANCE.md and docs/bench.json. BENCH_ARGS=--no-profile skips the exit trace
# (two minutes of the three). `make test` checks the same figures against tests/bench/budget.json.
BENCH_ARGS ?=

bench: deps
	@$(MAKE) --no-print-directory all guests
	@$(PYTHON) tests/bench/run_bench.py --build $(BUILD) $(BENCH_ARGS)
