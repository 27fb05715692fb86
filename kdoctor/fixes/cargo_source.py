"""cargo-source: cargo takes crates.io's crates from crates on this machine: the distribution's
packaged crates (Debian's ``librust-*-dev`` in ``/usr/share/cargo/registry``) and, for
``-Z build-std``, the standard library sources' own ``vendor/``.

Cargo replaces crates.io by one source only, so the crates of those directories are gathered as
links (``cp -rs``) in ``<cache>/cargo-home/crates``, and the replacement goes into
``<cache>/cargo-home/config.toml``: a cargo home kdoctor owns, never the person's
``~/.cargo/config.toml``. The ``CARGO_HOME`` setting (a ``Setting`` need of the same finding,
persisted by the settings planner) makes kdoctor's builds use it, and a person who sources
kdoctor's settings file gets the same. The packaged crates themselves are ``Package`` needs of
the same finding, installed first by the packages planner."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import cast

from kdoctor.facts import Facts
from kdoctor.fixes.base import Ask, Decision, Fix, asks_of, findings_of, register
from kdoctor.i18n import _
from kdoctor.knowledge.cargo import source_replacement
from kdoctor.knowledge.commands import cargo_source_argvs
from kdoctor.model.need import CargoSource
from kdoctor.model.plan import FileEdit, PlanOptions, Step


@register
class CargoSourceFix(Fix):
    id = "cargo-source"
    title = "take crates.io's crates from the distribution's packages (a cargo home of kdoctor's)"
    order = 45
    handles = (CargoSource,)

    def plan(self, facts: Facts, asks: Sequence[Ask], options: PlanOptions) -> Decision:
        decision = Decision()
        mine = asks_of(asks, CargoSource)
        seen: set[str] = set()
        for ask in mine:
            need = cast(CargoSource, ask.need)
            if need.config in seen:
                continue
            seen.add(need.config)
            content = source_replacement(need.crates)
            current = facts.system.read_text(need.config)
            findings = findings_of([a for a in mine if a.need == need])
            sources = ", ".join(need.directories)
            for argv in cargo_source_argvs(need):
                decision.steps.append(
                    Step(
                        fix=self.id,
                        findings=findings,
                        why=_("gather the crates of {sources} as links in {crates}").format(
                            sources=sources, crates=need.crates
                        ),
                        argv=tuple(argv),
                    )
                )
            if current == content:
                continue
            diff = "".join(
                difflib.unified_diff(
                    (current or "").splitlines(True),
                    content.splitlines(True),
                    need.config,
                    need.config,
                    n=0,
                )
            )
            decision.steps.append(
                Step(
                    fix=self.id,
                    findings=findings,
                    why=_(
                        "cargo takes crates.io's crates from {crates} when CARGO_HOME is "
                        "{cargo_home}, kdoctor's own cargo home; your "
                        "~/.cargo/config.toml is left alone"
                    ).format(crates=need.crates, cargo_home=need.cargo_home),
                    edit=FileEdit(path=need.config, content=content, diff=diff),
                )
            )
        return decision
