#!/usr/bin/env python3
"""The benchmark gate, run by `make test`: the benchmark guest under the
hypervisor, once per GIC version (QEMU -icount: the same instruction counts every run, a few
seconds each), once more in the passthrough configuration that run_bench.PT_OPS (pt_irq)
need, once in each noisy-neighbour configuration (run_bench.NOISY_OPS) and once in the vCPU
switch configuration (run_bench.SWITCH_OPS: two VMs on one CPU), and one test per
operation, "bench/v3/hvc_null", "bench/v2/ack_eoi", ..., that
fails when its figure is over its budget in tests/bench/budget.json. Raising a budget is a
deliberate commit that says why in the entry's "reason". `cases(build)` lists the tests.
Run alone: tests/bench/test_bench.py [--build build/qemu-virt] [--only RE].
"""

import os
import sys
import threading

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench  # noqa: E402
from run_bench import qemu  # noqa: E402

TIME_LIMIT = 60  # seconds per QEMU run; a passing one takes a few

_runs = {}
CONFIGS = ("", "pt", "switch", *run_bench.NOISY_KINDS)
_locks = {(gic, c): threading.Lock() for gic in run_bench.GICS for c in CONFIGS}


def config_of(op):
    """The configuration whose run measures op: "" (the plain one), "pt" (run_bench.PT_OPS),
    "switch" (run_bench.SWITCH_OPS) or a noisy-neighbour kind (run_bench.NOISY_OPS)."""
    if op in run_bench.PT_OPS:
        return "pt"
    if op in run_bench.SWITCH_OPS:
        return "switch"
    return op[len("noisy_"):] if op in run_bench.NOISY_OPS else ""


def gate_run(build, gic, config=""):
    """The run of GIC version gic in configuration config (see config_of), made by the first of
    its tests to ask (the others wait): Figures, or the BenchError that stopped it."""
    with _locks[gic, config]:
        if (gic, config) not in _runs:
            try:
                _runs[gic, config] = run_bench.run_one(
                    build, gic, True, f"bench-v{gic}" + (f"-{config}" if config else ""),
                    time_limit=TIME_LIMIT, pt=config == "pt",
                    noisy=config if config in run_bench.NOISY_KINDS else None,
                    switch=config == "switch")
            except run_bench.BenchError as e:
                _runs[gic, config] = e
        return _runs[gic, config]


def check(build, gic, op, entry):
    name = f"bench/v{gic}/{op}"
    if not entry or "max" not in entry or not entry.get("reason"):
        return qemu.failure(name, f"tests/bench/budget.json: v{gic}.{op} needs a max and a "
                                  "reason")
    figures = gate_run(build, gic, config_of(op))
    if isinstance(figures, Exception):
        return qemu.failure(name, f"the benchmark guest did not complete: {figures}")
    run_ = figures.run
    value = figures.ops.get(op)
    if value is None:
        return qemu.Result(name, False, f"the guest did not measure {op}", run_.tail(),
                           run_.seconds, run_.log)
    if value > entry["max"]:
        return qemu.Result(name, False, f"{value:,.1f} instructions, over the budget of "
                           f"{entry['max']:,} ({entry['reason']})", [], run_.seconds, run_.log)
    return qemu.Result(name, True, seconds=run_.seconds, log=run_.log)


def cases(build):
    """[(name, callable returning a Result)]: each operation of each GIC version, the two
    versions alternating so that two workers run their QEMUs at once."""
    try:
        budget = run_bench.load_budget()
    except (OSError, ValueError) as e:
        return [("bench/budget", lambda: qemu.failure("bench/budget",
                                                      f"tests/bench/budget.json: {e}"))]
    out = []
    for op, _, _ in run_bench.OPS:
        for gic in run_bench.GICS:
            entry = budget.get(f"v{gic}", {}).get(op)
            out.append((f"bench/v{gic}/{op}",
                        lambda g=gic, o=op, e=entry: check(build, g, o, e)))
    return out


def main():
    return qemu.run_cases_main(cases, __doc__)


if __name__ == "__main__":
    sys.exit(main())
