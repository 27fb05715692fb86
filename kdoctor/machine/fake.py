"""An in-memory :class:`~kdoctor.machine.system.System` for tests: a machine as a few dicts."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional, Union

from kdoctor.machine.system import DEFAULT_TIMEOUT, OutputCallback, Probe


@dataclass(frozen=True)
class Reply:
    """What a faked command answers."""

    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0
    timed_out: bool = False


Answer = Union[Reply, str]

#: package queries that take many names and answer for each in turn; the fake answers such a
#: query from its one-name answers (``apt-cache policy a b`` = ``apt-cache policy a`` + ``... b``)
PER_NAME_QUERIES: tuple[tuple[str, ...], ...] = (
    ("apt-cache", "policy"),
    ("dnf", "-q", "list", "--available"),
    ("pacman", "-Si"),
    ("zypper", "-q", "info"),
)


class FakeSystem:
    """Commands answer from ``commands`` (keyed by the argv joined with spaces, the first word
    resolved through ``programs``); files come from ``files``, their times from ``mtimes``.
    A package query for several names (see :data:`PER_NAME_QUERIES`) without an answer of its
    own answers with the one-name answers it has, in order; a name without one is unknown.

    Every call is recorded in ``calls`` (probes) and ``runs`` (mutating commands), so tests can
    assert what ran and that a dry run changed nothing.
    """

    def __init__(
        self,
        *,
        commands: Optional[Mapping[str, Answer]] = None,
        programs: Optional[Mapping[str, str]] = None,
        files: Optional[Mapping[str, str]] = None,
        dirs: Optional[Mapping[str, Sequence[str]]] = None,
        env: Optional[Mapping[str, str]] = None,
        mtimes: Optional[Mapping[str, float]] = None,
    ) -> None:
        self.commands: dict[str, Answer] = dict(commands or {})
        #: name -> full path of each executable on PATH
        self.programs: dict[str, str] = dict(programs or {})
        self.files: dict[str, str] = dict(files or {})
        self.dirs: dict[str, list[str]] = {k: list(v) for k, v in (dirs or {}).items()}
        self.env: Mapping[str, str] = dict(env or {"PATH": "/usr/bin:/bin"})
        #: modification times; a path that exists without one is as old as the epoch
        self.mtimes: dict[str, float] = dict(mtimes or {})
        self.calls: list[tuple[str, ...]] = []
        self.runs: list[tuple[str, ...]] = []
        self._log: list[Probe] = []
        self._lock = threading.Lock()

    def _answer(self, argv: tuple[str, ...], timeout: Optional[float], cwd: Optional[str]) -> Probe:
        if self.which(argv[0]) is None:
            return Probe(argv=argv, exit_code=None, error="command not found", cwd=cwd)
        key = " ".join(argv)
        answer = self.commands.get(key)
        if answer is None:
            # also accept the bare program name for a program given by full path
            answer = self.commands.get(" ".join((os.path.basename(argv[0]), *argv[1:])))
        if answer is None:
            answer = self._per_name(argv)
        if answer is None:
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
        )

    def _per_name(self, argv: tuple[str, ...]) -> Optional[Reply]:
        """A many-name package query answered from the one-name answers there are."""
        words = (os.path.basename(argv[0]), *argv[1:])
        for prefix in PER_NAME_QUERIES:
            names = words[len(prefix) :]
            if words[: len(prefix)] != prefix or len(names) < 2:
                continue
            parts = [self.commands.get(" ".join((*prefix, name))) for name in names]
            replies = [Reply(stdout=p) if isinstance(p, str) else p for p in parts if p is not None]
            if not replies:
                return None
            return Reply(
                stdout="".join(_line_ended(r.stdout) for r in replies),
                stderr="".join(_line_ended(r.stderr) for r in replies),
                exit_code=max(r.exit_code for r in replies),
                timed_out=any(r.timed_out for r in replies),
            )
        return None

    def probe(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        cwd: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
    ) -> Probe:
        result = self._answer(tuple(argv), timeout, cwd)
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
    ) -> Probe:
        result = self._answer(tuple(argv), timeout, cwd)
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

    def read_text(self, path: str) -> Optional[str]:
        return self.files.get(path)

    def exists(self, path: str) -> bool:
        prefix = path.rstrip("/") + "/"
        return (
            path in self.files
            or path in self.dirs
            or path in self.programs.values()
            or any(p.startswith(prefix) for p in self.files)
        )

    def listdir(self, path: str) -> list[str]:
        return sorted(self.dirs.get(path, []))

    def mtime(self, path: str) -> Optional[float]:
        if path in self.mtimes:
            return self.mtimes[path]
        return 0.0 if self.exists(path) else None

    def probes(self) -> list[Probe]:
        with self._lock:
            return list(self._log)


def _line_ended(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"
