"""What a check returns: one finding, plain data, rendered elsewhere."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Optional

from kdoctor.model.docs import check_docs
from kdoctor.model.need import Need


class Status(str, Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"

    @property
    def is_problem(self) -> bool:
        return self in (Status.WARN, Status.FAIL, Status.ERROR)


@dataclass(frozen=True)
class Remediation:
    """How a person fixes the problem by hand: a sentence and the exact commands."""

    text: str
    commands: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "commands": list(self.commands)}


@dataclass(frozen=True)
class Finding:
    id: str
    status: Status
    summary: str
    found: Optional[str] = None
    remediation: Optional[Remediation] = None
    #: what would repair it, as typed values the planners turn into steps (empty: nothing
    #: kdoctor fix can do; the remediation says what a person can)
    needs: tuple[Need, ...] = ()
    #: what the check observed, for people and JSON consumers (never read by fixes)
    facts: Mapping[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0
    #: whether a failure here stops the module from being built or loaded
    required: bool = True
    #: the Python traceback of a check that crashed (shown with -v and in the JSON)
    traceback: Optional[str] = None
    #: the planner that repairs this (its first repairing need's), None when nothing can: the
    #: diagnosis (kdoctor.pipeline) fills it from the planners' need types; a check leaves it
    fix: Optional[str] = None

    @property
    def docs(self) -> str:
        """Where this check is documented (``README.md#check-<id>``)."""
        return check_docs(self.id)

    def timed(self, duration_ms: float) -> Finding:
        return replace(self, duration_ms=duration_ms)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status.value,
            "required": self.required,
            "summary": self.summary,
            "found": self.found,
            "remediation": self.remediation.to_json() if self.remediation else None,
            "fix": self.fix,
            "needs": [n.to_json() for n in self.needs],
            "facts": dict(self.facts),
            "duration_ms": round(self.duration_ms, 1),
            "traceback": self.traceback,
            "docs": self.docs,
        }
