#!/usr/bin/env python3
"""Benchmark `kdoctor fix --yes` on a provisioned machine against `kdoctor check`.

Idempotence has a price tag: on a machine where everything is in place and nothing changed
since the last verification, fix plans zero steps, skips the build and the VM boot, and should
cost about what check costs (target <= 1.2). Both are run alternately, N times each, in one run,
after one `fix --yes --reverify` that builds and verifies for real: as a person runs them (the
text report) and with --json (where fix also writes its report for a person to stderr, and check
writes only JSON). Every JSON fix is checked to have planned nothing and reused the verdict.

    .venv/bin/python bench/fix.py [--runs 5] [--kernel RELEASE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def run(argv: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, NO_COLOR="1"),
    )
    return time.monotonic() - started, done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kernel", default=None)
    args = parser.parse_args()
    target = ["--kernel", args.kernel] if args.kernel else []
    kd = [sys.executable, "-m", "kdoctor"]
    fix = [*kd, "fix", "--yes", "--json", *target]
    check = [*kd, "check", "--json", *target]

    # provision, build and verify first, so what follows measures the idempotent case
    _, first = run([*fix, "--reverify"])
    if first.returncode != 0:
        sys.exit(f"kdoctor fix did not succeed here (exit {first.returncode}); provision first")
    text_fix, text_check = [c for c in fix if c != "--json"], [c for c in check if c != "--json"]
    fixes, checks, json_fixes, json_checks = [], [], [], []
    for _ in range(args.runs):
        fixes.append(run(text_fix)[0])
        checks.append(run(text_check)[0])
        seconds, done = run(fix)
        data = json.loads(done.stdout)
        if data["plan"]["steps"]:
            sys.exit(f"not idempotent: a provisioned machine plans {len(data['plan']['steps'])}")
        if "reused_verification" not in data:
            sys.exit("the rerun built and verified again although nothing changed")
        json_fixes.append(seconds)
        json_checks.append(run(check)[0])
    rows = (("", fixes, checks), (" --json", json_fixes, json_checks))
    for flag, f_runs, c_runs in rows:
        f, c = statistics.median(f_runs), statistics.median(c_runs)
        print(f"{'kdoctor check' + flag:42} {c:6.2f} s (median of {args.runs})")
        print(f"{'kdoctor fix --yes' + flag + ', nothing changed':42} {f:6.2f} s")
        print(f"{'fix / check' + flag:42} {f / c:6.2f}   target <= 1.2")


if __name__ == "__main__":
    main()
