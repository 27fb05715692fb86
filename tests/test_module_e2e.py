"""The promise end to end: hello-world built by kbuild for this machine's target kernel (the
stock kernel kdoctor builds for, see tests/real_machine.py) with the Rust toolchain kdoctor
chose, then loaded and unloaded in a VM booting that kernel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kdoctor.model.context import bundled_module_dir
from tests.real_machine import real_kernel, require_tools

pytestmark = pytest.mark.e2e

MESSAGES = ["Hello kernel module!", "My message is on the heap", "Goodbye kernel module!"]


def kdoctor(*args: str, lang: str = "") -> subprocess.CompletedProcess[str]:
    """kdoctor as a person runs it; with ``lang``, in that locale (``LANG``) and no other."""
    env = dict(os.environ, NO_COLOR="1")
    if lang:
        env = {k: v for k, v in env.items() if not k.startswith(("LC_", "LANG"))}
        env.update(LANG=lang, COLUMNS="100")
    return subprocess.run(
        [sys.executable, "-m", "kdoctor", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env,
        timeout=900,
    )


@pytest.fixture(scope="module")
def release() -> str:
    """The kernel to build for and boot (derived as kdoctor derives it, never a literal)."""
    target = real_kernel()
    require_tools("qemu-system-x86_64", "modinfo")
    return target.release


@pytest.fixture(scope="module")
def module_dir(release: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("e2e") / "hello-world"
    shutil.copytree(
        bundled_module_dir(),
        target,
        ignore=shutil.ignore_patterns(
            "*.o", "*.ko", "*.a", "*.rlib", ".*.cmd", "*.mod*", "bindings.rs"
        ),
    )
    return target


def build(module_dir: Path, release: str) -> dict[str, object]:
    run = kdoctor("build", "--json", "--kernel", release, "--module-dir", str(module_dir))
    data = json.loads(run.stdout)
    assert run.returncode == 0, (data, run.stderr[-3000:])
    return data


def steps(data: dict[str, object]) -> list[str]:
    """kbuild's quiet step lines ("  RUSTC   libhello_world.a", "  LD [M]  helloworld.ko")."""
    log = Path(str(data["log"])).read_text()
    return [
        line.strip() for line in log.splitlines() if line.startswith("  ") and line[2:3].isupper()
    ]


def test_build_then_verify_in_a_vm_shows_the_three_messages_in_order(
    module_dir: Path, release: str
) -> None:
    data = build(module_dir, release)
    ko = Path(str(data["ko"]))
    assert ko == module_dir / "helloworld.ko"
    modinfo = subprocess.run(["modinfo", str(ko)], capture_output=True, text=True).stdout
    assert "license:        GPL" in modinfo and f"vermagic:       {release} " in modinfo

    run = kdoctor("verify", "--json", "--kernel", release, "--ko", str(ko))
    result = json.loads(run.stdout)
    assert run.returncode == 0, result
    assert result["passed"] is True
    assert result["mode"] == "vm"
    assert result["found"] == MESSAGES


def test_second_make_is_a_no_op_and_an_edit_recompiles_only_the_module_crate(
    module_dir: Path, release: str
) -> None:
    first = build(module_dir, release)
    ko = module_dir / "helloworld.ko"
    kernel_rlib = module_dir / "libkernel.rlib"
    stamps = (ko.stat().st_mtime_ns, kernel_rlib.stat().st_mtime_ns)

    again = build(module_dir, release)
    assert steps(again) == []
    assert (ko.stat().st_mtime_ns, kernel_rlib.stat().st_mtime_ns) == stamps
    assert first["ko"] == again["ko"]

    source = module_dir / "src" / "lib.rs"
    source.write_text(source.read_text() + "\n// edited by the test\n")
    edited = steps(build(module_dir, release))
    rustc = [line for line in edited if line.startswith("RUSTC")]
    assert rustc and all("libhello_world.a" in line for line in rustc), edited
    assert not any(line.startswith("BINDGEN") for line in edited), edited
    assert kernel_rlib.stat().st_mtime_ns == stamps[1]
    assert ko.stat().st_mtime_ns > stamps[0]


def test_build_and_verify_speak_spanish_end_to_end(module_dir: Path, release: str) -> None:
    """`LANG=es_ES.UTF-8 kdoctor build` and `verify`, as a Spanish-speaking student runs them:
    the text says it in Spanish; the kernel's messages and the commands stay what they are."""
    built = kdoctor(
        "build", "--kernel", release, "--module-dir", str(module_dir), lang="es_ES.UTF-8"
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert f"✔ compilado {module_dir / 'helloworld.ko'}" in built.stdout
    ko = str(module_dir / "helloworld.ko")
    verified = kdoctor("verify", "--kernel", release, "--ko", ko, lang="es_ES.UTF-8")
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-3000:]
    out = verified.stdout
    assert "✔ verificado helloworld.ko" in out and "los 3 mensajes en orden" in out
    assert all(f"✔ {message}" in out for message in MESSAGES)  # the kernel's words, untranslated
    assert "Traceback" not in verified.stderr
