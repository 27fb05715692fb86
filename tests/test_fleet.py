"""The Ansible collection kdoctor.toolchain with a real ``ansible-playbook`` against three
hosts on this machine (local connection, each with its own HOME, cache and settings): check
mode reports what would change and writes nothing, the apply changes every host, and a second
apply changes nothing. ``state: verified`` (builds the module and boots a VM per host) is e2e.

The tests of a fleet run in order (check mode, apply, rerun), sharing the fleet."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fleet import (
    host_state,
    inventory,
    kdoctor_results,
    needs_ansible,
    playbook,
    wheelhouse,
)

pytestmark = pytest.mark.integration

HOSTS = ("host1", "host2", "host3")


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    needs_ansible()
    into = tmp_path_factory.mktemp("wheelhouse")
    return wheelhouse(into), into


def new_fleet(root: Path, house: tuple[Path, Path]) -> Path:
    path = inventory(root, len(HOSTS), *house)
    installed = playbook(path, "install.yml")
    assert installed["returncode"] == 0, installed["output"]
    return path


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, house: tuple[Path, Path]) -> Iterator[Path]:
    yield new_fleet(tmp_path_factory.mktemp("fleet"), house)


def state(root: Path) -> dict[str, str]:
    return host_state(root, HOSTS)


def test_the_role_installs_kdoctor_rust_with_roots_own_cache_and_no_shared_one(
    fleet: Path,
) -> None:
    """Root's cache is the installing user's, mode 0755 (no other user writes where root
    builds from); every login keeps its own cache (the login script exports no KDOCTOR_CACHE)
    and reads the shared settings; the venv holds kdoctor-rust, the wheel's distribution."""
    for host in HOSTS:
        cache = (fleet.parent / host / "cache").stat()
        assert (cache.st_uid, stat.S_IMODE(cache.st_mode)) == (os.getuid(), 0o755)
        script = (fleet.parent / host / "etc" / "profile.d" / "kdoctor.sh").read_text()
        assert "KDOCTOR_CACHE" not in script
        assert f"export KDOCTOR_CONFIG={fleet.parent / host / 'etc' / 'kdoctor' / 'env'}" in script
        python = fleet.parent / host / "opt" / "kdoctor" / "venv" / "bin" / "python"
        names = subprocess.run(
            [
                str(python),
                "-I",
                "-c",
                "import importlib.metadata as m; "
                "print(sorted(d.metadata['Name'] for d in m.distributions()))",
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd="/",
        ).stdout
        assert "'kdoctor-rust'" in names and "'kdoctor'" not in names


def test_check_mode_reports_what_would_change_and_writes_nothing(fleet: Path) -> None:
    before = state(fleet.parent)
    run = playbook(fleet, "site.yml", "--check", "--diff")
    assert run["returncode"] == 0, run["output"]
    results = kdoctor_results(run)
    assert sorted(results) == list(HOSTS)
    for host, result in results.items():
        assert result["changed"] is True and result["halt"] == "dry-run", host
        assert result["plan"]["steps"] and result["blocked"] == []
        settings = fleet.parent / host / "etc" / "kdoctor" / "env"
        assert f"+++ {settings}" in result["diff"]["prepared"]
        assert "+export KDIR=" in result["diff"]["prepared"]
        assert result["ansible_facts"]["kdoctor"]["schema_version"] == 1
    # the role installed nothing new either: only the kdoctor task reports a change
    assert all(run["stats"][h]["changed"] == 1 for h in HOSTS), run["stats"]
    assert state(fleet.parent) == before


def test_the_apply_provisions_every_host(fleet: Path) -> None:
    run = playbook(fleet, "site.yml")
    assert run["returncode"] == 0, run["output"]
    results = kdoctor_results(run)
    for host, result in results.items():
        assert result["changed"] is True and result["halt"] == "no-build", host
        assert all(s["status"] == "applied" for s in result["plan"]["steps"])
        after: dict[str, Any] = result["ansible_facts"]["kdoctor"]
        assert after["exit_code"] == 0 and after["context"]["kdir"].startswith("/lib/modules/")
        settings = (fleet.parent / host / "etc" / "kdoctor" / "env").read_text()
        assert f"export KDIR={after['context']['kdir']}" in settings
        # each host wrote into its own cache only, and ran its own installation
        assert after["context"]["cache_dir"] == str(fleet.parent / host / "cache")
        assert after["context"]["module_dir"].startswith(str(fleet.parent / host / "opt"))


def test_a_second_apply_changes_nothing(fleet: Path) -> None:
    run = playbook(fleet, "site.yml")
    assert run["returncode"] == 0, run["output"]
    assert {h: run["stats"][h]["changed"] for h in HOSTS} == dict.fromkeys(HOSTS, 0)
    for result in kdoctor_results(run).values():
        assert result["plan"]["steps"] == [] and result["changed"] is False


@pytest.mark.e2e
def test_verified_builds_and_verifies_the_module_on_every_host_and_reruns_unchanged(
    tmp_path: Path, house: tuple[Path, Path]
) -> None:
    path = new_fleet(tmp_path, house)
    check = playbook(path, "site.yml", "--check", "-e", "kdoctor_state=verified")
    assert check["returncode"] == 0, check["output"]
    assert all(r["changed"] for r in kdoctor_results(check).values())
    for attempt in ("apply", "rerun"):
        run = playbook(path, "site.yml", "-e", "kdoctor_state=verified")
        assert run["returncode"] == 0, run["output"]
        results = kdoctor_results(run)
        assert sorted(results) == list(HOSTS)
        for host, result in results.items():
            assert result["halt"] == "verified", (attempt, host)
            if attempt == "apply":
                assert result["verify"]["passed"] is True and result["build"]["ok"] is True
                ko = result["build"]["ko"]
            else:  # nothing changed: the verification is relied on, not redone
                assert "verify" not in result and "build" not in result
                ko = result["reused_verification"]["ko"]
            assert ko.startswith(str(tmp_path / host / "cache"))
        changed = {h: run["stats"][h]["changed"] for h in HOSTS}
        assert changed == dict.fromkeys(HOSTS, 1 if attempt == "apply" else 0), attempt
