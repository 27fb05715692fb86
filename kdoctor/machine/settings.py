"""Choices kdoctor persists for later shells and commands (``CC``, ``CLANG``, ``KDIR``, ...).

Stored as a shell-sourceable ``KEY=VALUE`` file (``~/.config/kdoctor/env``) so a person can also
``. ~/.config/kdoctor/env`` in their own shell. The real environment always wins over it.

The file is the person's too: kdoctor edits it line by line on its bytes (:func:`edit`). Lines
it does not change keep their exact bytes (comments, ``export PATH=...``, text in any encoding);
a changed key's last assignment is replaced where it stands (the last one is what a shell keeps),
new keys are appended. A file kdoctor cannot understand is a :class:`SettingsError` naming the
file, the line and what to do, never a guess.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from typing import Optional, Union

from kdoctor.i18n import _
from kdoctor.machine.files import TEXT_LIMIT, FileRead, read_regular, write_atomic
from kdoctor.machine.system import System
from kdoctor.machine.trust import UntrustedPlace, distrust

#: the variables kdoctor may persist
PERSISTED = (
    "KDIR",
    "CC",
    "CLANG",
    "LLVM",
    "RUSTC",
    "BINDGEN",
    "LIBCLANG_PATH",
    "KDOCTOR_RUST",
    # kdoctor's own cargo home (a source replacement for the packaged crates)
    "CARGO_HOME",
)

#: the UTF-8 byte-order mark some editors write first
BOM = b"\xef\xbb\xbf"

HEADER = b"# written by kdoctor fix; `. this-file` to use the same choices in a shell\n"

_LINE = re.compile(rb"^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*?)\r?\n?$", re.DOTALL)


class SettingsError(ValueError):
    """kdoctor's settings file cannot be used as it is: which file, which line, what is wrong
    and how to repair it."""

    def __init__(self, path: str, problem: str, remedy: str, line: Optional[int] = None) -> None:
        self.path, self.problem, self.remedy, self.line = path, problem, remedy, line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = (
            _("{path}, line {line}").format(path=self.path, line=self.line)
            if self.line
            else self.path
        )
        return _("kdoctor's settings file {where}: {problem}; {remedy}").format(
            where=where, problem=self.problem, remedy=self.remedy
        )


def settings_path(env: Mapping[str, str]) -> str:
    base = env.get("XDG_CONFIG_HOME") or os.path.join(env.get("HOME", "/root"), ".config")
    return env.get("KDOCTOR_CONFIG") or os.path.join(base, "kdoctor", "env")


def lines_of(data: bytes) -> list[bytes]:
    """``data`` cut after each newline (only ``\\n`` ends a line, as in a shell)."""
    lines = data.split(b"\n")
    out = [line + b"\n" for line in lines[:-1]]
    return [*out, lines[-1]] if lines[-1] else out


def _assignment(raw: bytes, number: int, path: str) -> Optional[tuple[str, str]]:
    """(key, value) when line ``number`` sets a persisted variable."""
    match = _LINE.match(raw)
    if not match or match.group(1).decode("ascii") not in PERSISTED:
        return None
    key = match.group(1).decode("ascii")
    fix = _("correct line {number} or delete it (kdoctor fix writes it again)").format(
        number=number
    )
    try:
        value = match.group(2).decode("utf-8")
    except UnicodeDecodeError:
        problem = _("the value of {key} is not UTF-8 text").format(key=key)
        raise SettingsError(path, problem, fix, number) from None
    try:
        words = shlex.split(value, comments=True)
    except ValueError as exc:  # No closing quotation, No escaped character
        problem = _("the value of {key} cannot be read as a shell word ({error})").format(
            key=key, error=exc
        )
        raise SettingsError(path, problem, fix, number) from None
    return key, (words[0] if words else "")


def parse(data: Union[str, bytes], path: str = "") -> dict[str, str]:
    """The persisted values set in ``data`` (the last assignment of each wins)."""
    raw = data.encode("utf-8", errors="surrogateescape") if isinstance(data, str) else data
    raw = raw.removeprefix(BOM)  # an editor's byte-order mark is not part of the first line
    if b"\x00" in raw:
        number = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise SettingsError(
            path,
            _("it holds NUL bytes, so it is not a text file"),
            _("move it away (kdoctor writes a new one) or restore it from a backup"),
            number,
        )
    values: dict[str, str] = {}
    for number, line in enumerate(lines_of(raw), 1):
        found = _assignment(line, number, path)
        if found is not None:
            values[found[0]] = found[1]
    return values


def read(path: str, system: Optional[System] = None) -> Optional[bytes]:
    """The settings file's bytes (None when there is none); a SettingsError when it is there
    but cannot be read (not a regular file, larger than 1 MiB, unreadable). Read through
    ``system``, a file (or a directory holding it) that another user could change is an
    :class:`~kdoctor.machine.trust.UntrustedPlace`: its ``CC`` or ``KDIR`` would be run."""
    if system is not None:
        for place in (os.path.dirname(os.path.abspath(path)), path):
            untrusted = distrust(system, place, "KDOCTOR_CONFIG")
            if untrusted is not None:
                raise UntrustedPlace(untrusted)
    found: FileRead = (
        system.read_file(path, TEXT_LIMIT) if system is not None else read_regular(path)
    )
    if found.problem is not None:
        raise SettingsError(
            path,
            _("it {problem}").format(problem=found.problem),
            _("replace it with a regular text file, or set KDOCTOR_CONFIG to another path"),
        )
    return found.data


def load(path: str, system: Optional[System] = None) -> dict[str, str]:
    """The persisted values in ``path`` (none when it is missing), read through ``system``
    (directly without one); a :class:`SettingsError` when the file cannot be used."""
    data = read(path, system)
    return parse(data, path) if data is not None else {}


def edit(data: bytes, changes: Mapping[str, Optional[str]], path: str = "") -> bytes:
    """``data`` with ``changes`` made (None removes a variable), every other byte kept.

    A variable already set has its last assignment replaced in place (``export KEY=value``,
    the line's ending kept); a removed one loses every assignment; a new one is appended (after
    kdoctor's header line when the file was empty)."""
    for key in changes:
        if key not in PERSISTED:
            raise ValueError(f"kdoctor does not persist {key}")
    mark = BOM if data.startswith(BOM) else b""  # kept where it was, outside the first line
    lines = lines_of(data[len(mark) :])
    where: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        found = _assignment(line, index + 1, path)
        if found is not None:
            where.setdefault(found[0], []).append(index)
    drop: set[int] = set()
    added: list[bytes] = []
    for key, value in sorted(changes.items()):
        places = where.get(key, [])
        if value is None:
            drop.update(places)
        elif places:
            last = lines[places[-1]]
            ending = last[len(last.rstrip(b"\r\n")) :]
            lines[places[-1]] = _assign(key, value) + ending
        else:
            added.append(_assign(key, value) + b"\n")
    kept = [line for index, line in enumerate(lines) if index not in drop]
    if added:
        if not kept:
            kept.append(HEADER)
        if kept and not kept[-1].endswith(b"\n"):
            kept[-1] += b"\n"
    return mark + b"".join(kept + added)


def _assign(key: str, value: str) -> bytes:
    return f"export {key}={shlex.quote(value)}".encode("utf-8", errors="surrogateescape")


def render(values: Mapping[str, str]) -> str:
    """A fresh settings file holding ``values``."""
    return edit(b"", {k: v for k, v in values.items() if v}).decode("utf-8", "surrogateescape")


def merged_env(
    env: Mapping[str, str], path: Optional[str] = None, system: Optional[System] = None
) -> dict[str, str]:
    """The environment with persisted choices filled in where the real environment is silent."""
    merged = dict(load(path or settings_path(env), system))
    merged.update({k: v for k, v in env.items()})
    return merged


def update(
    path: str, changes: Mapping[str, Optional[str]], system: Optional[System] = None
) -> dict[str, str]:
    """Set (or with None, remove) persisted values: the file edited in place on its bytes,
    written atomically with a numbered backup (through ``system`` when given)."""
    before = read(path, system)
    after = edit(before or b"", changes, path)
    if system is not None:
        system.write_file(path, after, backup=True)
    else:
        write_atomic(path, after, backup=True)
    return parse(after, path)
