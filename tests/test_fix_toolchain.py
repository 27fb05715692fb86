from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pytest

from kdoctor.fixes.rustup import RustupFix
from kdoctor.fixes.toolchain import RUSTUP_ENV, ToolchainFix
from kdoctor.knowledge.step_errors import explain_step_failure
from kdoctor.machine.fake import FakeSystem, Reply
from kdoctor.model.context import Context, DistroInfo
from kdoctor.model.finding import Finding, Status
from kdoctor.model.plan import Plan, Step
from kdoctor.model.report import Report
from kdoctor.pipeline.apply import apply_plan
from tests.conftest import make_context

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
APT = ("apt-get", "install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=120")


def toolchain(
    status: Status = Status.FAIL,
    summary: str = f"{PIN} is not installed",
    fix: Optional[str] = "toolchain",
    **facts: Any,
) -> Finding:
    base: dict[str, Any] = {
        "source": "pin",
        "rustc": None,
        "version": None,
        "override": None,
        "installed": False,
        "env": {"RUSTUP_TOOLCHAIN": PIN},
        "packages": [],
    }
    base.update(facts)
    return Finding(id="toolchain", status=status, summary=summary, fix=fix, facts=base)


def component(check: str, status: Status = Status.FAIL) -> Finding:
    return Finding(
        id=check,
        status=status,
        summary=f"the {check} component of {PIN} is not installed",
        fix="toolchain",
        facts={"component": check, "toolchain": PIN},
    )


def machine(*, rustup: Optional[str] = "/root/.cargo/bin/rustup", **extra: Any) -> FakeSystem:
    programs = {"curl": "/usr/bin/curl"}
    path = "/usr/bin:/bin"
    if rustup is not None:
        programs["rustup"] = rustup
        path = "/root/.cargo/bin:" + path
    system = FakeSystem(programs=programs, env={"PATH": path, "HOME": "/root"})
    system.commands.update(extra)
    return system


def plan(ctx: Context, system: FakeSystem, *findings: Finding) -> list[Step]:
    return ToolchainFix().plan(ctx, Report(ctx, findings, 0.0), system)


def notes(ctx: Context, system: FakeSystem, *findings: Finding) -> list[str]:
    return ToolchainFix().notes(ctx, Report(ctx, findings, 0.0), system)


def install(rustup: str = "rustup", why: str = f"toolchain: {PIN} is not installed") -> Step:
    return Step(
        fix="toolchain",
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
    assert plan(ctx, system, toolchain()) == [install()]
    assert notes(ctx, system, toolchain()) == []
    assert system.runs == []


def test_rustup_outside_path_is_run_by_its_full_path() -> None:
    ctx = make_context(rust_mode="pin")
    system = FakeSystem(
        programs={"cargo-rustup": "/root/.cargo/bin/rustup"},
        env={"PATH": "/usr/bin:/bin", "HOME": "/root"},
    )
    assert plan(ctx, system, toolchain()) == [install("/root/.cargo/bin/rustup")]


def test_missing_rustup_from_the_package_comes_first_then_the_pin() -> None:
    ctx = make_context(distro=TRIXIE, rust_mode="pin")
    system = machine(rustup=None)
    rustup = Finding("rustup", Status.FAIL, "rustup is not installed", fix="rustup")
    report = Report(ctx, (rustup, toolchain()), 0.0)
    steps = RustupFix().plan(ctx, report, system) + ToolchainFix().plan(ctx, report, system)
    assert [s.argv for s in steps] == [(*APT, "rustup"), ("rustup", *INSTALL)]
    assert system.runs == []


def test_consented_installer_puts_rustup_in_cargo_home() -> None:
    ctx = make_context(rust_mode="pin", env={"KDOCTOR_ALLOW_RUSTUP_INSTALLER": "1"})
    assert plan(ctx, machine(rustup=None), toolchain()) == [install("/root/.cargo/bin/rustup")]


def test_without_rustup_or_consent_nothing_is_planned_and_the_note_says_why() -> None:
    ctx = make_context(rust_mode="pin")
    system = machine(rustup=None)
    assert plan(ctx, system, toolchain()) == []
    assert notes(ctx, system, toolchain()) == [
        f"{PIN} can be installed once rustup is (see the note on rustup)."
    ]


def test_missing_components_are_added_in_one_step() -> None:
    ctx = make_context(rust_mode="pin")
    system = machine()
    ok = toolchain(Status.OK, f"{PIN} is installed", None, installed=True)
    found = (ok, component("rust-src"), component("rustfmt", Status.WARN))
    assert plan(ctx, system, *found) == [
        Step(
            fix="toolchain",
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
    override = {"kind": "directory", "toolchain": "stable", "path": "/src"}
    summary = f"{PIN} is installed, but a rustup override for /src (stable) makes rustc ..."
    finding = toolchain(summary=summary, installed=True, override=override)
    assert plan(ctx, machine(), finding) == [
        Step(
            fix="toolchain",
            findings=("toolchain",),
            why=f"toolchain: {summary}",
            argv=("rustup", "override", "unset", "--path", "/src"),
            timeout=60.0,
            env=dict(RUSTUP_ENV),
        )
    ]
    assert notes(ctx, machine(), finding) == []


def test_rustup_toolchain_in_the_environment_cannot_be_unset_by_a_child() -> None:
    ctx = make_context(rust_mode="pin", env={"RUSTUP_TOOLCHAIN": "stable"})
    override = {"kind": "env", "toolchain": "stable", "path": None}
    finding = toolchain(installed=True, override=override)
    system = machine()
    assert plan(ctx, system, finding) == []
    [note] = notes(ctx, system, finding)
    assert "RUSTUP_TOOLCHAIN=stable" in note and "`unset RUSTUP_TOOLCHAIN`" in note


def test_installed_pin_with_a_broken_rustc_is_left_to_the_person() -> None:
    ctx = make_context(rust_mode="pin")
    finding = toolchain(summary=f"{PIN} is installed but its rustc does not work", installed=True)
    assert plan(ctx, machine(), finding) == []
    [note] = notes(ctx, machine(), finding)
    assert f"rustup toolchain uninstall {PIN}" in note


def test_satisfied_pin_plans_nothing() -> None:
    ctx = make_context(rust_mode="pin")
    system = machine()
    ok = toolchain(Status.OK, f"{PIN} (rustc 1.52.0-nightly) is installed", None, installed=True)
    fine = Finding("rust-src", Status.OK, "Rust library sources for rustc 1.52.0")
    assert plan(ctx, system, ok, fine) == []
    assert notes(ctx, system, ok, fine) == []
    assert system.runs == [] and system.calls == []


# -- --rust distro -----------------------------------------------------------------------------
def test_distro_mode_leaves_everything_to_the_packages_fix() -> None:
    ctx = make_context(rust_mode="distro")
    system = machine()
    assert plan(ctx, system, toolchain(), component("rust-src")) == []
    assert notes(ctx, system, toolchain()) == []


# -- --rust auto -------------------------------------------------------------------------------
def using_distro() -> Finding:
    return toolchain(
        Status.WARN,
        f"{PIN} is not installed; using the distribution's rustc 1.96.0 with RUSTC_BOOTSTRAP=1 "
        "as the kernel does",
        None,
        source="distro",
        rustc="/usr/bin/rustc",
        version="1.96.0",
        env={"RUSTC_BOOTSTRAP": "1"},
        packages=["rustc-web", "rust-web-src"],
    )


def test_auto_with_a_usable_distro_rustc_plans_nothing_and_says_why() -> None:
    ctx = make_context(rust_mode="auto")
    system = machine()
    assert plan(ctx, system, using_distro()) == []
    assert notes(ctx, system, using_distro()) == [
        "using the distribution's rustc 1.96.0 with RUSTC_BOOTSTRAP=1 because "
        f"{PIN} is not installed; `kdoctor fix --rust pin` installs the pin"
    ]
    assert system.runs == []


def test_auto_says_when_rustup_is_missing_too() -> None:
    ctx = make_context(rust_mode="auto")
    [note] = notes(ctx, machine(rustup=None), using_distro())
    assert f"because {PIN} is not installed (nor is rustup);" in note


def neither(**facts: Any) -> Finding:
    summary = (
        f"{PIN} is not installed, and the distribution's rustc is not usable (no distribution "
        "rustc)"
    )
    return toolchain(summary=summary, packages=["rustc-web", "rust-web-src"], **facts)


def test_auto_with_neither_usable_installs_the_pin_when_rust_lang_answers() -> None:
    ctx = make_context(rust_mode="auto")
    system = machine(**{REACH: Reply(stdout="HTTP/2 403\r\n")})
    assert plan(ctx, system, neither()) == [install(why=f"toolchain: {neither().summary}")]
    assert notes(ctx, system, neither()) == [
        f"neither {PIN} nor the distribution's rustc is usable; installing {PIN} with rustup "
        "because rustup is installed and static.rust-lang.org can be reached."
    ]
    assert system.runs == []


def test_auto_with_neither_usable_and_no_network_installs_the_distro_packages() -> None:
    ctx = make_context(rust_mode="auto")
    offline = Reply(stderr="curl: (6) Could not resolve host: static.rust-lang.org", exit_code=6)
    system = machine(**{REACH: offline})
    assert plan(ctx, system, neither()) == [
        Step(
            fix="toolchain",
            findings=("toolchain",),
            why=f"toolchain: {neither().summary}; the distribution's Rust is used instead of {PIN}",
            argv=(*APT, "rustc-web", "rust-web-src"),
            root=True,
            env={"DEBIAN_FRONTEND": "noninteractive"},
            network=True,
            timeout=1800.0,
        )
    ]
    [note] = notes(ctx, system, neither())
    assert note == (
        f"neither {PIN} nor the distribution's rustc is usable; installing the distribution's "
        "Rust (rustc-web, rust-web-src) because static.rust-lang.org cannot be reached (curl "
        "exited with status 6: curl: (6) Could not resolve host: static.rust-lang.org); "
        f"`kdoctor fix --rust pin` installs {PIN} instead."
    )
    assert system.runs == []


def test_auto_without_rustup_takes_the_distro_packages_without_probing_the_network() -> None:
    ctx = make_context(rust_mode="auto")
    system = machine(rustup=None)
    [step] = plan(ctx, system, neither(installed=None))
    assert step.argv == (*APT, "rustc-web", "rust-web-src")
    assert "because rustup is not installed;" in notes(ctx, system, neither(installed=None))[0]
    assert system.calls == []


def test_auto_with_nothing_installable_says_so() -> None:
    ctx = make_context(rust_mode="auto", package_manager=None)
    system = machine(rustup=None)
    assert plan(ctx, system, neither(installed=None)) == []
    [note] = notes(ctx, system, neither(installed=None))
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
