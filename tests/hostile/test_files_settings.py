"""kdoctor's settings file is the person's too: a file kdoctor cannot use stops every command
with one message (the file, the line, the cure; exit 2) and is left alone; a file it edits
keeps every byte it does not change."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Callable

import pytest

from tests.hostile.conftest import Sandbox
from tests.hostile.support_files import (
    clean,
    only_file_edits,
    seed_stock_image,
    snapshot,
    stock,
)

#: stands for the line kdoctor appends (its release is this machine's stock kernel)
KDIR_LINE = b"@KDIR_LINE@"


def kdir_line() -> bytes:
    return f"export KDIR=/lib/modules/{stock()}/build\n".encode()


def _write(content: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.mkdir()


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _huge(path: Path) -> None:
    path.write_bytes(b"# padding\n" * 110_000)


#: (name, how the file is made, what the message must say)
BAD_FILES = [
    (
        "unbalanced-quote",
        _write(b'# mine\n\nexport KDIR="/lib/modules\n'),
        "line 3: the value of KDIR",
    ),
    ("no-closing-single", _write(b"export CC='clang-18\n"), "No closing quotation"),
    ("binary", _write(b"\x7fELF\x02\x01\x01\x00\x00\x00garbage\xff\xfe"), "NUL bytes"),
    (
        "not-utf8-value",
        _write(b"export CLANG=clang-\xe9\n"),
        "line 1: the value of CLANG is not UTF-8",
    ),
    ("fifo", _fifo, "is a FIFO (named pipe), not a regular file"),
    ("directory", _directory, "is a directory, not a regular file"),
    ("dev-zero", _dev_zero, "is a character device, not a regular file"),
    ("too-big", _huge, "is larger than 1 MiB"),
]

COMMANDS = [
    ("check",),
    ("check", "--json"),
    ("fix", "--dry-run"),
    ("fix", "--yes", "--no-build"),
    ("build",),
    ("report",),
]


#: every command meets every file that cannot be parsed; one command is enough for the others
SCENARIOS = [
    pytest.param(make, says, command, id=f"{name}-{'-'.join(command)}")
    for name, make, says in BAD_FILES
    for command in (COMMANDS if name not in ("too-big", "directory", "dev-zero") else COMMANDS[:1])
]


@pytest.mark.parametrize(("make", "says", "command"), SCENARIOS)
def test_a_settings_file_kdoctor_cannot_use_stops_every_command_with_one_message(
    sandbox: Sandbox, make: Callable[[Path], None], says: str, command: tuple[str, ...]
) -> None:
    make(sandbox.config)
    before = snapshot(sandbox.config.parent)
    result = sandbox.run(*command, "--module-dir", str(sandbox.module))
    assert result.code == 2, result.text
    if "--json" in command:  # one whole document: the error's (schema/error.schema.json)
        document = json.loads(result.out)
        assert document["error"]["kind"] == "settings" and document["exit_code"] == 2
        assert f"kdoctor's settings file {sandbox.config}" in document["error"]["message"]
    else:
        assert result.out == ""
    assert f"kdoctor's settings file {sandbox.config}" in result.err
    assert says in result.err
    assert (
        ("correct line" in result.err)
        or ("move it away" in result.err)
        or ("replace it with a regular text file" in result.err)
    )
    clean(result)
    assert snapshot(sandbox.config.parent) == before  # nothing rewritten, no backup made
    sandbox.assert_untouched()


def test_kdoctor_config_pointing_at_a_fifo_elsewhere_is_named(sandbox: Sandbox) -> None:
    fifo = sandbox.root / "elsewhere.env"
    os.mkfifo(fifo)
    result = sandbox.run("check", "os", env={"KDOCTOR_CONFIG": str(fifo)})
    assert result.code == 2 and f"{fifo}: it is a FIFO" in result.err, result.text
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    sandbox.assert_untouched()


def test_lines_kdoctor_does_not_own_may_be_anything_a_shell_accepts(sandbox: Sandbox) -> None:
    sandbox.config.write_bytes(
        b"# J\xfcrgen's settings\nexport RUSTFLAGS=\"-C debuginfo=0\"\nalias ll='ls -l'\n"
    )
    result = sandbox.run("check", "os", "--module-dir", str(sandbox.module))
    assert result.code == 0, result.text
    clean(result)
    sandbox.assert_untouched()


# -- edits keep the person's bytes -------------------------------------------------------------
USER = (
    b"# my settings \xa9 J\xfcrgen (Latin-1)\n"
    b"export PATH=/opt/cross/bin:$PATH\n"
    b'export RUSTFLAGS="-C opt-level=2"   # keep me\n'
    b"\n"
)


@pytest.fixture
def editable(sandbox: Sandbox) -> Sandbox:
    seed_stock_image(sandbox)
    return sandbox


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        (USER, USER + KDIR_LINE),
        (USER.rstrip(b"\n"), USER.rstrip(b"\n") + b"\n" + KDIR_LINE),
        (b"# dos\r\nexport PATH=/x:$PATH\r\n", b"# dos\r\nexport PATH=/x:$PATH\r\n" + KDIR_LINE),
        (b"# export KDIR=/old/tree\n", b"# export KDIR=/old/tree\n" + KDIR_LINE),
    ],
    ids=["latin1-comments", "no-final-newline", "crlf", "commented-out-kdir"],
)
def test_fix_edits_only_the_line_it_must(
    editable: Sandbox, original: bytes, expected: bytes
) -> None:
    sandbox = editable
    sandbox.config.write_bytes(original)
    os.chmod(sandbox.config, 0o600)
    dry = only_file_edits(sandbox, "--module-dir", str(sandbox.module))
    assert sandbox.config.read_bytes() == original  # a dry run changes nothing
    minus = [
        line for line in dry.err.splitlines() if line.strip().startswith("-") and "---" not in line
    ]
    # no line of the person's leaves the file; the last one only gains the newline it lacked
    rewritten = not original.endswith(b"\n")
    assert (minus != []) == rewritten, dry.text
    assert f"+export KDIR=/lib/modules/{stock()}/build" in dry.err
    result = sandbox.run("fix", "--yes", "--no-build", "--module-dir", str(sandbox.module))
    assert result.code == 0, result.text
    clean(result)
    assert sandbox.config.read_bytes() == expected.replace(KDIR_LINE, kdir_line())
    assert (sandbox.config.parent / "env.~1~").read_bytes() == original
    assert stat.S_IMODE(sandbox.config.stat().st_mode) == 0o600
    assert [p.name for p in sandbox.config.parent.iterdir() if p.name.startswith(".kdoctor")] == []
    sandbox.assert_untouched()


def test_fix_writes_through_a_symlinked_settings_file(editable: Sandbox) -> None:
    sandbox = editable
    dotfiles = sandbox.home / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "kdoctor.env"
    real.write_bytes(USER)
    sandbox.config.symlink_to(real)
    only_file_edits(sandbox, "--module-dir", str(sandbox.module))
    result = sandbox.run("fix", "--yes", "--no-build", "--module-dir", str(sandbox.module))
    assert result.code == 0, result.text
    assert sandbox.config.is_symlink() and os.readlink(sandbox.config) == str(real)
    assert real.read_bytes() == USER + kdir_line()
    assert (dotfiles / "kdoctor.env.~1~").read_bytes() == USER
    sandbox.assert_untouched()


def test_an_earlier_backup_is_never_overwritten(editable: Sandbox) -> None:
    sandbox = editable
    sandbox.config.write_bytes(USER)
    older = sandbox.config.parent / "env.~1~"
    older.write_bytes(b"# the backup from last year\n")
    only_file_edits(sandbox, "--module-dir", str(sandbox.module))
    result = sandbox.run("fix", "--yes", "--no-build", "--module-dir", str(sandbox.module))
    assert result.code == 0, result.text
    assert older.read_bytes() == b"# the backup from last year\n"
    assert (sandbox.config.parent / "env.~2~").read_bytes() == USER
    again = sandbox.run("fix", "--yes", "--no-build", "--module-dir", str(sandbox.module))
    assert again.code == 0, again.text
    assert sorted(p.name for p in sandbox.config.parent.iterdir()) == ["env", "env.~1~", "env.~2~"]
    sandbox.assert_untouched()
