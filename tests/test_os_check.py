from __future__ import annotations

from kdoctor.checks.os_info import OsCheck
from kdoctor.model.context import DistroInfo
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.pipeline.planner import fix_of
from tests.conftest import make_context, run_check
from tests.fake_system import FakeSystem

DEBIAN = {"apt-get": "/usr/bin/apt-get"}


def run(system: FakeSystem, **ctx: object) -> Finding:
    return run_check(OsCheck(), make_context(**ctx), system)


def test_debian_with_apt_is_ok() -> None:
    assert run(FakeSystem(programs=DEBIAN)) == Finding(
        id="os",
        status=Status.OK,
        summary="Debian GNU/Linux 12 (bookworm), packages via apt",
        found="Debian GNU/Linux 12 (bookworm)",
        facts={
            "distro": "debian",
            "version": "12",
            "name": "Debian GNU/Linux 12 (bookworm)",
            "like": [],
            "codename": "bookworm",
            "package_manager": "apt",
            "manual": [],
        },
        required=False,
    )


def test_fedora_with_dnf_is_ok() -> None:
    finding = run(
        FakeSystem(programs={"dnf": "/usr/bin/dnf"}),
        distro=DistroInfo("fedora", "40", "Fedora Linux 40 (Workstation Edition)"),
        package_manager="dnf",
    )
    assert finding.status is Status.OK
    assert finding.summary == "Fedora Linux 40 (Workstation Edition), packages via dnf"
    assert finding.remediation is None
    assert fix_of(finding) is None
    assert finding.facts["package_manager"] == "dnf"
    assert finding.facts["distro"] == "fedora"


def test_unknown_distro_warns_with_the_packages_to_install_by_hand() -> None:
    finding = run(
        FakeSystem(programs={}),
        distro=DistroInfo("nixos", "24.05", "NixOS 24.05 (Uakari)", (), "uakari"),
        package_manager=None,
        target_kernel="6.6.30",
    )
    assert finding.status is Status.WARN
    assert finding.required is False
    assert finding.summary == (
        "NixOS 24.05 (Uakari): kdoctor knows no package manager for it; install packages by hand"
    )
    assert fix_of(finding) is None
    assert finding.remediation == Remediation(
        "kdoctor cannot install packages here. Install these with your distribution's tools: "
        "clang; llvm; libclang with its development files (libclang.so); "
        "bindgen (the rust-bindgen command line tool); GNU make; gcc; binutils; "
        "kernel headers for 6.6.30; qemu (qemu-system-x86_64); a statically linked busybox."
    )
    assert finding.facts["manual"] == [
        "clang",
        "llvm",
        "libclang",
        "bindgen",
        "make",
        "gcc",
        "binutils",
        "headers",
        "qemu",
        "busybox",
    ]
    assert finding.facts["package_manager"] is None
    assert finding.facts["distro"] == "nixos"
    assert finding.facts["codename"] == "uakari"


def test_derivative_found_through_id_like_is_ok() -> None:
    # context detection maps ID_LIKE=ubuntu to apt; the check trusts it
    finding = run(
        FakeSystem(programs=DEBIAN),
        distro=DistroInfo("zorin", "17", "Zorin OS 17", ("ubuntu", "debian"), "jammy"),
        package_manager="apt",
    )
    assert finding.status is Status.OK
    assert finding.facts["like"] == ["ubuntu", "debian"]


def test_known_family_without_its_install_tool_warns() -> None:
    finding = run(FakeSystem(programs={}))
    assert finding.status is Status.WARN
    assert finding.summary == "Debian GNU/Linux 12 (bookworm) uses apt, but apt-get is not on PATH"
    assert fix_of(finding) is None
    assert finding.remediation is not None
    assert "add its directory to PATH" in finding.remediation.text
    assert finding.remediation.commands == ()
    assert finding.facts["package_manager"] == "apt"


def test_the_check_runs_no_command() -> None:
    system = FakeSystem(programs=DEBIAN)
    run(system)
    assert system.calls == []
    assert system.runs == []
