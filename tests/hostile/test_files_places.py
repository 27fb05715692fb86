"""Places kdoctor must write (its cache, its logs, the settings file's directory) that cannot be
used end a command with one message naming the path, why, and what to do (exit 3), never a
traceback; the person's files stay as they were."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from kdoctor.model.report import EXIT_PENDING
from tests.hostile.conftest import Sandbox
from tests.hostile.support_files import clean, only_file_edits, seed_stock_image, snapshot


def _file(sandbox: Sandbox) -> tuple[str, str]:
    path = sandbox.root / "cache-is-a-file"
    path.write_text("not a directory\n")
    return str(path), f"{path} is a file, not a directory"


def _below_a_file(sandbox: Sandbox) -> tuple[str, str]:
    path = sandbox.root / "plain-file"
    path.write_text("x")
    return str(path / "kdoctor"), f"{path} is a file, not a directory"


def _dev_null(sandbox: Sandbox) -> tuple[str, str]:
    link = sandbox.root / "cache-link"
    link.symlink_to("/dev/null")
    return str(link), f"{link} is a symlink to /dev/null, not a directory"


def _sysfs(sandbox: Sandbox) -> tuple[str, str]:
    return "/sys/kdoctor-hostile-cache", "Operation not permitted"


PLACES: list[tuple[str, Callable[[Sandbox], tuple[str, str]]]] = [
    ("a-file", _file),
    ("below-a-file", _below_a_file),
    ("symlink-to-dev-null", _dev_null),
    ("sysfs-not-permitted", _sysfs),
]


@pytest.mark.parametrize(
    "command", [("build",), ("fix", "--yes", "--no-build")], ids=["build", "fix-yes"]
)
@pytest.mark.parametrize(("name", "make"), PLACES, ids=[p[0] for p in PLACES])
def test_an_unusable_cache_is_named_with_the_way_out(
    sandbox: Sandbox,
    name: str,
    make: Callable[[Sandbox], tuple[str, str]],
    command: tuple[str, ...],
) -> None:
    cache, why = make(sandbox)
    if command[0] == "fix":  # nothing could be installed, whatever happens
        only_file_edits(sandbox, "--module-dir", str(sandbox.module), env={"KDOCTOR_CACHE": cache})
    module_before = snapshot(sandbox.module)
    config_before = snapshot(sandbox.config.parent)
    result = sandbox.run(
        *command, "--module-dir", str(sandbox.module), env={"KDOCTOR_CACHE": cache}, timeout=60
    )
    assert result.code == 3, result.text
    assert f"kdoctor: cannot write {cache}" in result.err
    assert why in result.err
    assert "KDOCTOR_CACHE" in result.err or "permissions" in result.err
    clean(result)
    assert snapshot(sandbox.module) == module_before
    assert snapshot(sandbox.config.parent) == config_before  # the plan was not half applied
    assert not Path("/sys/kdoctor-hostile-cache").exists()
    sandbox.assert_untouched()


@pytest.mark.parametrize("command", [("check",), ("fix", "--dry-run")], ids=["check", "dry-run"])
def test_commands_that_write_nothing_do_not_need_the_cache(
    sandbox: Sandbox, command: tuple[str, ...]
) -> None:
    cache, _ = _file(sandbox)
    result = sandbox.run(
        *command, "--module-dir", str(sandbox.module), env={"KDOCTOR_CACHE": cache}
    )
    assert result.code in (0, 1, EXIT_PENDING), result.text  # not 3: the cache is not needed
    clean(result)
    assert Path(cache).read_text() == "not a directory\n"
    sandbox.assert_untouched()


def test_a_settings_directory_that_is_a_file_fails_the_step_by_name(sandbox: Sandbox) -> None:
    seed_stock_image(sandbox)
    blocker = sandbox.root / "config-file"
    blocker.write_text("in the way\n")
    config = str(blocker / "env")
    env = {"KDOCTOR_CONFIG": config}
    only_file_edits(sandbox, "--module-dir", str(sandbox.module))
    result = sandbox.run("fix", "--yes", "--no-build", "--module-dir", str(sandbox.module), env=env)
    assert result.code == 1, result.text
    assert f"{blocker} is a file, not a directory" in result.text
    assert "KDOCTOR_CONFIG" in result.text
    clean(result)
    assert blocker.read_text() == "in the way\n"
    sandbox.assert_untouched()


def test_a_settings_file_replaced_by_a_device_is_not_written(sandbox: Sandbox) -> None:
    sandbox.config.symlink_to("/dev/full")
    result = sandbox.run("fix", "--yes", "--no-build", "--module-dir", str(sandbox.module))
    assert result.code == 2, result.text
    assert "is a character device, not a regular file" in result.err
    clean(result)
    assert os.readlink(sandbox.config) == "/dev/full"
    sandbox.assert_untouched()
