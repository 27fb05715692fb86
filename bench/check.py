#!/usr/bin/env python3
"""Benchmark `kdoctor check --json` against a plain shell script that runs the same probes one
after another (what a person's checklist script would do), alternating runs in one session.

The probes are taken from `kdoctor check --json --fresh -v` itself, so the shell side asks every
question a check asks on a machine it has not seen (bindgen translating a header included, as
the kernel's rust_is_available.sh does) and does no parsing at all. kdoctor then runs as a user
reruns it: the answers it keeps (bindgen's translation, keyed on the identity of bindgen,
libclang and the loader's cache) are reused. Prints the median of each and the ratios against
the whole checklist and against the probes a warm check still runs (target <= 1.0 for both).

It also times kdoctor's own floor: the same check with every probe answered from a recording
(bench/probe_replay.py), which starts no process at all. When that floor is above the shell
running the probes, no way of running the probes can bring the second ratio under it.

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
    env = dict(os.environ)
    fresh = subprocess.run([*kdoctor, "--fresh", "-v"], capture_output=True, text=True, env=env)
    warm = subprocess.run([*kdoctor, "-v"], capture_output=True, text=True, env=env)
    every = json.loads(fresh.stdout)["probes"]
    still = json.loads(warm.stdout)["probes"]
    scripts = [write_script(every), write_script(still)]
    handle, recording = tempfile.mkstemp(suffix=".json")
    os.close(handle)
    replay = [sys.executable, os.path.join(os.path.dirname(__file__), "probe_replay.py")]
    subprocess.run([*replay, "record", recording, "--", *kdoctor[2:]], capture_output=True, env=env)
    floor_argv = [*replay, "replay", recording, "--", *kdoctor[2:]]
    ours: list[float] = []
    floor: list[float] = []
    theirs: list[list[float]] = [[], []]
    for _ in range(args.runs):
        ours.append(timed(kdoctor))
        floor.append(timed(floor_argv))
        for i, script in enumerate(scripts):
            theirs[i].append(timed(["/bin/sh", script]))
    for path in (*scripts, recording):
        os.unlink(path)
    k = statistics.median(ours)
    f = statistics.median(floor)
    s_every, s_still = (statistics.median(t) for t in theirs)
    print(f"{'probes a fresh check asks':40} {len(every)}")
    print(f"{'probes a repeated check asks':40} {len(still)}")
    print(f"{'shell, every probe':40} {s_every:6.2f} s (median of {args.runs})")
    print(f"{'shell, the probes a repeated check asks':40} {s_still:6.2f} s")
    print(f"{'kdoctor check --json (repeated)':40} {k:6.2f} s (median of {args.runs})")
    print(f"{'kdoctor / shell (every probe)':40} {k / s_every:6.2f}   target <= 1.0")
    print(f"{'kdoctor / shell (same probes)':40} {k / s_still:6.2f}   target <= 1.0")
    print(f"{'kdoctor, every probe from memory':40} {f:6.2f} s (its floor: no process started)")
    print(f"{'floor / shell (same probes)':40} {f / s_still:6.2f}")


def write_script(probes: list[dict[str, object]]) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as handle:
        handle.write(
            "\n".join(
                line + " >/dev/null 2>&1" if i > 1 else line
                for i, line in enumerate(shell_script(probes).splitlines())
            )
        )
    os.chmod(handle.name, 0o755)
    return handle.name


if __name__ == "__main__":
    main()
