"""build-tools: make, the C compiler the target kernel was built with, and the linker."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional

from packaging.version import Version

from kdoctor.checks.base import Check, register
from kdoctor.checks.variables import ENVIRONMENT, correction, origin, origin_words
from kdoctor.facts import Facts
from kdoctor.facts.clang import chosen_clang
from kdoctor.facts.kernel import target_config
from kdoctor.i18n import N_, _
from kdoctor.knowledge import versions
from kdoctor.knowledge.compiler_family import kernel_family
from kdoctor.knowledge.packages import package_name, package_needs
from kdoctor.machine.system import System
from kdoctor.model.finding import Finding, Status

#: a gcc command as the first word of CONFIG_CC_VERSION_TEXT: gcc, gcc-12, x86_64-linux-gnu-gcc-13
_GCC_COMMAND = re.compile(r"^(?:[\w.+]+-)*gcc(?:-(\d+))?$")


@dataclass(frozen=True)
class KernelCompiler:
    """What the target's ``.config`` says about the compiler that built it."""

    family: str  # "gcc" or "clang"
    text: Optional[str]  # CONFIG_CC_VERSION_TEXT
    version: Optional[Version]


@dataclass(frozen=True)
class Tool:
    """One build tool as found: the command, where it is, what it said."""

    command: str
    package: str  # logical package name
    path: Optional[str] = None
    version: Optional[Version] = None
    first_line: Optional[str] = None
    #: why it is on PATH but does not answer ``--version``
    broken: Optional[str] = None

    @property
    def label(self) -> str:
        if self.version:
            return f"{self.command} {self.version}"
        return _("{command} (version ?)").format(command=self.command)


def kernel_compiler(config: Mapping[str, str]) -> Optional[KernelCompiler]:
    """The kernel's compiler from its ``.config`` (None when there is no ``.config``)."""
    family = kernel_family(config)
    if family is None:
        return None
    text = config.get("CONFIG_CC_VERSION_TEXT") or None
    if family == "clang":
        version = (versions.clang_version(text) if text else None) or versions.kconfig_version(
            config.get("CONFIG_CLANG_VERSION", "")
        )
        return KernelCompiler("clang", text, version)
    version = (versions.gcc_version(text) if text else None) or versions.kconfig_version(
        config.get("CONFIG_GCC_VERSION", "")
    )
    return KernelCompiler("gcc", text, version)


def gcc_command(kernel: Optional[KernelCompiler]) -> str:
    """The gcc the kernel names (``gcc-12`` for Debian's kernels), else plain ``gcc``."""
    if kernel is None or not kernel.text:
        return "gcc"
    first = kernel.text.split()[0]
    return first if _GCC_COMMAND.match(first) else "gcc"


def _package_for(command: str, default: str) -> tuple[str, Optional[int]]:
    """The logical package (and its ``n``) that provides ``command``."""
    match = re.search(r"-(\d+)$", command)
    if match and default in ("gcc", "clang"):
        return f"{default}-n", int(match.group(1))
    return default, None


def _find(
    system: System,
    command: str,
    package: str,
    parse: Callable[[str], Optional[Version]],
) -> Tool:
    path = system.which(command)
    if path is None:
        return Tool(command, package)
    probe = system.probe([path, "--version"])
    if not probe.ok:
        return Tool(command, package, path, broken=probe.describe_failure())
    lines = probe.stdout.strip().splitlines() or probe.output.strip().splitlines()
    return Tool(command, package, path, parse(probe.output), lines[0].strip() if lines else None)


def _tree_compiler(system: System, kdir: str) -> Optional[str]:
    """The compiler a kernel tree kdoctor adapted names in Debian's ``.kernelvariables``
    (``CC = gcc``: the host's, see ``pipeline/kernels/fetch.py``); None for a stock tree, whose
    ``CC`` is an expression of make's (``$(CROSS_COMPILE)gcc-14``)."""
    text = system.read_text(os.path.join(kdir, ".kernelvariables")) or ""
    for line in text.splitlines():
        name, _equals, value = line.partition("=")
        words = value.split()
        if name.strip() == "CC" and len(words) == 1 and "$" not in value:
            return words[0]
    return None


def _compiler_version(banner: str) -> Optional[Version]:
    return versions.gcc_version(banner) or versions.clang_version(banner)


@register
class BuildToolsCheck(Check):
    id = "build-tools"
    host_tool = True
    title = N_("make, the kernel's C compiler and the linker")
    variables = ("CC", "LLVM")

    def run(self, facts: Facts) -> Finding:
        ctx, system = facts.ctx, facts.system
        config = facts.of(target_config)
        kernel = kernel_compiler(config)
        make = _find(system, "make", "make", lambda out: versions.word_version(out, "Make"))
        cc = self._compiler(facts, kernel)
        if config.get("CONFIG_LD_IS_LLD") == "y":
            ld = _find(system, "ld.lld", "lld", versions.ld_version)
        else:
            ld = _find(system, "ld", "binutils", versions.ld_version)
        tools = (make, cc, ld)
        if facts.ctx.env.get("CC") and cc.path is None:
            return self._own_cc_missing(facts, kernel, cc)

        values: dict[str, Any] = {}
        missing: list[str] = []
        for tool in tools:
            if tool.path is None:
                logical, n = _package_for(tool.command, tool.package)
                missing.append(logical)
                if n is not None:
                    values["n"] = n
        details: dict[str, Any] = {
            "make": make.path,
            "make_version": str(make.version) if make.version else None,
            "cc": cc.command,
            "cc_path": cc.path,
            "cc_version": str(cc.version) if cc.version else None,
            "cc_text": cc.first_line,
            "kernel_cc_text": kernel.text if kernel else None,
            "kernel_cc_version": str(kernel.version) if kernel and kernel.version else None,
            "ld": ld.path,
            "ld_version": str(ld.version) if ld.version else None,
            "missing": missing,
            "packages": [package_name(ctx.package_manager, m, **values) or m for m in missing],
            "package_values": values,
        }
        found = f"{cc.label} ({cc.path})" if cc.path else None
        if missing:
            absent = ", ".join(t.command for t in tools if t.path is None)
            summary = (
                _("not installed: {tools} (the target kernel was built with {compiler})")
                if kernel is not None and cc.path is None
                else _("not installed: {tools}")
            )
            return self.finding(
                Status.FAIL,
                summary.format(tools=absent, compiler=cc.command),
                found=found,
                fix_text=_("Install the missing build tools."),
                needs=package_needs(ctx.package_manager, missing, **values),
                ctx=ctx,
                **details,
            )
        broken = [t for t in tools if t.broken]
        if broken:
            return self.finding(
                Status.FAIL,
                "; ".join(t.broken or "" for t in broken),
                found=found,
                fix_text=_(
                    "These tools are on PATH but do not run; reinstall their packages or fix "
                    "PATH: {tools}."
                ).format(tools=", ".join(f"{t.command} ({t.path})" for t in broken)),
                **details,
            )
        listing = f"{make.label}, {self._cc_label(cc, kernel)}, {ld.label}"
        unread = [t for t in tools if t.version is None]
        if unread:
            said = "; ".join(
                _("{command} ({path}) printed {output}").format(
                    command=t.command, path=t.path, output=repr(t.first_line)
                )
                if t.first_line
                else _("{command} ({path}) printed nothing").format(command=t.command, path=t.path)
                for t in unread
            )
            return self.finding(
                Status.WARN,
                _("could not read the version of {tools}: {said}").format(
                    tools=", ".join(t.command for t in unread), said=said
                ),
                found=found,
                fix_text=_(
                    "kdoctor cannot tell whether these are the tools kbuild expects; check that "
                    "PATH finds the real ones (not a wrapper that hides --version)."
                ),
                **details,
            )
        if kernel is None:
            return self.ok(
                _(
                    "{tools}; the kernel's compiler is unknown until headers for "
                    "{kernel} are installed (see kernel-headers)"
                ).format(tools=listing, kernel=ctx.target_kernel),
                found=found,
                **details,
            )
        if kernel.version is not None and cc.version is not None and cc.version != kernel.version:
            return self.finding(
                Status.WARN,
                _(
                    "{command} is {version} but the kernel was built with {kernel_version}: "
                    "the module builds and loads, kbuild warns about the mismatch"
                ).format(command=cc.command, version=cc.version, kernel_version=kernel.version),
                found=found,
                fix_text=_(
                    "For an exact match install the compiler that built the kernel "
                    "({compiler}); usually the warning is harmless."
                ).format(compiler=kernel.text or kernel.version),
                **details,
            )
        return self.ok(listing, found=found, **details)

    def _compiler(self, facts: Facts, kernel: Optional[KernelCompiler]) -> Tool:
        if kernel is not None and kernel.family == "clang":
            command = facts.of(chosen_clang).command
            return _find(facts.system, command, "clang", versions.clang_version)
        own = facts.ctx.env.get("CC")
        if own:  # kdoctor build passes it to make: kbuild compiles with it
            return _find(facts.system, own.split()[-1], "gcc", _compiler_version)
        chosen = _tree_compiler(facts.system, facts.ctx.kdir) or gcc_command(kernel)
        return _find(facts.system, chosen, "gcc", versions.gcc_version)

    def _own_cc_missing(self, facts: Facts, kernel: Optional[KernelCompiler], cc: Tool) -> Finding:
        """``CC`` (the person's, or kdoctor's settings file's) names no installed compiler:
        kbuild would stop at the first C object; the remedy is to correct ``CC``."""
        mine = origin(facts, "CC") == ENVIRONMENT  # else kdoctor's settings: fix removes it
        wanted = gcc_command(kernel) if kernel is not None and mine else None
        own = correction(
            facts,
            self.id,
            "CC",
            wanted,
            then=_("kbuild then uses the kernel's compiler"),
        )
        return self.finding(
            Status.FAIL,
            _(
                "{setting} ({origin}) is not installed: kbuild would compile the module with it"
            ).format(setting=f"CC={facts.ctx.env['CC']}", origin=origin_words(facts, "CC")),
            fix_text=own.text,
            needs=own.needs,
            ctx=facts.ctx,
            cc=cc.command,
            cc_path=None,
            missing=[cc.command],
        )

    @staticmethod
    def _cc_label(cc: Tool, kernel: Optional[KernelCompiler]) -> str:
        if kernel is not None and kernel.version is not None and cc.version == kernel.version:
            return _("{tool} (as the kernel)").format(tool=cc.label)
        return cc.label
