"""clang-choice: persists which clang (``CC``, ``CLANG``) and libclang (``LIBCLANG_PATH``) the
build uses, when a good one is already installed next to the one picked by default.

The choices are settings steps: make_plan merges them into one edit of kdoctor's settings file.
A clang switch comes first; the libclang finding (about the clang being replaced) waits for the
next check, which pairs libclang with the new clang.
"""

from __future__ import annotations

import os
import re
from typing import Optional

from kdoctor.fixes.base import Fix, register
from kdoctor.knowledge import versions
from kdoctor.machine.system import System
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding
from kdoctor.model.plan import Step
from kdoctor.model.report import Report

_NUMBERED = re.compile(r"^clang-(\d+)$")


def command_name(system: System, path: str) -> str:
    """The bare name when it resolves to ``path`` on PATH (survives upgrades), else the path."""
    name = os.path.basename(path)
    return name if system.which(name) == path else path


def candidate_major(path: str) -> Optional[int]:
    match = _NUMBERED.match(os.path.basename(path))
    return int(match.group(1)) if match else None


def _not_in_force(ctx: Context, wanted: dict[str, str]) -> dict[str, Optional[str]]:
    return {k: v for k, v in wanted.items() if ctx.env.get(k) != v}


@register
class ClangChoiceFix(Fix):
    id = "clang-choice"
    title = "persist the clang and libclang the build uses"
    order = 50

    def _by_id(self, report: Report, check_id: str) -> Optional[Finding]:
        return next((f for f in self.mine(report) if f.id == check_id), None)

    def plan(self, ctx: Context, report: Report, system: System) -> list[Step]:
        clang = self._by_id(report, "clang")
        libclang = self._by_id(report, "libclang")
        candidate = clang.facts.get("candidate") if clang is not None else None
        if clang is not None and candidate:
            name = command_name(system, str(candidate))
            wanted = {"CC": name, "CLANG": name}
            changes = _not_in_force(ctx, wanted)
            if changes:  # the libclang finding was about the clang being replaced: it waits
                return [
                    Step(
                        fix=self.id,
                        findings=("clang",),
                        why=f"clang: {clang.summary}; build with {name}",
                        settings=changes,
                    )
                ]
        directory = libclang.facts.get("candidate") if libclang is not None else None
        if libclang is None or not directory:
            return []
        changes = _not_in_force(ctx, {"LIBCLANG_PATH": str(directory)})
        if not changes:
            return []
        return [
            Step(
                fix=self.id,
                findings=("libclang",),
                why=f"libclang: {libclang.summary}; load the one in {directory}",
                settings=changes,
            )
        ]

    def notes(self, ctx: Context, report: Report, system: System) -> list[str]:
        clang = self._by_id(report, "clang")
        candidate = clang.facts.get("candidate") if clang is not None else None
        major = candidate_major(str(candidate)) if candidate else None
        libclang = next((f for f in report.findings if f.id == "libclang"), None)
        if major is None or libclang is None or ctx.env.get("LIBCLANG_PATH"):
            return []
        loaded = versions.major(versions.parse(str(libclang.facts.get("version") or "")))
        if loaded is None or loaded == major:
            return []
        return [
            f"the build switches to clang-{major}, but bindgen loads libclang {loaded} "
            f"({libclang.facts.get('path')}); rerun `kdoctor fix` after this one to pair them "
            f"(the libclang check then names libclang {major} or its package)."
        ]
