"""rustup: installs rustup itself when the pinned toolchain is wanted and rustup is missing.

Where rustup comes from, most trusted first: the distribution's package, else the snap (classic
confinement), else the official installer from sh.rustup.rs. The installer downloads and runs a
script, so kdoctor runs it only with consent: ``KDOCTOR_ALLOW_RUSTUP_INSTALLER=1`` in kdoctor's
environment (``kdoctor fix --allow-rustup-installer`` sets it). Without consent the plan has no
step and the notes say how to give it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Optional

from kdoctor.facts import rust
from kdoctor.fixes.base import Fix, register
from kdoctor.knowledge.packages import install_argv, package_name, rustup_packaged
from kdoctor.machine.system import System
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding
from kdoctor.model.plan import Step
from kdoctor.model.report import Report

#: kdoctor's environment variable that consents to the official installer
ALLOW_INSTALLER = "KDOCTOR_ALLOW_RUSTUP_INSTALLER"
#: the official installer: rustup only (no toolchain; the toolchain fix installs the pin).
#: ``set -e`` and the command substitution make a failed download fail the step (a plain
#: ``curl | sh`` would run an empty script and report success).
INSTALLER_SCRIPT = (
    "set -e; installer=$(curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs); "
    "printf '%s\\n' \"$installer\" | sh -s -- -y --profile minimal --default-toolchain none"
)
#: where snapd puts the commands of snaps
SNAP_BIN = "/snap/bin"
#: apt waits this long for a lock another apt holds instead of failing at once
APT_LOCK = ("-o", "DPkg::Lock::Timeout=120")


def installer_allowed(ctx: Context, system: System) -> bool:
    """Whether the person consented to the official installer (``--allow-rustup-installer``)."""
    return "1" in (ctx.env.get(ALLOW_INSTALLER), system.env.get(ALLOW_INSTALLER))


def install_step(
    ctx: Context, names: Sequence[str], *, fix: str, findings: tuple[str, ...], why: str
) -> Optional[Step]:
    """A root step installing distribution packages (their real names), never asking anything;
    apt waits for a lock held by another apt (as the packages fix does)."""
    argv = install_argv(ctx.package_manager, names)
    if argv is None or not names:
        return None
    env: dict[str, str] = {}
    if ctx.package_manager == "apt":
        argv = [*argv[: -len(names)], *APT_LOCK, *names]
        env = {"DEBIAN_FRONTEND": "noninteractive"}
    return Step(
        fix=fix,
        findings=findings,
        why=why,
        argv=tuple(argv),
        root=True,
        env=env,
        network=True,
        timeout=1800.0,
    )


def method(ctx: Context, system: System) -> str:
    """How rustup would be installed here: ``package``, ``snap`` or ``script``."""
    if rustup_packaged(ctx):
        return "package"
    if system.which("snap") is not None:
        return "snap"
    return "script"


def rustup_after_fix(ctx: Context, system: System) -> Optional[str]:
    """The rustup command steps can run after this fix: the installed one, else where the planned
    install puts it; None when rustup stays missing (no consent to the installer)."""
    found, on_path = rust.find_rustup(system)
    if found is not None:
        return "rustup" if on_path else found
    how = method(ctx, system)
    if how == "package":
        return "rustup"
    if how == "snap":
        return os.path.join(SNAP_BIN, "rustup")
    if not installer_allowed(ctx, system):
        return None
    home = system.env.get("CARGO_HOME") or os.path.join(system.env.get("HOME", "/root"), ".cargo")
    return os.path.join(home, "bin", "rustup")


def pin_chosen(ctx: Context, report: Report, system: System) -> bool:
    """Whether this plan installs the pinned toolchain (so rustup is needed)."""
    if ctx.rust_mode == "pin":
        return True
    if ctx.rust_mode == "distro":
        return False
    from .toolchain import auto_choice

    choice: str = auto_choice(ctx, report, system)[0]
    return choice == "pin"


@register
class RustupFix(Fix):
    id = "rustup"
    title = "install rustup"
    order = 30

    def _wanted(self, ctx: Context, report: Report, system: System) -> Optional[Finding]:
        finding = next((f for f in self.mine(report) if f.id == "rustup"), None)
        if finding is None or not pin_chosen(ctx, report, system):
            return None
        return finding

    def plan(self, ctx: Context, report: Report, system: System) -> list[Step]:
        finding = self._wanted(ctx, report, system)
        if finding is None:
            return []
        why = f"rustup: {finding.summary}"
        how = method(ctx, system)
        if how == "package":
            name = package_name(ctx.package_manager, "rustup") or "rustup"
            step = install_step(ctx, [name], fix=self.id, findings=("rustup",), why=why)
            return [step] if step is not None else []
        if how == "snap":
            return [
                Step(
                    fix=self.id,
                    findings=("rustup",),
                    why=why + " (the distribution does not package it; the snap does)",
                    argv=("snap", "install", "rustup", "--classic"),
                    root=True,
                    network=True,
                    timeout=900.0,
                )
            ]
        if not installer_allowed(ctx, system):
            return []
        return [
            Step(
                fix=self.id,
                findings=("rustup",),
                why=why + " (official installer from sh.rustup.rs, consented to)",
                argv=("sh", "-c", INSTALLER_SCRIPT),
                network=True,
                timeout=900.0,
            )
        ]

    def notes(self, ctx: Context, report: Report, system: System) -> list[str]:
        if self._wanted(ctx, report, system) is None or method(ctx, system) != "script":
            return []
        if installer_allowed(ctx, system):
            return [
                "rustup is installed with the official installer from sh.rustup.rs (you allowed "
                "it); it goes into ~/.cargo/bin and adds that directory to your shell's PATH."
            ]
        return [
            f"{ctx.pin.channel} needs rustup, which your distribution does not package and no "
            "snap is available for. The official installer downloads and runs a script from "
            "sh.rustup.rs; kdoctor runs it only if you allow it: `kdoctor fix "
            f"--allow-rustup-installer` (or {ALLOW_INSTALLER}=1). Or install rustup yourself "
            "(https://rustup.rs), or build with the distribution's Rust: `kdoctor fix --rust "
            "distro`."
        ]
