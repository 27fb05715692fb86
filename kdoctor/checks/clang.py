"""clang: the compiler bindgen's world is built on; picked the way the kernel build picks it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import ClassVar, Optional

from packaging.version import Version

from kdoctor.checks.base import Check, joined, register
from kdoctor.checks.variables import ENVIRONMENT, correction, origin, origin_words
from kdoctor.facts import Facts
from kdoctor.facts.clang import chosen_clang, clang_version
from kdoctor.facts.kernel import target_config
from kdoctor.facts.tools import kernel_minimum, versioned_on_path
from kdoctor.i18n import N_, _
from kdoctor.knowledge import versions
from kdoctor.knowledge.compiler_family import kernel_family, refused_by_kernel
from kdoctor.knowledge.packages import package_need
from kdoctor.machine.system import System
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import Need, Package, Setting

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
            shown = _("default") if why == "default" else why
            summary = _("{command} ({why}) is not installed").format(command=command, why=shown)
            if why == "CLANG":
                summary = _("{setting} ({origin}) is not installed").format(
                    setting=f"CLANG={command}", origin=origin_words(facts, "CLANG")
                )
            return self._bad(facts, floor, summary, None, command=command)
        if version is None:
            return self._bad(facts, floor, f"{path}: {reason}", path, status=Status.FAIL)
        found = f"{version} ({path})"
        if version < floor:
            why_floor = (
                _("no asm goto support")
                if floor == MINIMUM
                else _("target kernel needs ≥ {version}").format(version=floor)
            )
            summary = _("clang {version} is too old ({why})").format(version=version, why=why_floor)
            return self._bad(facts, floor, summary, path, version)
        if version < RECOMMENDED:
            better = self._candidate(system, RECOMMENDED)
            summary = (
                _("clang {version} works, {recommended} or newer is recommended; {path} is on PATH")
                if better
                else _("clang {version} works, {recommended} or newer is recommended")
            )
            text, needs = (
                _switch(facts, better)
                if better
                else (
                    _("Install clang {version} or newer.").format(version=RECOMMENDED),
                    _wanted(ctx, command, version),
                )
            )
            return self.finding(
                Status.WARN,
                summary.format(
                    version=version, recommended=RECOMMENDED, path=better[1] if better else ""
                ),
                found=found,
                fix_text=text,
                commands=_persists(needs),
                needs=needs,
                ctx=ctx,
                path=path,
                version=str(version),
                source=why,
                candidate=better[1] if better else None,
            )
        chosen = (
            _("clang {version} (chosen by default)")
            if why == "default"
            else _("clang {version} (chosen by {why})")
        )
        return self.ok(
            chosen.format(version=version, why=why),
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
        facts: Facts,
        floor: Version,
        summary: str,
        path: Optional[str],
        version: Optional[Version] = None,
        status: Status = Status.FAIL,
        command: str = "clang",
    ) -> Finding:
        ctx, system = facts.ctx, facts.system
        better = self._candidate(system, floor)
        if better:
            text, switch = _switch(facts, better)
            return self.finding(
                status,
                _("{problem}; clang-{n} on PATH is good enough").format(
                    problem=summary, n=better[0]
                ),
                found=f"{version} ({path})" if version else path,
                fix_text=text,
                commands=_persists(switch),
                needs=switch,
                ctx=ctx,
                path=path,
                version=str(version) if version else None,
                candidate=better[1],
            )
        needed = max(floor, RECOMMENDED)
        text = _("Install clang {version} or newer from your distribution.").format(version=needed)
        packages = _wanted(ctx, path or command, version, needed)
        needs: tuple[Need, ...] = packages
        if facts.of(chosen_clang).source == "CLANG":  # the person's (or kdoctor's) CLANG
            own = correction(facts, self.id, "CLANG", None)
            text, needs = f"{text} {own.text}", (*packages, *own.needs)
        return self.finding(
            status,
            summary,
            found=f"{version} ({path})" if version else path,
            fix_text=text,
            needs=needs,
            ctx=ctx,
            path=path,
            version=str(version) if version else None,
            candidate=None,
        )


#: what follows a persisted choice in the remediation
def persists() -> tuple[str, ...]:
    return ("kdoctor fix   # " + _("persists the choice for kdoctor build"),)


def _persists(needs: Sequence[Need]) -> tuple[str, ...]:
    return persists() if any(isinstance(n, Setting) for n in needs) else ()


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


def _switch(facts: Facts, better: tuple[int, str]) -> tuple[str, tuple[Need, ...]]:
    """Build with the better clang: what to say and what to plan.

    ``CLANG`` (what bindgen's clang is) is persisted, unless the person's environment sets it:
    then they unset or correct it, which ``fix`` says too. ``CC`` too only when the target
    kernel was built with clang: kbuild compiles the module's C code with ``CC`` and the flags
    of the kernel's own compiler, so clang as ``CC`` on a gcc-built kernel breaks the build."""
    name = command_name(facts.system, better[1])
    family = kernel_family(facts.of(target_config))
    needs: list[Need] = []
    texts: list[str] = []
    names: list[str] = []
    for variable in ("CC", "CLANG") if family == "clang" else ("CLANG",):
        if origin(facts, variable) == ENVIRONMENT:
            own = correction(facts, "clang", variable, name)
            texts.append(own.text)
            needs += own.needs
        elif refused_by_kernel(variable, name, family) is None:
            names.append(variable)
            needs.append(Setting(variable, name))
    if names:
        texts.insert(0, _use_text(better[0], names, family))
    return " ".join(texts), tuple(needs)


def _use_text(n: int, names: Sequence[str], family: Optional[str]) -> str:
    if list(names) == ["CLANG"] and family == "gcc":
        return _(
            "Build with clang-{n}: set CLANG for bindgen; CC stays the kernel's compiler "
            "(the kernel was built with gcc)."
        ).format(n=n)
    return _("Build with clang-{n}: set {variables} for the module build.").format(
        n=n, variables=joined(list(names))
    )
