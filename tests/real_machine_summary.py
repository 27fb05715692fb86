"""A pytest plugin that ends the run with what the real-machine tests did, per marker
(integration, e2e, matrix): how many ran, passed, failed and skipped, how many ``-m``
deselected, and the wall time they took (setup, call and teardown) -- so a summary shows
whether the end-to-end proof ran at all, and what it costs CI."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from tests.real_machine import REAL_MARKERS

#: the order outcomes are reported in
OUTCOMES = ("passed", "failed", "skipped")


def markers_of(item: pytest.Item) -> tuple[str, ...]:
    return tuple(m for m in REAL_MARKERS if item.get_closest_marker(m) is not None)


def duration(seconds: float) -> str:
    """``0.4 s``, ``59.9 s``, ``1 min 05 s``, ``1 h 02 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


class RealMachineSummary:
    """Counts the outcomes of the selected tests that carry a real-machine marker."""

    def __init__(self) -> None:
        #: node id -> its real-machine markers, for the selected tests
        self.selected: dict[str, tuple[str, ...]] = {}
        self.deselected: Counter[str] = Counter()
        #: node id -> "passed", "failed" or "skipped" (a failure in any phase wins)
        self.outcomes: dict[str, str] = {}
        #: node id -> seconds its phases took (setup, call, teardown)
        self.seconds: dict[str, float] = {}

    def pytest_deselected(self, items: Sequence[pytest.Item]) -> None:
        for item in items:
            self.deselected.update(markers_of(item))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            markers = markers_of(item)
            if markers:
                self.selected[item.nodeid] = markers

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self.selected:
            return
        duration = getattr(report, "duration", 0.0) or 0.0
        self.seconds[report.nodeid] = self.seconds.get(report.nodeid, 0.0) + duration
        if self.outcomes.get(report.nodeid) == "failed":
            return
        if report.failed:
            self.outcomes[report.nodeid] = "failed"
        elif report.skipped:
            self.outcomes[report.nodeid] = "skipped"
        elif report.when == "call":
            self.outcomes[report.nodeid] = "passed"

    def counts(self) -> dict[str, Counter[str]]:
        """marker -> outcome -> how many (every marker listed, even with none selected)."""
        table: dict[str, Counter[str]] = {marker: Counter() for marker in REAL_MARKERS}
        for nodeid, markers in self.selected.items():
            outcome = self.outcomes.get(nodeid, "not run")
            for marker in markers:
                table[marker][outcome] += 1
        return table

    def wall_time(self) -> dict[str, float]:
        """marker -> seconds its selected tests took (a test with two markers counts in both)."""
        table = dict.fromkeys(REAL_MARKERS, 0.0)
        for nodeid, markers in self.selected.items():
            for marker in markers:
                table[marker] += self.seconds.get(nodeid, 0.0)
        return table

    def lines(self) -> list[str]:
        lines = []
        times = self.wall_time()
        for marker, counts in self.counts().items():
            ran = sum(counts[o] for o in ("passed", "failed"))
            parts = [f"{counts[o]} {o}" for o in OUTCOMES]
            if counts["not run"]:
                parts.append(f"{counts['not run']} not run")
            if self.deselected[marker]:
                parts.append(f"{self.deselected[marker]} deselected")
            took = duration(times[marker])
            lines.append(f"{marker + ':':13}{ran} ran ({', '.join(parts)}) in {took}")
        return lines

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_sep("=", "real-machine tests")
        for line in self.lines():
            terminalreporter.write_line(line)
