"""The module-dir check and what it reads (kdoctor/knowledge/kbuild_call.py,
kdoctor/facts/module_makefile.py) on strict fake machines: no module, no Makefile, no rule,
the kernel tree through a variable kdoctor hands over (make is not asked), and a tree the
text cannot tell, which make evaluates (scripted here; the real make is in
tests/test_module_dir_fixtures.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

import pytest

from kdoctor.checks.module_dir import ModuleDirCheck
from kdoctor.facts import Facts
from kdoctor.facts.module_makefile import MARKER, module_makefile, tree_variables
from kdoctor.knowledge.build_errors import explain
from kdoctor.knowledge.kbuild_call import (
    has_rules,
    holds_module,
    kbuild_calls,
    make_word,
    tree_names,
    with_release,
)
from kdoctor.model.context import bundled_module_dir
from kdoctor.model.finding import Finding, Status
from tests.conftest import KDIR, make_context
from tests.fake_system import FakeSystem, Reply

M = "/home/me/mod"
RUNNING = "6.18.44-fc"


def machine(files: Mapping[str, str]) -> FakeSystem:
    return FakeSystem(files={f"{M}/{n}": t for n, t in files.items()})


def check(system: FakeSystem, **overrides: object) -> tuple[Facts, Finding]:
    ctx = make_context(module_dir=M, running_kernel=RUNNING, **overrides)
    facts = Facts(ctx, system)
    return facts, ModuleDirCheck().run(facts)


# -- reading the text ------------------------------------------------------------------------
def test_the_bundled_makefile_s_kbuild_call_in_a_variable_is_found() -> None:
    with open(f"{bundled_module_dir()}/Makefile", encoding="utf-8") as handle:
        text = handle.read()
    [call] = kbuild_calls("Makefile", text)
    assert call.tree == "$(KDIR)" and call.variable == "KDIR"
    assert call.text.startswith("kbuild = $(MAKE) -C '$(KDIR)'")
    assert has_rules(text)


@pytest.mark.parametrize(
    ("line", "tree"),
    [
        ("\t$(MAKE) -C $(KDIR) M=$(PWD) modules", "$(KDIR)"),
        (
            "\tmake -C /lib/modules/$(shell uname -r)/build M=$(CURDIR)",
            "/lib/modules/$(shell uname -r)/build",
        ),
        ('\t$(MAKE) -C "$(KERNEL_SRC)" M="$(CURDIR)" modules', "$(KERNEL_SRC)"),
        ("\t${MAKE} --directory=$(KSRC) SUBDIRS=$(PWD) modules", "$(KSRC)"),
        ("\t@$(MAKE) -C$(KERNELDIR) M=$$PWD", "$(KERNELDIR)"),
        (
            "\tmake -C /lib/modules/`uname -r`/build M=`pwd` modules",
            "/lib/modules/`uname -r`/build",
        ),
    ],
)
def test_a_kbuild_call_s_tree_is_one_make_word(line: str, tree: str) -> None:
    [call] = kbuild_calls("Makefile", f"all:\n{line}\n")
    assert call.tree == tree and call.line == 2


def test_a_make_call_without_an_external_module_is_not_kbuild_s() -> None:
    assert kbuild_calls("Makefile", "all:\n\t$(MAKE) -C docs html\n") == []
    assert not holds_module({"Makefile": "all:\n\t$(MAKE) -C docs html\n"})
    assert holds_module({"Makefile": "obj-m := x.o\n"})
    assert holds_module({"Kbuild": ""}) and holds_module({"Cargo.toml": ""})


def test_a_word_keeps_a_reference_with_spaces_whole() -> None:
    assert make_word("-C $(shell uname -r)/x M=y", 3) == "$(shell uname -r)/x"
    assert make_word("-C '/a b/c' M=y", 3) == "'/a b/c'"


def test_the_tree_is_handed_over_under_each_name_of_the_chain_and_each_known_name_read() -> None:
    makefile = (
        "KSRC ?= /lib/modules/$(shell uname -r)/build\nKERNELDIR ?= $(KSRC)\n"
        "all:\n\t$(MAKE) -C $(KERNELDIR) M=$(CURDIR) modules\n"
    )
    kbuild = "obj-m := x.o\nccflags-y := -I$(KERNEL_SRC)/include -I$(OTHER)\n"
    calls = kbuild_calls("Makefile", makefile)
    names = tree_names({"Makefile": makefile, "Kbuild": kbuild}, calls)
    assert names == ["KDIR", "KERNELDIR", "KSRC", "KERNEL_SRC"]


def test_uname_is_answered_with_the_running_release() -> None:
    text = "A := $(shell uname -r)\nB = /x/`uname -r`/y $$(uname -r)"
    assert with_release(text, "6.1") == "A := 6.1\nB = /x/6.1/y 6.1"


def test_rules_are_told_from_assignments_and_special_targets() -> None:
    assert not has_rules("obj-m := x.o\nKDIR := /k\n.PHONY: all\n")
    assert has_rules("obj-m := x.o\nall: x\n")
    assert has_rules("modules::\n\techo\n")


# -- the check -------------------------------------------------------------------------------
def test_an_empty_directory_holds_no_module() -> None:
    system = FakeSystem(dirs={M: []})
    _facts, finding = check(system)
    assert finding.status is Status.FAIL and finding.required
    assert finding.summary == (
        f"{M} holds no kernel module: no Kbuild, no Makefile calling kbuild, no Cargo.toml"
    )
    assert finding.needs[0].kind == "by-hand"
    assert system.calls == []


def test_a_repository_root_with_a_docs_makefile_holds_no_module() -> None:
    system = machine({"Makefile": "html:\n\tsphinx-build docs out\n", "README.md": "hi\n"})
    _facts, finding = check(system)
    assert "holds no kernel module" in finding.summary


def test_a_kbuild_without_a_makefile_is_named() -> None:
    _facts, finding = check(machine({"Kbuild": "obj-m := x.o\n", "Cargo.toml": ""}))
    assert finding.status is Status.FAIL
    assert finding.summary.startswith(f"{M} has Kbuild and Cargo.toml but no Makefile")
    assert "No targets specified and no makefile found" in finding.summary


def test_a_makefile_without_a_rule_is_named() -> None:
    _facts, finding = check(machine({"Makefile": "obj-m := x.o\n"}))
    assert finding.status is Status.FAIL
    assert finding.found == f"{M}/Makefile"
    assert '"No targets"' in finding.summary


def test_a_variable_tree_takes_kdoctor_s_and_make_is_not_asked() -> None:
    makefile = (
        "obj-m := x.o\nKERNEL_SRC ?= /lib/modules/$(shell uname -r)/build\n"
        "all:\n\t$(MAKE) -C $(KERNEL_SRC) M=$(CURDIR) modules\n"
    )
    system = machine({"Makefile": makefile})
    facts, finding = check(system)
    assert finding.status is Status.OK
    assert "kdoctor hands it the target's tree as KDIR, KERNEL_SRC" in finding.summary
    assert facts.of(tree_variables) == [f"KERNEL_SRC={KDIR}"]
    assert system.calls == []  # the text told: no make


def evaluating(system: FakeSystem, answer: str, seen: list[tuple[str, ...]]) -> None:
    """make, asked to expand the kbuild calls' trees, answers ``answer`` for call 0."""

    def make(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        seen.append(argv)
        assert cwd == M and env["MAKEFLAGS"] == ""
        return Reply(stdout=f"{MARKER} 0 {answer}\n")

    system.programs["make"] = "/usr/bin/make"
    system.handlers["make"] = make


def test_a_hard_coded_tree_of_the_running_kernel_fails_with_the_line_to_change() -> None:
    makefile = "obj-m := x.o\nall:\n\t$(MAKE) -C /lib/modules/$(shell uname -r)/build M=$(PWD)\n"
    system = machine({"Makefile": makefile})
    seen: list[tuple[str, ...]] = []
    evaluating(system, f"/lib/modules/{RUNNING}/build", seen)
    _facts, finding = check(system)
    assert finding.status is Status.FAIL and finding.required
    assert finding.found == "Makefile:3"
    assert finding.summary == (
        f"Makefile:3 builds against /lib/modules/{RUNNING}/build, not {KDIR}, the tree of the "
        "target 6.1.0-56-amd64: no variable kdoctor passes to make changes "
        "`-C /lib/modules/$(shell uname -r)/build`"
    )
    assert "Change Makefile:3 to `$(MAKE) -C $(KDIR)" in finding.remediation.text
    [argv] = seen
    assert f"KDIR={KDIR}" in argv and f"PWD={M}" in argv and "SHELL=/bin/false" in argv
    evals = [a for a in argv if a.startswith("--eval=")]
    assert f"$(info {MARKER} 0 /lib/modules/{RUNNING}/build)" in evals[1]  # uname answered
    assert "$(shell" not in "".join(evals)


def test_a_literal_tree_fails_and_a_relative_one_is_the_module_s() -> None:
    system = machine({"Makefile": "all:\n\tmake -C /usr/src/linux M=$(CURDIR) modules\n"})
    evaluating(system, "/usr/src/linux", [])
    _facts, finding = check(system)
    assert finding.status is Status.FAIL and finding.found == "Makefile:2"
    assert finding.summary.startswith("Makefile:2 builds against /usr/src/linux, not ")
    relative = machine({"Makefile": "all:\n\tmake -C ../linux M=$(CURDIR) modules\n"})
    evaluating(relative, "../linux", [])
    facts, _finding = check(relative)
    assert [u.tree for u in facts.of(module_makefile).calls] == ["/home/me/linux"]


def test_a_hard_coded_tree_that_is_the_target_s_passes() -> None:
    makefile = "obj-m := x.o\nall:\n\t$(MAKE) -C /lib/modules/$(shell uname -r)/build M=$(PWD)\n"
    system = machine({"Makefile": makefile})
    evaluating(system, KDIR, [])
    _facts, finding = check(system)
    assert finding.status is Status.OK
    assert finding.summary.startswith(f"Makefile:3 builds against {KDIR}, the tree of")


def test_an_override_beats_the_command_line_and_is_named() -> None:
    makefile = "override KDIR := /usr/src/linux\nall:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR)\n"
    system = machine({"Makefile": makefile})
    evaluating(system, "/usr/src/linux", [])
    _facts, finding = check(system)
    assert finding.status is Status.FAIL
    assert "`override KDIR` at Makefile:1 beats the KDIR=" in finding.summary
    assert "Drop `override` from Makefile:1" in finding.remediation.text


def test_a_tree_make_cannot_tell_warns_without_blocking() -> None:
    makefile = "all:\n\t$(MAKE) -C $(shell ./find-kernel) M=$(CURDIR)\n"
    system = machine({"Makefile": makefile})
    evaluating(system, "", [])
    facts, finding = check(system)
    assert finding.status is Status.WARN and not finding.required
    [use] = facts.of(module_makefile).calls
    assert use.reaches is None and use.evaluated


def test_the_bundled_module_is_kdoctor_s_own() -> None:
    system = FakeSystem()
    ctx = make_context(module_dir=bundled_module_dir())
    finding = ModuleDirCheck().run(Facts(ctx, system))
    assert finding.status is Status.OK


# -- what a build then says ------------------------------------------------------------------
def test_make_s_own_failures_are_explained_and_point_at_the_check() -> None:
    log = (
        "make: Entering directory '/src/repo'\n"
        "make: *** No targets specified and no makefile found.  Stop.\n"
    )
    [first, *_rest] = explain(log)
    assert first.id == "no-makefile" and "/src/repo" in first.cause
    assert "kdoctor check module-dir" in first.remedy
    [tree, *_more] = explain(
        "make[1]: *** /lib/modules/6.18/build: No such file or directory.  Stop."
    )
    assert tree.id == "no-kernel-tree" and "/lib/modules/6.18/build" in tree.cause
    [rule, *_others] = explain("make: *** No targets.  Stop.")
    assert rule.id == "no-rule"
    assert all(
        e.id != "no-kernel-tree"
        for e in explain("make[2]: *** /m/.x.o.cmd: No such file or directory.  Stop.")
    )
