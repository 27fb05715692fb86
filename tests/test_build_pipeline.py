"""The build pipeline against a fake machine: make is a handler that leaves a .ko behind."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Optional

from kdoctor.machine.runner import Runner
from kdoctor.pipeline.build import build, working_module_dir
from tests.conftest import make_context
from tests.fake_system import FakeSystem, Reply

CACHE = "/home/me/.cache/kdoctor"
LOGS = f"{CACHE}/logs"


def make_that_builds(system: FakeSystem, *, ok: bool = True) -> None:
    def make(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        module_dir = argv[argv.index("-C") + 1]
        if not ok:
            return Reply(stdout="error[E0425]: cannot find value `x`\n", exit_code=2)
        system.write_file(f"{module_dir}/helloworld.ko", b"\x7fELF")
        return Reply(stdout=f"  RUSTC   {module_dir}/src/lib.rs\n  LD [M]  helloworld.ko\n")

    system.programs["make"] = "/usr/bin/make"
    system.handlers["make"] = make


def test_a_build_finds_the_module_make_left_and_logs_through_the_system() -> None:
    system = FakeSystem(files={"/src/hello-world/Makefile": "all:\n"})
    make_that_builds(system)
    steps: list[str] = []
    ctx = make_context(cache_dir=CACHE)
    result = build(
        ctx, system, rustc="/usr/bin/rustc", toolchain_env={}, log_dir=LOGS, on_step=steps.append
    )
    assert result.ok and result.ko == "/src/hello-world/helloworld.ko"
    assert steps == ["RUSTC lib.rs", "LD [M] helloworld.ko"]
    assert result.log_path.startswith(f"{LOGS}/build-")
    log = system.read_text(result.log_path) or ""
    assert log.startswith(f"$ KDOCTOR_CACHE={CACHE} make -C /src/hello-world")
    assert "LD [M]  helloworld.ko" in log
    assert system.writes == [
        (result.log_path, "log"),
        ("/src/hello-world/helloworld.ko", "write"),
    ]


def test_a_failed_build_is_explained_from_its_log() -> None:
    system = FakeSystem(files={"/src/hello-world/Makefile": "all:\n"})
    make_that_builds(system, ok=False)
    result = build(
        make_context(cache_dir=CACHE), system, rustc=None, toolchain_env={}, log_dir=LOGS
    )
    assert not result.ok and result.ko is None and result.exit_code == 2
    assert result.tail[-1] == "error[E0425]: cannot find value `x`"


def test_a_read_only_module_directory_is_built_in_a_copy_in_the_cache() -> None:
    source = "/usr/lib/python3/site-packages/kdoctor/hello_world"
    system = FakeSystem(
        files={f"{source}/Makefile": "all:\n", f"{source}/__pycache__/x.pyc": "x"},
        readonly=["/usr/lib"],
    )
    ctx = make_context(cache_dir=CACHE, module_dir=source)
    target = working_module_dir(ctx, system)
    assert target == f"{CACHE}/modules/hello_world"
    assert system.writes == [(f"{target}/Makefile", "copy")]
    writable = FakeSystem(files={"/src/hello-world/Makefile": "all:\n"})
    assert working_module_dir(make_context(), writable) == "/src/hello-world"
    assert writable.writes == []


def test_the_real_copy_keeps_times_and_copies_only_what_changed(tmp_path: Path) -> None:
    source, target = tmp_path / "src", tmp_path / "copy"
    (source / "sub").mkdir(parents=True)
    (source / "__pycache__").mkdir()
    (source / "Makefile").write_text("all:\n")
    (source / "sub" / "lib.rs").write_text("fn main() {}\n")
    (source / "__pycache__" / "x.pyc").write_text("x")
    os.utime(source / "Makefile", (1000, 1000))
    runner = Runner()
    runner.copy_tree(str(source), str(target))
    assert (target / "sub" / "lib.rs").read_text() == "fn main() {}\n"
    assert not (target / "__pycache__").exists()
    assert int((target / "Makefile").stat().st_mtime) == 1000
    (target / "Makefile").write_text("ALL:\n")
    os.utime(target / "Makefile", (1000, 1000))  # same size and time: left alone
    runner.copy_tree(str(source), str(target))
    assert (target / "Makefile").read_text() == "ALL:\n"
