"""Reading what the guest printed on its serial console: the markers its ``/init`` writes
(see :mod:`kdoctor.pipeline.verify.guest`), the kernel log dump, crashes and tools' complaints."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

from kdoctor.pipeline.verify.guest import MARK

ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_]|c)")
_MARKER = re.compile(re.escape(MARK) + r"([a-z-]+)((?:\s+[a-z-]+=\S*)*)")
_PANIC = re.compile(r"Kernel panic - not syncing.*")
_OOPS = re.compile(
    r"(?:BUG: .*|Oops: .*|general protection fault.*|kernel BUG at .*|Unable to handle .*)"
)
_TOOL_ERROR = re.compile(r"\b(?:insmod|rmmod): .*")
_STAMP = re.compile(r"^\[\s*(\d+\.\d+)\]\s?")
_QEMU_ERROR = re.compile(r"^qemu(?:-system-\S+)?: .*")


@dataclass(frozen=True)
class ConsoleReport:
    """What the guest said, by marker."""

    booted: bool = False
    finished: bool = False
    #: guest uptime in seconds at each marker (boot, insmod, rmmod, done)
    uptimes: Mapping[str, float] = field(default_factory=dict)
    insmod_rc: Optional[int] = None
    rmmod_rc: Optional[int] = None
    rmmod_skipped: bool = False
    taint_before: Optional[int] = None
    taint_after: Optional[int] = None
    #: the ``dmesg`` dump between its markers (empty when it never came)
    kernel_log: tuple[str, ...] = ()
    kernel_log_complete: bool = False
    #: insmod/rmmod's own complaints ("insmod: can't insert ...")
    tool_errors: tuple[str, ...] = ()
    qemu_errors: tuple[str, ...] = ()
    panic: Optional[str] = None
    oops: Optional[str] = None
    #: every console line, escape sequences and carriage returns removed
    lines: tuple[str, ...] = ()

    @property
    def messages(self) -> tuple[str, ...]:
        """Where to look for the module's messages: the dump, else the console itself."""
        if self.kernel_log:
            return self.kernel_log
        return tuple(line for line in self.lines if MARK not in line)


def module_lines(report: ConsoleReport) -> tuple[str, ...]:
    """The kernel log lines printed after ``/init`` started (the module's own lines): those
    stamped at or after the boot marker's uptime."""
    start = report.uptimes.get("boot")
    if start is None:
        return ()
    kept: list[str] = []
    for line in report.kernel_log:
        stamp = _STAMP.match(line)
        if stamp and float(stamp.group(1)) >= start and line[stamp.end() :].strip():
            kept.append(line)
    return tuple(kept)


def marker_event(line: str) -> Optional[str]:
    """The event of the marker on a console ``line`` (``boot``, ``insmod``, ...), or None."""
    found = _MARKER.search(ANSI.sub("", line))
    return found.group(1) if found else None


def clean(text: str) -> list[str]:
    """Console lines without escape sequences, carriage returns or trailing blanks."""
    lines = text.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    return [ANSI.sub("", line).replace("\r", "").rstrip() for line in lines]


def parse_console(text: str) -> ConsoleReport:
    lines = clean(text)
    uptimes: dict[str, float] = {}
    events: set[str] = set()
    codes: dict[str, Optional[int]] = {}
    kernel_log: list[str] = []
    in_log = False
    for line in lines:
        marker = _MARKER.search(line)
        if marker is None:
            if in_log:
                kernel_log.append(line)
            continue
        event, values = marker.group(1), _values(marker.group(2))
        events.add(event)
        uptime = _number(values.get("t", ""))
        if uptime is not None:
            uptimes[event] = uptime
        if "rc" in values or "value" in values:
            codes[event] = _integer(values.get("rc", values.get("value", "")))
        if "skipped" in values:
            events.add(f"{event}-skipped")
        if event == "dmesg-begin":
            in_log, kernel_log = True, []
        elif event == "dmesg-end":
            in_log = False
    return ConsoleReport(
        booted="boot" in events,
        finished="done" in events,
        uptimes=uptimes,
        insmod_rc=codes.get("insmod"),
        rmmod_rc=codes.get("rmmod"),
        rmmod_skipped="rmmod-skipped" in events,
        taint_before=codes.get("taint-before"),
        taint_after=codes.get("taint"),
        kernel_log=tuple(kernel_log),
        kernel_log_complete="dmesg-end" in events,
        tool_errors=tuple(_found(_TOOL_ERROR, lines)),
        qemu_errors=tuple(line for line in lines if _QEMU_ERROR.match(line)),
        panic=next(iter(_found(_PANIC, lines)), None),
        oops=next(iter(_found(_OOPS, lines)), None),
        lines=tuple(lines),
    )


def _found(pattern: re.Pattern[str], lines: Sequence[str]) -> list[str]:
    """The matched part of every line ``pattern`` matches (marker lines excepted)."""
    hits = (pattern.search(line) for line in lines if MARK not in line)
    return [hit.group(0).strip() for hit in hits if hit]


def _values(text: str) -> dict[str, str]:
    return dict(word.split("=", 1) for word in text.split())


def _number(text: str) -> Optional[float]:
    try:
        return float(text)
    except ValueError:
        return None


def _integer(text: str) -> Optional[int]:
    try:
        return int(text)
    except ValueError:
        return None
