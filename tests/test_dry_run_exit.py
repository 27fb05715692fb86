"""``kdoctor fix --dry-run``'s exit code predicts what ``kdoctor fix --yes`` does on the same
machine: 0 nothing to do (the apply changes nothing and succeeds), 3 changes pending (the apply
runs the steps), 1 blocked (a required check fails with no fix: the apply ends failing)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import pytest

from kdoctor.checks.base import select
from kdoctor.cli import options
from kdoctor.knowledge.packages import kernel_package_names
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import RustToolchain, Rustup, StockKernel
from kdoctor.model.plan import Plan, Step
from kdoctor.model.report import Report
from kdoctor.pipeline import diagnose
from kdoctor.pipeline import provision as pipeline
from kdoctor.pipeline.outcome import blocked, dry_run_exit
from tests.conftest import make_context
from tests.fake_system import FakeSystem, apt_unknown
from tests.test_build_tools_check import ALL as BUILD_TOOLS
from tests.test_build_tools_check import ANSWERS as BUILD_TOOLS_ANSWERS
from tests.test_cli_fix import invoke
from tests.test_provision import APT, STOCK, Factory, answered, machine

NOPE = "9.9.9-nope"
#: apt knows no package for the kernel 9.9.9-nope (an empty policy: no candidate)
NO_PACKAGE = apt_unknown(*kernel_package_names("apt", NOPE))


def only(monkeypatch: pytest.MonkeyPatch, *ids: str) -> None:
    """Diagnose with these checks only (all of them when none is given)."""
    if ids:
        monkeypatch.setattr(diagnose, "all_checks", lambda: select(list(ids)))


def run(monkeypatch: pytest.MonkeyPatch, systems: list[FakeSystem], *args: str) -> Any:
    monkeypatch.setattr(options, "system_factory", Factory(*systems))
    return invoke("fix", "--json", *args)


def predict_then_apply(
    monkeypatch: pytest.MonkeyPatch,
    dry_system: FakeSystem,
    apply_systems: list[FakeSystem],
    kernel: str,
) -> tuple[Any, Any]:
    dry = run(monkeypatch, [dry_system], "--dry-run", "--kernel", kernel)
    applied = run(monkeypatch, apply_systems, "--yes", "--no-build", "--kernel", kernel)
    return dry, applied


def test_nothing_to_do_exits_0_and_the_apply_changes_nothing_and_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    only(monkeypatch, "os", "privileges")
    system = machine(tmp_path, programs=APT)
    dry, applied = predict_then_apply(monkeypatch, system, [machine(tmp_path)], STOCK)
    assert dry.exit_code == 0, dry.stdout
    data = json.loads(dry.stdout)
    assert (data["changed"], data["blocked"], data["plan"]["steps"]) == (False, [], [])
    assert "✔ nothing to do" in dry.stderr
    assert applied.exit_code == 0
    done = json.loads(applied.stdout)
    assert (done["changed"], done["halt"]) == (False, "no-build") and "apply" not in done


def healthy_build_tools(home: Path) -> FakeSystem:
    """The machine after the packages were installed: make, gcc and ld answer."""
    return machine(home, programs={**APT, **BUILD_TOOLS}, maybe=BUILD_TOOLS_ANSWERS)


def test_changes_pending_exits_3_and_the_apply_runs_every_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    only(monkeypatch, "os", "build-tools")
    dry = run(monkeypatch, [machine(tmp_path, programs=APT)], "--dry-run", "--kernel", STOCK)
    assert dry.exit_code == 5, dry.stdout
    data = json.loads(dry.stdout)
    assert data["changed"] is True and data["blocked"] == [] and data["plan"]["steps"]
    plan = pipeline.provision(
        pipeline.ProvisionOptions(kernel=STOCK, dry_run=True),
        Factory(machine(tmp_path, programs=APT)),
    ).plan
    first = answered(tmp_path, plan)
    applied = run(
        monkeypatch,
        [first, healthy_build_tools(tmp_path)],
        "--yes",
        "--no-build",
        "--kernel",
        STOCK,
    )
    assert applied.exit_code == 0, applied.stdout
    done = json.loads(applied.stdout)
    assert done["changed"] is True and done["apply"]["ok"] is True
    assert len(first.runs) == len(data["plan"]["steps"])
    assert [s["id"] for s in done["plan"]["steps"]] == [s["id"] for s in data["plan"]["steps"]]


@pytest.mark.parametrize("checks", [("os", "kernel-headers"), ()], ids=["headers", "all"])
def test_blocked_exits_1_and_the_apply_fails_the_same_way(
    checks: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    only(monkeypatch, *checks)

    def nope(runs: Optional[dict[str, Any]] = None) -> FakeSystem:
        return machine(tmp_path, programs=APT, maybe=NO_PACKAGE, commands=runs)

    dry = run(monkeypatch, [nope()], "--dry-run", "--kernel", NOPE)
    assert dry.exit_code == 1, dry.stdout
    data = json.loads(dry.stdout)
    assert "kernel-headers" in [f["id"] for f in data["blocked"]]
    assert all(f["required"] and f["status"] in ("fail", "error") for f in data["blocked"])
    assert "blocked: kernel-headers" in dry.stderr
    plan = pipeline.provision(
        pipeline.ProvisionOptions(kernel=NOPE, dry_run=True), Factory(nope())
    ).plan
    first = answered(tmp_path, plan)
    first.maybe.update(NO_PACKAGE)
    applied = run(monkeypatch, [first, nope(), nope()], "--yes", "--no-build", "--kernel", NOPE)
    assert applied.exit_code == 1, applied.stdout
    assert json.loads(applied.stdout)["halt"] == "still-failing"


def finding(check: str, *needs: Any, status: Status = Status.FAIL) -> Finding:
    return Finding(check, status, f"{check} fails", needs=needs, required=True)


def test_blocked_is_what_no_step_answers_and_no_acting_planner_settles() -> None:
    toolchain = finding("toolchain", RustToolchain("nightly"))
    rustup = finding("rustup", Rustup())
    headers = finding("kernel-headers", StockKernel("no package serves it"))
    crashed = finding("compat", status=Status.ERROR)
    advisory = replace(finding("module-loading"), required=False)
    ok = finding("os", status=Status.OK)
    report = Report(make_context(), (toolchain, rustup, headers, crashed, advisory, ok), 1.0)
    install = Step("packages", ("toolchain",), "the distribution's Rust", argv=("apt-get", "x"))
    # the Rust planner acted (toolchain answered): rustup is settled by its choice
    assert [f.id for f in blocked(report, Plan((install,)))] == ["kernel-headers", "compat"]
    assert dry_run_exit(report, Plan((install,))) == 1
    # nothing planned: every failing required check is blocked
    assert [f.id for f in blocked(report, Plan(()))] == [
        "toolchain",
        "rustup",
        "kernel-headers",
        "compat",
    ]
    fine = Report(make_context(), (toolchain, advisory, ok), 1.0)
    assert dry_run_exit(fine, Plan((install,))) == 5
    assert dry_run_exit(Report(make_context(), (advisory, ok), 1.0), Plan(())) == 0
