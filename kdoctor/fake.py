"""An in-memory :class:`~kdoctor.system.System` for tests: a whole machine as a few dicts."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional, Union

from kdoctor.system import DEFAULT_TIMEOUT, OutputCallback, Probe


@dataclass(frozen=True)
class Reply:
    """What a faked command answers."""

    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0
    timed_out: bool = False


Answer = Union[Reply, str]


class FakeSystem:
    """Commands answer from ``commands`` (keyed by the argv joined with spaces, the first word
    resolved through ``programs``); files come from ``files``.

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
    ) -> None:
        self.commands: dict[str, Answer] = dict(commands or {})
        #: name -> full path of each executable on PATH
        self.programs: dict[str, str] = dict(programs or {})
        self.files: dict[str, str] = dict(files or {})
        self.dirs: dict[str, list[str]] = {k: list(v) for k, v in (dirs or {}).items()}
        self.env: Mapping[str, str] = dict(env or {"PATH": "/usr/bin:/bin"})
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

    def probes(self) -> list[Probe]:
        with self._lock:
            return list(self._log)
