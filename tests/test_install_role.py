"""The role kdoctor.toolchain.install refuses, before it installs or creates anything: the
removed ``kdoctor_version`` (``kdoctor`` on the package index is another project), a given wheel
without its sha256, with another sha256, not kdoctor's or from a plain-http URL, and a root cache
that another user can write (the mode 1777 cache of earlier versions). One ``ansible-playbook``
run, one local host per case (tests/fleet.py's playbook runner)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fleet import needs_ansible, playbook

pytestmark = pytest.mark.integration


def refusals(root: Path) -> dict[str, Any]:
    """The playbook run over every case, a host each."""
    wheel = root / "kdoctor_rust-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    other = root / "kdoctor-0.3.0-py3-none-any.whl"
    other.write_bytes(b"the other project's")
    planted = root / "caches" / "planted"
    planted.mkdir(parents=True)
    planted.chmod(0o1777)
    foreign = root / "caches" / "foreign"
    foreign.mkdir(mode=0o755)
    os.chown(foreign, 65534, 65534)
    given = {"kdoctor_wheel": str(wheel), "kdoctor_wheel_sha256": digest}
    cases: dict[str, dict[str, Any]] = {
        "old-version": {**given, "kdoctor_version": "0.3.0"},
        "no-sha256": {"kdoctor_wheel": str(wheel)},
        "wrong-sha256": {**given, "kdoctor_wheel_sha256": "0" * 64},
        "not-kdoctors": {
            "kdoctor_wheel": str(other),
            "kdoctor_wheel_sha256": hashlib.sha256(other.read_bytes()).hexdigest(),
        },
        "plain-http": {**given, "kdoctor_wheel": f"http://example.invalid/{wheel.name}"},
        "planted-cache": {**given, "kdoctor_cache_dir": str(planted)},
        "foreign-cache": {**given, "kdoctor_cache_dir": str(foreign)},
    }
    hosts = {}
    for name, extra in cases.items():
        host = root / name
        hosts[name] = {
            "kdoctor_prefix": str(host / "opt"),
            "kdoctor_cache_dir": str(host / "cache"),
            "kdoctor_config_file": str(host / "etc" / "env"),
            "kdoctor_profile_script": "",
            "kdoctor_link": "",
            **extra,
        }
    group = {
        "hosts": hosts,
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
    }
    inventory = root / "inventory.json"
    inventory.write_text(json.dumps({"fleet": group}), encoding="utf-8")
    return playbook(inventory, "install.yml", timeout=600)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    needs_ansible()
    if os.geteuid() != 0:
        pytest.skip("a cache owned by another user needs root to make")
    root = tmp_path_factory.mktemp("role")
    root.chmod(0o755)
    return root, refusals(root)


def failure(run: tuple[Path, dict[str, Any]], host: str) -> str:
    """The message of the host's failed task; the host created nothing."""
    root, data = run
    failed = [r for r in data["results"] if r["host"] == host and r["status"] == "failed"]
    tasks = [(r["task"], r["status"]) for r in data["results"] if r["host"] == host]
    assert len(failed) == 1, tasks
    assert not (root / host).exists(), f"{host} created {list((root / host).rglob('*'))}"
    message: str = failed[0]["result"]["msg"]
    return " ".join(message.split())


def test_every_case_fails_and_creates_nothing(run: tuple[Path, dict[str, Any]]) -> None:
    _root, data = run
    assert data["returncode"] != 0
    assert all(s["failures"] == 1 for s in data["stats"].values()), data["stats"]


def test_the_removed_kdoctor_version_is_refused_naming_the_other_project(
    run: tuple[Path, dict[str, Any]],
) -> None:
    msg = failure(run, "old-version")
    assert "kdoctor_version is no longer supported" in msg
    assert "another project (a Kubernetes tool" in msg


def test_a_given_wheel_needs_its_sha256_and_must_match_it(run: tuple[Path, dict[str, Any]]) -> None:
    assert "only with kdoctor_wheel_sha256" in failure(run, "no-sha256")
    msg = failure(run, "wrong-sha256")
    digest = hashlib.sha256(b"not really a wheel").hexdigest()
    assert f"its sha256 is {digest}, not kdoctor_wheel_sha256 ({'0' * 64})" in msg
    assert "nothing was installed" in msg


def test_only_kdoctors_wheel_from_a_path_or_https(run: tuple[Path, dict[str, Any]]) -> None:
    assert "named kdoctor_rust-VERSION-...whl" in failure(run, "not-kdoctors")
    assert "an absolute path on the controller or an https URL" in failure(run, "plain-http")


def test_a_cache_another_user_can_write_is_refused(run: tuple[Path, dict[str, Any]]) -> None:
    root, _data = run
    msg = failure(run, "planted-cache")
    assert f"{root / 'caches' / 'planted'} is owned by root, mode 1777" in msg
    assert "may have been planted" in msg and "Remove it" in msg
    assert "owned by nobody, mode 0755" in failure(run, "foreign-cache")
    # refused, not repaired: the mode is left for the administrator to see
    assert stat.S_IMODE((root / "caches" / "planted").stat().st_mode) == 0o1777
