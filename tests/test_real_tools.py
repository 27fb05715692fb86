"""The checks against the tools really installed on this machine, run by the real Runner.

Expected here (Debian 12): clang/libclang 14, bindgen 0.60, gcc-12, make, binutils, and the
headers of the target kernel (derived as kdoctor derives it, see tests/real_machine.py). A test
whose tools are missing cannot run: a skip saying what to install, a failure in CI.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Optional

import pytest
from packaging.version import Version

from kdoctor.checks.bindgen import BindgenCheck
from kdoctor.checks.build_tools import BuildToolsCheck
from kdoctor.checks.clang import ClangCheck
from kdoctor.checks.libclang import LibclangCheck
from kdoctor.checks.os_info import OsCheck
from kdoctor.checks.privileges import PrivilegesCheck
from kdoctor.facts import Facts
from kdoctor.facts.context import package_manager_for
from kdoctor.facts.distro import read_distro
from kdoctor.machine.runner import Runner
from kdoctor.model.context import Context
from kdoctor.model.finding import Status
from kdoctor.pipeline.diagnose import run_checks
from kdoctor.pipeline.planner import fix_of
from tests.conftest import make_context, run_check
from tests.real_machine import RealTarget, cannot_run, machine_target, require_tools

pytestmark = pytest.mark.integration


def real_context(**overrides: object) -> Context:
    """This machine's target kernel when it has one (the checks here need no headers)."""
    found: Optional[RealTarget] = machine_target()
    values: dict[str, object] = {"is_root": os.geteuid() == 0}
    if found is not None:
        values.update(kdir=found.kdir, target_kernel=found.release)
    values.update(overrides)
    return make_context(**values)


def real_clang_major() -> int:
    finding = run_check(ClangCheck(), real_context(), Runner())
    version = finding.facts.get("version")
    if finding.status is not Status.OK or not version:
        cannot_run(f"clang is not usable here: {finding.summary}")
    return Version(str(version)).major


def test_clang() -> None:
    require_tools("clang")
    finding = run_check(ClangCheck(), real_context(), Runner())
    assert finding.status is Status.OK, finding.summary
    assert str(finding.facts["version"]).startswith("14.")
    assert finding.facts["source"] == "default"


def test_libclang_matches_clang() -> None:
    require_tools("clang")
    major = real_clang_major()
    finding = run_check(LibclangCheck(), real_context(), Runner())
    assert finding.status is Status.OK, finding.summary
    assert Version(str(finding.facts["version"])).major == major == 14
    assert finding.facts["clang_major"] == 14
    assert Path(str(finding.facts["path"])).exists()
    assert finding.facts["source"] == "llvm-config"


def test_bindgen_really_loads_libclang() -> None:
    require_tools("bindgen")
    finding = run_check(BindgenCheck(), real_context(), Runner())
    assert finding.status is Status.OK, finding.summary
    assert finding.facts["libclang_loaded"] is True
    assert Version(str(finding.facts["version"])) >= Version("0.55")


def test_bindgen_with_a_libclang_path_holding_nothing(tmp_path: Path) -> None:
    require_tools("bindgen")
    finding = run_check(
        BindgenCheck(), real_context(env={"LIBCLANG_PATH": str(tmp_path)}), Runner()
    )
    assert finding.status is Status.FAIL
    assert finding.summary.startswith(
        f"bindgen cannot load libclang from LIBCLANG_PATH={tmp_path}: Unable to find libclang"
    )
    assert fix_of(finding) is None
    assert str(finding.facts["candidate"]).startswith("/usr/lib/llvm-14")


def kernel_cc_text(kdir: str) -> str:
    """CONFIG_CC_VERSION_TEXT of the kernel's .config, read here independently of kdoctor."""
    for line in Path(kdir, ".config").read_text().splitlines():
        if line.startswith("CONFIG_CC_VERSION_TEXT="):
            return line.split("=", 1)[1].strip('"')
    return ""


def test_build_tools_match_the_target_kernel(real_target: RealTarget) -> None:
    text = kernel_cc_text(real_target.kdir)  # Debian 12: gcc-12 (Debian 12.2.0-14...) 12.2.0
    compiler = text.split()[0] if text else "gcc"
    require_tools("make", compiler, "ld")
    finding = run_check(BuildToolsCheck(), real_context(), Runner())
    assert finding.status is Status.OK, finding.summary
    assert finding.facts["cc"] == compiler
    assert finding.facts["kernel_cc_text"] == text
    assert str(finding.facts["cc_version"]) in text
    assert finding.facts["cc_version"] == finding.facts["kernel_cc_version"]
    assert finding.facts["make"] is not None
    assert finding.facts["ld"] is not None
    assert finding.facts["missing"] == []


def test_build_tools_for_a_kernel_without_headers(tmp_path: Path) -> None:
    require_tools("make", "gcc", "ld")
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
    require_tools("clang")
    runner = Runner()
    checks = [ClangCheck(), LibclangCheck(), BuildToolsCheck(), BindgenCheck()]
    report = run_checks(checks, Facts(real_context(), runner))
    assert report.by_id("clang").status is Status.OK
    clang_path = shutil.which("clang")
    clang_probes = [p for p in runner.probes() if p.argv == (clang_path, "--version")]
    assert len(clang_probes) == 1
