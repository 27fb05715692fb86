"""The collection meets Ansible's own standards: ``ansible-test sanity`` (no ignore but the
missing-gplv3-license of its GPL-2.0-only modules), its unit tests and integration target with
``ansible-test``, and ``ansible-lint --profile production``. scripts/test.sh installs the tools
(ansible-core with the test extra, ansible-lint pinned); where they are missing the tests skip
saying so, and fail under CI."""

from __future__ import annotations

import importlib.metadata

import pytest

from tests.ansible_tooling import COLLECTION, ansible_lint, ansible_test, tool
from tests.real_machine import require_real

pytestmark = pytest.mark.integration


def needs(name: str) -> None:
    require_real(tool(name) is not None, f"{name} is not installed (scripts/test.sh installs it)")


def test_ansible_test_sanity_passes() -> None:
    needs("ansible-test")
    core = ".".join(importlib.metadata.version("ansible-core").split(".")[:2])
    ignores = COLLECTION / "tests" / "sanity" / f"ignore-{core}.txt"
    assert ignores.is_file(), f"ansible-core {core}: add {ignores} (the gplv3 lines of 2.19's)"
    for line in ignores.read_text(encoding="utf-8").splitlines():
        assert "validate-modules:missing-gplv3-license # kdoctor is GPL-2.0-only" in line
    run = ansible_test("sanity")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-6000:]
    assert 'Running sanity test "validate-modules"' in run.stdout + run.stderr


def test_ansible_test_units_pass() -> None:
    needs("ansible-test")
    run = ansible_test("units")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-6000:]
    assert " passed" in run.stdout and "failed" not in run.stdout.split("=====")[-1]


def test_the_integration_target_passes() -> None:
    needs("ansible-test")
    run = ansible_test("integration", "kdoctor_modules")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-6000:]
    assert "failed=0" in run.stdout


def test_ansible_lint_production_profile_passes() -> None:
    needs("ansible-lint")
    run = ansible_lint()
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-6000:]
    assert "Profile 'production' was required, and it passed" in run.stdout + run.stderr
