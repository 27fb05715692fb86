"""Problems with the person's files that end a command with a message instead of a traceback."""

from __future__ import annotations

import sys
from typing import Callable

import typer

from kdoctor.i18n import _
from kdoctor.machine.files import PlaceError
from kdoctor.machine.settings import SettingsError
from kdoctor.model.choice import BadValue
from kdoctor.model.report import EXIT_FILES, EXIT_USAGE


def guarded(run: Callable[[], object]) -> None:
    """Run the command line; a bad setting or a settings file kdoctor cannot use ends it with
    exit code 2, a place it cannot write (cache, logs, a full disk) with 3, each with one
    message on stderr that names the value or the file, why, and what to do."""
    try:
        run()
    except BadValue as exc:  # a bad KDOCTOR_* value in the environment or the settings file
        typer.echo(_("kdoctor: usage error: {error}").format(error=exc), err=True)
        sys.exit(EXIT_USAGE)
    except SettingsError as exc:
        typer.echo(f"kdoctor: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except PlaceError as exc:
        typer.echo(f"kdoctor: {exc}", err=True)
        sys.exit(EXIT_FILES)
