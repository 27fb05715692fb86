#!/usr/bin/env python3
"""Benchmark ./onboard.sh on a bare Debian 12 against the same steps done by hand.

Each side gets a fresh root from the same pristine debootstrap tarball (scripts/matrix.py keeps
it) and the same warm apt archive, so both download nothing twice; the by-hand side
(bench/by_hand.sh) knows every answer in advance and diagnoses nothing. Run as root:

    .venv/bin/python bench/onboard.py [--cache /var/cache/kdoctor-matrix]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import matrix

RELEASE = "bookworm"


def timed_in_fresh_root(cache: Path, name: str, argv: list[str]) -> float:
    tarball, _ = matrix.ensure_pristine(cache, RELEASE)
    root = cache / "work" / f"bench-{name}"
    matrix.restore(tarball, root)
    matrix.copy_resolv_conf(root)
    matrix.export_source(root, "worktree")
    env = matrix.network_env(root)
    log_path = cache / "logs" / f"bench-{name}.log"
    log_path.write_text("")
    archives = cache / RELEASE / "archives"
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    try:
        with matrix.mounted(root, archives):
            status, _, seconds = matrix.in_root(
                root, argv, env=env, timeout=3600, log_path=log_path
            )
    finally:
        matrix.remove_root(root)
    if status != 0:
        sys.exit(f"{name} failed (exit {status}); see {log_path}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", default=matrix.DEFAULT_CACHE)
    args = parser.parse_args()
    cache = Path(args.cache)
    (cache / "logs").mkdir(parents=True, exist_ok=True)
    src = matrix.SRC_IN_ROOT
    hand = timed_in_fresh_root(cache, "by-hand", ["/bin/sh", f"{src}/bench/by_hand.sh", src])
    onboard = timed_in_fresh_root(cache, "onboard", [f"{src}/onboard.sh"])
    print(f"{'by hand (bench/by_hand.sh)':32} {hand:7.1f} s")
    print(f"{'./onboard.sh':32} {onboard:7.1f} s")
    print(f"{'onboard / by hand':32} {onboard / hand:7.2f}   target <= 1.15")


if __name__ == "__main__":
    main()
