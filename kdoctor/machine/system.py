"""The machine as kdoctor sees it: the one interface through which everything is observed.

Checks and fixes never touch subprocesses or the file system directly; they receive a
:class:`System`. :class:`kdoctor.machine.runner.Runner` is the real one (the only user of ``sh``);
:class:`kdoctor.machine.fake.FakeSystem` is the one tests use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Callable, Optional, Protocol

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Probe:
    """The outcome of one command: what ran, how it ended, what it said."""

    argv: tuple[str, ...]
    exit_code: Optional[int]
    stdout: str = ""
    stderr: str = ""
    duration_ms: float = 0.0
    timed_out: bool = False
    #: why the command could not even start (not found, not executable, ...)
    error: Optional[str] = None
    cwd: Optional[str] = None
    timeout: float = field(default=DEFAULT_TIMEOUT, compare=False)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and self.error is None

    @property
    def output(self) -> str:
        """stdout and stderr together (many tools print versions on stderr)."""
        if self.stdout and self.stderr:
            return self.stdout + "\n" + self.stderr
        return self.stdout or self.stderr

    def describe_failure(self) -> str:
        """One line that names why the command did not succeed."""
        name = self.argv[0] if self.argv else "?"
        if self.error:
            return f"{name}: {self.error}"
        if self.timed_out:
            return f"{name} did not answer within {self.timeout:g} s (killed)"
        tail = (self.stderr or self.stdout).strip().splitlines()
        last = tail[-1] if tail else "no output"
        return f"{name} exited with status {self.exit_code}: {last}"


OutputCallback = Callable[[str], None]


class System(Protocol):
    """What checks may observe and what applying a plan may change."""

    #: the environment kdoctor was started with (read only)
    env: Mapping[str, str]

    def probe(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        cwd: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
    ) -> Probe:
        """Run a read-only command, at most once per invocation (results are cached)."""
        ...

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: Optional[float] = None,
        cwd: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        on_output: Optional[OutputCallback] = None,
    ) -> Probe:
        """Run a command that may change the machine; never cached."""
        ...

    def which(self, name: str) -> Optional[str]:
        """Resolve a command name (or path) the way a shell would, using ``env['PATH']``."""
        ...

    def read_text(self, path: str) -> Optional[str]:
        """A file's text, or None when it is missing or unreadable."""
        ...

    def exists(self, path: str) -> bool: ...

    def listdir(self, path: str) -> list[str]:
        """Names in a directory (sorted), empty when it is missing."""
        ...

    def mtime(self, path: str) -> Optional[float]:
        """When a file or directory last changed (seconds since the epoch), None when missing."""
        ...

    def probes(self) -> list[Probe]:
        """Every command run so far, in the order they finished."""
        ...
