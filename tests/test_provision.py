"""The provisioning pipeline on fake machines: what it does at each stage, which System it
asks, what it tells its hooks, and where it stops."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import pytest

from kdoctor.knowledge.packages import kernel_package_names
from kdoctor.model.choice import SudoMode, TargetSource
from kdoctor.model.context import bundled_module_dir
from kdoctor.model.plan import Plan, Step
from kdoctor.pipeline.apply import command_for
from kdoctor.pipeline.provision import (
    Event,
    Halt,
    Hooks,
    Progress,
    ProvisionOptions,
    ProvisionResult,
    Silent,
    provision,
)
from kdoctor.render.fix_json import fix_json
from tests.fake_system import FakeSystem, Reply, apt_archive
from tests.test_retarget import FC, STOCK, STOCK_KDIR, build_dir

TOOLCHAIN_FILE = os.path.join(bundled_module_dir(), "rust-toolchain.toml")
APT = {"apt-get": "/usr/bin/apt-get", "apt-cache": "/usr/bin/apt-cache"}
DEBIAN_12 = (
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
    "VERSION_CODENAME=bookworm\n"
)


def machine(home: Path, unknown: tuple[str, ...] = (), **overrides: Any) -> FakeSystem:
    """A bare machine: no build tools, no Rust, no headers, and apt knows every package (of the
    kernels, those ``unknown`` names); kdoctor's files under ``home``."""
    with open(TOOLCHAIN_FILE, encoding="utf-8") as handle:
        files = {
            TOOLCHAIN_FILE: handle.read(),
            "/etc/os-release": DEBIAN_12,
            **overrides.pop("files", {}),
        }
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "KDOCTOR_CACHE": str(home / "cache"),
    }
    archive = apt_archive(*(n for r in unknown for n in kernel_package_names("apt", r)))
    return FakeSystem(env=env, files=files, maybe_handlers={"apt-cache": archive}, **overrides)


class Factory:
    """Hands out the given systems in turn, counting the calls."""

    def __init__(self, *systems: FakeSystem) -> None:
        self.systems = list(systems)
        self.calls = 0

    def __call__(self) -> FakeSystem:
        self.calls += 1
        return self.systems.pop(0)


class Recorder(Hooks):
    def __init__(self, answer: bool = False) -> None:
        self.answer = answer
        self.asked: list[Plan] = []
        self.events: list[Event] = []
        self.titles: list[str] = []
        self.steps: list[str] = []

    def confirm(self, plan: Plan) -> bool:
        self.asked.append(plan)
        return self.answer

    @contextmanager
    def progress(self, title: str) -> Iterator[Progress]:
        self.titles.append(title)
        recorder = self

        class Shown(Silent):
            def plan_step(self, step: Step, index: int, total: int) -> None:
                recorder.steps.append(f"{index}/{total} {step.display}")

        yield Shown()

    def reached(self, event: Event, result: ProvisionResult) -> None:
        self.events.append(event)


def test_a_dry_run_plans_and_stops_without_asking_or_changing_anything(tmp_path: Path) -> None:
    system = machine(tmp_path, programs=APT)
    systems, hooks = Factory(system), Recorder(answer=True)
    result = provision(ProvisionOptions(dry_run=True, kernel=STOCK), systems, hooks)
    assert not result.plan.empty
    # 3: changes pending, nothing blocked
    assert (result.halt, result.exit_code) == (Halt.DRY_RUN, 5)
    assert hooks.events == [Event.PLANNED] and hooks.asked == [] and hooks.titles == []
    assert list(fix_json(result)) == [
        *("context", "target", "before", "blocked", "plan_digest", "plan"),
        *("changed", "halt", "exit_code"),
    ]
    assert systems.calls == 1 and system.runs == []
    assert result.target == result.context == result.plan.context
    assert not (tmp_path / "cache").exists()


def test_without_consent_the_plan_is_asked_about_and_declined(tmp_path: Path) -> None:
    system = machine(tmp_path, programs=APT)
    hooks = Recorder(answer=False)
    result = provision(ProvisionOptions(kernel=STOCK), Factory(system), hooks)
    assert hooks.asked == [result.plan]
    # 6: its own code, not a usage error
    assert (result.halt, result.exit_code) == (Halt.DECLINED, 6)
    assert hooks.events == [Event.PLANNED]
    assert system.runs == []
    # the default hooks have no one to ask: a usage error (no --yes), not an answer
    unasked = provision(ProvisionOptions(kernel=STOCK), Factory(system))
    assert (unasked.halt, unasked.exit_code) == (Halt.UNASKED, 2)


def answered(home: Path, plan: Plan) -> FakeSystem:
    """The bare machine, where every command of the plan succeeds."""
    mode = SudoMode.ROOT if plan.context is not None and plan.context.is_root else SudoMode.SUDO
    root_steps = any(step.root and step.argv for step in plan.steps)
    commands: dict[str, Any] = {"sudo -n true": ""} if root_steps and mode is SudoMode.SUDO else {}
    programs = {**APT, "sudo": "/usr/bin/sudo"}
    for step in plan.steps:
        if step.argv:
            argv = command_for(step, mode)
            commands[" ".join(argv)] = Reply(stdout="done\n")
            programs.setdefault(os.path.basename(argv[0]), argv[0])  # kdoctor's own steps
    return machine(home, programs=programs, commands=commands)


def test_consent_applies_the_plan_then_diagnoses_a_fresh_system(tmp_path: Path) -> None:
    options = ProvisionOptions(kernel=STOCK, consent=True)
    dry = Factory(machine(tmp_path, programs=APT))
    plan = provision(ProvisionOptions(kernel=STOCK, dry_run=True), dry).plan
    first, fresh = answered(tmp_path, plan), machine(tmp_path)
    systems, hooks = Factory(first, fresh), Recorder()
    result = provision(options, systems, hooks)
    assert hooks.asked == []
    assert [s.display for s in result.plan.steps] == [s.display for s in plan.steps]
    assert result.apply is not None and result.apply.ok
    assert len(first.runs) == sum(1 for s in plan.steps if s.argv)
    assert hooks.titles == ["fix"] and len(hooks.steps) == len(plan.steps)
    assert hooks.steps[0] == f"1/{len(plan.steps)} {plan.steps[0].display}"
    # the second diagnosis asked the fresh system, which still has nothing installed
    assert systems.calls == 2 and fresh.calls and fresh.runs == []
    assert result.after is not None and result.after is not result.before
    assert (result.halt, result.exit_code) == (Halt.STILL_FAILING, 1)
    assert hooks.events == [Event.PLANNED, Event.APPLYING, Event.APPLIED, Event.DIAGNOSED]
    assert list(fix_json(result)) == [
        *("context", "target", "before", "blocked", "plan_digest", "plan", "apply", "after"),
        *("changed", "halt", "exit_code"),
    ]


def test_a_failed_step_stops_before_diagnosing_again(tmp_path: Path) -> None:
    def sudo(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        if argv[1:] == ("-n", "true"):
            return Reply()
        return Reply(stderr="E: Some index files failed to download.\n", exit_code=100)

    programs = {**APT, "sudo": "/usr/bin/sudo"}
    system = machine(tmp_path, programs=programs, handlers={"sudo": sudo})
    systems, hooks = Factory(system), Recorder(answer=True)
    result = provision(ProvisionOptions(kernel=STOCK), systems, hooks)
    assert hooks.asked == [result.plan]
    assert result.apply is not None and not result.apply.ok
    assert (result.halt, result.exit_code) == (Halt.APPLY_FAILED, 1)
    assert hooks.events == [Event.PLANNED, Event.APPLYING, Event.APPLIED]
    assert systems.calls == 1 and result.after is None


def stock_only(home: Path) -> FakeSystem:
    """A microVM kernel no package serves, with the stock kernel's headers installed."""
    return machine(
        home,
        files={"/proc/sys/kernel/osrelease": f"{FC}\n", **build_dir(STOCK_KDIR)},
        programs={
            "apt-cache": "/usr/bin/apt-cache",
            "modpost": f"{STOCK_KDIR}/scripts/mod/modpost",
        },
        dirs={"/lib/modules": [STOCK]},
        unknown=(FC,),
    )


def test_an_unservable_running_kernel_is_retargeted_and_planned_for(tmp_path: Path) -> None:
    system = stock_only(tmp_path)
    result = provision(ProvisionOptions(dry_run=True), Factory(system))
    assert result.context.target_kernel == FC
    assert result.target.target_kernel == STOCK
    assert result.target.target_source == TargetSource.RETARGETED
    assert result.plan.context == result.target
    # the plan answers the new target's diagnosis: no headers to install for the stock kernel
    assert not any(f"linux-headers-{FC}" in " ".join(s.argv) for s in result.plan.steps)
    assert any("switched" in note for note in result.plan.notes)
    # the JSON's context is the one the options selected
    assert fix_json(result)["context"]["target_kernel"] == FC
    assert system.runs == []


def test_an_explicit_kernel_is_never_retargeted(tmp_path: Path) -> None:
    result = provision(ProvisionOptions(dry_run=True, kernel=FC), Factory(stock_only(tmp_path)))
    assert result.target == result.context and result.target.target_kernel == FC


@pytest.mark.parametrize(("halt", "code"), [(Halt.NO_BUILD, 0), (Halt.INTERRUPTED, 130)])
def test_exit_codes(halt: Halt, code: int, tmp_path: Path) -> None:
    result = provision(ProvisionOptions(dry_run=True, kernel=STOCK), Factory(machine(tmp_path)))
    assert replace(result, halt=halt).exit_code == code


@pytest.mark.parametrize(("signum", "code"), [(None, 130), (2, 130), (15, 143), (1, 129)])
def test_an_interrupted_fix_exits_with_its_signal_s_code(
    signum: Optional[int], code: int, tmp_path: Path
) -> None:
    """SIGTERM or SIGHUP stopping a step: the fix reports the step and ends as a shell reports
    the signal (a Ctrl-C: 130)."""
    from kdoctor.model.choice import Stopped
    from kdoctor.pipeline.apply import ApplyResult

    result = provision(ProvisionOptions(dry_run=True, kernel=STOCK), Factory(machine(tmp_path)))
    applied = ApplyResult((), "/log", stopped=Stopped.INTERRUPTED, signum=signum)
    assert replace(result, halt=Halt.INTERRUPTED, apply=applied).exit_code == code
