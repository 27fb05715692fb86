"""Planning: every fix's steps for a report, merged into one plan. Planning only reads."""

from __future__ import annotations

from typing import Optional

from kdoctor.facts import Facts
from kdoctor.fixes.base import Ask, Decision, all_fixes
from kdoctor.machine import settings
from kdoctor.machine.system import System
from kdoctor.model.plan import FileEdit, Plan, PlanOptions, Step, byte_diff
from kdoctor.model.report import Report


def make_plan(facts: Facts, report: Report, options: Optional[PlanOptions] = None) -> Plan:
    """The plan for this report: every planner decides for all the needs of its kinds at once
    (planners of an earlier stage first, handing needs on to later ones), steps stand in the
    planners' order, and every persisted choice becomes one edit of the settings file.

    ``facts`` are the diagnosis's (of the report's context, on the machine it looked at): the
    planners read them, never a second :class:`Facts` of the same machine.

    Pure: it only reads (the report, and read-only probes). Retargeting to another kernel is
    the caller's business (:mod:`kdoctor.pipeline.retarget`): it plans for the new context's
    report, with that diagnosis's facts."""
    options = options or PlanOptions()
    ctx, system = facts.ctx, facts.system
    asks = [Ask(f, n) for f in report.findings for n in f.needs]
    fixes = all_fixes()
    decided: dict[str, Decision] = {}
    for fix in sorted(fixes, key=lambda f: f.stage):
        decision = fix.plan(facts, asks, options)
        asks += decision.handed_on
        decided[fix.id] = decision
    steps = [s for fix in fixes for s in decided[fix.id].steps]
    notes = [n for fix in fixes for n in decided[fix.id].notes]
    return Plan(tuple(merge_settings(steps, ctx.settings_file, system)), tuple(notes), ctx)


def merge_settings(steps: list[Step], path: str, system: System) -> list[Step]:
    """Every persisted choice in the plan becomes one edit of kdoctor's settings file, placed
    where the first of them stood (or before the first step in the background, which reads
    them); choices already in force are dropped. The edit changes only the lines it must
    (:func:`kdoctor.machine.settings.edit`) and its diff is exactly that."""
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
    # a step in the background reads the settings too: they are written before it starts
    background = next((i for i, step in enumerate(out) if step.background), None)
    if background is not None and position is not None:
        position = min(position, background)
    before = settings.read(path, system) or b""
    current = settings.parse(before, path)
    changes = {k: v for k, v in wanted.items() if current.get(k) != v}
    if position is None or not changes:
        return out
    after = settings.edit(before, changes, path)
    edit = FileEdit(path=path, content=after, diff=byte_diff(path, before, after, context=0))
    merged = Step(
        fix="+".join(fixes),
        findings=tuple(findings),
        why="; ".join(why),
        edit=edit,
        settings=changes,
    )
    out.insert(position, merged)
    return out
