"""packages fix: a package only optional checks ask for, that apt does not know (Debian 11 has no
rustfmt), stays out of the one transaction instead of failing it."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from kdoctor.model.finding import Finding
from kdoctor.model.plan import Plan, Step
from kdoctor.model.report import Report
from kdoctor.render.apply_text import print_apply
from tests.fake_system import FakeSystem
from tests.test_fix_packages import apt, apt_install, apt_machine, problem, refresh, report
from tests.test_fix_packages import decide as decision
from tests.test_sysroot_first import apply, tool

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


AFTER_REFRESH = (
    "install what only optional checks (rustfmt) ask for: rustfmt; apt knows no package before "
    "its first refresh, and a release may not have it (Debian 11 has no rustfmt), so it is "
    "installed on its own, after the rest"
)


def test_with_no_package_lists_the_optional_package_follows_on_its_own() -> None:
    """No package lists yet (apt knows nothing): whether the release has rustfmt is told only
    after the refresh, so it is installed after the rest, in a step whose failure stops and
    fails nothing, instead of waiting for a second kdoctor fix."""
    system = apt_machine((), lists_age_days=None)
    for name in ("bindgen", "rustc", "rust-src", "rustfmt"):
        system.commands[f"apt-cache policy {name}"] = ""
    steps, notes = decide(system, report(*bullseye()))
    checks = ("bindgen", "toolchain")
    assert steps == [
        refresh(
            "apt does not know bindgen, rust-src, rustc yet; there are no package lists yet "
            "(/var/lib/apt/lists has no Packages files)",
            checks=checks,
        ),
        apt_install("bindgen", "rust-src", "rustc", why=WHY, checks=checks),
        replace(apt_install("rustfmt", why=AFTER_REFRESH, checks=("rustfmt",)), required=False),
    ]
    assert LEFT_OUT not in notes


def test_with_no_package_lists_and_only_the_optional_package_it_is_refreshed_for() -> None:
    system = apt_machine((), lists_age_days=None)
    system.commands["apt-cache policy rustfmt"] = ""
    steps, notes = decide(system, report(optional_rustfmt()))
    assert steps == [
        refresh(
            "apt does not know rustfmt yet; there are no package lists yet "
            "(/var/lib/apt/lists has no Packages files)",
            checks=("rustfmt",),
        ),
        replace(apt_install("rustfmt", why=AFTER_REFRESH, checks=("rustfmt",)), required=False),
    ]
    assert notes == []


def test_an_optional_install_that_fails_fails_nothing_and_says_so(bin_dir: Path) -> None:
    """On a release without rustfmt the step after the rest fails: the fix still succeeds, and
    the failure is shown as optional (not as a head start whose work comes later)."""
    tool(bin_dir, "missing", "echo 'E: Unable to locate package rustfmt' >&2; exit 100\n")
    tool(bin_dir, "quick", "echo installed\n")
    optional = Step("packages", ("rustfmt",), "optional", argv=("missing",), required=False)
    applied = apply(
        Plan((Step("packages", ("clang",), "install", argv=("quick",)), optional)), bin_dir
    )
    assert applied.ok and applied.stopped is None
    assert [r.ok for r in applied.results] == [True, False]
    shown = Console(file=io.StringIO(), width=200)
    print_apply(applied, shown)
    text = shown.file.getvalue()  # type: ignore[attr-defined]
    assert "! missing" in text and "step failed" not in text
    assert "optional, nothing depends on it: E: Unable to locate package rustfmt" in text
    assert "done later anyway" not in text
