"""kdoctor's own advice never breaks a build, and a person's own variable that does is named as
the cause, on this machine's real kernel: ``kdoctor check``'s verdict and the real ``kdoctor
build`` agree (check exits 0 only when the build succeeds; when it cannot, a required check names
the cause and says to unset or correct the variable, as ``fix --dry-run`` does).

``compiler-from-environment`` is a C module that forces no tool, so what kbuild compiles it with
is what ``kdoctor build`` passes: ``CC``/``LLVM`` from the environment or kdoctor's settings file.
The last test is issue 23's: ``CLANG=/nonexistent kdoctor fix --yes`` leaves a machine on which
``kdoctor build`` of hello-world succeeds. Each run has its own settings (``XDG_CONFIG_HOME``);
kdoctor's cache is the real one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from kdoctor.model.context import bundled_module_dir
from tests.real_machine import real_kernel, require_real, require_tools
from tests.test_fixture_tool_modules import copy, failing, finding, kdoctor, log_of

pytestmark = pytest.mark.integration

FIXTURE = "compiler-from-environment"


@pytest.fixture(autouse=True)
def _real_machine() -> None:
    require_tools("make")
    target = real_kernel()
    require_real(
        target.usable, f"{target.kdir} lacks {', '.join(target.missing)}: {target.install}"
    )


def gcc_kernel(report: dict[str, Any]) -> str:
    """The gcc command the target kernel was built with; skips for a clang-built one."""
    family = finding(report, "compiler-family")["facts"]
    if family["kernel_family"] != "gcc":
        pytest.skip(f"the target kernel was built with {family['kernel_family']}")
    return str(finding(report, "build-tools")["facts"]["cc"])


def settings(home: Path, text: str) -> Path:
    path = home / "config" / "kdoctor" / "env"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_clang_as_cc_from_the_environment_fails_check_and_build_alike(tmp_path: Path) -> None:
    clang = shutil.which("clang")
    if clang is None:
        pytest.skip("no clang on PATH")
    module = copy(FIXTURE, tmp_path)
    code, report = kdoctor("check", module, tmp_path)
    kernel_cc = gcc_kernel(report)
    assert code == 0, failing(report)
    build_code, built = kdoctor("build", module, tmp_path)
    assert built["ok"] and build_code == 0, log_of(built)[-2000:]

    code, report = kdoctor("check", module, tmp_path, env={"CC": "clang"})
    family = finding(report, "compiler-family")
    assert code != 0 and family["status"] == "fail" and family["required"]
    assert family["summary"].startswith("the environment forces `CC=clang`")
    remedy = family["remediation"]["text"]
    assert remedy == (
        "CC=clang comes from your environment: unset it (`unset CC`) (kbuild then uses the "
        f"kernel's compiler), or set CC={kernel_cc}."
    )
    assert family["needs"][0]["kind"] == "by-hand"

    build_code, built = kdoctor("build", module, tmp_path, env={"CC": "clang"})
    assert build_code != 0 and not built["ok"]
    assert "clang: error: unknown argument" in built["cause"]
    for flag in family["facts"]["rejected_flags"][:1]:
        assert f"unknown argument: '{flag}'" in built["cause"]  # the check named it

    code, dry = kdoctor("fix", module, tmp_path, env={"CC": "clang"}, args=("--dry-run",))
    assert code == 1 and any(remedy in note for note in dry["plan"]["notes"])  # said alike


def test_clang_as_cc_in_kdoctors_settings_is_removed_by_fix_and_then_it_builds(
    tmp_path: Path,
) -> None:
    if shutil.which("clang") is None:
        pytest.skip("no clang on PATH")
    module = copy(FIXTURE, tmp_path)
    path = settings(tmp_path, "# mine\nexport CC=clang\n")
    code, report = kdoctor("check", module, tmp_path)
    gcc_kernel(report)
    family = finding(report, "compiler-family")
    assert code != 0 and family["status"] == "fail"
    assert family["found"] == f"kdoctor's settings file {path}"
    assert family["needs"] == [{"kind": "setting", "key": "CC", "value": None}]
    build_code, built = kdoctor("build", module, tmp_path)
    assert build_code != 0 and "unknown argument" in (built["cause"] or "")

    code, fixed = kdoctor("fix", module, tmp_path, args=("--yes", "--no-build"))
    assert code == 0, fixed.get("halt")
    assert path.read_text() == "# mine\n"  # the line kdoctor wrote back out, the rest kept
    code, report = kdoctor("check", module, tmp_path)
    assert code == 0, failing(report)
    build_code, built = kdoctor("build", module, tmp_path)
    assert built["ok"] and build_code == 0, log_of(built)[-2000:]


def test_cc_naming_nothing_fails_check_and_build_alike(tmp_path: Path) -> None:
    module = copy(FIXTURE, tmp_path)
    code, report = kdoctor("check", module, tmp_path, env={"CC": "/nonexistent/gcc"})
    tools = finding(report, "build-tools")
    assert code != 0 and tools["status"] == "fail" and tools["required"]
    assert tools["summary"].startswith(
        "CC=/nonexistent/gcc (from the environment) is not installed"
    )
    assert "unset it (`unset CC`)" in tools["remediation"]["text"]
    build_code, built = kdoctor("build", module, tmp_path, env={"CC": "/nonexistent/gcc"})
    assert build_code != 0 and not built["ok"]
    assert "/nonexistent/gcc" in built["cause"]
    main = built["explanations"][0]
    assert main["id"] == "command-not-found"
    assert "CC=/nonexistent/gcc (from the environment)" in main["cause"]


def test_kdir_naming_nothing_is_the_persons_to_correct_in_check_and_fix_alike(
    tmp_path: Path,
) -> None:
    module = copy(FIXTURE, tmp_path)
    nowhere = str(tmp_path / "no-such-kernel")
    code, report = kdoctor("check", module, tmp_path, env={"KDIR": nowhere})
    headers = finding(report, "kernel-headers")
    assert code != 0 and headers["status"] == "fail" and headers["required"]
    text = headers["remediation"]["text"]
    assert text.startswith(f"KDIR={nowhere} comes from your environment: unset it (`unset KDIR`)")
    assert "switches the target" not in text
    code, dry = kdoctor("fix", module, tmp_path, env={"KDIR": nowhere}, args=("--dry-run",))
    assert code == 1 and any(text in note for note in dry["plan"]["notes"])
    assert not any("never overrides" in note for note in dry["plan"]["notes"])
    build_code, built = kdoctor("build", module, tmp_path, env={"KDIR": nowhere})
    assert build_code != 0 and nowhere in (built["cause"] or "")


def test_clang_naming_nothing_then_fix_yes_leaves_hello_world_building(tmp_path: Path) -> None:
    """Issue 23: with CLANG pointing nowhere, fix persisted CC=clang-14 and CLANG=clang-14; on
    a gcc-built kernel kbuild then compiled the module's C code with clang and failed, while
    check said ready. Now fix persists nothing of the kind, says to unset CLANG, and the
    machine it leaves builds hello-world."""
    require_tools("qemu-system-x86_64")
    module = tmp_path / "hello-world"
    shutil.copytree(
        bundled_module_dir(),
        module,
        ignore=shutil.ignore_patterns(
            "*.o", "*.ko", "*.a", "*.rlib", ".*.cmd", "*.mod*", "bindings.rs"
        ),
    )
    nowhere = {"CLANG": "/nonexistent"}
    kdir = "KDIR" in os.environ  # the person's KDIR stays; else kdoctor chooses the target
    code, fixed = kdoctor("fix", module, tmp_path, env=nowhere, args=("--yes",), kdir=kdir)
    persisted = tmp_path / "config" / "kdoctor" / "env"
    written = persisted.read_text() if persisted.exists() else ""
    assert "CC=" not in written.replace("CLANG=", "")  # no compiler of kdoctor's choosing
    clang = finding(fixed["before"], "clang")
    assert clang["summary"].startswith("CLANG=/nonexistent (from the environment) is not")
    assert "unset it (`unset CLANG`)" in clang["remediation"]["text"]
    assert any(clang["remediation"]["text"] in note for note in fixed["plan"]["notes"])
    assert code == 1 and fixed["halt"] == "still-failing"  # CLANG is the person's to unset

    for env in (nowhere, {}):  # in the same shell, and once CLANG is unset
        build_code, built = kdoctor("build", module, tmp_path, env=env, kdir=kdir)
        assert built["ok"] and build_code == 0, log_of(built)[-3000:]
        assert not any(word.startswith("CC=") for word in built["argv"])
    code, report = kdoctor("check", module, tmp_path, kdir=kdir)
    assert code == 0, failing(report)  # unset, the check agrees with the build
