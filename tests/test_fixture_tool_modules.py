"""The module's own tools against this machine's real kernel build directory: a Makefile that
passes kbuild ``RUSTC=rustc-1.62 BINDGEN=bindgen-0.56`` (``makefile-passes-tools``) and a Kbuild
that assigns ``CC := gcc-9`` (``kbuild-assigns-cc``). ``kdoctor check``'s verdict and the real
``kdoctor build`` agree: check exits 0 only when the build succeeds, and when it cannot, the
required module-tools check names the program the build then stops on, and where it was set.

Each run has its own settings (``XDG_CONFIG_HOME``) and none of the person's tool variables;
kdoctor's cache is the real one (kernel images, the Rust sysroot).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.real_machine import real_kernel, require_real, require_tools

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "modules"
#: what a person may have set that would change what these runs build with
PERSONAL = (
    "KDIR",
    "CC",
    "CLANG",
    "LLVM",
    "RUSTC",
    "BINDGEN",
    "LIBCLANG_PATH",
    "KDOCTOR_CONFIG",
    "LD",
)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _real_machine() -> None:
    """make and this machine's target kernel (derived the way kdoctor does); else a skip that
    says what to install (a failure under CI=true)."""
    require_tools("make")
    target = real_kernel()
    require_real(
        target.usable, f"{target.kdir} lacks {', '.join(target.missing)}: {target.install}"
    )


def kdoctor(
    command: str,
    module: Path,
    home: Path,
    env: Mapping[str, str] = {},
    args: Sequence[str] = (),
    kdir: bool = True,
) -> tuple[int, dict[str, Any]]:
    """``kdoctor <command> --module-dir <module> --json <args>`` with settings of its own
    (``home/config``), none of the person's tool variables, ``KDIR`` the real target's unless
    not ``kdir``, and ``env`` on top."""
    base = {k: v for k, v in os.environ.items() if k not in PERSONAL}
    run_env = {
        **base,
        **({"KDIR": real_kernel().kdir} if kdir else {}),
        "XDG_CONFIG_HOME": str(home / "config"),
        "PYTHONPATH": str(ROOT),
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-m", "kdoctor", command, "--module-dir", str(module), "--json", *args],
        capture_output=True,
        text=True,
        env=run_env,
        timeout=900,
    )
    return done.returncode, json.loads(done.stdout)


def finding(report: dict[str, Any], check: str) -> dict[str, Any]:
    [found] = [f for f in report["checks"] if f["id"] == check]
    return found


def failing(report: dict[str, Any]) -> list[str]:
    return [f["id"] for f in report["checks"] if f["status"] in ("fail", "error") and f["required"]]


def copy(name: str, tmp_path: Path, as_name: str = "") -> Path:
    module = tmp_path / (as_name or name)
    shutil.copytree(FIXTURES / name, module)
    return module


def log_of(built: dict[str, Any]) -> str:
    return Path(built["log"]).read_text(errors="replace")


def missing_program(cause: str) -> str:
    """The program a shell or make said it could not find."""
    match = re.search(r"([^\s:]+): (?:command )?not found|([^\s:]+): No such file", cause)
    assert match, cause
    return match.group(1) or match.group(2)


def test_tools_a_makefile_passes_to_kbuild_are_checked_and_the_build_agrees(
    tmp_path: Path,
) -> None:
    if shutil.which("rustc-1.62") or shutil.which("bindgen-0.56"):
        pytest.skip("this machine has rustc-1.62 or bindgen-0.56: not the case this test is about")
    module = copy("makefile-passes-tools", tmp_path)
    code, report = kdoctor("check", module, tmp_path)
    tools = finding(report, "module-tools")
    assert code != 0 and "module-tools" in failing(report)
    assert tools["status"] == "fail" and tools["required"]
    for text in (
        "rustc-1.62 is not installed (RUSTC=rustc-1.62, Makefile:7, passed to make)",
        "bindgen-0.56 is not installed (BINDGEN=bindgen-0.56, Makefile:7, passed to make)",
    ):
        assert text in tools["summary"]
    assert tools["needs"][0]["kind"] == "by-hand"
    # the toolchain check judges the rustc kdoctor passes; kbuild would run the module's
    assert finding(report, "toolchain")["status"] in ("ok", "warn")

    code, built = kdoctor("build", module, tmp_path)
    assert code != 0 and not built["ok"]
    program = missing_program(built["cause"])
    assert f"{program} is not installed" in tools["summary"]  # the check named what stops it
    main = built["explanations"][0]
    assert main["id"] == "command-not-found"
    assert program in main["cause"] and "Makefile:7, passed to make" in main["cause"]
    assert built["cause"] in log_of(built)

    # the remedy: the module without tools of its own builds with the ones kdoctor checked
    fixed = copy("makefile-passes-tools", tmp_path, "fixed")
    makefile = fixed / "Makefile"
    makefile.write_text(makefile.read_text().replace(" RUSTC=rustc-1.62 BINDGEN=bindgen-0.56", ""))
    code, report = kdoctor("check", fixed, tmp_path)
    assert finding(report, "module-tools")["status"] == "ok"
    build_code, built = kdoctor("build", fixed, tmp_path)
    assert built["ok"], log_of(built)[-2000:]
    assert build_code == 0 and code == 0, failing(report)

    # tools of its own that are installed: named by the check, run by kbuild
    rustc = finding(report, "toolchain")["facts"]["rustc"]
    bindgen = finding(report, "bindgen")["facts"]["path"]
    own = copy("makefile-passes-tools", tmp_path, "own")
    makefile = own / "Makefile"
    makefile.write_text(
        makefile.read_text().replace(
            "RUSTC=rustc-1.62 BINDGEN=bindgen-0.56", f"RUSTC={rustc} BINDGEN={bindgen}"
        )
    )
    code, report = kdoctor("check", own, tmp_path)
    tools = finding(report, "module-tools")
    assert tools["status"] == "ok"
    assert f"`RUSTC={rustc}` (Makefile:7: {rustc} " in tools["summary"]
    build_code, built = kdoctor("build", own, tmp_path)
    assert built["ok"], log_of(built)[-2000:]
    assert build_code == 0 and code == 0, failing(report)


def test_a_compiler_the_kbuild_file_assigns_is_checked_and_the_build_agrees(
    tmp_path: Path,
) -> None:
    if shutil.which("gcc-9"):
        pytest.skip("this machine has gcc-9: not the case this test is about")
    module = copy("kbuild-assigns-cc", tmp_path)
    code, report = kdoctor("check", module, tmp_path)
    tools = finding(report, "module-tools")
    assert code != 0 and "module-tools" in failing(report)
    assert "gcc-9 is not installed (CC=gcc-9, Kbuild:5, assigned in Kbuild)" in tools["summary"]

    code, built = kdoctor("build", module, tmp_path)
    assert code != 0 and not built["ok"]
    assert missing_program(built["cause"]) == "gcc-9"
    main = built["explanations"][0]
    assert main["id"] == "command-not-found" and "CC=gcc-9 (Kbuild:5" in main["cause"]

    # the remedy: the compiler the kernel was built with
    kernel_cc = (finding(report, "compiler-family")["facts"]["kernel_cc_text"] or "").split()
    if not kernel_cc or not shutil.which(kernel_cc[0]):
        pytest.skip(f"the kernel's compiler ({kernel_cc}) is not a command on this machine")
    fixed = copy("kbuild-assigns-cc", tmp_path, "fixed")
    kbuild = fixed / "Kbuild"
    kbuild.write_text(kbuild.read_text().replace("CC := gcc-9", f"CC := {kernel_cc[0]}"))
    code, report = kdoctor("check", fixed, tmp_path)
    assert finding(report, "module-tools")["status"] == "ok"
    build_code, built = kdoctor("build", fixed, tmp_path)
    assert built["ok"], log_of(built)[-2000:]
    assert build_code == 0 and code == 0, failing(report)
