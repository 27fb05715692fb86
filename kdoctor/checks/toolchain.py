"""toolchain: the Rust compiler the build will use, and for the pin, that rustc really picks it."""

from __future__ import annotations

from typing import Any, Optional

from kdoctor.checks.base import Check, register
from kdoctor.checks.variables import correction
from kdoctor.facts import Facts
from kdoctor.facts.probe_request import ProbeRequest
from kdoctor.facts.rust import pin_status, rust_toolchain
from kdoctor.facts.rust_prefetch import likely_rust_probes
from kdoctor.facts.rustc import MIN_RUSTC, RustToolchain
from kdoctor.facts.rustup import (
    PinState,
    active_toolchain,
    find_override,
    install_command,
    names_pin,
    pin_name,
    pin_need,
)
from kdoctor.facts.toolchain_pin import pin_files, pin_label, pin_origin
from kdoctor.i18n import N_, _
from kdoctor.knowledge.commands import package_names
from kdoctor.knowledge.packages import package_need, rust_logical
from kdoctor.knowledge.rust_dist import RUST_HOST
from kdoctor.machine.system import System
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import Package, RustOverride


def distro_logical(ctx: Context, *parts: str) -> list[str]:
    """Logical package names for parts of the distribution's Rust (``rustc``, ``rust-src``)."""
    return [rust_logical(ctx, part) for part in parts]


def distro_needs(ctx: Context, *parts: str) -> tuple[Package, ...]:
    """The distribution's Rust (``rustc``, ``rust-src``) as package needs."""
    return tuple(package_need(ctx.package_manager, n) for n in distro_logical(ctx, *parts))


def bootstrap_note(chosen: RustToolchain) -> str:
    if chosen.env.get("RUSTC_BOOTSTRAP"):
        return _("{channel}, built with RUSTC_BOOTSTRAP=1 as the kernel does").format(
            channel=chosen.channel
        )
    return chosen.channel or _("unknown channel")


@register
class ToolchainCheck(Check):
    id = "toolchain"
    host_tool = True
    title = N_("the Rust toolchain the module is built with")
    variables = ("RUSTC", "RUSTUP_TOOLCHAIN")

    def prefetch(self, facts: Facts) -> list[ProbeRequest]:
        """rustup's list, the likely rustc's version, sysroot and ``-Z help``, rustfmt's and
        rustup's versions: started at once instead of one after another."""
        return likely_rust_probes(facts.ctx, facts.system)

    def run(self, facts: Facts) -> Finding:
        ctx = facts.ctx
        if ctx.pin_problem:
            return self.refused_pin(ctx, facts.system, ctx.pin_problem)
        chosen = facts.of(rust_toolchain)
        details: dict[str, Any] = {
            "source": chosen.source,
            "rustc": chosen.rustc,
            "version": chosen.version,
            "channel": chosen.channel,
            "reason": chosen.reason,
            "override": None,
            "active": None,
            "pin": pin_name(ctx) if ctx.pin else None,
            "installed": None,
            "env": dict(chosen.env),
            "logical": [],
            "packages": [],
        }
        if chosen.source == "pin" and ctx.pin is None:  # --rust pin, and the module pins none
            return self.finding(
                Status.FAIL,
                chosen.reason,
                fix_text=_(
                    "Build with the toolchain your environment selects (--rust auto), or "
                    "pin one in the module's rust-toolchain.toml."
                ),
                **details,
            )
        if chosen.source == "pin":
            return self._pin(facts, chosen, details)
        if chosen.source == "distro" and ctx.rust_mode == "auto":
            details["installed"] = facts.of(pin_status).installed
        return self._compiler(facts, chosen, details)

    def refused_pin(self, ctx: Context, system: System, problem: str) -> Finding:
        """The module's pin file is there but cannot be used: not a regular file (a FIFO would
        hang every reader, a device never ends), not TOML, no channel, or a channel that is no
        toolchain name. The module's toolchain is unknown; nothing else is assumed."""
        places = pin_files(ctx.module_dir)
        path = next((p for p in places if problem.startswith((p + " ", p + ":"))), None)
        if path is None:  # RUSTUP_TOOLCHAIN or a rustup override names no toolchain
            return self.finding(
                Status.FAIL,
                _("{problem}, so the toolchain the module pins is unknown").format(problem=problem),
                fix_text=_(
                    "Name a toolchain rustup can install there (`rustup override set NAME`, "
                    "`RUSTUP_TOOLCHAIN=NAME`), or remove it."
                ),
                problem=problem,
            )
        # refused before it was parsed (a FIFO, a device, too big): asked of the file, not of
        # the sentence, which is in the person's language
        unread = system.read_file(path).problem is not None
        return self.finding(
            Status.FAIL,
            (
                _("{problem}; kdoctor did not read it, so the toolchain the module pins is unknown")
                if unread
                else _("{problem}, so the toolchain the module pins is unknown")
            ).format(problem=problem),
            found=path,
            fix_text=(
                _(
                    "Replace {path} with a regular file that names the toolchain "
                    "([toolchain] channel = ...), or remove it; cargo and rustup would hang on "
                    "it too."
                )
                if unread
                else _(
                    "Write the module's toolchain into {path} as `[toolchain]` with "
                    "{channel} (the channel the module needs), or remove the "
                    "file to build with the toolchain your environment selects. kdoctor fix does "
                    "not change it: it is the module's own file."
                )
            ).format(path=path, channel='`channel = "nightly-2021-02-12"`'),
            pin_file=path,
            problem=problem,
        )

    # -- the pinned toolchain -------------------------------------------------------------
    def _pin(self, facts: Facts, chosen: RustToolchain, details: dict[str, Any]) -> Finding:
        ctx, system = facts.ctx, facts.system
        channel = ctx.pinned.channel
        state = facts.of(pin_status)
        details["installed"] = state.installed
        if state.rustup is not None and state.installed is None:
            return self.finding(
                Status.FAIL,
                _("cannot tell whether {toolchain} is installed: {problem}").format(
                    toolchain=channel, problem=state.problem
                ),
                found=state.rustup,
                fix_text=_(
                    "rustup is not working; run it by hand to see why, and reinstall it if "
                    "it stays broken."
                ),
                commands=(f"{state.rustup} toolchain list",),
                **details,
            )
        if not state.installed:
            return self._not_installed(ctx, chosen, state, details)
        active = active_toolchain(ctx, system, state.rustup or "rustup")
        details["active"] = active.toolchain
        override = find_override(ctx, system, state.rustup or "rustup", active)
        if override is not None:
            details["override"] = override.to_json()
            what = (
                override.describe()
                if override.kind == "env"
                else _("a rustup override for {path} ({toolchain})").format(
                    path=override.path, toolchain=override.toolchain
                )
            )
            return self.finding(
                Status.FAIL,
                _(
                    "{toolchain} is installed, but {what} makes rustc in the module directory "
                    "use another toolchain"
                ).format(toolchain=channel, what=what),
                found=chosen.rustc,
                fix_text=_("Remove the override so that {toolchain} from {file} is used.").format(
                    toolchain=channel,
                    file=ctx.pinned.path or pin_origin(ctx.pinned, ctx.module_dir),
                ),
                needs=(RustOverride(override.toolchain, override.path),),
                ctx=ctx,
                **details,
            )
        if chosen.rustc is None or chosen.version is None:
            return self.finding(
                Status.FAIL,
                _("{toolchain} is installed but its rustc does not work: {problem}").format(
                    toolchain=channel, problem=chosen.problems[0]
                ),
                found=chosen.rustc,
                fix_text=_(
                    "Reinstall {toolchain} (kdoctor never removes a toolchain itself)."
                ).format(toolchain=channel),
                commands=(f"rustup toolchain uninstall {channel}", install_command(ctx)),
                **details,
            )
        found = f"{chosen.version} ({chosen.rustc})"
        if active.toolchain is not None and names_pin(ctx, active.toolchain):
            return self.ok(
                _("{toolchain} (rustc {version}) is installed and selected in {directory}").format(
                    toolchain=channel, version=chosen.version, directory=ctx.module_dir
                ),
                found=found,
                **details,
            )
        if active.toolchain is None:
            seen = _("rustup could not say what rustc in {directory} selects: {problem}").format(
                directory=ctx.module_dir, problem=active.problem
            )
        else:
            seen = _("rustc in {directory} selects {toolchain} ({kind})").format(
                directory=ctx.module_dir, toolchain=active.toolchain, kind=active.kind
            )
        return self.finding(
            Status.WARN,
            _("{toolchain} is installed, but {seen}").format(toolchain=channel, seen=seen),
            found=found,
            fix_text=_(
                "kdoctor build runs {rustc} with {setting}; do the same when building by hand."
            ).format(rustc=chosen.rustc, setting=f"RUSTUP_TOOLCHAIN={channel}"),
            commands=(f"export RUSTUP_TOOLCHAIN={channel}",),
            **details,
        )

    def _not_installed(
        self,
        ctx: Context,
        chosen: RustToolchain,
        state: PinState,
        details: dict[str, Any],
    ) -> Finding:
        channel = ctx.pinned.channel
        if ctx.rust_mode == "auto":
            alternative = distro_needs(ctx, "rustc", "rust-src")
            details["logical"] = [p.logical for p in alternative]
            details["packages"] = package_names(alternative)
            summary = chosen.reason
            text = _(
                "Install {toolchain} with rustup, or the distribution's Rust compiler and its "
                "library sources (then kdoctor uses those)."
            ).format(toolchain=channel)
        else:
            alternative = ()
            summary = (
                _("{toolchain} is not installed (rustup is missing)")
                if state.rustup is None
                else _("{toolchain} is not installed")
            ).format(toolchain=pin_label(ctx.pinned, ctx.module_dir))
            text = _("Install {toolchain} with the components the module needs.").format(
                toolchain=channel
            )
        if state.rustup is None:
            text += " " + _("rustup comes first (see the rustup check).")
        wanted = pin_need(ctx, alternative)
        return self.finding(
            Status.FAIL, summary, fix_text=text, needs=(wanted,), ctx=ctx, **details
        )

    # -- the distribution's rustc, or RUSTC ---------------------------------------------------
    def _compiler(self, facts: Facts, chosen: RustToolchain, details: dict[str, Any]) -> Finding:
        ctx = facts.ctx
        found: Optional[str] = (
            f"{chosen.version} ({chosen.rustc})" if chosen.version else chosen.rustc
        )
        broken = chosen.rustc is None or chosen.version is None
        too_old = not broken and chosen.too_old
        if chosen.source == "rustup":  # the module pins nothing; rustup selects a toolchain
            if broken or too_old:
                return self.finding(
                    Status.FAIL,
                    chosen.problems[0],
                    found=found,
                    fix_text=_(
                        "The toolchain rustup selects in the module's directory does not "
                        "work; install or select another (`rustup default stable`), or pin one "
                        "in the module's rust-toolchain.toml."
                    ),
                    **details,
                )
            return self.ok(
                _("rustc {version}: {reason} ({note})").format(
                    version=chosen.version, reason=chosen.reason, note=bootstrap_note(chosen)
                ),
                found=found,
                **details,
            )
        if chosen.source == "env":
            if broken or too_old:
                own = correction(
                    facts,
                    self.id,
                    "RUSTC",
                    None,
                    then=_("the build then uses the toolchain kdoctor chooses"),
                    otherwise=_("point it at a working rustc {minimum} or newer").format(
                        minimum=MIN_RUSTC
                    ),
                )
                return self.finding(
                    Status.FAIL,
                    chosen.problems[0],
                    found=found,
                    fix_text=own.text,
                    needs=own.needs,
                    ctx=ctx,
                    **details,
                )
            return self.ok(
                _("rustc {version} from RUSTC ({note})").format(
                    version=chosen.version, note=bootstrap_note(chosen)
                ),
                found=found,
                **details,
            )
        packages = distro_needs(ctx, "rustc", "rust-src")
        details["logical"] = [p.logical for p in packages]
        details["packages"] = package_names(packages)
        if broken or too_old:
            return self.finding(
                Status.FAIL,
                chosen.problems[0],
                found=found,
                fix_text=_(
                    "Install the distribution's Rust compiler ({minimum} or newer) "
                    "and its library sources."
                ).format(minimum=MIN_RUSTC),
                needs=packages,
                ctx=ctx,
                **details,
            )
        summary = _("the distribution's rustc {version} ({note})").format(
            version=chosen.version, note=bootstrap_note(chosen)
        )
        if ctx.rust_mode == "distro":
            return self.ok(summary, found=found, **details)
        if ctx.pin is None:
            return self.ok(
                _("{rustc}: the module pins no toolchain").format(rustc=summary),
                found=found,
                **details,
            )
        return self.finding(
            Status.WARN,
            chosen.reason,
            found=found,
            fix_text=_(
                "The module builds with {rustc}. To build with the pinned toolchain "
                "instead, install {toolchain} (needs access to {host})."
            ).format(rustc=summary, toolchain=ctx.pinned.channel, host=RUST_HOST),
            commands=(install_command(ctx),),
            **details,
        )
