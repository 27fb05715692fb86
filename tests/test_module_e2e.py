"""The promise end to end: hello-world built by kbuild for Debian's 6.1 kernel with the Rust
toolchain kdoctor chose, then loaded and unloaded in a VM booting that kernel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kdoctor.model.context import bundled_module_dir

pytestmark = pytest.mark.e2e

RELEASE = "6.1.0-56-amd64"
KDIR = f"/lib/modules/{RELEASE}/build"
MESSAGES = ["Hello kernel module!", "My message is on the heap", "Goodbye kernel module!"]


def kdoctor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kdoctor", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, NO_COLOR="1"),
        timeout=900,
    )


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not os.path.exists(f"{KDIR}/Makefile") or not shutil.which("qemu-system-x86_64"):
        pytest.skip(f"needs linux-headers-{RELEASE} and qemu-system-x86")
    target = tmp_path_factory.mktemp("e2e") / "hello-world"
    shutil.copytree(
        bundled_module_dir(),
        target,
        ignore=shutil.ignore_patterns(
            "*.o", "*.ko", "*.a", "*.rlib", ".*.cmd", "*.mod*", "bindings.rs"
        ),
    )
    return target


def build(module_dir: Path) -> dict[str, object]:
    run = kdoctor("build", "--json", "--kernel", RELEASE, "--module-dir", str(module_dir))
    data = json.loads(run.stdout)
    assert run.returncode == 0, (data, run.stderr[-3000:])
    return data


def steps(data: dict[str, object]) -> list[str]:
    """kbuild's quiet step lines ("  RUSTC   libhello_world.a", "  LD [M]  helloworld.ko")."""
    log = Path(str(data["log"])).read_text()
    return [
        line.strip() for line in log.splitlines() if line.startswith("  ") and line[2:3].isupper()
    ]


def test_build_then_verify_in_a_vm_shows_the_three_messages_in_order(module_dir: Path) -> None:
    data = build(module_dir)
    ko = Path(str(data["ko"]))
    assert ko == module_dir / "helloworld.ko"
    modinfo = subprocess.run(["modinfo", str(ko)], capture_output=True, text=True).stdout
    assert "license:        GPL" in modinfo and f"vermagic:       {RELEASE} " in modinfo

    run = kdoctor("verify", "--json", "--kernel", RELEASE, "--ko", str(ko))
    result = json.loads(run.stdout)
    assert run.returncode == 0, result
    assert result["passed"] is True
    assert result["mode"] == "vm"
    assert result["found"] == MESSAGES


def test_second_make_is_a_no_op_and_an_edit_recompiles_only_the_module_crate(
    module_dir: Path,
) -> None:
    first = build(module_dir)
    ko = module_dir / "helloworld.ko"
    kernel_rlib = module_dir / "libkernel.rlib"
    stamps = (ko.stat().st_mtime_ns, kernel_rlib.stat().st_mtime_ns)

    again = build(module_dir)
    assert steps(again) == []
    assert (ko.stat().st_mtime_ns, kernel_rlib.stat().st_mtime_ns) == stamps
    assert first["ko"] == again["ko"]

    source = module_dir / "src" / "lib.rs"
    source.write_text(source.read_text() + "\n// edited by the test\n")
    edited = steps(build(module_dir))
    rustc = [line for line in edited if line.startswith("RUSTC")]
    assert rustc and all("libhello_world.a" in line for line in rustc), edited
    assert not any(line.startswith("BINDGEN") for line in edited), edited
    assert kernel_rlib.stat().st_mtime_ns == stamps[1]
    assert ko.stat().st_mtime_ns > stamps[0]
