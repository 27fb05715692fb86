"""``kdoctor test``'s table and ``kdoctor cache``'s summary as plain lines (printed by the CLI
through :func:`kdoctor.render.text.console`)."""

from __future__ import annotations

from collections.abc import Sequence

from kdoctor.i18n import N_, _
from kdoctor.pipeline.cache_usage import KINDS, CacheUsage
from kdoctor.pipeline.multi_kernel import TestReport
from kdoctor.render.words import human

COLUMNS = (
    N_("kernel"),
    N_("release"),
    N_("build"),
    N_("load"),
    N_("unload"),
    N_("messages"),
    N_("time"),
)
#: the words of the build, load and unload columns (``--json`` keeps them as they are)
RESULTS = {
    "ok": N_("ok"),
    "failed": N_("failed"),
    "no toolchain": N_("no toolchain"),
    "not run": N_("not run"),
}


def _result(value: str) -> str:
    return _(RESULTS[value]) if value in RESULTS else value


def test_table(report: TestReport) -> list[str]:
    """One row per kernel, then the verdict and what went wrong, kernel by kernel."""
    rows = [tuple(_(c) for c in COLUMNS)] + [
        (
            r.spec,
            r.release or "?",
            _result(r.build),
            _result(r.load),
            _result(r.unload),
            r.messages or "-",
            f"{r.seconds:.1f} s",
        )
        for r in report.runs
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    passed = sum(r.passed for r in report.runs)
    mark = "✔" if report.passed else "✘"
    total = len(report.runs)
    verdict = _("{passed}/{total} kernels passed in {seconds} s")
    lines.append(
        f"{mark} " + verdict.format(passed=passed, total=total, seconds=f"{report.seconds:.1f}")
    )
    for run in report.runs:
        for line in run.adapted:
            lines.append(f"  {run.spec}: " + _("adapted: {change}").format(change=line))
        if run.error:
            lines.append(f"  {run.spec}: {run.error}")
        if run.log and not run.passed:
            lines.append(f"  {run.spec}: " + _("log: {path}").format(path=run.log))
    return lines


def usage_lines(usage: CacheUsage, *, verbose: bool = False) -> list[str]:
    """``kdoctor cache size``: each kind with its size (with ``verbose`` each item under it),
    then the total, what the sizes mean and what could not be read."""
    lines = [
        _("kdoctor's cache: {path}").format(path=usage.cache_dir),
    ]
    for kind, size in usage.by_kind():
        lines.append(f"{human(size):>10}  {_(KINDS[kind])}")
        if not verbose:
            continue
        for item in usage.of_kind(kind):
            shown = item.path
            if item.rest:
                shown = _("{path} (the rest: the directory, locks, records, unfinished work)")
                shown = shown.format(path=item.path.rstrip("/") + "/")
            lines.append(f"    {human(item.bytes):>10}  {shown}")
    lines.append(f"{human(usage.total):>10}  " + _("total"))
    lines.append(
        _(
            "(apparent sizes, as {command} counts them: a hard-linked file once, a symlink as "
            "a link)"
        ).format(command="du -sb")
    )
    if usage.unreadable:
        lines.append(_("not everything could be read; counted as far as it could be:"))
        lines.extend(f"  {line}" for line in usage.unreadable)
    return lines


def size_lines(sizes: Sequence[tuple[str, int]], total: int) -> list[str]:
    lines = [f"{human(size):>9}  {name}" for name, size in sizes]
    lines.append(f"{human(total):>9}  " + _("total"))
    return lines
