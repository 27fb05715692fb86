"""`-v` means more detail on every command: every check's details and every probe; for build,
make's whole output as it runs; for fix, also the diagnosis before the plan. The VM console of
`verify` has a flag of its own, `--console`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import kdoctor.pipeline.build as build_pipeline
import kdoctor.pipeline.provision as provision_module
from kdoctor.facts import Facts
from kdoctor.facts.rust import rust_toolchain
from kdoctor.model.report import EXIT_PENDING
from kdoctor.pipeline.build import BuildResult, build
from kdoctor.pipeline.verify.result import VerifyResult
from kdoctor.render import text
from tests.conftest import make_context
from tests.fake_system import FakeSystem, Reply
from tests.test_build_pipeline import CACHE, LOGS, make_that_builds
from tests.test_cli_fix import fake, invoke  # noqa: F401  (the fixture, by name)
from tests.test_provision import STOCK, Factory
from tests.test_render import plain
from tests.test_verified_stamp import toolchain

LONG = "  RUSTC   " + "/a/very/long/path" * 10 + "/src/lib.rs\n"


def test_an_echoing_display_shows_every_line_whole() -> None:
    out, buffer = plain()
    with text.StepDisplay(out, "build", echo=True) as display:
        display.step("RUSTC lib.rs")
        display.output(LONG)
        display.output("  LD [M]  helloworld.ko\n")
    assert buffer.getvalue().splitlines() == [
        "build …",
        "  RUSTC lib.rs",
        LONG.rstrip("\n"),
        "  LD [M]  helloworld.ko",
    ]


def test_a_quiet_display_shows_no_output_lines() -> None:
    out, buffer = plain()
    with text.StepDisplay(out, "build") as display:
        display.output(LONG)
    assert buffer.getvalue().splitlines() == ["build …"]


def test_the_build_hands_every_line_make_prints_to_on_line() -> None:
    system = FakeSystem(files={"/src/hello-world/Makefile": "all:\n"})
    make_that_builds(system)
    lines: list[str] = []
    result = build(
        make_context(cache_dir=CACHE),
        system,
        rustc="/usr/bin/rustc",
        toolchain_env={},
        log_dir=LOGS,
        on_line=lines.append,
    )
    assert result.ok
    assert lines == ["  RUSTC   /src/hello-world/src/lib.rs\n", "  LD [M]  helloworld.ko\n"]


def test_build_module_shows_make_s_output_through_its_display(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_of = provision_module.Facts.of

    def of(facts: Any, fact: Any) -> Any:
        return toolchain() if fact is rust_toolchain else real_of(facts, fact)

    def fake_build(*_: Any, on_line: Any, **__: Any) -> BuildResult:
        on_line("  CC [M]  helloworld.o\n")
        return BuildResult(True, "/m", "/m/helloworld.ko", "/log", 1.0, ("make",), 0)

    monkeypatch.setattr(provision_module.Facts, "of", of)
    monkeypatch.setattr(build_pipeline, "build", fake_build)  # imported where it runs
    out, buffer = plain()
    system = FakeSystem(files={"/src/hello-world/Makefile": "all:\n"})
    provision_module.build_module(
        Facts(make_context(cache_dir=CACHE), system),
        lambda title: text.StepDisplay(out, title, echo=True),
    )
    assert "  CC [M]  helloworld.o" in buffer.getvalue().splitlines()


@pytest.mark.parametrize("command", ["check", "fix", "build", "verify"])
def test_every_command_that_reports_takes_v(command: str) -> None:
    result = invoke(command, "-v", "--help")
    assert result.exit_code == 0 and "--verbose" in result.stdout


def test_build_v_shows_every_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kdoctor.cli import options
    from tests.test_provision import machine

    def one_run(*flags: str) -> str:
        # a broken rustc: asked for its version, so there is a probe to show
        broken = Reply(stderr="rustc: error while loading shared libraries\n", exit_code=127)
        system = machine(
            tmp_path,
            programs={"rustc": "/usr/bin/rustc"},
            commands={"/usr/bin/rustc --version": broken},
        )
        monkeypatch.setattr(options, "system_factory", lambda: system)
        result = invoke("build", "--kernel", STOCK, *flags)
        assert result.exit_code == 1  # no usable Rust
        return str(result.stdout)

    quiet, loud = one_run(), one_run("-v")
    assert "\nprobes\n" not in quiet
    probes = loud.split("\nprobes\n", 1)[1]
    assert "rustc --version" in probes and " ms" in probes


def test_fix_v_shows_the_diagnosis_in_detail_and_every_probe(tmp_path: Path) -> None:
    from kdoctor.cli import options
    from tests.test_provision import APT, machine

    def one_run(*flags: str) -> str:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(options, "system_factory", Factory(machine(tmp_path, programs=APT)))
            result = invoke("fix", "--dry-run", "--kernel", STOCK, *flags)
        assert result.exit_code == EXIT_PENDING, result.output  # a bare machine: steps pending
        return str(result.stdout)

    quiet, loud = one_run(), one_run("-v")
    # an OK check's details (here: the package manager) only with -v, before the plan
    assert "packages via apt" not in quiet and "packages via apt" in loud
    assert loud.index("packages via apt") < loud.index("plan: ")
    assert "\nprobes\n" not in quiet and "\nprobes\n" in loud


@pytest.mark.parametrize(
    ("flags", "console", "probes"),
    [((), False, False), (("--console",), True, False), (("-v",), False, True)],
)
def test_verify_console_and_v_are_two_things(
    flags: tuple[str, ...],
    console: bool,
    probes: bool,
    fake: Factory,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    def verify(ctx: Any, system: FakeSystem, *_: Any, **kwargs: Any) -> VerifyResult:
        seen.update(kwargs)
        system.run(["qemu-system-x86_64", "--version"])  # a probe for -v to show
        if kwargs["on_console"] is not None:
            kwargs["on_console"]("[    1.0] Hello kernel module!\n")
        return VerifyResult("vm", True, "ok", STOCK, "helloworld")

    monkeypatch.setattr(provision_module, "verify_module", verify)
    result = invoke("verify", "--vm", "--ko", __file__, "--kernel", STOCK, *flags)
    assert result.exit_code == 0, result.output
    assert (seen["on_console"] is not None) is console
    assert ("[    1.0] Hello kernel module!" in result.stdout) is console
    assert ("\nprobes\n" in result.stdout) is probes
    assert ("qemu-system-x86_64 --version → command not found" in result.stdout) is probes


@pytest.mark.parametrize("verbose", [False, True])
def test_fix_with_nothing_to_do_shows_the_diagnosis_once_and_in_detail_with_v(
    verbose: bool,
) -> None:
    from dataclasses import replace

    from kdoctor.cli.fix_view import FixView
    from kdoctor.model.finding import Finding, Status
    from kdoctor.model.plan import Plan
    from kdoctor.model.report import Report
    from kdoctor.pipeline.provision import Event, ProvisionResult

    ctx = make_context()
    report = Report(ctx, (Finding("os", Status.OK, "Debian 12", found="Debian 12, apt"),), 1.0)
    planned = ProvisionResult(ctx, report, Plan(()), ctx)
    out, buffer = plain()
    view = FixView(out, verbose=verbose)
    view.reached(Event.PLANNED, planned)  # a dry run stops here
    dry = buffer.getvalue()
    view.reached(Event.DIAGNOSED, replace(planned, after=report))
    shown = buffer.getvalue()
    assert ("Debian 12, apt" in dry) is verbose
    assert shown.count("✔ os") == 1
    assert ("\n    Debian 12\n" in shown) is verbose  # the OK check's details
