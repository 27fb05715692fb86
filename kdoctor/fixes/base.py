"""The planner interface: one planner per kind of need, and the registry of them all.

A planner declares the need types it handles (:attr:`Fix.handles`); each need goes to the
planner of its type (:func:`routes`), which receives every need of its types in the report
(each with the finding that asked) and decides the steps for all of them at once, so that,
e.g., every package of a run goes into one transaction. Planning never changes anything; an
empty decision means nothing to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from kdoctor.facts import Facts
from kdoctor.model.finding import Finding
from kdoctor.model.need import Need
from kdoctor.model.plan import PlanOptions, Step
from kdoctor.model.registry import Registry


@dataclass(frozen=True)
class Ask:
    """One need of one finding."""

    finding: Finding
    need: Need


@dataclass
class Decision:
    """What a planner decided: steps, notes for the person, and needs it hands on to planners
    that decide later (the Rust planner hands the distribution's packages to the packages
    planner, so they join its one transaction)."""

    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    handed_on: list[Ask] = field(default_factory=list)


class Fix:
    """Turns the needs of its kinds into steps."""

    id: ClassVar[str]
    title: ClassVar[str]
    #: where its steps stand in the plan (packages first, ...)
    order: ClassVar[int] = 100
    #: planners with a lower stage decide first and may hand needs on to later ones
    stage: ClassVar[int] = 1
    #: the need types routed to it (each need type has exactly one planner)
    handles: ClassVar[tuple[type, ...]] = ()
    #: need types it reads besides its own, never plans (the packages planner reads every
    #: need to tell whether the sysroot can build early)
    reads: ClassVar[tuple[type, ...]] = ()

    def plan(self, facts: Facts, asks: Sequence[Ask], options: PlanOptions) -> Decision:
        """The steps for ``asks``, reading the machine through ``facts`` (the diagnosis's: its
        ``ctx`` is the plan's target, its ``system`` the machine)."""
        raise NotImplementedError


def asks_of(asks: Sequence[Ask], *types: type) -> list[Ask]:
    """The asks whose need is one of ``types``."""
    return [a for a in asks if isinstance(a.need, types)]


def findings_of(asks: Sequence[Ask]) -> tuple[str, ...]:
    """The ids of the findings behind ``asks``, each once, in order."""
    return tuple(dict.fromkeys(a.finding.id for a in asks))


_fixes: Registry[Fix] = Registry("fix", "kdoctor.fixes")
register = _fixes.register


def all_fixes() -> list[Fix]:
    """Every registered planner, in the order their steps run."""
    return _fixes.instances()


def routes(fixes: Sequence[Fix]) -> dict[type, Fix]:
    """Each need type's planner, as the planners declare (:attr:`Fix.handles`)."""
    table: dict[type, Fix] = {}
    for fix in fixes:
        for kind in fix.handles:
            if kind in table:
                raise ValueError(f"{kind.__name__} has two planners: {table[kind].id}, {fix.id}")
            table[kind] = fix
    return table
