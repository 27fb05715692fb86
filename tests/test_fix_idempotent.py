"""On a provisioned machine (the test run provisions this one through ./onboard.sh first), a
second `kdoctor fix --yes` plans zero steps and changes nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kdoctor.model.context import bundled_module_dir
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


@pytest.mark.parametrize(
    "edit",
    [
        "src/lib.rs",  # the module's source
        "src/bindings.rs",  # hand-written, under a name a build also generates
        "target/notes.txt",  # under a directory named target
        "kernel/bindings_helper.h",  # a header the bindings are made from
    ],
)
def test_a_rerun_after_any_input_changed_builds_and_verifies_again(
    edit: str, tmp_path: Path
) -> None:
    """Never "verified" for what was not rebuilt: whatever file of the module changes, the
    rerun builds and boots the VM again."""
    require_real(
        os.environ.get("KDOCTOR_PROVISIONED") == "1",
        f"needs a provisioned machine: {ONBOARD}, then KDOCTOR_PROVISIONED=1 (scripts/test.sh "
        "does both)",
    )
    module = tmp_path / "hello-world"
    shutil.copytree(
        bundled_module_dir(),
        module,
        ignore=shutil.ignore_patterns("*.o", "*.ko", "*.a", ".*.cmd", "*.mod*", "*.rlib"),
    )
    first = fix("--yes", "--module-dir", str(module))
    assert first["returncode"] == 0 and first["verify"]["passed"]  # type: ignore[index]
    assert "reused_verification" in fix("--yes", "--module-dir", str(module))
    changed = module / edit
    changed.parent.mkdir(parents=True, exist_ok=True)
    with changed.open("a") as out:
        out.write("\n// edited after the verification\n")
    again = fix("--yes", "--module-dir", str(module))
    assert again["returncode"] == 0
    assert "reused_verification" not in again
    assert again["build"]["ok"] and again["verify"]["passed"]  # type: ignore[index]
