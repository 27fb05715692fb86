"""module-tools: the tools the module's own build files hand kbuild (``RUSTC=rustc-1.62`` on a
recipe's make command line, ``CC := gcc-9`` in its Kbuild) are the ones kbuild runs, whatever
kdoctor or the environment chose; each must be installed, run, and be new enough where kdoctor
holds the default tool to a version (rustc, bindgen, clang). See
:mod:`kdoctor.facts.module_tools`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Optional

from packaging.version import Version

from kdoctor.checks.base import Check, joined, register
from kdoctor.checks.bindgen import MINIMUM as BINDGEN_MINIMUM
from kdoctor.checks.clang import MINIMUM as CLANG_MINIMUM
from kdoctor.facts import Facts
from kdoctor.facts.module_tools import module_tools
from kdoctor.facts.rustc import MIN_RUSTC
from kdoctor.i18n import N_, _
from kdoctor.knowledge import versions
from kdoctor.knowledge.module_tools import ToolSetting, described
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import ByHand

#: how long a tool may take to say its version
VERSION_TIMEOUT = 10.0


@dataclass(frozen=True)
class Judged:
    """One program a module's setting makes kbuild run, as found."""

    setting: ToolSetting
    command: str
    path: Optional[str] = None
    version: Optional[Version] = None
    #: why it does not do (None: it does); ``required``: whether the build needs it
    problem: Optional[str] = None
    required: bool = True
    #: too old, but kdoctor only warns about that version (bindgen)
    warn_only: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            **self.setting.to_json(),
            "command": self.command,
            "path": self.path,
            "version": str(self.version) if self.version else None,
            "problem": self.problem,
        }


def _parser(variable: str, banner: str) -> Optional[Version]:
    if variable == "RUSTC":
        return versions.rustc_version(banner)
    if variable == "BINDGEN":
        return versions.word_version(banner, "bindgen")
    if variable == "LD":
        return versions.ld_version(banner)
    return versions.clang_version(banner) or versions.gcc_version(banner)


def _floor(variable: str, banner: str) -> tuple[Optional[Version], bool]:
    """(the version kdoctor holds this tool to, whether falling short only warns)."""
    if variable == "RUSTC":
        return MIN_RUSTC, False
    if variable == "BINDGEN":
        return BINDGEN_MINIMUM, True
    if variable in ("CC", "LLVM", "HOSTCC") and versions.is_clang_banner(banner):
        return CLANG_MINIMUM, False
    return None, False


@register
class ModuleToolsCheck(Check):
    id = "module-tools"
    host_tool = True
    title = N_("the tools the module's build files hand kbuild are installed")

    def run(self, facts: Facts) -> Finding:
        tools = facts.of(module_tools)
        details: dict[str, Any] = {"module_tools": tools.to_json()}
        if not any(setting.commands for setting in tools.settings):  # none runs a program
            if tools.problems:
                return self.finding(
                    Status.WARN,
                    _("could not tell which tools the module's build files set: {why}").format(
                        why="; ".join(tools.problems)
                    ),
                    required=False,
                    **details,
                )
            return self.ok(
                _("the module's build files set no tool; kbuild runs the ones kdoctor checks"),
                **details,
            )
        judged = [
            self._judge(facts, setting, command, index == len(setting.commands) - 1)
            for setting in tools.settings
            for index, command in enumerate(setting.commands)
        ]
        details["tools"] = [j.to_json() for j in judged]
        if not tools.hostprogs:
            judged = [_host_only(j) for j in judged]
        bad = [j for j in judged if j.problem and j.required and not j.warn_only]
        if bad:
            return self._bad(facts, bad, Status.FAIL, details)
        weak = [j for j in judged if j.problem]
        if weak:
            return self._bad(facts, weak, Status.WARN, details, required=False)
        return self.ok(
            _("kbuild runs the module's own {tools}").format(
                tools=joined([_shown(j) for j in judged])
            ),
            found=", ".join(f"{j.command} {j.version or '?'} ({j.path})" for j in judged),
            **details,
        )

    def _judge(self, facts: Facts, setting: ToolSetting, command: str, last: bool) -> Judged:
        system = facts.system
        path = system.which(command)
        if path is None:
            return Judged(
                setting, command, problem=_("{command} is not installed").format(command=command)
            )
        if not last:  # a wrapper (ccache): it is there, the compiler after it is judged
            return Judged(setting, command, path)
        probe = system.probe([path, "--version"], timeout=VERSION_TIMEOUT)
        if not probe.ok:
            return Judged(setting, command, path, problem=probe.describe_failure())
        version = _parser(setting.variable, probe.output)
        floor, warn_only = _floor(setting.variable, probe.output)
        if floor is not None and version is not None and version < floor:
            return Judged(
                setting,
                command,
                path,
                version,
                _("{command} {version} is older than {minimum}").format(
                    command=command, version=version, minimum=floor
                ),
                warn_only=warn_only,
            )
        return Judged(setting, command, path, version)

    def _bad(
        self,
        facts: Facts,
        bad: list[Judged],
        status: Status,
        details: dict[str, Any],
        required: Optional[bool] = None,
    ) -> Finding:
        settings = list(dict.fromkeys(j.setting for j in bad))
        problems = "; ".join(
            _("{problem} ({setting}, {location}, {how})").format(
                problem=j.problem,
                setting=j.setting.text,
                location=j.setting.location,
                how=j.setting.how,
            )
            for j in bad
        )
        texts = " ".join(f"`{s.text}`" for s in settings)
        places = joined(list(dict.fromkeys(s.location for s in settings)))
        remedy = _(
            "Install {tools}, or correct or remove {settings} in {places} (kbuild then runs "
            "the tools kdoctor checks)."
        ).format(
            tools=joined(list(dict.fromkeys(j.command for j in bad))),
            settings=texts,
            places=places,
        )
        summary = _("the module's build files hand kbuild tools it cannot use: {problems}").format(
            problems=problems
        )
        files = list(dict.fromkeys(os.path.join(facts.ctx.module_dir, s.file) for s in settings))
        return self.finding(
            status,
            summary,
            found=described(settings),
            fix_text=remedy,
            needs=(
                ByHand(
                    self.id,
                    _("{files}: the module's own build files, which kdoctor does not edit").format(
                        files=", ".join(files)
                    ),
                    remedy,
                ),
            ),
            ctx=facts.ctx,
            required=required,
            **details,
        )


def _host_only(judged: Judged) -> Judged:
    """``HOSTCC`` runs only for the module's host programs: without any, a missing one warns."""
    if judged.setting.variable != "HOSTCC" or judged.problem is None:
        return judged
    problem = _("{problem}; kbuild runs it only for host programs, and the module has none")
    return Judged(
        judged.setting,
        judged.command,
        judged.path,
        judged.version,
        problem.format(problem=judged.problem),
        required=False,
    )


def _shown(judged: Judged) -> str:
    version = f" {judged.version}" if judged.version else ""
    return f"`{judged.setting.text}` ({judged.setting.location}: {judged.command}{version})"
