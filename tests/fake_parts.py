"""The pieces of :class:`~tests.fake_system.FakeSystem` that are not the machine itself:
canned answers, the log handle, and the helpers that move and drop paths."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable, Optional, TypeVar, Union

from kdoctor.i18n import _
from kdoctor.machine.files import larger_than, not_regular


@dataclass(frozen=True)
class Reply:
    """What a faked command answers."""

    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0
    timed_out: bool = False
    #: how long the command pretends to have taken
    duration_ms: float = 0.0


Answer = Union[Reply, str]

#: a command's behaviour beyond a canned answer: called with (argv, cwd, env) before the answer
#: is looked up; it may change the fake machine (``system.files[...] = ...``) and returns the
#: answer, or None to fall through to ``commands``
Handler = Callable[[tuple[str, ...], Optional[str], Mapping[str, str]], Optional[Answer]]

#: package queries that take many names and answer for each in turn; the fake answers such a
#: query from its one-name answers (``apt-cache policy a b`` = ``apt-cache policy a`` + ``... b``)
PER_NAME_QUERIES: tuple[tuple[str, ...], ...] = (
    ("apt-cache", "policy"),
    ("dnf", "-q", "list", "--available"),
    ("pacman", "-Si"),
    ("zypper", "-q", "info"),
)


FileData = Union[str, bytes]
T = TypeVar("T")


class FakeLog(io.StringIO):
    """A log handle whose every write lands in the fake's ``files`` at once."""

    def __init__(self, files: dict[str, FileData], lock: threading.RLock, path: str) -> None:
        super().__init__()
        self._files = files
        self._lock = lock
        self._path = path

    def write(self, text: str) -> int:
        with self._lock:
            old = self._files.get(self._path, "")
            old = old.decode("utf-8", errors="replace") if isinstance(old, bytes) else old
            self._files[self._path] = old + text
        return super().write(text)


def within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def drop(table: dict[str, T], root: str) -> None:
    for key in [k for k in table if within(k, root)]:
        del table[key]


def move(table: dict[str, T], source: str, target: str) -> None:
    for key in [k for k in table if within(k, source)]:
        table[target + key[len(source) :]] = table.pop(key)


def line_ended(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def per_name_reply(
    scripted: Callable[[str], Optional[Answer]], argv: tuple[str, ...]
) -> Optional[Reply]:
    """A many-name package query (``apt-cache policy a b``) answered from the one-name answers
    ``scripted`` has (``apt-cache policy a``, ``apt-cache policy b``), when there are some."""
    words = (os.path.basename(argv[0]), *argv[1:])
    for prefix in PER_NAME_QUERIES:
        names = words[len(prefix) :]
        if words[: len(prefix)] != prefix or len(names) < 2:
            continue
        parts = [scripted(" ".join((*prefix, name))) for name in names]
        replies = [Reply(stdout=p) if isinstance(p, str) else p for p in parts if p is not None]
        if not replies:
            return None
        return Reply(
            stdout="".join(line_ended(r.stdout) for r in replies),
            stderr="".join(line_ended(r.stderr) for r in replies),
            exit_code=max(r.exit_code for r in replies),
            timed_out=any(r.timed_out for r in replies),
        )
    return None


def not_read(kind: str) -> str:
    """Why the fake does not read a special file of ``kind`` (as :func:`read_regular` says)."""
    return not_regular(kind)


def too_large(limit: int) -> str:
    return larger_than(f"{limit} bytes")


def refused(kind: str) -> str:
    """Why the fake does not write over a special file of ``kind``."""
    return _("it is {kind}, not a regular file").format(kind=kind)


def in_the_way(parent: str) -> str:
    """Why the fake makes nothing under a file."""
    return _("{path} is {kind}, not a directory").format(path=parent, kind=_("a file"))
