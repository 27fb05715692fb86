"""The checks against the tools really installed on this machine, run by the real Runner.

Expected here (Debian 12): clang/libclang 14, bindgen 0.60, gcc-12, make, binutils, headers
for 6.1.0-56-amd64. Each test skips when what it needs is not installed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from packaging.version import Version

from kdoctor.checks.bindgen import BindgenCheck
from kdoctor.checks.build_tools import BuildToolsCheck
from kdoctor.checks.clang import ClangCheck
from kdoctor.checks.libclang import LibclangCheck
from kdoctor.checks.os_info import OsCheck
from kdoctor.checks.privileges import PrivilegesCheck
from kdoctor.machine.runner import Runner
from kdoctor.model.context import Context, package_manager_for, read_distro
from kdoctor.model.finding import Status
from kdoctor.pipeline.diagnose import run_checks
from tests.conftest import make_context, run_check

pytestmark = pytest.mark.integration

RELEASE = "6.1.0-56-amd64"
KDIR = f"/lib/modules/{RELEASE}/build"


def needs(*tools: str) -> None:
    for name in tools:
        if shutil.which(name) is None:
            pytest.skip(f"{name} is not installed")


def real_context(**overrides: object) -> Context:
    values: dict[str, object] = {
        "kdir": KDIR,
        "target_kernel": RELEASE,
        "is_root": os.geteuid() == 0,
        **overrides,
    }
    return make_context(**values)


def real_clang_major() -> int:
    finding = run_check(ClangCheck(), real_context(), Runner())
    version = finding.facts.get("version")
    if finding.status is not Status.OK or not version:
        pytest.skip(f"clang is not usable here: {finding.summary}")
    return Version(str(version)).major


def test_clang() -> None:
    needs("clang")
    finding = run_check(ClangCheck(), real_context(), Runner())
    assert finding.status is Status.OK, finding.summary
    assert str(finding.facts["version"]).startswith("14.")
    assert finding.facts["source"] == "default"


def test_libclang_matches_clang() -> None:
    needs("clang")
    major = real_clang_major()
    finding = run_check(LibclangCheck(), real_context(), Runner())
    assert finding.status is Status.OK, finding.summary
    assert Version(str(finding.facts["version"])).major == major == 14
    assert finding.facts["clang_major"] == 14
    assert Path(str(finding.facts["path"])).exists()
    assert finding.facts["source"] == "llvm-config"


def test_bindgen_really_loads_libclang() -> None:
    needs("bindgen")
    finding = run_check(BindgenCheck(), real_context(), Runner())
    assert finding.status is Status.OK, finding.summary
    assert finding.facts["libclang_loaded"] is True
    assert Version(str(finding.facts["version"])) >= Version("0.55")


def test_bindgen_with_a_libclang_path_holding_nothing(tmp_path: Path) -> None:
    needs("bindgen")
    finding = run_check(
        BindgenCheck(), real_context(env={"LIBCLANG_PATH": str(tmp_path)}), Runner()
    )
    assert finding.status is Status.FAIL
    assert finding.summary.startswith(
        f"bindgen cannot load libclang from LIBCLANG_PATH={tmp_path}: Unable to find libclang"
    )
    assert finding.fix is None
    assert str(finding.facts["candidate"]).startswith("/usr/lib/llvm-14")


def test_build_tools_match_the_debian_kernel() -> None:
    needs("make", "gcc-12", "ld")
    if not Path(KDIR, ".config").exists():
        pytest.skip(f"no headers for {RELEASE}")
    finding = run_check(BuildToolsCheck(), real_context(), Runner())
    assert finding.status is Status.OK, finding.summary
    assert finding.facts["cc"] == "gcc-12"
    assert str(finding.facts["cc_version"]).startswith("12.")
    assert str(finding.facts["kernel_cc_text"]).startswith("gcc-12 (Debian 12.")
    assert finding.facts["cc_version"] == finding.facts["kernel_cc_version"]
    assert finding.facts["make"] is not None
    assert finding.facts["ld"] is not None
    assert finding.facts["missing"] == []


def test_build_tools_for_a_kernel_without_headers(tmp_path: Path) -> None:
    needs("make", "gcc", "ld")
    ctx = real_context(kdir=str(tmp_path), target_kernel="6.18.44-fc-v782")
    finding = run_check(BuildToolsCheck(), ctx, Runner())
    assert finding.status is Status.OK, finding.summary
    assert finding.facts["cc"] == "gcc"
    assert "unknown until headers for 6.18.44-fc-v782 are installed" in finding.summary


def test_os_is_known() -> None:
    info = read_distro(Runner())
    ctx = real_context(distro=info, package_manager=package_manager_for(info))
    finding = run_check(OsCheck(), ctx, Runner())
    if ctx.package_manager is None:
        assert finding.status is Status.WARN
    else:
        assert finding.status is Status.OK, finding.summary
        assert finding.facts["package_manager"] == ctx.package_manager


def test_privileges() -> None:
    finding = run_check(PrivilegesCheck(), real_context(), Runner())
    if os.geteuid() == 0:
        assert finding.status is Status.OK
        assert finding.facts["root"] is True
    else:
        assert finding.facts["root"] is False
        assert finding.facts["sudo"] in ("none", "passwordless", "password")


def test_clang_is_probed_once_for_every_check_that_needs_it() -> None:
    needs("clang")
    runner = Runner()
    checks = [ClangCheck(), LibclangCheck(), BuildToolsCheck(), BindgenCheck()]
    report = run_checks(checks, real_context(), runner)
    assert report.by_id("clang").status is Status.OK
    clang_path = shutil.which("clang")
    clang_probes = [p for p in runner.probes() if p.argv == (clang_path, "--version")]
    assert len(clang_probes) == 1
