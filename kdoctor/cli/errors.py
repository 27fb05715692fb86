"""Problems with the person's files that end a command with a message instead of a traceback."""

from __future__ import annotations

import sys
from typing import Callable

import typer

from kdoctor.i18n import _
from kdoctor.machine.files import PlaceError
from kdoctor.machine.settings import SettingsError
from kdoctor.model.choice import BadValue
from kdoctor.model.report import EXIT_CRASH, EXIT_FILES, EXIT_USAGE


def wants_json(argv: list[str]) -> bool:
    """``--json`` is among the command line's options (before a ``--``)."""
    words = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in words


def json_error(message: str, kind: str, exit_code: int) -> None:
    """Under ``--json``, the error document on stdout, unless a document was written already
    (one run, one document)."""
    from kdoctor.render import jsonout

    if wants_json(sys.argv[1:]) and not jsonout.written():
        jsonout.dump_json(jsonout.error_json(message, kind=kind, exit_code=exit_code))


def guarded(run: Callable[[], object]) -> None:
    """Run the command line; a bad setting or a settings file kdoctor cannot use ends it with
    exit code 2, a place it cannot write (cache, logs, a full disk) with 3, each with one
    message on stderr that names the value or the file, why, and what to do (and, under
    ``--json``, the error document on stdout); a crash under ``--json`` prints the error
    document too, before its traceback."""
    try:
        run()
    except BadValue as exc:  # a bad KDOCTOR_* value in the environment or the settings file
        message = _("kdoctor: usage error: {error}").format(error=exc)
        typer.echo(message, err=True)
        json_error(message, "usage", EXIT_USAGE)
        sys.exit(EXIT_USAGE)
    except SettingsError as exc:
        typer.echo(f"kdoctor: {exc}", err=True)
        json_error(f"kdoctor: {exc}", "settings", EXIT_USAGE)
        sys.exit(EXIT_USAGE)
    except PlaceError as exc:
        typer.echo(f"kdoctor: {exc}", err=True)
        json_error(f"kdoctor: {exc}", "files", EXIT_FILES)
        sys.exit(EXIT_FILES)
    except BrokenPipeError:
        raise
    except Exception as exc:
        json_error(f"kdoctor: {type(exc).__name__}: {exc}", "crash", EXIT_CRASH)
        raise
