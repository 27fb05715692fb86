"""The real-machine test helper (tests/real_machine.py) and the suite's summary of what those
tests did (tests/real_machine_summary.py)."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Optional

import pytest

from kdoctor.knowledge.packages import kernel_package_names
from kdoctor.model.context import bundled_module_dir
from tests import real_machine
from tests.fake_system import FakeSystem, apt_unknown
from tests.real_machine import (
    RealTarget,
    cannot_run,
    derive_target,
    in_ci,
    real_kernel,
    require_real,
    target_kernel,
    tool_install,
)
from tests.real_machine_summary import RealMachineSummary, duration

TESTS = Path(__file__).parent
PIN = Path(bundled_module_dir(), "rust-toolchain.toml").read_text()
OS_RELEASE = 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
FC = "6.18.44-fc-v782"
STOCK = "6.1.0-50-amd64"
ARCHIVE = "6.1.0-56-amd64"
OWN = "6.12.9-custom"
SETTINGS = "/root/.config/kdoctor/env"
DEPENDS = "apt-cache depends linux-headers-amd64"
BUILD_FILES = ("Makefile", ".config", "Module.symvers", "include/generated/autoconf.h")


def build_dir(kdir: str, release: str) -> dict[str, str]:
    files = {f"{kdir}/{name}": "x" for name in BUILD_FILES}
    files[f"{kdir}/include/generated/utsrelease.h"] = f'#define UTS_RELEASE "{release}"\n'
    return files


def machine(
    *,
    running: str = FC,
    installed: tuple[str, ...] = (),
    env: Optional[dict[str, str]] = None,
    files: Optional[dict[str, str]] = None,
    archive: Optional[str] = ARCHIVE,
) -> FakeSystem:
    """Debian 12 running ``running``; ``installed`` releases have usable build directories
    under /lib/modules (and so does /opt/<OWN>); the archive's metapackage installs ``archive``."""
    every = {
        "/etc/os-release": OS_RELEASE,
        "/proc/sys/kernel/osrelease": running + "\n",
        f"{bundled_module_dir()}/rust-toolchain.toml": PIN,
        **build_dir(f"/opt/{OWN}", OWN),
        **(files or {}),
    }
    programs = {"apt-cache": "/usr/bin/apt-cache", "modpost-own": f"/opt/{OWN}/scripts/mod/modpost"}
    for release in installed:
        kdir = f"/lib/modules/{release}/build"
        every.update(build_dir(kdir, release))
        programs[f"modpost-{release}"] = f"{kdir}/scripts/mod/modpost"
    depends = f"linux-headers-amd64\n  Depends: linux-headers-{archive}\n" if archive else ""
    return FakeSystem(
        files=every,
        programs=programs,
        dirs={"/lib/modules": list(installed), "/usr/src": []},
        env={"PATH": "/usr/bin:/bin", "HOME": "/root", **(env or {})},
        maybe={DEPENDS: depends, **apt_unknown(*kernel_package_names("apt", running))},
        uid=0,
        kernel_release=running,
    )


# -- CI turns "cannot run here" into a failure ------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("TRUE", True), ("1", True), ("", False), ("false", False), ("0", False)],
)
def test_in_ci_reads_the_ci_variable(value: str, expected: bool) -> None:
    assert in_ci({"CI": value}) is expected
    assert in_ci({}) is False


def test_outside_ci_a_test_that_cannot_run_skips_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        cannot_run("needs make: apt-get install make")
    assert skipped.value.msg == "needs make: apt-get install make"


def test_in_ci_a_test_that_cannot_run_fails_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as failed:
        cannot_run("needs make: apt-get install make")
    assert (
        failed.value.msg == "a real-machine test cannot run in CI: needs make: apt-get install make"
    )
    with pytest.raises(pytest.fail.Exception):
        require_real(False, "needs make")
    require_real(True, "needs make")  # ready: nothing raised


def test_real_kernel_names_the_headers_to_install_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = RealTarget(ARCHIVE, f"/lib/modules/{ARCHIVE}/build", "archive", ("Makefile",), "X")
    monkeypatch.setattr(real_machine, "machine_target", lambda: missing)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        real_kernel()
    assert skipped.value.msg == (
        f"needs the headers of {ARCHIVE} (archive; /lib/modules/{ARCHIVE}/build lacks Makefile): "
        "X, or run ./onboard.sh (kdoctor fix --yes)"
    )
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        real_kernel()
    monkeypatch.setattr(real_machine, "machine_target", lambda: None)
    with pytest.raises(pytest.fail.Exception) as failed:
        real_kernel()
    assert "no kernel to build for" in str(failed.value.msg)

    monkeypatch.delenv("CI")
    broken = RealTarget(OWN, "/opt/k", "KDIR", ("Makefile",), "X")
    monkeypatch.setattr(real_machine, "machine_target", lambda: broken)
    with pytest.raises(pytest.skip.Exception) as skipped:
        real_kernel()
    assert skipped.value.msg == (
        "KDIR is not a usable kernel build directory (/opt/k lacks Makefile): set KDIR to one"
    )
    usable = RealTarget(STOCK, f"/lib/modules/{STOCK}/build", "installed", (), "X")
    monkeypatch.setattr(real_machine, "machine_target", lambda: usable)
    assert real_kernel() == usable
    assert target_kernel() == STOCK


# -- the target, derived as kdoctor derives it -------------------------------------------------
def test_kdir_wins_over_the_settings_the_installed_and_the_archives_kernel() -> None:
    system = machine(
        installed=(STOCK,),
        env={"KDIR": f"/opt/{OWN}"},
        files={SETTINGS: f"export KDIR=/lib/modules/{STOCK}/build\n"},
    )
    found = derive_target(system)
    assert found is not None
    assert (found.release, found.kdir, found.source, found.usable) == (
        OWN,
        f"/opt/{OWN}",
        "KDIR",
        True,
    )
    assert DEPENDS.split() not in [list(call) for call in system.calls]


def test_the_persisted_kdir_wins_over_the_installed_and_the_archives_kernel() -> None:
    system = machine(installed=(STOCK,), files={SETTINGS: f"export KDIR=/opt/{OWN}\n"})
    found = derive_target(system)
    assert found is not None
    assert (found.release, found.kdir, found.source) == (OWN, f"/opt/{OWN}", "settings")
    assert found.install == f"apt-get install -y --no-install-recommends linux-headers-{OWN}"


def test_a_running_kernel_with_headers_is_the_target() -> None:
    found = derive_target(machine(running=STOCK, installed=(STOCK, "6.1.0-9-amd64")))
    assert found is not None
    assert (found.release, found.source, found.usable) == (STOCK, "running", True)


def test_an_unserved_running_kernel_gives_the_newest_installed_stock_kernel() -> None:
    found = derive_target(machine(installed=("6.1.0-9-amd64", STOCK, "6.19.0-fc-v1")))
    assert found is not None
    assert (found.release, found.kdir, found.source) == (
        STOCK,
        f"/lib/modules/{STOCK}/build",
        "installed",
    )
    assert found.usable


def test_with_nothing_installed_the_archives_stock_kernel_is_the_target() -> None:
    found = derive_target(machine())
    assert found is not None
    assert (found.release, found.source, found.usable) == (ARCHIVE, "archive", False)
    assert "Makefile" in found.missing
    assert found.install == f"apt-get install -y --no-install-recommends linux-headers-{ARCHIVE}"


def test_no_target_without_headers_archive_or_a_packaged_running_kernel() -> None:
    assert derive_target(machine(archive=None)) is None
    packaged = derive_target(machine(running="6.1.0-57-amd64", archive=None))
    assert packaged is not None
    assert (packaged.release, packaged.source, packaged.usable) == (
        "6.1.0-57-amd64",
        "running",
        False,
    )


def test_tools_are_installed_by_their_package_names() -> None:
    prefix = "apt-get install -y --no-install-recommends"
    assert tool_install("qemu-system-x86_64") == f"{prefix} qemu-system-x86"
    assert tool_install("ld") == f"{prefix} binutils"
    assert tool_install("busybox") == f"{prefix} busybox-static"
    assert tool_install("cpio") == f"{prefix} cpio"
    assert tool_install("make", is_root=False) == f"sudo {prefix} make"
    assert tool_install("cpio", None) == "install cpio with your distribution's package manager"


# -- the suite's summary -----------------------------------------------------------------------
def item(nodeid: str, *markers: str) -> Any:
    return SimpleNamespace(
        nodeid=nodeid, get_closest_marker=lambda name: name if name in markers else None
    )


def report(nodeid: str, when: str, outcome: str, duration: float = 0.0) -> Any:
    return SimpleNamespace(
        nodeid=nodeid,
        when=when,
        failed=outcome == "failed",
        skipped=outcome == "skipped",
        passed=outcome == "passed",
        duration=duration,
    )


def test_the_summary_counts_outcomes_per_marker() -> None:
    summary = RealMachineSummary()
    summary.pytest_deselected([item("m", "matrix"), item("e", "e2e"), item("u")])
    items = [item("a", "integration"), item("b", "integration"), item("c", "integration", "e2e")]
    summary.pytest_collection_finish(SimpleNamespace(items=[*items, item("unit")]))  # type: ignore[arg-type]
    phases = [
        ("a", "setup", "passed", 0.25),
        ("a", "call", "passed", 2.0),
        ("a", "teardown", "passed", 0.25),
        ("b", "setup", "skipped", 0.5),
        ("b", "teardown", "passed", 0.0),
        ("c", "setup", "passed", 1.0),
        ("c", "call", "passed", 70.0),
        ("c", "teardown", "failed", 1.0),  # a failing teardown fails the test
        ("c", "teardown", "passed", 3.0),  # a phase after a failure still took its time
        ("unit", "call", "failed", 9.0),
    ]
    for nodeid, when, outcome, seconds in phases:
        summary.pytest_runtest_logreport(report(nodeid, when, outcome, seconds))
    counts = summary.counts()
    assert dict(counts["integration"]) == {"passed": 1, "skipped": 1, "failed": 1}
    assert dict(counts["e2e"]) == {"failed": 1}
    assert dict(counts["matrix"]) == {}
    assert summary.wall_time() == {"integration": 78.0, "e2e": 75.0, "matrix": 0.0}
    assert summary.lines() == [
        "integration: 2 ran (1 passed, 1 failed, 1 skipped) in 1 min 18 s",
        "e2e:         1 ran (0 passed, 1 failed, 0 skipped, 1 deselected) in 1 min 15 s",
        "matrix:      0 ran (0 passed, 0 failed, 0 skipped, 1 deselected) in 0.0 s",
    ]


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0.04, "0.0 s"),
        (12.34, "12.3 s"),
        (59.94, "59.9 s"),
        (65, "1 min 05 s"),
        (3725, "1 h 02 min"),
    ],
)
def test_the_summary_says_wall_times_readably(seconds: float, said: str) -> None:
    assert duration(seconds) == said


def test_the_summary_plugin_is_registered(pytestconfig: pytest.Config) -> None:
    plugin = pytestconfig.pluginmanager.get_plugin("real-machine-summary")
    assert isinstance(plugin, RealMachineSummary)


# -- no real-machine test hard-codes this machine's kernel --------------------------------------
_REAL_MODULE = re.compile(r"^pytestmark = [^\n]*(?:\n [^\n]*)*?(integration|e2e|matrix)", re.M)
_DEBIAN_RELEASE = re.compile(r"\b\d+\.\d+\.\d+-\d+-(?:amd64|arm64|cloud-amd64|generic)\b")


def test_real_machine_modules_name_no_kernel_release() -> None:
    real = [p for p in sorted(TESTS.glob("test_*.py")) if _REAL_MODULE.search(p.read_text())]
    assert {"test_module_e2e.py", "test_verify_vm_e2e.py", "test_real_tools.py"} <= {
        p.name for p in real
    }
    offenders = {p.name: _DEBIAN_RELEASE.findall(p.read_text()) for p in real}
    assert {name: found for name, found in offenders.items() if found} == {}
