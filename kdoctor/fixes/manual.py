"""manual: changes only the person can make (the module's target, its toolchain pin, a crate's
version requirement). No steps: the plan says what and why kdoctor does not make it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from kdoctor.fixes.base import Ask, Decision, Fix, asks_of, register
from kdoctor.machine.system import System
from kdoctor.model.context import Context
from kdoctor.model.need import Manual
from kdoctor.model.plan import PlanOptions


@register
class ManualFix(Fix):
    id = "manual"
    title = "say what only the person can change, and why"
    order = 95

    def plan(
        self, ctx: Context, asks: Sequence[Ask], system: System, options: PlanOptions
    ) -> Decision:
        decision = Decision()
        for ask in asks_of(asks, Manual):
            need = cast(Manual, ask.need)
            note = f"{ask.finding.id}: kdoctor does not {need.change}: {need.reason}"
            if note not in decision.notes:
                decision.notes.append(note)
        return decision
