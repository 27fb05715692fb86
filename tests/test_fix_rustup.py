from __future__ import annotations

from typing import Optional

from kdoctor.fixes.rustup import INSTALLER_SCRIPT, RustupFix
from kdoctor.machine.fake import FakeSystem, Reply
from kdoctor.model.context import Context, DistroInfo
from kdoctor.model.finding import Finding, Status
from kdoctor.model.plan import Step
from kdoctor.model.report import Report
from tests.conftest import make_context

SUMMARY = "rustup is not installed; it is needed to install nightly-2021-02-12"
WHY = f"rustup: {SUMMARY}"
TRIXIE = DistroInfo("debian", "13", "Debian GNU/Linux 13 (trixie)", (), "trixie")
FEDORA = DistroInfo("fedora", "40", "Fedora Linux 40", (), "")
REACH = "curl -sSI --max-time 5 https://static.rust-lang.org/"


def missing(method: str = "package") -> Finding:
    return Finding(
        id="rustup",
        status=Status.FAIL,
        summary=SUMMARY,
        fix="rustup",
        facts={"path": None, "version": None, "on_path": False, "method": method},
    )


def toolchain_needing_pin(packages: Optional[list[str]] = None) -> Finding:
    """The toolchain check with --rust auto when neither the pin nor the distro rustc works."""
    return Finding(
        id="toolchain",
        status=Status.FAIL,
        summary="rustup is not installed (needed for nightly-2021-02-12), and the "
        "distribution's rustc is not usable (no distribution rustc)",
        fix="toolchain",
        facts={
            "source": "pin",
            "installed": None,
            "override": None,
            "packages": ["rustc-web", "rust-web-src"] if packages is None else packages,
        },
    )


def plan(ctx: Context, system: FakeSystem, *findings: Finding) -> list[Step]:
    return RustupFix().plan(ctx, Report(ctx, findings, 0.0), system)


def notes(ctx: Context, system: FakeSystem, *findings: Finding) -> list[str]:
    return RustupFix().notes(ctx, Report(ctx, findings, 0.0), system)


def bare(**programs: str) -> FakeSystem:
    return FakeSystem(programs=programs, env={"PATH": "/usr/bin:/bin", "HOME": "/root"})


def test_debian_13_installs_the_distribution_package_without_questions() -> None:
    ctx = make_context(distro=TRIXIE, rust_mode="pin")
    system = bare()
    assert plan(ctx, system, missing()) == [
        Step(
            fix="rustup",
            findings=("rustup",),
            why=WHY,
            argv=(
                "apt-get",
                "install",
                "-y",
                "--no-install-recommends",
                "-o",
                "DPkg::Lock::Timeout=120",
                "rustup",
            ),
            root=True,
            env={"DEBIAN_FRONTEND": "noninteractive"},
            network=True,
            timeout=1800.0,
        )
    ]
    assert notes(ctx, system, missing()) == []
    assert system.runs == []


def test_fedora_installs_its_package_with_dnf() -> None:
    ctx = make_context(distro=FEDORA, package_manager="dnf", rust_mode="pin")
    [step] = plan(ctx, bare(), missing())
    assert (step.argv, step.root, step.env) == (("dnf", "install", "-y", "rustup"), True, {})


def test_debian_12_with_snapd_installs_the_classic_snap() -> None:
    ctx = make_context(rust_mode="pin")
    system = bare(snap="/usr/bin/snap")
    assert plan(ctx, system, missing("snap")) == [
        Step(
            fix="rustup",
            findings=("rustup",),
            why=WHY + " (the distribution does not package it; the snap does)",
            argv=("snap", "install", "rustup", "--classic"),
            root=True,
            network=True,
            timeout=900.0,
        )
    ]
    assert system.runs == []


def test_without_package_or_snap_the_installer_needs_consent() -> None:
    ctx = make_context(rust_mode="pin")
    system = bare()
    assert plan(ctx, system, missing("script")) == []
    [note] = notes(ctx, system, missing("script"))
    assert "`kdoctor fix --allow-rustup-installer`" in note
    assert "KDOCTOR_ALLOW_RUSTUP_INSTALLER=1" in note
    assert "sh.rustup.rs" in note
    assert system.runs == []


def test_consent_runs_the_official_installer_as_the_user() -> None:
    installer = Step(
        fix="rustup",
        findings=("rustup",),
        why=WHY + " (official installer from sh.rustup.rs, consented to)",
        argv=("sh", "-c", INSTALLER_SCRIPT),
        network=True,
        timeout=900.0,
    )
    by_flag = make_context(rust_mode="pin", env={"KDOCTOR_ALLOW_RUSTUP_INSTALLER": "1"})
    assert plan(by_flag, bare(), missing("script")) == [installer]
    # the CLI's --allow-rustup-installer reaches kdoctor through its environment
    system = FakeSystem(env={"PATH": "/usr/bin", "KDOCTOR_ALLOW_RUSTUP_INSTALLER": "1"})
    assert plan(make_context(rust_mode="pin"), system, missing("script")) == [installer]
    assert "~/.cargo/bin" in notes(by_flag, bare(), missing("script"))[0]
    assert system.runs == []


def test_the_installer_installs_rustup_only_and_fails_when_the_download_fails() -> None:
    assert "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs" in INSTALLER_SCRIPT
    assert INSTALLER_SCRIPT.startswith("set -e; installer=$(curl ")
    assert INSTALLER_SCRIPT.endswith("| sh -s -- -y --profile minimal --default-toolchain none")


def test_installed_rustup_plans_nothing() -> None:
    ctx = make_context(rust_mode="pin")
    system = bare(rustup="/root/.cargo/bin/rustup")
    ok = Finding(id="rustup", status=Status.OK, summary="rustup 1.29.0")
    assert plan(ctx, system, ok) == []
    assert notes(ctx, system, ok) == []
    assert system.runs == []


def test_distro_mode_never_installs_rustup() -> None:
    ctx = make_context(distro=TRIXIE, rust_mode="distro")
    assert plan(ctx, bare(), missing()) == []


def test_auto_mode_leaves_rustup_alone_when_the_distro_packages_are_chosen() -> None:
    ctx = make_context(distro=TRIXIE, rust_mode="auto")
    system = bare(curl="/usr/bin/curl")
    assert plan(ctx, system, missing(), toolchain_needing_pin()) == []
    assert REACH.split() not in [list(c) for c in system.calls]  # no need to look
    assert system.runs == []


def test_auto_mode_installs_rustup_when_only_the_pin_can_be_had() -> None:
    ctx = make_context(distro=TRIXIE, rust_mode="auto")
    system = bare(curl="/usr/bin/curl")
    system.commands[REACH] = Reply(stdout="HTTP/2 403\r\n")
    steps = plan(ctx, system, missing(), toolchain_needing_pin(packages=[]))
    assert [s.argv[-1] for s in steps] == ["rustup"]
    assert system.runs == []
