"""rust: decides ONCE where the module's Rust comes from, and plans it.

``--rust`` decides:

* ``pin``: rustup (installed first when missing), then the pinned toolchain with the components
  the module needs, or only the missing components; a rustup directory override that hides the
  pin is unset;
* ``distro``: nothing here (the checks ask for the distribution's packages directly);
* ``auto``: when the distribution's rustc is usable, nothing (the notes say it is used and why);
  when neither it nor the pin is, the pin if rustup is installed and static.rust-lang.org can be
  reached, else the distribution's packages, handed to the packages planner so they join its one
  transaction, with the packages of the pin's components the checks asked for (rustfmt). The
  notes say which and why.

rustup comes from the distribution's package when there is one (handed on to the packages
planner as well), else the snap, else the official installer, which downloads and runs a script
and so runs only with consent (``kdoctor fix --allow-rustup-installer``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Optional, cast

from kdoctor.facts import Facts, rust
from kdoctor.facts.rustup import find_rustup
from kdoctor.fixes.base import Ask, Decision, Fix, asks_of, findings_of, register
from kdoctor.i18n import _
from kdoctor.knowledge.commands import (
    component_argv,
    override_argv,
    package_names,
    toolchain_argv,
)
from kdoctor.knowledge.packages import INSTALL, package_need, rust_logical
from kdoctor.knowledge.rust_dist import RUST_HOST
from kdoctor.machine.system import System
from kdoctor.model import need
from kdoctor.model.choice import RustMode
from kdoctor.model.context import Context
from kdoctor.model.plan import PlanOptions, Step

#: a read-only look at whether the host answers at all (any HTTP status will do)
REACH_PROBE = ("curl", "-sSI", "--max-time", "5", f"https://{RUST_HOST}/")
REACH_TIMEOUT = 8.0
#: rustup steps print one-line errors (a set RUST_BACKTRACE adds a stack trace) without colours
RUSTUP_ENV = {"RUST_BACKTRACE": "0", "RUSTUP_TERM_COLOR": "never"}
#: the official installer: rustup only (no toolchain; this planner installs the pin). ``set -e``
#: and the command substitution make a failed download fail the step (a plain ``curl | sh``
#: would run an empty script and report success).
INSTALLER_SCRIPT = (
    "set -e; installer=$(curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs); "
    "printf '%s\\n' \"$installer\" | sh -s -- -y --profile minimal --default-toolchain none"
)
SNAP_BIN = "/snap/bin"


def reach_rust(system: System) -> tuple[bool, str]:
    """(whether static.rust-lang.org answers, why not)."""
    if system.which("curl") is None:
        return False, _("could not check: curl is not installed")
    probe = system.probe(list(REACH_PROBE), timeout=REACH_TIMEOUT)
    if probe.ok:
        return True, ""
    return False, probe.describe_failure()


def auto_choice(ctx: Context, pin: need.RustToolchain, system: System) -> tuple[str, str]:
    """With ``--rust auto`` and neither toolchain usable: (``pin``, ``distro`` or ``none``,
    why)."""
    can_package = bool(pin.alternative) and ctx.package_manager in INSTALL
    rustup, _on_path = find_rustup(system)
    if rustup is not None:
        reachable, problem = reach_rust(system)
        if reachable:
            return "pin", _("rustup is installed and {host} can be reached").format(host=RUST_HOST)
        why = _("{host} cannot be reached ({problem})").format(host=RUST_HOST, problem=problem)
    elif can_package:
        why = _("rustup is not installed")
    else:
        reachable, problem = reach_rust(system)
        if reachable:
            return "pin", _(
                "the distribution has no Rust packages kdoctor knows, and {host} can be reached"
            ).format(host=RUST_HOST)
        why = _("rustup is not installed and {host} cannot be reached ({problem})").format(
            host=RUST_HOST, problem=problem
        )
    if can_package:
        return "distro", why
    return "none", _("{why}; the distribution has no Rust packages kdoctor knows").format(why=why)


def rustup_after(
    ctx: Context, system: System, wanted: Optional[need.Rustup], options: PlanOptions
) -> Optional[str]:
    """The rustup command steps can run after this plan: the installed one, else where the
    planned install puts it; None when rustup stays missing (no consent to the installer)."""
    found, on_path = find_rustup(system)
    if found is not None:
        return "rustup" if on_path else found
    method = wanted.method if wanted is not None else "script"
    if method == "package":
        return "rustup"
    if method == "snap":
        return os.path.join(SNAP_BIN, "rustup")
    if not options.allow_rustup_installer:
        return None
    home = system.env.get("CARGO_HOME") or os.path.join(system.env.get("HOME", "/root"), ".cargo")
    return os.path.join(home, "bin", "rustup")


@register
class RustFix(Fix):
    id = "rust"
    title = "the Rust toolchain: rustup, the pin and its components, or the distribution's Rust"
    order = 30
    handles = (need.RustToolchain, need.Rustup, need.RustComponent, need.RustOverride)
    stage = 0  # decides first: the distribution's Rust joins the packages planner's transaction

    def plan(self, facts: Facts, asks: Sequence[Ask], options: PlanOptions) -> Decision:
        ctx, system = facts.ctx, facts.system
        decision = Decision()
        if ctx.rust_mode == RustMode.DISTRO:
            return decision
        pins = asks_of(asks, need.RustToolchain)
        rustups = asks_of(asks, need.Rustup)
        wanted = cast(need.Rustup, rustups[0].need) if rustups else None
        choice = ""
        if pins:
            pin = cast(need.RustToolchain, pins[0].need)
            choice, why = (
                ("pin", "") if ctx.rust_mode == RustMode.PIN else auto_choice(ctx, pin, system)
            )
            decision.notes += self._choice_notes(ctx, pin, choice, why)
            if choice == "distro":
                decision.handed_on += [need_ask(pins[0], p) for p in pin.alternative]
        if rustups and (choice == "pin" or (not pins and ctx.rust_mode == RustMode.PIN)):
            self._rustup(ctx, rustups[0], options, decision)
        rustup = rustup_after(ctx, system, wanted, options)
        components = asks_of(asks, need.RustComponent)
        if choice == "distro":  # the pin's components come as the distribution's packages
            decision.handed_on += distro_components(ctx, components)
            components = [a for a in components if not of_the_pin(ctx, a)]
        if choice == "pin" and rustup is None:
            decision.notes.append(
                _("{channel} can be installed once rustup is (see the note on rustup).").format(
                    channel=ctx.pinned.channel
                )
            )
        elif choice == "pin" and rustup is not None:
            decision.steps.append(self._install(pins[0], components, rustup))
        elif rustup is not None:
            decision.steps += self._components(components, rustup)
        for ask in asks_of(asks, need.RustOverride):
            decision.steps += self._unset(ask, rustup, decision)
        if not pins and ctx.rust_mode == RustMode.AUTO:
            decision.notes += self._using_distro(facts)
        return decision

    # -- rustup --------------------------------------------------------------------------------
    def _rustup(self, ctx: Context, ask: Ask, options: PlanOptions, decision: Decision) -> None:
        wanted = cast(need.Rustup, ask.need)
        why = f"rustup: {ask.finding.summary}"
        if wanted.package is not None:
            decision.handed_on.append(need_ask(ask, wanted.package))
        elif wanted.snap:
            decision.steps.append(
                Step(
                    fix=self.id,
                    findings=(ask.finding.id,),
                    why=_("{why} (the distribution does not package it; the snap does)").format(
                        why=why
                    ),
                    argv=("snap", "install", "rustup", "--classic"),
                    root=True,
                    network=True,
                    timeout=900.0,
                )
            )
        elif options.allow_rustup_installer:
            decision.steps.append(
                Step(
                    fix=self.id,
                    findings=(ask.finding.id,),
                    why=_("{why} (official installer from sh.rustup.rs, consented to)").format(
                        why=why
                    ),
                    argv=("sh", "-c", INSTALLER_SCRIPT),
                    network=True,
                    timeout=900.0,
                )
            )
            decision.notes.append(
                _(
                    "rustup is installed with the official installer from sh.rustup.rs (you "
                    "allowed it); it goes into ~/.cargo/bin and adds that directory to your "
                    "shell's PATH."
                )
            )
        else:
            decision.notes.append(
                _(
                    "{channel} needs rustup, which your distribution does not package and "
                    "no snap is available for. The official installer downloads and runs a "
                    "script from sh.rustup.rs; kdoctor runs it only if you allow it: `kdoctor fix "
                    "--allow-rustup-installer`. Or install rustup yourself (https://rustup.rs), "
                    "or build with the distribution's Rust: `kdoctor fix --rust distro`."
                ).format(channel=ctx.pinned.channel)
            )

    # -- the toolchain and its components ----------------------------------------------------
    def _install(self, ask: Ask, components: list[Ask], rustup: str) -> Step:
        pin = cast(need.RustToolchain, ask.need)
        also = [a for a in components if a.finding.id != ask.finding.id]
        return Step(
            fix=self.id,
            findings=(ask.finding.id, *findings_of(also)),
            why=f"{ask.finding.id}: {ask.finding.summary}",
            argv=tuple(toolchain_argv(pin, rustup)),
            network=True,
            timeout=1800.0,
            env=dict(RUSTUP_ENV),
        )

    def _components(self, asks: list[Ask], rustup: str) -> list[Step]:
        by_toolchain: dict[str, list[Ask]] = {}
        for ask in asks:
            by_toolchain.setdefault(cast(need.RustComponent, ask.need).toolchain, []).append(ask)
        return [
            Step(
                fix=self.id,
                findings=findings_of(group),
                why="; ".join(f"{a.finding.id}: {a.finding.summary}" for a in group),
                argv=tuple(
                    component_argv([cast(need.RustComponent, a.need) for a in group], rustup)
                ),
                network=True,
                timeout=900.0,
                env=dict(RUSTUP_ENV),
            )
            for group in by_toolchain.values()
        ]

    def _unset(self, ask: Ask, rustup: Optional[str], decision: Decision) -> list[Step]:
        override = cast(need.RustOverride, ask.need)
        if override.path is None:  # RUSTUP_TOOLCHAIN lives in the shell that started kdoctor
            decision.notes.append(
                _(
                    "RUSTUP_TOOLCHAIN={toolchain} in your environment makes rustc use it "
                    "instead of the pin; kdoctor cannot change the environment of the shell that "
                    "started it: run `unset RUSTUP_TOOLCHAIN`, then kdoctor again."
                ).format(toolchain=override.toolchain)
            )
            return []
        if rustup is None:
            return []
        return [
            Step(
                fix=self.id,
                findings=(ask.finding.id,),
                why=f"{ask.finding.id}: {ask.finding.summary}",
                argv=tuple(override_argv(override, rustup)),
                timeout=60.0,
                env=dict(RUSTUP_ENV),
            )
        ]

    # -- notes ---------------------------------------------------------------------------------
    @staticmethod
    def _choice_notes(ctx: Context, pin: need.RustToolchain, choice: str, why: str) -> list[str]:
        channel = ctx.pinned.channel
        if choice == "pin" and why:
            return [
                _(
                    "neither {channel} nor the distribution's rustc is usable; installing "
                    "{channel} with rustup because {why}."
                ).format(channel=channel, why=why)
            ]
        if choice == "distro":
            packages = ", ".join(package_names(pin.alternative))
            return [
                _(
                    "neither {channel} nor the distribution's rustc is usable; installing the "
                    "distribution's Rust ({packages}) because {why}; "
                    "`kdoctor fix --rust pin` installs {channel} instead."
                ).format(channel=channel, packages=packages, why=why)
            ]
        if choice == "none":
            return [
                _(
                    "neither {channel} nor the distribution's rustc is usable, and kdoctor can "
                    "install neither: {why}."
                ).format(channel=channel, why=why)
            ]
        return []

    @staticmethod
    def _using_distro(facts: Facts) -> list[str]:
        """Under ``--rust auto`` with the distribution's rustc in use: say so and why."""
        ctx = facts.ctx
        if ctx.env.get("RUSTC") or ctx.pin is None:  # no pin: nothing stands in for it
            return []
        chosen = facts.of(rust.rust_toolchain)
        if chosen.source != "distro" or not chosen.usable:
            return []
        channel = ctx.pinned.channel
        state = facts.of(rust.pin_status)
        if state.rustup is None:
            because = _("{channel} is not installed (nor is rustup)").format(channel=channel)
        elif state.installed is None:
            because = _("rustup could not say whether {channel} is installed").format(
                channel=channel
            )
        else:
            because = _("{channel} is not installed").format(channel=channel)
        using = (
            _(
                "using the distribution's rustc {version} with RUSTC_BOOTSTRAP=1 because "
                "{because}; `kdoctor fix --rust pin` installs the pin"
            )
            if chosen.env.get("RUSTC_BOOTSTRAP")
            else _(
                "using the distribution's rustc {version} because {because}; "
                "`kdoctor fix --rust pin` installs the pin"
            )
        )
        return [using.format(version=chosen.version, because=because)]


def of_the_pin(ctx: Context, ask: Ask) -> bool:
    """Whether ``ask`` is a component of the module's pin."""
    return cast(need.RustComponent, ask.need).toolchain == ctx.pinned.channel


def distro_components(ctx: Context, components: Sequence[Ask]) -> list[Ask]:
    """The pin's components asked for when the distribution's Rust stands in for the pin: its
    packages of the same parts (rustfmt: ``rustfmt``, or ``rustfmt-web`` beside ``rustc-web``),
    each still asked for by the finding that wanted the component (an optional check's
    package the package manager does not know stays out of the transaction)."""
    return [
        need_ask(ask, package_need(ctx.package_manager, rust_logical(ctx, component)))
        for ask in components
        if of_the_pin(ctx, ask)
        for component in (cast(need.RustComponent, ask.need).component,)
    ]


def need_ask(ask: Ask, package: need.Package) -> Ask:
    """``package`` asked for by ``ask``'s finding (handed on to the packages planner)."""
    return Ask(ask.finding, package)
