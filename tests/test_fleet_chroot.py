"""The Ansible collection on a mixed fleet: one inventory of a local-connection host (its own
HOME, cache and settings) and chroot hosts made from the compatibility matrix's pristine Debian
roots (tests/chroot_fleet.py), provisioned by one ``ansible-playbook`` run with ``state:
verified``: check mode reports what would change and writes nothing, the apply builds the module
and verifies it in a VM on every host, and a second apply changes nothing.

Slow (a toolchain installed in each root from the matrix's warm apt archive, a build and a VM
per host): it shares the matrix's marker and cache. ``KDOCTOR_FLEET_CHROOTS`` chooses the roots
(default ``bookworm bullseye``). The tests run in order, sharing the fleet."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chroot_fleet import cache_dir, chroot_host, host_vars, matrix, written_state
from tests.fleet import (
    host_state,
    inventory,
    kdoctor_results,
    needs_ansible,
    playbook,
    wheelhouse,
)
from tests.real_machine import require_real, require_tools

pytestmark = pytest.mark.matrix

RELEASES = tuple(os.environ.get("KDOCTOR_FLEET_CHROOTS", "bookworm bullseye").split())
LOCAL = ("host1",)
HOSTS = (*LOCAL, *RELEASES)
DEFAULT_CACHE = matrix.DEFAULT_CACHE


def needs_chroot_hosts() -> None:
    """Root, chroot and community.general's chroot connection; each pristine root cached, or
    debootstrap to make it the way the matrix does."""
    needs_ansible()
    require_real(hasattr(os, "geteuid") and os.geteuid() == 0, "chroot hosts need root")
    require_tools("chroot", "mount", "tar")
    require_real(
        importlib.util.find_spec("ansible_collections.community.general") is not None,
        "needs community.general's chroot connection: pip install ansible "
        "(scripts/test.sh installs the `chroot` extra)",
    )
    cache = cache_dir()
    option = "" if str(cache) == DEFAULT_CACHE else f" --cache {cache}"
    for release in RELEASES:
        tarball = cache / release / "root.tar"
        if not tarball.is_file():
            require_real(
                shutil.which("debootstrap") is not None,
                f"no pristine root {tarball}: "
                f"sudo scripts/matrix.py --bootstrap-only{option} {release}",
            )


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Path]]]:
    """The mixed fleet's inventory, kdoctor installed on every host by the role; the roots."""
    needs_chroot_hosts()
    base = tmp_path_factory.mktemp("mixed-fleet")
    house = base / "wheelhouse"
    wheel = wheelhouse(house)
    with contextlib.ExitStack() as stack:
        roots = {
            release: stack.enter_context(
                chroot_host(release, wheel, house, base / f"{release}.log")
            )
            for release in RELEASES
        }
        chroots = {release: host_vars(root, release) for release, root in roots.items()}
        path = inventory(base, len(LOCAL), wheel, house, chroots)
        installed = playbook(path, "install.yml")
        assert installed["returncode"] == 0, installed["output"]
        yield path, roots


def written(path: Path, roots: dict[str, Path]) -> dict[str, str]:
    """What kdoctor and the role would write on every host: the local hosts' own state and the
    roots' installation, settings, cache, HOME and packages."""
    seen = host_state(path.parent, LOCAL)
    for root in roots.values():
        seen.update(written_state(root))
    return seen


def test_check_mode_reports_what_would_change_and_writes_nothing(
    fleet: tuple[Path, dict[str, Path]],
) -> None:
    path, roots = fleet
    before = written(path, roots)
    run = playbook(path, "site.yml", "--check", "--diff", "-e", "kdoctor_state=verified")
    assert run["returncode"] == 0, run["output"]
    results = kdoctor_results(run)
    assert sorted(results) == sorted(HOSTS)
    for host, result in results.items():
        assert result["changed"] is True and result["halt"] == "dry-run", host
        assert result["plan"]["steps"] and result["blocked"] == [], host
        assert result["ansible_facts"]["kdoctor"]["schema_version"] == 1
    for release in RELEASES:
        # a bare root: the toolchain's packages are planned, and the settings file's edit shown
        steps = results[release]["plan"]["steps"]
        assert any(s["root"] and "apt-get" in s["argv"] for s in steps), steps
        assert "+++ /etc/kdoctor/env" in results[release]["diff"]["prepared"]
    assert {h: run["stats"][h]["changed"] for h in HOSTS} == dict.fromkeys(HOSTS, 1)
    assert written(path, roots) == before


def test_the_apply_builds_and_verifies_the_module_on_every_host(
    fleet: tuple[Path, dict[str, Path]],
) -> None:
    path, roots = fleet
    run = playbook(path, "site.yml", "-e", "kdoctor_state=verified")
    assert run["returncode"] == 0, run["output"]
    results = kdoctor_results(run)
    assert sorted(results) == sorted(HOSTS)
    for host, result in results.items():
        assert result["halt"] == "verified" and result["changed"] is True, host
        assert result["build"]["ok"] is True and result["verify"]["passed"] is True, host
        assert result["verify"]["found"] == [
            "Hello kernel module!",
            "My message is on the heap",
            "Goodbye kernel module!",
        ]
    for host in LOCAL:
        assert results[host]["build"]["ko"].startswith(str(path.parent / host / "cache"))
    for release, root in roots.items():
        # built inside the root, into root's cache the role made, for the release's stock kernel
        ko = results[release]["build"]["ko"]
        assert ko.startswith("/var/cache/kdoctor/") and (root / ko.lstrip("/")).is_file()
        kdir = results[release]["ansible_facts"]["kdoctor"]["context"]["kdir"]
        assert f"export KDIR={kdir}" in (root / "etc/kdoctor/env").read_text()
        assert (root / "opt/kdoctor/venv/bin/kdoctor").is_file()
    assert {h: run["stats"][h]["changed"] for h in HOSTS} == dict.fromkeys(HOSTS, 1)


def test_a_second_apply_changes_nothing_anywhere(fleet: tuple[Path, dict[str, Path]]) -> None:
    path, _roots = fleet
    run = playbook(path, "site.yml", "-e", "kdoctor_state=verified")
    assert run["returncode"] == 0, run["output"]
    assert {h: run["stats"][h]["changed"] for h in HOSTS} == dict.fromkeys(HOSTS, 0)
    for host, result in kdoctor_results(run).items():
        assert result["plan"]["steps"] == [] and result["changed"] is False, host
        assert result["halt"] == "verified" and "build" not in result, host
        assert result["reused_verification"]["ko"], host
