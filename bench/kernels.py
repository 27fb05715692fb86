"""kdoctor test for 5.10, 6.1 and 6.12, cold and warm, against the same three builds and qemu
boots done by hand one after another (kdoctor's own cached trees, `make` and `kdoctor verify`
run in sequence, no overlap). Prints each time and the ratios (target: warm <= 1.0x).

Run from a checkout: python bench/kernels.py [--cache DIR]  (downloads ~400 MB when cold)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KERNELS = "5.10,6.1,6.12"


def kdoctor(args: list[str], cache: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KDOCTOR_CACHE": cache}
    return subprocess.run(
        [sys.executable, "-m", "kdoctor", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )


def timed_test(cache: str) -> tuple[float, dict[str, object]]:
    started = time.monotonic()
    done = kdoctor(["test", "--kernels", KERNELS, "--json"], cache)
    return time.monotonic() - started, json.loads(done.stdout)


def by_hand(cache: str, report: dict[str, object]) -> float:
    """The same builds (make in a fresh copy) and VM runs (kdoctor verify), one after another."""
    started = time.monotonic()
    for row in report["kernels"]:  # type: ignore[attr-defined]
        work = tempfile.mkdtemp(prefix="bench-kernels-")
        try:
            shutil.copytree(ROOT / "hello-world", work, dirs_exist_ok=True)
            env = {**os.environ, "KDOCTOR_CACHE": cache, "RUSTC_BOOTSTRAP": "1"}
            subprocess.run(
                ["make", "-C", work, f"KDIR={row['kdir']}", "RUSTC=/usr/bin/rustc"],
                env=env,
                check=True,
                capture_output=True,
                timeout=1800,
            )
            kdoctor(
                [
                    "verify",
                    "--vm",
                    "--kernel",
                    row["release"],
                    "--ko",
                    os.path.join(work, "helloworld.ko"),
                ],
                cache,
            )
        finally:
            shutil.rmtree(work)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", help="kdoctor cache to use (default: a new one, cold)")
    options = parser.parse_args()
    cache = options.cache or tempfile.mkdtemp(prefix="kdoctor-bench-cache-")
    cold, report = timed_test(cache)
    warm, report = timed_test(cache)
    hand = by_hand(cache, report)
    print(f"kdoctor test cold: {cold:.1f} s (passed: {report['passed']})")
    print(f"kdoctor test warm: {warm:.1f} s")
    print(f"by hand (warm trees, sequential builds and boots): {hand:.1f} s")
    print(
        f"ratio warm/by hand: {warm / hand:.2f}x (target <= 1.0x); cold/by hand: {cold / hand:.2f}x"
    )


if __name__ == "__main__":
    main()
