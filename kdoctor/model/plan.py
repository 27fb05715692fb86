"""Plans: what kdoctor would do, as concrete steps, before anything is done."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from kdoctor.i18n import _
from kdoctor.model.choice import KbuildFixMode
from kdoctor.model.context import Context


def byte_diff(path: str, before: bytes, after: bytes, context: int = 3) -> str:
    """The exact change from ``before`` to ``after`` as a unified diff: bytes that are not
    UTF-8 show as ``\\xNN`` (never silently as U+FFFD), a last line without its newline is
    marked as diff marks it."""

    def shown(data: bytes) -> list[str]:
        lines = data.decode("utf-8", errors="backslashreplace").split("\n")
        out = [line + "\n" for line in lines[:-1]]
        if lines[-1]:
            out.append(lines[-1] + "\n\\ No newline at end of file\n")
        return out

    import difflib  # only a plan with an edit shows a diff (a no-op fix never imports it)

    return "".join(difflib.unified_diff(shown(before), shown(after), path, path, n=context))


@dataclass(frozen=True)
class FileEdit:
    """A file kdoctor writes (atomically, through a symlink, keeping a numbered backup
    ``path.~N~``); ``content`` is written as it is (bytes) or as UTF-8 (text)."""

    path: str
    content: Union[str, bytes]
    #: a unified diff against the current content, shown before applying
    diff: str = ""
    mode: Optional[int] = None

    @property
    def text(self) -> str:
        """The new content as text (bytes that are not UTF-8 kept as surrogate escapes)."""
        if isinstance(self.content, bytes):
            return self.content.decode("utf-8", errors="surrogateescape")
        return self.content


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
    #: runs on its own thread while the following steps go on (it needs only what the steps
    #: before it provide); applying waits for it before it ends
    background: bool = False
    #: False: a head start on later work that would be done anyway (its failure is shown and
    #: logged but stops nothing and fails nothing)
    required: bool = True

    @property
    def display(self) -> str:
        if self.label:
            return self.label
        if self.edit is not None:
            return _("write {path}").format(path=self.edit.path)
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
            "background": self.background,
            "required": self.required,
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
