from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from kdoctor.fixes.clang_choice import ClangChoiceFix
from kdoctor.machine.fake import FakeSystem
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status
from kdoctor.model.plan import Step
from kdoctor.model.report import Report
from kdoctor.pipeline.planner import merge_settings
from tests.conftest import make_context

CLANG_SUMMARY = "clang 8.0.1 is too old (no asm goto support); clang-18 on PATH is good enough"
LIBCLANG_SUMMARY = (
    "bindgen would load libclang 18 but clang is 14: headers are parsed by a different clang "
    "than the one that compiles them"
)


def clang(candidate: Optional[str] = "/usr/bin/clang-18", fix: str = "clang-choice") -> Finding:
    return Finding(
        id="clang",
        status=Status.FAIL,
        summary=CLANG_SUMMARY,
        fix=fix,
        facts={"path": "/usr/bin/clang", "version": "8.0.1", "candidate": candidate},
    )


def libclang(candidate: Optional[str] = "/usr/lib/llvm-14/lib", version: str = "18.1.3") -> Finding:
    return Finding(
        id="libclang",
        status=Status.WARN,
        summary=LIBCLANG_SUMMARY,
        fix="clang-choice" if candidate else "packages",
        facts={
            "path": f"/usr/lib/llvm-18/lib/libclang-{version}.so.1",
            "version": version,
            "candidate": candidate,
        },
    )


def machine(**programs: str) -> FakeSystem:
    return FakeSystem(programs={"clang": "/usr/bin/clang", **programs})


def plan(ctx: Context, system: FakeSystem, *findings: Finding) -> list[Step]:
    return ClangChoiceFix().plan(ctx, Report(ctx, findings, 0.0), system)


def notes(ctx: Context, system: FakeSystem, *findings: Finding) -> list[str]:
    return ClangChoiceFix().notes(ctx, Report(ctx, findings, 0.0), system)


def settings_step(findings: tuple[str, ...], why: str, **settings: Any) -> Step:
    return Step(fix="clang-choice", findings=findings, why=why, settings=settings)


def test_a_good_clang_on_path_is_persisted_by_its_bare_name() -> None:
    system = machine(**{"clang-18": "/usr/bin/clang-18"})
    assert plan(make_context(), system, clang()) == [
        settings_step(
            ("clang",),
            f"clang: {CLANG_SUMMARY}; build with clang-18",
            CC="clang-18",
            CLANG="clang-18",
        )
    ]
    assert system.runs == []


def test_a_candidate_the_bare_name_does_not_reach_is_persisted_by_its_path() -> None:
    # clang-18 on PATH is another one (earlier directory); the candidate is in /opt
    system = machine(**{"clang-18": "/usr/local/bin/clang-18", "x": "/opt/llvm/bin/clang-18"})
    [step] = plan(make_context(), system, clang("/opt/llvm/bin/clang-18"))
    assert step.settings == {"CC": "/opt/llvm/bin/clang-18", "CLANG": "/opt/llvm/bin/clang-18"}


def test_a_choice_already_in_force_plans_nothing() -> None:
    system = machine(**{"clang-18": "/usr/bin/clang-18"})
    ctx = make_context(env={"CC": "clang-18", "CLANG": "clang-18"})
    assert plan(ctx, system, clang()) == []
    half = make_context(env={"CC": "clang-18"})
    [step] = plan(half, system, clang())
    assert step.settings == {"CLANG": "clang-18"}


def test_a_clang_finding_for_the_packages_fix_is_not_ours() -> None:
    assert plan(make_context(), machine(), clang(None, fix="packages")) == []


def test_libclang_of_the_same_major_is_persisted_as_libclang_path() -> None:
    system = machine()
    assert plan(make_context(), system, libclang()) == [
        settings_step(
            ("libclang",),
            f"libclang: {LIBCLANG_SUMMARY}; load the one in /usr/lib/llvm-14/lib",
            LIBCLANG_PATH="/usr/lib/llvm-14/lib",
        )
    ]
    other = make_context(env={"LIBCLANG_PATH": "/usr/lib/llvm-18/lib"})
    assert plan(other, system, libclang())[0].settings == {"LIBCLANG_PATH": "/usr/lib/llvm-14/lib"}
    assert system.runs == []


def test_libclang_choice_already_in_force_plans_nothing() -> None:
    ctx = make_context(env={"LIBCLANG_PATH": "/usr/lib/llvm-14/lib"})
    finding = libclang()
    assert plan(ctx, machine(), finding) == []


def test_switching_clang_waits_with_libclang_and_says_so() -> None:
    system = machine(**{"clang-18": "/usr/bin/clang-18"})
    found = (clang(), libclang(version="14.0.6"))
    [step] = plan(make_context(), system, *found)
    assert step.findings == ("clang",) and "LIBCLANG_PATH" not in step.settings
    assert notes(make_context(), system, *found) == [
        "the build switches to clang-18, but bindgen loads libclang 14 "
        "(/usr/lib/llvm-18/lib/libclang-14.0.6.so.1); rerun `kdoctor fix` after this one to "
        "pair them (the libclang check then names libclang 18 or its package)."
    ]
    assert notes(make_context(), system, clang(), libclang(version="18.1.3")) == []


def test_nothing_to_choose_plans_nothing() -> None:
    ok = Finding("clang", Status.OK, "clang 14.0.6 (chosen by default)")
    assert plan(make_context(), machine(), ok) == []
    assert notes(make_context(), machine(), ok) == []


def test_the_choice_becomes_one_edit_of_the_settings_file(tmp_path: Path) -> None:
    path = str(tmp_path / "env")
    system = machine(**{"clang-18": "/usr/bin/clang-18"})
    [merged] = merge_settings(plan(make_context(), system, clang()), path)
    assert merged.edit is not None
    assert "export CC=clang-18\n" in merged.edit.content
    assert "export CLANG=clang-18\n" in merged.edit.content
