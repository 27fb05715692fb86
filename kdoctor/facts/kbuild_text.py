"""Reading a Kbuild or Makefile as text: its assignments and rules, and how a rule's target
names an object (its logical lines: :mod:`kdoctor.knowledge.make_text`).
:mod:`kdoctor.facts.kbuild` builds on it."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Optional

#: recipes that record the command line in ``.<target>.cmd``
_SAVES_CMD = re.compile(
    r"\$\(call\s+(?:if_changed|if_changed_dep|if_changed_rule|cmd_and_savecmd|cmd_and_fixdep)\b"
)
_WRITES_CMD = re.compile(
    r"\$\(dot-target\)\.cmd|\.\$\(@F\)\.cmd|\.\$\(notdir\s+\$@\)\.cmd|\.\$\(notdir\s+\$\(@\)\)\.cmd"
)
_CMD_ONLY = re.compile(r"\$\(call\s+cmd\s*,")
ASSIGN = re.compile(
    r"^(?:(?:override|export)\s+)*([A-Za-z0-9_.\-$(){}/]+)\s*(::=|:=|\+=|\?=|!=|=)\s*(.*)$"
)
DIRECTIVES = frozenset(
    ("ifeq", "ifneq", "ifdef", "ifndef", "else", "endif", "include", "-include", "sinclude")
)
DIRECTIVES_NO_ASSIGN = frozenset(("export", "unexport", "vpath", ".PHONY", "undefine"))
#: how a Kbuild names the module directory in front of a target
_DIR_PREFIXES = (
    "$(obj)/",
    "$(src)/",
    "${obj}/",
    "${src}/",
    "$(M)/",
    "$(CURDIR)/",
    "$(PWD)/",
    "$(KBUILD_EXTMOD)/",
    "$(srctree)/",
    "./",
)
REFERENCE = re.compile(r"\$[({]([A-Za-z0-9_.\-]+)[)}]")


@dataclass(frozen=True)
class Rule:
    """One explicit or pattern rule with its recipe, as written in the file."""

    targets: tuple[str, ...]
    prerequisites: tuple[str, ...]
    recipe: tuple[str, ...]
    file: str
    #: the rule's first line and the last line of its recipe (1-based)
    line: int
    end_line: int

    @property
    def location(self) -> str:
        return f"{os.path.basename(self.file)}:{self.line}"

    @property
    def saves_cmd(self) -> bool:
        """Whether running the recipe leaves ``.<target>.cmd`` behind."""
        return any(_SAVES_CMD.search(r) or _WRITES_CMD.search(r) for r in self.recipe)

    @property
    def uses_cmd_only(self) -> bool:
        """``$(call cmd,...)`` runs and prints a command but records nothing."""
        return any(_CMD_ONLY.search(r) for r in self.recipe)

    @property
    def command(self) -> str:
        """The recipe on one line (what it runs instead of if_changed)."""
        return "; ".join(r for r in self.recipe if r)

    def builds(self, obj: str) -> bool:
        return any(_matches(_normal_target(t), obj) for t in self.targets)

    def is_pattern(self) -> bool:
        return all("%" in t for t in self.targets)


@dataclass
class OpenRule:
    """A rule whose recipe lines are still being read."""

    targets: list[str]
    prerequisites: list[str]
    recipe: list[str]
    line: int
    end_line: int

    def close(self, path: str) -> Rule:
        return Rule(
            tuple(self.targets),
            tuple(self.prerequisites),
            tuple(self.recipe),
            path,
            self.line,
            self.end_line,
        )


def assign(variables: dict[str, str], name: str, op: str, value: str) -> None:
    value = value.strip()
    if op == "+=":
        old = variables.get(name, "")
        variables[name] = f"{old} {value}".strip()
    elif op == "?=":
        variables.setdefault(name, value)
    elif op != "!=":  # shell assignments cannot be evaluated here
        variables[name] = value


def rule_line(line: str) -> Optional[tuple[list[str], list[str], str]]:
    """Split ``targets: prerequisites ; recipe`` (also static pattern and ``::`` rules)."""
    parts = _split_top_level(line, ":")
    if len(parts) < 2:
        return None
    targets = parts[0].split()
    rest = ":".join(p for p in parts[1:] if p != "")  # "::" rules
    if len(parts) >= 3 and parts[1].strip():  # static pattern: targets: pattern: prereqs
        rest = ":".join(parts[2:])
    prereq_text, _, inline = rest.partition(";")
    if ASSIGN.match(prereq_text.strip()):  # target-specific variable
        return None
    if not targets:
        return None
    return targets, prereq_text.split(), inline.strip()


def _split_top_level(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char in "({":
            depth += 1
        elif char in ")}":
            depth = max(0, depth - 1)
        if char == sep and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _normal_target(target: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in _DIR_PREFIXES:
            if target.startswith(prefix):
                target = target[len(prefix) :]
                changed = True
    return target


def _matches(target: str, obj: str) -> bool:
    # like make: a pattern (or name) without a slash is compared with the file name only
    name = obj if "/" in target else os.path.basename(obj)
    if "%" not in target:
        return target == name
    prefix, _, suffix = target.partition("%")
    return (
        len(name) > len(prefix) + len(suffix) and name.startswith(prefix) and name.endswith(suffix)
    )
