"""clang: the compiler bindgen's world is built on; picked the way the kernel build picks it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import ClassVar, Optional

from packaging.version import Version

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.facts.clang import chosen_clang, clang_version
from kdoctor.facts.tools import kernel_minimum, versioned_on_path
from kdoctor.i18n import N_, _
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
    host_tool = True
    title = N_("clang, version {minimum} or newer ({recommended} recommended)")
    title_values: ClassVar[Mapping[str, object]] = {"minimum": MINIMUM, "recommended": RECOMMENDED}
    variables = ("CLANG",)

    def run(self, facts: Facts) -> Finding:
        ctx, system = facts.ctx, facts.system
        command, why = facts.of(chosen_clang)
        floor = max(MINIMUM, Version(kernel_minimum(system, ctx.kdir, "llvm") or "0"))
        path, version, reason = facts.of(clang_version)
        if path is None:
            summary = _("{command} ({why}) is not installed").format(command=command, why=why)
            return self._bad(ctx, system, floor, summary, None, command=command)
        if version is None:
            return self._bad(ctx, system, floor, f"{path}: {reason}", path, status=Status.FAIL)
        found = f"{version} ({path})"
        if version < floor:
            why_floor = (
                _("no asm goto support")
                if floor == MINIMUM
                else _("target kernel needs ≥ {version}").format(version=floor)
            )
            summary = _("clang {version} is too old ({why})").format(version=version, why=why_floor)
            return self._bad(ctx, system, floor, summary, path, version)
        if version < RECOMMENDED:
            better = self._candidate(system, RECOMMENDED)
            summary = (
                _("clang {version} works, {recommended} or newer is recommended; {path} is on PATH")
                if better
                else _("clang {version} works, {recommended} or newer is recommended")
            )
            return self.finding(
                Status.WARN,
                summary.format(
                    version=version, recommended=RECOMMENDED, path=better[1] if better else ""
                ),
                found=found,
                fix_text=(
                    _use_text(better)
                    if better
                    else _("Install clang {version} or newer.").format(version=RECOMMENDED)
                ),
                commands=persists() if better else (),
                needs=_use(system, better) if better else _wanted(ctx, command, version),
                ctx=ctx,
                path=path,
                version=str(version),
                source=why,
                candidate=better[1] if better else None,
            )
        return self.ok(
            _("clang {version} (chosen by {why})").format(version=version, why=why),
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
                _("{problem}; clang-{n} on PATH is good enough").format(
                    problem=summary, n=better[0]
                ),
                found=f"{version} ({path})" if version else path,
                fix_text=_use_text(better),
                commands=persists(),
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
            fix_text=_("Install clang {version} or newer from your distribution.").format(
                version=needed
            ),
            needs=_wanted(ctx, path or command, version, needed),
            ctx=ctx,
            path=path,
            version=str(version) if version else None,
            candidate=None,
        )


#: what follows a persisted choice in the remediation
def persists() -> tuple[str, ...]:
    return ("kdoctor fix   # " + _("persists the choice for kdoctor build"),)


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
    return _("Build with clang-{n}: set CC and CLANG for the module build.").format(n=better[0])
