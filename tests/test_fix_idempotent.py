"""On a provisioned machine (the test run provisions this one through ./onboard.sh first), a
second `kdoctor fix --yes` plans zero steps and changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.real_machine import ONBOARD, require_real

pytestmark = pytest.mark.e2e


def fix(*args: str) -> dict[str, object]:
    run = subprocess.run(
        [sys.executable, "-m", "kdoctor", "fix", "--json", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, NO_COLOR="1"),
        timeout=600,
    )
    data = dict(json.loads(run.stdout))
    data["returncode"] = run.returncode
    return data


def test_a_provisioned_machine_plans_nothing_and_fix_yes_applies_nothing() -> None:
    first = fix("--dry-run")
    require_real(
        os.environ.get("KDOCTOR_PROVISIONED") == "1",
        f"needs a provisioned machine: {ONBOARD}, then KDOCTOR_PROVISIONED=1 (scripts/test.sh "
        "does both)",
    )
    assert first["plan"]["steps"] == []  # type: ignore[index]
    again = fix("--yes", "--no-build")
    assert again["returncode"] == 0
    assert again["plan"] == {"steps": [], "notes": again["plan"]["notes"]}  # type: ignore[index]
    assert "apply" not in again
    assert all(f["status"] != "fail" or not f["required"] for f in again["after"]["checks"])  # type: ignore[index]


def test_a_rerun_with_nothing_changed_skips_the_build_and_the_vm() -> None:
    require_real(
        os.environ.get("KDOCTOR_PROVISIONED") == "1",
        f"needs a provisioned machine: {ONBOARD}, then KDOCTOR_PROVISIONED=1 (scripts/test.sh "
        "does both)",
    )
    verified = fix("--yes", "--reverify")  # builds and boots the VM for real, then records it
    assert verified["returncode"] == 0, verified.get("verify")
    assert verified["verify"]["passed"]  # type: ignore[index]
    again = fix("--yes")
    assert again["returncode"] == 0 and again["changed"] is False
    assert "build" not in again and "verify" not in again
    reused = again["reused_verification"]
    assert reused["ko"] == verified["build"]["ko"]  # type: ignore[index]
