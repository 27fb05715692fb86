"""A diagnosis as text (``kdoctor check``, and ``kdoctor fix``'s before and after), fitted to the
terminal: a header of one line, a row per check whose wrapped lines hang under its text, the
skipped checks in one row, each remedy command once; ``-v`` gives every detail and every probe
(a long one's first and last lines)."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from typing import Optional

from rich.console import Console
from rich.text import Text

from kdoctor.i18n import _, ngettext
from kdoctor.knowledge.commands import carried
from kdoctor.machine.system import Probe
from kdoctor.model.choice import ModuleSource
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status
from kdoctor.model.report import Report, blocks
from kdoctor.render.fit import command_lines, trimmed
from kdoctor.render.text import GLYPHS
from kdoctor.render.words import exit_words, module_words, status_count, target_source_words

#: where details and commands start under a row; a command's continued lines start deeper
INDENT = 4
CONTINUED_INDENT = 8
#: below this many columns for a row's text, its text starts on a line of its own
NARROW = 20
#: a probe's command longer than this many lines shows its first and last lines only
PROBE_HEAD = PROBE_TAIL = 10


def print_report(
    report: Report,
    out: Console,
    *,
    verbose: bool = False,
    probes: Sequence[Probe] = (),
    command: str = "kdoctor check",
) -> None:
    """The header, a row per check and the verdict. Without ``verbose``: a problem's row and
    its commands only, the skipped checks in one row, and how to see the rest (``command`` -v,
    the command that made this report, given whole); with it, every detail, the tracebacks of
    crashed checks and every probe."""
    ctx = report.context
    options = ctx.chosen_options
    print_header(ctx, out, verbose=verbose)
    folded = print_rows(report.findings, out, verbose=verbose, options=options)
    if verbose:
        print_tracebacks(report.findings, out)
        print_probes(probes, out, whole=carried(f"{command} -v --json", options))
        out.print()
    more = carried(f"{command} -v", options) if folded else None
    print_verdict(report, out, more=more)


def print_header(ctx: Context, out: Console, *, verbose: bool = False) -> None:
    """``kdoctor · target … · module: …`` on one line (what does not fit is left out, the
    distribution first: the ``os`` row names it); ``verbose`` says it all, paths too."""
    lead = Text.assemble(("kdoctor", "bold"), " · ")
    if verbose:
        head = _("{distro} · running {running} · target {target} ({source}) · module {module}")
        said = head.format(
            distro=ctx.distro.name,
            running=ctx.running_kernel,
            target=ctx.target_kernel,
            source=target_source_words(ctx),
            module=module_words(ctx),
        )
        hang(out, lead, Text(said))
        return
    target = _("target {kernel} ({source})").format(
        kernel=ctx.target_kernel, source=target_source_words(ctx, short=True)
    )
    module = _("module: {module}").format(module=short_module_words(ctx))
    running = None
    if ctx.running_kernel != ctx.target_kernel:
        running = _("running {kernel}").format(kernel=ctx.running_kernel)
    pieces: list[Optional[str]] = [ctx.distro.name, running, target, module]
    for drop in (0, 1):  # the distribution, then the running kernel, while it is too long
        if lead.cell_len + Text(" · ".join(p for p in pieces if p)).cell_len <= out.width:
            break
        pieces[drop] = None
    line = lead + Text(" · ".join(p for p in pieces if p))
    out.print(line, no_wrap=True, overflow="ellipsis", soft_wrap=False)


def short_module_words(ctx: Context) -> str:
    """Which module, in a few words: the bundled hello-world, or its directory's name (the
    ``module-dir`` row gives its path)."""
    if ctx.module_source == ModuleSource.BUNDLED:
        return _("bundled hello-world")
    name = os.path.basename(os.path.normpath(ctx.module_dir)) or ctx.module_dir
    if ctx.module_source == ModuleSource.CURRENT:
        return _("{name} (from the current directory)").format(name=name)
    return name


def print_rows(
    findings: Sequence[Finding],
    out: Console,
    *,
    verbose: bool = False,
    options: Sequence[str] = (),
    leads: Optional[Mapping[str, str]] = None,
) -> bool:
    """A row per check (``leads``: what goes before a check's mark, ``✘ → `` for one that
    changed); each command and each ``kdoctor fix`` advice under the first problem that needs
    it, naming the others. Without ``verbose`` the skipped checks (those with no lead) make
    one row and a problem shows its row and what to do. Whether anything was left out."""
    leads = leads or {}
    folded = [
        f
        for f in findings
        if not verbose and f.status == Status.SKIP and not leads.get(f.id, "").strip()
    ]
    rows = [f for f in findings if all(f is not skipped for skipped in folded)]
    width = max((len(f.id) for f in rows), default=0)
    owners = _owners(rows)
    left_out = bool(folded)
    for f in rows:
        lead = leads.get(f.id, "")
        left_out |= print_row(f, out, width=width, verbose=verbose, lead=lead)
        _print_advice(f, out, owners, options)
        if verbose or not _short(f, out, verbose=verbose):
            print_docs(f, out)
    if folded:
        mark, style = GLYPHS[Status.SKIP]
        label = _("skipped")
        pad = " " * max((len(lead) for lead in leads.values()), default=0)  # under the marks
        head = Text.assemble(pad, (f"{mark} ", style), (label.ljust(width), "bold"), "  ")
        hang(out, head, Text(", ".join(f.id for f in folded)))
    return left_out


def print_row(
    f: Finding, out: Console, *, width: int = 0, verbose: bool = False, lead: str = ""
) -> bool:
    """``✔ id  what was found``: a problem says what is wrong. A failure's row is wrapped under
    its text and followed by its remedy's sentence; a passing, skipped or merely warning
    check keeps to one line (a warning only on a terminal: in a pipe it is whole), a warning
    with no command followed by its remedy's sentence, on one line too. ``verbose`` wraps
    every row and adds what was found and the remedy's sentence, each said once. Whether
    something was left out."""
    mark, style = GLYPHS[f.status]
    said = f.summary if f.status.is_problem or not f.found else f.found
    head = Text.assemble(lead, (f"{mark} ", style), (f.id.ljust(width), "bold"), "  ")
    short = _short(f, out, verbose=verbose)
    left_out = short and _cut(out, head, Text(said))
    if not short:
        hang(out, head, Text(said))
    details = []
    if f.found and f.found != said:
        details.append(_("found: {found}").format(found=f.found))
    if f.summary != said:
        details.append(f.summary)
    remedy = f.remediation if f.status.is_problem else None
    if verbose:
        for detail in details:
            hang(out, Text(" " * INDENT), Text(detail, style="dim"))
        if remedy is not None:
            hang(out, Text(" " * INDENT), Text(remedy.text))
        return False
    if remedy is not None and not short:  # a failure: what to do, in words too
        hang(out, Text(" " * INDENT), Text(remedy.text))
    elif remedy is not None and not (remedy.commands or f.fix):  # its sentence is what to do
        left_out |= _cut(out, Text(" " * INDENT), Text(remedy.text))
    else:
        left_out |= remedy is not None
    return left_out or bool(details)


def _short(f: Finding, out: Console, *, verbose: bool) -> bool:
    """Whether ``f`` keeps to one row: a passing or skipped check, and a warning on a terminal
    (never with ``verbose``)."""
    return not verbose and (
        f.status in (Status.OK, Status.SKIP) or (f.status == Status.WARN and not out.soft_wrap)
    )


def print_docs(f: Finding, out: Console) -> None:
    """Where the check is documented: after a problem's advice when the problem is not kept to
    one row (a failure; a warning in a pipe), and after every check's with -v."""
    hang(out, Text(" " * INDENT), Text(_("docs: {link}").format(link=f.docs), style="dim"))


def _cut(out: Console, head: Text, body: Text) -> bool:
    """``head`` and ``body`` on one line, ``body`` cut to the width after a word when one
    ends near enough (else where the width ends) and ``…`` put there; whether it was cut."""
    room = out.width - head.cell_len
    cut = body.cell_len > room
    if cut and room > 1:
        body = body.copy()
        body.truncate(room - 1)
        space = body.plain.rfind(" ")
        if space > (room - 1) * 2 // 3:
            body = body[:space]
        while body.plain and body.plain[-1] in " ,;:":
            body.right_crop(1)
        body.append("…")
    out.print(head + body, no_wrap=True, overflow="ellipsis", soft_wrap=False)
    return cut


def _owners(findings: Sequence[Finding]) -> dict[tuple[str, str], list[str]]:
    """Each remedy command (``("command", …)``) and each planner's ``kdoctor fix``
    (``("fix", name)``) with the problems that give it, in the report's order: the first
    shows it."""
    owners: dict[tuple[str, str], list[str]] = {}
    for f in findings:
        if f.remediation is None or not f.status.is_problem:
            continue
        keys = [("command", c) for c in f.remediation.commands] + (
            [("fix", f.fix)] if f.fix else []
        )
        for key in dict.fromkeys(keys):
            owners.setdefault(key, []).append(f.id)
    return owners


def _print_advice(
    f: Finding,
    out: Console,
    owners: Mapping[tuple[str, str], Sequence[str]],
    options: Sequence[str],
) -> None:
    """Under a problem, the commands it is the first to give and the ``kdoctor fix`` that
    repairs it, each naming the other checks it is also for (so nothing is left out: a later
    check's command is under the first that gives it)."""
    if f.remediation is None or not f.status.is_problem:
        return
    for command in dict.fromkeys(f.remediation.commands):
        others = owners["command", command]
        if others[0] == f.id:
            print_command(command, out, also=others[1:])
    if f.fix and owners["fix", f.fix][0] == f.id:
        can = _("kdoctor can do this: {command} (fix '{fix}')")
        said = can.format(command=carried("kdoctor fix", options), fix=f.fix)
        also = owners["fix", f.fix][1:]
        if also:
            said += " " + also_for(also)
        hang(out, Text(" " * INDENT), Text(said, style="dim"))


def also_for(ids: Sequence[str]) -> str:
    return _("(also for: {checks})").format(checks=", ".join(ids))


def print_command(
    command: str, out: Console, *, indent: int = INDENT, also: Sequence[str] = ()
) -> None:
    """A command to copy, never cut: on a terminal too narrow for it, broken between words
    into lines a shell joins again (`` \\`` at their ends); the checks it is ``also`` for
    after it when they fit there, else on the next line."""
    note = Text(also_for(also), style="dim") if also else None
    pad = " " * indent
    if out.soft_wrap:  # no terminal: one line, whatever its length
        out.print(Text.assemble((f"{pad}$ {command}", "cyan")), soft_wrap=True)
        if note is not None:
            out.print(Text(pad) + note, soft_wrap=True)
        return
    room = out.width - indent - 2
    lines = command_lines(command, room, out.width - CONTINUED_INDENT)
    shown = [Text.assemble((f"{pad}$ {lines[0]}", "cyan"))]
    shown += [Text.assemble((" " * CONTINUED_INDENT + line, "cyan")) for line in lines[1:]]
    if note is not None and shown[-1].cell_len + 2 + note.cell_len <= out.width:
        shown[-1] += Text("  ") + note
    elif note is not None:
        shown.append(Text(pad) + note)
    for line in shown:
        out.print(line, soft_wrap=True)


def hang(out: Console, head: Text, body: Text, *, indent: Optional[int] = None) -> None:
    """``head`` then ``body`` wrapped to the width, its further lines starting under its first
    (a hanging indent), or at ``indent``; a head that leaves too little room gets a line of
    its own and the body starts under it at :data:`INDENT`. Without a terminal, one line
    whatever its length."""
    if out.soft_wrap:
        out.print(head + body, soft_wrap=True)
        return
    indent = head.cell_len if indent is None else indent
    if out.width - indent < NARROW and indent > INDENT:
        alone = head.copy()
        alone.rstrip()
        out.print(alone, no_wrap=True, overflow="ellipsis")
        head, indent = Text(" " * INDENT), INDENT
    first = out.width - head.cell_len
    lines = body.wrap(out, max(min(first, out.width - indent), 1))
    for index, line in enumerate(lines):
        line.rstrip()
        start = head if index == 0 else Text(" " * indent)
        out.print(start + line, no_wrap=True, overflow="ellipsis", soft_wrap=False)


def print_tracebacks(findings: Sequence[Finding], out: Console) -> None:
    """Where each crashed check crashed (kdoctor's bug, for the report the person files)."""
    for f in findings:
        if f.traceback:
            out.print(
                Text("\n" + _("traceback of {check}:").format(check=f.id), style="bold magenta")
            )
            for line in f.traceback.rstrip().splitlines():
                out.print(f"  {line}", markup=False, highlight=False)


def print_probes(probes: Sequence[Probe], out: Console, *, whole: Optional[str] = None) -> None:
    """Every command kdoctor ran, how it ended and how long it took; one longer than
    :data:`PROBE_HEAD` + :data:`PROBE_TAIL` lines (a Kbuild handed to make) shows its first
    and last lines, saying how many are left out and where it is whole (``whole``)."""
    if not probes:
        return
    out.print("\n[bold]" + _("probes") + "[/bold]")
    for p in probes:
        state = p.error or (_("timed out") if p.timed_out else exit_words(p.exit_code))
        where = "  " + _("(in {path})").format(path=p.cwd) if p.cwd else ""
        said = f"{shlex.join(p.argv)}{where} → {state}, {p.duration_ms:.0f} ms"
        first, left_out, last = trimmed(said.split("\n"), PROBE_HEAD, PROBE_TAIL)
        hang(out, Text("  "), Text(first[0]), indent=INDENT)
        for line in first[1:]:
            hang(out, Text(" " * INDENT), Text(line), indent=INDENT + 2)
        if left_out:
            hang(out, Text(" " * INDENT), Text(_left_out(left_out, whole), style="dim"))
        for line in last:
            hang(out, Text(" " * INDENT), Text(line), indent=INDENT + 2)


def _left_out(n: int, whole: Optional[str]) -> str:
    if whole is None:
        return ngettext("… {n} line left out …", "… {n} lines left out …", n).format(n=n)
    return ngettext(
        "… {n} line left out (the whole command: {command}) …",
        "… {n} lines left out (the whole command: {command}) …",
        n,
    ).format(n=n, command=whole)


def summary_line(report: Report, *, took: bool = True) -> Text:
    """``15 ok, 3 warn in 824 ms — ready: …`` (without the time unless ``took``)."""
    counts = report.counts()
    parts = ", ".join(status_count(Status(name), n) for name, n in counts.items() if n)
    blocking = [f.id for f in report.findings if blocks(f)]
    verdict = (
        Text(_("ready: nothing stands in the way"), style="bold green")
        if not blocking
        else Text(_("not ready: {checks}").format(checks=", ".join(blocking)), style="bold red")
    )
    if took:
        parts = _("{counts} in {duration} ms").format(
            counts=parts, duration=f"{report.duration_ms:.0f}"
        )
    return Text(f"{parts} — ") + verdict


def print_verdict(report: Report, out: Console, *, more: Optional[str] = None) -> None:
    """The counts and the verdict; with ``more`` (what was left out), the command that shows
    it, on the same line when it fits (without the time if need be), else on the next."""
    full = summary_line(report)
    if more is None:
        out.print(full)
        return
    hint = Text(_("more: {command}").format(command=more), style="dim")
    for line in (full, summary_line(report, took=False)):
        if line.cell_len + 2 + hint.cell_len <= out.width:
            out.print(line + Text("; ") + hint)
            return
    out.print(full)
    out.print(hint)


def print_before_after(
    before: Report, after: Report, out: Console, *, verbose: bool = False
) -> None:
    """Each check as it is now, with what it was when that changed; problems with their remedy."""
    out.print("[bold]" + _("after the fix") + "[/bold] " + _("(was → now)"))
    earlier = {f.id: f for f in before.findings}
    leads = {}
    for f in after.findings:
        old = earlier.get(f.id)
        leads[f.id] = f"{GLYPHS[old.status][0]} → " if old and old.status != f.status else "    "
    options = after.context.chosen_options
    folded = print_rows(after.findings, out, verbose=verbose, options=options, leads=leads)
    print_verdict(after, out, more=carried("kdoctor check -v", options) if folded else None)
