"""``kdoctor test``'s table and ``kdoctor cache``'s summary as plain lines (printed by the CLI
through :func:`kdoctor.render.text.console`)."""

from __future__ import annotations

from collections.abc import Sequence

from kdoctor.pipeline.kernel_test import TestReport

COLUMNS = ("kernel", "release", "build", "load", "unload", "messages", "time")


def test_table(report: TestReport) -> list[str]:
    """One row per kernel, then the verdict and what went wrong, kernel by kernel."""
    rows = [COLUMNS] + [
        (
            r.spec,
            r.release or "?",
            r.build,
            r.load,
            r.unload,
            r.messages or "-",
            f"{r.seconds:.1f} s",
        )
        for r in report.runs
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    passed = sum(r.passed for r in report.runs)
    mark = "✔" if report.passed else "✘"
    lines.append(f"{mark} {passed}/{len(report.runs)} kernels passed in {report.seconds:.1f} s")
    for run in report.runs:
        for line in run.adapted:
            lines.append(f"  {run.spec}: adapted: {line}")
        if run.error:
            lines.append(f"  {run.spec}: {run.error}")
        if run.log and not run.passed:
            lines.append(f"  {run.spec}: log: {run.log}")
    return lines


def size_lines(sizes: Sequence[tuple[str, int]], total: int) -> list[str]:
    lines = [f"{human(size):>9}  {name}" for name, size in sizes]
    lines.append(f"{human(total):>9}  total")
    return lines


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
