"""Two kdoctor runs at once: two builds of one module directory take turns (the second says
it waits), and kdoctor fix changes the machine one run at a time, while a dry run takes no lock
at all."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import kdoctor.pipeline.provision as provision_module
from kdoctor.model.cache_layout import fix_lock
from kdoctor.model.plan import Plan
from kdoctor.model.report import Report
from kdoctor.pipeline.provision import Hooks, ProvisionOptions, ProvisionResult
from tests.conftest import make_context
from tests.fake_system import FakeSystem

ROOT = Path(__file__).resolve().parents[2]


def test_a_second_build_of_one_module_directory_waits_for_the_first(tmp_path: Path) -> None:
    module = tmp_path / "module"
    module.mkdir()
    (module / "Kbuild").write_text("obj-m := slow.o\n")
    (module / "Makefile").write_text("default:\n\tsleep 3\n\techo built > built.txt\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KDOCTOR_CACHE": str(tmp_path / "cache")}
    argv = [sys.executable, "-m", "kdoctor", "build", "--module-dir", str(module)]
    first = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((tmp_path / "cache").rglob("build-*.log")):
        time.sleep(0.05)  # the first holds the directory once its make runs
    second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    first.communicate(timeout=600)
    assert "waiting for" in second.stdout + second.stderr
    assert "held by another kdoctor" in second.stdout + second.stderr


class Recorder(Hooks):
    def __init__(self) -> None:
        self.said: list[str] = []

    def waiting(self, text: str) -> None:
        self.said.append(text)


def test_fix_changes_the_machine_under_its_lock_and_a_dry_run_takes_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx = make_context()
    system = FakeSystem()
    seen: list[tuple[bool, list[str]]] = []

    def stages(options: ProvisionOptions, *_args: object) -> ProvisionResult:
        seen.append((options.dry_run, sorted(system.held)))
        return ProvisionResult(ctx, Report(ctx, (), 0.0), Plan(()), ctx)

    monkeypatch.setattr(provision_module, "select_context", lambda options, system: ctx)
    monkeypatch.setattr(provision_module, "_provision", stages)
    provision_module.provision(ProvisionOptions(consent=True), lambda: system, Recorder())
    provision_module.provision(ProvisionOptions(dry_run=True), lambda: system, Recorder())
    assert seen == [(False, [fix_lock(ctx.cache_dir)]), (True, [])]
