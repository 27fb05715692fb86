"""The tools a module's own build files hand kbuild (kdoctor.knowledge.module_tools,
kdoctor.facts.module_tools) and the module-tools check that holds them to what kdoctor holds the
default tools to; with the real make on the fixtures, and a strict FakeSystem for the verdicts."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Optional

import pytest

from kdoctor.checks.module_tools import ModuleToolsCheck
from kdoctor.facts.module_tools import passed_by_kdoctor, read_module_tools
from kdoctor.knowledge.module_tools import (
    MARKER,
    ToolSetting,
    candidate_lines,
    commands_of,
    described,
    origins,
    passed_words,
)
from kdoctor.machine.runner import Runner
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import ByHand
from kdoctor.pipeline.build import build
from tests.conftest import make_context, run_check
from tests.fake_system import Answer, FakeSystem, Reply
from tests.test_kbuild_eval import real_kdir

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "modules"
MOD = "/src/mod"
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")

PASSES = "all:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR) RUSTC=rustc-1.62 BINDGEN=bindgen-0.56 modules\n"


# -- what make printed, read ------------------------------------------------------------------
def test_the_words_of_make_command_lines_are_read_as_the_shell_hands_them_on() -> None:
    line = "make -C '/k' M='/m' RUSTC='/usr/bin/rustc-1.62' BINDGEN=bindgen CC= modules"
    assert passed_words(line) == [
        ("RUSTC", "/usr/bin/rustc-1.62"),
        ("BINDGEN", "bindgen"),
        ("CC", ""),
    ]
    # a word before make, or after the command ends, is not make's
    assert passed_words("RUSTC=x cargo build; echo CC=y && make LD=ld.lld") == [("LD", "ld.lld")]
    assert passed_words("kbuild = make -C /k RUSTC='/kdoctor-passes/RUSTC'")[0][0] == "RUSTC"
    assert passed_words("make CC='unbalanced") == []


def test_only_lines_that_may_pass_a_tool_to_make_are_asked_about() -> None:
    text = (
        "RUSTC ?= rustc\nall:\n\t@$(MAKE) -C $(KDIR) \\\n\t  RUSTC=$(RUSTC) modules\n"
        "\tcargo build  # CC=gcc make\nclean:\n\tmake -C $(KDIR) clean\n"
    )
    assert candidate_lines(text) == [(3, "$(MAKE) -C $(KDIR) RUSTC=$(RUSTC) modules")]


@pytest.mark.parametrize(
    ("variable", "value", "commands"),
    [
        ("RUSTC", "rustc-1.62", ("rustc-1.62",)),
        ("RUSTC", "rustc +nightly", ("rustc",)),
        ("CC", "ccache gcc-12", ("ccache", "gcc-12")),
        ("LLVM", "1", ("clang",)),
        ("LLVM", "-14", ("clang-14",)),
        ("LLVM", "/usr/lib/llvm-14/bin/", ("/usr/lib/llvm-14/bin/clang",)),
        ("LLVM", "", ()),
    ],
)
def test_the_programs_a_setting_runs(variable: str, value: str, commands: tuple[str, ...]) -> None:
    assert commands_of(variable, value) == commands


def test_settings_are_described_by_place_and_named_by_program() -> None:
    passed = [
        ToolSetting("RUSTC", "rustc-1.62", "Makefile", 7, "passed to make"),
        ToolSetting("BINDGEN", "bindgen-0.56", "Makefile", 7, "passed to make"),
        ToolSetting("CC", "gcc-9", "Kbuild", 5, "assigned in Kbuild"),
    ]
    assert described(passed) == (
        "`RUSTC=rustc-1.62` `BINDGEN=bindgen-0.56` (Makefile:7, passed to make); "
        "`CC=gcc-9` (Kbuild:5, assigned in Kbuild)"
    )
    assert origins(passed)["gcc-9"] == "CC=gcc-9 (Kbuild:5, assigned in Kbuild)"


# -- the real make on the fixtures ------------------------------------------------------------
@needs_make
def test_real_make_reads_the_tools_a_makefile_passes_and_runs_nothing(tmp_path: Path) -> None:
    module = tmp_path / "mod"
    shutil.copytree(FIXTURES / "makefile-passes-tools", module)
    (module / "Makefile").write_text(
        (module / "Makefile").read_text() + f"\nX := $(shell touch {tmp_path}/ran)\n"
    )
    tools = read_module_tools(
        Runner(), str(module), kdir=real_kdir(), release=None, passed=["RUSTC"]
    )
    assert [(s.variable, s.value, s.location, s.how) for s in tools.settings] == [
        ("RUSTC", "rustc-1.62", "Makefile:7", "passed to make"),
        ("BINDGEN", "bindgen-0.56", "Makefile:7", "passed to make"),
    ]
    assert tools.problems == () and not tools.hostprogs
    assert not (tmp_path / "ran").exists()


@needs_make
def test_real_make_reads_a_compiler_the_kbuild_file_assigns() -> None:
    tools = read_module_tools(
        Runner(),
        str(FIXTURES / "kbuild-assigns-cc"),
        kdir=real_kdir(),
        release=None,
        passed=["RUSTC"],
    )
    assert [(s.text, s.location, s.how) for s in tools.settings] == [
        ("CC=gcc-9", "Kbuild:5", "assigned in Kbuild")
    ]


@needs_make
def test_real_make_the_bundled_makefile_forwards_what_kdoctor_passes() -> None:
    """hello-world hands kbuild RUSTC and (when set) CC and BINDGEN as kdoctor passed them;
    only its default BINDGEN=bindgen is its own."""
    hello = str(ROOT / "hello-world")
    tools = read_module_tools(
        Runner(),
        hello,
        kdir=real_kdir(),
        release=None,
        passed=passed_by_kdoctor({"CC": "gcc-12", "BINDGEN": "/opt/bindgen"}),
    )
    assert tools.settings == ()
    [own] = read_module_tools(
        Runner(), hello, kdir=real_kdir(), release=None, passed=["RUSTC"]
    ).settings
    assert (own.variable, own.value, own.file) == ("BINDGEN", "bindgen", "Makefile")


@needs_make
def test_a_kbuild_command_line_beats_an_assignment_in_the_kbuild_file(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("all:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR) LD=ld.bfd\n")
    (tmp_path / "Kbuild").write_text("obj-m := a.o\nLD := ld.lld\noverride HOSTCC := gcc-9\n")
    tools = read_module_tools(Runner(), str(tmp_path), kdir=None, release=None, passed=["RUSTC"])
    assert [(s.text, s.location) for s in tools.settings] == [
        ("LD=ld.bfd", "Makefile:2"),
        ("HOSTCC=gcc-9", "Kbuild:3"),
    ]


@needs_make
def test_a_value_built_on_the_tools_own_value_is_not_a_tool_of_the_modules(
    tmp_path: Path,
) -> None:
    """``LD := $(LD) -m elf_x86_64`` or ``CC="$(CC) -fno-pie"`` build on the kernel's (or make's)
    own value, which the evaluation holds as a marker: only a value of the module's own is its
    tool; ``BINDGEN ?= ...`` forwarded by a recipe is."""
    (tmp_path / "Makefile").write_text(
        'all:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR) CC="$(CC) -fno-pie" BINDGEN=$(BINDGEN)\n'
        "BINDGEN ?= bindgen-0.56\n"
    )
    (tmp_path / "Kbuild").write_text(
        "obj-m := a.o\nLD := $(LD) -m elf_x86_64\nCC += -DX\nHOSTCC := gcc-9\n"
    )
    tools = read_module_tools(Runner(), str(tmp_path), kdir=None, release=None, passed=["RUSTC"])
    assert [(s.text, s.location) for s in tools.settings] == [
        ("BINDGEN=bindgen-0.56", "Makefile:2"),
        ("HOSTCC=gcc-9", "Kbuild:4"),
    ]


# -- the check, on a strict fake machine ------------------------------------------------------
def machine(
    makefile: str,
    recipe_output: str,
    *,
    kbuild: Optional[str] = None,
    kbuild_output: str = "",
    programs: Optional[Mapping[str, str]] = None,
    commands: Optional[Mapping[str, Answer]] = None,
) -> FakeSystem:
    """A module whose make --eval readings answer ``recipe_output`` (the Makefile's recipes)
    and ``kbuild_output`` (the file kbuild reads)."""
    files = {f"{MOD}/Makefile": makefile}
    if kbuild is not None:
        files[f"{MOD}/Kbuild"] = kbuild

    def make(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Answer:
        assert "SHELL=/bin/false" in argv and "-f" in argv and env["MAKEFLAGS"] == ""
        assert f"RUSTC={MARKER}RUSTC" in argv
        if any(a.startswith("KERNELRELEASE=") for a in argv):
            return kbuild_output
        assert cwd == MOD
        return recipe_output

    return FakeSystem(
        programs={"make": "/usr/bin/make", **(programs or {})},
        files=files,
        handlers={"make": make},
        commands=commands,
    )


def check(system: FakeSystem, **ctx: object) -> Finding:
    return run_check(ModuleToolsCheck(), make_context(module_dir=MOD, kdir=None, **ctx), system)


def test_tools_the_makefile_passes_that_are_not_installed_fail_naming_them_and_the_place() -> None:
    expanded = "KDOCTOR-LINE 2 make -C /k M=/src/mod RUSTC=rustc-1.62 BINDGEN=bindgen-0.56 modules"
    finding = run_check(
        ModuleToolsCheck(),
        make_context(module_dir=MOD, kdir="/k"),
        machine(PASSES, expanded + "\n"),
    )
    assert finding.status is Status.FAIL and finding.required
    assert finding.summary == (
        "the module's build files hand kbuild tools it cannot use: rustc-1.62 is not installed "
        "(RUSTC=rustc-1.62, Makefile:2, passed to make); bindgen-0.56 is not installed "
        "(BINDGEN=bindgen-0.56, Makefile:2, passed to make)"
    )
    assert finding.remediation is not None
    assert finding.remediation.text == (
        "Install rustc-1.62 and bindgen-0.56, or correct or remove `RUSTC=rustc-1.62` "
        "`BINDGEN=bindgen-0.56` in Makefile:2 (kbuild then runs the tools kdoctor checks)."
    )
    [need] = finding.needs
    assert isinstance(need, ByHand) and need.remedy == finding.remediation.text
    assert f"{MOD}/Makefile" in need.why


def test_installed_tools_are_held_to_kdoctors_minimums() -> None:
    expanded = "KDOCTOR-LINE 2 make RUSTC=/opt/rustc BINDGEN=/opt/bindgen CC=clang-8\n"
    system = machine(
        "all:\n\tmake RUSTC=/opt/rustc BINDGEN=/opt/bindgen CC=clang-8\n",
        expanded,
        programs={"/opt/rustc": "/opt/rustc", "/opt/bindgen": "/opt/bindgen", "clang-8": "/c8"},
        commands={
            "/opt/rustc --version": "rustc 1.40.0 (73528e339 2019-12-16)\n",
            "/opt/bindgen --version": "bindgen 0.60.1\n",
            "/c8 --version": "clang version 8.0.1\n",
        },
    )
    finding = check(system)
    assert finding.status is Status.FAIL
    assert "/opt/rustc 1.40.0 is older than 1.48" in finding.summary
    assert "clang-8 8.0.1 is older than 9" in finding.summary
    assert "bindgen" not in finding.summary


def test_an_old_bindgen_only_warns_as_the_bindgen_check_does() -> None:
    system = machine(
        "all:\n\tmake BINDGEN=bindgen-0.50\n",
        "KDOCTOR-LINE 2 make BINDGEN=bindgen-0.50\n",
        programs={"bindgen-0.50": "/usr/bin/bindgen-0.50"},
        commands={"/usr/bin/bindgen-0.50 --version": "bindgen 0.50.0\n"},
    )
    finding = check(system)
    assert (finding.status, finding.required) == (Status.WARN, False)
    assert "bindgen-0.50 0.50.0 is older than 0.55" in finding.summary


def test_a_missing_hostcc_fails_only_when_the_module_builds_host_programs() -> None:
    kbuild = "obj-m := a.o\nHOSTCC := gcc-9\n"
    assigned = "KDOCTOR-VAR HOSTCC file gcc-9\nKDOCTOR-VAR CC undefined \n"
    without = check(
        machine("all:\n", "", kbuild=kbuild, kbuild_output=assigned + "KDOCTOR-HOSTPROGS \n")
    )
    assert (without.status, without.required) == (Status.WARN, False)
    assert "only for host programs" in without.summary
    with_programs = check(
        machine(
            "all:\n",
            "",
            kbuild=kbuild + "hostprogs := gen\n",
            kbuild_output=assigned + "KDOCTOR-HOSTPROGS gen\n",
        )
    )
    assert with_programs.status is Status.FAIL
    assert "gcc-9 is not installed (HOSTCC=gcc-9, Kbuild:2, assigned in Kbuild)" in (
        with_programs.summary
    )


def test_installed_tools_pass_naming_what_kbuild_runs() -> None:
    system = machine(
        "obj-m := a.o\n",
        "",
        kbuild="obj-m := a.o\nCC := gcc-12\n",
        kbuild_output="KDOCTOR-VAR CC file gcc-12\nKDOCTOR-HOSTPROGS \n",
        programs={"gcc-12": "/usr/bin/gcc-12"},
        commands={"/usr/bin/gcc-12 --version": "gcc-12 (Debian 12.2.0-14) 12.2.0\n"},
    )
    finding = check(system)
    assert finding.status is Status.OK
    assert finding.summary == "kbuild runs the module's own `CC=gcc-12` (Kbuild:2: gcc-12 12.2.0)"


def test_forwarded_values_and_files_without_tools_ask_nothing() -> None:
    # no line that may pass a tool, no tool assignment: make is not asked at all
    system = FakeSystem(
        programs={"make": "/usr/bin/make"},
        files={
            f"{MOD}/Makefile": "all:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR)\n",
            f"{MOD}/Kbuild": "obj-m := a.o\n",
        },
    )
    finding = check(system)
    assert finding.status is Status.OK
    assert finding.summary.startswith("the module's build files set no tool")
    forwarded = f"KDOCTOR-LINE 2 make RUSTC={MARKER}RUSTC\n"
    assert check(machine("all:\n\tmake RUSTC=$(RUSTC)\n", forwarded)).status is Status.OK


def test_a_makefile_make_cannot_read_warns_and_says_why() -> None:
    system = machine(PASSES, "")
    system.handlers["make"] = lambda argv, cwd, env: Reply(
        stderr="*** missing separator", exit_code=2
    )
    finding = check(system)
    assert (finding.status, finding.required) == (Status.WARN, False)
    assert "make could not evaluate Makefile" in finding.summary


# -- the build names where the missing program was set ----------------------------------------
def test_a_build_that_cannot_find_a_tool_names_the_setting() -> None:
    log = "  BINDGEN /src/mod/answer_bindings.rs\n/bin/sh: 1: bindgen-0.56: not found\n"
    expanded = "KDOCTOR-LINE 2 make RUSTC=rustc-1.62 BINDGEN=bindgen-0.56 modules\n"
    system = machine(PASSES, expanded)
    evaluate = system.handlers["make"]

    def make(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Answer:
        if any(a.startswith("--eval=") for a in argv):
            return evaluate(argv, cwd, env) or ""
        return Reply(stdout=log, exit_code=2)

    system.handlers["make"] = make
    ctx = make_context(module_dir=MOD, kdir="/k", cache_dir="/c")
    result = build(ctx, system, rustc="/usr/bin/rustc", toolchain_env={}, log_dir="/c/logs")
    assert not result.ok and result.cause == "/bin/sh: 1: bindgen-0.56: not found"
    [main] = result.explanations
    assert main.id == "command-not-found"
    assert "BINDGEN=bindgen-0.56 (Makefile:2, passed to make)" in main.cause
