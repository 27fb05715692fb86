"""clang: the compiler bindgen's world is built on; picked the way the kernel build picks it."""

from __future__ import annotations

import os
import re
from typing import Optional

from packaging.version import Version

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.facts.clang import chosen_clang, clang_version
from kdoctor.facts.tools import kernel_minimum, versioned_on_path
from kdoctor.knowledge import versions
from kdoctor.knowledge.packages import package_need
from kdoctor.machine.system import System
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import Package, Setting

MINIMUM = Version("9")  # asm goto
RECOMMENDED = Version("11")


@register
class ClangCheck(Check):
    id = "clang"
    title = "clang, version 9 or newer (11 recommended)"
    order = 20
    variables = ("CLANG",)

    def run(self, facts: Facts) -> Finding:
        ctx, system = facts.ctx, facts.system
        command, why = facts.of(chosen_clang)
        floor = max(MINIMUM, Version(kernel_minimum(system, ctx.kdir, "llvm") or "0"))
        path, version, reason = facts.of(clang_version)
        if path is None:
            summary = f"{command} ({why}) is not installed"
            return self._bad(ctx, system, floor, summary, None, command=command)
        if version is None:
            return self._bad(ctx, system, floor, f"{path}: {reason}", path, status=Status.FAIL)
        found = f"{version} ({path})"
        if version < floor:
            why_floor = (
                "no asm goto support" if floor == MINIMUM else f"target kernel needs ≥ {floor}"
            )
            return self._bad(
                ctx, system, floor, f"clang {version} is too old ({why_floor})", path, version
            )
        if version < RECOMMENDED:
            better = self._candidate(system, RECOMMENDED)
            hint = f"; {better[1]} is on PATH" if better else ""
            return self.finding(
                Status.WARN,
                f"clang {version} works, {RECOMMENDED} or newer is recommended{hint}",
                found=found,
                fix_text=_use_text(better) if better else "Install clang 11 or newer.",
                commands=PERSISTS if better else (),
                needs=_use(system, better) if better else _wanted(ctx, command, version),
                ctx=ctx,
                path=path,
                version=str(version),
                source=why,
                candidate=better[1] if better else None,
            )
        return self.ok(
            f"clang {version} (chosen by {why})",
            found=found,
            path=path,
            version=str(version),
            source=why,
        )

    def _candidate(self, system: System, floor: Version) -> Optional[tuple[int, str]]:
        for number, path in versioned_on_path(system, "clang"):
            probe = system.probe([path, "--version"])
            version = versions.clang_version(probe.output) if probe.ok else None
            if version is not None and version >= floor:
                return number, path
        return None

    def _bad(
        self,
        ctx: Context,
        system: System,
        floor: Version,
        summary: str,
        path: Optional[str],
        version: Optional[Version] = None,
        status: Status = Status.FAIL,
        command: str = "clang",
    ) -> Finding:
        better = self._candidate(system, floor)
        if better:
            return self.finding(
                status,
                f"{summary}; clang-{better[0]} on PATH is good enough",
                found=f"{version} ({path})" if version else path,
                fix_text=_use_text(better),
                commands=PERSISTS,
                needs=_use(system, better),
                ctx=ctx,
                path=path,
                version=str(version) if version else None,
                candidate=better[1],
            )
        needed = max(floor, RECOMMENDED)
        return self.finding(
            status,
            summary,
            found=f"{version} ({path})" if version else path,
            fix_text=f"Install clang {needed} or newer from your distribution.",
            needs=_wanted(ctx, path or command, version, needed),
            ctx=ctx,
            path=path,
            version=str(version) if version else None,
            candidate=None,
        )


#: what follows a persisted choice in the remediation
PERSISTS = ("kdoctor fix   # persists the choice for kdoctor build",)


def _wanted(
    ctx: Context, command: str, version: Optional[Version], needed: Version = RECOMMENDED
) -> tuple[Package, ...]:
    """The package to install: a clang that is too old needs a versioned one (``clang-15``);
    a missing one the command's own package (``clang``, or ``clang-15`` for CLANG=clang-15)."""
    match = re.search(r"clang-(\d+)$", command)
    if version is not None:
        return (package_need(ctx.package_manager, "clang-n", n=needed.major),)
    if match:
        return (package_need(ctx.package_manager, "clang-n", n=int(match.group(1))),)
    return (package_need(ctx.package_manager, "clang"),)


def command_name(system: System, path: str) -> str:
    """The bare name when it resolves to ``path`` on PATH (survives upgrades), else the path."""
    name = os.path.basename(path)
    return name if system.which(name) == path else path


def _use(system: System, better: tuple[int, str]) -> tuple[Setting, ...]:
    """Build with the better clang: ``CC`` and ``CLANG`` persisted."""
    name = command_name(system, better[1])
    return (Setting("CC", name), Setting("CLANG", name))


def _use_text(better: tuple[int, str]) -> str:
    return f"Build with clang-{better[0]}: set CC and CLANG for the module build."
