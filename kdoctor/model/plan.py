"""Plans: what kdoctor would do, as concrete steps, before anything is done."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Optional

from kdoctor.model.choice import KbuildFixMode
from kdoctor.model.context import Context


@dataclass(frozen=True)
class FileEdit:
    """A file kdoctor writes (atomically, keeping ``path~`` as a backup)."""

    path: str
    content: str
    #: a unified diff against the current content, shown before applying
    diff: str = ""
    mode: Optional[int] = None


@dataclass(frozen=True)
class Step:
    fix: str
    #: which findings this step answers (check ids)
    findings: tuple[str, ...]
    why: str
    #: the exact command; empty for a file edit
    argv: tuple[str, ...] = ()
    edit: Optional[FileEdit] = None
    root: bool = False
    timeout: float = 1800.0
    env: dict[str, str] = field(default_factory=dict)
    #: a command that needs the network (named in the error when it cannot reach it)
    network: bool = False
    #: persisted choices (``CC``, ``KDIR``, ...); make_plan merges them into one file edit
    settings: dict[str, Optional[str]] = field(default_factory=dict)
    #: what to show instead of the raw argv (e.g. ``kdoctor fetch-image R``)
    label: str = ""
    #: seconds to keep retrying while another package manager holds its lock (visibly)
    lock_wait: float = 0.0

    @property
    def display(self) -> str:
        if self.label:
            return self.label
        if self.edit is not None:
            return f"write {self.edit.path}"
        return shlex.join(self.argv)

    def to_json(self) -> dict[str, Any]:
        return {
            "fix": self.fix,
            "findings": list(self.findings),
            "why": self.why,
            "argv": list(self.argv),
            "edit": {"path": self.edit.path, "diff": self.edit.diff} if self.edit else None,
            "root": self.root,
            "network": self.network,
        }


@dataclass(frozen=True)
class PlanOptions:
    """What the person asked of the planner (command-line options, never the environment)."""

    #: consent to the official rustup installer (``--allow-rustup-installer``)
    allow_rustup_installer: bool = False
    #: how a module's Kbuild is made to leave its member ``.cmd`` files (``--kbuild-fix``)
    kbuild_fix: KbuildFixMode = KbuildFixMode.REWRITE


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    #: notes the person should read (which toolchain source was chosen and why, ...)
    notes: tuple[str, ...] = ()
    #: the context the plan was made for (its target differs when the plan retargets)
    context: Optional[Context] = None

    @property
    def empty(self) -> bool:
        return not self.steps

    def to_json(self) -> dict[str, Any]:
        return {"steps": [s.to_json() for s in self.steps], "notes": list(self.notes)}
