"""``python -m kdoctor`` and the ``kdoctor`` console script: the entry point, which turns Ctrl-C,
SIGTERM and SIGHUP (even while kdoctor is still importing, or exiting) into a quiet exit with
``128 + signal``, after stopping every command kdoctor started and removing its scratch
directories.

From its first statements to the process's end, no moment drops a signal or turns it into a
traceback: the first statements install a handler that only records (a Ctrl-C before it is a
``KeyboardInterrupt`` caught below); from :func:`lifecycle.install` until :func:`run` starts the
command, a signal is recorded too, and acted on there; while the command runs it stops it
(deferred while a command starts or a document is written); once the command ended, it ends
the process at once (:func:`lifecycle.finishing`). Before the first statement, the
interpreter's own start-up (site-packages, the console script's imports) is Python's (README,
"Under bad input and faults")."""

try:  # the handlers first: a Ctrl-C while the rest imports must not print a traceback
    import signal

    _received: list[int] = []  # until kdoctor's own handlers are in place: recorded only
    for _sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(_sig) is not signal.SIG_IGN:
            signal.signal(_sig, lambda signum, frame: _received.append(signum))

    import contextlib
    import sys
    from typing import NoReturn

    from kdoctor.machine import lifecycle

    # until run() starts the command, a signal is recorded, not raised (acted on there)
    lifecycle.install(deferring=True, received=_received)
except KeyboardInterrupt:
    import sys

    sys.stderr.write("kdoctor: stopped by SIGINT\n")
    sys.exit(130)


def _quiet_exit(signum: int) -> NoReturn:
    from kdoctor.i18n import _

    stopped = _("kdoctor: stopped by {signal}").format(signal=signal.Signals(signum).name)
    sys.stderr.write(stopped + "\n")
    sys.stderr.flush()
    sys.exit(128 + signum)


def _speak(argv: list[str]) -> None:
    """The language, from ``--lang`` (taken out of ``argv``, wherever it stands) or the
    environment, chosen before the CLI is built: its help texts are translated as defined."""
    import os

    from kdoctor import i18n

    wanted = i18n.take_lang(argv)
    if wanted is not None and wanted not in i18n.LANGUAGES:
        i18n.activate(i18n.resolve(None, os.environ))  # said in the environment's language
        _ = i18n._
        choices = _("{languages} or {last}").format(
            languages=", ".join(i18n.LANGUAGES[:-1]), last=i18n.LANGUAGES[-1]
        )
        refusal = _("kdoctor: --lang {value}: not a language kdoctor speaks (choose {choices})")
        sys.stderr.write(refusal.format(value=repr(wanted), choices=choices) + "\n")
        sys.exit(2)
    i18n.activate(i18n.resolve(wanted, os.environ))


def _closed_streams() -> None:
    """A closed stdout or stderr (``kdoctor check >&-``) is the null device: the command runs
    and ends with its own code, saying nothing there."""
    import os

    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


def _stopped(signum: int) -> NoReturn:
    """Stopped by a signal: every command kdoctor started stopped, and under ``--json`` the
    error document (unless the command's own was written whole already)."""
    lifecycle.shutdown()
    with contextlib.suppress(Exception):
        from kdoctor.cli.errors import json_error

        name = signal.Signals(signum).name
        json_error(f"kdoctor: stopped by {name}", "interrupted", 128 + signum)
    _quiet_exit(signum)


def run() -> None:
    try:
        try:
            _closed_streams()
            for stream in (sys.stdout, sys.stderr):  # a message never dies on a character
                with contextlib.suppress(AttributeError, ValueError):
                    stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
            lifecycle.started()  # a signal received while kdoctor started: stopped now
            _speak(sys.argv)
            from kdoctor.cli.app import main

            main()
            ending = SystemExit(0)
        except SystemExit as exc:  # the command's end (click ends with its exit code)
            ending = exc
        lifecycle.check()  # a signal not acted on yet (its raise lost in a finalizer)
        if lifecycle.stopping() is not None:  # one the command reported (fix's interrupted step)
            lifecycle.shutdown()
        _finishing()
    except lifecycle.Interrupted as exc:
        lifecycle.handled()
        _stopped(exc.signum)
    except KeyboardInterrupt:
        _stopped(signal.SIGINT)
    except BrokenPipeError:
        lifecycle.broken_pipe()
    raise ending


def _finishing() -> None:
    """What the command printed is out; from now on a signal ends the process at once."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(ValueError, AttributeError):  # a closed stream has nothing
            stream.flush()
    from kdoctor.i18n import _

    lifecycle.finishing(_("kdoctor: stopped by {signal}"))


if __name__ == "__main__":
    run()
