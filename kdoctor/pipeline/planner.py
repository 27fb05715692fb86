"""Planning: every fix's steps for a report, merged into one plan. Planning only reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Optional

from kdoctor.facts import Facts
from kdoctor.fixes.base import Ask, Decision, Fix, all_fixes, routes
from kdoctor.knowledge.commands import carried
from kdoctor.machine import settings
from kdoctor.machine.system import System
from kdoctor.model.finding import Finding
from kdoctor.model.plan import FileEdit, Plan, PlanOptions, Step, byte_diff
from kdoctor.model.report import Report


def make_plan(facts: Facts, report: Report, options: Optional[PlanOptions] = None) -> Plan:
    """The plan for this report: each need goes to the planner of its type (``Fix.handles``),
    which decides for all the needs of its types at once (planners of an earlier stage first,
    handing needs on to later ones, routed the same way), steps stand in the planners' order,
    and every persisted choice becomes one edit of the settings file.

    ``facts`` are the diagnosis's (of the report's context, on the machine it looked at): the
    planners read them, never a second :class:`Facts` of the same machine.

    Pure: it only reads (the report, and read-only probes). Retargeting to another kernel is
    the caller's business (:mod:`kdoctor.pipeline.retarget`): it plans for the new context's
    report, with that diagnosis's facts."""
    options = options or PlanOptions()
    ctx, system = facts.ctx, facts.system
    asks = [Ask(f, n) for f in report.findings for n in f.needs]
    fixes = all_fixes()
    owner = planner_ids(fixes)
    decided: dict[str, Decision] = {}
    for fix in sorted(fixes, key=lambda f: f.stage):
        mine = [a for a in asks if owner[type(a.need)] == fix.id or isinstance(a.need, fix.reads)]
        decision = fix.plan(facts, mine, options)
        late = [a for a in decision.handed_on if owner[type(a.need)] in (*decided, fix.id)]
        if late:  # it would never be planned: a planner hands on only to later ones
            raise ValueError(f"{fix.id} hands on {late[0].need} to a planner that has decided")
        asks += decision.handed_on
        decided[fix.id] = decision
    steps = [s for fix in fixes for s in decided[fix.id].steps]
    # a note's kdoctor commands keep the person's --module-dir and --kernel
    notes = [carried(n, ctx.chosen_options) for fix in fixes for n in decided[fix.id].notes]
    return Plan(tuple(merge_settings(steps, ctx.settings_file, system)), tuple(notes), ctx)


def planner_ids(fixes: Optional[Sequence[Fix]] = None) -> dict[type, str]:
    """Each need type's planner id (among ``fixes``, default every registered planner): where
    :func:`make_plan` sends a need of that type."""
    return {kind: fix.id for kind, fix in routes(all_fixes() if fixes is None else fixes).items()}


def fix_of(finding: Finding, ids: Optional[Mapping[type, str]] = None) -> Optional[str]:
    """The planner that repairs ``finding`` (its first repairing need's), None when nothing can
    (no needs, or only :class:`~kdoctor.model.need.ByHand`)."""
    ids = planner_ids() if ids is None else ids
    return next((ids[type(n)] for n in finding.needs if getattr(n, "repairs", True)), None)


def routed(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """``findings``, each with the planner that repairs it filled in (``Finding.fix``)."""
    ids = planner_ids()
    return tuple(replace(f, fix=fix_of(f, ids)) for f in findings)


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
