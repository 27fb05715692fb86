"""An in-memory :class:`~kdoctor.machine.system.System` for tests: a machine as a few dicts,
strict about the commands a test scripts (see :class:`FakeSystem`)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Optional, Union

from kdoctor.machine.system import DEFAULT_TIMEOUT, OutputCallback, Probe, command_not_found
from tests.fake_files import FakeFiles, FileData, Owner

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


class FakeSystem(FakeFiles):
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
    identity questions answer (an ordinary user on x86_64 running 6.1.0-56-amd64 unless told);
    ``owners`` who owns a path (its file system is :class:`tests.fake_files.FakeFiles`).
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
        owners: Optional[Mapping[str, Owner]] = None,
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
        #: who owns what (path -> (uid, permission bits[, group])): see :meth:`ownership`
        self.owners: dict[str, Owner] = dict(owners or {})
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
