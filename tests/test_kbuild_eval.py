"""The module's Kbuild evaluated by make: conditionals, ``.a`` members, Makefile-only modules,
never running the module's commands, and the fall back to the text reader."""

from __future__ import annotations

import glob
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Optional

import pytest

from kdoctor.checks.kbuild_cmd import KbuildCmdCheck
from kdoctor.facts import Facts
from kdoctor.facts.kbuild import Kbuild, TooComplex, parse_kbuild, read_kbuild
from kdoctor.facts.kbuild_eval import (
    cargo_lines,
    evaluate,
    exported_names,
    needs_outer,
    parse_output,
    prelude,
    sanitise,
)
from kdoctor.fixes.base import Ask
from kdoctor.fixes.kbuild_cmd import KbuildCmdFix
from kdoctor.knowledge.build_errors import explain
from kdoctor.machine.runner import Runner
from kdoctor.model.finding import Status
from kdoctor.model.plan import PlanOptions
from tests.conftest import KDIR, make_context, run_check
from tests.fake_system import Answer, FakeSystem, Reply
from tests.test_kbuild_cmd_check import kernel

DATA = Path(__file__).parent / "data"
MOD = "/src/fish"
ARCHIVE = "target/x86_64-linux-kernel/debug/libhello_world.a"

# fishinabarrel's Makefile-only layout: the module's part only when kbuild reads the file
MAKEFILE_ONLY = f"""\
ifneq ($(KERNELRELEASE),)
obj-m += helloworld.o
helloworld-objs := {ARCHIVE}
EXTRA_LDFLAGS += --entry=init_module

$(src)/{ARCHIVE}: cargo_will_determine_dependencies
\tcd $(src); env -u MAKE -u MAKEFLAGS cargo build -Z build-std=core,alloc \\
\t\t--target=x86_64-linux-kernel

.PHONY: cargo_will_determine_dependencies
cargo_will_determine_dependencies:
else
KDIR ?= /lib/modules/$(shell uname -r)/build
all:
\t$(MAKE) -C $(KDIR) M=$(CURDIR)
endif
"""

#: what make answered on this machine for MAKEFILE_ONLY (captured with the real probe)
CAPTURED = (DATA / "kbuild" / "make-eval-fishinabarrel-makefile.txt").read_text()

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def real_kdir() -> Optional[str]:
    found = sorted(glob.glob("/lib/modules/*/build/include/config/auto.conf"))
    return found[0][: -len("/include/config/auto.conf")] if found else None


def fake(answer: Optional[Answer] = None, text: str = MAKEFILE_ONLY) -> FakeSystem:
    files = dict(kernel())
    files[f"{MOD}/Makefile"] = text

    def make(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Answer:
        assert "SHELL=/bin/false" in argv and env["MAKEFILES"] == ""
        return answer if answer is not None else Reply(stdout=CAPTURED)

    return FakeSystem(
        programs={"make": "/usr/bin/make", "modpost": f"{KDIR}/scripts/mod/modpost"},
        files=files,
        handlers={"make": make},
    )


# -- sanitising -------------------------------------------------------------------------------
def test_sanitise_neutralises_every_command_running_construct() -> None:
    text = (
        "A := $(shell rm -rf /)\nB != id\n$(file >/etc/x,y)\nC = ${shell id}\n"
        "include /etc/evil.mk\n-include $(src)/x.mk\noverride SHELL := /bin/sh\n"
        "D := $(guile (system))\nobj-m := a.o\n"
    )
    clean, dropped, refused = sanitise(text)
    assert refused is None and clean is not None
    for danger in ("$(shell", "${shell", "$(file", "$(guile", "!=", "evil.mk", "x.mk", "/bin/sh"):
        assert danger not in clean
    assert "obj-m := a.o" in clean and "B :=" in clean
    assert len(dropped) == 8


@pytest.mark.parametrize(
    "text",
    ["$(eval X := 1)\n", "X := $(call $(f),rm -rf /)\n", "X := $(call shell,id)\n"],
)
def test_text_that_could_build_a_command_is_not_evaluated(text: str) -> None:
    clean, _, refused = sanitise(text)
    assert clean is None and refused


# -- make's answer (a FakeSystem replying with the captured output) ---------------------------
def test_captured_output_names_the_archive_member_inside_the_conditional() -> None:
    kbuild = read_kbuild(fake(), MOD, kdir=KDIR, release="6.1.0-56-amd64")
    assert kbuild is not None and kbuild.evaluated_by_make
    assert kbuild.modules() == {"helloworld": [ARCHIVE]}
    assert "KDOCTOR-MODULE helloworld.o" in CAPTURED


def test_check_fails_on_the_archive_member_and_fix_plans_the_rewrite_the_explainer_promises() -> (
    None
):
    system = fake()
    ctx = make_context(module_dir=MOD)
    finding = run_check(KbuildCmdCheck(), ctx, system)
    assert finding.status is Status.FAIL
    assert finding.facts["object"] == ARCHIVE
    assert finding.facts["evaluated_by"] == "make"
    log = (DATA / "build_logs" / "modpost-missing-archive-cmd.log").read_text()
    [claim] = [e for e in explain(log) if e.id == "kbuild-cmd"]
    assert "kdoctor fix --module-dir" in claim.remedy
    decision = KbuildCmdFix().plan(
        Facts(ctx, system), [Ask(finding, need) for need in finding.needs], PlanOptions()
    )
    [step] = decision.steps
    assert step.edit is not None and step.edit.path == f"{MOD}/Makefile"
    assert "$(call if_changed,link_libhello_world_a)" in step.edit.text
    assert f"targets += {ARCHIVE}" in step.edit.text


def test_make_failure_falls_back_to_the_text_with_a_note() -> None:
    system = fake(Reply(stderr="Makefile:3: *** missing separator.  Stop.", exit_code=2))
    kbuild = read_kbuild(system, MOD, kdir=KDIR, release="6.1.0-56-amd64")
    assert kbuild is not None and not kbuild.evaluated_by_make
    assert kbuild.note and "missing separator" in kbuild.note and "read without make" in kbuild.note
    # the text reader counts every branch, .a members included
    assert kbuild.modules() == {"helloworld": [ARCHIVE]}


def test_make_timing_out_is_too_complex_and_falls_back() -> None:
    kbuild = read_kbuild(fake(Reply(timed_out=True, exit_code=-9)), MOD, kdir=KDIR)
    assert kbuild is not None and kbuild.note and kbuild.note.startswith("too complex")


def test_without_make_the_text_is_read() -> None:
    system = FakeSystem(files={f"{MOD}/Kbuild": "obj-m := a.o\n"})
    kbuild = read_kbuild(system, MOD)
    assert kbuild is not None and kbuild.modules() == {"a": ["a.o"]}
    assert kbuild.note and "make is not installed" in kbuild.note


def test_parse_output_keeps_order_and_ignores_the_modules_own_messages() -> None:
    out = "hello from $(info)\nKDOCTOR-MODULE b.o : \nKDOCTOR-MODULE a.o : x.o y.a x.o z.c\n"
    assert parse_output(out) == {"b": ["b.o"], "a": ["x.o", "y.a"]}


# -- the text reader's limits -----------------------------------------------------------------
def exploding(levels: int = 9, fan_out: int = 12) -> str:
    """Each level names the one below ``fan_out`` times: 12**8 words when fully expanded."""
    lines = ["V0 := x"] + [f"V{i} = " + f"$(V{i - 1}) " * fan_out for i in range(1, levels)]
    return "\n".join(lines) + f"\nobj-m := $(V{levels - 1})\n"


def test_nested_expansion_stops_at_the_limits_instead_of_growing_without_bound() -> None:
    kbuild = parse_kbuild(exploding(), f"{MOD}/Kbuild")
    started = time.monotonic()
    with pytest.raises(TooComplex):
        kbuild.static_modules()
    assert kbuild.modules() == {}
    assert time.monotonic() - started < 60  # bounded: 12**9 expansions would take hours


def test_too_complex_kbuild_is_a_warning_naming_it() -> None:
    system = FakeSystem(
        programs={"modpost": f"{KDIR}/scripts/mod/modpost"},
        files={**kernel(), f"{MOD}/Kbuild": exploding()},
    )
    finding = run_check(KbuildCmdCheck(), make_context(module_dir=MOD), system)
    assert finding.status is Status.WARN
    assert "too complex to evaluate" in finding.summary


# -- the real make ----------------------------------------------------------------------------
@needs_make
def test_real_make_reads_conditionals_and_runs_no_command(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    module = tmp_path / "mod"
    module.mkdir()
    hostile = (
        f"X != touch {marker}-bang\nY := $(shell touch {marker}-shell)\n"
        f"$(file >{marker}-file,x)\n"
        f"{marker}-recipe:\n\ttouch $@\n"
        f"%:: ; touch {marker}-anything\n"
    )
    (module / "Makefile").write_text(MAKEFILE_ONLY.replace("endif\n", "endif\n" + hostile))
    kbuild = read_kbuild(Runner(), str(module), kdir=real_kdir(), release="6.1.0-50-amd64")
    assert isinstance(kbuild, Kbuild) and kbuild.evaluated_by_make, kbuild
    assert kbuild.modules() == {"helloworld": [ARCHIVE]}
    assert not list(tmp_path.glob("ran*"))
    assert sorted(os.listdir(module)) == ["Makefile"]


@needs_make
def test_real_make_sees_kernel_config_and_else_branches(tmp_path: Path) -> None:
    (tmp_path / "Kbuild").write_text(
        "obj-m := a.o\nifdef CONFIG_MODULES\nobj-m += b.o\nb-y := b1.o b2.o\nelse\n"
        "obj-m += never.o\nendif\nifeq ($(KERNELRELEASE),)\nobj-m += outside.o\nendif\n"
    )
    kdir = real_kdir()
    result = evaluate(Runner(), (tmp_path / "Kbuild").read_text(), str(tmp_path), kdir=kdir)
    assert result.modules is not None
    expected = {"a": ["a.o"], "b": ["b1.o", "b2.o"]} if kdir else {"a": ["a.o"]}
    assert result.modules == expected


# -- what the Makefile exports, and the cargo commands, as make expands them -------------------
def test_exported_names_and_the_text_that_defines_them_before_the_kbuild() -> None:
    text = (
        "export A := 1\nexport B C\noverride export D = x\nE := 2\n"
        "\texport NOT_A_RECIPE_EXPORT := 3\n# export F := comment\n"
    )
    assert exported_names(text) == ["A", "B", "C", "D"]
    assert exported_names("export\n") is None
    assert exported_names(".EXPORT_ALL_VARIABLES:\nA := 1\n") is None
    assert prelude({"T": "a$b #c", "MAKEFLAGS": "-j9", "bad name": "x", "PWD": "/x"}) == (
        "T := a$$b \\#c\n"
    )


def test_cargo_lines_are_recipe_lines_that_run_cargo_joined_and_without_prefixes() -> None:
    text = (
        "CARGO ?= cargo\nx:\n\t@cd $(src); $(CARGO) build \\\n\t\t--target=$(T)\n"
        "\t$(Q)echo cargo\n\t-cargo xbuild --release\n"
    )
    assert cargo_lines(text) == [  # a line that only names cargo is expanded too: harmless
        "cd $(src); $(CARGO) build --target=$(T)",
        "echo cargo",
        "cargo xbuild --release",
    ]
    assert needs_outer("all:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR)\n") is False
    assert needs_outer("export T := x\nall:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR)\n") is True


@needs_make
def test_real_make_lets_the_kbuild_s_own_assignment_win_over_an_export(tmp_path: Path) -> None:
    module = tmp_path / "mod"
    module.mkdir()
    (module / "Makefile").write_text(
        "export NAME := from_makefile\nexport KEEP := kept\nexport T := x86_64-unknown-none\n"
        "all:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR)\n"
    )
    (module / "Kbuild").write_text(
        "NAME := own\nKEEP ?= lost\nobj-m := $(NAME).o $(KEEP).o\n"
        "x:\n\tcd $(src) && cargo build --target=$(T) --features '$(NAME)'\n"
    )
    kbuild = read_kbuild(Runner(), str(module), kdir=real_kdir())
    assert kbuild is not None and kbuild.evaluated_by_make, kbuild.note
    assert kbuild.modules() == {"own": ["own.o"], "kept": ["kept.o"]}
    assert kbuild.exported == {"NAME": "from_makefile", "KEEP": "kept", "T": "x86_64-unknown-none"}
    assert kbuild.commands == (
        f"cd {module} && cargo build --target=x86_64-unknown-none --features 'own'",
    )
