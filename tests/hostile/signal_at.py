"""Start kdoctor as its console script does (``from kdoctor.__main__ import run; run()``) and
send it a signal at a chosen moment of its own code, not after a guessed delay: the moments are
counted from kdoctor's entry point, whatever the interpreter's start-up cost on a busy machine.

Usage: ``python signal_at.py SIGNAL WHEN KDOCTOR-ARGS...`` where ``WHEN`` is

- ``line:N``: as line ``N`` of ``kdoctor/__main__.py`` is about to run (its first time);
- ``after:MS``: ``MS`` milliseconds after kdoctor's first statement began (0: at once; when
  kdoctor's command ends sooner, the signal comes as the process exits);
- ``lines``: no signal; print the lines of ``kdoctor/__main__.py`` that ran, one a line, to
  the file named by ``KDOCTOR_TEST_LINES`` (what a sweep over ``line:N`` goes through).

The signal is sent with ``os.kill`` to this process, from a trace function (so it arrives
between two statements of kdoctor's) or from a timer thread (``after:MS``)."""

from __future__ import annotations

import linecache
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any, Callable, Optional

ENTRY = os.path.join("kdoctor", "__main__.py")
Tracer = Callable[[FrameType, str, Any], Any]


def _no_statement(frame: FrameType) -> bool:
    """The module's docstring and its ``try:``: no instruction there where the interpreter acts
    on a signal (it does so at the next call or loop), so a signal sent from the trace function
    as they begin stands for one that arrived before kdoctor's first statement -- the
    interpreter's start-up, not kdoctor's."""
    text = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return frame.f_lineno == 1 or text == "try:" or text.startswith("try:  #")


def _send(signum: int) -> None:
    os.kill(os.getpid(), signum)


def main() -> None:
    signum = int(signal.Signals[sys.argv[1]])
    when = sys.argv[2]
    sys.argv = ["kdoctor", *sys.argv[3:]]
    ran: list[int] = []
    fired = threading.Event()
    timers: list[threading.Timer] = []

    def at_line(frame: FrameType, event: str, arg: Any) -> Optional[Tracer]:
        if event != "line" or fired.is_set():
            return at_line if not fired.is_set() else None
        if frame.f_code.co_name == "<module>" and _no_statement(frame):
            return at_line
        if when == "lines":
            if frame.f_lineno not in ran:
                ran.append(frame.f_lineno)
            return at_line
        kind, _, value = when.partition(":")
        if kind == "line" and frame.f_lineno == int(value):
            fired.set()
            sys.settrace(None)
            _send(signum)
        elif kind == "after":
            fired.set()
            sys.settrace(None)
            delay = int(value) / 1000
            if delay == 0:
                _send(signum)
            else:
                timer = threading.Timer(delay, _send, (signum,))
                timer.daemon = True
                timers.append(timer)
                timer.start()
        return None if fired.is_set() else at_line

    def on_call(frame: FrameType, event: str, arg: Any) -> Optional[Tracer]:
        if fired.is_set():
            return None
        if frame.f_code.co_filename.endswith(ENTRY):
            return at_line
        return None

    signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's, as from a terminal
    sys.settrace(on_call)
    try:
        from kdoctor.__main__ import run

        run()
    finally:
        sys.settrace(None)
        for timer in timers:  # kdoctor ended first: the signal comes as it exits
            timer.join()
        if when == "lines":
            with open(os.environ["KDOCTOR_TEST_LINES"], "w", encoding="utf-8") as out:
                out.write("".join(f"{n}\n" for n in ran))


if __name__ == "__main__":
    main()
