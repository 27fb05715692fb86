"""``kdoctor fix``, ``check`` and ``build`` through the command line, on a fake machine: the
commands get their System from ``kdoctor.cli.options.system_factory``, which tests replace."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kdoctor import __version__
from kdoctor.cli import options
from kdoctor.cli.app import app
from kdoctor.model.choice import KbuildFixMode, RustMode
from kdoctor.pipeline import provision as pipeline
from tests.fake_system import FakeSystem
from tests.test_provision import APT, STOCK, Factory, machine


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Factory:
    """Every command's System is a fake bare machine (one fresh fake per call)."""
    systems = Factory(*(machine(tmp_path, programs=APT) for _ in range(3)))
    monkeypatch.setattr(options, "system_factory", systems)
    return systems


ENVELOPE = ["kdoctor_version", "schema_version"]
DRY_RUN_KEYS = ["context", "target", "before", "blocked", "plan_digest", "plan"]
DRY_RUN_KEYS += ["changed", "halt", "exit_code"]


def invoke(*args: str) -> Any:
    try:  # click before 8.2 (Python 3.9's) mixes stderr into stdout unless told not to
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click 8.2+ always keeps them apart
        runner = CliRunner()
    return runner.invoke(app, list(args))


def test_fix_dry_run_json_has_the_documented_keys_and_changes_nothing(fake: Factory) -> None:
    systems = list(fake.systems)
    result = invoke("fix", "--dry-run", "--json", "--kernel", STOCK)
    # 3: changes pending (a bare machine gets a plan)
    assert result.exit_code == 5, result.output
    data = json.loads(result.stdout)
    assert list(data) == [*ENVELOPE, *DRY_RUN_KEYS]
    assert data["context"]["target_kernel"] == STOCK and data["exit_code"] == 5
    assert data["plan"]["steps"], "a bare machine gets a plan"
    assert "dry run: nothing was changed" in result.stderr
    assert fake.calls == 1 and systems[0].calls and all(s.runs == [] for s in systems)


def test_fix_without_yes_and_without_a_terminal_applies_nothing(fake: Factory) -> None:
    result = invoke("fix", "--json", "--kernel", STOCK)
    assert result.exit_code == 2
    assert "not applying without --yes (no terminal to ask on)" in result.stderr
    assert list(json.loads(result.stdout)) == [*ENVELOPE, *DRY_RUN_KEYS]


def test_fix_options_reach_the_pipeline_and_not_the_environment(
    fake: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[pipeline.ProvisionOptions] = []
    real = pipeline.provision

    def spy(wanted: pipeline.ProvisionOptions, *args: Any, **kwargs: Any) -> Any:
        seen.append(wanted)
        return real(wanted, *args, **kwargs)

    monkeypatch.setattr(pipeline, "provision", spy)
    monkeypatch.delenv("KDOCTOR_KBUILD_FIX", raising=False)
    monkeypatch.delenv("KDOCTOR_ALLOW_RUSTUP_INSTALLER", raising=False)
    args = ("--kbuild-fix", "touch", "--allow-rustup-installer", "--rust", "pin", "--no-build")
    result = invoke("fix", "--dry-run", "--yes", "--kernel", STOCK, *args)
    assert result.exit_code == 5, result.output
    [wanted] = seen
    assert wanted.plan.kbuild_fix == KbuildFixMode.TOUCH
    assert wanted.plan.allow_rustup_installer is True
    assert (wanted.rust, wanted.kernel, wanted.consent, wanted.no_build, wanted.dry_run) == (
        RustMode.PIN,
        STOCK,
        True,
        True,
        True,
    )
    assert "KDOCTOR_KBUILD_FIX" not in os.environ
    assert "KDOCTOR_ALLOW_RUSTUP_INSTALLER" not in os.environ


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--kbuild-fix", "sideways"], "'sideways' is not one of 'rewrite', 'touch'"),
        (["--rust", "sideways"], "'sideways' is not one of 'auto', 'pin', 'distro'"),
        (["--module-dir", "/no/such/dir"], "no such directory"),
    ],
)
def test_fix_usage_errors_exit_2_before_any_system_is_made(
    args: list[str], complaint: str, fake: Factory
) -> None:
    result = invoke("fix", "--dry-run", *args)
    shown = " ".join(re.sub("[│╭╮╰╯─]", " ", result.stdout + result.stderr).split())
    assert result.exit_code == 2 and complaint in shown
    assert fake.calls == 0


def test_check_and_build_use_the_factory(fake: Factory) -> None:
    result = invoke("check", "--json", "--kernel", STOCK, "build-tools")
    assert result.exit_code == 1
    [finding] = json.loads(result.stdout)["checks"]
    # the fake machine has no make, gcc or ld on its PATH
    assert (finding["id"], finding["status"]) == ("build-tools", "fail")
    assert fake.calls == 1
    built = invoke("build", "--json", "--kernel", STOCK)
    assert built.exit_code == 1
    assert json.loads(built.stdout) == {
        "kdoctor_version": __version__,
        "schema_version": 1,
        "ok": False,
        "error": "no usable Rust toolchain",
    }
    assert "✘ no usable Rust toolchain" in built.stderr
    assert fake.calls == 2


def test_a_fresh_fake_per_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[FakeSystem] = []

    def factory() -> FakeSystem:
        made.append(machine(tmp_path, programs=APT))
        return made[-1]

    monkeypatch.setattr(options, "system_factory", factory)
    assert options.new_system() is made[0]
    assert options.new_system() is made[1]
