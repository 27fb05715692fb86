"""rustup: what installs and selects the pinned toolchain (not needed for the distro's rustc)."""

from __future__ import annotations

from typing import Any

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.facts.rust import rust_toolchain, rustup_location
from kdoctor.facts.rustc import RustToolchain
from kdoctor.facts.rustup import install_command, rustup_version
from kdoctor.i18n import N_, _
from kdoctor.knowledge.commands import need_commands
from kdoctor.knowledge.packages import package_need, rustup_packaged
from kdoctor.knowledge.rust_dist import RUST_HOST
from kdoctor.machine.system import System
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import Rustup


def wanted_rustup(ctx: Context, system: System) -> Rustup:
    """rustup as this machine can get it: the distribution's package, else the snap, else
    the official installer."""
    package = package_need(ctx.package_manager, "rustup") if rustup_packaged(ctx) else None
    return Rustup(package, snap=package is None and system.which("snap") is not None)


def install_text(wanted: Rustup) -> str:
    if wanted.method == "package":
        return _("Install rustup from your distribution.")
    if wanted.method == "snap":
        return _(
            "Your distribution does not package rustup; install the snap (classic confinement)."
        )
    return _(
        "Your distribution does not package rustup; the official installer downloads and runs "
        "a script from sh.rustup.rs (kdoctor fix runs it only with --allow-rustup-installer)."
    )


@register
class RustupCheck(Check):
    id = "rustup"
    host_tool = True
    title = N_("rustup, to install and select the pinned toolchain")

    def run(self, facts: Facts) -> Finding:
        ctx, system = facts.ctx, facts.system
        if ctx.env.get("RUSTC"):
            return self.finding(
                Status.SKIP,
                _("not needed: {setting} is used").format(setting=f"RUSTC={ctx.env['RUSTC']}"),
                required=False,
                path=None,
                version=None,
                on_path=None,
                method=None,
            )
        if ctx.rust_mode == "distro":
            return self.finding(
                Status.SKIP,
                _("not needed: --rust distro"),
                required=False,
                path=None,
                version=None,
                on_path=None,
                method=None,
            )
        chosen = facts.of(rust_toolchain)
        path, on_path = facts.of(rustup_location)
        if ctx.pin is None and chosen.source != "rustup":
            return self.finding(
                Status.SKIP,
                _(
                    "not needed: the module pins no toolchain and the build uses the "
                    "distribution's rustc"
                )
                if chosen.source == "distro"
                else _("not needed: the module pins no toolchain and the build uses another rustc"),
                required=False,
                path=path,
                version=None,
                on_path=on_path,
                method=None,
            )
        if path is None:
            return self._missing(ctx, system, chosen)
        version, problem = rustup_version(system, path)
        details: dict[str, Any] = {
            "path": path,
            "version": version,
            "on_path": on_path,
            "method": None,
        }
        if problem is not None:
            return self.finding(
                Status.WARN if chosen.source == "distro" else Status.FAIL,
                _("rustup at {path} is not working: {problem}").format(path=path, problem=problem),
                found=path,
                fix_text=_(
                    "Run rustup by hand to see what is wrong; reinstall it if it stays broken."
                ),
                commands=(f"{path} --version",),
                **details,
            )
        directory = path.rsplit("/", 1)[0]
        if chosen.source == "distro":
            summary = (
                _("rustup {version}, but {reason}")
                if on_path
                else _("rustup {version}, but {reason}; {directory} is not on PATH")
            )
            return self.finding(
                Status.WARN,
                summary.format(version=version, reason=chosen.reason, directory=directory),
                found=f"{version} ({path})",
                fix_text=_(
                    "The build works with the distribution's rustc. To use the pinned "
                    "toolchain instead, install {toolchain} (needs access to {host})."
                ).format(toolchain=ctx.pinned.channel, host=RUST_HOST),
                commands=(install_command(ctx),),
                **details,
            )
        summary = (
            f"rustup {version}"
            if on_path
            else _("rustup {version}; {directory} is not on PATH").format(
                version=version, directory=directory
            )
        )
        return self.ok(summary, found=f"{version} ({path})", **details)

    def _missing(self, ctx: Context, system: System, chosen: RustToolchain) -> Finding:
        wanted = wanted_rustup(ctx, system)
        text = install_text(wanted)
        details: dict[str, Any] = {
            "path": None,
            "version": None,
            "on_path": False,
            "method": wanted.method,
        }
        if chosen.source == "distro":
            commands = need_commands([wanted], manager=ctx.package_manager, is_root=ctx.is_root)
            return self.finding(
                Status.WARN,
                chosen.reason,
                fix_text=_(
                    "The build works without it. To use the pinned toolchain: {text}"
                ).format(text=text),
                commands=tuple(commands),
                **details,
            )
        return self.finding(
            Status.FAIL,
            _("rustup is not installed; it is needed to install {toolchain}").format(
                toolchain=ctx.pinned.channel
            ),
            fix_text=text,
            needs=(wanted,),
            ctx=ctx,
            **details,
        )
