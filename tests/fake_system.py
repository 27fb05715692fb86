"""An in-memory :class:`~kdoctor.machine.system.System` for tests: a machine as a few dicts,
strict about the commands a test scripts (see :class:`FakeSystem`)."""

from __future__ import annotations

import errno
import io
import os
import stat
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Optional, TextIO, TypeVar, Union

from kdoctor.machine.files import (
    BYTES_LIMIT,
    TEXT_LIMIT,
    FileRead,
    PlaceError,
    in_the_way,
    kind_of,
    larger_than,
    not_regular,
    not_replaced,
    place_error,
    remedy,
)
from kdoctor.machine.system import DEFAULT_TIMEOUT, OutputCallback, Probe, command_not_found

__all__ = ["Answer", "FakeSystem", "Handler", "Reply", "apt_archive", "apt_unknown"]


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


class FakeSystem:
    """Commands answer from ``commands`` (keyed by the argv joined with spaces, the first word
    resolved through ``programs``); files come from ``files`` (text or bytes), their times from
    ``mtimes``; ``dirs`` lists directories (a directory also holds whatever ``files`` and
    ``dirs`` have below it). A package query for several names (see :data:`PER_NAME_QUERIES`)
    without an answer of its own answers with the one-name answers it has, in order; a name
    without one is unknown (without any, the query is unscripted).

    ``handlers`` give a command behaviour (a side effect, an answer that depends on the call):
    keyed like ``commands``, or by the program's name alone, they are consulted before
    ``commands`` (see :data:`Handler`).

    Strict unless told otherwise (``lenient="why"``): a command of a program on PATH that no
    handler or answer scripts is recorded in ``unscripted`` (and answered with exit 127), and
    an entry of ``commands`` or ``handlers`` nobody asked is a problem too; the test fails at
    its teardown (:func:`check_fakes`, called by tests/conftest.py) however the code under test
    took the answer. ``maybe`` and ``maybe_handlers`` script what may be asked and may as well
    not be (a whole machine scripted by a shared fixture): ``commands`` win over ``maybe``, and
    ``maybe_handlers`` answer only what nothing else does. A program missing from ``programs``
    is a real answer ("command not found"), not a problem: ``which`` is a lookup, not a command.

    Every call is recorded in ``calls`` (probes) and ``runs`` (mutating commands), and every
    change to the file system in ``writes`` as ``(path, kind)``, so tests can assert what ran
    and that a dry run changed nothing. ``uid``, ``arch`` and ``kernel_release`` are what the
    identity questions answer (an ordinary user on x86_64 running 6.1.0-56-amd64 unless told).
    """

    def __init__(
        self,
        *,
        commands: Optional[Mapping[str, Answer]] = None,
        programs: Optional[Mapping[str, str]] = None,
        files: Optional[Mapping[str, FileData]] = None,
        dirs: Optional[Mapping[str, Sequence[str]]] = None,
        env: Optional[Mapping[str, str]] = None,
        mtimes: Optional[Mapping[str, float]] = None,
        handlers: Optional[Mapping[str, Handler]] = None,
        uid: int = 1000,
        arch: str = "x86_64",
        kernel_release: str = "6.1.0-56-amd64",
        readonly: Iterable[str] = (),
        symlinks: Optional[Mapping[str, str]] = None,
        specials: Optional[Mapping[str, str]] = None,
        write_errors: Optional[Mapping[str, int]] = None,
        maybe: Optional[Mapping[str, Answer]] = None,
        maybe_handlers: Optional[Mapping[str, Handler]] = None,
        lenient: str = "",
    ) -> None:
        self.commands: dict[str, Answer] = dict(commands or {})
        #: answers that may be asked, and may as well not be (``commands`` wins)
        self.maybe: dict[str, Answer] = dict(maybe or {})
        #: handlers that may go unasked (``handlers`` win)
        self.maybe_handlers: dict[str, Handler] = dict(maybe_handlers or {})
        #: why this fake answers anything unscripted with 127 and lets entries go unasked
        self.lenient = lenient
        #: every command no handler or answer scripted, in order
        self.unscripted: list[tuple[str, ...]] = []
        self._asked: set[str] = set()
        #: name -> full path of each executable on PATH
        self.programs: dict[str, str] = dict(programs or {})
        self.files: dict[str, FileData] = dict(files or {})
        self.dirs: dict[str, list[str]] = {k: list(v) for k, v in (dirs or {}).items()}
        self.env: Mapping[str, str] = dict(env or {"PATH": "/usr/bin:/bin"})
        #: modification times; a path that exists without one is as old as the epoch
        self.mtimes: dict[str, float] = dict(mtimes or {})
        self.handlers: dict[str, Handler] = dict(handlers or {})
        self.user_id = uid
        self.machine = arch
        self.release = kernel_release
        #: paths (and everything below them) that :meth:`is_writable` says no to
        self.readonly: list[str] = list(readonly)
        #: link -> absolute target, for :meth:`real_path`
        self.symlinks: dict[str, str] = dict(symlinks or {})
        #: paths that are there but not regular files: path -> what they are ("a FIFO (named
        #: pipe)", "a character device"); reading them is refused as the real machine does
        self.specials: dict[str, str] = dict(specials or {})
        #: writing at or below these paths fails with this errno (ENOSPC, EROFS, ...)
        self.write_errors: dict[str, int] = dict(write_errors or {})
        #: permissions given to written files (``write_file(mode=...)``)
        self.modes: dict[str, int] = {}
        self.calls: list[tuple[str, ...]] = []
        self.runs: list[tuple[str, ...]] = []
        #: every change to the file system, in order: (path, kind), kind one of "write",
        #: "backup", "mkdir", "tempdir", "remove", "rename", "copy", "log"
        self.writes: list[tuple[str, str]] = []
        self._log: list[Probe] = []
        self._lock = threading.RLock()
        self.locked: list[str] = []  # every artefact locked, in order; ``held``: held now
        self.held: set[str] = set()
        self._temp = 0
        _register(self)

    def _handler(self, argv: tuple[str, ...], table: Mapping[str, Handler]) -> Optional[Handler]:
        name = os.path.basename(argv[0])
        for key in (" ".join(argv), " ".join((name, *argv[1:])), argv[0], name):
            if key in table:
                self._asked.add(key)
                return table[key]
        return None

    def _handle(
        self,
        argv: tuple[str, ...],
        cwd: Optional[str],
        env: Mapping[str, str],
        table: Mapping[str, Handler],
    ) -> Optional[Answer]:
        handler = self._handler(argv, table)
        return handler(argv, cwd, dict(env)) if handler is not None else None

    def _scripted(self, key: str) -> Optional[Answer]:
        """The answer scripted for ``key`` (``commands`` first, then ``maybe``), now asked."""
        answer = self.commands.get(key, self.maybe.get(key))
        if answer is not None:
            self._asked.add(key)
        return answer

    def problems(self) -> list[str]:
        """What a strict fake saw go wrong: commands nobody scripted, entries nobody asked."""
        if self.lenient:
            return []
        with self._lock:
            asked = set(self._asked)
            lines = [f"unscripted: {' '.join(argv)}" for argv in self.unscripted]
        lines += [f"never asked: {k}" for k in (*self.commands, *self.handlers) if k not in asked]
        return lines

    def _answer(
        self,
        argv: tuple[str, ...],
        timeout: Optional[float],
        cwd: Optional[str],
        env: Optional[Mapping[str, str]] = None,
    ) -> Probe:
        if self.which(argv[0]) is None:
            return Probe(argv=argv, exit_code=None, error=command_not_found(), cwd=cwd)
        key = " ".join(argv)
        answer = self._handle(argv, cwd, env or {}, self.handlers)
        if answer is None:
            answer = self._scripted(key)
        if answer is None:
            # also accept the bare program name for a program given by full path
            answer = self._scripted(" ".join((os.path.basename(argv[0]), *argv[1:])))
        if answer is None:
            answer = self._per_name(argv)
        if answer is None:  # the machine's defaults come last
            answer = self._handle(argv, cwd, env or {}, self.maybe_handlers)
        if answer is None:
            with self._lock:
                self.unscripted.append(argv)
            return Probe(argv=argv, exit_code=127, stderr=f"fake: no answer for {key!r}", cwd=cwd)
        reply = Reply(stdout=answer) if isinstance(answer, str) else answer
        return Probe(
            argv=argv,
            exit_code=None if reply.timed_out else reply.exit_code,
            stdout=reply.stdout,
            stderr=reply.stderr,
            timed_out=reply.timed_out,
            timeout=timeout or 0.0,
            cwd=cwd,
            duration_ms=reply.duration_ms,
        )

    def _per_name(self, argv: tuple[str, ...]) -> Optional[Reply]:
        """A many-name package query answered from the one-name answers there are."""
        return per_name_reply(self._scripted, argv)

    def probe(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        cwd: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
    ) -> Probe:
        result = self._answer(tuple(argv), timeout, cwd, env)
        with self._lock:
            self.calls.append(tuple(argv))
            self._log.append(result)
        return result

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: Optional[float] = None,
        cwd: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        on_output: Optional[OutputCallback] = None,
        stop: Optional[threading.Event] = None,
    ) -> Probe:
        result = self._answer(tuple(argv), timeout, cwd, env)
        if on_output is not None and result.stdout:
            for line in result.stdout.splitlines(keepends=True):
                on_output(line)
        with self._lock:
            self.runs.append(tuple(argv))
            self._log.append(result)
        return result

    def which(self, name: str) -> Optional[str]:
        if "/" in name:
            return name if name in self.programs.values() else None
        return self.programs.get(name)

    def read_file(self, path: str, limit: int = TEXT_LIMIT) -> FileRead:
        path = self.real_path(path) if self.symlinks else path
        if path in self.specials:
            return FileRead(path, problem=not_regular(self.specials[path]))
        data = self.files.get(path)
        if data is None:
            if self.is_dir(path):
                return FileRead(path, problem=not_regular(kind_of(stat.S_IFDIR)))
            return FileRead(path)
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if len(raw) > limit:
            return FileRead(path, problem=larger_than(f"{limit} bytes"))
        return FileRead(path, raw)

    def read_text(self, path: str, limit: int = TEXT_LIMIT) -> Optional[str]:
        data = self.files.get(path)
        if isinstance(data, str) and path not in self.specials and not self.symlinks:
            return data if len(data) <= limit else None
        return self.read_file(path, limit).text()

    def read_bytes(self, path: str, limit: Optional[int] = None) -> Optional[bytes]:
        if limit is None:
            return self.read_file(path, BYTES_LIMIT).data
        found = self.read_file(path, 1 << 62)
        return None if found.data is None else found.data[:limit]

    def exists(self, path: str) -> bool:
        return path in self.files or path in self.programs.values() or self.is_dir(path)

    def is_file(self, path: str) -> bool:
        return path in self.files or path in self.programs.values()

    def is_dir(self, path: str) -> bool:
        prefix = path.rstrip("/") + "/"
        return (
            path in self.dirs
            or any(p.startswith(prefix) for p in self.files)
            or any(p.startswith(prefix) for p in self.dirs)
        )

    def is_writable(self, path: str) -> bool:
        return not any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.readonly)

    def real_path(self, path: str) -> str:
        resolved = os.path.normpath(path if path.startswith("/") else "/" + path)
        for _hop in range(40):  # as many links as the kernel follows
            parts = resolved.split("/")
            for i in range(len(parts), 1, -1):
                link = self.symlinks.get("/".join(parts[:i]))
                if link is not None:
                    resolved = os.path.normpath("/".join([link, *parts[i:]]))
                    break
            else:
                return resolved
        return resolved

    def listdir(self, path: str) -> list[str]:
        names = set(self.dirs.get(path, []))
        prefix = path.rstrip("/") + "/"
        for known in (*self.files, *self.dirs):
            if known.startswith(prefix) and len(known) > len(prefix):
                names.add(known[len(prefix) :].split("/", 1)[0])
        return sorted(names)

    def mtime(self, path: str) -> Optional[float]:
        if path in self.mtimes:
            return self.mtimes[path]
        return 0.0 if self.exists(path) else None

    def identity(self, path: str) -> Optional[tuple[int, int, int, int]]:
        """Size and mtime from ``files``/``mtimes``; a stable per-path inode; device 0."""
        if not self.exists(path):
            return None
        data = self.files.get(path, b"")
        size = len(data.encode() if isinstance(data, str) else data)
        inode = int.from_bytes(path.encode()[-8:].rjust(8, b"\0"), "big") % (1 << 31)
        return (size, int((self.mtime(path) or 0.0) * 1e9), inode, 0)

    def probes(self) -> list[Probe]:
        with self._lock:
            return list(self._log)

    # -- who and what this machine is ---------------------------------------------------
    def uid(self) -> int:
        return self.user_id

    def arch(self) -> str:
        return self.machine

    def kernel_release(self) -> str:
        return self.release

    # -- changing files: in memory, each change recorded in ``writes`` ---------------------
    def write_file(
        self,
        path: str,
        data: FileData,
        *,
        backup: bool = False,
        mode: Optional[int] = None,
    ) -> Optional[str]:
        with self._lock:
            path = self.real_path(path) if self.symlinks else path
            self._refuse(path, file=True)
            if path in self.specials:
                raise not_replaced(path, self.specials[path])
            saved: Optional[str] = None
            if backup and path in self.files:
                number = 1
                while f"{path}.~{number}~" in self.files:
                    number += 1
                saved = f"{path}.~{number}~"
                self.files[saved] = self.files[path]
                self.writes.append((saved, "backup"))
            self.files[path] = data
            self.mtimes[path] = time.time()  # written now, as a real file system says
            if mode is not None:
                self.modes[path] = mode
            self.writes.append((path, "write"))
            return saved

    def _refuse(self, path: str, *, file: bool = False) -> None:
        """Fail as the real machine would where ``write_errors`` says so, or a file is in the
        way (a ``file``'s own directory is made as such: a file there EEXISTs)."""
        for root, code in self.write_errors.items():
            if within(path, root):
                raise place_error(path, OSError(code, os.strerror(code), path))
        parent = os.path.dirname(path)
        while parent not in ("", "/"):
            if parent in self.files:
                code = errno.EEXIST if file and parent == os.path.dirname(path) else errno.ENOTDIR
                reason = in_the_way(parent, kind_of(stat.S_IFREG))
                raise PlaceError(path, reason, remedy(code), code)
            parent = os.path.dirname(parent)

    def makedirs(self, path: str) -> None:
        with self._lock:
            self._refuse(path)
            if path in self.files:
                reason = in_the_way(path, kind_of(stat.S_IFREG))
                raise PlaceError(path, reason, remedy(errno.EEXIST), errno.EEXIST)
            if not self.is_dir(path):
                self.dirs[path] = []
            self.writes.append((path, "mkdir"))

    def make_temp_dir(self, prefix: str, parent: str) -> str:
        with self._lock:
            self._refuse(parent)
            self._temp += 1
            path = os.path.join(parent, f"{prefix}{self._temp:04d}")
            self.dirs[path] = []
            self.writes.append((path, "tempdir"))
            return path

    def remove_tree(self, path: str) -> None:
        with self._lock:
            drop(self.files, path)
            drop(self.dirs, path)
            drop(self.mtimes, path)
            drop(self.modes, path)
            parent = self.dirs.get(os.path.dirname(path))
            if parent is not None and os.path.basename(path) in parent:
                parent.remove(os.path.basename(path))
            self.writes.append((path, "remove"))

    def rename(self, source: str, target: str) -> None:
        with self._lock:
            if not self.exists(source):
                raise FileNotFoundError(source)
            move(self.files, source, target)
            move(self.dirs, source, target)
            move(self.mtimes, source, target)
            move(self.modes, source, target)
            parent = self.dirs.get(os.path.dirname(source))
            if parent is not None and os.path.basename(source) in parent:
                parent.remove(os.path.basename(source))
            self.writes.append((target, "rename"))

    def copy_tree(self, source: str, target: str) -> None:
        with self._lock:
            prefix = source.rstrip("/") + "/"
            for path in sorted(p for p in self.files if p.startswith(prefix)):
                rel = path[len(prefix) :]
                if "__pycache__" in rel.split("/")[:-1]:
                    continue
                dst = os.path.join(target, rel)
                if self.files.get(dst) == self.files[path] and self.mtime(dst) == self.mtime(path):
                    continue
                self.files[dst] = self.files[path]
                if path in self.mtimes:
                    self.mtimes[dst] = self.mtimes[path]
                self.writes.append((dst, "copy"))
            if not self.is_dir(target):
                self.dirs[target] = []

    @contextmanager
    def lock(self, path: str, on_wait: Optional[Callable[[str], None]] = None) -> Iterator[None]:
        self.locked.append(path)
        self.held.add(path)
        try:
            yield
        finally:
            self.held.discard(path)

    def open_log(self, path: str, *, append: bool = False) -> TextIO:
        with self._lock:
            self._refuse(path, file=True)
            if not append or path not in self.files:
                self.files[path] = ""
            self.writes.append((path, "log"))
        return FakeLog(self.files, self._lock, path)


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


# -- strict: every fake a test makes is checked when the test ends (tests/conftest.py) ----------
_watch_lock = threading.Lock()
_watched: Optional[list[FakeSystem]] = None


def _register(fake: FakeSystem) -> None:
    with _watch_lock:
        if _watched is not None:
            _watched.append(fake)


@contextmanager
def watching() -> Iterator[list[FakeSystem]]:
    """Every FakeSystem made inside (on any thread), for :func:`check_fakes`; a watch inside
    another keeps its fakes to itself."""
    global _watched
    made: list[FakeSystem] = []
    with _watch_lock:
        outer, _watched = _watched, made
    try:
        yield made
    finally:
        with _watch_lock:
            _watched = outer


def check_fakes(fakes: Iterable[FakeSystem]) -> None:
    """Fail (AssertionError) when a strict fake was asked a command nobody scripted, or a
    scripted command nobody asked, naming each."""
    lines = [f"  fake #{n}: {p}" for n, f in enumerate(fakes, 1) for p in f.problems()]
    if lines:
        raise AssertionError(
            "a strict FakeSystem saw commands nobody scripted or scripted commands nobody "
            "asked (script the answer, Reply(exit_code=127) for 'not found', pass optional "
            "answers as maybe=, or FakeSystem(lenient='why')):\n" + "\n".join(lines)
        )


# -- apt's answers, scripted ---------------------------------------------------------------------
def apt_unknown(*names: str) -> dict[str, Answer]:
    """What ``apt-cache policy NAME`` answers for a package apt does not know (nothing), for
    each of ``names``: a many-name query is answered from these as from any one-name answer."""
    return {f"apt-cache policy {name}": "" for name in names}


def apt_archive(*unknown: str) -> Handler:
    """An ``apt-cache`` handler for a machine whose apt knows every package but ``unknown``:
    ``apt-cache policy`` gives each a candidate; other apt-cache questions fall through."""

    def policy(
        argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]
    ) -> Optional[Answer]:
        if argv[1:2] != ("policy",):
            return None
        known = [name for name in argv[2:] if name not in unknown]
        return "".join(f"{name}:\n  Installed: (none)\n  Candidate: 1.0-1\n" for name in known)

    return policy
