"""The compatibility matrix (scripts/matrix.py): kdoctor onboarded on minimal Debian 11, 12 and 13
roots, each building hello-world for its release's stock kernel and verifying it in a VM.

Very slow (minutes per row; the first run downloads the roots and packages): marked ``matrix``,
and skipped unless root with debootstrap. ``KDOCTOR_MATRIX_CACHE`` chooses the cache directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.real_machine import require_real, require_tools

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.matrix


def test_every_row_onboards_builds_and_verifies(tmp_path: Path) -> None:
    require_real(hasattr(os, "geteuid") and os.geteuid() == 0, "the matrix needs root")
    require_tools("debootstrap")
    results = tmp_path / "matrix-results.json"
    argv = [sys.executable, str(ROOT / "scripts" / "matrix.py"), "--results", str(results)]
    argv.append("--no-readme")
    if os.environ.get("KDOCTOR_MATRIX_CACHE"):
        argv += ["--cache", os.environ["KDOCTOR_MATRIX_CACHE"]]
    run = subprocess.run(argv, stdin=subprocess.DEVNULL, timeout=5400)
    data = json.loads(results.read_text())
    failed = {r["row"]: r.get("reason") for r in data["rows"] if r["result"] != "pass"}
    assert failed == {}
    assert run.returncode == 0
    assert {r["row"] for r in data["rows"]} == {"bullseye", "bookworm", "bookworm-web", "trixie"}
    for row in data["rows"]:
        assert row["found"] == [
            "Hello kernel module!",
            "My message is on the heap",
            "Goodbye kernel module!",
        ]
