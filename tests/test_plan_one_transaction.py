"""Regression: every package of a plan goes into ONE transaction, always with its housekeeping.

Before typed needs, a report with the pin missing (``--rust auto``, offline) and clang missing
planned two ``apt-get install`` steps (the packages fix installed clang, the toolchain fix the
distribution's Rust), and the toolchain fix's install came without ``apt-get update`` or
``dpkg --configure -a`` on a machine that needed them.
"""

from __future__ import annotations

import shlex
import time

from kdoctor.checks.toolchain import ToolchainCheck, distro_needs
from kdoctor.facts import Facts
from kdoctor.facts.rustup import pin_need
from kdoctor.fixes.packages import APT_LISTS, DPKG_UPDATES
from kdoctor.knowledge.packages import package_needs
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import Package, Rustup
from kdoctor.model.plan import Plan
from kdoctor.model.report import Report
from kdoctor.pipeline.planner import make_plan
from tests.conftest import make_context
from tests.fake_system import FakeSystem, Reply

REACH = "curl -sSI --max-time 5 https://static.rust-lang.org/"
OFFLINE = Reply(stderr="curl: (6) Could not resolve host: static.rust-lang.org", exit_code=6)


def policy(name: str) -> str:
    return f"{name}:\n  Installed: (none)\n  Candidate: 1.0-1\n"


def debian(*, lists: bool = True, interrupted: bool = False, rustup: bool = True) -> FakeSystem:
    known = ("clang", "rustc-web", "rust-web-src", "rustup")
    programs = {"apt-cache": "/usr/bin/apt-cache", "apt-get": "/usr/bin/apt-get"}
    programs["curl"] = "/usr/bin/curl"
    if rustup:
        programs["rustup"] = "/usr/bin/rustup"
    names = ["deb_bookworm_main_binary-amd64_Packages", "lock"] if lists else ["lock"]
    return FakeSystem(
        programs=programs,
        maybe={REACH: OFFLINE, **{f"apt-cache policy {n}": policy(n) for n in known}},
        dirs={APT_LISTS: names, DPKG_UPDATES: ["0001"] if interrupted else []},
        mtimes={f"{APT_LISTS}/{n}": time.time() for n in names},
    )


def installs(plan: Plan) -> list[tuple[str, ...]]:
    return [s.argv for s in plan.steps if s.argv[:2] == ("apt-get", "install")]


def test_pin_missing_in_auto_mode_and_clang_missing_plan_one_transaction() -> None:
    ctx = make_context(rust_mode="auto")
    clang = Finding(
        "clang", Status.FAIL, "clang is not installed", needs=package_needs("apt", ["clang"])
    )
    toolchain = Finding(
        "toolchain",
        Status.FAIL,
        "nightly-2021-02-12 is not installed, and the distribution's rustc is not usable",
        needs=(pin_need(ctx, distro_needs(ctx, "rustc", "rust-src")),),
    )
    system = debian()
    plan = make_plan(Facts(ctx, system), Report(ctx, (clang, toolchain), 0.0))
    [install] = installs(plan)
    assert install[-3:] == ("clang", "rust-web-src", "rustc-web")
    assert plan.steps[-1].argv == install  # nothing else: the pin cannot be downloaded here
    assert set(plan.steps[-1].findings) == {"clang", "toolchain"}
    assert any(
        "installing the distribution's Rust (rustc-web, rust-web-src)" in n for n in plan.notes
    )
    assert system.runs == []


def test_only_the_toolchain_on_a_machine_with_no_lists_and_interrupted_dpkg_gets_housekeeping() -> (
    None
):
    ctx = make_context(rust_mode="auto")
    toolchain = Finding(
        "toolchain",
        Status.FAIL,
        "neither the pin nor the distribution's rustc is usable",
        needs=(pin_need(ctx, distro_needs(ctx, "rustc", "rust-src")),),
    )
    system = debian(lists=False, interrupted=True, rustup=False)
    plan = make_plan(Facts(ctx, system), Report(ctx, (toolchain,), 0.0))
    assert [s.argv[:3] for s in plan.steps] == [
        ("dpkg", "--configure", "-a"),
        ("apt-get", "update"),
        ("apt-get", "install", "-y"),
    ]
    assert plan.steps[-1].argv[-2:] == ("rust-web-src", "rustc-web")


def test_rustup_from_the_distribution_joins_the_same_transaction_as_the_tools() -> None:
    ctx = make_context(rust_mode="pin")
    rustup = Finding(
        "rustup",
        Status.FAIL,
        "rustup is not installed",
        needs=(Rustup(Package("rustup", ("rustup",))),),
    )
    clang = Finding(
        "clang", Status.FAIL, "clang is not installed", needs=package_needs("apt", ["clang"])
    )
    toolchain = Finding("toolchain", Status.FAIL, "the pin is missing", needs=(pin_need(ctx),))
    plan = make_plan(Facts(ctx, debian(rustup=False)), Report(ctx, (rustup, clang, toolchain), 0.0))
    [install] = installs(plan)
    assert install[-2:] == ("clang", "rustup")
    assert plan.steps.index(next(s for s in plan.steps if s.argv == install)) < len(plan.steps) - 1
    assert plan.steps[-1].argv[:3] == ("rustup", "toolchain", "install")


def test_the_advice_a_check_prints_is_the_step_the_plan_runs() -> None:
    """A finding's commands and the plan's steps come from the same needs."""
    ctx = make_context(rust_mode="pin", is_root=True)
    check = ToolchainCheck()
    pin = check.finding(Status.FAIL, "the pin is missing", needs=(pin_need(ctx),), ctx=ctx)
    clang = check.finding(
        Status.FAIL, "no clang", needs=package_needs("apt", ["clang", "lld"]), ctx=ctx
    )
    system = debian()
    system.programs["rustup"] = "/usr/bin/rustup"
    plan = make_plan(Facts(ctx, system), Report(ctx, (pin, clang), 0.0))
    assert pin.remediation is not None and clang.remediation is not None
    [rustup_step] = [s for s in plan.steps if s.argv[0] == "rustup"]
    assert pin.remediation.commands == (shlex.join(rustup_step.argv),)
    assert "--component rust-src --component rustfmt" in pin.remediation.commands[0]
    [install] = installs(plan)
    assert clang.remediation.commands == ("apt-get install -y --no-install-recommends clang lld",)
    assert install[-2:] == ("clang", "lld")
