"""One ``kdoctor fix`` leaves nothing it could repair (issue 26): a need that only shows once an
earlier step's result exists is planned from the start.

On a bare machine under ``--rust auto`` no Rust is installed yet, so which rustfmt fits is
unknown until the Rust planner chooses: the pin (its rustfmt component) or the distribution's
Rust standing in for it (the distribution's rustfmt, ``rustfmt-web`` beside ``rustc-web``).
Here the machine after the plan is the bare one plus what the plan's install steps name, and
its diagnosis must leave no finding ``fix`` could repair."""

from __future__ import annotations

from typing import Any

from kdoctor.checks.base import Check
from kdoctor.checks.rust_src import RustSrcCheck
from kdoctor.checks.rustfmt import RustfmtCheck
from kdoctor.checks.toolchain import ToolchainCheck
from kdoctor.facts import Facts
from kdoctor.fixes.rust import REACH_PROBE
from kdoctor.model.context import Context, DistroInfo
from kdoctor.model.finding import Status
from kdoctor.model.need import Package, RustComponent
from kdoctor.model.plan import Plan
from kdoctor.model.report import Report
from kdoctor.pipeline.diagnose import run_checks
from kdoctor.pipeline.planner import make_plan
from tests.conftest import make_context
from tests.fake_system import FakeSystem, apt_archive
from tests.test_rust_toolchain import WEB_BANNER, machine

RUST_CHECKS: tuple[type[Check], ...] = (ToolchainCheck, RustSrcCheck, RustfmtCheck)
LISTS = "/var/lib/apt/lists"
DEBIAN_11 = DistroInfo("debian", "11", "Debian GNU/Linux 11 (bullseye)", (), "bullseye")
BULLSEYE_BANNER = "rustc 1.48.0\n"


def with_apt(system: FakeSystem, *unknown: str) -> FakeSystem:
    """``system`` with apt, whose fresh package lists know every package but ``unknown``."""
    system.programs.update({"apt-get": "/usr/bin/apt-get", "apt-cache": "/usr/bin/apt-cache"})
    system.maybe_handlers["apt-cache"] = apt_archive(*unknown)
    system.dirs[LISTS] = ["deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"]
    return system


def diagnosis(ctx: Context, system: FakeSystem) -> tuple[Facts, Report]:
    facts = Facts(ctx, system)
    return facts, run_checks([check() for check in RUST_CHECKS], facts)


def installed_by(plan: Plan) -> set[str]:
    """The packages the plan's install steps name."""
    names: set[str] = set()
    for step in plan.steps:
        if step.argv[:2] == ("apt-get", "install"):
            names |= {w for w in step.argv[2:] if not w.startswith("-") and "=" not in w}
    return names


def after(plan: Plan, **changes: Any) -> FakeSystem:
    """The bare machine once the plan's packages are installed: the distribution's rustc-web
    (with its library sources) and rustfmt-web, each when the plan installed it."""
    names = installed_by(plan)
    return with_apt(
        machine(
            rustup=False,
            distro=WEB_BANNER if "rustc-web" in names else None,
            distro_src="rust-web-src" in names,
            distro_rustfmt="rustfmt-web" in names,
            **changes,
        )
    )


def test_rustfmt_is_asked_of_whichever_rust_the_plan_installs() -> None:
    ctx = make_context()
    _facts, report = diagnosis(ctx, with_apt(machine(rustup=False, distro=None)))
    rustfmt = next(f for f in report.findings if f.id == "rustfmt")
    assert rustfmt.status == Status.WARN and rustfmt.fix == "rust"
    assert rustfmt.needs == (RustComponent("nightly-2021-02-12", "rustfmt"),)
    # no command by hand: `rustup component add` needs a pin that is not there
    assert rustfmt.remediation is not None and rustfmt.remediation.commands == ()


def test_one_plan_brings_the_distributions_rustfmt_with_its_rustc() -> None:
    ctx = make_context()
    facts, report = diagnosis(ctx, with_apt(machine(rustup=False, distro=None)))
    plan = make_plan(facts, report)
    assert {"rustc-web", "rust-web-src", "rustfmt-web"} <= installed_by(plan)
    # one transaction, which names the rustfmt check among those it answers
    install = [s for s in plan.steps if s.argv[:2] == ("apt-get", "install")]
    assert len(install) == 1 and "rustfmt" in install[0].findings
    # the machine that plan leaves: nothing a second kdoctor fix would do
    _facts, second = diagnosis(ctx, after(plan))
    assert [(f.id, f.fix) for f in second.findings if f.fix] == []
    assert {f.id: f.status for f in second.findings}["rustfmt"] == Status.OK


def test_the_pins_rustfmt_comes_with_the_pin() -> None:
    """rustup is there and its host answers: the pin is installed, its rustfmt component with
    it, and no distribution package."""
    ctx = make_context()
    reach = " ".join(REACH_PROBE)
    system = with_apt(machine(pin=False, distro=None, commands={reach: ""}))
    system.programs["curl"] = "/usr/bin/curl"
    facts, report = diagnosis(ctx, system)
    plan = make_plan(facts, report)
    assert not any(n.startswith("rustfmt") for n in installed_by(plan))
    rustup = [s for s in plan.steps if s.argv[:3] == ("rustup", "toolchain", "install")]
    assert len(rustup) == 1 and "rustfmt" in rustup[0].argv
    assert set(rustup[0].findings) == {"toolchain", "rustfmt"}


def test_an_unknown_distribution_rustfmt_stays_out_of_the_transaction() -> None:
    """A release that does not package rustfmt (Debian 11): the distribution's Rust is still
    installed, without it, and the plan says why."""
    ctx = make_context()
    facts, report = diagnosis(ctx, with_apt(machine(rustup=False, distro=None), "rustfmt-web"))
    plan = make_plan(facts, report)
    names = installed_by(plan)
    assert {"rustc-web", "rust-web-src"} <= names and "rustfmt-web" not in names
    assert any(n.startswith("rustfmt-web left out of the transaction") for n in plan.notes)
    assert Package("rustfmt-web", ("rustfmt-web",)) not in {
        n for f in report.findings for n in f.needs
    }


def test_a_rustfmt_the_release_does_not_package_is_not_offered_to_fix() -> None:
    """After that plan on such a release, the rustfmt check offers no ``kdoctor fix`` (it would
    leave the package out again): no need, and the remediation says why."""
    plain = make_context(distro=DEBIAN_11)
    system = with_apt(machine(rustup=False, distro=BULLSEYE_BANNER), "rustfmt")
    _facts, report = diagnosis(plain, system)
    rustfmt = next(f for f in report.findings if f.id == "rustfmt")
    assert (rustfmt.status, rustfmt.needs, rustfmt.fix) == (Status.WARN, (), None)
    assert rustfmt.remediation is not None and rustfmt.remediation.commands == ()
    assert "does not package it" in (rustfmt.remediation.text or "")
    assert [f.id for f in report.findings if f.fix] == []


def test_without_package_lists_rustfmt_is_still_offered() -> None:
    """No package lists yet: apt knows nothing, which says nothing about the repository."""
    plain = make_context(distro=DEBIAN_11)
    system = with_apt(machine(rustup=False, distro=BULLSEYE_BANNER), "rustfmt")
    system.dirs[LISTS] = []
    _facts, report = diagnosis(plain, system)
    rustfmt = next(f for f in report.findings if f.id == "rustfmt")
    assert (rustfmt.needs, rustfmt.fix) == ((Package("rustfmt", ("rustfmt",)),), "packages")
