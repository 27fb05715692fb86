"""settings: persists choices the build uses (``CC``, ``CLANG``, ``LIBCLANG_PATH``, ...) in
kdoctor's settings file; the planner merges every settings step of a plan into one file edit.

A clang switch comes first: a ``LIBCLANG_PATH`` asked for by the libclang finding was paired
with the clang being replaced, so it waits for the next check, which pairs libclang with the new
clang.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Optional, cast

from kdoctor.facts import Facts
from kdoctor.facts.kernel import target_config
from kdoctor.facts.libclang import libclang_search
from kdoctor.fixes.base import Ask, Decision, Fix, asks_of, register
from kdoctor.i18n import _
from kdoctor.knowledge.compiler_family import kernel_family, refused_by_kernel
from kdoctor.model.context import Context
from kdoctor.model.need import Setting
from kdoctor.model.plan import PlanOptions, Step

_NUMBERED = re.compile(r"^clang-(\d+)$")
#: settings that choose the compiler; a libclang choice made beside them waits
COMPILER = ("CC", "CLANG")


@register
class SettingsFix(Fix):
    id = "settings"
    title = "persist the choices the build uses (clang, libclang, ...)"
    order = 50
    handles = (Setting,)

    def plan(self, facts: Facts, asks: Sequence[Ask], options: PlanOptions) -> Decision:
        ctx = facts.ctx
        decision = Decision()
        pending = [a for a in asks_of(asks, Setting) if not _in_force(ctx, a)]
        refused = [a for a in pending if _refused(facts, cast(Setting, a.need)) is not None]
        pending = [a for a in pending if a not in refused]
        decision.notes += [_refusal(facts, a) for a in refused]
        if any(cast(Setting, a.need).key in COMPILER for a in pending):
            pending = [a for a in pending if cast(Setting, a.need).key != "LIBCLANG_PATH"]
        by_finding: dict[str, list[Ask]] = {}
        for ask in pending:
            by_finding.setdefault(ask.finding.id, []).append(ask)
        decision.notes += _libclang_pairing(facts, pending)
        for group in by_finding.values():
            finding = group[0].finding
            settings = {cast(Setting, a.need).key: cast(Setting, a.need).value for a in group}
            decision.steps.append(
                Step(
                    fix=self.id,
                    findings=(finding.id,),
                    why=_why(finding.id, finding.summary, settings),
                    settings=settings,
                )
            )
        return decision


def _why(check: str, summary: str, settings: dict[str, Optional[str]]) -> str:
    """``clang: <summary>; persist CLANG=clang-14`` (``; remove CC`` for what goes)."""
    kept = ", ".join(f"{k}={v}" for k, v in settings.items() if v is not None)
    removed = ", ".join(k for k, v in settings.items() if v is None)
    why = (
        _("{check}: {summary}; persist {settings}").format(
            check=check, summary=summary, settings=kept
        )
        if kept
        else f"{check}: {summary}"
    )
    return _("{why}; remove {names}").format(why=why, names=removed) if removed else why


def _libclang_pairing(facts: Facts, pending: Sequence[Ask]) -> list[str]:
    """A switch to ``clang-N`` while bindgen loads another libclang major: say that the next
    kdoctor fix pairs them (the libclang check then names libclang N or its package)."""
    chosen = [
        cast(Setting, a.need).value
        for key in ("CLANG", "CC")
        for a in pending
        if cast(Setting, a.need).key == key
    ]
    match = _NUMBERED.match(os.path.basename(chosen[0] or "")) if chosen else None
    if match is None or facts.ctx.env.get("LIBCLANG_PATH"):
        return []
    major = int(match.group(1))
    loaded = facts.of(libclang_search).chosen
    if loaded is None or loaded.version is None or loaded.version.major == major:
        return []
    return [
        _(
            "the build switches to clang-{major}, but bindgen loads libclang "
            "{loaded} ({path}); rerun `kdoctor fix` after this one to pair "
            "them (the libclang check then names libclang {major} or its package)."
        ).format(major=major, loaded=loaded.version.major, path=loaded.path)
    ]


def _refused(facts: Facts, setting: Setting) -> Optional[str]:
    """The compiler family a persisted ``CC``/``LLVM`` would force on kbuild when the target
    kernel was built with the other one (kbuild hands the compiler that kernel's flags)."""
    if setting.value is None:
        return None
    family = kernel_family(facts.of(target_config))
    return refused_by_kernel(setting.key, setting.value, family)


def _refusal(facts: Facts, ask: Ask) -> str:
    setting = cast(Setting, ask.need)
    return _(
        "{check}: kdoctor does not persist {setting}: the target kernel {kernel} was built with "
        "{family}, and kbuild would compile the module's C code with {forced} and that "
        "kernel's {family} flags, which fails."
    ).format(
        check=ask.finding.id,
        setting=f"{setting.key}={setting.value}",
        kernel=facts.ctx.target_kernel,
        family=kernel_family(facts.of(target_config)),
        forced=_refused(facts, setting),
    )


def _in_force(ctx: Context, ask: Ask) -> bool:
    setting = cast(Setting, ask.need)
    return ctx.env.get(setting.key) == setting.value
