"""The report's order is one tuple, ``kdoctor.checks.REPORT_ORDER``: every registered check
stands in it exactly once, nothing else does, and the registry hands the checks out in it."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

from kdoctor.checks import REPORT_ORDER
from kdoctor.checks.base import _checks, all_checks
from kdoctor.model.registry import Listed

CHECKS = Path(__file__).resolve().parents[1] / "kdoctor" / "checks"


def test_every_registered_check_is_in_the_order_exactly_once_and_nothing_else() -> None:
    registered = set(_checks.classes())
    assert [i for i, n in Counter(REPORT_ORDER).items() if n > 1] == []
    assert set(REPORT_ORDER) == registered


def test_the_checks_come_in_report_order() -> None:
    assert tuple(c.id for c in all_checks()) == REPORT_ORDER


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("os", "build-tools"),  # the machine before anything installed on it
        ("clang", "libclang"),  # the compiler, then the library bindgen loads from it
        ("libclang", "bindgen"),
        ("kernel-headers", "kernel-range"),  # the target kernel, then what it accepts
        ("rustup", "toolchain"),  # rustup, then the toolchain it picks
        ("toolchain", "rust-src"),  # the toolchain, then its components
        ("toolchain", "rustfmt"),
        ("toolchain", "compat"),
        ("module-target", "module-loading"),  # the module built, then loaded
        ("module-loading", "vm"),
    ],
)
def test_what_a_check_builds_on_is_reported_before_it(first: str, then: str) -> None:
    assert REPORT_ORDER.index(first) < REPORT_ORDER.index(then)
    assert REPORT_ORDER[0] == "os"


def test_no_check_carries_an_order_of_its_own() -> None:
    """The place in the report is written in one place only."""
    carrying = []
    for path in sorted(CHECKS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    targets = (
                        item.targets
                        if isinstance(item, ast.Assign)
                        else [item.target]
                        if isinstance(item, ast.AnnAssign)
                        else []
                    )
                    if any(isinstance(t, ast.Name) and t.id == "order" for t in targets):
                        carrying.append(f"{path.name}:{node.name}")
    assert carrying == []


def test_a_check_left_out_of_the_order_is_refused() -> None:
    class One:
        id = "one"

    class Two:
        id = "two"

    listed: Listed[One] = Listed("thing", "kdoctor.checks", ("one",))
    listed.register(One)
    listed.register(Two)  # type: ignore[arg-type]
    with pytest.raises(LookupError, match="two"):
        listed.instances()
