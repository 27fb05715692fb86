"""Values handed to make: plain paths and words pass, anything make or a shell reads as syntax
is refused (by the owning check and by build, before make runs)."""

from __future__ import annotations

import pytest

from kdoctor.checks.base import select
from kdoctor.facts import Facts
from kdoctor.knowledge.safe_values import OWNER, unsafe_items, unsafe_reason
from kdoctor.model.finding import Status
from kdoctor.pipeline.build import build, copy_target, refused_values
from tests.conftest import make_context
from tests.fake_system import FakeSystem

CACHE = "/home/me/.cache/kdoctor"


@pytest.mark.parametrize(
    "value",
    [
        "/usr/bin/clang-14",
        "clang",
        "-15",
        "/lib/modules/6.1.0-56-amd64/build",
        "/home/zoë/модуль/hello",
        "x86_64-linux-gnu-gcc-12",
        "/opt/llvm@15/bin/",
        "~/tools/ld.lld",
    ],
)
def test_plain_paths_and_words_pass(value: str) -> None:
    assert unsafe_reason(value) is None


@pytest.mark.parametrize("char", [*"$`;|&<>(){}'\"\\#*?[]!", "\n", "\t", "\x00", "\x7f"])
def test_every_syntax_character_is_refused_with_a_reason(char: str) -> None:
    reason = unsafe_reason(f"clang{char}x")
    assert reason is not None and reason.startswith("it contains")


def test_spaces_pass_only_between_the_words_of_a_word_list() -> None:
    assert unsafe_reason("ccache gcc", words=True) is None
    assert "space" in (unsafe_reason("/opt/my tools/clang") or "")
    assert unsafe_items({"CC": "ccache gcc", "KDIR": "/a b"}) == [
        ("KDIR", "/a b", "it contains a space, and kbuild cannot build with a path that has one")
    ]


def test_every_variable_has_an_owning_check_that_declares_it() -> None:
    declared = {v: c.id for c in select([]) for v in c.variables}
    assert declared == OWNER


@pytest.mark.parametrize(("variable", "check"), sorted(OWNER.items()))
def test_the_owning_check_fails_before_it_probes_anything(variable: str, check: str) -> None:
    env = {} if variable in ("KDIR", "module directory") else {variable: "x;reboot"}
    overrides: dict[str, object] = {"env": env}
    if variable == "KDIR":
        overrides["kdir"] = "/lib/modules/$(shell reboot)/build"
    if variable == "module directory":
        overrides["module_dir"] = "/src/`reboot`"
    system = FakeSystem(env=env)
    [owner] = select([check])
    finding = owner.refused(Facts(make_context(**overrides), system))
    assert finding is not None and finding.status is Status.FAIL
    assert f"{variable}=" in finding.summary and system.calls == []


def test_build_refuses_before_make_runs_and_names_every_bad_value() -> None:
    ctx = make_context(cache_dir=CACHE, env={"CC": "gcc;id", "LLVM": "$(shell id)"})
    system = FakeSystem(files={"/src/hello-world/Makefile": "all:\n"})
    result = build(ctx, system, rustc="/usr/bin/rustc", toolchain_env={}, log_dir=f"{CACHE}/l")
    assert not result.ok and result.refused and result.exit_code is None
    assert system.runs == [] and system.writes == []
    assert [e.evidence for e in result.explanations] == ["CC=gcc;id", "LLVM=$(shell id)"]


def test_refused_values_reads_the_directory_and_every_assignment() -> None:
    argv = ["make", "-C", "/a b/m", "KDIR=/k", "RUSTC=/r`x`", "modules"]
    names = [e.evidence.split("=")[0] for e in refused_values(argv, {"KDOCTOR_CACHE": "/c$"})]
    assert names == ["module directory", "RUSTC", "KDOCTOR_CACHE"]


def test_a_module_path_with_a_space_is_built_from_a_copy_without_one() -> None:
    ctx = make_context(cache_dir=CACHE, module_dir="/home/me/my module")
    target = copy_target(ctx, FakeSystem())
    assert target is not None and target.startswith(f"{CACHE}/modules/my_module-")
    assert " " not in target
    # kbuild builds a non-ASCII path in place
    assert (
        copy_target(make_context(cache_dir=CACHE, module_dir="/home/me/modül"), FakeSystem())
        is None
    )
    assert copy_target(make_context(module_dir="/src/hello-world"), FakeSystem()) is None
