"""A Makefile or Kbuild read as make reads its lines, before any variable is expanded.

* A backslash at the end of a line continues it: the backslash, the newline and the
  whitespace around them become one space. The first line keeps its leading whitespace, so a
  recipe line still starts with its tab.
* ``#`` starts a comment that runs to the end of the *logical* line: a comment whose line ends
  in a backslash swallows the next line too, as in make. ``\\#`` is a literal ``#``.

Pure: the facts that read the module's build files (:mod:`kdoctor.facts.kbuild`) and the
knowledge that reads them (:mod:`kdoctor.knowledge.compiler_family`,
:mod:`kdoctor.knowledge.compat`) share these.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Optional

_COMMENT = re.compile(r"(?<!\\)#")


class LogicalLine(NamedTuple):
    """Lines ``first`` to ``last`` (1-based) of a file, joined into ``text``."""

    first: int
    last: int
    text: str


def logical_lines(text: str) -> list[LogicalLine]:
    """``text``'s logical lines, continuations joined, comments kept (:func:`strip_comment`)."""
    lines: list[LogicalLine] = []
    buffer: Optional[str] = None
    first = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if buffer is None:
            buffer, first = raw, number
        else:
            buffer = buffer[:-1].rstrip() + " " + raw.strip()
        if not buffer.endswith("\\"):
            lines.append(LogicalLine(first, number, buffer))
            buffer = None
    if buffer is not None:  # the file ends inside a continuation
        last = len(text.splitlines())
        lines.append(LogicalLine(first, last, buffer[:-1].rstrip()))
    return lines


def strip_comment(line: str) -> str:
    """``line`` up to its comment (a ``#`` that no backslash escapes)."""
    match = _COMMENT.search(line)
    return line[: match.start()] if match else line


def code_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, the logical line without its comment or surrounding whitespace)."""
    return [(line.first, strip_comment(line.text).strip()) for line in logical_lines(text)]


def joined(*texts: str) -> str:
    """Build files as make reads their lines: each logical line on a line of its own."""
    return "\n".join(line.text for text in texts for line in logical_lines(text))


#: how a module's own directory is named in its build files (kbuild's and make's names for it)
_OWN_DIR = re.compile(r"^(?:\$[({](?:src|obj|M|CURDIR|PWD|KBUILD_EXTMOD|srctree)[)}]/?)*(?:\./)?")
_INCLUDE = re.compile(r"^-?(?:include|sinclude)\s+(.+)$")


def includes_itself(text: str, name: str) -> Optional[int]:
    """The line at which the build file ``name`` (``Kbuild``, ``Makefile``) includes itself
    (``include $(src)/Kbuild``): make then reads it again and again until it crashes. None
    when it does not."""
    for number, line in code_lines(text):
        found = _INCLUDE.match(line)
        if not found:
            continue
        for word in found.group(1).split():
            rest = _OWN_DIR.sub("", word)
            if rest == name:
                return number
    return None
