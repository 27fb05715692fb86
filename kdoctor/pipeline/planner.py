"""Planning: every fix's steps for a report, merged into one plan. Planning only reads."""

from __future__ import annotations

import difflib
import os
from typing import Callable, Optional

from kdoctor.fixes.base import all_fixes
from kdoctor.machine.settings import load
from kdoctor.machine.settings import render as render_settings
from kdoctor.machine.system import System
from kdoctor.model.context import Context
from kdoctor.model.plan import FileEdit, Plan, Step
from kdoctor.model.report import Report


def make_plan(
    ctx: Context,
    report: Report,
    system: System,
    recheck: Optional[Callable[[Context], Report]] = None,
) -> Plan:
    """Every fix's steps for this report. When the target kernel must change (no package can
    serve the running one), the fixes plan against the report for the new target, so one plan
    covers everything: its headers, its image, and what depends on them."""
    steps: list[Step] = []
    notes: list[str] = []
    if recheck is not None:
        from kdoctor.pipeline.retarget import retarget

        new_ctx = retarget(ctx, report, system)
        if new_ctx is not None:
            ctx, report = new_ctx, recheck(new_ctx)
    for fix in all_fixes():
        steps += fix.plan(ctx, report, system)
        notes += fix.notes(ctx, report, system)
    return Plan(tuple(merge_settings(steps, ctx.settings_file)), tuple(notes), ctx)


def merge_settings(steps: list[Step], path: str) -> list[Step]:
    """Every persisted choice in the plan becomes one edit of kdoctor's settings file, placed
    where the first of them stood; choices already in force are dropped."""
    wanted: dict[str, Optional[str]] = {}
    why: list[str] = []
    findings: list[str] = []
    fixes: list[str] = []
    out: list[Step] = []
    position: Optional[int] = None
    for step in steps:
        if not step.settings:
            out.append(step)
            continue
        if position is None:
            position = len(out)
        wanted.update(step.settings)
        why.append(step.why)
        findings += [f for f in step.findings if f not in findings]
        fixes += [step.fix] if step.fix not in fixes else []
    current = load(path)
    changes = {k: v for k, v in wanted.items() if current.get(k) != v}
    if position is None or not changes:
        return out
    new = dict(current)
    for key, value in changes.items():
        if value is None:
            new.pop(key, None)
        else:
            new[key] = value
    before = render_settings(current) if os.path.exists(path) else ""
    after = render_settings(new)
    diff = "".join(
        difflib.unified_diff(before.splitlines(True), after.splitlines(True), path, path, n=0)
    )
    edit = FileEdit(path=path, content=after, diff=diff)
    merged = Step(
        fix="+".join(fixes),
        findings=tuple(findings),
        why="; ".join(why),
        edit=edit,
        settings=changes,
    )
    out.insert(position, merged)
    return out
