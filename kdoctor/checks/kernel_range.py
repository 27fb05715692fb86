"""kernel-range: the kernels the module's build scripts accept, against the target kernel.

A guard in a ``build.rs`` of the module or of a crate it depends on by path (fishinabarrel's
``linux-kernel-module`` crate panics "Please update build.rs with the last 5.x version" on 6.x)
is read conservatively (:mod:`kdoctor.knowledge.kernel_range`); a README sentence is not a
guard. Required only when the module declares a range.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from kdoctor.checks.base import Check, joined, register
from kdoctor.facts import Facts
from kdoctor.facts.kernel import installed_build_dirs
from kdoctor.facts.module_kernel import (
    RangeReading,
    archive_header_releases,
    declared_range,
    target_version,
    version_of,
)
from kdoctor.i18n import N_, _, ngettext
from kdoctor.knowledge import debian_kernels
from kdoctor.knowledge.kernel_range import KernelRange, debian_releases_in, shown
from kdoctor.knowledge.packages import stock_flavour
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import ByHand


@register
class KernelRangeCheck(Check):
    id = "kernel-range"
    title = N_("the kernels the module's build scripts accept include the target")

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
                _("no build script (build.rs) declares a kernel range"),
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
                ngettext(
                    "{scripts} declares no kernel range",
                    "{scripts} declare no kernel range",
                    len(reading.scripts),
                ).format(scripts=names),
                found=names,
                required=False,
                **details,
            )
        first_file, first = reading.guards[0]
        where = f"{_short(ctx, first_file)}:{first.line}"
        if version is None:
            return self.finding(
                Status.WARN,
                _(
                    "the module accepts {range} ({where}), but the target's version "
                    "could not be read from {source}"
                ).format(range=accepted.describe(), where=where, source=repr(read_from)),
                found=where,
                **details,
            )
        if accepted.contains(version):
            if reading.unreadable:
                return self._unreadable(ctx, reading, details, accepted, version)
            return self.ok(
                _(
                    "the target {kernel} (Linux {version}) is in the range the "
                    "module accepts, {range} ({where})"
                ).format(
                    kernel=ctx.target_kernel,
                    version=shown(version),
                    range=accepted.describe(),
                    where=where,
                ),
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
        summary = _(
            "{where} `{guard}` accepts only {range}; the target "
            "{kernel} is Linux {version}, so the build script stops the build"
        ).format(
            where=where,
            guard=guard.text,
            range=accepted.describe(),
            kernel=ctx.target_kernel,
            version=shown(version),
        )
        installed = [
            r
            for r in installed_build_dirs(facts.system, stock_flavour(ctx))
            if (v := version_of(r)) and accepted.contains(v)
        ]
        details["installed_in_range"] = installed
        if installed:
            why = _("the target kernel is yours to choose")
            remedy = _(
                "Headers of {releases} (in range) are installed: target one of "
                "them with `{command}`."
            ).format(releases=", ".join(installed), command=f"kdoctor fix --kernel {installed[0]}")
            commands: tuple[str, ...] = (f"kdoctor fix --kernel {installed[0]}",)
        else:
            why, remedy, commands = self._nothing_installed(facts, accepted, details)
        return self.finding(
            Status.FAIL,
            summary,
            found=where,
            fix_text=_("Build for a kernel in {range}: {why}. {remedy}").format(
                range=accepted.describe(), why=why, remedy=remedy
            ),
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
            remedy = _(
                "{distro}'s archive has headers in range: install "
                "{package} and target it with `{command}`."
            ).format(
                distro=ctx.distro.name,
                package=f"linux-headers-{release}",
                command=f"kdoctor fix --kernel {release}",
            )
            return (
                _("switching to another kernel is yours to choose"),
                remedy,
                (f"apt-get install linux-headers-{release}", f"kdoctor fix --kernel {release}"),
            )
        debian = debian_releases_in(accepted) if ctx.distro.id == "debian" else []
        archive = (
            _("{distro}'s archive has none").format(distro=ctx.distro.name)
            if offered is not None
            else _("the package manager could not be asked for them")
        )
        why = _("no headers of a kernel in {range} are installed and {archive}").format(
            range=accepted.describe(), archive=archive
        )
        if debian:
            why = _("{why} ({releases} ship such kernels; their headers are not in it)").format(
                why=why, releases=joined(debian)
            )
        where = (
            _("on {release} (a machine, VM or container) with its linux-headers package").format(
                release=debian[-1]
            )
            if debian
            else _("on a release that ships a kernel in range (a machine, VM or container)")
        )
        target = facts.of(target_version)[0]
        port = f"Linux {target[0]}.{target[1]}" if target else _("the target kernel")
        series = fetchable_series(accepted) if ctx.package_manager == "apt" else []
        if series:
            # kdoctor fix --kernel SERIES fetches a Debian series' headers and image into the cache
            chosen = series[-1]
            remedy = _(
                "Target a kernel in range: `{command}` fetches the headers and image of "
                "Debian {suite}'s Linux {series} into kdoctor's cache (nothing is installed on "
                "the system) and targets it. Also: build {where}, or point KDIR at the build "
                "directory of a kernel in range that you built, or port the crate to {port}."
            ).format(
                command=f"kdoctor fix --kernel {chosen}",
                suite=debian_kernels.SERIES[chosen],
                series=chosen,
                where=where,
                port=port,
            )
            return why, remedy, (f"kdoctor fix --kernel {chosen}",)
        remedy = _(
            "Target a kernel in range with `{command}` once its headers are "
            "on this machine. What would work: build {where}, or point KDIR at the "
            "build directory of a kernel in range that you built, or port the crate to {port}."
        ).format(command="kdoctor fix --kernel <release>", where=where, port=port)
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
        summary = (
            _(
                "the target is in the range read ({range}), but could not read the range: "
                "{where} `{text}` speaks of the kernel's version in a form kdoctor does not read"
            )
            if accepted and version
            else _(
                "could not read the range: {where} `{text}` speaks of the kernel's "
                "version in a form kdoctor does not read"
            )
        )
        return self.finding(
            Status.WARN,
            summary.format(
                range=accepted.describe() if accepted else "", where=where, text=item.text
            ),
            found=where,
            fix_text=_("Read {where} and make sure it accepts {kernel}.").format(
                where=where, kernel=ctx.target_kernel
            ),
            required=False,
            **details,
        )


def _short(ctx: Context, path: str) -> str:
    """``path`` relative to the module directory when inside it (``../x/build.rs`` too)."""
    relative = os.path.relpath(path, ctx.module_dir)
    return relative if not relative.startswith("../../../") else path


def fetchable_series(accepted: KernelRange) -> list[str]:
    """The Debian series (``5.10``, ``6.1``, ``6.12``) in ``accepted``, oldest first: those
    ``kdoctor fix --kernel SERIES`` fetches into kdoctor's cache and targets."""
    found = []
    for series in debian_kernels.SERIES:
        major, minor = (int(part) for part in series.split("."))
        if accepted.contains((major, minor, 0)):
            found.append(series)
    return sorted(found, key=lambda s: tuple(int(p) for p in s.split(".")))
