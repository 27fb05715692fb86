"""Human output with Rich (JSON is in ``jsonout``, from the same objects): the console, the
status marks, steps as they run, the plan, the build and the verification; a diagnosis is
``report_text``'s."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional, TextIO

from rich.console import Console
from rich.text import Text

from kdoctor.i18n import _, ngettext
from kdoctor.knowledge.commands import carried
from kdoctor.machine import lifecycle
from kdoctor.model.finding import Status
from kdoctor.render.encoding import encodable
from kdoctor.render.words import (
    STATUS_WORDS,
    human,
    label,
    module_words,
    verify_statuses,
    verify_timings,
    verify_where,
)

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.progress import Progress, ProgressColumn, Task, TaskID

    from kdoctor.facts.rustc import RustToolchain
    from kdoctor.model.context import Context
    from kdoctor.model.plan import Plan, Step
    from kdoctor.pipeline.build import BuildResult
    from kdoctor.pipeline.kernels.download import Transfer
    from kdoctor.pipeline.verify.result import VerifyResult

GLYPHS = {
    Status.OK: ("✔", "green"),
    Status.WARN: ("!", "yellow"),
    Status.FAIL: ("✘", "red"),
    Status.SKIP: ("-", "dim"),
    Status.ERROR: ("‼", "magenta"),
}


class _Console(Console):
    """Rich's console, ending a run whose reader went away as kdoctor documents it (rich's own
    ends it with 1, the code of a failing check)."""

    def on_broken_pipe(self) -> None:
        lifecycle.broken_pipe()


def console(file: Optional[TextIO] = None, *, stderr: bool = False) -> Console:
    """A console that stays readable with NO_COLOR, in pipes, in CI logs and on a stream that
    cannot encode its symbols (they fall back to ASCII)."""
    out = encodable(file or (sys.stderr if stderr else sys.stdout))
    is_tty = out.isatty()
    return _Console(
        file=out,
        no_color="NO_COLOR" in os.environ or not is_tty,
        highlight=False,
        soft_wrap=not is_tty,
        width=None if is_tty else 120,
    )


def glyph(status: Status) -> Text:
    mark, style = GLYPHS[status]
    return Text(f"{mark} {_(STATUS_WORDS[status])}", style=style)


class StepDisplay:
    """A spinner with the current step and elapsed time on a terminal; plain lines elsewhere.
    With ``echo`` (``-v``) every line a command prints is shown whole, as it comes."""

    def __init__(self, out: Console, title: str, *, echo: bool = False) -> None:
        self.out = out
        self.title = title
        self.echo = echo
        self._progress: Optional[Progress] = None
        self._task: Optional[TaskID] = None
        self._last = ""
        self._current = ""
        #: each file being downloaded: its bar's task (on a terminal), or None once told
        self._transfers: dict[str, Optional[TaskID]] = {}

    def __enter__(self) -> StepDisplay:
        # the spinner's machinery only where it is shown: a terminal that redraws (TERM=dumb
        # gets the plain lines a pipe gets)
        if self.out.is_interactive:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.fields[title]}[/bold] {task.description}"),
                _transfer_column(),
                TimeElapsedColumn(),
                console=self.out,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("", title=self.title, total=None)
        else:
            self.out.print(f"{self.title} …", markup=False)
        return self

    def step(self, text: str) -> None:
        if text == self._last:
            return
        self._last = text
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=text)
        else:
            self.out.print(f"  {text}", markup=False)

    def plan_step(self, step: Step, index: int, total: int) -> None:
        """A plan step starts: show which, of how many."""
        self._current = f"[{index}/{total}] {step.display}"
        self.step(self._current)

    def output(self, line: str) -> None:
        """The running command printed a line: shown whole with ``echo``; else, on a terminal,
        beside the current plan step."""
        if self.echo:
            self.out.print(line.rstrip("\r\n"), markup=False, highlight=False, soft_wrap=True)
            return
        text = line.strip()
        if self._progress is not None and text and self._current:
            self.step(f"{self._current} · {text[:60]}")

    def download(self, transfer: Transfer) -> None:
        """A file being downloaded grew or finished: on a terminal a bar of its own with its
        size and rate; elsewhere one line when it is complete."""
        if self._progress is None:
            if transfer.finished and transfer.name not in self._transfers:
                self._transfers[transfer.name] = None
                rate = transfer.done / transfer.seconds if transfer.seconds > 0 else None
                said = _("downloaded {name}: {size} in {seconds} s").format(
                    name=transfer.name, size=human(transfer.done), seconds=f"{transfer.seconds:.1f}"
                )
                if rate is not None:
                    said += " " + _("({rate}/s)").format(rate=human(int(rate)))
                self.out.print(f"  {said}", markup=False)
            return
        task = self._transfers.get(transfer.name)
        if task is None:
            task = self._progress.add_task(
                "", title=transfer.name, total=transfer.total, transfer=True
            )
            self._transfers[transfer.name] = task
        self._progress.update(task, completed=transfer.done, total=transfer.total)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def _transfer_column() -> ProgressColumn:
    """A bar, the bytes so far and of how many, and the rate, for a download's task; nothing
    for a step's."""
    from rich.progress import BarColumn, DownloadColumn, ProgressColumn, TransferSpeedColumn
    from rich.table import Table

    class TransferColumn(ProgressColumn):
        def __init__(self) -> None:
            super().__init__()
            self.parts = (
                BarColumn(bar_width=30),
                DownloadColumn(binary_units=True),
                TransferSpeedColumn(),
            )

        def render(self, task: Task) -> RenderableType:
            if not task.fields.get("transfer"):
                return Text("")
            grid = Table.grid(padding=(0, 1))
            grid.add_row(*(part(task) for part in self.parts))
            return grid

    return TransferColumn()


def print_build(result: BuildResult, out: Console) -> None:
    secs = f"{result.duration_s:.1f}"
    if result.ok:
        built = (
            _("built {ko} in {seconds} s").format(ko=result.ko, seconds=secs)
            if result.ko
            else _("made {target} in {seconds} s").format(target=result.argv[-1], seconds=secs)
        )
        out.print(
            Text(
                "✔ " + built,
                style="green",
            ),
            Text(_("(log: {path})").format(path=result.log_path), style="dim"),
        )
        return
    if result.refused:
        out.print(Text("✘ " + _("kdoctor did not run the build:"), style="bold red"))
        for e in result.explanations:
            out.print(f"  {e.cause}", markup=False)
            out.print("  " + _("fix: {remedy}").format(remedy=e.remedy), markup=False)
        return
    failed = _("the module build failed (exit {code})").format(code=result.exit_code)
    out.print(Text(f"✘ {failed}", style="bold red"))
    if result.cause:
        out.print(
            "  " + _("cause: “{cause}”").format(cause=result.cause), markup=False, highlight=False
        )
        out.print(
            "         " + _("(in {path})").format(path=result.log_path),
            markup=False,
            highlight=False,
        )
    for line in result.tail:
        out.print(f"  │ {line}", markup=False, highlight=False)
    for e in result.explanations:
        out.print(Text("\n" + _("why: {cause}").format(cause=e.cause), style="yellow"))
        out.print(_("fix: {remedy}").format(remedy=e.remedy), markup=False)
    if not result.explanations:
        unknown = _("kdoctor does not recognise this failure; the full log has every command.")
        out.print("\n" + unknown, markup=False)
    out.print(_("full log: {path}").format(path=result.log_path), markup=False)


def print_build_module(ctx: Context, out: Console) -> None:
    """Which module ``kdoctor build`` builds, in words (the bundled hello-world, or which)."""
    out.print(_("module: {module}").format(module=module_words(ctx)), markup=False)


def print_no_toolchain(toolchain: RustToolchain, out: Console, options: Sequence[str] = ()) -> None:
    """Why there is no build: no Rust toolchain kdoctor can build with (the commands to run
    keep the person's ``options``)."""
    none = _("no usable Rust toolchain: {reason}").format(reason=toolchain.reason)
    out.print(f"✘ {none}", markup=False)
    for problem in toolchain.problems:
        out.print(f"  {problem}", markup=False)
    run = carried("kdoctor check toolchain rust-src; kdoctor fix", options)
    out.print("  " + _("run: {commands}").format(commands=run), markup=False)


def print_plan(plan: Plan, out: Console, *, sudo: bool, blocked: bool = False) -> None:
    for note in plan.notes:
        out.print(Text(_("note: {note}").format(note=note), style="cyan"))
    if plan.empty and blocked:
        out.print(Text("✘ " + _("no step can fix the failing required checks"), style="red"))
        return
    if plan.empty:
        out.print(Text("✔ " + _("nothing to do: every fixable check passes"), style="green"))
        return
    n = len(plan.steps)
    out.print(Text(ngettext("plan: {n} step", "plan: {n} steps", n).format(n=n), style="bold"))
    for i, step in enumerate(plan.steps, 1):
        prefix = "sudo " if step.root and sudo else ""
        root = " [root]" if step.root else ""
        out.print(
            Text(f"  {i}. ", style="bold")
            + Text(prefix + step.display, style="cyan")
            + Text(root, style="yellow")
        )
        why = _("why: {why} ({fix} ← {checks})")
        said = why.format(why=step.why, fix=step.fix, checks=", ".join(step.findings))
        out.print("     " + said, markup=False)
        if step.edit is not None and step.edit.diff:
            for line in step.edit.diff.splitlines():
                style = (
                    "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
                )
                out.print(Text(f"     {line}", style=style))


def print_verify(result: VerifyResult, out: Console) -> None:
    from kdoctor.pipeline.verify import result as verify_result

    for note in result.notes:
        out.print(Text(_("note: {note}").format(note=note), style="cyan"))
    mark, style = ("✔", "green") if result.passed else ("✘", "red")
    head = mark + " " + (_("verified") if result.passed else _("not verified"))
    out.print(
        Text(head, style=f"bold {style}")
        + Text(f" {verify_where(result)}: ")
        + Text(result.summary)
    )
    messages = Text("  " + label(_("messages")))
    for i, message in enumerate(result.expected):
        ok = message in result.found
        messages += Text("  " if i else "") + Text(
            "✔ " if ok else "✘ ", style="green" if ok else "red"
        )
        messages += Text(message)
    if result.insmod_status is None and not result.timings:
        _print_advice(result, out)
        return
    if result.expected:
        out.print(messages)
    out.print("  " + label(_("status")) + verify_statuses(result), markup=False)
    if result.taint:
        meanings = ", ".join(
            f"{f} {verify_result.taint_meaning(f)}"
            + (" " + _("(new)") if f in result.taint_new else "")
            for f in result.taint
        )
        out.print("  " + label(_("taint")) + f"{result.taint}: {meanings}", markup=False)
    out.print("  " + label(_("timings")) + verify_timings(result.timings), markup=False)
    if result.module_log and (not result.expected or not result.passed):
        out.print(Text("\n" + _("the module's kernel log:"), style="bold"))
        for line in result.module_log[-25:]:
            out.print(f"  │ {line}", markup=False, highlight=False)
    if result.console_tail:
        out.print(Text("\n" + _("last console lines:"), style="bold"))
        for line in result.console_tail:
            out.print(f"  │ {line}", markup=False, highlight=False)
    _print_advice(result, out)


def _print_advice(result: VerifyResult, out: Console) -> None:
    if result.remediation is not None:
        out.print(
            Text("\n" + _("what to do:") + " ", style="yellow") + Text(result.remediation.text)
        )
        for command in result.remediation.commands:
            out.print(Text(f"    $ {command}", style="cyan"))
    if result.log_path:
        out.print(_("log: {path}").format(path=result.log_path), markup=False)
