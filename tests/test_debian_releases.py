"""kdoctor/knowledge/debian_releases.py is the one table of Debian's releases: every other place
that needs a suite, its number, its kernel series or its toolchain reads it."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kdoctor.knowledge import debian_kernels as dk
from kdoctor.knowledge import debian_releases
from kdoctor.knowledge.debian_releases import RELEASES, SUPPORTED
from kdoctor.knowledge.kernel_range import Bound, KernelRange, debian_releases_in
from kdoctor.knowledge.packages import rustup_packaged, web_rust
from kdoctor.model.context import DistroInfo
from tests.conftest import make_context

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "matrix.py"


@pytest.fixture(scope="module")
def matrix() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kdoctor_matrix_rows", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_table_as_recorded() -> None:
    assert [(r.number, r.suite, r.series) for r in RELEASES] == [
        ("10", "buster", "4.19"),
        ("11", "bullseye", "5.10"),
        ("12", "bookworm", "6.1"),
        ("13", "trixie", "6.12"),
    ]
    assert [r.suite for r in SUPPORTED] == ["bullseye", "bookworm", "trixie"]
    assert all(r.toolchain is not None for r in SUPPORTED)
    assert [r.number for r in RELEASES if r.web_rust_default] == ["12"]
    assert debian_releases.rustup_packaged_since() == 13


def test_the_matrix_rows_are_the_tables(matrix: ModuleType) -> None:
    expected: list[tuple[Any, ...]] = []
    for release in SUPPORTED:
        tools = release.toolchain
        assert tools is not None
        head = f"{release.series}, clang {tools.clang}"
        plain = f"{head}, rustc {tools.rustc}, bindgen {tools.bindgen}"
        expected.append((release.suite, release.suite, release.name, plain))
        if release.web_rust_default:
            web = f"{head}, rustc-web {tools.rustc_web}, bindgen {tools.bindgen}"
            expected.append((f"{release.suite}-web", release.suite, release.name, web))
    assert [(r.id, r.release, r.debian, r.expect) for r in matrix.ROWS] == expected
    assert [r.id for r in matrix.ROWS if r.floor] == [SUPPORTED[0].suite]
    assert (matrix.MIRROR, matrix.SECURITY_MIRROR, matrix.KEYRING) == (
        debian_releases.MIRROR,
        debian_releases.SECURITY,
        debian_releases.KEYRING,
    )


def test_the_matrix_script_runs_with_the_standard_library_only() -> None:
    """The host's python3 runs it as root, outside kdoctor's virtual environment: -I -S
    (no site-packages, no PYTHONPATH) must still find the table in the repository."""
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(SCRIPT), "--help"],
        capture_output=True,
        text=True,
        cwd="/",
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "bullseye, bookworm, bookworm-web, trixie" in " ".join(done.stdout.split())


def test_the_suites_kdoctor_fetches_from_are_the_supported_releases() -> None:
    assert dk.SUITES == {"bullseye": "5.10", "bookworm": "6.1", "trixie": "6.12"}
    assert dk.SERIES == {"5.10": "bullseye", "6.1": "bookworm", "6.12": "trixie"}
    assert dk.suite_of("6.1.0-0.deb11.5-amd64") == "bullseye"
    assert dk.suite_of("6.12.118+deb13-amd64") == "trixie"
    assert dk.suite_of("4.19.0-27+deb10-amd64") is None  # buster: not fetched
    assert dk.suite_of("6.12") == "trixie"


def test_each_release_is_named_for_a_range_holding_its_kernel() -> None:
    for release in RELEASES:
        low = (*release.kernel, 0)
        only = KernelRange(Bound(low, True), Bound((low[0], low[1] + 1, 0), False))
        assert debian_releases_in(only) == [
            f"Debian {release.number} ({release.suite}, Linux {release.series})"
        ]
    below_6 = KernelRange(high=Bound((6, 0, 0), False))
    assert debian_releases_in(below_6) == [
        "Debian 10 (buster, Linux 4.19)",
        "Debian 11 (bullseye, Linux 5.10)",
    ]


def _debian(version: str, codename: str) -> Any:
    return make_context(distro=DistroInfo("debian", version, "debian", (), codename))


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.suite)
def test_packages_read_the_rust_facts_from_the_table(release: Any) -> None:
    assert web_rust(_debian(release.number, release.suite)) is release.web_rust_default
    assert web_rust(_debian(f"{release.number}.4", release.suite)) is release.web_rust_default
    assert rustup_packaged(_debian(release.number, release.suite)) is release.rustup_packaged
    # testing and unstable name no version: their codename decides
    assert rustup_packaged(_debian("", release.suite)) is release.rustup_packaged
    assert rustup_packaged(_debian("", "forky")) is True
    assert rustup_packaged(_debian("14", "forky")) is True


def _suite_literals(path: Path) -> list[str]:
    names = {r.suite for r in RELEASES}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in names
    ]


def test_no_other_module_writes_a_suite_name_as_a_value() -> None:
    sources = [*sorted((ROOT / "kdoctor").rglob("*.py")), *sorted((ROOT / "scripts").glob("*.py"))]
    found = [
        hit
        for path in sources
        if path.name != "debian_releases.py"
        for hit in _suite_literals(path)
    ]
    assert found == []
