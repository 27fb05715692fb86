"""The tools a module's own build files hand kbuild (``RUSTC=rustc-1.62 BINDGEN=bindgen-0.56`` on
the make command line of a recipe, ``CC := gcc-9`` in its Kbuild), read from what make printed
when it evaluated those files (:mod:`kdoctor.facts.module_tools`), and what kbuild then runs.

Which settings reach kbuild, as make decides it:

* a ``NAME=value`` word on a ``make`` (``$(MAKE)``) command line in a recipe of the Makefile kdoctor
  runs: it is a command-line variable of kbuild's make, which beats every assignment there and
  what kdoctor itself passed (kdoctor's value is evaluated as a marker, so a recipe that only
  forwards it, ``RUSTC='$(RUSTC)'``, sets nothing of its own);
* an assignment in the file kbuild reads (``Kbuild``, else the Makefile with ``KERNELRELEASE``
  set), unless the variable came on kbuild's command line (from kdoctor or a recipe): only
  ``override`` beats that.

Pure: the fact runs make, this module reads its words.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Optional

from kdoctor.i18n import _
from kdoctor.knowledge.make_text import code_lines

#: the tool variables of kbuild kdoctor reads from a module's build files
TOOL_VARIABLES = ("RUSTC", "BINDGEN", "CC", "LD", "HOSTCC", "LLVM")
#: the variables ``kdoctor build`` passes on make's command line when it (or the person) chose
#: them (``RUSTC`` always: the rustc the toolchain check chose)
MAKE_VARS = ("CC", "CLANG", "LLVM", "BINDGEN", "LIBCLANG_PATH")
#: what a variable kdoctor passes is set to while make evaluates the module's files: a value
#: that still holds it only forwards kdoctor's choice
MARKER = "/kdoctor-passes/"
#: make's own words around a recipe's command (shell operators end one command)
_OPERATORS = frozenset({";", "&&", "||", "|", "&", "(", ")", ";;"})
_PREFIX = r"^\s*((?:(?:override|export|private)\s+)*)"
_ASSIGN = re.compile(_PREFIX + r"([A-Za-z_]\w*)\s*(?:\?|:{1,3}|\+|!)?=")
#: a line that may hand a tool to a make command line (before make expands it)
_CANDIDATE = re.compile(
    r"(?:\$[({]MAKE[)}]|\bmake\b)[^\n]*\b(?:" + "|".join(TOOL_VARIABLES) + r")="
)
_TOOL_ASSIGNMENT = re.compile(_PREFIX + "(" + "|".join(TOOL_VARIABLES) + r")\s*(?:\?|:{1,3}|\+)?=")


@dataclass(frozen=True)
class ToolSetting:
    """``variable=value`` from ``file:line``, and how it reaches kbuild (``how``: passed to
    make on a recipe's command line, or assigned in the file kbuild reads)."""

    variable: str
    value: str
    file: str
    line: int
    how: str

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def text(self) -> str:
        return f"{self.variable}={self.value}"

    @property
    def commands(self) -> tuple[str, ...]:
        """The programs kbuild runs for this setting (``ccache gcc-12``: both)."""
        return commands_of(self.variable, self.value)

    def to_json(self) -> dict[str, object]:
        return {
            "variable": self.variable,
            "value": self.value,
            "file": self.file,
            "line": self.line,
            "how": self.how,
            "commands": list(self.commands),
        }


def commands_of(variable: str, value: str) -> tuple[str, ...]:
    """The programs ``variable=value`` makes kbuild run: its words that are not options or
    environment assignments; for ``LLVM``, the clang it names (``LLVM=1``: ``clang``,
    ``LLVM=-14``: ``clang-14``, ``LLVM=/usr/lib/llvm-14/bin/``: that directory's clang)."""
    words = value.split()
    if variable == "LLVM":
        word = words[0] if words else ""
        if not word or word == "0":
            return ()
        if word.endswith("/"):
            return (word + "clang",)
        if word.startswith("-"):
            return ("clang" + word,)
        return ("clang",)
    return tuple(w for w in words if not w.startswith(("-", "+")) and "=" not in w)


def candidate_lines(text: str) -> list[tuple[int, str]]:
    """(first line, logical line) of each line of ``text`` that may pass a tool variable on a
    make command line (make expands them; :func:`passed_words` reads what it printed)."""
    found: list[tuple[int, str]] = []
    for number, line in code_lines(text):
        command = line.lstrip("@-+ \t")
        if _CANDIDATE.search(command) and not command.startswith(("define", "endef")):
            found.append((number, command))
    return found


def passed_words(expanded: str) -> list[tuple[str, str]]:
    """The ``(variable, value)`` tool words on the make command lines of one expanded recipe
    line (shell quotes removed, as the shell hands them to make)."""
    try:
        lexer = shlex.shlex(expanded, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
    except ValueError:  # an unbalanced quote: the shell would refuse the line too
        return []
    found: list[tuple[str, str]] = []
    in_make = False
    for token in tokens:
        if token in _OPERATORS or set(token) <= set(";&|()"):
            in_make = False
            continue
        if token.rsplit("/", 1)[-1] in ("make", "gmake"):
            in_make = True
            continue
        name, equals, value = token.partition("=")
        if in_make and equals and name in TOOL_VARIABLES:
            found.append((name, value))
    return found


def forwards(value: str) -> bool:
    """Whether ``value`` only hands on what kdoctor passed (it holds kdoctor's marker)."""
    return MARKER in value


def assignment_line(text: str, variable: str) -> Optional[int]:
    """The line of ``text``'s last assignment of ``variable`` (None: none found)."""
    last: Optional[int] = None
    for number, line in code_lines(text):
        match = _ASSIGN.match(line)
        if match and match.group(2) == variable:
            last = number
    return last


def assigns_tools(text: str) -> bool:
    """Whether ``text`` assigns a tool variable at all (else make need not be asked)."""
    return any(_TOOL_ASSIGNMENT.match(line) for _number, line in code_lines(text))


def passed_how() -> str:
    # Translators: how a module's build file hands a tool to kbuild, in parentheses
    return _("passed to make")


def assigned_how(file: str) -> str:
    # Translators: how a module's build file hands a tool to kbuild, in parentheses
    return _("assigned in {file}").format(file=file)


def described(settings: Iterable[ToolSetting]) -> str:
    """``RUSTC=rustc-1.62 and BINDGEN=bindgen-0.56 (Makefile:7, passed to make)``, grouped by
    where they were set."""
    places: dict[tuple[str, str], list[str]] = {}
    for setting in settings:
        places.setdefault((setting.location, setting.how), []).append(f"`{setting.text}`")
    return "; ".join(
        _("{settings} ({location}, {how})").format(
            settings=" ".join(texts), location=location, how=how
        )
        for (location, how), texts in places.items()
    )


def origins(settings: Sequence[ToolSetting]) -> dict[str, str]:
    """command -> where it was set, for a build log's "not found" (the first setting wins)."""
    found: dict[str, str] = {}
    for setting in settings:
        for command in setting.commands:
            found.setdefault(command, f"{setting.text} ({setting.location}, {setting.how})")
    return found


def marker_values(names: Iterable[str]) -> dict[str, str]:
    """``NAME=<marker>NAME`` for each variable kdoctor passes, as make's command line takes it."""
    return {name: f"{MARKER}{name}" for name in names}
