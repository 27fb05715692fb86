"""kdoctor test's report and table, the compat rule measured against trixie's 6.12, and
``--kernel`` resolved into the cache with its fetch as a plan step."""

from __future__ import annotations

from packaging.version import Version

from kdoctor.facts import Facts
from kdoctor.model.cache_layout import kdir_of
from kdoctor.pipeline.kernels import archive as ka
from tests.test_kernel_targets import CACHE, R510, R612, ArchiveMachine, _fetch


# -- kdoctor test's report ------------------------------------------------------------------
def test_the_test_report_matches_its_schema_and_the_table_names_each_kernel() -> None:
    import json
    from pathlib import Path

    import jsonschema

    from kdoctor.pipeline.multi_kernel import KernelRun, TestReport
    from kdoctor.render.kernels_text import test_table

    ok = KernelRun("6.12", R612, "ok", "ok", "ok", "3/3", 21.5, kdir="/k", log="/l")
    bad = KernelRun("5.10", R510, "failed", error="the build failed", log="/b.log")
    report = TestReport((ok, bad), 30.0, "/m")
    schema = json.loads((Path(__file__).parents[1] / "schema" / "test.schema.json").read_text())
    from kdoctor.model.contract import envelope

    jsonschema.validate(envelope(report.to_json()), schema)  # as `kdoctor test --json` prints it
    assert report.to_json()["exit_code"] == 1 and not report.passed
    assert TestReport((ok,), 1.0, "/m").passed
    lines = test_table(report)
    assert lines[0].split() == ["kernel", "release", "build", "load", "unload", "messages", "time"]
    assert lines[1].split()[:6] == ["6.12", R612, "ok", "ok", "ok", "3/3"]
    assert "✘ 1/2 kernels passed" in lines[3]
    assert "  5.10: the build failed" in lines and "  5.10: log: /b.log" in lines


def test_compat_knows_gcc_12_cannot_build_for_a_gcc_14_kernel() -> None:
    from kdoctor.knowledge.compat import RULES, Combination

    rule = next(r for r in RULES if r.id == "kernel-gcc-flags")
    trixie = {"CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT": "y", "CONFIG_CC_IS_GCC": "y"}
    assert rule.matches(Combination(tools={"gcc": Version("12.2.0")}, config=trixie))
    assert not rule.matches(Combination(tools={"gcc": Version("14.2.0")}, config=trixie))
    assert not rule.matches(
        Combination(tools={"gcc": Version("12.2.0")}, config={"CONFIG_CC_IS_GCC": "y"})
    )
    assert "gcc 12.2.0 rejects" in rule.describe(
        Combination(tools={"gcc": Version("12.2.0")}, config=trixie)
    )


# -- --kernel and the plan ------------------------------------------------------------------
def test_kernel_option_resolves_into_the_cache_and_the_plan_fetches_it() -> None:
    from kdoctor.fixes.kernel_target import KernelTargetFix
    from kdoctor.model.choice import TargetSource
    from kdoctor.model.plan import PlanOptions
    from kdoctor.pipeline.kernels.foreign import selected
    from tests.conftest import make_context

    ctx = make_context(
        target_kernel="6.12",
        kdir="/lib/modules/6.12/build",
        target_source=TargetSource.OPTION,
        cache_dir=CACHE,
    )
    system = ArchiveMachine()
    # no lists read yet: nothing is asked of the network, KDIR points where the fetch will put it
    unread = selected(ctx, system)
    assert unread.kdir == kdir_of(CACHE, "6.12") and system.runs == []
    # lists already read: the series is its newest release
    ka.prepare(system, ka.archive_for(CACHE, "trixie"))
    ka.update(system, ka.archive_for(CACHE, "trixie"))
    chosen = selected(ctx, system)
    assert (chosen.target_kernel, chosen.kdir) == (R612, kdir_of(CACHE, R612))
    writes = list(system.writes)
    decision = KernelTargetFix().plan(Facts(chosen, system), [], PlanOptions())
    step = decision.steps[0]
    assert step.argv[-2:] == ("fetch-kernel", R612) and step.network and not step.root
    assert system.writes == writes  # planning changed nothing
    _fetch(system)
    assert KernelTargetFix().plan(Facts(chosen, system), [], PlanOptions()).steps == []


def test_an_installed_or_unknown_kernel_is_left_as_it_is() -> None:
    from kdoctor.model.choice import TargetSource
    from kdoctor.pipeline.kernels.foreign import selected
    from tests.conftest import make_context

    system = ArchiveMachine()
    custom = make_context(
        target_kernel="6.6.1-custom",
        kdir="/lib/modules/6.6.1-custom/build",
        target_source=TargetSource.OPTION,
        cache_dir=CACHE,
    )
    assert selected(custom, system) == custom
    running = make_context(cache_dir=CACHE)
    assert selected(running, system) == running
    # a release of the host's own suite stays with the host's packages (bookworm here)
    own = make_context(
        target_kernel="6.1.0-99-amd64",
        kdir="/lib/modules/6.1.0-99-amd64/build",
        target_source=TargetSource.OPTION,
        cache_dir=CACHE,
    )
    assert selected(own, system) == own
    other = make_context(
        target_kernel=R510,
        kdir=f"/lib/modules/{R510}/build",
        target_source=TargetSource.OPTION,
        cache_dir=CACHE,
    )
    assert selected(other, system).kdir == kdir_of(CACHE, R510)


def test_build_tools_wants_the_compiler_an_adapted_tree_names() -> None:
    from kdoctor.checks.build_tools import _tree_compiler
    from tests.fake_system import FakeSystem

    kdir = kdir_of(CACHE, R612)
    adapted = FakeSystem(files={f"{kdir}/.kernelvariables": "CCACHE = ccache\nCC = gcc\n"})
    assert _tree_compiler(adapted, kdir) == "gcc"
    stock = FakeSystem(
        files={f"{kdir}/.kernelvariables": "CC = $(if $(X),ccache) $(CROSS_COMPILE)gcc-14\n"}
    )
    assert _tree_compiler(stock, kdir) is None
    assert _tree_compiler(FakeSystem(), kdir) is None
