"""packages fix: a package only optional checks ask for, that apt does not know (Debian 11 has no
rustfmt), stays out of the one transaction instead of failing it."""

from __future__ import annotations

from kdoctor.model.finding import Finding
from kdoctor.model.plan import Step
from kdoctor.model.report import Report
from tests.fake_system import FakeSystem
from tests.test_fix_packages import apt, apt_install, apt_machine, problem, refresh, report
from tests.test_fix_packages import decide as decision

LEFT_OUT = (
    "rustfmt left out of the transaction: apt does not know it, and only optional checks "
    "(rustfmt) ask for it (some releases do not package it, e.g. Debian 11 has no rustfmt); "
    "the module builds without. Rerun kdoctor fix once the repository has it."
)


def optional_rustfmt() -> Finding:
    return problem("rustfmt", "rustfmt is not installed", *apt("rustfmt"), required=False)


def bullseye() -> tuple[Finding, ...]:
    return (
        problem("bindgen", "bindgen is not installed", *apt("bindgen")),
        problem("toolchain", "no rustc", *apt("rustc", "rust-src")),
        optional_rustfmt(),
    )


WHY = (
    "install what the checks found missing: bindgen needs bindgen; toolchain needs rustc, rust-src"
)


def decide(system: FakeSystem, rep: Report) -> tuple[list[Step], list[str]]:
    decided = decision(system, rep)
    return decided.steps, decided.notes


def test_an_unknown_package_only_an_optional_check_wants_is_left_out() -> None:
    system = apt_machine(("bindgen", "rustc", "rust-src"), lists_age_days=0.5)
    steps, notes = decide(system, report(*bullseye()))
    assert steps == [
        apt_install("bindgen", "rust-src", "rustc", why=WHY, checks=("bindgen", "toolchain"))
    ]
    assert notes == [LEFT_OUT]


def test_a_known_optional_package_is_installed_with_the_rest() -> None:
    system = apt_machine(("bindgen", "rustc", "rust-src", "rustfmt"), lists_age_days=0.5)
    steps, notes = decide(system, report(*bullseye()))
    why = WHY + "; rustfmt needs rustfmt"
    checks = ("bindgen", "toolchain", "rustfmt")
    assert steps == [apt_install("bindgen", "rust-src", "rustc", "rustfmt", why=why, checks=checks)]
    assert notes == []


def test_a_package_a_required_check_also_wants_stays_and_refreshes_the_lists() -> None:
    findings = (
        problem("toolchain", "no rustc", *apt("rustc", "rustfmt")),
        optional_rustfmt(),
    )
    system = apt_machine(("rustc",), lists_age_days=0.5)
    steps, notes = decide(system, report(*findings))
    why = (
        "install what the checks found missing: toolchain needs rustc, rustfmt; "
        "rustfmt needs rustfmt"
    )
    checks = ("toolchain", "rustfmt")
    assert steps == [
        refresh("apt does not know rustfmt yet", checks=checks),
        apt_install("rustc", "rustfmt", why=why, checks=checks),
    ]
    assert LEFT_OUT not in notes


def test_nothing_to_install_but_the_unknown_optional_package_plans_nothing() -> None:
    system = apt_machine((), lists_age_days=0.5)
    system.commands["apt-cache policy rustfmt"] = ""  # what apt prints for a name it lacks
    finding = optional_rustfmt()
    assert decide(system, report(finding)) == ([], [LEFT_OUT])


def test_apt_that_cannot_be_asked_keeps_the_optional_package() -> None:
    system = apt_machine(())
    system.programs.pop("apt-cache")
    finding = optional_rustfmt()
    steps, notes = decide(system, report(finding))
    why = "install what the checks found missing: rustfmt needs rustfmt"
    assert steps == [apt_install("rustfmt", why=why, checks=("rustfmt",))]
    assert notes == []
