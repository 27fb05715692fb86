"""kernel-range: the kernels the module's build scripts accept, against the target kernel.

A guard in a ``build.rs`` of the module or of a crate it depends on by path (fishinabarrel's
``linux-kernel-module`` crate panics "Please update build.rs with the last 5.x version" on 6.x)
is read conservatively (:mod:`kdoctor.knowledge.kernel_range`); a README sentence is not a
guard. Required only when the module declares a range.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.facts.kernel import installed_build_dirs
from kdoctor.facts.module_kernel import (
    RangeReading,
    archive_header_releases,
    declared_range,
    target_version,
    version_of,
)
from kdoctor.knowledge.kernel_range import KernelRange, debian_releases_in, shown
from kdoctor.knowledge.packages import stock_flavour
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import ByHand

#: the issue that fetches other releases' headers into kdoctor's cache
KERNEL_TARGETS_ISSUE = "#11"


@register
class KernelRangeCheck(Check):
    id = "kernel-range"
    title = "the kernels the module's build scripts accept include the target"
    order = 32

    def run(self, facts: Facts) -> Finding:
        ctx = facts.ctx
        reading = facts.of(declared_range)
        version, read_from = facts.of(target_version)
        details: dict[str, Any] = {
            **reading.to_json(),
            "target": ctx.target_kernel,
            "target_version": shown(version) if version else None,
            "target_version_from": read_from,
        }
        if not reading.scripts:
            return self.finding(
                Status.SKIP,
                "no build script (build.rs) declares a kernel range",
                required=False,
                **details,
            )
        names = ", ".join(_short(ctx, s) for s in reading.scripts)
        accepted = reading.accepted
        if accepted is None:
            if reading.unreadable:
                return self._unreadable(ctx, reading, details)
            return self.finding(
                Status.OK,
                f"{names} declare(s) no kernel range",
                found=names,
                required=False,
                **details,
            )
        first_file, first = reading.guards[0]
        where = f"{_short(ctx, first_file)}:{first.line}"
        if version is None:
            return self.finding(
                Status.WARN,
                f"the module accepts {accepted.describe()} ({where}), but the target's version "
                f"could not be read from {read_from!r}",
                found=where,
                **details,
            )
        if accepted.contains(version):
            if reading.unreadable:
                return self._unreadable(ctx, reading, details, accepted, version)
            return self.ok(
                f"the target {ctx.target_kernel} (Linux {shown(version)}) is in the range the "
                f"module accepts, {accepted.describe()} ({where})",
                found=where,
                **details,
            )
        return self._outside(facts, reading, accepted, version, details)

    def _outside(
        self,
        facts: Facts,
        reading: RangeReading,
        accepted: KernelRange,
        version: tuple[int, int, int],
        details: dict[str, Any],
    ) -> Finding:
        ctx = facts.ctx
        path, guard = next(
            ((f, g) for f, g in reading.guards if not g.accepted.contains(version)),
            reading.guards[0],
        )
        where = f"{_short(ctx, path)}:{guard.line}"
        summary = (
            f"{where} `{guard.text}` accepts only {accepted.describe()}; the target "
            f"{ctx.target_kernel} is Linux {shown(version)}, so the build script stops the build"
        )
        installed = [
            r
            for r in installed_build_dirs(facts.system, stock_flavour(ctx))
            if (v := version_of(r)) and accepted.contains(v)
        ]
        details["installed_in_range"] = installed
        if installed:
            why = "the target kernel is yours to choose"
            remedy = (
                f"Headers of {', '.join(installed)} (in range) are installed: target one of "
                f"them with `kdoctor fix --kernel {installed[0]}`."
            )
            commands: tuple[str, ...] = (f"kdoctor fix --kernel {installed[0]}",)
        else:
            why, remedy, commands = self._nothing_installed(facts, accepted, details)
        return self.finding(
            Status.FAIL,
            summary,
            found=where,
            fix_text=f"Build for a kernel in {accepted.describe()}: {why}. {remedy}",
            commands=commands,
            needs=(ByHand(self.id, why, remedy),),
            ctx=ctx,
            **details,
        )

    def _nothing_installed(
        self, facts: Facts, accepted: KernelRange, details: dict[str, Any]
    ) -> tuple[str, str, tuple[str, ...]]:
        ctx = facts.ctx
        offered = facts.of(archive_header_releases)
        in_range = [r for r in offered or [] if (v := version_of(r)) and accepted.contains(v)]
        flavoured = [r for r in in_range if r.endswith(f"-{stock_flavour(ctx)}")] or in_range
        details["archive_in_range"] = in_range
        if flavoured:
            release = flavoured[0]
            remedy = (
                f"{ctx.distro.name}'s archive has headers in range: install "
                f"linux-headers-{release} and target it with `kdoctor fix --kernel {release}`."
            )
            return (
                "switching to another kernel is yours to choose",
                remedy,
                (f"apt-get install linux-headers-{release}", f"kdoctor fix --kernel {release}"),
            )
        debian = debian_releases_in(accepted) if ctx.distro.id == "debian" else []
        archive = (
            f"{ctx.distro.name}'s archive has none"
            if offered is not None
            else "the package manager could not be asked for them"
        )
        why = f"no headers of a kernel in {accepted.describe()} are installed and {archive}"
        if debian:
            why += f" ({' and '.join(debian)} ship such kernels; their headers are not in it)"
        where = (
            f"on {debian[-1]} (a machine, VM or container) with its linux-headers package"
            if debian
            else "on a release that ships a kernel in range (a machine, VM or container)"
        )
        target = facts.of(target_version)[0]
        port = f"Linux {target[0]}.{target[1]}" if target else "the target kernel"
        remedy = (
            "Target a kernel in range with `kdoctor fix --kernel <release>` once its headers are "
            f"on this machine. What would work: build {where}, or point KDIR at the "
            f"build directory of a kernel in range that you built, or port the crate to {port}. "
            "Fetching another release's headers into kdoctor's cache is the kernel-targets issue "
            f"({KERNEL_TARGETS_ISSUE}); until then kdoctor fix cannot."
        )
        return why, remedy, ()

    def _unreadable(
        self,
        ctx: Context,
        reading: RangeReading,
        details: dict[str, Any],
        accepted: Optional[KernelRange] = None,
        version: Optional[tuple[int, int, int]] = None,
    ) -> Finding:
        path, item = reading.unreadable[0]
        where = f"{_short(ctx, path)}:{item.line}"
        lead = (
            f"the target is in the range read ({accepted.describe()}), but "
            if accepted and version
            else ""
        )
        return self.finding(
            Status.WARN,
            f"{lead}could not read the range: {where} `{item.text}` speaks of the kernel's "
            "version in a form kdoctor does not read",
            found=where,
            fix_text=f"Read {where} and make sure it accepts {ctx.target_kernel}.",
            required=False,
            **details,
        )


def _short(ctx: Context, path: str) -> str:
    """``path`` relative to the module directory when inside it (``../x/build.rs`` too)."""
    relative = os.path.relpath(path, ctx.module_dir)
    return relative if not relative.startswith("../../../") else path
