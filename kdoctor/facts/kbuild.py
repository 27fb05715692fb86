"""The module's Kbuild file: which objects make up a module and which rules build them, and
which of those rules leave no ``.<object>.cmd`` behind for modpost (see
:mod:`kdoctor.facts.kernel` for which kernels need it).

Only kbuild's ``if_changed`` family writes ``.<object>.cmd``; ``$(call cmd,...)`` runs a command
without recording it, and a plain recipe (``$(LD) -r -o $@ ...``) records nothing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Optional

# the build directory's facts moved to kdoctor.facts.kernel; these names stay importable here
# for the code that imports them from kbuild (kdoctor.pipeline.retarget and others)
from kdoctor.facts.kernel import (
    CmdReading as CmdReading,
)
from kdoctor.facts.kernel import (
    installed_build_dirs as installed_build_dirs,
)
from kdoctor.facts.kernel import (
    kdir_release as kdir_release,
)
from kdoctor.facts.kernel import (
    kdir_uts_release as kdir_uts_release,
)
from kdoctor.facts.kernel import (
    member_cmd_reading as member_cmd_reading,
)
from kdoctor.facts.kernel import (
    missing_build_files as missing_build_files,
)
from kdoctor.facts.kernel import (
    module_declares_version as module_declares_version,
)
from kdoctor.facts.kernel import (
    release_key as release_key,
)
from kdoctor.machine.system import System

# -- the module's Kbuild ----------------------------------------------------------------

#: recipes that record the command line in ``.<target>.cmd``
_SAVES_CMD = re.compile(
    r"\$\(call\s+(?:if_changed|if_changed_dep|if_changed_rule|cmd_and_savecmd|cmd_and_fixdep)\b"
)
_WRITES_CMD = re.compile(
    r"\$\(dot-target\)\.cmd|\.\$\(@F\)\.cmd|\.\$\(notdir\s+\$@\)\.cmd|\.\$\(notdir\s+\$\(@\)\)\.cmd"
)
_CMD_ONLY = re.compile(r"\$\(call\s+cmd\s*,")
_ASSIGN = re.compile(
    r"^(?:(?:override|export)\s+)*([A-Za-z0-9_.\-$(){}/]+)\s*(::=|:=|\+=|\?=|!=|=)\s*(.*)$"
)
_DIRECTIVES = frozenset(
    ("ifeq", "ifneq", "ifdef", "ifndef", "else", "endif", "include", "-include", "sinclude")
)
_DIRECTIVES_NO_ASSIGN = frozenset(("export", "unexport", "vpath", ".PHONY", "undefine"))
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
_REFERENCE = re.compile(r"\$[({]([A-Za-z0-9_.\-]+)[)}]")


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


@dataclass(frozen=True)
class Kbuild:
    """The module's Kbuild (or the Makefile kbuild reads when there is none)."""

    path: str
    variables: dict[str, str] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    def expand(self, value: str, depth: int = 0) -> str:
        """``value`` with references to variables this file defines filled in."""
        if depth > 8:
            return value

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in self.variables:
                return self.expand(self.variables[name], depth + 1)
            return match.group(0)

        return _REFERENCE.sub(one, value)

    def modules(self) -> dict[str, list[str]]:
        """Module name -> its member objects (``<name>-objs``/``-y``; else ``<name>.o``)."""
        result: dict[str, list[str]] = {}
        for key, value in self.variables.items():
            if not (key == "obj-m" or re.fullmatch(r"obj-\$[({].+[)}]", key)):
                continue
            for word in self.expand(value).split():
                if not word.endswith(".o"):
                    continue
                name = word[: -len(".o")]
                members: list[str] = []
                for suffix in ("-objs", "-y"):
                    raw = self.variables.get(name + suffix, "")
                    members += [w for w in self.expand(raw).split() if w.endswith(".o")]
                result[name] = members or [word]
        return result

    def rule_for(self, obj: str) -> Optional[Rule]:
        """The rule of this file that builds ``obj`` (explicit before pattern), if any."""
        candidates = [r for r in self.rules if r.recipe and r.builds(obj)]
        explicit = [r for r in candidates if not r.is_pattern()]
        chosen = explicit or candidates
        return chosen[0] if chosen else None

    def mentions(self, text: str) -> bool:
        return any(text in line for rule in self.rules for line in rule.recipe)


@dataclass(frozen=True)
class UnsavedObject:
    """A member object built by a rule that never writes its ``.cmd`` file."""

    module: str
    object: str
    rule: Rule
    #: the file modpost will look for
    cmd_file: str

    @property
    def file(self) -> str:
        return self.rule.file

    @property
    def line(self) -> int:
        return self.rule.line

    @property
    def recipe(self) -> tuple[str, ...]:
        return self.rule.recipe

    def to_json(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "object": self.object,
            "file": self.rule.file,
            "line": self.rule.line,
            "end_line": self.rule.end_line,
            "targets": list(self.rule.targets),
            "prerequisites": list(self.rule.prerequisites),
            "recipe": list(self.rule.recipe),
            "uses_cmd_only": self.rule.uses_cmd_only,
            "cmd_file": self.cmd_file,
        }


def kbuild_path(system: System, module_dir: str) -> Optional[str]:
    """``Kbuild`` when present (kbuild prefers it), else ``Makefile``."""
    for name in ("Kbuild", "Makefile"):
        path = os.path.join(module_dir, name)
        if system.read_text(path) is not None:
            return path
    return None


def read_kbuild(system: System, module_dir: str) -> Optional[Kbuild]:
    path = kbuild_path(system, module_dir)
    if path is None:
        return None
    return parse_kbuild(system.read_text(path) or "", path)


def cmd_file_for(module_dir: str, obj: str) -> str:
    """Where kbuild and modpost look for ``obj``'s saved command: ``<dir>/.<name>.cmd``."""
    directory, name = os.path.split(obj)
    return os.path.join(module_dir, directory, f".{name}.cmd")


def objects_without_cmd(kbuild: Kbuild, module_dir: str) -> list[UnsavedObject]:
    """Member objects whose rule in ``kbuild`` leaves no ``.<object>.cmd`` behind."""
    found: list[UnsavedObject] = []
    for module, members in kbuild.modules().items():
        for obj in members:
            rule = kbuild.rule_for(obj)
            if rule is None or rule.saves_cmd:
                continue  # kbuild's own rules (.c/.S/.rs) go through if_changed
            if kbuild.mentions(f".{os.path.basename(obj)}.cmd"):
                continue  # the file writes the .cmd itself (touch .x.o.cmd)
            found.append(UnsavedObject(module, obj, rule, cmd_file_for(module_dir, obj)))
    return found


@dataclass
class _Open:
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


def parse_kbuild(text: str, path: str) -> Kbuild:
    """Assignments and rules of a Kbuild/Makefile; every conditional branch counts."""
    variables: dict[str, str] = {}
    rules: list[Rule] = []
    current: Optional[_Open] = None
    in_define = False
    for start, end, line in _logical_lines(text):
        if in_define:
            in_define = line.strip() != "endef"
            continue
        if line.startswith("\t"):
            if current is not None:
                command = line.strip()
                if command and not command.startswith("#"):
                    current.recipe.append(command)
                current.end_line = end
            continue
        stripped = _strip_comment(line).strip()
        if not stripped or stripped.split()[0] in _DIRECTIVES:
            continue  # blank, comment and conditional lines do not end a recipe
        if current is not None:
            rules.append(current.close(path))
            current = None
        word = stripped.split()[0]
        if word == "define":
            in_define = True
            continue
        assignment = _ASSIGN.match(stripped)
        if assignment:
            _assign(variables, *assignment.groups())
            continue
        if word in _DIRECTIVES_NO_ASSIGN or stripped.startswith(".PHONY"):
            continue
        parsed = _rule_line(stripped)
        if parsed is not None:
            targets, prerequisites, inline = parsed
            current = _Open(targets, prerequisites, [inline] if inline else [], start, end)
    if current is not None:
        rules.append(current.close(path))
    return Kbuild(path=path, variables=variables, rules=tuple(rules))


def _logical_lines(text: str) -> list[tuple[int, int, str]]:
    """(first line, last line, text) with backslash continuations joined."""
    lines: list[tuple[int, int, str]] = []
    buffer: Optional[str] = None
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if buffer is None:
            buffer, start = raw, number
        else:
            buffer = buffer[:-1].rstrip() + " " + raw.strip()
        if buffer.endswith("\\"):
            continue
        lines.append((start, number, buffer))
        buffer = None
    if buffer is not None:
        lines.append((start, start, buffer.rstrip("\\")))
    return lines


def _strip_comment(line: str) -> str:
    match = re.search(r"(?<!\\)#", line)
    return line[: match.start()] if match else line


def _assign(variables: dict[str, str], name: str, op: str, value: str) -> None:
    value = value.strip()
    if op == "+=":
        old = variables.get(name, "")
        variables[name] = f"{old} {value}".strip()
    elif op == "?=":
        variables.setdefault(name, value)
    elif op != "!=":  # shell assignments cannot be evaluated here
        variables[name] = value


def _rule_line(line: str) -> Optional[tuple[list[str], list[str], str]]:
    """Split ``targets: prerequisites ; recipe`` (also static pattern and ``::`` rules)."""
    parts = _split_top_level(line, ":")
    if len(parts) < 2:
        return None
    targets = parts[0].split()
    rest = ":".join(p for p in parts[1:] if p != "")  # "::" rules
    if len(parts) >= 3 and parts[1].strip():  # static pattern: targets: pattern: prereqs
        rest = ":".join(parts[2:])
    prereq_text, _, inline = rest.partition(";")
    if _ASSIGN.match(prereq_text.strip()):  # target-specific variable
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
