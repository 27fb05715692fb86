"""Faults, round two: every command that writes ends with one message naming an unusable cache
(exit 3, and under ``--json`` one error document), every command refuses a kernel release that
would make a path outside its place before anything is made (exit 2), and a settings file kdoctor
cannot use is one error document under ``--json``; none of them leaves anything outside its
own files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from tests.hostile.conftest import Sandbox
from tests.hostile.support_files import clean, snapshot
from tests.hostile.test_files_places import PLACES


def relocatable_module(where: Path) -> str:
    """A relocatable ELF object with a ``.modinfo`` section: what verify takes for a module."""
    ko = where / "m.ko"
    subprocess.run(
        ["gcc", "-c", "-x", "c", "-", "-o", str(ko)],
        input='const char m[] __attribute__((section(".modinfo"))) = "vermagic=6.1.0 SMP";\n',
        text=True,
        check=True,
        timeout=600,
    )
    return str(ko)


def _one_error_document(out: str, kind: str, code: int) -> None:
    document = json.loads(out)  # a cut or a second document would not parse
    assert document["error"]["kind"] == kind and document["exit_code"] == code


#: commands that write into the cache (a lock, a log, a scratch directory), with their --json
WRITERS: list[tuple[str, tuple[str, ...], bool]] = [
    ("verify-vm", ("verify", "--vm", "--json"), True),
    ("cache-clean", ("cache", "clean"), False),
    ("test", ("test", "--kernels", "6.1"), True),
    ("build-json", ("build", "--json"), True),
    ("fetch-kernel", ("fetch-kernel", "6.1"), False),
]


@pytest.mark.parametrize(
    ("command", "json_out"), [(c, j) for _n, c, j in WRITERS], ids=[n for n, _c, _j in WRITERS]
)
@pytest.mark.parametrize(("name", "make"), PLACES, ids=[p[0] for p in PLACES])
def test_every_writing_command_names_an_unusable_cache(
    sandbox: Sandbox,
    name: str,
    make: Callable[[Sandbox], tuple[str, str]],
    command: tuple[str, ...],
    json_out: bool,
) -> None:
    cache, why = make(sandbox)
    if command[0] == "verify":  # a module to verify, so verify gets as far as the cache
        command = (*command, "--ko", relocatable_module(sandbox.root))
    module_before = snapshot(sandbox.module)
    result = sandbox.run(*command, env={"KDOCTOR_CACHE": cache}, cwd=sandbox.module, timeout=600)
    assert result.code == 3, result.text
    assert result.no_traceback(), result.text
    assert f"kdoctor: cannot write {cache}" in result.err and why in result.err
    if json_out and "--json" in command:
        _one_error_document(result.out, "files", 3)
    clean(result)
    assert snapshot(sandbox.module) == module_before
    sandbox.assert_untouched()


#: kernel releases that are not one path component: each would make a path outside its place
HOSTILE_RELEASES = ["../../../escaped", ".", "..", "a/b", "-rf", "$(id)", "6.1\nx", "x" * 300]
#: every way a release reaches kdoctor from the command line
RELEASE_TAKERS: list[tuple[str, Callable[[str], tuple[str, ...]]]] = [
    ("check", lambda r: ("check", "--kernel", r)),
    ("fix-dry-run", lambda r: ("fix", "--dry-run", "--kernel", r)),
    ("build", lambda r: ("build", "--kernel", r)),
    ("verify", lambda r: ("verify", "--kernel", r)),
    ("test", lambda r: ("test", "--kernels", f"6.1,{r}")),
    ("fetch-kernel", lambda r: ("fetch-kernel", r)),
    ("cache-clean", lambda r: ("cache", "clean", "--kernel", r)),
]


@pytest.mark.parametrize(
    "release", HOSTILE_RELEASES, ids=[f"r{i}" for i in range(len(HOSTILE_RELEASES))]
)
@pytest.mark.parametrize(("name", "argv"), RELEASE_TAKERS, ids=[t[0] for t in RELEASE_TAKERS])
def test_a_release_that_is_not_one_path_component_is_refused_before_anything_is_made(
    sandbox: Sandbox, name: str, argv: Callable[[str], tuple[str, ...]], release: str
) -> None:
    cache_before = snapshot(sandbox.cache)
    result = sandbox.run(*argv(release), cwd=sandbox.module)
    assert result.code == 2, result.text
    assert result.no_traceback()
    said = " ".join(result.err.replace("│", " ").split())
    # (a value starting with - is an unknown option to a command taking it as an argument)
    assert "kernel release or series" in said or "No such option" in said
    assert snapshot(sandbox.cache) == cache_before  # not even a lock or a log
    assert not (sandbox.root.parent / "escaped").exists()
    sandbox.assert_untouched()


JSON_COMMANDS = [("check", "--json"), ("build", "--json"), ("fix", "--dry-run", "--json")]


@pytest.mark.parametrize("command", JSON_COMMANDS, ids=[c[0] for c in JSON_COMMANDS])
def test_a_settings_file_kdoctor_cannot_use_is_one_error_document(
    sandbox: Sandbox, command: tuple[str, ...]
) -> None:
    sandbox.config.write_text("export CC='unbalanced\n")
    before = snapshot(sandbox.config.parent)
    result = sandbox.run(*command, cwd=sandbox.module)
    assert result.code == 2, result.text
    _one_error_document(result.out, "settings", 2)
    assert f"kdoctor's settings file {sandbox.config}" in result.err
    assert snapshot(sandbox.config.parent) == before
    sandbox.assert_untouched()


def test_a_closed_stdout_is_not_a_traceback(sandbox: Sandbox) -> None:
    done = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "kdoctor", "check", "--json"],
        env=sandbox.env,
        cwd=str(sandbox.module),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr
    sandbox.assert_untouched()
