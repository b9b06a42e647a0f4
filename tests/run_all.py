#!/usr/bin/env python3
"""Runs every test of Bulkhead and ends with one line "N passed, N failed".

0. The contributor's checks: the C sources' format (.clang-format) and cppcheck's warnings
   ("check/format", "check/lint").
1. The host unit tests: every build/host/test_* binary (cmocka). Each test case counts: a binary's
   "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s), listed below:" lines are summed; a binary
   that crashes or exits non-zero without reporting a failure count is one failure.
   Then the fuzz targets (tests/fuzz/run_fuzz.py), each for a few seconds ("fuzz/<target>").
2. The QEMU tests (tests/qemu/test_boot.py, then the interrupt tests of tests/qemu/test_irq.py,
   then the Linux tests of tests/qemu/test_linux.py, then the device passthrough tests of
   tests/qemu/test_passthrough.py, then the SMMU's (DMA isolation, a PCIe bridge passed to a VM)
   of tests/qemu/test_smmu.py, then the shared-memory tests of tests/qemu/test_shmem.py,
   then the network between VMs of tests/qemu/test_virtio_net.py, then the virtio disks and
   consoles (and malformed rings) of tests/qemu/test_virtio.py,
   then the hostile-guest suite of tests/qemu/test_hostile.py, then the VM watchdog's tests of
   tests/qemu/test_watchdog.py, then the time-shared vCPUs' (partition windows, under -icount) of
   tests/qemu/test_sched.py,
   then the keyboard tests of tests/qemu/test_console.py and
   the console monitor's of tests/qemu/test_monitor.py, then
   the documentation's command blocks of tests/qemu/test_doc_examples.py, then the bundles
   (VMs from one -initrd cpio archive, on virt and raspi4b) of tests/qemu/test_bundle.py, then the configuration
   checker's runs of tests/qemu/test_check_config.py, then the gdb stub's of
   tests/qemu/test_gdbstub.py, then `make PLATFORM=raspi4b run-bare` on QEMU's raspi4b, built
   beside the --build directory, of tests/qemu/test_raspi4b.py), two at a time, each QEMU run with a time limit; the interrupt tests, whose latency tolerances follow
   the host's clock, run alone at the end. A line is printed as each one finishes.
   The benchmark gate (tests/bench/test_bench.py) runs in the same pool: one test per
   operation and GIC version ("bench/v3/hvc_null", ...), failing over its budget.

Exit status 1 if anything failed (or nothing ran). Options: --build DIR (default build/qemu-virt),
--only REGEX (runs only the tests whose names match it: a host binary is "host/test_x", a boot
test "v3/selftest", "guests_bare", ...).
"""

import concurrent.futures
import glob
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
sys.path.insert(0, os.path.join(ROOT, "tests", "bench"))
sys.path.insert(0, os.path.join(ROOT, "tests", "fuzz"))
import qemu  # noqa: E402
import run_fuzz  # noqa: E402
import test_bench  # noqa: E402
import test_boot  # noqa: E402
import test_bundle  # noqa: E402
import test_check_config  # noqa: E402
import test_console  # noqa: E402
import test_doc_examples  # noqa: E402
import test_gdbstub  # noqa: E402
import test_hostile  # noqa: E402
import test_irq  # noqa: E402
import test_linux  # noqa: E402
import test_monitor  # noqa: E402
import test_passthrough  # noqa: E402
import test_raspi4b  # noqa: E402
import test_sched  # noqa: E402
import test_shmem  # noqa: E402
import test_smmu  # noqa: E402
import test_virtio  # noqa: E402
import test_virtio_net  # noqa: E402
import test_watchdog  # noqa: E402

HOST_DIR = os.path.join("build", "host")
HOST_TIME_LIMIT = 300
QEMU_WORKERS = 2
RUN_ALONE = re.compile(r"(^|/)irq")

PASSED_RE = re.compile(r"^\[  PASSED  \] (\d+) test\(s\)\.", re.MULTILINE)
FAILED_RE = re.compile(r"^\[  FAILED  \] (\d+) test\(s\), listed below:", re.MULTILINE)
CASE_OK_RE = re.compile(r"^\[       OK \] (\S+)", re.MULTILINE)
CASE_FAIL_RE = re.compile(r"^\[  FAILED  \] (\S+)\s*$", re.MULTILINE)


def out(line=""):
    print(line, flush=True)


def tail(text, n=20):
    return "\n".join(qemu.quoted(text.splitlines()[-n:]))


def host_binaries():
    bins = []
    for path in sorted(glob.glob(os.path.join(HOST_DIR, "test_*"))):
        if os.path.isfile(path) and os.access(path, os.X_OK) and "." not in os.path.basename(path):
            bins.append(path)
    return bins


def run_host(path, only):
    """Runs one cmocka binary; returns (passed, failed, printed lines)."""
    name = "host/" + os.path.basename(path)
    env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="stdout")
    env.pop("CMOCKA_XML_FILE", None)
    cmd = [os.path.abspath(path)]
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=env, timeout=HOST_TIME_LIMIT)
        text = p.stdout.decode("utf-8", "replace")
        code = p.returncode
    except subprocess.TimeoutExpired as e:
        text = (e.stdout or b"").decode("utf-8", "replace")
        code = None
    seconds = time.monotonic() - start
    passed = sum(int(n) for n in PASSED_RE.findall(text))
    failed = sum(int(n) for n in FAILED_RE.findall(text))
    lines = [f"PASS: {name}/{c}" for c in CASE_OK_RE.findall(text)]
    failed_cases = [c for c in CASE_FAIL_RE.findall(text)]
    lines += [f"FAIL: {name}/{c}" for c in dict.fromkeys(failed_cases)]
    if code is None:
        failed += 1
        lines.append(f"FAIL: {name}: killed after {HOST_TIME_LIMIT} s\n{tail(text)}")
    elif code != 0 and failed == 0:
        failed += 1
        why = f"exited with status {code}" if code > 0 else f"killed by signal {-code}"
        lines.append(f"FAIL: {name}: {why} without a failure count\n{tail(text)}")
    elif code == 0 and passed == 0 and failed == 0:
        failed += 1
        lines.append(f"FAIL: {name}: ran no test (no cmocka summary)\n{tail(text)}")
    elif failed:
        lines.append(f"    {name}: {failed} failed; its output ends:\n{tail(text)}")
    lines.append(f"    {name}: passed {passed}, failed {failed} ({seconds:.1f} s)")
    return passed, failed, lines


def report_qemu(name, get_result):
    """Prints one QEMU test's result line (a test that raises is a failure). Returns its pass."""
    try:
        r = get_result()
    except Exception as e:  # a bug in the test itself is a failure, not a crash
        r = qemu.failure(name, f"test raised {type(e).__name__}: {e}")
    out(r.summary())
    return r.ok


def run_qemu_tests(build, only):
    """Runs the boot tests in a pool; prints each result as it comes. Returns (passed, failed)."""
    if not qemu.is_qemu_virt(build):
        platform = os.path.basename(os.path.normpath(build))
        out(f"note: QEMU boot tests run on qemu-virt only; skipped for {platform}")
        return 0, 0
    all_cases = test_boot.cases(build) + test_irq.cases(build) + test_linux.cases(build)
    all_cases += test_passthrough.cases(build) + test_smmu.cases(build)
    all_cases += test_shmem.cases(build)
    all_cases += test_virtio_net.cases(build)
    all_cases += test_virtio.cases(build)
    all_cases += test_hostile.cases(build) + test_watchdog.cases(build)
    all_cases += test_sched.cases(build)
    all_cases += test_console.cases(build) + test_monitor.cases(build)
    all_cases += test_doc_examples.cases(build)
    all_cases += test_bundle.cases(build)
    all_cases += test_check_config.cases(build) + test_gdbstub.cases(build)
    all_cases += test_raspi4b.cases(build)
    all_cases += test_bench.cases(build)
    todo = [(n, fn) for n, fn in all_cases if qemu.selected(n, only)]
    # The interrupt tests hold guests to latency tolerances in QEMU's virtual time, which follows
    # the host's clock: they run alone, after the rest, so that a 4-vCPU Linux boot sharing the
    # two cores cannot make their timers late.
    alone = [(n, fn) for n, fn in todo if RUN_ALONE.search(n)]
    pooled = [(n, fn) for n, fn in todo if not RUN_ALONE.search(n)]
    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=QEMU_WORKERS) as pool:
        futures = {pool.submit(fn): n for n, fn in pooled}
        for fut in concurrent.futures.as_completed(futures):
            ok = report_qemu(futures[fut], fut.result)
            passed += ok
            failed += not ok
    for name, fn in alone:
        ok = report_qemu(name, fn)
        passed += ok
        failed += not ok
    return passed, failed


# The contributor's checks (make check): each a make target that fails with what it found.
CHECKS = (("check/format", "format-check", "make format fixes it"),
          ("check/lint", "lint", "cppcheck's findings above"))


def run_checks(only):
    """Runs the style and lint checks; returns (passed, failed)."""
    passed = failed = 0
    for name, target, hint in CHECKS:
        if not qemu.selected(name, only):
            continue
        p = subprocess.run(["make", "--no-print-directory", "-s", target], cwd=ROOT,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if p.returncode == 0:
            out(f"PASS: {name}")
            passed += 1
        else:
            out(f"FAIL: {name}: make {target} failed ({hint})\n{tail(p.stdout, 40)}")
            failed += 1
    return passed, failed


# The libFuzzer targets (tests/fuzz), each briefly: "fuzz/<target>" fails if it crashed (make fuzz
# runs them longer).
FUZZ_SECONDS = 8


def run_fuzz_cases(only):
    """Runs each fuzz target for FUZZ_SECONDS; returns (passed, failed)."""
    passed = failed = 0
    for target in run_fuzz.all_sources():
        name = "fuzz/" + target
        if not qemu.selected(name, only):
            continue
        res = run_fuzz.run(target, seconds=FUZZ_SECONDS)
        line = run_fuzz.summary(target, res).split(": ", 1)[1]
        if res["ok"]:
            out(f"PASS: {name}: {line}")
            passed += 1
        else:
            out(f"FAIL: {name}: {line}\n{run_fuzz.error_tail(res['log'])}")
            failed += 1
    return passed, failed


def main():
    ap = qemu.arg_parser(__doc__)
    ap.add_argument("--only", default="", help="regex on test names")
    args = ap.parse_args()
    os.chdir(ROOT)

    passed, failed = run_checks(args.only)
    bins = host_binaries()
    if not bins and not args.only:
        out(f"note: no host unit tests in {HOST_DIR} (make host-tests builds them)")
    for path in bins:
        if not qemu.selected("host/" + os.path.basename(path), args.only):
            continue
        p, f, lines = run_host(path, args.only)
        for l in lines:
            out(l)
        passed += p
        failed += f

    p, f = run_fuzz_cases(args.only)
    passed += p
    failed += f
    p, f = run_qemu_tests(args.build, args.only)
    passed += p
    failed += f
    if passed + failed == 0:
        out("note: no test ran")
    return qemu.totals(passed, failed)


if __name__ == "__main__":
    sys.exit(main())
