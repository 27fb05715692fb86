"""The collection as it is shipped: ``scripts/build_collection.py`` builds the tarball with the
kdoctor wheel in it, ``ansible-galaxy collection install`` installs it, and the role of that
installed collection alone (nothing else on the collections path, no kdoctor_wheel) installs
kdoctor on a local host, the wheelhouse serving only kdoctor's dependencies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from kdoctor import __version__
from tests.fleet import ROOT, needs_ansible, playbook, venv_python, wheelhouse

pytestmark = pytest.mark.integration

WHEEL = f"kdoctor_rust-{__version__}-py3-none-any.whl"


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        argv, capture_output=True, text=True, env=env, timeout=600, **kwargs
    )


def test_the_built_collection_installs_kdoctor_from_its_own_wheel(tmp_path: Path) -> None:
    needs_ansible()
    before = sorted((ROOT / "ansible_collections" / "kdoctor" / "toolchain").rglob("*"))
    built = run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_collection.py"),
            "--output-path",
            str(tmp_path / "dist"),
        ]
    )
    assert built.returncode == 0, built.stderr
    tarball = Path(built.stdout.strip().splitlines()[-1])
    assert tarball == tmp_path / "dist" / f"kdoctor-toolchain-{__version__}.tar.gz"
    # the working tree is left as it was
    assert sorted((ROOT / "ansible_collections" / "kdoctor" / "toolchain").rglob("*")) == before
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
        shipped = archive.extractfile(f"files/{WHEEL}")
        assert shipped is not None
        (tmp_path / WHEEL).write_bytes(shipped.read())
    assert {
        "plugins/modules/kdoctor_info.py",
        "roles/install/meta/argument_specs.yml",
        "changelogs/changelog.yaml",
        "meta/runtime.yml",
    } <= names
    assert not [n for n in names if n.startswith("tests/output") or n.endswith(".pyc")]
    with zipfile.ZipFile(tmp_path / WHEEL) as wheel:
        assert f"kdoctor_rust-{__version__}.dist-info/METADATA" in wheel.namelist()

    collections = tmp_path / "collections"
    installed = run(
        [
            str(Path(sys.executable).parent / "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "-p",
            str(collections),
            str(tarball),
        ]
    )
    assert installed.returncode == 0, installed.stderr
    toolchain = collections / "ansible_collections" / "kdoctor" / "toolchain"
    assert (toolchain / "files" / WHEEL).is_file()

    house = tmp_path / "wheelhouse"
    wheelhouse(house)
    for ours in house.glob("kdoctor_rust-*.whl"):
        ours.unlink()  # the dependencies only: kdoctor comes from the collection
    host = tmp_path / "host1"
    (host / "home").mkdir(parents=True)
    inventory = tmp_path / "inventory.json"
    hostvars = {
        "kdoctor_prefix": str(host / "opt"),
        "kdoctor_cache_dir": str(host / "cache"),
        "kdoctor_config_file": str(host / "etc" / "env"),
        "kdoctor_profile_script": "",
        "kdoctor_link": "",
        "kdoctor_python": venv_python(),
        "kdoctor_pip_extra_args": f"--no-index --find-links {house}",
    }
    group = {
        "hosts": {"host1": hostvars},
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
    }
    inventory.write_text(json.dumps({"fleet": group}), encoding="utf-8")
    result = playbook(inventory, "install.yml", collections=collections, timeout=900)
    assert result["returncode"] == 0, result["output"]
    version = run([str(host / "opt" / "venv" / "bin" / "kdoctor"), "--version"], cwd="/")
    assert version.returncode == 0 and __version__ in version.stdout, version
    again = playbook(inventory, "install.yml", collections=collections, timeout=900)
    assert again["returncode"] == 0 and again["stats"]["host1"]["changed"] == 0, again["output"]
