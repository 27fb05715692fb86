"""KDOCTOR_TIMELINE: each stage of kdoctor fix (and each step of its plan) as a JSON line with
its start and end; without the variable the hooks are untouched."""

from __future__ import annotations

import json
import time
from pathlib import Path

from kdoctor.cli.timeline import Timed, timed
from kdoctor.model.plan import Plan, Step
from kdoctor.model.report import Report
from kdoctor.pipeline.provision import Event, Hooks, ProvisionResult
from tests.conftest import make_context


def test_without_the_variable_the_hooks_are_the_same_object() -> None:
    hooks = Hooks()
    assert timed(hooks, {}) is hooks
    assert isinstance(timed(hooks, {"KDOCTOR_TIMELINE": "/tmp/x"}), Timed)


def test_stages_and_plan_steps_are_recorded_in_order(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    hooks = timed(Hooks(), {"KDOCTOR_TIMELINE": str(path)})
    ctx = make_context()
    result = ProvisionResult(ctx, Report(ctx, (), 0.0), Plan(()), ctx)
    hooks.reached(Event.PLANNED, result)
    first = Step("packages", ("clang",), "why", argv=("true",))
    second = Step("packages", ("clang",), "why", argv=("false",))
    with hooks.progress("fix") as display:
        display.plan_step(first, 1, 2)
        time.sleep(0.05)
        display.plan_step(second, 2, 2)
    hooks.reached(Event.DIAGNOSED, result)
    with hooks.progress("build (distro rustc 1.96.0)") as display:
        display.step("RUSTC core")
    spans = [json.loads(line) for line in path.read_text().splitlines()]
    assert [s["what"] for s in spans] == [
        "kdoctor planned",
        f"step 1/2: {first.display}",
        f"step 2/2: {second.display}",
        "fix",
        "kdoctor diagnosed",
        "build (distro rustc 1.96.0)",
    ]
    assert spans[1]["seconds"] >= 0.05 and spans[1]["end"] <= spans[2]["start"] + 1e-6
    assert all(s["start"] <= s["end"] for s in spans)


def test_a_timeline_that_cannot_be_written_costs_nothing_else(tmp_path: Path) -> None:
    hooks = timed(Hooks(), {"KDOCTOR_TIMELINE": str(tmp_path / "missing" / "t.jsonl")})
    ctx = make_context()
    hooks.reached(Event.PLANNED, ProvisionResult(ctx, Report(ctx, (), 0.0), Plan(()), ctx))
    with hooks.progress("verify") as display:
        display.step("booting")
