"""A module whose files are FIFOs, devices, directories or huge: every command finishes in
time, without a traceback, names the file it refused, and leaves the file as it was."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Callable

import pytest

from tests.hostile.conftest import Sandbox
from tests.hostile.support_files import clean

#: a scenario that takes longer than this hangs (a check takes ~1 s, ~10 s on a loaded machine)
PROMPT_S = 60


def _fifo(path: Path) -> str:
    os.mkfifo(path)
    return "is a FIFO (named pipe), not a regular file"


def _dev_zero(path: Path) -> str:
    path.symlink_to("/dev/zero")
    return "is a character device, not a regular file"


def _dev_urandom(path: Path) -> str:
    path.symlink_to("/dev/urandom")
    return "is a character device, not a regular file"


def _directory(path: Path) -> str:
    path.mkdir()
    return "is a directory, not a regular file"


def _huge(path: Path) -> str:
    with open(path, "wb") as handle:
        handle.truncate(64 << 20)  # sparse: 64 MiB of NULs that take no disk
    return "is larger than 1 MiB"


KINDS: list[tuple[str, Callable[[Path], str]]] = [
    ("fifo", _fifo),
    ("dev-zero", _dev_zero),
    ("dev-urandom", _dev_urandom),
    ("directory", _directory),
    ("huge", _huge),
]


def _replace(path: Path, make: Callable[[Path], str]) -> str:
    if path.exists() or path.is_symlink():
        path.unlink()
    return make(path)


def _same_kind(path: Path, before: os.stat_result) -> bool:
    after = os.lstat(path)
    return stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode) and (
        after.st_size == before.st_size
    )


@pytest.mark.parametrize(("name", "make"), KINDS, ids=[k[0] for k in KINDS])
def test_a_pin_file_kdoctor_will_not_read_fails_the_toolchain_check_by_name(
    sandbox: Sandbox, name: str, make: Callable[[Path], str]
) -> None:
    pin = sandbox.module / "rust-toolchain.toml"
    problem = _replace(pin, make)
    before = os.lstat(pin)
    started = time.monotonic()
    result = sandbox.run(
        "check", "toolchain", "--module-dir", str(sandbox.module), timeout=PROMPT_S
    )
    assert time.monotonic() - started < PROMPT_S
    assert result.code == 1, result.text
    assert f"✘ toolchain  {pin} {problem}" in result.out, result.text
    assert f"Replace {pin} with a regular file" in result.out
    clean(result)
    assert _same_kind(pin, before)
    sandbox.assert_untouched()


def test_the_refused_pin_is_in_the_json_context(sandbox: Sandbox) -> None:
    pin = sandbox.module / "rust-toolchain.toml"
    _replace(pin, _fifo)
    result = sandbox.run("check", "--json", "--module-dir", str(sandbox.module), timeout=PROMPT_S)
    data = json.loads(result.out)
    assert data["context"]["pin"] is None  # never another module's pin instead
    assert data["context"]["pin_problem"] == f"{pin} is a FIFO (named pipe), not a regular file"
    toolchain = next(f for f in data["checks"] if f["id"] == "toolchain")
    assert toolchain["status"] == "fail"
    assert result.code == 1
    sandbox.assert_untouched()


@pytest.mark.parametrize("name", ["Kbuild", "Makefile"])
@pytest.mark.parametrize(("kind", "make"), KINDS[:3], ids=[k[0] for k in KINDS[:3]])
def test_a_build_file_that_never_ends_does_not_hang_check(
    sandbox: Sandbox, name: str, kind: str, make: Callable[[Path], str]
) -> None:
    path = sandbox.module / name
    _replace(path, make)
    before = os.lstat(path)
    started = time.monotonic()
    result = sandbox.run("check", "--module-dir", str(sandbox.module), timeout=PROMPT_S)
    assert time.monotonic() - started < PROMPT_S
    assert result.code in (0, 1), result.text
    assert "finding" not in result.err
    clean(result)
    assert _same_kind(path, before)
    sandbox.assert_untouched()


@pytest.mark.parametrize("command", [("fix", "--dry-run"), ("build",)], ids=["dry-run", "build"])
def test_a_fifo_pin_stops_fix_and_build_in_time_without_reading_it(
    sandbox: Sandbox, command: tuple[str, ...]
) -> None:
    pin = sandbox.module / "rust-toolchain.toml"
    _replace(pin, _fifo)
    started = time.monotonic()
    result = sandbox.run(*command, "--module-dir", str(sandbox.module), timeout=PROMPT_S * 4)
    assert time.monotonic() - started < PROMPT_S * 4
    assert result.code in (0, 1), result.text
    clean(result)
    assert stat.S_ISFIFO(os.lstat(pin).st_mode)
    sandbox.assert_untouched()
