"""Rust-for-Linux modules end to end on this machine: kdoctor builds a Rust-enabled kernel from
Debian's own sources and toolchain (a trixie root made with debootstrap, in kdoctor's cache, kept
between runs like the matrix roots), builds the module in that root and loads it in a VM booting
that kernel -- while /boot, /usr/src, /lib/modules and dpkg's database stay as they were.

The fixtures are written here from the public description of Rust-for-Linux's out-of-tree
template: ``rust-for-linux`` (``module!`` with ``author``, as 6.12 knows it) and
``rust-for-linux-authors`` (the newest template's ``authors`` key, which only newer kernels
know). kdoctor's settings go to a temporary directory (what ``fix`` persists must not change the
machine's other tests); the cache is the real one, so the kernels are built once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kdoctor.pipeline.verify import boot as vm_boot
from tests.real_machine import cannot_run, real_kernel, require_tools
from tests.test_kernels_e2e import snapshot

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "modules"
#: a cold run makes the root (about 1 min here) and builds the kernel (3 to 5 min here)
COLD = 3600


def kdoctor(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kdoctor", *args],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "XDG_CONFIG_HOME": str(home / "config"),
            "NO_COLOR": "1",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=COLD,
    )


def module(name: str, tmp_path: Path) -> Path:
    """A copy of fixture ``name`` in a directory whose path has a space (kbuild's M= cannot
    take one: kdoctor builds a copy)."""
    where = tmp_path / "my modules" / name
    shutil.copytree(FIXTURES / name, where)
    return where


def fix_json(home: Path, *args: str) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    done = kdoctor(home, "fix", "--yes", "--json", *args)
    try:
        return json.loads(done.stdout), done
    except ValueError:
        raise AssertionError(f"no JSON: {done.stdout[-2000:]}\n{done.stderr[-3000:]}") from None


def module_log(document: dict[str, Any]) -> list[str]:
    verify = document.get("verify") or {}
    return [str(line) for line in verify.get("module_log", [])]


@pytest.fixture(autouse=True)
def _tools() -> None:
    require_tools(vm_boot.QEMU, "make", "debootstrap", "unshare", "chroot")


def test_fix_builds_the_6_12_rust_kernel_and_loads_the_template_module(tmp_path: Path) -> None:
    rfl = module("rust-for-linux", tmp_path)
    before = snapshot()
    document, done = fix_json(tmp_path, "--kernel", "6.12+rust", "--module-dir", str(rfl))
    assert done.returncode == 0, done.stderr[-3000:]
    assert document["halt"] == "verified"
    lines = module_log(document)
    assert any("fixture loaded" in line for line in lines), lines
    assert any("fixture unloaded after 1 greeting(s)" in line for line in lines), lines
    assert snapshot() == before  # nothing in /boot, /usr/src, /lib/modules, dpkg's database
    started = time.monotonic()
    again, done = fix_json(tmp_path, "--kernel", "6.12+rust", "--module-dir", str(rfl))
    assert done.returncode == 0 and again["plan"]["steps"] == []
    assert again["halt"] == "verified" and again.get("reused_verification"), again.get("halt")
    assert time.monotonic() - started < 30


def test_the_newest_rust_kernel_loads_a_module_with_authors(tmp_path: Path) -> None:
    newest = module("rust-for-linux-authors", tmp_path)
    document, done = fix_json(tmp_path, "--kernel", "rust", "--module-dir", str(newest))
    assert done.returncode == 0, done.stderr[-3000:]
    lines = module_log(document)
    assert any("counted [1, 2, 3]" in line for line in lines), lines
    assert any("counter unloaded after 3 numbers" in line for line in lines), lines
    assert "-kdoctor-rust" in document["target"]["target_kernel"]


def test_check_and_build_agree_on_a_module_key_the_kernel_does_not_know(tmp_path: Path) -> None:
    newest = module("rust-for-linux-authors", tmp_path)
    checked = kdoctor(tmp_path, "check", "--kernel", "6.12+rust", "--module-dir", str(newest))
    assert checked.returncode == 1
    assert "uses authors, which 6.12." in checked.stdout and "kdoctor fix --kernel rust" in (
        checked.stdout
    )
    built = kdoctor(tmp_path, "build", "--kernel", "6.12+rust", "--module-dir", str(newest))
    assert built.returncode != 0
    assert 'Unknown key "authors"' in built.stdout + built.stderr


def test_check_fails_then_fix_makes_it_ready_for_a_kernel_kdoctor_chose(tmp_path: Path) -> None:
    """The stock kernel kdoctor persisted has no Rust: check says so and names the plan; fix
    switches to the Rust-enabled kernel, and check is ready afterwards."""
    rfl = module("rust-for-linux", tmp_path)
    settings = tmp_path / "config" / "kdoctor" / "env"
    settings.parent.mkdir(parents=True)
    settings.write_text(f"export KDIR={real_kernel().kdir}\n")
    env = {k: v for k, v in os.environ.items() if k != "KDIR"}
    before = subprocess.run(
        [sys.executable, "-m", "kdoctor", "check", "--module-dir", str(rfl)],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp_path / "config")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert before.returncode == 1, before.stdout
    assert "CONFIG_RUST is not set" in before.stdout
    assert "kdoctor fix builds for its Rust-enabled kernel 6.12+rust" in before.stdout
    document, done = fix_json(tmp_path, "--module-dir", str(rfl))
    assert done.returncode == 0, done.stderr[-3000:]
    assert any("fixture loaded" in line for line in module_log(document))
    assert "rust-kernels/6.12/linux" in settings.read_text()
    after = kdoctor(tmp_path, "check", "--module-dir", str(rfl))
    assert after.returncode == 0, after.stdout


def test_a_different_rustc_for_the_module_fails_naming_both(tmp_path: Path) -> None:
    """rustup's rustc named by RUSTC: the module builds in the toolchain root, where that
    rustc is not; check fails naming both versions, and the build fails as check says."""
    rfl = module("rust-for-linux", tmp_path)
    host = shutil.which("rustc", path=os.path.expanduser("~/.cargo/bin"))
    if host is None:
        cannot_run("needs rustup's rustc in ~/.cargo/bin (a rustc the toolchain root lacks)")
    version = subprocess.run([host, "--version"], capture_output=True, text=True).stdout.split()[1]
    target = ("--kernel", "6.12+rust", "--module-dir", str(rfl))
    checked = kdoctor(tmp_path, "check", *target, RUSTC=host)
    assert checked.returncode == 1
    line = next(x for x in checked.stdout.splitlines() if x.startswith("✘ rust-for-linux"))
    assert "compiled by rustc 1.85.1" in line and f"RUSTC names rustc {version}" in line
    assert "Unset RUSTC" in checked.stdout
    built = kdoctor(tmp_path, "build", *target, RUSTC=host)
    assert built.returncode != 0 and "not found" in built.stdout + built.stderr


def test_kdoctor_test_runs_hello_world_on_6_1_and_6_12_rust(tmp_path: Path) -> None:
    done = kdoctor(tmp_path, "test", "--kernels", "6.1,6.12+rust", "--json")
    report = json.loads(done.stdout)
    rows = {row["kernel"]: row for row in report["kernels"]}
    assert sorted(rows) == ["6.1", "6.12+rust"], done.stderr[-2000:]
    for spec, row in rows.items():
        assert row["passed"] and row["messages"] == "3/3", f"{spec}: {row}"
    assert rows["6.12+rust"]["release"].endswith("-kdoctor-rust")
    assert done.returncode == 0
