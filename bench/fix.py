#!/usr/bin/env python3
"""Benchmark `kdoctor fix --yes` on a provisioned machine against `kdoctor check`.

Idempotence has a price tag: on a machine where everything is in place, fix plans zero steps and
should cost about what check costs. Both are run alternately, N times each, in one run.

    .venv/bin/python scripts/bench_fix.py [--runs 5] [--kernel RELEASE]
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
    fix = [*kd, "fix", "--yes", "--no-build", "--json", *target]
    check = [*kd, "check", "--json", *target]

    _, first = run(fix)  # provision first, so what follows measures the idempotent case
    if first.returncode != 0:
        sys.exit(f"kdoctor fix did not succeed here (exit {first.returncode}); provision first")
    fixes, checks = [], []
    for _ in range(args.runs):
        seconds, done = run(fix)
        steps = json.loads(done.stdout)["plan"]["steps"]
        if steps:
            sys.exit(f"not idempotent: a provisioned machine still plans {len(steps)} step(s)")
        fixes.append(seconds)
        seconds, _ = run(check)
        checks.append(seconds)
    f, c = statistics.median(fixes), statistics.median(checks)
    print(f"{'kdoctor check':36} {c:6.2f} s (median of {args.runs})")
    print(f"{'kdoctor fix --yes, provisioned':36} {f:6.2f} s (median of {args.runs}, 0 steps)")
    print(f"{'fix / check':36} {f / c:6.2f}")


if __name__ == "__main__":
    main()
