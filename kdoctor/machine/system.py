"""The machine as kdoctor sees it: the one door through which everything is observed or changed.

Detection, checks, fixes, planning, applying, building and verifying never touch subprocesses,
the file system or the process's identity directly; they receive a :class:`System`.
:class:`kdoctor.machine.runner.Runner` is the real one (the only user of ``sh``, ``open`` for
writing, ``shutil`` and ``tempfile``); :class:`tests.fake_system.FakeSystem` is the one tests
use: an in-memory machine that records every command it runs and every file it changes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Callable, Optional, Protocol, TextIO, Union

from kdoctor.i18n import _
from kdoctor.machine.files import TEXT_LIMIT, FileRead

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
            return _("{command} did not answer within {seconds} s (killed)").format(
                command=name, seconds=f"{self.timeout:g}"
            )
        tail = (self.stderr or self.stdout).strip().splitlines()
        last = tail[-1] if tail else _("no output")
        return _("{command} exited with status {status}: {output}").format(
            command=name, status=self.exit_code, output=last
        )


@dataclass(frozen=True)
class Ownership:
    """Who owns a file or directory and who may change it, as ``stat`` says (following
    symlinks): what kdoctor asks before it trusts something it reads from its cache or
    settings (:mod:`kdoctor.machine.trust`)."""

    uid: int
    gid: int
    #: the file's type and permission bits (``st_mode``)
    mode: int
    #: the owner's and the group's names (the number, as text, when the system has none)
    user: str
    group: str

    @property
    def others_may_write(self) -> bool:
        """Its group or everybody may change it (or, for a directory, what it holds)."""
        return bool(self.mode & 0o022)


def command_not_found() -> str:
    """Why a program that is not on PATH did not start (:attr:`Probe.error`)."""
    return _("command not found")


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
        stop: Optional[threading.Event] = None,
    ) -> Probe:
        """Run a command that may change the machine; never cached. Setting ``stop`` ends it
        early, its whole process group killed, as a timeout would (``timed_out``)."""
        ...

    def which(self, name: str) -> Optional[str]:
        """Resolve a command name (or path) the way a shell would, using ``env['PATH']``."""
        ...

    def read_text(self, path: str, limit: int = TEXT_LIMIT) -> Optional[str]:
        """A regular file's text (invalid UTF-8 as U+FFFD), or None when it is missing,
        unreadable, not a regular file (a FIFO is never opened for a blocking read) or larger
        than ``limit`` bytes (1 MiB unless told)."""
        ...

    def read_file(self, path: str, limit: int = TEXT_LIMIT) -> FileRead:
        """Like :meth:`read_text`, but says why a file that is there was not read (a FIFO, a
        device, a directory, too big, unreadable), so a finding can name the cause."""
        ...

    def exists(self, path: str) -> bool: ...

    def listdir(self, path: str) -> list[str]:
        """Names in a directory (sorted), empty when it is missing."""
        ...

    def mtime(self, path: str) -> Optional[float]:
        """When a file or directory last changed (seconds since the epoch), None when missing."""
        ...

    def identity(self, path: str) -> Optional[tuple[int, int, int, int]]:
        """What tells one version of a file from another without reading it: (size, mtime in
        ns, inode, device), following symlinks; None when it is missing. Caches keyed on it are
        invalidated by any replacement of the file (a package upgrade, a rebuild, a copy)."""
        ...

    def ownership(self, path: str) -> Optional[Ownership]:
        """Who owns ``path`` (following symlinks), its group, type and permissions; None when
        it is missing or cannot be looked at."""
        ...

    def probes(self) -> list[Probe]:
        """Every command run so far, in the order they finished."""
        ...

    # -- who and what this machine is (read only) ------------------------------------------
    def uid(self) -> int:
        """The effective user id kdoctor runs as (0 is root)."""
        ...

    def arch(self) -> str:
        """The hardware name, as ``uname -m`` prints it (``x86_64``, ``aarch64``)."""
        ...

    def kernel_release(self) -> str:
        """The running kernel's release, as ``uname -r`` prints it."""
        ...

    # -- reading files -------------------------------------------------------------------
    def read_bytes(self, path: str, limit: Optional[int] = None) -> Optional[bytes]:
        """A regular file's first ``limit`` bytes (all of it without a limit, when it is at most
        512 MiB); None when it is missing, unreadable, not a regular file or too big."""
        ...

    def is_file(self, path: str) -> bool:
        """Whether ``path`` is a regular file (following symlinks)."""
        ...

    def is_dir(self, path: str) -> bool:
        """Whether ``path`` is a directory (following symlinks)."""
        ...

    def is_writable(self, path: str) -> bool:
        """Whether kdoctor may change ``path`` (for a directory: create files in it)."""
        ...

    def real_path(self, path: str) -> str:
        """``path`` made absolute with every symlink resolved (``os.path.realpath``)."""
        ...

    # -- changing files (each call is a change the fake records) -------------------------
    def write_file(
        self,
        path: str,
        data: Union[str, bytes],
        *,
        backup: bool = False,
        mode: Optional[int] = None,
    ) -> Optional[str]:
        """Replace ``path`` atomically with ``data`` (text is written as UTF-8), creating its
        directory; a symlink is written through; keep the old file as the next numbered backup
        ``path.~N~`` when ``backup``; ``mode`` sets the permissions (else the old file's mode
        and owner are kept). Returns the backup's path when one was made. Raises
        :class:`~kdoctor.machine.files.PlaceError` when it cannot."""
        ...

    def makedirs(self, path: str) -> None:
        """Create a directory and its parents; nothing when it exists; a
        :class:`~kdoctor.machine.files.PlaceError` when it cannot (a file is in the way, a
        read-only file system, ...)."""
        ...

    def make_temp_dir(self, prefix: str, parent: str) -> str:
        """A new, empty, uniquely named directory ``<parent>/<prefix>XXXX`` (``parent`` is
        created when missing); returns its path."""
        ...

    def remove_tree(self, path: str) -> None:
        """Remove a file or a directory with everything in it; nothing when it is missing."""
        ...

    def rename(self, source: str, target: str) -> None:
        """Move ``source`` to ``target`` in one step (``os.replace``: ``target`` is replaced)."""
        ...

    def copy_tree(self, source: str, target: str) -> list[str]:
        """Bring ``target`` up to date with the files of ``source``: copy those missing or
        differing in size or mtime, keeping their mtimes (so make's timestamps stay useful);
        ``__pycache__`` directories and anything that is not a regular file (a FIFO, a device)
        are skipped, nothing is deleted. Returns the dangling links it left out (an editor's
        lock file), for the caller to say so."""
        ...

    def lock(
        self, path: str, on_wait: Optional[Callable[[str], None]] = None
    ) -> AbstractContextManager[None]:
        """Hold the exclusive lock of the cache artefact ``path`` (``<path>.lock`` next to it)
        while the block runs; when another kdoctor holds it, ``on_wait`` hears a sentence that
        says so before this one waits."""
        ...

    def open_log(self, path: str, *, append: bool = False) -> TextIO:
        """A text handle writing to ``path`` (truncated, or appended to with ``append``),
        creating its directory; the caller closes it. Written lines are readable through
        :meth:`read_text` as soon as they are flushed."""
        ...
