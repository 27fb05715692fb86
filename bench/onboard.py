#!/usr/bin/env python3
"""Benchmark ./onboard.sh on a bare Debian 12 against the same steps done by hand.

Each side gets a fresh root from the same pristine debootstrap tarball (scripts/matrix.py keeps
it) and the same warm apt archive, so both download nothing twice; the by-hand side
(bench/by_hand.sh) knows every answer in advance and diagnoses nothing. Run as root:

    .venv/bin/python bench/onboard.py [--cache /var/cache/kdoctor-matrix]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import matrix

RELEASE = "bookworm"


TIMELINE = "/tmp/kdoctor-timeline.jsonl"  # inside the root (KDOCTOR_TIMELINE)


def timeline(root: Path) -> list[dict[str, object]]:
    """The onboarding's steps and kdoctor fix's stages, as onboard.sh and kdoctor wrote them."""
    path = root / TIMELINE.lstrip("/")
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    spans = []
    for line in lines:
        try:
            spans.append(json.loads(line))
        except ValueError:
            continue
    return spans


def print_timeline(spans: list[dict[str, object]]) -> None:
    if not spans:
        return
    zero = min(float(s["start"]) for s in spans)  # type: ignore[arg-type]
    print("onboarding timeline (s from the first step: start, end, duration)")
    for span in sorted(spans, key=lambda s: float(s["start"])):  # type: ignore[arg-type]
        start, end = float(span["start"]) - zero, float(span["end"]) - zero  # type: ignore[arg-type]
        print(f"  {start:7.1f} {end:7.1f} {end - start:7.1f}  {span['what']}")


def timed_in_fresh_root(
    cache: Path, name: str, argv: list[str], spans: Optional[list[dict[str, object]]] = None
) -> float:
    tarball, _ = matrix.ensure_pristine(cache, RELEASE)
    root = cache / "work" / f"bench-{name}"
    matrix.restore(tarball, root)
    matrix.copy_resolv_conf(root)
    matrix.export_source(root, "worktree")
    env = matrix.network_env(root)
    if spans is not None:
        env["KDOCTOR_TIMELINE"] = TIMELINE
    log_path = cache / "logs" / f"bench-{name}.log"
    log_path.write_text("")
    archives = cache / RELEASE / "archives"
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    try:
        with matrix.mounted(root, archives):
            status, _, seconds = matrix.in_root(
                root, argv, env=env, timeout=3600, log_path=log_path
            )
        if spans is not None:
            spans.extend(timeline(root))
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
    spans: list[dict[str, object]] = []
    onboard = timed_in_fresh_root(cache, "onboard", [f"{src}/onboard.sh"], spans)
    print_timeline(spans)
    print(f"{'by hand (bench/by_hand.sh)':32} {hand:7.1f} s")
    print(f"{'./onboard.sh':32} {onboard:7.1f} s")
    print(f"{'onboard / by hand':32} {onboard / hand:7.2f}   target <= 1.0")


if __name__ == "__main__":
    main()
