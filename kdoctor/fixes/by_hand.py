"""by-hand: what ``kdoctor fix`` cannot repair, said in the plan instead of planning nothing.

A check whose problem no planner may repair (the module's own Makefile forces another compiler,
the module's crate rejects the target kernel, the target kernel has no Rust support) asks for
:class:`~kdoctor.model.need.ByHand`; this planner turns each into a note of the plan: which
check, why kdoctor cannot, and what a person can do.
"""

from __future__ import annotations

from collections.abc import Sequence

from kdoctor.facts import Facts
from kdoctor.fixes.base import Ask, Decision, Fix, asks_of, register
from kdoctor.i18n import _
from kdoctor.model.need import ByHand
from kdoctor.model.plan import PlanOptions


def note_of(need: ByHand) -> str:
    return _("{check}: kdoctor fix cannot repair this: {why}. {remedy}").format(
        check=need.check, why=need.why, remedy=need.remedy
    )


@register
class ByHandFix(Fix):
    id = "by-hand"
    title = "say why kdoctor cannot repair what only a person can"
    order = 90
    handles = (ByHand,)

    def plan(self, facts: Facts, asks: Sequence[Ask], options: PlanOptions) -> Decision:
        notes: list[str] = []
        for ask in asks_of(asks, ByHand):
            assert isinstance(ask.need, ByHand)
            note = note_of(ask.need)
            if note not in notes:
                notes.append(note)
        return Decision(notes=notes)
