#!/usr/bin/env python3
"""Benchmark `kdoctor check --json` against a plain shell script that runs the same probes one
after another (what a person's checklist script would do), alternating runs in one session.

The probes are taken from `kdoctor check --json -v` itself, so both sides ask the same
questions; the shell side does no parsing at all. Prints the median of each and the ratio
(target <= 1.0: concurrency and lazy imports must pay for Python's start-up).

    .venv/bin/python bench/check.py [--runs 7] [-- extra kdoctor check args]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time


def timed(argv: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    return time.monotonic() - started


def shell_script(probes: list[dict[str, object]]) -> str:
    lines = ["#!/bin/sh", "# the probes kdoctor check ran, one after another"]
    for probe in probes:
        argv = [str(a) for a in probe["argv"]]  # type: ignore[attr-defined]
        command = " ".join(shlex.quote(a) for a in argv)
        cwd = probe.get("cwd")
        lines.append(f"(cd {shlex.quote(str(cwd))} && {command})" if cwd else command)
    return "\n".join(lines) + " >/dev/null 2>&1\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args()
    kdoctor = [sys.executable, "-m", "kdoctor", "check", "--json", *args.extra]
    done = subprocess.run([*kdoctor, "-v"], capture_output=True, text=True, env=dict(os.environ))
    probes = json.loads(done.stdout)["probes"]
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as handle:
        handle.write(
            "\n".join(
                line + " >/dev/null 2>&1" if i > 1 else line
                for i, line in enumerate(shell_script(probes).splitlines())
            )
        )
        script = handle.name
    os.chmod(script, 0o755)
    ours, theirs = [], []
    for _ in range(args.runs):
        ours.append(timed(kdoctor))
        theirs.append(timed(["/bin/sh", script]))
    os.unlink(script)
    k, s = statistics.median(ours), statistics.median(theirs)
    print(f"{'probes asked':34} {len(probes)}")
    print(f"{'shell script, one after another':34} {s:6.2f} s (median of {args.runs})")
    print(f"{'kdoctor check --json':34} {k:6.2f} s (median of {args.runs})")
    print(f"{'kdoctor / shell':34} {k / s:6.2f}   target <= 1.0")


if __name__ == "__main__":
    main()
