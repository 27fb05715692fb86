"""A Rich console for the tests of kdoctor's live display (spinner, stages, download bars)."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console


def display_console(file: TextIO, *, terminal: bool, width: int) -> Console:
    """A console writing into ``file``: a terminal that redraws when ``terminal`` (whatever the
    TERM the tests run under: Rich redraws nothing on a dumb one, as in a chroot), else a pipe."""
    return Console(
        file=file,
        force_terminal=terminal,
        force_interactive=terminal,
        width=width,
        color_system=None,
        _environ={"TERM": "xterm"},
    )
