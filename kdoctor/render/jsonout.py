"""``--json`` output, from the same result objects the text renderer uses."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, Optional, TextIO

from kdoctor.machine import lifecycle
from kdoctor.machine.system import Probe
from kdoctor.model.contract import envelope
from kdoctor.model.report import Report


def report_json(report: Report, probes: Sequence[Probe] = ()) -> dict[str, Any]:
    """``kdoctor check --json`` (``schema/check.schema.json``)."""
    data = report.to_json()
    data["probes"] = [probe_json(p) for p in probes]
    return data


def context_json(report: Report) -> dict[str, Any]:
    """The diagnosis's context, with the module it was about (``context.module``)."""
    context: dict[str, Any] = report.to_json()["context"]
    return context


def document(data: dict[str, Any]) -> dict[str, Any]:
    """A result's JSON as a document of the contract (``kdoctor_version``, ``schema_version``
    first); one that has them already is returned as it is."""
    return data if "schema_version" in data else envelope(data)


def error_json(message: str, *, kind: str = "usage", exit_code: int = 2) -> dict[str, Any]:
    """What ``--json`` prints when a command cannot run or is stopped
    (``schema/error.schema.json``): ``usage``, ``settings``, ``files``, ``declined``,
    ``interrupted``, ``crash``."""
    return envelope({"error": {"kind": kind, "message": message}, "exit_code": exit_code})


def probe_json(p: Probe) -> dict[str, Any]:
    return {
        "argv": list(p.argv),
        "cwd": p.cwd,
        "exit_code": p.exit_code,
        "timed_out": p.timed_out,
        "error": p.error,
        "duration_ms": round(p.duration_ms, 1),
    }


#: a JSON document went to stdout in this run (an interrupt after it prints no second one)
_written: list[bool] = []


def written() -> bool:
    """A document was written to stdout by this run."""
    return bool(_written)


def dump_json(data: Any, file: Optional[TextIO] = None) -> None:
    """Write a document whole: made complete first, then written in one piece with signals
    held until it is out (an interrupt then ends the run after it, never inside it)."""
    out = file or sys.stdout
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    lifecycle.check()  # a signal not acted on yet ends the run before the document, not after
    with lifecycle.starting():
        try:
            out.write(text)
            out.flush()
        except BrokenPipeError:
            lifecycle.broken_pipe()
        if file is None:
            _written.append(True)


def checks_json(checks: Sequence[Any]) -> dict[str, Any]:
    """``kdoctor list --json``: every check's id, title and whether it is required."""
    return envelope(
        {"checks": [{"id": c.id, "title": c.shown_title(), "required": c.required} for c in checks]}
    )
