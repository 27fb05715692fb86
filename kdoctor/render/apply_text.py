"""The text rendering of applying a plan: each step's fate, then why it stopped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from kdoctor.i18n import _
from kdoctor.model.choice import Stopped
from kdoctor.render.words import exit_words

if TYPE_CHECKING:
    from kdoctor.pipeline.apply import ApplyResult


def print_apply(result: ApplyResult, out: Console) -> None:
    for r in result.results:
        mark = Text("✔", style="green") if r.ok else Text("✘", style="red")
        if not r.ok and not r.step.required:
            mark = Text("!", style="yellow")
        out.print(mark + Text(f" {r.step.display}  ({r.duration_s:.1f} s)"))
        if not r.ok and not r.step.required:
            said = r.explanation or (r.tail[-1] if r.tail else exit_words(r.exit_code))
            note = (
                _("not needed, the work is done later anyway: {cause}")
                if r.step.background
                else _("optional, nothing depends on it: {cause}")
            ).format(cause=said)
            out.print(Text(f"  {note}", style="yellow"), markup=False, highlight=False)
    if result.stopped == Stopped.NEEDS_ADMIN:
        admin = _("These steps need root and sudo is not usable here; ask an admin to run:")
        out.print(Text(admin, style="yellow"))
        for command in result.admin_commands:
            out.print(Text(f"    # {command}", style="cyan"))
        out.print(_("then rerun {command}.").format(command="kdoctor fix"), markup=False)
        return
    failed = next((r for r in result.results if not r.ok and r.step.required), None)
    if result.stopped == Stopped.INTERRUPTED:
        stopped = _("interrupted: nothing half-done is kept; rerun {command} to finish")
        out.print(Text(stopped.format(command="kdoctor fix"), style="yellow"))
    elif failed is not None:
        what = _("step failed: {step} ({exit})")
        said = what.format(step=failed.step.display, exit=exit_words(failed.exit_code))
        out.print(Text(f"✘ {said}", style="bold red"))
        for line in failed.tail:
            out.print(f"  │ {line}", markup=False, highlight=False)
        if failed.explanation:
            out.print(Text(_("why: {cause}").format(cause=failed.explanation), style="yellow"))
    out.print(_("log: {path}").format(path=result.log_path), markup=False)
