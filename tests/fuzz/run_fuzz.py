#!/usr/bin/env python3
"""Runs the libFuzzer targets built by `make fuzz-build` (build/fuzz/fuzz_<target>).

Each target runs alone, for --seconds (libFuzzer's -max_total_time) or --runs inputs, on
build/fuzz/corpus/<target>: the committed seeds (tests/fuzz/corpus/<target>, plus the host tests'
compiled device trees, build/host/dts/*.dtb, for fdt_config) are copied there first, and what the
fuzzer adds stays there for the next run; the committed corpus is never written. For each target
one line: executions, coverage (libFuzzer's cov: and ft: at the end) and crashes, with the
input that crashed in build/fuzz/crashes/<target>/ (copy it into tests/fuzz/corpus/<target>/ as
crash-<what> once fixed: every run replays it first).

With --coverage (make fuzz-coverage), nothing is fuzzed: each target's coverage build
(build/fuzz/cov/fuzz_<target>) runs its corpus once, and llvm-cov reports the lines of the
files it is there for (COV_FOCUS) that it reaches.

Usage: run_fuzz.py [--seconds N | --runs N | --coverage] [--build build/fuzz] [TARGET ...]
Exit status 1 if a target crashed (or is missing), else 0. make test calls run() for its
"fuzz/<target>" cases.
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEEDS = os.path.join(ROOT, "tests", "fuzz", "corpus")
BUILD = os.path.join(ROOT, "build", "fuzz")
STATS_RE = re.compile(r"^#(\d+)\s+(?:DONE|INITED|NEW|REDUCE|pulse)\s+cov: (\d+) ft: (\d+)"
                      r"(?: corp: (\d+)/\S+)?", re.MULTILINE)
EXECS_RE = re.compile(r"^stat::number_of_executed_units:\s*(\d+)", re.MULTILINE)
ARTIFACT_RE = re.compile(r"Test unit written to (\S+)")
RSS_MB = 2048


def targets(build=BUILD):
    """Every target built, by name ("fdt_config", ...), sorted."""
    return sorted(os.path.basename(p)[len("fuzz_"):]
                  for p in glob.glob(os.path.join(build, "fuzz_*"))
                  if os.path.isfile(p) and os.access(p, os.X_OK))


def all_sources():
    """Every target that has a source file, built or not."""
    return sorted(os.path.basename(p)[len("fuzz_"):-2]
                  for p in glob.glob(os.path.join(ROOT, "tests", "fuzz", "fuzz_*.c")))


def prepare_corpus(target, build):
    """build/fuzz/corpus/<target>, with the seeds copied in (existing files are kept)."""
    corpus = os.path.join(build, "corpus", target)
    os.makedirs(corpus, exist_ok=True)
    seeds = glob.glob(os.path.join(SEEDS, target, "*"))
    if target == "fdt_config":
        seeds += glob.glob(os.path.join(ROOT, "build", "host", "dts", "*.dtb"))
    for s in seeds:
        if os.path.isfile(s):
            shutil.copyfile(s, os.path.join(corpus, os.path.basename(s)))
    return corpus


def run(target, seconds=None, runs=None, build=BUILD):
    """Fuzzes one target. Returns a dict: ok, execs, cov, ft, corpus, seconds, crash, log."""
    binary = os.path.join(build, "fuzz_" + target)
    res = {"ok": False, "execs": 0, "cov": 0, "ft": 0, "corpus": 0, "seconds": 0.0,
           "crash": None, "log": ""}
    if not os.access(binary, os.X_OK):
        res["log"] = f"{binary} is not built (make fuzz-build)"
        return res
    corpus = prepare_corpus(target, build)
    crashes = os.path.join(build, "crashes", target)
    os.makedirs(crashes, exist_ok=True)
    args = [binary, "-print_final_stats=1", "-timeout=10", f"-rss_limit_mb={RSS_MB}",
            "-artifact_prefix=" + crashes + os.sep]
    if runs is not None:
        args.append(f"-runs={runs}")
    else:
        args.append(f"-max_total_time={seconds if seconds is not None else 60}")
    args.append(corpus)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    env.pop("BULKHEAD_ECHO", None)
    start = time.monotonic()
    p = subprocess.run(args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace")
    res["seconds"] = time.monotonic() - start
    log = p.stdout
    res["log"] = log
    stats = STATS_RE.findall(log)
    if stats:
        last = stats[-1]
        res["cov"], res["ft"] = int(last[1]), int(last[2])
        res["corpus"] = int(last[3]) if last[3] else 0
        res["execs"] = int(last[0])
    m = EXECS_RE.search(log)
    if m:
        res["execs"] = int(m.group(1))
    m = ARTIFACT_RE.search(log)
    if m:
        res["crash"] = os.path.relpath(m.group(1), ROOT)
    res["ok"] = p.returncode == 0 and not res["crash"]
    return res


def summary(target, res):
    """One line about a run."""
    rate = res["execs"] / res["seconds"] if res["seconds"] else 0
    line = (f"fuzz/{target}: {res['execs']} executions in {res['seconds']:.0f} s "
            f"({rate:.0f}/s), cov: {res['cov']} ft: {res['ft']}, corpus: {res['corpus']} inputs")
    if res["crash"]:
        return line + f", CRASH: {res['crash']}"
    if not res["ok"]:
        return line + ", FAILED (no crash input written; see the log above)"
    return line + ", crashes: 0"


def error_tail(log, n=40):
    """The part of a fuzzer's log that says what went wrong."""
    lines = [l for l in log.splitlines()
             if not re.match(r"^#\d+\s+(NEW|REDUCE|pulse|INITED)\b", l)
             and not l.startswith(("\tNEW_FUNC", "INFO:"))]
    for i, l in enumerate(lines):
        if "ERROR:" in l or "runtime error" in l or l.startswith("fuzz_"):
            return "\n".join(lines[i:i + n])
    return "\n".join(lines[-n:])


def llvm_tool(name):
    """llvm-cov or llvm-profdata: Debian 12's versioned name first."""
    for candidate in (name + "-14", name):
        if shutil.which(candidate):
            return candidate
    return name


COV_IGNORE = r"(^|/)(tests|lib)/|^/usr/"
# The files each target is there for (the others it links are reached only as far as they serve).
COV_FOCUS = {
    "fdt_config": r"^config/",
    "bundle": r"^config/bundle\.c",
    "esr_mmio": r"^(el2/esr|vdev/mmio|vdev/vdev)\.c",
    "vgic_mmio": r"^vgic/(vgic\.c|vgic_mmio)",
    "vpl011": r"^(vdev/vpl011|el2/console_mux)\.c",
    "psci": r"^el2/psci\.c",
    "doorbell": r"^vdev/doorbell\.c",
    "watchdog": r"^vdev/sbsa_gwdt\.c",
}


def coverage(target, build=BUILD):
    """Runs the coverage build of a target on its corpus. Returns (report text, summary line)."""
    binary = os.path.join(build, "cov", "fuzz_" + target)
    if not os.access(binary, os.X_OK):
        return "", f"fuzz/{target}: {binary} is not built (make fuzz-coverage)"
    corpus = prepare_corpus(target, build)
    raw = os.path.join(build, "cov", target + ".profraw")
    data = os.path.join(build, "cov", target + ".profdata")
    env = dict(os.environ, LLVM_PROFILE_FILE=raw)
    subprocess.run([binary, "-runs=0", corpus], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run([llvm_tool("llvm-profdata"), "merge", "-sparse", raw, "-o", data], check=True)
    p = subprocess.run([llvm_tool("llvm-cov"), "report", binary, "-instr-profile=" + data,
                        "-ignore-filename-regex=" + COV_IGNORE], cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    inputs = len(os.listdir(corpus))
    focus = re.compile(COV_FOCUS.get(target, "."))
    rows, files, total, missed = [], [], 0, 0
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 13 and focus.search(parts[0]) and parts[7].isdigit():
            n, m = int(parts[7]), int(parts[8])
            rows.append(f"  {parts[0]:32} {n - m:5} of {n:5} lines ({parts[9]})")
            files.append(parts[0])
            total += n
            missed += m
    if not total:
        return p.stdout, f"fuzz/{target}: no coverage report"
    return "\n".join(rows), (f"fuzz/{target}: {inputs} inputs reach {total - missed} of {total} "
                              f"lines ({100.0 * (total - missed) / total:.1f}%) of "
                              + ", ".join(files))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=None)
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--coverage", action="store_true")
    ap.add_argument("--build", default=BUILD)
    ap.add_argument("targets", nargs="*")
    args = ap.parse_args()
    names = args.targets or all_sources()
    if args.coverage:
        lines = []
        for t in names:
            report, line = coverage(t, args.build)
            print(report + "\n" + line, flush=True)
            lines.append(line)
        print("\n" + "\n".join(lines))
        return 0
    failed = 0
    lines = []
    for t in names:
        res = run(t, args.seconds, args.runs, args.build)
        line = summary(t, res)
        if not res["ok"]:
            failed += 1
            print(error_tail(res["log"]), flush=True)
        print(line, flush=True)
        lines.append(line)
    if len(names) > 1:
        print("\n" + "\n".join(lines))
    print(f"{len(names) - failed} targets clean, {failed} crashed or failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
