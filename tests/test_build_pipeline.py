"""The build pipeline against a fake machine: make is a handler that leaves a .ko behind."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Optional

from kdoctor.knowledge.chroot import BASE_ENV
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
    assert log.startswith(f"$ KDOCTOR_CACHE={CACHE} PWD=/src/hello-world make -C /src/hello-world")
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


def test_make_runs_in_the_module_directory_with_pwd_naming_it() -> None:
    """A Makefile saying ``M=$(PWD)`` reads the environment's PWD, which ``make -C`` leaves
    alone: the build runs from the module directory with PWD set to it, not kdoctor's."""
    system = FakeSystem(files={"/src/hello-world/Makefile": "all:\n"})
    seen: list[tuple[Optional[str], Optional[str]]] = []

    def make(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        seen.append((cwd, env.get("PWD")))
        system.write_file("/src/hello-world/m.ko", b"\x7fELF")
        return Reply()

    system.programs["make"] = "/usr/bin/make"
    system.handlers["make"] = make
    result = build(
        make_context(cache_dir=CACHE), system, rustc=None, toolchain_env={}, log_dir=LOGS
    )
    assert result.ok
    assert seen == [("/src/hello-world", "/src/hello-world")]
    assert result.env["PWD"] == "/src/hello-world"


def test_a_copy_in_the_cache_is_the_directory_make_runs_in_and_pwd_names() -> None:
    source = "/usr/lib/python3/site-packages/kdoctor/hello_world"
    copy = f"{CACHE}/modules/hello_world"
    system = FakeSystem(files={f"{source}/Makefile": "all:\n"}, readonly=["/usr/lib"])
    seen: list[tuple[Optional[str], Optional[str]]] = []

    def make(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        seen.append((cwd, env.get("PWD")))
        system.write_file(f"{copy}/m.ko", b"\x7fELF")
        return Reply()

    system.programs["make"] = "/usr/bin/make"
    system.handlers["make"] = make
    ctx = make_context(cache_dir=CACHE, module_dir=source)
    assert build(ctx, system, rustc=None, toolchain_env={}, log_dir=LOGS).ok
    assert seen == [(copy, copy)]


def test_in_a_toolchain_root_make_enters_the_module_directory_with_pwd_naming_it() -> None:
    root = f"{CACHE}/rust-kernels/roots/trixie"
    system = FakeSystem(files={"/src/hello-world/Makefile": "all:\n"}, uid=0)
    ran: list[tuple[str, ...]] = []

    def unshare(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        ran.append(argv)
        system.write_file("/src/hello-world/m.ko", b"\x7fELF")
        return Reply()

    system.programs["unshare"] = "/usr/bin/unshare"
    system.handlers["unshare"] = unshare
    ctx = make_context(cache_dir=CACHE, toolchain_root=root)
    assert build(ctx, system, rustc=None, toolchain_env={}, log_dir=LOGS).ok
    [argv] = ran
    inside = argv[argv.index("env") :]
    assert inside[:4] == ("env", "-i", "-C", "/src/hello-world")
    assert "PWD=/src/hello-world" in inside
    assert f"PATH={BASE_ENV['PATH']}" in inside
    assert inside[inside.index("make") :][:3] == ("make", "-C", "/src/hello-world")
