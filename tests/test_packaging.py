"""The wheel carries every kdoctor package and the module, under the kdoctor namespace only."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[zipfile.ZipFile, str]:
    """The wheel built from a copy of the working tree, and everything the build printed."""
    out = tmp_path_factory.mktemp("wheel")
    # a copy of the working tree, as a user has it (setuptools' build/ would leak stale files)
    tree = tmp_path_factory.mktemp("tree") / "kdoctor"
    shutil.copytree(
        ROOT, tree, ignore=shutil.ignore_patterns(".git", ".venv*", "build", "*.egg-info")
    )
    pip = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(out), str(tree)]
    # byte-compiling is what a user's build does; the variable that disables it only adds noise
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run(pip, check=True, capture_output=True, text=True, env=env)
    [path] = out.glob("kdoctor_rust-*.whl")
    return zipfile.ZipFile(path), proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def wheel(built: tuple[zipfile.ZipFile, str]) -> zipfile.ZipFile:
    return built[0]


def test_building_the_wheel_prints_no_warning(built: tuple[zipfile.ZipFile, str]) -> None:
    warnings = [line for line in built[1].splitlines() if re.search(r"warn|deprecat", line, re.I)]
    assert warnings == []


def test_the_metadata_declares_an_spdx_license_classifiers_and_urls(wheel: zipfile.ZipFile) -> None:
    [name] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    metadata = wheel.read(name).decode()
    assert "License-Expression: GPL-2.0-only" in metadata
    assert "Classifier: Programming Language :: Python :: 3.9" in metadata
    assert "Classifier: Typing :: Typed" in metadata
    assert "Project-URL: " in metadata
    licence = [n for n in wheel.namelist() if n.endswith("/licenses/LICENSE")]
    assert licence and b"GNU GENERAL PUBLIC LICENSE" in wheel.read(licence[0])
    assert b"Version 2, June 1991" in wheel.read(licence[0])


def test_the_wheel_is_typed_and_carries_every_json_schema(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert "kdoctor/py.typed" in names
    for schema in (ROOT / "schema").glob("*.json"):
        shipped = f"kdoctor/schema/{schema.name}"
        assert shipped in names, f"{shipped} is missing from the wheel"
        assert json.loads(wheel.read(shipped)) == json.loads(schema.read_text())


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


def test_the_distribution_is_kdoctor_rust_and_installs_the_kdoctor_command(
    wheel: zipfile.ZipFile,
) -> None:
    """`kdoctor` on the package index is another project (a Kubernetes tool): kdoctor's
    distribution has a name of its own, its command and import package stay `kdoctor`."""
    [name] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    assert name.startswith("kdoctor_rust-")
    metadata = wheel.read(name).decode()
    assert re.search(r"^Name: kdoctor-rust$", metadata, re.M)
    [entry_points] = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    scripts = wheel.read(entry_points).decode()
    assert re.search(r"^kdoctor = kdoctor\.__main__:run$", scripts, re.M)


def test_nothing_lands_outside_the_kdoctor_namespace(wheel: zipfile.ZipFile) -> None:
    tops = {n.split("/", 1)[0] for n in wheel.namelist()}
    assert {t for t in tops if not t.startswith("kdoctor")} == set()


def test_the_module_sources_are_shipped_without_build_outputs(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for rel in ("Makefile", "Kbuild", "rust-toolchain.toml", "src/lib.rs", "kernel/src/lib.rs"):
        assert f"kdoctor/hello_world/{rel}" in names
    outputs = [n for n in names if n.endswith((".o", ".ko", ".a", ".rlib", ".cmd"))]
    assert outputs == []


def test_the_wheel_carries_every_compiled_catalog_and_no_source(wheel: zipfile.ZipFile) -> None:
    """An installed kdoctor speaks Spanish: each domain's .mo, byte for byte; the .po files are
    the repository's sources, not the program's."""
    names = set(wheel.namelist())
    catalogs = sorted((ROOT / "kdoctor" / "locale").rglob("*.mo"))
    assert catalogs, "no compiled catalog in the tree"
    for mo in catalogs:
        shipped = str(mo.relative_to(ROOT))
        assert shipped in names, shipped
        assert wheel.read(shipped) == mo.read_bytes()
    assert not [n for n in names if n.endswith(".po")]
