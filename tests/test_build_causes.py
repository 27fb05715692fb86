"""Every build-failure explainer on output captured from the real tools on this machine
(tests/data/build_logs/: rustup's proxy, rustc stable/nightly/rustc-web, cargo, make against
the 6.1 headers with small throwaway modules), and the build result's first cause line."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Optional

import pytest
from rich.console import Console

from kdoctor.knowledge.build_causes import first_cause, without_backtrace
from kdoctor.knowledge.build_errors import explain
from kdoctor.pipeline.build import build
from kdoctor.render.text import print_build
from tests.conftest import make_context
from tests.fake_system import FakeSystem, Reply

LOGS = Path(__file__).parent / "data" / "build_logs"


def log(name: str) -> str:
    return (LOGS / f"{name}.log").read_text()


#: captured log -> (main explanation's id, text its evidence quotes, words its cause names)
CASES = {
    "rustc-error-code": ("rustc-E0308", "error[E0308]: mismatched types", "bad.rs:1:21"),
    "rustup-no-toolchain": (
        "rustup-no-toolchain",
        "rustup could not choose a version of cargo to run",
        "proxy",
    ),
    "cargo-unknown-target": (
        "rust-target-unknown",
        'could not find specification for target "x86_64-linux-kernel"',
        "x86_64-linux-kernel",
    ),
    "cargo-no-xbuild": ("cargo-subcommand", "error: no such command: `xbuild`", "cargo-xbuild"),
    "cargo-failed-to-get-dependency": (
        "cargo",
        "error: failed to get `foo` as a dependency",
        "No such file or directory (os error 2)",
    ),
    "rustc-custom-target-unstable": (
        "rust-target-json-unstable",
        "custom targets are unstable and require `-Zunstable-options`",
        "JSON",
    ),
    "rustc-target-unknown-field": (
        "rust-target-json-field",
        "unknown field `eliminate-frame-pointer`",
        "eliminate-frame-pointer",
    ),
    "make-no-rule": (
        "make-no-rule",
        "No rule to make target '/tmp/kbt/gen/norule/missing_helper.o'",
        "norule.o",
    ),
    "clang-unknown-argument": (
        "compiler-family",
        "unknown argument: '-mfunction-return=thunk-extern'",
        "built with gcc",
    ),
    "modpost-missing-archive-cmd": (
        "kbuild-cmd",
        "/tmp/kbt/arch/target/debug/.libhello_world.a.cmd: No such file or directory",
        "libhello_world.a",
    ),
    "kbuild-tool-not-found": (
        "command-not-found",
        "/bin/sh: 1: bindgen-0.56: not found",
        "bindgen-0.56",
    ),
    "make-exec-not-found": (
        "command-not-found",
        "make: rustc-1.62: No such file or directory",
        "rustc-1.62",
    ),
    "bash-command-not-found": (
        "command-not-found",
        "bash: line 1: bindgen-0.56: command not found",
        "bindgen-0.56",
    ),
    "rust-for-linux-no-target-json": (
        "rust-for-linux",
        'target file "./rust/target.json" does not exist',
        "CONFIG_RUST",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_real_output_is_explained_by_its_cause(name: str) -> None:
    expected_id, evidence, named = CASES[name]
    explanations = explain(log(name))
    assert explanations, f"{name} is not recognised"
    main = explanations[0]
    assert main.id == expected_id
    assert evidence in main.evidence
    assert named in main.cause or named in main.remedy


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_cause_line_is_never_a_backtrace_frame(name: str) -> None:
    cause = first_cause(log(name))
    assert cause is not None
    assert not cause[:1].isdigit() and "backtrace" not in cause.lower()
    assert cause in log(name)


def test_first_cause_of_each_log() -> None:
    assert first_cause(log("rustc-error-code")) == "error[E0308]: mismatched types"
    assert first_cause(log("make-no-rule")).startswith(  # type: ignore[union-attr]
        "make[1]: *** No rule to make target"
    )
    assert first_cause(log("clang-unknown-argument")) == (
        "clang: error: unknown argument: '-mfunction-return=thunk-extern'"
    )
    assert first_cause("make: *** [Makefile:12: all] Error 2\n") is None
    assert first_cause(log("kbuild-tool-not-found")) == "/bin/sh: 1: bindgen-0.56: not found"
    assert first_cause(log("make-exec-not-found")) == "make: rustc-1.62: No such file or directory"


def test_bindgen_rejecting_a_gcc_flag_is_still_the_flag_filter() -> None:
    [e] = explain("  BINDGEN bindings.rs\nerror: unknown argument: '-mrecord-mcount'\n")
    assert e.id == "clang-gcc-flag"


def test_backtrace_frames_are_dropped() -> None:
    lines = log("rustup-no-toolchain").splitlines()
    kept = without_backtrace(lines)
    assert kept[0].startswith("error: rustup could not choose")
    assert not any("rustup_init::" in line or "libc_start" in line for line in kept)
    assert len(kept) < len(lines) - 10


def test_a_failed_build_names_its_cause_not_the_backtrace_and_renders_it_with_the_log() -> None:
    captured = log("rustup-no-toolchain")
    system = FakeSystem(
        files={"/src/hello-world/Makefile": "all:\n"}, programs={"make": "/usr/bin/make"}
    )

    def make(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        return Reply(stdout=captured, exit_code=2)

    system.handlers["make"] = make
    ctx = make_context(cache_dir="/c")
    result = build(ctx, system, rustc=None, toolchain_env={}, log_dir="/c/logs")
    assert not result.ok
    assert result.cause is not None and result.cause.startswith(
        "rustup could not choose a version of cargo to run"
    )
    assert result.to_json()["cause"] == result.cause
    assert result.explanations[0].id == "rustup-no-toolchain"
    assert not any("tokio::" in line or "__libc" in line for line in result.tail)
    out = io.StringIO()
    print_build(result, Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    assert f"cause: “{result.cause}”" in text
    assert result.log_path in text
    assert "does not recognise" not in text
