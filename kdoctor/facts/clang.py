"""Which clang the kernel build uses, and its version."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Optional

from packaging.version import Version

from kdoctor.i18n import _
from kdoctor.knowledge import versions
from kdoctor.machine.system import System
from kdoctor.model.context import Context

if TYPE_CHECKING:
    from kdoctor.facts import Facts


class ClangChoice(NamedTuple):
    """The clang command the build runs, and what chose it: ``CLANG``, ``CC`` or ``default``."""

    command: str
    source: str


def choose_clang(ctx: Context, system: System) -> ClangChoice:
    """CLANG, else CC when it is clang, else ``clang``."""
    if ctx.env.get("CLANG"):
        return ClangChoice(ctx.env["CLANG"], "CLANG")
    cc = ctx.env.get("CC")
    if cc:
        probe = system.probe([cc.split()[-1], "--version"])
        if probe.ok and versions.is_clang_banner(probe.output):
            return ClangChoice(cc.split()[-1], "CC")
    return ClangChoice("clang", "default")


def chosen_clang(facts: Facts) -> ClangChoice:
    """The clang the kernel build uses."""
    return choose_clang(facts.ctx, facts.system)


class ClangVersion(NamedTuple):
    """The chosen clang's full path (None: not installed) and what ``--version`` said."""

    path: Optional[str]
    version: Optional[Version]
    #: why the version is unknown although clang is there (None when known)
    problem: Optional[str]


def clang_version(facts: Facts) -> ClangVersion:
    """The chosen clang, found on PATH and asked for its version."""
    command = facts.of(chosen_clang).command
    path = facts.system.which(command)
    if path is None:
        return ClangVersion(None, None, None)
    probe = facts.system.probe([path, "--version"])
    version = versions.clang_version(probe.output) if probe.ok else None
    if version is None:
        reason = probe.describe_failure() if not probe.ok else _("unrecognised --version output")
        return ClangVersion(path, None, reason)
    return ClangVersion(path, version, None)


def clang_major(facts: Facts) -> Optional[int]:
    """The major version of the clang the build uses (None: not installed or unknown)."""
    return versions.major(facts.of(clang_version).version)
