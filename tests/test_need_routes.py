"""A need is routed by its type alone: each need type has exactly one planner (the planners
declare theirs, ``Fix.handles``), ``make_plan`` hands each planner the needs of its types (and
those it reads), and the diagnosis writes that planner into each finding's ``fix``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

import pytest

from kdoctor.checks.compat import CompatCheck
from kdoctor.facts import Facts
from kdoctor.fixes.base import Ask, Decision, Fix, all_fixes, routes
from kdoctor.model import need
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import NEED_TYPES, ByHand, Need, Package, RustToolchain, Setting
from kdoctor.model.plan import PlanOptions
from kdoctor.model.report import Report
from kdoctor.pipeline import planner
from kdoctor.pipeline.diagnose import run_checks
from kdoctor.pipeline.planner import fix_of, make_plan, planner_ids
from tests.conftest import make_context
from tests.fake_system import FakeSystem

CLANG = Package("clang", ("clang",))
PIN = RustToolchain("nightly-2021-02-12")
HAND = ByHand("compiler-family", "it is the module's own file", "edit it")


def test_need_types_are_the_members_of_the_need_union_and_name_no_planner() -> None:
    assert get_args(Need) == NEED_TYPES and len(NEED_TYPES) == 12
    assert not [t.__name__ for t in NEED_TYPES if hasattr(t, "fix")]


def test_each_planner_declares_need_types_only_and_handles_some() -> None:
    for fix in all_fixes():
        assert fix.handles, fix.id
        assert set(fix.handles) <= set(NEED_TYPES), fix.id
        assert set(fix.reads) <= set(NEED_TYPES), fix.id


def test_the_route_of_each_need_type_is_the_planner_the_json_names() -> None:
    assert {t.__name__: i for t, i in planner_ids().items()} == {
        "Package": "packages",
        "RustToolchain": "rust",
        "RustComponent": "rust",
        "RustOverride": "rust",
        "Rustup": "rust",
        "Setting": "settings",
        "KbuildCmd": "kbuild-cmd",
        "KernelImage": "kernel-target",
        "StockKernel": "kernel-target",
        "RustEnabledKernel": "kernel-target",
        "ByHand": "by-hand",
        "CargoSource": "cargo-source",
    }


def test_a_finding_s_fix_is_its_first_repairing_need_s_planner() -> None:
    def finding(*needs: Need) -> Finding:
        return Finding("x", Status.FAIL, "broken", needs=needs)

    assert fix_of(finding(HAND, CLANG, PIN)) == "packages"  # ByHand repairs nothing
    assert fix_of(finding(PIN, CLANG)) == "rust"
    assert fix_of(finding(HAND)) is None
    assert fix_of(finding()) is None


class Needs(CompatCheck):
    """A check whose finding asks for ``needs``."""

    def __init__(self, *needs: Need) -> None:
        self.needs = needs

    def run(self, facts: Facts) -> Finding:
        return Finding(self.id, Status.FAIL, "broken", needs=self.needs)


def test_the_diagnosis_writes_each_finding_s_planner_into_it_and_its_json() -> None:
    facts = Facts(make_context(), FakeSystem())
    [both] = run_checks([Needs(HAND, CLANG)], facts).findings
    assert (both.fix, both.to_json()["fix"]) == ("packages", "packages")
    [by_hand] = run_checks([Needs(HAND)], facts).findings
    assert (by_hand.fix, by_hand.to_json()["fix"]) == (None, None)


# -- make_plan routes ---------------------------------------------------------------------------
seen: dict[str, list[Need]] = {}


class Early(Fix):
    id = "early"
    title = "decides first, hands the clang package on"
    stage = 0
    handles = (RustToolchain,)

    def plan(self, facts: Facts, asks: Sequence[Ask], options: PlanOptions) -> Decision:
        seen[self.id] = [a.need for a in asks]
        return Decision(handed_on=[Ask(a.finding, CLANG) for a in asks])


class Late(Fix):
    id = "late"
    title = "packages"
    handles = (Package,)

    def plan(self, facts: Facts, asks: Sequence[Ask], options: PlanOptions) -> Decision:
        seen[self.id] = [a.need for a in asks]
        return Decision()


class Reader(Fix):
    id = "reader"
    title = "settings, reading packages too"
    handles = (Setting,)
    reads = (Package,)

    def plan(self, facts: Facts, asks: Sequence[Ask], options: PlanOptions) -> Decision:
        seen[self.id] = [a.need for a in asks]
        return Decision(handed_on=[Ask(a.finding, CLANG) for a in asks if a.need == HAND])


class Hand(Fix):
    id = "hand"
    title = "by hand"
    handles = (ByHand,)

    def plan(self, facts: Facts, asks: Sequence[Ask], options: PlanOptions) -> Decision:
        seen[self.id] = [a.need for a in asks]
        return Decision()


def plan_with(monkeypatch: pytest.MonkeyPatch, fixes: list[Fix], *needs: Need) -> None:
    seen.clear()
    monkeypatch.setattr(planner, "all_fixes", lambda: fixes)
    ctx = make_context()
    finding = Finding("x", Status.FAIL, "broken", needs=needs)
    make_plan(Facts(ctx, FakeSystem()), Report(ctx, (finding,), 0.0))


def test_make_plan_hands_each_planner_the_needs_of_its_types_handed_on_ones_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setting = need.Setting("CC", "clang-15")
    other = Package("make", ("make",))
    plan_with(monkeypatch, [Late(), Reader(), Early(), Hand()], other, setting, PIN, HAND)
    assert seen == {
        "early": [PIN],
        "late": [other, CLANG],  # the report's package, then the one the Rust planner handed on
        "reader": [other, setting, CLANG],
        "hand": [HAND],
    }


def test_a_need_handed_on_to_a_planner_that_has_decided_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Hands(Reader):
        reads = ()
        handles = (Setting, ByHand)

    with pytest.raises(ValueError, match=r"reader hands on .* to a planner that has decided"):
        plan_with(monkeypatch, [Late(), Hands()], HAND)


def test_two_planners_for_one_need_type_is_an_error() -> None:
    class Twin(Late):
        id = "twin"

    with pytest.raises(ValueError, match="Package has two planners: late, twin"):
        routes([Late(), Twin()])
