from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from kdoctor.checks.clang import ClangCheck
from kdoctor.facts import Facts
from kdoctor.fixes.base import Ask, Decision, all_fixes
from kdoctor.fixes.settings import SettingsFix
from kdoctor.knowledge.packages import package_need
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import Need, Setting
from kdoctor.model.plan import PlanOptions, Step
from kdoctor.model.report import Report
from kdoctor.pipeline.planner import make_plan, merge_settings
from tests.conftest import make_context, run_check
from tests.fake_system import FakeSystem
from tests.test_libclang_check import debian_12

CLANG_SUMMARY = "clang 8.0.1 is too old (no asm goto support); clang-18 on PATH is good enough"
LIBCLANG_SUMMARY = (
    "bindgen would load libclang 18 but clang is 14: headers are parsed by a different clang "
    "than the one that compiles them"
)


def use_clang(command: str = "clang-18") -> tuple[Setting, ...]:
    """What the clang check asks for when a better clang is on PATH: CC and CLANG persisted."""
    return (Setting("CC", command), Setting("CLANG", command))


def clang(*needs: Need) -> Finding:
    return Finding(
        id="clang",
        status=Status.FAIL,
        summary=CLANG_SUMMARY,
        needs=needs or use_clang(),
        facts={"path": "/usr/bin/clang", "version": "8.0.1", "candidate": "/usr/bin/clang-18"},
    )


def libclang(directory: Optional[str] = "/usr/lib/llvm-14/lib") -> Finding:
    needs = (Setting("LIBCLANG_PATH", directory),) if directory else ()
    return Finding(
        id="libclang",
        status=Status.WARN,
        summary=LIBCLANG_SUMMARY,
        needs=needs or (package_need("apt", "libclang-n", n=14),),
        facts={"path": "/usr/lib/llvm-18/lib/libclang-18.1.3.so.1", "version": "18.1.3"},
    )


def machine(**programs: str) -> FakeSystem:
    return FakeSystem(programs={"clang": "/usr/bin/clang", **programs})


def decide(ctx: Context, system: FakeSystem, *findings: Finding) -> Decision:
    asks = [Ask(f, n) for f in findings for n in f.needs]
    return SettingsFix().plan(Facts(ctx, system), asks, PlanOptions())


def plan(ctx: Context, system: FakeSystem, *findings: Finding) -> list[Step]:
    return decide(ctx, system, *findings).steps


def notes(ctx: Context, system: FakeSystem, *findings: Finding) -> list[str]:
    return decide(ctx, system, *findings).notes


def settings_step(findings: tuple[str, ...], why: str, **settings: Any) -> Step:
    return Step(fix="settings", findings=findings, why=why, settings=settings)


def test_a_good_clang_on_path_is_persisted_as_cc_and_clang() -> None:
    system = machine(**{"clang-18": "/usr/bin/clang-18"})
    assert plan(make_context(), system, clang()) == [
        settings_step(
            ("clang",),
            f"clang: {CLANG_SUMMARY}; persist CC=clang-18, CLANG=clang-18",
            CC="clang-18",
            CLANG="clang-18",
        )
    ]
    assert system.runs == [] and system.calls == []


def _old_clang_and(path_dir: str, which_clang_18: str) -> FakeSystem:
    """clang 8 as ``clang``; a clang 18 found in ``path_dir`` on PATH, while the bare name
    ``clang-18`` resolves to ``which_clang_18``."""
    return FakeSystem(
        programs={
            "clang": "/usr/bin/clang",
            "clang-18": which_clang_18,
            "x": f"{path_dir}/clang-18",
        },
        commands={
            "/usr/bin/clang --version": "clang version 8.0.1\n",
            f"{path_dir}/clang-18 --version": "clang version 18.1.3\n",
        },
        dirs={path_dir: ["clang-18"]},
        env={"PATH": path_dir},
    )


def test_the_clang_check_names_its_candidate_by_bare_name_when_path_reaches_it() -> None:
    reached = run_check(
        ClangCheck(), make_context(), _old_clang_and("/usr/bin", "/usr/bin/clang-18")
    )
    assert reached.status is Status.FAIL
    # CLANG only: CC is the kernel's compiler's (see the tests of the kernel's family below)
    assert reached.needs == (Setting("CLANG", "clang-18"),)
    # clang-18 on PATH is another one (an earlier directory); the candidate is in /opt
    elsewhere = _old_clang_and("/opt/llvm/bin", "/usr/local/bin/clang-18")
    assert run_check(ClangCheck(), make_context(), elsewhere).needs == (
        Setting("CLANG", "/opt/llvm/bin/clang-18"),
    )
    [step] = plan(make_context(), elsewhere, run_check(ClangCheck(), make_context(), elsewhere))
    assert step.settings == {"CLANG": "/opt/llvm/bin/clang-18"}


def test_a_choice_already_in_force_plans_nothing() -> None:
    system = machine(**{"clang-18": "/usr/bin/clang-18"})
    ctx = make_context(env={"CC": "clang-18", "CLANG": "clang-18"})
    assert plan(ctx, system, clang()) == []
    half = make_context(env={"CC": "clang-18"})
    [step] = plan(half, system, clang())
    assert step.settings == {"CLANG": "clang-18"}


def test_a_clang_finding_that_needs_a_package_is_not_ours() -> None:
    assert plan(make_context(), machine(), clang(package_need("apt", "clang-n", n=18))) == []


def test_libclang_of_the_same_major_is_persisted_as_libclang_path() -> None:
    system = machine()
    assert plan(make_context(), system, libclang()) == [
        settings_step(
            ("libclang",),
            f"libclang: {LIBCLANG_SUMMARY}; persist LIBCLANG_PATH=/usr/lib/llvm-14/lib",
            LIBCLANG_PATH="/usr/lib/llvm-14/lib",
        )
    ]
    other = make_context(env={"LIBCLANG_PATH": "/usr/lib/llvm-18/lib"})
    assert plan(other, system, libclang())[0].settings == {"LIBCLANG_PATH": "/usr/lib/llvm-14/lib"}
    assert plan(make_context(), system, libclang(None)) == []  # a package: not ours
    assert system.runs == []


def test_libclang_choice_already_in_force_plans_nothing() -> None:
    ctx = make_context(env={"LIBCLANG_PATH": "/usr/lib/llvm-14/lib"})
    assert plan(ctx, machine(), libclang()) == []


def test_switching_clang_leaves_libclang_for_the_next_run() -> None:
    system = machine(**{"clang-18": "/usr/bin/clang-18"})
    found = (clang(), libclang())
    [step] = plan(make_context(), system, *found)
    assert step.findings == ("clang",) and "LIBCLANG_PATH" not in step.settings
    # bindgen would load libclang 14 (the machine's llvm-config) while the build uses clang-18
    assert notes(make_context(), system, *found) == []  # nothing found: nothing to say
    with_llvm = debian_12()
    with_llvm.programs["clang-18"] = "/usr/bin/clang-18"
    [note] = notes(make_context(), with_llvm, *found)
    assert note == (
        "the build switches to clang-18, but bindgen loads libclang 14 "
        "(/usr/lib/llvm-14/lib/libclang-14.so.1); rerun `kdoctor fix` after this one to pair "
        "them (the libclang check then names libclang 18 or its package)."
    )
    assert notes(make_context(env={"LIBCLANG_PATH": "/x"}), with_llvm, *found) == []
    # with the clang choice already in force, the libclang choice is made
    settled = make_context(env={"CC": "clang-18", "CLANG": "clang-18"})
    [step] = plan(settled, system, *found)
    assert step.findings == ("libclang",)
    assert step.settings == {"LIBCLANG_PATH": "/usr/lib/llvm-14/lib"}


def test_nothing_to_choose_plans_nothing() -> None:
    ok = Finding("clang", Status.OK, "clang 14.0.6 (chosen by default)")
    assert plan(make_context(), machine(), ok) == []
    assert notes(make_context(), machine(), ok) == []


def test_a_setting_of_none_removes_the_choice() -> None:
    finding = Finding("clang", Status.WARN, "CC is not clang", needs=(Setting("CC", None),))
    [step] = plan(make_context(env={"CC": "gcc"}), machine(), finding)
    assert step.settings == {"CC": None}
    assert plan(make_context(), machine(), finding) == []  # unset already


def test_the_choice_becomes_one_edit_of_the_settings_file(tmp_path: Path) -> None:
    path = str(tmp_path / "env")
    system = machine(**{"clang-18": "/usr/bin/clang-18"})
    [merged] = merge_settings(plan(make_context(), system, clang()), path, system)
    assert merged.edit is not None
    assert "export CC=clang-18\n" in merged.edit.text
    assert "export CLANG=clang-18\n" in merged.edit.text


def test_make_plan_merges_every_setting_into_one_edit(tmp_path: Path) -> None:
    path = str(tmp_path / "env")
    ctx = make_context(settings_file=path)
    system = machine(**{"clang-18": "/usr/bin/clang-18"})
    kdir = Finding("kernel-headers", Status.OK, "headers", needs=(Setting("KDIR", "/k"),))
    result = make_plan(Facts(ctx, system), Report(ctx, (clang(), kdir), 0.0))
    [merged] = [s for s in result.steps if s.edit is not None and s.edit.path == path]
    assert merged.fix == "settings"
    assert merged.findings == ("clang", "kernel-headers")
    assert merged.settings == {"CC": "clang-18", "CLANG": "clang-18", "KDIR": "/k"}
    assert merged.edit is not None
    for line in ("export CC=clang-18\n", "export CLANG=clang-18\n", "export KDIR=/k\n"):
        assert line in merged.edit.text
    assert system.runs == []


def test_the_settings_planner_is_registered() -> None:
    orders = {fix.id: fix.order for fix in all_fixes()}
    assert "clang-choice" not in orders
    assert orders["settings"] == 50


GCC_KERNEL = 'CONFIG_CC_VERSION_TEXT="gcc-12 (Debian 12.2.0-14) 12.2.0"\nCONFIG_CC_IS_GCC=y\n'


def test_clang_as_cc_is_never_persisted_for_a_gcc_built_kernel_and_the_plan_says_why() -> None:
    """Whoever asks (here a finding that still asks for both), a CC or LLVM the target kernel's
    compiler family refuses is not written: kbuild would compile the module's C code with clang
    and the gcc-built kernel's flags, the first C object failing."""
    system = FakeSystem(files={"/lib/modules/6.1.0-56-amd64/build/.config": GCC_KERNEL})
    found = clang(Setting("CC", "clang-18"), Setting("CLANG", "clang-18"), Setting("LLVM", "1"))
    decision = decide(make_context(), system, found)
    [step] = decision.steps
    assert step.settings == {"CLANG": "clang-18"}
    assert decision.notes == [
        f"clang: kdoctor does not persist {setting}: the target kernel 6.1.0-56-amd64 was built "
        "with gcc, and kbuild would compile the module's C code with clang and that kernel's gcc "
        "flags, which fails."
        for setting in ("CC=clang-18", "LLVM=1")
    ]
    # gcc as CC on that kernel, and removing a CC, are fine
    removing = make_context(env={"LLVM": "1"})
    ok = decide(removing, system, clang(Setting("CC", "gcc-12"), Setting("LLVM", None)))
    assert ok.notes == [] and ok.steps[0].settings == {"CC": "gcc-12", "LLVM": None}
    assert ok.steps[0].why.endswith("persist CC=gcc-12; remove LLVM")
