"""A report: the findings of one diagnosis, and the exit code they mean."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from kdoctor.model.context import Context
from kdoctor.model.contract import envelope
from kdoctor.model.finding import Finding, Status
from kdoctor.model.module import Module

EXIT_OK = 0
EXIT_FAIL = 1
#: also a settings file kdoctor cannot use (which file, which line, what to do is printed)
EXIT_USAGE = 2
#: a place kdoctor must write is unusable: its cache or log directory is a file, read-only or
#: not writable, or the disk is full (the path, why and what to do is printed)
EXIT_FILES = 3
#: ``fix --expect-plan``: the plan made now is not the one reviewed; nothing was applied
EXIT_PLAN_CHANGED = 4
#: ``fix --dry-run``: the plan has steps, and nothing blocks (``fix --yes`` would apply them)
EXIT_PENDING = 5
#: ``fix`` or ``verify --host`` asked before changing the machine and the answer was no
EXIT_DECLINED = 6
#: kdoctor crashed (a bug): Python's own code for an uncaught exception, with the traceback on
#: stderr (and, under ``--json``, the error document of kind ``crash`` on stdout)
EXIT_CRASH = 1


@dataclass(frozen=True)
class Report:
    context: Context
    findings: tuple[Finding, ...]
    duration_ms: float
    #: the module being built, as its files describe it (None when it could not be read)
    module: Optional[Module] = None

    @property
    def exit_code(self) -> int:
        return EXIT_FAIL if any(blocks(f) for f in self.findings) else EXIT_OK

    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for f in self.findings:
            counts[f.status.value] += 1
        return counts

    def by_id(self, check_id: str) -> Finding:
        return next(f for f in self.findings if f.id == check_id)

    def to_json(self) -> dict[str, Any]:
        """The ``kdoctor check --json`` document (``probes`` empty: the CLI fills them)."""
        context = self.context.to_json()
        context["module"] = self.module.to_json() if self.module else None
        return envelope(
            {
                "context": context,
                "checks": [f.to_json() for f in self.findings],
                "counts": self.counts(),
                "exit_code": self.exit_code,
                "duration_ms": round(self.duration_ms, 1),
                "probes": [],
            }
        )


def blocks(finding: Finding) -> bool:
    """A required check that failed or crashed stands between the machine and a loaded module."""
    return finding.required and finding.status in (Status.FAIL, Status.ERROR)
