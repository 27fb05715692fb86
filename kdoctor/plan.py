"""Plans: what a fix would do, as concrete steps, before anything is done."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Optional

from kdoctor.context import Context
from kdoctor.engine import Report
from kdoctor.finding import Finding
from kdoctor.registry import Registry
from kdoctor.settings import load
from kdoctor.settings import render as render_settings
from kdoctor.system import System


@dataclass(frozen=True)
class FileEdit:
    """A file kdoctor writes (atomically, keeping ``path~`` as a backup)."""

    path: str
    content: str
    #: a unified diff against the current content, shown before applying
    diff: str = ""
    mode: Optional[int] = None


@dataclass(frozen=True)
class Step:
    fix: str
    #: which findings this step answers (check ids)
    findings: tuple[str, ...]
    why: str
    #: the exact command; empty for a file edit
    argv: tuple[str, ...] = ()
    edit: Optional[FileEdit] = None
    root: bool = False
    timeout: float = 1800.0
    env: dict[str, str] = field(default_factory=dict)
    #: a command that needs the network (named in the error when it cannot reach it)
    network: bool = False
    #: persisted choices (``CC``, ``KDIR``, ...); make_plan merges them into one file edit
    settings: dict[str, Optional[str]] = field(default_factory=dict)
    #: what to show instead of the raw argv (e.g. ``kdoctor fetch-image R``)
    label: str = ""
    #: seconds to keep retrying while another package manager holds its lock (visibly)
    lock_wait: float = 0.0

    @property
    def display(self) -> str:
        if self.label:
            return self.label
        if self.edit is not None:
            return f"write {self.edit.path}"
        return " ".join(self.argv)

    def to_json(self) -> dict[str, Any]:
        return {
            "fix": self.fix,
            "findings": list(self.findings),
            "why": self.why,
            "argv": list(self.argv),
            "edit": {"path": self.edit.path, "diff": self.edit.diff} if self.edit else None,
            "root": self.root,
            "network": self.network,
        }


class Fix:
    """Turns findings into steps. Planning never changes anything; an empty plan means done."""

    id: ClassVar[str]
    title: ClassVar[str]
    #: order among fixes (packages before the toolchain that may need them, ...)
    order: ClassVar[int] = 100

    def plan(self, ctx: Context, report: Report, system: System) -> list[Step]:
        raise NotImplementedError

    def notes(self, ctx: Context, report: Report, system: System) -> list[str]:
        """What the person should know about the choices this fix made (none by default)."""
        return []

    def mine(self, report: Report) -> list[Finding]:
        """The problems in the report that name this fix."""
        return [f for f in report.findings if f.fix == self.id and f.status.is_problem]


_fixes: Registry[Fix] = Registry("fix", "kdoctor.fixes")
register = _fixes.register


def all_fixes() -> list[Fix]:
    """Every registered fix, in the order their steps run."""
    return _fixes.instances()


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    #: notes the person should read (which toolchain source was chosen and why, ...)
    notes: tuple[str, ...] = ()
    #: the context the plan was made for (its target differs when the plan retargets)
    context: Optional[Context] = None

    @property
    def empty(self) -> bool:
        return not self.steps

    def to_json(self) -> dict[str, Any]:
        return {"steps": [s.to_json() for s in self.steps], "notes": list(self.notes)}


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
        from kdoctor.retarget import retarget

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


#: how a fix marks the context it planned for when it switched the target kernel
RETARGETED = "kdoctor fix"
