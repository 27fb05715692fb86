"""The fix interface and the registry of every fix kdoctor knows."""

from __future__ import annotations

from typing import ClassVar

from kdoctor.machine.system import System
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding
from kdoctor.model.plan import Step
from kdoctor.model.registry import Registry
from kdoctor.model.report import Report


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
