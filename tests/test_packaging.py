"""The wheel carries every kdoctor package and the module, under the kdoctor namespace only."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    # a copy of the working tree, as a user has it (setuptools' build/ would leak stale files)
    tree = tmp_path_factory.mktemp("tree") / "kdoctor"
    shutil.copytree(
        ROOT, tree, ignore=shutil.ignore_patterns(".git", ".venv*", "build", "*.egg-info")
    )
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(tree)]
    subprocess.run(pip, check=True, capture_output=True)
    [path] = out.glob("kdoctor-*.whl")
    return zipfile.ZipFile(path)


def test_every_source_package_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    sources = {
        "kdoctor": ROOT / "kdoctor",
        "kdoctor/checks": ROOT / "checks",
        "kdoctor/fixes": ROOT / "fixes",
    }
    for installed, source in sources.items():
        for module in source.rglob("*.py"):
            rel = module.relative_to(source).as_posix()
            assert f"{installed}/{rel}" in names, f"{installed}/{rel} is missing from the wheel"


def test_nothing_lands_outside_the_kdoctor_namespace(wheel: zipfile.ZipFile) -> None:
    tops = {n.split("/", 1)[0] for n in wheel.namelist()}
    assert {t for t in tops if not t.startswith("kdoctor")} == set()


def test_the_module_sources_are_shipped_without_build_outputs(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for rel in ("Makefile", "Kbuild", "rust-toolchain.toml", "src/lib.rs", "kernel/src/lib.rs"):
        assert f"kdoctor/hello_world/{rel}" in names
    outputs = [n for n in names if n.endswith((".o", ".ko", ".a", ".rlib", ".cmd"))]
    assert outputs == []
