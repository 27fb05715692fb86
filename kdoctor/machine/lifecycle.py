"""What kdoctor started and must not leave behind: the process group of every running command
and every scratch directory, and what happens to them on Ctrl-C, SIGTERM and SIGHUP.

:class:`~kdoctor.machine.runner.Runner` starts each command in its own session (so its own
process group) and records the group here while it runs; scratch directories made with
``make_temp_dir`` are recorded until removed. A signal marks the run as stopping (no new command
starts), sends SIGTERM to every recorded group and raises :class:`Interrupted` in the main
thread (in a deferred section -- kdoctor starting up, a command being started, a document being
written -- at its end); the entry point then calls :func:`shutdown`, which kills what is left
(SIGKILL) and removes the scratch directories, and exits with ``128 + signal``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn, Optional

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_lock = threading.Lock()
_groups: set[int] = set()
_scratch: set[str] = set()
_stopping: Optional[int] = None


class Interrupted(BaseException):
    """kdoctor received ``signum``; not an ``Exception``, so nothing on the way up swallows it
    (and not a ``KeyboardInterrupt``, which click turns into "Aborted!" and exit 1)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def stopping() -> Optional[int]:
    """The signal that is stopping this run, or None."""
    return _stopping


def track(pgid: int) -> None:
    with _lock:
        _groups.add(pgid)
    if _stopping is not None:  # started while a signal was handled: it goes too
        _kill(pgid, signal.SIGTERM)


def untrack(pgid: int) -> None:
    with _lock:
        _groups.discard(pgid)


def running() -> list[int]:
    with _lock:
        return sorted(_groups)


def add_scratch(path: str) -> None:
    with _lock:
        _scratch.add(path)


def drop_scratch(path: str) -> None:
    with _lock:
        _scratch.discard(path)


def _kill(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except OSError:
        return False


_deferring = 0  # > 0 while the main thread is in a section a signal must not cut (deferred)
#: a signal received and not yet acted on: raised at the next safe point (:func:`check`) when
#: it arrived in a deferred section, or when the exception its handler raised was swallowed
#: (a handler that runs inside a finalizer, ``__del__``, raises into nothing)
_pending: Optional[int] = None


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def check() -> None:
    """A safe point: act on a signal received and not acted on yet (main thread only; in
    another thread a stopping run shows as :func:`stopping`). It stays pending until whoever
    stops for it says so (:func:`handled`): a raise swallowed on the way is raised again."""
    if _pending is not None and _main_thread():
        raise Interrupted(_pending)


def handled() -> None:
    """The signal being stopped for was acted on (its :class:`Interrupted` caught and reported):
    no safe point raises it again."""
    global _pending
    _pending = None


@contextmanager
def starting() -> Iterator[None]:
    """A deferred section of the main thread (starting a command and recording its group,
    writing a document whole): a signal that arrives in it is raised when the block ends (a
    command is recorded by then, so it is stopped too), or at a :func:`check` inside it."""
    global _deferring
    if not _main_thread():
        yield
        return
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
    if _deferring == 0:
        check()


def _handler(signum: int, frame: Optional[FrameType]) -> None:
    global _stopping, _pending
    first = _stopping is None
    if first:
        _stopping = signum
    for pgid in running():
        _kill(pgid, signal.SIGTERM)
    if not first:  # a second signal while cleaning up must not cut the cleanup short
        return
    _pending = signum  # acted on here, or at the next safe point when deferred or swallowed
    if not _deferring:
        check()


def install(*, deferring: bool = False, received: Sequence[int] = ()) -> None:
    """Handle SIGINT, SIGTERM and SIGHUP (main thread only); a signal ignored when kdoctor
    started (``nohup``, a background job of a shell without job control) stays ignored.

    ``deferring``: kdoctor is starting; a signal is recorded and acted on at :func:`started`.
    ``received``: the signals a handler installed before this one recorded (the first is the
    one kdoctor stops for)."""
    global _deferring, _stopping, _pending
    if deferring:
        _deferring += 1
    for sig in HANDLED:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, _handler)
    if received and _stopping is None:
        _stopping = _pending = received[0]
        if not _deferring:
            check()


def started() -> None:
    """The end of kdoctor's start-up (installed with ``deferring``): a signal that arrived
    during it is acted on now."""
    global _deferring
    _deferring = max(0, _deferring - 1)
    if _deferring == 0:
        check()


def finishing(said: str) -> None:
    """kdoctor's command ended and everything it printed is out: from now on a signal ends the
    process at once with ``128 + signal`` (``said`` written to stderr, ``{signal}`` in it
    replaced by the signal's name), whatever the interpreter does while it exits."""

    def final(signum: int, frame: Optional[FrameType]) -> None:
        with contextlib.suppress(Exception):
            shutdown(grace=0.5)
            os.write(2, (said.format(signal=signal.Signals(signum).name) + "\n").encode())
        os._exit(128 + signum)

    for sig in HANDLED:
        if signal.getsignal(sig) is _handler:
            signal.signal(sig, final)


def shutdown(grace: float = 2.0) -> None:
    """Stop every command still running (SIGTERM, then SIGKILL after ``grace`` seconds) and
    remove every scratch directory."""
    groups = running()
    for pgid in groups:
        _kill(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while groups and time.monotonic() < deadline:
        groups = [g for g in groups if _kill(g, 0)]
        time.sleep(0.05)
    for pgid in groups:
        _kill(pgid, signal.SIGKILL)
    with _lock:
        _groups.clear()
        scratch = sorted(_scratch)
        _scratch.clear()
    for path in scratch:
        shutil.rmtree(path, ignore_errors=True)


def reset() -> None:
    """Forget everything (for tests that simulate a signal in-process)."""
    global _stopping, _pending, _deferring
    with _lock:
        _groups.clear()
        _scratch.clear()
    _stopping = _pending = None
    _deferring = 0


#: stdout's reader went away: 128 + SIGPIPE, as a shell reports it
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE


def broken_pipe() -> NoReturn:
    """stdout's reader went away (``kdoctor check | head -1``): stop every command kdoctor
    started and end at once, quietly, with :data:`EXIT_BROKEN_PIPE` (the interpreter would
    complain when it flushes stdout at exit: stdout is the null device first)."""
    shutdown()
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    os._exit(EXIT_BROKEN_PIPE)
