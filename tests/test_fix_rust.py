"""The Rust planner: rustup, the pin and its components, or the distribution's Rust, once."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pytest

from kdoctor.facts import Facts
from kdoctor.fixes.base import Ask, Decision
from kdoctor.fixes.rust import INSTALLER_SCRIPT, RUSTUP_ENV, RustFix
from kdoctor.knowledge.step_errors import explain_step_failure
from kdoctor.model.context import Context, DistroInfo
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import (
    Need,
    Package,
    RustComponent,
    RustOverride,
    RustToolchain,
    Rustup,
)
from kdoctor.model.plan import Plan, PlanOptions, Step
from kdoctor.model.report import Report
from kdoctor.pipeline.apply import apply_plan
from kdoctor.pipeline.planner import make_plan
from tests.conftest import make_context
from tests.fake_system import FakeSystem, Reply

PIN = "nightly-2021-02-12"
REACH = "curl -sSI --max-time 5 https://static.rust-lang.org/"
INSTALL = (
    "toolchain",
    "install",
    PIN,
    "--profile",
    "minimal",
    "--component",
    "rust-src",
    "--component",
    "rustfmt",
)
TRIXIE = DistroInfo("debian", "13", "Debian GNU/Linux 13 (trixie)", (), "trixie")
FEDORA = DistroInfo("fedora", "40", "Fedora Linux 40", (), "")
APT = ("apt-get", "install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=120")
WEB = (Package("rustc-web", ("rustc-web",)), Package("rust-web-src", ("rust-web-src",)))
SUMMARY = f"{PIN} is not installed"
RUSTUP_SUMMARY = f"rustup is not installed; it is needed to install {PIN}"


def pin(alternative: tuple[Package, ...] = ()) -> RustToolchain:
    return RustToolchain(PIN, "minimal", ("rust-src", "rustfmt"), alternative)


def finding(check: str, *needs: Need, summary: str = SUMMARY, **kw: Any) -> Finding:
    return Finding(check, kw.pop("status", Status.FAIL), summary, needs=needs, **kw)


def toolchain(alternative: tuple[Package, ...] = (), summary: str = SUMMARY) -> Finding:
    return finding("toolchain", pin(alternative), summary=summary)


def component(check: str, status: Status = Status.FAIL) -> Finding:
    summary = f"the {check} component of {PIN} is not installed"
    return finding(check, RustComponent(PIN, check), summary=summary, status=status)


def rustup(package: Optional[str] = None, snap: bool = False) -> Finding:
    wanted = Rustup(Package("rustup", (package,)) if package else None, snap)
    return finding("rustup", wanted, summary=RUSTUP_SUMMARY)


def machine(*, rustup: Optional[str] = "/root/.cargo/bin/rustup", **extra: Any) -> FakeSystem:
    programs = {"curl": "/usr/bin/curl"}
    path = "/usr/bin:/bin"
    if rustup is not None:
        programs["rustup"] = rustup
        path = "/root/.cargo/bin:" + path
    system = FakeSystem(programs=programs, env={"PATH": path, "HOME": "/root"})
    system.commands.update(extra)
    return system


def decide(ctx: Context, system: FakeSystem, *findings: Finding, consent: bool = False) -> Decision:
    asks = [Ask(f, n) for f in findings for n in f.needs]
    return RustFix().plan(Facts(ctx, system), asks, PlanOptions(allow_rustup_installer=consent))


def install(rustup: str = "rustup", why: str = f"toolchain: {SUMMARY}") -> Step:
    return Step(
        fix="rust",
        findings=("toolchain",),
        why=why,
        argv=(rustup, *INSTALL),
        network=True,
        timeout=1800.0,
        env=dict(RUSTUP_ENV),
    )


# -- --rust pin --------------------------------------------------------------------------------
def test_pin_not_installed_is_installed_with_its_components() -> None:
    ctx = make_context(rust_mode="pin")
    system = machine()
    decision = decide(ctx, system, toolchain())
    assert (decision.steps, decision.notes, decision.handed_on) == ([install()], [], [])
    assert system.runs == []


def test_the_pin_install_covers_the_missing_components() -> None:
    ctx = make_context(rust_mode="pin")
    decision = decide(ctx, machine(), toolchain(), component("rust-src"))
    [step] = decision.steps
    assert step.argv == ("rustup", *INSTALL) and step.findings == ("toolchain", "rust-src")


def test_rustup_outside_path_is_run_by_its_full_path() -> None:
    ctx = make_context(rust_mode="pin")
    system = FakeSystem(
        programs={"cargo-rustup": "/root/.cargo/bin/rustup"},
        env={"PATH": "/usr/bin:/bin", "HOME": "/root"},
    )
    assert decide(ctx, system, toolchain()).steps == [install("/root/.cargo/bin/rustup")]


def test_missing_rustup_from_the_package_joins_the_transaction_then_the_pin() -> None:
    ctx = make_context(distro=TRIXIE, rust_mode="pin")
    system = machine(rustup=None)
    system.dirs["/var/lib/apt/lists"] = ["x_Packages"]
    system.mtimes["/var/lib/apt/lists/x_Packages"] = 4e9
    plan = make_plan(Facts(ctx, system), Report(ctx, (rustup("rustup"), toolchain()), 0.0))
    assert [s.argv for s in plan.steps] == [(*APT, "rustup"), ("rustup", *INSTALL)]
    assert plan.steps[0].fix == "packages" and plan.steps[0].findings == ("rustup",)
    assert system.runs == []


def test_fedora_installs_rustup_with_dnf() -> None:
    ctx = make_context(distro=FEDORA, package_manager="dnf", rust_mode="pin")
    plan = make_plan(Facts(ctx, FakeSystem()), Report(ctx, (rustup("rustup"),), 0.0))
    [step] = plan.steps
    assert (step.argv, step.root) == (("dnf", "install", "-y", "rustup"), True)


def test_debian_12_with_snapd_installs_the_classic_snap() -> None:
    ctx = make_context(rust_mode="pin")
    system = machine(rustup=None)
    decision = decide(ctx, system, rustup(snap=True))
    assert decision.steps == [
        Step(
            fix="rust",
            findings=("rustup",),
            why=f"rustup: {RUSTUP_SUMMARY} (the distribution does not package it; the snap does)",
            argv=("snap", "install", "rustup", "--classic"),
            root=True,
            network=True,
            timeout=900.0,
        )
    ]
    after = decide(ctx, system, rustup(snap=True), toolchain())
    assert after.steps[-1].argv == ("/snap/bin/rustup", *INSTALL)


def test_without_package_or_snap_the_installer_needs_consent() -> None:
    ctx = make_context(rust_mode="pin")
    system = machine(rustup=None)
    decision = decide(ctx, system, rustup(), toolchain())
    assert decision.steps == []
    assert "`kdoctor fix --allow-rustup-installer`" in decision.notes[0]
    assert "sh.rustup.rs" in decision.notes[0]
    assert decision.notes[1] == f"{PIN} can be installed once rustup is (see the note on rustup)."
    assert system.runs == []


def test_consent_runs_the_official_installer_then_the_pin_from_cargo_home() -> None:
    ctx = make_context(rust_mode="pin")
    system = machine(rustup=None)
    decision = decide(ctx, system, rustup(), toolchain(), consent=True)
    assert decision.steps == [
        Step(
            fix="rust",
            findings=("rustup",),
            why=f"rustup: {RUSTUP_SUMMARY} (official installer from sh.rustup.rs, consented to)",
            argv=("sh", "-c", INSTALLER_SCRIPT),
            network=True,
            timeout=900.0,
        ),
        install("/root/.cargo/bin/rustup"),
    ]
    assert "~/.cargo/bin" in decision.notes[0]
    # the environment is no side channel: a variable there gives no consent
    env = FakeSystem(env={"PATH": "/usr/bin", "KDOCTOR_ALLOW_RUSTUP_INSTALLER": "1"})
    assert decide(ctx, env, rustup(), toolchain()).steps == []


def test_the_installer_installs_rustup_only_and_fails_when_the_download_fails() -> None:
    assert "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs" in INSTALLER_SCRIPT
    assert INSTALLER_SCRIPT.startswith("set -e; installer=$(curl ")
    assert INSTALLER_SCRIPT.endswith("| sh -s -- -y --profile minimal --default-toolchain none")


def test_missing_components_are_added_in_one_step() -> None:
    ctx = make_context(rust_mode="pin")
    system = machine()
    found = (component("rust-src"), component("rustfmt", Status.WARN))
    assert decide(ctx, system, *found).steps == [
        Step(
            fix="rust",
            findings=("rust-src", "rustfmt"),
            why=f"rust-src: the rust-src component of {PIN} is not installed; "
            f"rustfmt: the rustfmt component of {PIN} is not installed",
            argv=("rustup", "component", "add", "rust-src", "rustfmt", "--toolchain", PIN),
            network=True,
            timeout=900.0,
            env=dict(RUSTUP_ENV),
        )
    ]
    assert system.runs == []


def test_a_directory_override_is_unset() -> None:
    ctx = make_context(rust_mode="pin")
    summary = f"{PIN} is installed, but a rustup override for /src (stable) makes rustc ..."
    override = finding("toolchain", RustOverride("stable", "/src"), summary=summary)
    decision = decide(ctx, machine(), override)
    assert decision.steps == [
        Step(
            fix="rust",
            findings=("toolchain",),
            why=f"toolchain: {summary}",
            argv=("rustup", "override", "unset", "--path", "/src"),
            timeout=60.0,
            env=dict(RUSTUP_ENV),
        )
    ]
    assert decision.notes == []


def test_rustup_toolchain_in_the_environment_cannot_be_unset_by_a_child() -> None:
    ctx = make_context(rust_mode="pin", env={"RUSTUP_TOOLCHAIN": "stable"})
    decision = decide(ctx, machine(), finding("toolchain", RustOverride("stable")))
    assert decision.steps == []
    [note] = decision.notes
    assert "RUSTUP_TOOLCHAIN=stable" in note and "`unset RUSTUP_TOOLCHAIN`" in note


def test_satisfied_pin_plans_nothing_and_probes_nothing() -> None:
    ctx = make_context(rust_mode="pin")
    system = machine()
    ok = Finding("toolchain", Status.OK, f"{PIN} (rustc 1.52.0-nightly) is installed")
    assert decide(ctx, system, ok) == Decision()
    assert system.runs == [] and system.calls == []


# -- --rust distro -----------------------------------------------------------------------------
def test_distro_mode_leaves_everything_to_the_packages_planner() -> None:
    ctx = make_context(rust_mode="distro")
    assert decide(ctx, machine(), toolchain(WEB), component("rust-src"), rustup("rustup")) == (
        Decision()
    )


# -- --rust auto -------------------------------------------------------------------------------
NEITHER = (
    f"{PIN} is not installed, and the distribution's rustc is not usable (no distribution rustc)"
)


def test_auto_with_neither_usable_installs_the_pin_when_rust_lang_answers() -> None:
    ctx = make_context(rust_mode="auto")
    system = machine(**{REACH: Reply(stdout="HTTP/2 403\r\n")})
    decision = decide(ctx, system, toolchain(WEB, NEITHER))
    assert decision.steps == [install(why=f"toolchain: {NEITHER}")]
    assert decision.notes == [
        f"neither {PIN} nor the distribution's rustc is usable; installing {PIN} with rustup "
        "because rustup is installed and static.rust-lang.org can be reached."
    ]
    assert system.runs == []


def test_auto_with_neither_usable_and_no_network_hands_the_distro_packages_on() -> None:
    ctx = make_context(rust_mode="auto")
    offline = Reply(stderr="curl: (6) Could not resolve host: static.rust-lang.org", exit_code=6)
    system = machine(**{REACH: offline})
    wanted = toolchain(WEB, NEITHER)
    decision = decide(ctx, system, wanted)
    assert decision.steps == []
    assert decision.handed_on == [Ask(wanted, p) for p in WEB]
    assert decision.notes == [
        f"neither {PIN} nor the distribution's rustc is usable; installing the distribution's "
        "Rust (rustc-web, rust-web-src) because static.rust-lang.org cannot be reached (curl "
        "exited with status 6: curl: (6) Could not resolve host: static.rust-lang.org); "
        f"`kdoctor fix --rust pin` installs {PIN} instead."
    ]
    assert system.runs == []


def test_auto_without_rustup_takes_the_distro_packages_without_probing_the_network() -> None:
    ctx = make_context(rust_mode="auto")
    system = machine(rustup=None)
    decision = decide(ctx, system, rustup("rustup"), toolchain(WEB, NEITHER))
    assert [a.need for a in decision.handed_on] == list(WEB)  # rustup itself is not wanted
    assert "because rustup is not installed;" in decision.notes[0]
    assert system.calls == []


def test_auto_installs_rustup_when_only_the_pin_can_be_had() -> None:
    ctx = make_context(distro=TRIXIE, rust_mode="auto")
    system = machine(rustup=None, **{REACH: Reply(stdout="HTTP/2 403\r\n")})
    decision = decide(ctx, system, rustup("rustup"), toolchain((), NEITHER))
    assert [a.need for a in decision.handed_on] == [Package("rustup", ("rustup",))]
    assert decision.steps == [install(why=f"toolchain: {NEITHER}")]


def test_auto_with_nothing_installable_says_so() -> None:
    ctx = make_context(rust_mode="auto", package_manager=None)
    offline = Reply(stderr="curl: (6) Could not resolve host: static.rust-lang.org", exit_code=6)
    decision = decide(ctx, machine(rustup=None, **{REACH: offline}), toolchain(WEB, NEITHER))
    assert decision.steps == [] and decision.handed_on == []
    [note] = decision.notes
    assert note.startswith(f"neither {PIN} nor the distribution's rustc is usable, and kdoctor ")
    assert "curl is not installed" not in note and "cannot be reached" in note


# -- when the download fails at apply time ------------------------------------------------------
RUSTUP_OFFLINE = (
    "info: syncing channel updates for nightly-2021-02-12-x86_64-unknown-linux-gnu\n"
    "error: could not download file from 'https://static.rust-lang.org/dist/2021-02-12/"
    "channel-rust-nightly.toml.sha256' to '/root/.rustup/tmp/psyv8vhmnpro5cma_file': error "
    "downloading file: error sending request for url (https://static.rust-lang.org/dist/"
    "2021-02-12/channel-rust-nightly.toml.sha256): client error (Connect): dns error: failed "
    "to lookup address information: Name or service not known\n"
)
DISPLAY = " ".join(("rustup", *INSTALL))


@pytest.mark.parametrize(
    "output",
    [
        RUSTUP_OFFLINE,
        "error: error sending request for url (https://static.rust-lang.org/x)",
        "error: failed to resolve: static.rust-lang.org",
        "curl: (6) Could not resolve host: static.rust-lang.org",
        "error: tcp connect error: network unreachable (os error 101)",
        "error: tcp connect error: Connection refused (os error 111)",
    ],
)
def test_rustup_download_failures_name_the_toolchain_host_and_fallback(output: str) -> None:
    assert explain_step_failure(output, DISPLAY) == (
        f"rustup could not download {PIN} from static.rust-lang.org: the network cannot reach "
        f"it (while running `{DISPLAY}`). Build with the distribution's Rust instead: "
        "`kdoctor fix --rust distro` (or rerun kdoctor fix once the network is back; nothing "
        "half-done is left behind)."
    )


def test_component_download_failure_names_the_toolchain_too() -> None:
    display = f"/root/.cargo/bin/rustup component add rust-src --toolchain {PIN}"
    explained = explain_step_failure("error: could not download file from 'x'", display)
    assert explained is not None
    assert explained.startswith(f"rustup could not download {PIN} from static.rust-lang.org")


def test_other_commands_keep_the_generic_network_explanation() -> None:
    explained = explain_step_failure(
        "Temporary failure resolving 'deb.debian.org'", "apt-get install -y rustc-web"
    )
    assert explained is not None and "kdoctor fix --rust distro" not in explained
    assert explain_step_failure("error: toolchain is not installed", DISPLAY) is None


def test_a_failed_pin_download_is_explained_when_applying(tmp_path: Path) -> None:
    ctx = make_context(rust_mode="pin")
    system = machine()
    system.commands[DISPLAY] = Reply(stdout=RUSTUP_OFFLINE, exit_code=1)
    result = apply_plan(Plan((install(),)), ctx, system, log_dir=str(tmp_path))
    assert result.stopped == "failed"
    [failed] = result.results
    assert failed.explanation is not None
    assert f"could not download {PIN} from static.rust-lang.org" in failed.explanation
    assert "`kdoctor fix --rust distro`" in failed.explanation
