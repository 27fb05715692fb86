"""``python -m kdoctor`` and the ``kdoctor`` console script: the entry point, which turns Ctrl-C,
SIGTERM and SIGHUP (even while kdoctor is still importing) into a quiet exit with
``128 + signal``, after stopping every command kdoctor started and removing its scratch
directories."""

import sys

try:  # the handlers first: a Ctrl-C while the rest imports must not print a traceback
    import contextlib
    import signal
    from typing import NoReturn

    from kdoctor.machine import lifecycle

    lifecycle.install()
except KeyboardInterrupt:
    sys.stderr.write("kdoctor: stopped by SIGINT\n")
    sys.exit(130)


def _quiet_exit(signum: int) -> NoReturn:
    sys.stderr.write(f"kdoctor: stopped by {signal.Signals(signum).name}\n")
    sys.stderr.flush()
    sys.exit(128 + signum)


def run() -> None:
    for stream in (sys.stdout, sys.stderr):  # a message never dies on a character it lacks
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    try:
        from kdoctor.cli import main

        main()
    except lifecycle.Interrupted as exc:
        lifecycle.shutdown()
        _quiet_exit(exc.signum)
    except KeyboardInterrupt:
        lifecycle.shutdown()
        _quiet_exit(signal.SIGINT)


if __name__ == "__main__":
    run()
