"""Module layouts met in third-party repositories (issue 23), for real on this machine:
``kdoctor check``'s verdict and ``kdoctor build``'s outcome agree (check exits 0 only when the
build succeeds; when it cannot, a required check fails naming the cause the build hits first).

* ``pinned-at-root``: the module lives in ``tests/hello-world`` of a repository whose root pins
  ``nightly-2024-10-25`` (not installed here, and not installable offline): kdoctor finds the
  pin as rustup does, in a parent directory; with ``--rust auto`` it builds with the
  distribution's rustc and says why, with ``--rust pin`` check and build both stop on the pin.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.real_machine import cannot_run, real_kernel, require_tools

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "modules"
DISTRO_RUSTC = "/usr/bin/rustc"

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _real_machine() -> None:
    """make and this machine's target kernel, derived the way kdoctor does; else a skip that
    says what to install (a failure under CI=true)."""
    require_tools("make")
    real_kernel()


def environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The person's environment with kdoctor's cache and settings in ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if k not in ("CARGO", "RUSTFLAGS", "RUSTC")}
    env.update(
        KDIR=real_kernel().kdir,
        KDOCTOR_CACHE=str(tmp_path / "cache"),
        KDOCTOR_CONFIG=str(tmp_path / "config" / "env"),
        PYTHONPATH=str(ROOT),
        RUSTUP_AUTO_INSTALL="0",  # looking, and the by-hand build, must never download
    )
    env.pop("RUSTUP_TOOLCHAIN", None)
    env.update(extra)
    return env


def kdoctor(
    command: str, module: Path, env: dict[str, str], *args: str
) -> tuple[int, dict[str, Any], str]:
    """``python -m kdoctor COMMAND --module-dir MODULE ARGS --json``: (exit code, its JSON, its
    stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "kdoctor", command, "--module-dir", str(module), *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    return done.returncode, json.loads(done.stdout), done.stderr


def finding(report: dict[str, Any], check: str) -> dict[str, Any]:
    [found] = [f for f in report["checks"] if f["id"] == check]
    return found


def required_failures(report: dict[str, Any]) -> list[str]:
    return [f["id"] for f in report["checks"] if f["required"] and f["status"] in ("fail", "error")]


def copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    return target


def log_of(built: dict[str, Any]) -> str:
    return Path(built["log"]).read_text(errors="replace")


# -- a pin in a parent directory ------------------------------------------------------------
PINNED = "nightly-2024-10-25"


def _pin_not_installed(env: dict[str, str]) -> None:
    rustup = shutil.which("rustup", path=env.get("PATH"))
    if rustup is None:
        return
    listed = subprocess.run(
        [rustup, "toolchain", "list"], capture_output=True, text=True, env=env, check=False
    )
    if PINNED in listed.stdout:
        pytest.skip(f"{PINNED} is installed here: the module would build with it")


def test_a_pin_at_the_repository_root_is_the_module_s_and_check_and_build_agree(
    tmp_path: Path,
) -> None:
    repo = copy("pinned-at-root", tmp_path)
    module = repo / "tests" / "hello-world"
    env = environ(tmp_path)
    _pin_not_installed(env)
    code, report, _ = kdoctor("check", module, env)
    pin_file = str(repo / "rust-toolchain.toml")
    assert report["context"]["pin"]["channel"] == PINNED
    assert report["context"]["pin"]["path"] == pin_file
    assert report["context"]["module"]["pin_source"] == pin_file
    toolchain = finding(report, "toolchain")
    assert toolchain["summary"].startswith(f"{PINNED} (pinned by {pin_file}) is not installed")

    code_built, built, _ = kdoctor("build", module, env)
    # check exits 0 exactly when the build succeeds
    assert (code == 0) == bool(built.get("ok")), (required_failures(report), built)
    if os.path.isfile(DISTRO_RUSTC):
        assert toolchain["status"] == "warn" and toolchain["facts"]["rustc"] == DISTRO_RUSTC
        assert code == 0, required_failures(report)
        assert code_built == 0 and built["ok"] and built["ko"] == str(module / "hello.ko")
        assert f"RUSTC={DISTRO_RUSTC}" in built["argv"]


def test_with_rust_pin_check_and_build_stop_on_the_parent_s_pin(tmp_path: Path) -> None:
    repo = copy("pinned-at-root", tmp_path)
    module = repo / "tests" / "hello-world"
    env = environ(tmp_path)
    _pin_not_installed(env)
    code, report, _ = kdoctor("check", module, env, "--rust", "pin")
    toolchain = finding(report, "toolchain")
    assert code != 0 and toolchain["status"] == "fail" and toolchain["required"]
    pin_file = repo / "rust-toolchain.toml"
    assert toolchain["summary"].startswith(f"{PINNED} (pinned by {pin_file}) is not installed")

    code, built, _ = kdoctor("build", module, env, "--rust", "pin")
    assert code != 0 and not built["ok"]
    assert built["error"] == "no usable Rust toolchain"


def test_by_hand_rustup_selects_the_parent_s_pin_in_the_module_s_directory(
    tmp_path: Path,
) -> None:
    """What kdoctor now reads is what rustup does: the module's own build, run by hand with
    rustup's proxy as rustc, stops on the root's pin (the failure measured with a real module
    before kdoctor looked in parent directories)."""
    env = environ(tmp_path)
    rustup = shutil.which("rustup", path=env.get("PATH"))
    rustc = shutil.which("rustc", path=env.get("PATH"))
    if rustup is None or rustc is None or os.path.dirname(rustc) != os.path.dirname(rustup):
        cannot_run(
            "needs rustup's rustc proxy first on PATH (kdoctor fix --allow-rustup-installer)"
        )
    _pin_not_installed(env)
    repo = copy("pinned-at-root", tmp_path)
    module = repo / "tests" / "hello-world"
    done = subprocess.run(
        ["make", "-C", str(module), f"KDIR={env['KDIR']}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0
    assert f"toolchain '{PINNED}" in done.stdout + done.stderr
    assert "is not installed" in done.stdout + done.stderr
