"""The real System's file operations and identity, on a temporary directory."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from kdoctor.machine.runner import Runner


def test_identity_is_the_process_and_the_kernel() -> None:
    runner = Runner()
    assert runner.uid() == os.geteuid()
    assert runner.arch() == platform.machine()
    assert runner.kernel_release() == platform.release()


def test_write_file_is_atomic_keeps_a_backup_and_sets_modes(tmp_path: Path) -> None:
    runner = Runner()
    path = tmp_path / "deep" / "er" / "f"
    assert runner.write_file(str(path), "one\n", mode=0o600) is None
    assert path.read_text() == "one\n" and (path.stat().st_mode & 0o777) == 0o600
    assert runner.write_file(str(path), b"\x00two", backup=True) == f"{path}.~1~"
    assert path.read_bytes() == b"\x00two" and (path.stat().st_mode & 0o777) == 0o600
    assert Path(f"{path}.~1~").read_text() == "one\n"
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".kdoctor-")] == []
    assert runner.read_bytes(str(path), 1) == b"\x00"
    assert runner.read_bytes(str(tmp_path / "missing")) is None


def test_directories_temp_dirs_renames_and_removal(tmp_path: Path) -> None:
    runner = Runner()
    runner.makedirs(str(tmp_path / "a" / "b"))
    runner.makedirs(str(tmp_path / "a" / "b"))  # again: nothing
    assert runner.is_dir(str(tmp_path / "a" / "b")) and not runner.is_file(str(tmp_path / "a"))
    work = runner.make_temp_dir(".partial-", str(tmp_path / "new"))
    assert os.path.dirname(work) == str(tmp_path / "new")
    assert os.path.basename(work).startswith(".partial-")
    (Path(work) / "f").write_text("x")
    runner.rename(os.path.join(work, "f"), str(tmp_path / "g"))
    assert (tmp_path / "g").read_text() == "x"
    runner.remove_tree(work)
    runner.remove_tree(str(tmp_path / "g"))
    runner.remove_tree(str(tmp_path / "never"))
    assert sorted(os.listdir(tmp_path)) == ["a", "new"] and os.listdir(tmp_path / "new") == []
    assert runner.is_writable(str(tmp_path))
    assert runner.real_path(str(tmp_path / "a" / ".." / "a")) == str((tmp_path / "a").resolve())


def test_open_log_creates_its_directory_and_appends(tmp_path: Path) -> None:
    runner = Runner()
    path = str(tmp_path / "logs" / "x.log")
    with runner.open_log(path) as log:
        log.write("one\n")
    with runner.open_log(path, append=True) as log:
        log.write("two\n")
    assert runner.read_text(path) == "one\ntwo\n"
    with runner.open_log(path) as log:
        log.write("three\n")
    assert runner.read_text(path) == "three\n"
