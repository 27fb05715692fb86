"""A yes/no question on the terminal, in the active language: ``[s/N]`` in Spanish, which
takes ``s``, ``sí``, ``si``, ``n`` and ``no`` (and English ``y``/``yes`` in every language).
Nothing but an answer that means yes is consent: an empty answer or the end of input is no."""

from __future__ import annotations

import typer

from kdoctor.i18n import N_, _

#: the answers that mean yes and no, ``|``-separated (a translator lists the language's own)
YES = N_("y|yes")
NO = N_("n|no")
#: after the question: no is the default
SUFFIX = N_("[y/N]")


def answers(words: str, english: str) -> set[str]:
    return {w.strip().lower() for w in f"{english}|{_(words)}".split("|") if w.strip()}


def confirm(question: str, *, err: bool = False) -> bool:
    """Ask ``question`` until the answer is yes or no (empty: no); on stderr with ``err``
    (under ``--json``, whose document is stdout's)."""
    yes, no = answers(YES, YES), answers(NO, NO)
    while True:
        typer.echo(f"{question} {_(SUFFIX)}: ", nl=False, err=err)
        try:
            answer = input().strip().lower()
        except EOFError:
            typer.echo("", err=err)
            return False
        if not answer or answer in no:
            return False
        if answer in yes:
            return True
        shown_yes, shown_no = _(YES).split("|")[0], _(NO).split("|")[0]
        typer.echo(_("Please answer {yes} or {no}.").format(yes=shown_yes, no=shown_no), err=True)
