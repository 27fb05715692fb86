"""Signals delivered at a chosen moment, not after a guessed delay: the test's own process
sends itself the signal from the main thread (it is handled before the next statement), at a
point kdoctor's code names (:data:`kdoctor.machine.runner.moment`) or a callback reaches."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Optional

import pytest

from kdoctor.machine import lifecycle
from kdoctor.machine import runner as runner_module

#: who handles the signal in the test's process: Python's default (``KeyboardInterrupt``, as
#: when kdoctor's code is used as a library) or kdoctor's entry point (:mod:`lifecycle`)
HANDLERS = ("python", "kdoctor")
STOPPED: dict[str, type[BaseException]] = {
    "python": KeyboardInterrupt,
    "kdoctor": lifecycle.Interrupted,
}


def send(signum: int = signal.SIGINT) -> None:
    """The signal, to this process, from its main thread: it is pending when this returns."""
    os.kill(os.getpid(), signum)


@contextmanager
def handled_by(handler: str) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP handled as ``handler`` says for the block (SIGTERM and SIGHUP
    are not sent to Python's default: they would end the test run)."""
    saved = {sig: signal.getsignal(sig) for sig in lifecycle.HANDLED}
    lifecycle.reset()
    try:
        if handler == "kdoctor":
            foreground()  # as kdoctor starts from a terminal (this run may ignore SIGINT)
            lifecycle.install()
        else:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)
        lifecycle.reset()


def at_moment(
    monkeypatch: pytest.MonkeyPatch,
    point: str,
    signum: int = signal.SIGINT,
    ready: Optional[Callable[[], bool]] = None,
) -> Callable[[], int]:
    """Send ``signum`` once, when the runner reaches ``point`` (``armed``, ``started``) and,
    when given, ``ready()`` holds (a barrier: e.g. the command has written its pid); the
    returned function tells how many times the point was reached."""
    reached = [0]

    def moment(where: str) -> None:
        if where == point:
            reached[0] += 1
            if reached[0] == 1:
                if ready is not None:
                    assert wait_until(ready), f"never ready at {point}"
                send(signum)

    monkeypatch.setattr(runner_module, "moment", moment)
    return lambda: reached[0]


def wait_until(predicate: Callable[[], bool], seconds: float = 60.0) -> bool:
    """``predicate`` became true within ``seconds`` (a generous bound, which only a hung test
    reaches: a busy machine is slow, not wrong)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def pid_in(path: Path) -> Callable[[], bool]:
    """Whether a command has written its pid to ``path`` (it runs)."""
    return lambda: path.exists() and path.read_text().strip().isdigit()


def foreground() -> None:
    """``preexec_fn`` of a kdoctor a test signals: SIGINT, SIGTERM and SIGHUP at their defaults,
    as a command typed at a terminal starts (a test run started in the background of a shell
    script has SIGINT ignored, and kdoctor keeps a signal ignored that it started with)."""
    for sig in lifecycle.HANDLED:
        signal.signal(sig, signal.SIG_DFL)
