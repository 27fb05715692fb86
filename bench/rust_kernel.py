#!/usr/bin/env python3
"""Benchmark kdoctor's Rust-enabled kernel on this machine, stage by stage, in one run.

Cold: in a fresh cache, the toolchain root (debootstrap + the suite's toolchain), then the
source, configuration and ``make bzImage modules`` (``kdoctor build-kernel``). Warm: the same
command again (it checks the kernel and builds nothing). Then, on that kernel, the Rust-for-Linux
fixture's build and its verification in a VM (``kdoctor build`` / ``kdoctor verify``), and the
same build again (nothing to do). Needs root (debootstrap, chroot) and deb.debian.org.

    .venv/bin/python bench/rust_kernel.py [--kernel 6.12+rust] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "modules" / "rust-for-linux"


def timed(argv: list[str], env: dict[str, str], lines: list[str]) -> float:
    """Seconds ``argv`` took; its output is kept (the last stage lines are shown on failure)."""
    started = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    took = time.monotonic() - started
    lines[:] = (done.stdout + done.stderr).splitlines()
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv[2:])} failed ({done.returncode}):\n" + "\n".join(lines[-20:]))
    return took


def du(path: str) -> str:
    got = subprocess.run(["du", "-sh", path], capture_output=True, text=True)
    return got.stdout.split()[0] if got.returncode == 0 and got.stdout else "?"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kernel", default="6.12+rust")
    parser.add_argument("--keep", action="store_true", help="keep the cache it made")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the toolchain root is made with debootstrap and entered with chroot")
    work = tempfile.mkdtemp(prefix="kdoctor-bench-rust-")
    cache = os.path.join(work, "cache")
    module = os.path.join(work, "rust-for-linux")
    shutil.copytree(FIXTURE, module)
    env = dict(
        os.environ,
        KDOCTOR_CACHE=cache,
        XDG_CONFIG_HOME=os.path.join(work, "config"),
        NO_COLOR="1",
        PYTHONPATH=str(ROOT),
    )
    kd = [sys.executable, "-m", "kdoctor"]
    out: list[str] = []
    try:
        cold = timed([*kd, "build-kernel", args.kernel], env, out)
        made = next(
            (line.split(": kernel ")[1].split(",")[0] for line in out if ": kernel " in line), ""
        )
        warm = timed([*kd, "build-kernel", args.kernel], env, out)
        target = ["--kernel", args.kernel, "--module-dir", module]
        build = timed([*kd, "build", *target], env, out)
        verify = timed([*kd, "verify", *target, "--expect", "fixture loaded"], env, out)
        rebuild = timed([*kd, "build", *target], env, out)
        print(f"kernel {args.kernel} ({made}) on {os.cpu_count()} cores")
        print(f"  cold (toolchain root + source + kernel)  {cold:8.1f} s")
        print(f"  warm (kdoctor build-kernel again)        {warm:8.1f} s   ({cold / warm:.0f}x)")
        print(f"  module build on it                       {build:8.1f} s")
        print(f"  module verify in a VM                    {verify:8.1f} s")
        print(f"  module rebuild (nothing changed)         {rebuild:8.1f} s")
        print(f"  disk: cache {du(cache)}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
