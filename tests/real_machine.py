"""The real machine the integration and e2e tests run on: ONE derivation of the kernel they
build for (never a literal release) and ONE way to say that a test cannot run here.

The target is chosen the way kdoctor chooses it: ``KDIR`` (the environment's, else the one
``kdoctor fix`` persisted in its settings file), else the running kernel when its build
directory is usable, else the distribution's stock kernel -- the newest one whose headers are
installed, else the one the stock headers metapackage installs (``apt-cache depends
linux-headers-amd64``, see :mod:`kdoctor.pipeline.retarget`).

A test that cannot run here skips saying what to install; in CI (``CI=true``) it FAILS with
that reason instead, so the end-to-end proof is never skipped silently.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn, Optional

import pytest

from kdoctor.facts.context import detect
from kdoctor.facts.kernel import installed_build_dirs, missing_build_files
from kdoctor.facts.packages import install_command
from kdoctor.knowledge.commands import install_argv, shown
from kdoctor.knowledge.packages import PACKAGES, package_name, stock_flavour, unpackaged_kernel
from kdoctor.machine.runner import Runner
from kdoctor.machine.system import System
from kdoctor.model.choice import TargetSource
from kdoctor.model.context import Context
from kdoctor.pipeline.retarget import metapackage_release

#: the markers of tests that use the real machine (counted in the suite's summary)
REAL_MARKERS = ("integration", "e2e", "matrix")

#: what provisions this machine for every real-machine test at once
ONBOARD = "run ./onboard.sh (kdoctor fix --yes)"

#: programs whose package is not named after them (kdoctor's logical package names)
_TOOL_PACKAGES = {
    "ld": "binutils",
    "qemu-system-x86_64": "qemu",
    "modinfo": "kmod",
    "insmod": "kmod",
}


@dataclass(frozen=True)
class RealTarget:
    """The kernel this machine's real-machine tests build for."""

    release: str
    #: its build directory (what kbuild calls KDIR)
    kdir: str
    #: how it was chosen: "KDIR", "settings", "running", "installed" or "archive"
    source: str
    #: the files kbuild needs that the build directory lacks (empty: usable)
    missing: tuple[str, ...]
    #: the command that installs its headers on this distribution
    install: str

    @property
    def usable(self) -> bool:
        return not self.missing

    @property
    def headers(self) -> str:
        """The build directory with links resolved (Debian: /usr/src/linux-headers-<release>)."""
        return os.path.realpath(self.kdir)


def in_ci(env: Optional[Mapping[str, str]] = None) -> bool:
    """Whether this run is CI's (``CI=true``, as GitHub Actions, GitLab and others set it)."""
    value = (os.environ if env is None else env).get("CI", "")
    return value.strip().lower() in ("true", "1", "yes")


def cannot_run(reason: str) -> NoReturn:
    """This real-machine test cannot run here: a failure in CI, else a skip saying ``reason``
    (which says what to install or run)."""
    __tracebackhide__ = True  # a skip or failure points at the test, not here
    if in_ci():
        pytest.fail(f"a real-machine test cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def require_real(ready: bool, reason: str) -> None:
    """:func:`cannot_run` with ``reason`` unless ``ready``."""
    __tracebackhide__ = True  # a skip or failure points at the test, not here
    if not ready:
        cannot_run(reason)


def derive_target(system: System) -> Optional[RealTarget]:
    """The kernel kdoctor would build for on ``system`` (None: no candidate at all)."""
    ctx = detect(system)

    def target(release: str, kdir: str, source: str) -> RealTarget:
        missing = tuple(missing_build_files(system, kdir))
        return RealTarget(release, kdir, source, missing, headers_install(ctx, release))

    if ctx.target_source is TargetSource.KDIR:
        origin = "KDIR" if system.env.get("KDIR") else "settings"
        return target(ctx.target_kernel, ctx.kdir, origin)
    running = ctx.running_kernel
    if not missing_build_files(system, ctx.kdir):
        return target(running, ctx.kdir, "running")
    installed = installed_build_dirs(system, stock_flavour(ctx))
    for release, kdir in installed.items():
        if unpackaged_kernel(release) is None:
            return target(release, kdir, "installed")
    archive = metapackage_release(ctx, None, system)
    if archive:
        return target(archive, f"/lib/modules/{archive}/build", "archive")
    if unpackaged_kernel(running) is None:
        return target(running, ctx.kdir, "running")
    return None


def headers_install(ctx: Context, release: str) -> str:
    """What a person runs to install the headers of ``release`` here."""
    return install_command(ctx, ["headers"], release=release)


@functools.cache
def machine_target() -> Optional[RealTarget]:
    """:func:`derive_target` of this machine, derived once per test session."""
    return derive_target(Runner())


def target_kernel() -> Optional[str]:
    """The release this machine's real-machine tests build for; None when there is none."""
    found = machine_target()
    return found.release if found else None


def real_kernel() -> RealTarget:
    """This machine's target kernel, its build directory usable -- or :func:`cannot_run`
    saying what to install."""
    __tracebackhide__ = True  # a skip or failure points at the test, not here
    found = machine_target()
    if found is None:
        cannot_run(f"no kernel to build for: {ONBOARD}, or set KDIR to a kernel build directory")
    if not found.usable:
        lacks = f"{found.kdir} lacks {', '.join(found.missing)}"
        if found.source == "KDIR":
            cannot_run(f"KDIR is not a usable kernel build directory ({lacks}): set KDIR to one")
        if found.source == "settings":
            cannot_run(
                f"the KDIR kdoctor persisted is not a usable kernel build directory ({lacks}): "
                f"{ONBOARD} again"
            )
        cannot_run(
            f"needs the headers of {found.release} ({found.source}; {lacks}): {found.install}, "
            f"or {ONBOARD}"
        )
    return found


def tool_install(name: str, manager: Optional[str] = "apt", is_root: bool = True) -> str:
    """What a person runs to install the program ``name`` (kdoctor's package name for it)."""
    logical = _TOOL_PACKAGES.get(name, name)
    package = package_name(manager, logical) if logical in PACKAGES else logical
    argv = install_argv(manager, [package or logical])
    if argv is None:
        return f"install {package or logical} with your distribution's package manager"
    return shown(argv, root=True, is_root=is_root)


def require_tools(*names: str) -> None:
    """:func:`cannot_run` unless every program in ``names`` is on PATH."""
    __tracebackhide__ = True  # a skip or failure points at the test, not here
    for name in names:
        if shutil.which(name) is None:
            ctx = detect(Runner())
            install = tool_install(name, ctx.package_manager, ctx.is_root)
            cannot_run(f"needs {name} on PATH: {install}")
