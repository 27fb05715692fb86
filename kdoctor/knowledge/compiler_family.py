"""Which compiler family a module's build files force on kbuild, and what that does.

kbuild compiles an out-of-tree module with the flags the kernel was configured for, and those
flags belong to the kernel's compiler: a gcc-built kernel passes gcc-only flags
(``-mfunction-return=thunk-extern``, ``-fconserve-stack``, ``-mrecord-mcount``), a clang-built
one clang-only flags. A module's Makefile that forces the other family (``CC=clang``,
``LLVM=1``, ``CONFIG_CC_IS_CLANG=y``, or ``CC = gcc`` on a clang kernel) makes the first C
object of the build fail.

Read conservatively: a variable counts when it is passed on a ``make`` command line (which
reaches kbuild's sub-make), assigned in the file kbuild reads (``Kbuild``, or the Makefile when
there is no Kbuild), or, for ``LLVM``, exported (the kernel's Makefile reads it from the
environment; its ``CC`` and ``LD`` assignments override an exported ``CC`` or ``LD``).
``CC ?= ...`` does nothing (make defines ``CC`` itself), and values that are other variables are
followed one step inside the same file, else ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

from kdoctor.i18n import _
from kdoctor.knowledge import versions
from kdoctor.knowledge.make_text import code_lines

#: the variables that choose the compiler or linker family
VARIABLES = ("CC", "LD", "LLVM", "CONFIG_CC_IS_CLANG", "CONFIG_CC_IS_GCC", "CONFIG_LD_IS_LLD")

_WORD = re.compile(r"(?:^|\s)(" + "|".join(VARIABLES) + r")=(\S*)")
_MAKE = re.compile(r"(?:^|[\s;&|(@-])(?:\$\(MAKE\)|\$\{MAKE\}|make)(?=\s)")
_ASSIGN = re.compile(r"^\s*(export\s+|override\s+)*([A-Za-z_][\w]*)\s*(\?=|:=|::=|\+=|=)\s*(.*)$")
_EXPORT = re.compile(r"^\s*export\s+([A-Za-z_][\w\s]*)$")
_REF = re.compile(r"^\$[({]([A-Za-z_]\w*)[)}]$")

#: flags a gcc-built kernel passes that clang rejects, by the option that adds them
GCC_ONLY_FLAGS = (
    ("CONFIG_RETHUNK", "-mfunction-return=thunk-extern"),
    ("CONFIG_STACK_VALIDATION", "-fconserve-stack"),
    ("CONFIG_FTRACE_MCOUNT_USE_CC", "-mrecord-mcount"),
)


@dataclass(frozen=True)
class Override:
    """``variable=value`` at ``file:line``, forcing ``family`` (``gcc``/``clang``) or ``linker``
    (``lld``/``bfd``), and how it reaches kbuild."""

    file: str
    line: int
    variable: str
    value: str
    how: str
    family: Optional[str] = None
    linker: Optional[str] = None

    @property
    def location(self) -> str:
        """``Makefile:5``; for a variable from the environment or kdoctor's settings file
        (``line`` 0), where it comes from."""
        return f"{self.file}:{self.line}" if self.line else self.file

    @property
    def text(self) -> str:
        return f"{self.variable}={self.value}"

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "variable": self.variable,
            "value": self.value,
            "how": self.how,
            "family": self.family,
            "linker": self.linker,
        }


def family_of(variable: str, value: str) -> tuple[Optional[str], Optional[str]]:
    """(compiler family, linker) that ``variable=value`` forces, None where it forces none."""
    word = value.strip().strip("'\"")
    base = word.split()[-1].rsplit("/", 1)[-1] if word.split() else ""
    if variable == "LLVM":
        return ("clang", "lld") if word else (None, None)
    if variable == "CONFIG_CC_IS_CLANG":
        return ("clang", None) if word == "y" else (None, None)
    if variable == "CONFIG_CC_IS_GCC":
        return ("gcc", None) if word == "y" else (None, None)
    if variable == "CONFIG_LD_IS_LLD":
        return (None, "lld") if word == "y" else (None, None)
    if variable == "LD":
        if "lld" in base:
            return None, "lld"
        return (None, "bfd") if re.fullmatch(r"(?:[\w.+]+-)*ld(?:\.bfd)?", base) else (None, None)
    if "clang" in base:
        return "clang", None
    if re.fullmatch(r"(?:[\w.+]+-)*gcc(?:-\d+)?", base):
        return "gcc", None
    return None, None


def read_overrides(name: str, text: str, *, read_by_kbuild: bool) -> list[Override]:
    """The family overrides in one build file (``name`` is how findings name it)."""
    lines = code_lines(text)
    values: dict[str, str] = {}
    exported: set[str] = set()
    for _number, line in lines:
        assign = _ASSIGN.match(line)
        if assign:
            prefix, variable, op, value = assign.groups()
            if op != "?=" or variable not in values:
                values[variable] = value.strip()
            if prefix and "export" in prefix:
                exported.add(variable)
        export = _EXPORT.match(line)
        if export:
            exported.update(export.group(1).split())
    found: list[Override] = []
    for number, line in lines:
        if _MAKE.search(line):
            for match in _WORD.finditer(line):
                variable, value = match.group(1), match.group(2)
                # Translators: how a build file forces a compiler, in parentheses
                found += _one(name, number, variable, value, _("passed to make"), values)
            continue
        assign = _ASSIGN.match(line)
        if not assign or assign.group(2) not in VARIABLES:
            continue
        variable, op, value = assign.group(2), assign.group(3), assign.group(4).strip()
        if op == "?=" and variable in ("CC", "LD"):
            continue  # make defines CC and LD itself: ?= never applies
        if read_by_kbuild and variable != "LLVM":
            how = _("assigned in {file}").format(file=name)
            found += _one(name, number, variable, value, how, values)
        elif variable == "LLVM" and (variable in exported or read_by_kbuild):
            found += _one(name, number, variable, value, _("exported to kbuild"), values)
    return found


def passed_override(variable: str, value: str, where: str) -> Optional[Override]:
    """``variable=value`` that ``kdoctor build`` passes on make's command line (from ``where``:
    the environment or kdoctor's settings file), when it forces a compiler family or linker:
    a command-line variable reaches every make below, kbuild's included."""
    family, linker = family_of(variable, value)
    if family is None and linker is None:
        return None
    # Translators: how a variable reaches kbuild, in parentheses
    return Override(where, 0, variable, value, _("passed to make by kdoctor build"), family, linker)


def _one(
    name: str, line: int, variable: str, value: str, how: str, values: Mapping[str, str]
) -> list[Override]:
    seen: set[str] = set()
    while True:
        ref = _REF.match(value.strip())
        if not ref or ref.group(1) in seen or ref.group(1) not in values:
            break
        seen.add(ref.group(1))
        value = values[ref.group(1)]
    if "$" in value:
        return []
    family, linker = family_of(variable, value)
    if family is None and linker is None:
        return []
    return [Override(name, line, variable, value, how, family, linker)]


def kernel_family(config: Mapping[str, str]) -> Optional[str]:
    """``gcc`` or ``clang``: the family of the compiler a kernel's ``.config`` says built it
    (None without a ``.config``)."""
    if not config:
        return None
    text = config.get("CONFIG_CC_VERSION_TEXT") or None
    is_clang = config.get("CONFIG_CC_IS_CLANG") == "y" or (
        config.get("CONFIG_CC_IS_GCC") != "y"
        and text is not None
        and versions.is_clang_banner(text)
    )
    return "clang" if is_clang else "gcc"


def refused_by_kernel(variable: str, value: str, family: Optional[str]) -> Optional[str]:
    """The compiler family ``variable=value`` would make kbuild compile with, when a kernel
    built by ``family`` refuses it (its flags belong to the other family); else None. This is
    what kdoctor checks before it offers or persists ``CC`` or ``LLVM`` (``CLANG`` is
    bindgen's clang, not kbuild's compiler: never refused)."""
    if variable not in ("CC", "LLVM"):
        return None
    forced, _linker = family_of(variable, value)
    return forced if family is not None and forced is not None and forced != family else None


def rejected_flags(config: Mapping[str, str], kernel_family: str) -> list[str]:
    """Flags of this kernel's build the other compiler family is known to reject."""
    if kernel_family != "gcc":
        return []
    return [flag for option, flag in GCC_ONLY_FLAGS if config.get(option) == "y"]
