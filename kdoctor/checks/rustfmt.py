"""rustfmt: formats the module's Rust code (and bindgen's output); nice to have, never required."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.facts.packages import not_packaged
from kdoctor.facts.rust import pin_status, rust_toolchain
from kdoctor.facts.rustc import RustToolchain
from kdoctor.facts.rustup import RUSTC_TIMEOUT, is_rustup_shim, on_path
from kdoctor.i18n import N_, _
from kdoctor.knowledge import versions
from kdoctor.knowledge.commands import need_commands
from kdoctor.knowledge.packages import package_need, rust_logical
from kdoctor.machine.system import System
from kdoctor.model.choice import RustMode
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.model.need import RustComponent


@register
class RustfmtCheck(Check):
    id = "rustfmt"
    host_tool = True
    title = N_("rustfmt, to format Rust code")
    required = False

    def run(self, facts: Facts) -> Finding:
        ctx, system = facts.ctx, facts.system
        chosen = facts.of(rust_toolchain)
        details: dict[str, Any] = {
            "path": chosen.rustfmt,
            "version": None,
            "source": chosen.source,
            "component": None,
            "toolchain": None,
            "logical": [],
            "packages": [],
        }
        if chosen.source == "pin" and chosen.rustc is None:
            if ctx.rust_mode == RustMode.AUTO and facts.of(pin_status).installed is not True:
                return self._with_the_rust(ctx, chosen, details)
            return self.finding(
                Status.SKIP,
                _("nothing to look at: {problem} (see the toolchain check)").format(
                    problem=chosen.problems[0]
                ),
                **details,
            )
        if chosen.rustfmt is None:
            return self._missing(ctx, system, chosen, details)
        probe = system.probe([chosen.rustfmt, "--version"], timeout=RUSTC_TIMEOUT)
        version = versions.word_version(probe.stdout, "rustfmt") if probe.ok else None
        details["version"] = str(version) if version else None
        if version is None:
            why = probe.describe_failure() if not probe.ok else _("unrecognised --version output")
            return self.finding(
                Status.WARN,
                _("{path} does not work: {why}").format(path=chosen.rustfmt, why=why),
                found=chosen.rustfmt,
                fix_text=_("Formatting is optional; reinstall rustfmt to get it back."),
                **details,
            )
        return self.ok(f"rustfmt {version}", found=f"{version} ({chosen.rustfmt})", **details)

    def _with_the_rust(
        self, ctx: Context, chosen: RustToolchain, details: dict[str, Any]
    ) -> Finding:
        """No Rust yet under ``--rust auto``: which one comes (the pin, or the distribution's
        Rust standing in for it) is the Rust planner's choice, so rustfmt is asked of the pin as
        a component and the planner gives it the form of the Rust it installs (the pin's
        component, or the distribution's package): one ``kdoctor fix`` brings it along."""
        channel = ctx.pinned.channel
        details.update(component="rustfmt", toolchain=channel)
        text = _(
            "rustfmt only formats code; kdoctor fix installs it with the Rust it installs "
            "(the pin's component, or the distribution's rustfmt)."
        )
        asked = self.finding(
            Status.WARN,
            _("no rustfmt yet: {problem} (see the toolchain check)").format(
                problem=chosen.problems[0]
            ),
            fix_text=text,
            needs=(RustComponent(channel, "rustfmt"),),
            ctx=ctx,
            **details,
        )
        # no command by hand: `rustup component add` needs the pin, which is not there yet
        return replace(asked, remediation=Remediation(text))

    def _missing(
        self, ctx: Context, system: System, chosen: RustToolchain, details: dict[str, Any]
    ) -> Finding:
        if chosen.source == "pin":
            details.update(component="rustfmt", toolchain=ctx.pinned.channel)
            return self.finding(
                Status.WARN,
                _("the rustfmt component of {toolchain} is not installed").format(
                    toolchain=ctx.pinned.channel
                ),
                fix_text=_("rustfmt only formats code; add the component to have it."),
                needs=(RustComponent(ctx.pinned.channel, "rustfmt"),),
                ctx=ctx,
                **details,
            )
        wanted = package_need(ctx.package_manager, rust_logical(ctx, "rustfmt"))
        details.update(logical=[wanted.logical], packages=list(wanted.candidates))
        # only the distribution's rustc pairs with the distribution's rustfmt
        needs = (wanted,) if chosen.source == "distro" else ()
        by_hand = need_commands([wanted], manager=ctx.package_manager, is_root=ctx.is_root)
        text = _("Install the distribution's rustfmt to format the module's code.")
        if needs and not_packaged(system, ctx.package_manager, wanted):
            # no kdoctor fix can install what the repository does not have: no need, no hint
            needs, by_hand = (), []
            text = _(
                "{manager} knows no {package}: this release does not package it (Debian 11 has "
                "no rustfmt); formatting is optional, the module builds without it."
            ).format(manager=ctx.package_manager, package=", ".join(wanted.candidates))
        shims = [p for p in on_path(system, "rustfmt") if is_rustup_shim(system, p)]
        return self.finding(
            Status.WARN,
            _("no rustfmt besides rustup's shim {path} (it only formats code)").format(
                path=shims[0]
            )
            if shims
            else _("no rustfmt on PATH (it only formats code)"),
            fix_text=text,
            commands=tuple(by_hand),
            needs=needs,
            ctx=ctx,
            **details,
        )
