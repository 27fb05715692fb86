"""Conventions users expect of a command-line tool: --version, -h, completion, did you mean,
and a machine-readable list of the checks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import kdoctor

ROOT = Path(__file__).resolve().parent.parent


def kdoctor_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kdoctor", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_prints_the_package_version(flag: str) -> None:
    proc = kdoctor_cli(flag)
    assert proc.returncode == 0
    assert proc.stdout == f"kdoctor {kdoctor.__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+", kdoctor.__version__)


def test_pyproject_reads_the_version_from_the_package() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in text
    assert 'version = { attr = "kdoctor.__version__" }' in text


@pytest.mark.parametrize("args", [["-h"], ["check", "-h"], ["fix", "-h"], ["verify", "-h"]])
def test_dash_h_is_help(args: list[str]) -> None:
    proc = kdoctor_cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout


def test_completion_can_be_shown_for_bash() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kdoctor", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "SHELL": "/bin/bash"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "_KDOCTOR_COMPLETE=complete_bash" in proc.stdout
    assert proc.stdout.rstrip().endswith(" kdoctor")


def test_a_mistyped_check_id_gets_a_suggestion_and_exit_2() -> None:
    proc = kdoctor_cli("check", "rustupp", "zzzz")
    assert proc.returncode == 2
    assert "unknown check: rustupp; did you mean rustup?" in proc.stderr
    assert "unknown check: zzzz\n" in proc.stderr
    assert "known checks: os, " in proc.stderr


def test_list_json_lists_every_check_with_its_title() -> None:
    from kdoctor.checks.base import all_checks

    proc = kdoctor_cli("list", "--json")
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert [c["id"] for c in data["checks"]] == [c.id for c in all_checks()]
    first = data["checks"][0]
    assert set(first) == {"id", "title", "required"} and isinstance(first["required"], bool)
