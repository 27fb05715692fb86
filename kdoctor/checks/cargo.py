"""cargo: a cargo-driven module (the fishinabarrel generation) needs a cargo that the chosen
toolchain can run, of rustc's own release, able to pass ``-Z`` flags when the build uses them
(a nightly cargo, or ``RUSTC_BOOTSTRAP=1``) and, for ``cargo xbuild``, the cargo-xbuild
subcommand."""

from __future__ import annotations

import os
import re
import shlex
from typing import Any, Optional

from packaging.version import InvalidVersion, Version

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.facts.cargo import CargoChoice, cargo_xbuild, chosen_cargo
from kdoctor.facts.crates import crates_io
from kdoctor.facts.module import module_info
from kdoctor.facts.rust import rust_toolchain
from kdoctor.facts.rustc import RustToolchain
from kdoctor.i18n import N_, _
from kdoctor.knowledge.cargo import same_release
from kdoctor.knowledge.packages import package_need, rust_logical
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status
from kdoctor.model.module import BuildDriver, CargoStep
from kdoctor.model.need import ByHand, Need, RustComponent

_TOOLCHAIN_DIR = re.compile(r"/toolchains/([^/]+)/bin/rustc$")


def matched_cargo_need(ctx: Context, toolchain: RustToolchain) -> Optional[Need]:
    """What installs the cargo of the chosen rustc's release: the rustup toolchain's ``cargo``
    component, or the distribution's cargo beside its rustc (Debian 12: ``cargo-web`` for
    ``rustc-web``); None for a rustc kdoctor did not choose (``RUSTC``)."""
    name = toolchain.env.get("RUSTUP_TOOLCHAIN")
    match = _TOOLCHAIN_DIR.search(toolchain.rustc or "")
    if name or match:
        return RustComponent(name or (match.group(1) if match else ""), "cargo")
    if toolchain.source == "distro":
        return package_need(ctx.package_manager, rust_logical(ctx, "cargo"))
    return None


def _version(text: Optional[str]) -> Optional[Version]:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


@register
class CargoCheck(Check):
    id = "cargo"
    title = N_("a cargo the chosen toolchain runs, of rustc's release (cargo-driven modules)")

    def run(self, facts: Facts) -> Finding:
        ctx = facts.ctx
        module = facts.of(module_info)
        if not module.driver.uses_cargo:
            return self.finding(
                Status.SKIP,
                _("the module's build does not run cargo ({kind} module, driver {driver})").format(
                    kind=module.kind, driver=module.driver
                ),
            )
        toolchain = facts.of(rust_toolchain)
        if not toolchain.rustc:
            return self.finding(
                Status.SKIP,
                _("needs a Rust compiler first (see toolchain)"),
                driver=str(module.driver),
            )
        cargo = facts.of(chosen_cargo)
        details: dict[str, Any] = {
            "driver": str(module.driver),
            "cargo": cargo.to_json(),
            "rustc": toolchain.rustc,
            "rustc_version": toolchain.version,
        }
        need = matched_cargo_need(ctx, toolchain)
        needs = (need,) if need is not None else ()
        found = f"{cargo.path} ({cargo.version_line})" if cargo.version_line else cargo.path
        problem = self._runnable(cargo, toolchain) or self._matched(cargo, toolchain)
        if problem and module.driver is BuildDriver.CARGO_XBUILD and cargo.usable:
            runs, said = facts.of(cargo_xbuild)
            if not runs:
                problem = _("{problem}; it has no xbuild subcommand either ({said})").format(
                    problem=problem, said=said
                )
        if problem:
            how = (
                _(
                    "Install the cargo of the same release as the chosen rustc; kdoctor's build "
                    "passes it as CARGO (and first on PATH)."
                )
                if needs
                else _(
                    "Set CARGO to the cargo of the same release as {rustc}; kdoctor's build "
                    "passes it as CARGO (and first on PATH)."
                )
            )
            return self.finding(
                Status.FAIL,
                problem,
                found=found,
                fix_text=how.format(rustc=toolchain.rustc),
                needs=needs,
                ctx=ctx,
                **details,
            )
        ztext, zproblem = self._unstable(module.driver, cargo)
        if zproblem:
            return self.finding(
                Status.FAIL,
                zproblem,
                found=found,
                fix_text=_(
                    "Use a nightly toolchain, or the distribution's rustc, which kdoctor "
                    "builds with RUSTC_BOOTSTRAP=1 (as the kernel does)."
                ),
                **details,
            )
        if module.driver is BuildDriver.CARGO_XBUILD:
            runs, said = facts.of(cargo_xbuild)
            details["xbuild"] = said
            if not runs and module.step is not None:
                return self._step_without_xbuild(facts, module.step, said, found, details)
            if not runs:
                return self.finding(
                    Status.FAIL,
                    _(
                        "the build runs `cargo xbuild`, but this cargo has no xbuild subcommand "
                        "({said})"
                    ).format(said=said),
                    found=found,
                    fix_text=_(
                        "Install the cargo-xbuild subcommand (no distribution packages it; it "
                        "comes from crates.io), or build with `cargo build -Z "
                        "build-std=core,alloc`, which replaced it."
                    ),
                    commands=("cargo install cargo-xbuild",),
                    needs=(
                        ByHand(
                            self.id,
                            _(
                                "no distribution packages cargo-xbuild; "
                                "`cargo install cargo-xbuild` downloads it from crates.io"
                            ),
                            _(
                                "Install cargo-xbuild where crates.io is reachable, or build with "
                                "`cargo build -Z build-std=core,alloc`."
                            ),
                        ),
                    ),
                    ctx=ctx,
                    **details,
                )
        summary = (
            _("cargo {release} ({reason}) matches rustc {version}; {unstable}")
            if ztext
            else _("cargo {release} ({reason}) matches rustc {version}")
        )
        return self.ok(
            summary.format(
                release=cargo.release,
                reason=cargo.reason,
                version=toolchain.version,
                unstable=ztext,
            ),
            found=found,
            **details,
        )

    def _step_without_xbuild(
        self, facts: Facts, step: CargoStep, said: str, found: Optional[str], details: Any
    ) -> Finding:
        """The module's archive comes from a ``cargo xbuild`` run before make, and there is no
        cargo-xbuild: what the person runs, and whether it can be done here."""
        reachable, reach = facts.of(crates_io)
        archive = os.path.relpath(step.archive, step.directory)
        run_step = f"cd {shlex.quote(step.directory)} && {shlex.join(('cargo', *step.args))}"
        summary = _(
            "the module's {archive} is made by `{command}` ({reason}), which needs the "
            "cargo-xbuild subcommand this cargo lacks ({said})"
        ).format(archive=archive, command=step.shown(), reason=step.reason, said=said)
        if reachable is False:
            summary += "; " + _(
                "no distribution packages cargo-xbuild and crates.io is unreachable here "
                "({reach}), so `cargo install cargo-xbuild` cannot run here"
            ).format(reach=reach)
        details.update(step=step.to_json(), crates_io=reach, crates_io_reachable=reachable)
        return self.finding(
            Status.FAIL,
            summary,
            found=found,
            fix_text=_(
                "Where crates.io is reachable, install cargo-xbuild, then make the archive "
                "(kdoctor build runs that step before make once cargo-xbuild is there); or "
                "make it with `cargo build -Z build-std=core,alloc`, which replaced cargo-xbuild."
            ),
            commands=("cargo install cargo-xbuild", run_step),
            needs=(
                ByHand(
                    self.id,
                    _(
                        "no distribution packages cargo-xbuild; `cargo install cargo-xbuild` "
                        "downloads it from crates.io"
                    ),
                    _(
                        "Install cargo-xbuild where crates.io is reachable, then run {command}."
                    ).format(command=run_step),
                ),
            ),
            ctx=facts.ctx,
            **details,
        )

    def _runnable(self, cargo: CargoChoice, toolchain: RustToolchain) -> Optional[str]:
        if cargo.usable:
            return None
        if cargo.path is None:
            return _("the build runs cargo, but there is none ({problem})").format(
                problem=cargo.problem
            )
        summary = (
            _("rustup's proxy at {path} cannot run: {problem}")
            if cargo.proxy
            else _("cargo at {path} cannot run: {problem}")
        )
        return summary.format(path=cargo.path, problem=cargo.problem)

    def _matched(self, cargo: CargoChoice, toolchain: RustToolchain) -> Optional[str]:
        mine, theirs = _version(cargo.release), _version(toolchain.version)
        if mine is None or theirs is None or same_release(mine, theirs):
            return None
        where = os.path.dirname(cargo.path or "")
        return _(
            "cargo {version} ({path}) is not of rustc {rustc_version}'s release "
            "({rustc}); cargo from {directory} drives another compiler's standard library"
        ).format(
            version=mine,
            path=cargo.path,
            rustc_version=theirs,
            rustc=toolchain.rustc,
            directory=where,
        )

    def _unstable(self, driver: BuildDriver, cargo: CargoChoice) -> tuple[str, Optional[str]]:
        """How ``-Z`` flags pass (text for the summary), or why they cannot."""
        if driver not in (BuildDriver.CARGO_BUILD_STD, BuildDriver.CARGO_XBUILD):
            return "", None
        if cargo.nightly:
            return _("-Z flags pass: a nightly cargo"), None
        if cargo.env.get("RUSTC_BOOTSTRAP") == "1":
            return _("-Z flags pass through RUSTC_BOOTSTRAP=1 (kdoctor's build sets it)"), None
        return "", _(
            "the build passes -Z flags (build-std), which cargo {version} accepts only "
            "on nightly or with RUSTC_BOOTSTRAP=1"
        ).format(version=cargo.release)
