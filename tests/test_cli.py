"""The command line, run as a person runs it: a subprocess with the real tools of this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kdoctor.checks import base as registry
from kdoctor.cli.app import app
from kdoctor.model.finding import Status

KERNEL = "6.1.0-56-amd64"
FIELDS = {"id", "status", "summary", "found", "remediation", "fix", "duration_ms"}


def kdoctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, NO_COLOR="1", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "kdoctor", *args],
        capture_output=True,
        text=True,
        env=full,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


SCHEMA = Path(__file__).resolve().parent.parent / "schema" / "check.schema.json"


def test_json_has_context_and_every_check_with_the_documented_fields() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    run = kdoctor("check", "--json", "--kernel", KERNEL)
    data = json.loads(run.stdout)
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    verbose = json.loads(kdoctor("check", "--json", "-v", "os", "clang").stdout)
    jsonschema.validate(verbose, json.loads(SCHEMA.read_text()))
    assert verbose["probes"] and verbose["probes"][0]["argv"]
    assert data["context"]["target_kernel"] == KERNEL
    assert data["context"]["pin"]["channel"] == "nightly-2021-02-12"
    ids = [c["id"] for c in data["checks"]]
    assert ids == [c.id for c in registry.all_checks()]
    for item in data["checks"]:
        assert set(item) >= FIELDS
        assert item["status"] in {s.value for s in Status}
    assert run.returncode == data["exit_code"]


def test_subset_of_checks_and_unknown_id_is_a_usage_error() -> None:
    run = kdoctor("check", "--json", "os", "clang")
    assert [c["id"] for c in json.loads(run.stdout)["checks"]] == ["os", "clang"]
    bad = kdoctor("check", "no-such-check")
    assert bad.returncode == 2
    assert "unknown check: no-such-check" in bad.stdout + bad.stderr


def test_bad_option_value_is_a_usage_error() -> None:
    assert kdoctor("check", "--rust", "sideways").returncode == 2


def test_plain_output_without_a_terminal_has_no_escape_codes() -> None:
    run = kdoctor("check", "os", "clang", "-v")
    assert "\x1b[" not in run.stdout
    assert "clang" in run.stdout and "probes" in run.stdout and "--version" in run.stdout


def test_a_crashing_check_becomes_an_error_finding_and_the_rest_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checks = registry.all_checks()
    target = next(c for c in checks if c.id == "os")

    def boom(*_: object) -> None:
        raise RuntimeError("garbled /etc/os-release")

    monkeypatch.setattr(type(target), "run", boom)
    result = CliRunner().invoke(app, ["check", "--json", "os", "clang"])
    data = json.loads(result.stdout)
    by_id = {c["id"]: c for c in data["checks"]}
    assert by_id["os"]["status"] == "error"
    assert "garbled /etc/os-release" in by_id["os"]["summary"]
    assert by_id["clang"]["status"] in {"ok", "warn", "fail"}


def test_exit_code_is_1_when_a_required_check_fails(tmp_path: Path) -> None:
    run = kdoctor("check", "--json", "clang", env={"CLANG": str(tmp_path / "no-clang")})
    data = json.loads(run.stdout)
    assert data["checks"][0]["status"] == "fail"
    assert run.returncode == 1
