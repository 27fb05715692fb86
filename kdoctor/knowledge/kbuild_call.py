"""How a module's Makefile reaches kbuild, read from its text: the ``make -C <tree> M=...``
calls (in a recipe or in a variable a recipe expands, as the bundled hello-world does), the
variables that name the kernel tree, and whether the directory holds a module at all.

``kdoctor build`` runs ``make -C <module>``; make reads the first of ``GNUmakefile``,
``makefile`` and ``Makefile`` there and builds its first goal. A module's Makefile then calls
kbuild with the kernel tree it names: ``KDIR`` for most, but also ``KERNEL_SRC``, ``KSRC``,
``KERNELDIR``... or a hard-coded ``/lib/modules/$(shell uname -r)/build``. A variable given on
make's command line overrides every assignment of the file but an ``override`` one, so kdoctor
hands the tree over under each name the files read (:func:`tree_names`).

Pure: :mod:`kdoctor.facts.module_makefile` reads the files and asks make what it cannot tell.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

from kdoctor.knowledge.make_text import code_lines, logical_lines, strip_comment

#: the files ``make -C DIR`` reads, in the order it looks for them
MAKE_FILES = ("GNUmakefile", "makefile", "Makefile")

#: the names out-of-tree Makefiles give the kernel tree (none of them is read by kbuild itself,
#: so handing them to make's command line, which reaches kbuild's sub-make too, changes nothing
#: there)
TREE_NAMES = (
    "KDIR",
    "KERNELDIR",
    "KERNEL_DIR",
    "KERNEL_SRC",
    "KERNEL_SOURCE",
    "KERNELSRC",
    "KSRC",
    "KERNEL_PATH",
    "KERNEL_TREE",
    "KERNEL_BUILD",
    "KLIB_BUILD",
    "LINUX_DIR",
    "LINUXDIR",
    "LINUX_SRC",
    "KERN_DIR",
)

#: a make invocation (``$(MAKE)``, ``${MAKE}`` or ``make``)
_MAKE = re.compile(r"(?:^|[\s;&|(@'\"`-])(?:\$\(MAKE\)|\$\{MAKE\}|make)(?=[\s'\"]|$)")
#: the directory make enters: ``-C DIR``, ``-CDIR``, ``--directory=DIR``
_DIRECTORY = re.compile(r"(?:^|\s)(?:-C\s*|--directory[= ]\s*)(?=\S)")
#: what makes a make call kbuild's: the external module's directory
_EXTMOD = re.compile(r"(?:^|\s)['\"]?(?:M|SUBDIRS|KBUILD_EXTMOD)\s*=")
#: ``obj-m``/``obj-y``/``obj-$(CONFIG_X)`` assigned: a kbuild makefile
_OBJECTS = re.compile(r"^\s*obj-(?:m|y|\$[({][^)}]+[)}])\s*(?::=|\+=|\?=|=)")
_ASSIGN = re.compile(
    r"^\s*((?:(?:export|override|private)\s+)*)([A-Za-z_][A-Za-z0-9_]*)\s*(::=|:=|\+=|\?=|!=|=)"
    r"\s*(.*)$"
)
_ONE_REFERENCE = re.compile(r"^\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]$")
_REFERENCE = re.compile(r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]")
_INCLUDE = re.compile(r"^\s*-?(?:include|sinclude)\s")
#: a rule's first line: targets, one or two colons, not an assignment (``:=``, ``::=``)
_RULE = re.compile(r"^([^\s:=#][^:=#]*?)\s*::?(?!=)")
_DIRECTIVE = re.compile(r"^(?:ifeq|ifneq|ifdef|ifndef|else|endif|define|endef|export|vpath)\b")
#: how a Makefile asks for the running kernel's release, which make evaluates on the host
_UNAME = re.compile(r"\$[({]shell\s+uname\s+-r\s*[)}]|\$\$\(\s*uname\s+-r\s*\)|`\s*uname\s+-r\s*`")


@dataclass(frozen=True)
class KbuildCall:
    """``make -C <tree> M=...`` at ``file:line``: ``tree`` as written (quotes dropped)."""

    file: str
    line: int
    text: str
    tree: str

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def variable(self) -> Optional[str]:
        """The one variable the tree is, when it is one (``$(KDIR)``)."""
        match = _ONE_REFERENCE.match(self.tree)
        return match.group(1) if match else None

    def to_json(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "text": self.text, "tree": self.tree}


def kbuild_calls(name: str, text: str) -> list[KbuildCall]:
    """Every ``make -C <tree> M=<dir>`` of one build file (``name`` is how findings name it)."""
    calls: list[KbuildCall] = []
    for number, line in code_lines(text):
        start = _MAKE.search(line)
        if start is None or not _EXTMOD.search(line, start.end()):
            continue
        directory = _DIRECTORY.search(line, start.end())
        if directory is None:
            continue
        tree = make_word(line, directory.end()).strip("'\"")
        calls.append(KbuildCall(name, number, line, tree))
    return calls


def make_word(line: str, start: int) -> str:
    """The shell word of a recipe at ``start``, as make writes it: a reference such as
    ``$(shell uname -r)`` is one piece however many spaces it holds, quotes (and backquotes)
    keep spaces."""
    depth, quote, end = 0, "", start
    while end < len(line):
        char = line[end]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`":
            quote = char
        elif line.startswith(("$(", "${"), end):
            depth += 1
            end += 1
        elif char in ")}" and depth:
            depth -= 1
        elif char.isspace() and not depth:
            break
        end += 1
    return line[start:end]


def declares_objects(text: str) -> bool:
    """The file assigns ``obj-m`` (or ``obj-y``, ``obj-$(CONFIG_...)``): a kbuild makefile."""
    return any(_OBJECTS.match(line) for _number, line in code_lines(text))


def has_rules(text: str) -> bool:
    """The file has a rule make could build (special targets such as ``.PHONY`` aside)."""
    for line in logical_lines(text):
        if line.text.startswith("\t"):
            continue
        code = strip_comment(line.text).strip()
        if not code or _DIRECTIVE.match(code) or _ASSIGN.match(code):
            continue
        rule = _RULE.match(code)
        if rule and not all(t.startswith(".") for t in rule.group(1).split()):
            return True
    return False


def includes(text: str) -> bool:
    """The file includes another (whose rules this reading does not see)."""
    return any(_INCLUDE.match(line) for _number, line in code_lines(text))


def calls_kbuild(text: str) -> bool:
    """A make file that is a module's: it calls kbuild or declares kbuild objects."""
    return bool(kbuild_calls("", text)) or declares_objects(text)


def holds_module(files: Mapping[str, str]) -> bool:
    """A directory with these build files (name -> text; ``Cargo.toml`` with any text) holds
    a module: a ``Kbuild``, a make file calling kbuild or declaring objects, or a cargo
    crate."""
    if "Kbuild" in files or "Cargo.toml" in files:
        return True
    return any(calls_kbuild(files[n]) for n in MAKE_FILES if n in files)


def assignments(text: str) -> dict[str, list[tuple[int, str, bool]]]:
    """name -> its assignments: (line, value, whether ``override``)."""
    found: dict[str, list[tuple[int, str, bool]]] = {}
    for number, line in code_lines(text):
        match = _ASSIGN.match(line)
        if match:
            prefix, name, _op, value = match.groups()
            found.setdefault(name, []).append((number, value.strip(), "override" in prefix))
    return found


def tree_names(texts: Mapping[str, str], calls: list[KbuildCall]) -> list[str]:
    """The names under which to hand the kernel tree to make: ``KDIR`` (always), the variable
    each call's ``-C`` names and those that variable is assigned from whole
    (``KDIR ?= $(KERNEL_SRC)``), and every well-known tree name the files read."""
    values: dict[str, list[str]] = {}
    for text in texts.values():
        for name, found in assignments(text).items():
            values.setdefault(name, []).extend(value for _line, value, _override in found)
    names: list[str] = ["KDIR"]
    pending = [c.variable for c in calls if c.variable]
    while pending:
        name = pending.pop(0)
        if name is None or name in names:
            continue
        names.append(name)
        for value in values.get(name, []):
            match = _ONE_REFERENCE.match(value.strip("'\""))
            if match:
                pending.append(match.group(1))
    read = {ref for text in texts.values() for ref in _REFERENCE.findall(text)}
    names += [n for n in TREE_NAMES if n in read and n not in names]
    return names


def overridden(texts: Mapping[str, str], name: str) -> Optional[tuple[str, int]]:
    """Where a file assigns ``name`` with ``override`` (which a command line cannot beat)."""
    for file, text in texts.items():
        for number, _value, forced in assignments(text).get(name, []):
            if forced:
                return file, number
    return None


def with_release(text: str, release: str) -> str:
    """``text`` with its asks for the running kernel's release (``$(shell uname -r)``, a
    backquoted or ``$$(...)`` ``uname -r``) answered: the one command kdoctor evaluates for
    the Makefile, as make would on this host."""
    return _UNAME.sub(lambda _m: release, text)


def same_tree(a: str, b: str) -> bool:
    """Two spellings of one directory (trailing slashes, ``//``, ``.``)."""
    return os.path.normpath(a) == os.path.normpath(b)
