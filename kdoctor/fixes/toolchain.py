"""toolchain: installs the pinned toolchain and its components, removes overrides that hide it.

``--rust`` decides what this fix does:

* ``pin``: install the pin (``rustup toolchain install``), add missing components, unset a
  ``rustup override`` that beats the module's ``rust-toolchain.toml``;
* ``distro``: nothing (the packages fix installs the distribution's rustc and rust-src);
* ``auto``: when the distribution's rustc is usable, nothing (the notes say it is used and why);
  when neither it nor the pin is, the pin if rustup is installed and static.rust-lang.org can be
  reached, else the distribution's packages; the notes say which and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from kdoctor.facts import rust
from kdoctor.fixes.base import Fix, register
from kdoctor.knowledge.packages import INSTALL
from kdoctor.machine.system import System
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding
from kdoctor.model.plan import Step
from kdoctor.model.report import Report

from .rustup import install_step, rustup_after_fix

#: where rustup downloads toolchains from
RUST_HOST = "static.rust-lang.org"
#: a read-only look at whether the host answers at all (any HTTP status will do)
REACH_PROBE = ("curl", "-sSI", "--max-time", "5", f"https://{RUST_HOST}/")
REACH_TIMEOUT = 8.0
#: the components the module's build needs, whatever the pin lists
NEEDED_COMPONENTS = ("rust-src", "rustfmt")
#: rustup steps print one-line errors (a set RUST_BACKTRACE adds a stack trace) without colours
RUSTUP_ENV: Mapping[str, str] = {"RUST_BACKTRACE": "0", "RUSTUP_TERM_COLOR": "never"}


def reach_rust(system: System) -> tuple[bool, str]:
    """(whether static.rust-lang.org answers, why not)."""
    if system.which("curl") is None:
        return False, "could not check: curl is not installed"
    probe = system.probe(list(REACH_PROBE), timeout=REACH_TIMEOUT)
    if probe.ok:
        return True, ""
    return False, probe.describe_failure()


def _toolchain_finding(report: Report) -> Optional[Finding]:
    return next((f for f in report.findings if f.id == "toolchain"), None)


def _pin_missing(finding: Optional[Finding]) -> bool:
    """The toolchain check found the pin wanted and not installed (its fix installs it)."""
    return (
        finding is not None
        and finding.status.is_problem
        and finding.fix == "toolchain"
        and finding.facts.get("source") == "pin"
        and not finding.facts.get("override")
        and finding.facts.get("installed") is not True
    )


def auto_choice(ctx: Context, report: Report, system: System) -> tuple[str, str]:
    """With ``--rust auto`` and neither toolchain usable: (``pin``, ``distro`` or ``none``, why).
    ("", "") when there is nothing to choose."""
    finding = _toolchain_finding(report)
    if ctx.rust_mode != "auto" or not _pin_missing(finding):
        return "", ""
    assert finding is not None
    packages = list(finding.facts.get("packages") or [])
    can_package = bool(packages) and ctx.package_manager in INSTALL
    rustup, _ = rust.find_rustup(system)
    if rustup is not None:
        reachable, problem = reach_rust(system)
        if reachable:
            return "pin", f"rustup is installed and {RUST_HOST} can be reached"
        why = f"{RUST_HOST} cannot be reached ({problem})"
    else:
        why = "rustup is not installed"
        if not can_package:
            reachable, problem = reach_rust(system)
            if reachable:
                known = "the distribution has no Rust packages kdoctor knows"
                return "pin", f"{known}, and {RUST_HOST} can be reached"
            why += f" and {RUST_HOST} cannot be reached ({problem})"
    if can_package:
        return "distro", why
    return "none", why + "; the distribution has no Rust packages kdoctor knows"


def install_argv(ctx: Context, rustup: str) -> tuple[str, ...]:
    components = [*ctx.pin.components]
    components += [c for c in NEEDED_COMPONENTS if c not in components]
    argv = [rustup, "toolchain", "install", ctx.pin.channel, "--profile", ctx.pin.profile]
    for component in components:
        argv += ["--component", component]
    return tuple(argv)


@register
class ToolchainFix(Fix):
    id = "toolchain"
    title = "install the pinned Rust toolchain and its components"
    order = 40

    def plan(self, ctx: Context, report: Report, system: System) -> list[Step]:
        if ctx.rust_mode == "distro":
            return []
        mine = self.mine(report)
        finding = next((f for f in mine if f.id == "toolchain"), None)
        steps: list[Step] = []
        installs_pin = False
        if finding is not None:
            override: Optional[Mapping[str, Any]] = finding.facts.get("override")
            if override:
                steps += self._unset(ctx, system, finding, override)
            elif _pin_missing(finding):
                choice = "pin" if ctx.rust_mode == "pin" else auto_choice(ctx, report, system)[0]
                if choice == "pin":
                    install = self._install(ctx, system, finding, mine)
                    installs_pin = bool(install)
                    steps += install
                elif choice == "distro":
                    step = install_step(
                        ctx,
                        list(finding.facts.get("packages") or []),
                        fix=self.id,
                        findings=("toolchain",),
                        why=f"toolchain: {finding.summary}; the distribution's Rust is used "
                        f"instead of {ctx.pin.channel}",
                    )
                    steps += [step] if step is not None else []
        if not installs_pin:
            steps += self._components(ctx, system, mine)
        return steps

    def _install(
        self, ctx: Context, system: System, finding: Finding, mine: list[Finding]
    ) -> list[Step]:
        rustup = rustup_after_fix(ctx, system)
        if rustup is None:
            return []
        also = tuple(f.id for f in mine if f.id in ("rust-src", "rustfmt"))
        return [
            Step(
                fix=self.id,
                findings=("toolchain", *also),
                why=f"toolchain: {finding.summary}",
                argv=install_argv(ctx, rustup),
                network=True,
                timeout=1800.0,
                env=dict(RUSTUP_ENV),
            )
        ]

    def _components(self, ctx: Context, system: System, mine: list[Finding]) -> list[Step]:
        wanted: dict[str, list[Finding]] = {}
        for finding in mine:
            component, toolchain = finding.facts.get("component"), finding.facts.get("toolchain")
            if finding.id in ("rust-src", "rustfmt") and component and toolchain:
                wanted.setdefault(str(toolchain), []).append(finding)
        rustup = rustup_after_fix(ctx, system) if wanted else None
        if rustup is None:
            return []
        steps: list[Step] = []
        for toolchain, findings in wanted.items():
            components = [str(f.facts["component"]) for f in findings]
            steps.append(
                Step(
                    fix=self.id,
                    findings=tuple(f.id for f in findings),
                    why="; ".join(f"{f.id}: {f.summary}" for f in findings),
                    argv=(rustup, "component", "add", *components, "--toolchain", toolchain),
                    network=True,
                    timeout=900.0,
                    env=dict(RUSTUP_ENV),
                )
            )
        return steps

    def _unset(
        self, ctx: Context, system: System, finding: Finding, override: Mapping[str, Any]
    ) -> list[Step]:
        path = override.get("path")
        rustup = rustup_after_fix(ctx, system)
        if override.get("kind") != "directory" or not path or rustup is None:
            return []  # RUSTUP_TOOLCHAIN lives in the parent shell: see notes()
        return [
            Step(
                fix=self.id,
                findings=("toolchain",),
                why=f"toolchain: {finding.summary}",
                argv=(rustup, "override", "unset", "--path", str(path)),
                timeout=60.0,
                env=dict(RUSTUP_ENV),
            )
        ]

    def notes(self, ctx: Context, report: Report, system: System) -> list[str]:
        finding = _toolchain_finding(report)
        if finding is None or ctx.rust_mode == "distro":
            return []
        pin = ctx.pin.channel
        facts = finding.facts
        override = facts.get("override")
        if finding.status.is_problem and override and override.get("kind") == "env":
            return [
                f"RUSTUP_TOOLCHAIN={override.get('toolchain')} in your environment makes rustc "
                f"use it instead of {pin}; kdoctor cannot change the environment of the shell "
                "that started it: run `unset RUSTUP_TOOLCHAIN`, then kdoctor again."
            ]
        if ctx.rust_mode == "auto" and facts.get("source") == "distro":
            return [self._using_distro(ctx, system, facts)]
        if finding.fix != "toolchain" or not finding.status.is_problem or override:
            return []
        if facts.get("installed") is True:
            return [
                f"{pin} is installed but its rustc does not work; kdoctor does not reinstall it "
                "by itself (the download could fail after the removal): run `rustup toolchain "
                f"uninstall {pin}` and `{rust.install_command(ctx)}`."
            ]
        notes: list[str] = []
        choice, why = ("pin", "") if ctx.rust_mode == "pin" else auto_choice(ctx, report, system)
        neither = f"neither {pin} nor the distribution's rustc is usable"
        packages = ", ".join(facts.get("packages") or [])
        if choice == "pin" and why:
            notes.append(f"{neither}; installing {pin} with rustup because {why}.")
        elif choice == "distro":
            notes.append(
                f"{neither}; installing the distribution's Rust ({packages}) because {why}; "
                f"`kdoctor fix --rust pin` installs {pin} instead."
            )
        elif choice == "none":
            notes.append(f"{neither}, and kdoctor can install neither: {why}.")
        if choice == "pin" and rustup_after_fix(ctx, system) is None:
            notes.append(f"{pin} can be installed once rustup is (see the note on rustup).")
        return notes

    def _using_distro(self, ctx: Context, system: System, facts: Mapping[str, Any]) -> str:
        env = facts.get("env") or {}
        how = " with RUSTC_BOOTSTRAP=1" if env.get("RUSTC_BOOTSTRAP") else ""
        because = f"{ctx.pin.channel} is not installed"
        if rust.find_rustup(system)[0] is None:
            because += " (nor is rustup)"
        elif facts.get("installed") is None:
            because = f"rustup could not say whether {ctx.pin.channel} is installed"
        return (
            f"using the distribution's rustc {facts.get('version')}{how} because {because}; "
            "`kdoctor fix --rust pin` installs the pin"
        )
