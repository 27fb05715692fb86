"""Edits of the person's files keep every byte kdoctor does not mean to change."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from kdoctor.machine import files, settings
from kdoctor.machine.files import PlaceError, write_atomic
from kdoctor.machine.settings import SettingsError
from kdoctor.model.plan import Step, byte_diff
from kdoctor.pipeline.planner import merge_settings
from tests.conftest import make_context
from tests.fake_system import FakeSystem
from tests.test_fix_kbuild_cmd import CLASSIC, MOD, failing, plan

USER = (
    b"# my own notes, in Latin-1: J\xfcrgen\n"
    b"export PATH=/opt/cross/bin:$PATH\n"
    b'export RUSTFLAGS="-C opt-level=2"\n'
    b"KDIR=/old/build\n"
    b"export CC=clang-14   # chosen by hand\n"
)


# -- settings: the line-surgical edit ----------------------------------------------------------
def test_a_changed_key_is_replaced_in_place_and_every_other_byte_is_kept() -> None:
    after = settings.edit(USER, {"KDIR": "/new/build"})
    assert after == USER.replace(b"KDIR=/old/build\n", b"export KDIR=/new/build\n")


def test_new_keys_are_appended_after_the_users_lines() -> None:
    after = settings.edit(USER, {"CLANG": "clang-18", "LLVM": "1"})
    assert after == USER + b"export CLANG=clang-18\nexport LLVM=1\n"


def test_the_last_assignment_is_the_one_replaced_as_a_shell_keeps_the_last() -> None:
    data = b"export CC=gcc\n# later\nexport CC=clang-14\n"
    assert (
        settings.edit(data, {"CC": "clang-18"}) == b"export CC=gcc\n# later\nexport CC=clang-18\n"
    )
    assert settings.parse(data) == {"CC": "clang-14"}


def test_removing_a_key_drops_each_of_its_assignments_only() -> None:
    data = b"export CC=gcc\n# keep\nexport CC=clang-14\nexport KDIR=/k\n"
    assert settings.edit(data, {"CC": None}) == b"# keep\nexport KDIR=/k\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (b"", settings.HEADER + b"export KDIR=/k\n"),
        (b"# no newline at the end", b"# no newline at the end\nexport KDIR=/k\n"),
        (b"export KDIR=/old\r\n# dos\r\n", b"export KDIR=/k\r\n# dos\r\n"),
        (b"KDIR='/old'", b"export KDIR=/k"),
        (b"\n\n", b"\n\nexport KDIR=/k\n"),
    ],
)
def test_line_endings_and_empty_files(before: bytes, after: bytes) -> None:
    assert settings.edit(before, {"KDIR": "/k"}) == after


def test_values_are_shell_quoted_and_read_back() -> None:
    data = settings.edit(b"", {"KDIR": "/path with spaces/$(x)'q"})
    assert settings.parse(data) == {"KDIR": "/path with spaces/$(x)'q"}


def test_only_persisted_keys_can_be_written() -> None:
    with pytest.raises(ValueError, match="does not persist PATH"):
        settings.edit(b"", {"PATH": "/x"})


@pytest.mark.parametrize(
    ("data", "line", "problem"),
    [
        (b'# fine\nexport KDIR="/unclosed\n', 2, "cannot be read as a shell word"),
        (b"export CC='clang\n", 1, "No closing quotation"),
        (b"# a\n# b\nexport CLANG=\xff\xfe\n", 3, "the value of CLANG is not UTF-8 text"),
        (b"\x7fELF\x02\x01\x01\x00\x00", 1, "NUL bytes"),
        (b"# ok\n# ok\n\x00", 3, "not a text file"),
    ],
)
def test_a_file_kdoctor_cannot_read_names_the_line_and_the_cure(
    data: bytes, line: int, problem: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        settings.parse(data, "/home/u/.config/kdoctor/env")
    assert caught.value.line == line
    message = str(caught.value)
    assert f"/home/u/.config/kdoctor/env, line {line}: " in message and problem in message
    assert "delete it" in message or "move it away" in message


def test_lines_kdoctor_does_not_own_may_hold_anything() -> None:
    data = b'export RUSTFLAGS="unbalanced\n# \xff\xfe latin\nexport KDIR=/k\n'
    assert settings.parse(data) == {"KDIR": "/k"}


def test_a_settings_file_that_is_not_a_regular_file_is_refused() -> None:
    system = FakeSystem(specials={"/c/env": "a FIFO (named pipe)"})
    with pytest.raises(SettingsError, match=r"/c/env: it is a FIFO \(named pipe\), not a regular"):
        settings.load("/c/env", system)


# -- settings: the plan's edit is the exact change ---------------------------------------------
def test_the_plans_settings_edit_shows_only_the_change_and_keeps_the_users_lines() -> None:
    system = FakeSystem(files={"/c/env": USER})
    steps = [Step("kernel-target", ("kernel-headers",), "retarget", settings={"KDIR": "/k"})]
    [merged] = merge_settings(steps, "/c/env", system)
    assert merged.edit is not None
    assert merged.edit.content == USER.replace(b"KDIR=/old/build\n", b"export KDIR=/k\n")
    assert merged.edit.diff == (
        "--- /c/env\n+++ /c/env\n@@ -4 +4 @@\n-KDIR=/old/build\n+export KDIR=/k\n"
    )
    assert system.writes == []


def test_a_diff_shows_bytes_that_are_not_utf8_and_a_missing_last_newline() -> None:
    diff = byte_diff("/f", b"J\xfcrgen\nold", b"J\xfcrgen\nnew\n", context=1)
    assert " J\\xfcrgen\n" in diff and "\ufffd" not in diff
    assert "-old\n\\ No newline at end of file\n+new\n" in diff


# -- the Kbuild rewrite --------------------------------------------------------------------
def test_the_kbuild_rewrite_keeps_a_latin1_comment_byte_for_byte() -> None:
    head, rule = CLASSIC.encode().split(b"\n\n", 1)
    original = b"# J\xfcrgen's module \xa9 2021\n" + head + b"\n\n# by J\xfcrgen\n" + rule
    system = FakeSystem(files={f"{MOD}/Kbuild": original})
    [step] = plan(make_context(module_dir=MOD), system, failing())
    assert step.edit is not None and isinstance(step.edit.content, bytes)
    content = step.edit.content
    assert content.startswith(b"# J\xfcrgen's module \xa9 2021\n" + head + b"\n\n# by J\xfcrgen\n")
    assert b"\xef\xbf\xbd" not in content  # no U+FFFD smuggled in
    diff = step.edit.diff
    assert " # by J\\xfcrgen\n" in diff and "\ufffd" not in diff  # shown, unchanged
    changed = [line for line in diff.splitlines()[2:] if line[:1] in "+-"]
    assert changed and all("rgen" not in line for line in changed)


def test_the_kbuild_rewrite_keeps_a_last_line_without_newline_elsewhere() -> None:
    text = "# top\n" + CLASSIC + "\n# tail without newline"
    system = FakeSystem(files={f"{MOD}/Kbuild": text})
    [step] = plan(make_context(module_dir=MOD), system, failing())
    assert step.edit is not None and step.edit.text.endswith("\n\n# tail without newline")
    assert step.edit.text.startswith("# top\nobj-m := helloworld.o\n")


# -- the atomic writer ---------------------------------------------------------------------
def test_a_symlink_is_written_through_and_stays_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "dotfiles").mkdir()
    real = tmp_path / "dotfiles" / "kdoctor-env"
    real.write_bytes(b"old\n")
    link = tmp_path / "env"
    link.symlink_to(real)
    backup = write_atomic(str(link), b"new\n", backup=True)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == b"new\n"
    assert backup == f"{real}.~1~" and Path(backup).read_bytes() == b"old\n"


def test_backups_are_numbered_and_never_replace_an_earlier_one(tmp_path: Path) -> None:
    path = tmp_path / "env"
    path.write_bytes(b"one")
    (tmp_path / "env.~3~").write_bytes(b"someone's old backup")
    assert write_atomic(str(path), b"two", backup=True) == f"{path}.~4~"
    assert write_atomic(str(path), b"three", backup=True) == f"{path}.~5~"
    assert (tmp_path / "env.~3~").read_bytes() == b"someone's old backup"
    assert (tmp_path / "env.~4~").read_bytes() == b"one"
    assert (tmp_path / "env.~5~").read_bytes() == b"two"
    assert files.numbered_backup(str(path)) == f"{path}.~6~"


def test_mode_and_owner_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "Kbuild"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    if os.geteuid() == 0:
        os.chown(path, 1234, 2345)
    write_atomic(str(path), b"new", backup=True)
    info = path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o640
    if os.geteuid() == 0:
        assert (info.st_uid, info.st_gid) == (1234, 2345)


def test_a_new_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(str(tmp_path / "a" / "env"), b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a" / "env").stat().st_mode) == 0o644


def test_a_full_disk_leaves_the_old_file_alone_and_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "env"
    path.write_bytes(b"precious")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(PlaceError) as caught:
        write_atomic(str(path), b"new", backup=True)
    assert "No space left on device" in str(caught.value) and "free some space" in str(caught.value)
    assert str(path) in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env"]
    assert path.read_bytes() == b"precious"


def test_a_special_file_in_the_way_is_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "env"
    os.mkfifo(fifo)
    with pytest.raises(PlaceError, match="FIFO"):
        write_atomic(str(fifo), b"x", backup=True)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.listdir(tmp_path) == ["env"]


def test_a_file_where_a_directory_must_be_is_named(tmp_path: Path) -> None:
    (tmp_path / "cache").write_text("not a directory")
    with pytest.raises(PlaceError) as caught:
        files.make_dirs(str(tmp_path / "cache" / "logs"))
    assert f"{tmp_path / 'cache'} is a file, not a directory" in str(caught.value)
    assert "KDOCTOR_CACHE" in str(caught.value)
    with pytest.raises(PlaceError, match="cache is a file, not a directory"):
        files.make_dirs(str(tmp_path / "cache"))


def test_the_fake_fails_writes_where_told_as_the_real_machine_does() -> None:
    system = FakeSystem(files={"/c": "file"}, write_errors={"/full": errno.ENOSPC})
    with pytest.raises(PlaceError, match="free some space"):
        system.write_file("/full/env", "x")
    with pytest.raises(PlaceError, match="/c is a file, not a directory"):
        system.makedirs("/c/logs")
    with pytest.raises(PlaceError):
        system.open_log("/full/logs/x.log")
    assert system.writes == []


def test_the_fake_keeps_numbered_backups_and_writes_through_links() -> None:
    system = FakeSystem(files={"/real/env": "one"}, symlinks={"/home/env": "/real/env"})
    assert system.write_file("/home/env", "two", backup=True) == "/real/env.~1~"
    assert system.write_file("/home/env", "three", backup=True) == "/real/env.~2~"
    assert system.files["/real/env"] == "three" and "/home/env" not in system.files
    assert (system.files["/real/env.~1~"], system.files["/real/env.~2~"]) == ("one", "two")
