"""What the Rust sysroot needs first: one package transaction split in two, so the module's
sysroot (core and alloc built for the kernel target, the longest part of a first build) builds
while the rest installs.

The sysroot needs only rustc, its library sources, make and the target kernel's configuration
(its codegen flags), which the kernel's image package carries too: the headers (tens of
thousands of files, the slowest package to unpack) can come in the second transaction. Measured
on a bare Debian 12 (2 cores): one transaction then the sysroot took 55.7 s; the Rust packages
first, then the rest while the sysroot builds, 46.5 s.

The split is made only when it can work: for apt; for a module whose Makefile has a ``sysroot``
target (the bundled hello-world's convention); when every need of the checks the sysroot
depends on is a package or a setting (no rustup toolchain, no step by hand); for a kernel of
the distribution's archive (not one kept in kdoctor's cache, whose tree ``kdoctor
fetch-kernel`` brings); and when there is something left to install meanwhile.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from typing import Optional

from kdoctor.facts.images import kept_in_cache
from kdoctor.fixes.base import Ask
from kdoctor.i18n import _
from kdoctor.machine.system import System
from kdoctor.model.choice import RustMode, TargetSource
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding
from kdoctor.model.plan import Step

#: the checks whose packages the sysroot build needs (the kernel's configuration comes from its
#: image package when the headers are not installed yet: ``kdoctor build-sysroot``)
SYSROOT_INPUTS = ("toolchain", "rust-src", "build-tools")
_SYSROOT_TARGET = re.compile(r"^sysroot\s*:(?!=)", re.MULTILINE)


def has_sysroot_target(system: System, module_dir: str) -> bool:
    """The module's Makefile defines a ``sysroot`` target (``make sysroot`` builds it alone)."""
    text = system.read_text(os.path.join(module_dir, "Makefile")) or ""
    return bool(_SYSROOT_TARGET.search(text))


#: needs that leave the sysroot's inputs in place once its packages are installed: the settings
#: (KDIR of a retargeted kernel, ...) are written before the background step starts
_HARMLESS = frozenset({"package", "setting", "stock-kernel", "kernel-image"})


def blocking(asks: Sequence[Ask]) -> list[str]:
    """The checks that need something else than packages and settings (a rustup toolchain, a
    kernel fetched into the cache, a step by hand ...): the sysroot could not build early. A
    pinned toolchain the rust planner answered with the distribution's packages (it hands them
    on, asked by the same check) is packages."""
    packaged = {a.finding.id for a in asks if a.need.kind == "package"}
    return [
        a.finding.id
        for a in asks
        if a.need.kind not in _HARMLESS
        and not (a.need.kind == "rust-toolchain" and a.finding.id in packaged)
    ]


def split(
    ctx: Context,
    system: System,
    pairs: Sequence[tuple[Finding, Sequence[str]]],
    blocked: Sequence[str],
) -> Optional[tuple[list[str], list[str]]]:
    """(the sysroot's packages, the rest), or None when one transaction is the plan.
    ``pairs`` are each finding's packages, ``blocked`` the checks :func:`blocking` names."""
    if kept_in_cache(ctx) or set(blocked) & set(SYSROOT_INPUTS):
        return None
    if not has_sysroot_target(system, ctx.module_dir):
        return None
    first = sorted({p for f, pkgs in pairs if f.id in SYSROOT_INPUTS for p in pkgs})
    rest = sorted({p for f, pkgs in pairs for p in pkgs} - set(first))
    return (first, rest) if first and rest else None


def sysroot_step(ctx: Context, findings: tuple[str, ...]) -> Step:
    """``kdoctor build-sysroot`` for the plan's target, in the background, after the packages
    of ``findings`` are installed."""
    argv = [sys.executable, "-m", "kdoctor", "build-sysroot", "--module-dir", ctx.module_dir]
    if ctx.target_source in (TargetSource.OPTION, TargetSource.RETARGETED):
        argv += ["--kernel", ctx.target_kernel]
    if ctx.rust_mode != RustMode.AUTO:
        argv += ["--rust", RustMode(ctx.rust_mode).value]
    return Step(
        fix="packages",
        findings=findings,
        why=_(
            "the module's Rust sysroot (core and alloc for the kernel target) builds into "
            "kdoctor's cache while the remaining packages install: it needs only what the step "
            "before installs (if it fails, the build makes the sysroot itself)"
        ),
        argv=tuple(argv),
        label="kdoctor build-sysroot",
        background=True,
        required=False,
    )
