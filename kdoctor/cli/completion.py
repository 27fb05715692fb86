"""Shell completion of values: check ids for ``kdoctor check`` and directories for
``--module-dir`` (choices such as ``--rust`` complete from their enums by themselves)."""

from __future__ import annotations

import glob
import os

import typer


def complete_check_ids(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """The check ids starting with what was typed, each with its title; ids already on the
    command line are not offered again."""
    from kdoctor.checks.base import all_checks

    given = set(ctx.params.get("ids") or ())
    return [
        (c.id, c.shown_title())
        for c in all_checks()
        if c.id.startswith(incomplete) and c.id not in given
    ]


def complete_directories(incomplete: str) -> list[str]:
    """The directories whose path starts with what was typed (``~`` expanded; hidden ones only
    when a dot was typed), sorted."""
    pattern = glob.escape(os.path.expanduser(incomplete)) + "*"
    return sorted(path for path in glob.glob(pattern) if os.path.isdir(path))
