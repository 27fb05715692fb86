"""``--json`` output, from the same result objects the text renderer uses."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, Optional, TextIO

from kdoctor.machine.system import Probe
from kdoctor.model.report import Report


def report_json(report: Report, probes: Sequence[Probe] = ()) -> dict[str, Any]:
    return {
        "context": context_json(report),
        "checks": [f.to_json() for f in report.findings],
        "counts": report.counts(),
        "exit_code": report.exit_code,
        "duration_ms": round(report.duration_ms, 1),
        "probes": [probe_json(p) for p in probes],
    }


def context_json(report: Report) -> dict[str, Any]:
    """The diagnosis's context, with the module it was about (``context.module``)."""
    data = report.context.to_json()
    data["module"] = report.module.to_json() if report.module else None
    return data


def probe_json(p: Probe) -> dict[str, Any]:
    return {
        "argv": list(p.argv),
        "cwd": p.cwd,
        "exit_code": p.exit_code,
        "timed_out": p.timed_out,
        "error": p.error,
        "duration_ms": round(p.duration_ms, 1),
    }


def dump_json(data: Any, file: Optional[TextIO] = None) -> None:
    out = file or sys.stdout
    json.dump(data, out, indent=2, sort_keys=False)
    out.write("\n")


def checks_json(checks: Sequence[Any]) -> dict[str, Any]:
    """``kdoctor list --json``: every check's id, title and whether it is required."""
    return {
        "checks": [{"id": c.id, "title": c.title, "required": c.required} for c in checks],
    }
