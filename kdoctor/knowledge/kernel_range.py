"""The kernel range a module's ``build.rs`` declares, read conservatively from its guards.

fishinabarrel's ``linux-kernel-module`` crate reads the kernel's version in its build script and
stops on kernels it does not know (``if major >= 6 { panic!("Please update build.rs ...") }``).
What is read here, and nothing else:

* ``if COND { ... panic!(...) ... }`` (also ``unimplemented!``, ``unreachable!``, ``todo!``,
  ``compile_error!``, ``process::exit``) at the top level of the block: kernels where ``COND``
  holds are rejected;
* ``assert!(COND, ...)``: only kernels where ``COND`` holds are accepted;

where ``COND`` is one comparison of a kernel-version term with a literal: ``major`` (any name
containing it) against a number, ``(major, minor)`` against a tuple, or a version code
(``version``, ``LINUX_VERSION_CODE``) against ``0x060000`` or ``KERNEL_VERSION(6, 0, 0)``. A
guard that names the kernel's version in any other way (``&&``, ``match``, a panic whose message
speaks of the kernel or its version outside a guard read here) is reported as unreadable, never
guessed. Comparisons of rustc, clang, bindgen or gcc versions are not the kernel's. A README
sentence is not a guard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from kdoctor.i18n import _
from kdoctor.knowledge.debian_releases import RELEASES

Version3 = tuple[int, int, int]

#: a build script that never names the kernel declares no kernel range
_KERNEL_WORDS = re.compile(
    r"LINUX_VERSION_CODE|KERNELRELEASE|kernelversion|uname|/lib/modules|\bKDIR\b|kernel",
    re.IGNORECASE,
)
_FOREIGN = re.compile(r"rust|clang|llvm|bindgen|gcc|cargo|python|openssl", re.IGNORECASE)
_VERSION_WORD = re.compile(r"major|minor|version|kernel|release|patchlevel", re.IGNORECASE)
_STOP = re.compile(
    r"\b(?:panic|unimplemented|unreachable|todo|compile_error)!\s*[(\[{]|\bprocess::exit\s*\("
)
_IF = re.compile(r"\bif\s+(?!let\b)([^{};]+?)\s*\{")
_ASSERT = re.compile(r"\b(?:debug_)?assert!\s*\(")
_COMPARE = re.compile(r"^(.+?)\s*(<=|>=|==|!=|<|>)\s*(.+)$")
_INT = re.compile(r"^(0x[0-9a-fA-F_]+|\d[\d_]*)(?:_?[ui](?:8|16|32|64|128|size))?$")
_CALL = re.compile(r"^(?:[\w:]*::)?kernel_version\s*\((.*)\)$", re.IGNORECASE)
_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}
_NEGATE = {"<": ">=", ">=": "<", ">": "<=", "<=": ">", "==": "!=", "!=": "=="}


@dataclass(frozen=True)
class Bound:
    version: Version3
    inclusive: bool


def shown(version: Version3) -> str:
    major, minor, patch = version
    return f"{major}.{minor}" if patch == 0 else f"{major}.{minor}.{patch}"


@dataclass(frozen=True)
class KernelRange:
    """Kernels from ``low`` to ``high`` (None: unbounded on that side)."""

    low: Optional[Bound] = None
    high: Optional[Bound] = None

    def contains(self, version: Version3) -> bool:
        low, high = self.low, self.high
        above = low is None or version > low.version or (version == low.version and low.inclusive)
        below = (
            high is None or version < high.version or (version == high.version and high.inclusive)
        )
        return above and below

    def intersect(self, other: KernelRange) -> KernelRange:
        low = max(
            (b for b in (self.low, other.low) if b),
            key=lambda b: (b.version, not b.inclusive),
            default=None,
        )
        high = min(
            (b for b in (self.high, other.high) if b),
            key=lambda b: (b.version, b.inclusive),
            default=None,
        )
        return KernelRange(low, high)

    @property
    def empty(self) -> bool:
        if not (self.low and self.high):
            return False
        if self.low.version != self.high.version:
            return self.low.version > self.high.version
        return not (self.low.inclusive and self.high.inclusive)

    def describe(self) -> str:
        parts = []
        if self.low:
            parts.append(f"{'>=' if self.low.inclusive else '>'} {shown(self.low.version)}")
        if self.high:
            parts.append(f"{'<=' if self.high.inclusive else '<'} {shown(self.high.version)}")
        # Translators: the kernels a module accepts: "the module accepts any kernel"
        return "Linux " + ", ".join(parts) if parts else _("any kernel")

    def to_json(self) -> dict[str, object]:
        def bound(b: Optional[Bound]) -> Optional[dict[str, object]]:
            return {"version": shown(b.version), "inclusive": b.inclusive} if b else None

        return {"low": bound(self.low), "high": bound(self.high), "text": self.describe()}


@dataclass(frozen=True)
class Guard:
    """A guard read: at ``line`` of the build script, accepting ``accepted``."""

    line: int
    text: str
    accepted: KernelRange


@dataclass(frozen=True)
class Unreadable:
    """Something at ``line`` that speaks of the kernel's version but could not be read."""

    line: int
    text: str


def mentions_kernel(text: str) -> bool:
    return bool(_KERNEL_WORDS.search(strip_comments(text)))


def read_guards(text: str) -> tuple[list[Guard], list[Unreadable]]:
    """Every kernel-version guard of a build script, and what looked like one but was not read."""
    code = strip_comments(text)
    if not mentions_kernel(code):
        return [], []
    guards: list[Guard] = []
    unreadable: list[Unreadable] = []
    covered: list[tuple[int, int]] = []
    for match in _IF.finditer(code):
        condition = match.group(1).strip()
        close = _matching(code, match.end() - 1)
        body = code[match.end() : close]
        if not _STOP.search(_top_level(body)):
            continue
        covered.append((match.start(), close))
        _judge(code, match.start(), match.end() - 1, condition, True, guards, unreadable)
    for match in _ASSERT.finditer(code):
        close = _matching(code, match.end() - 1)
        args = code[match.end() : close]
        condition = _split_top(args)[0].strip()
        covered.append((match.start(), close))
        _judge(code, match.start(), close + 1, condition, False, guards, unreadable)
    for match in _STOP.finditer(code):
        if any(start <= match.start() <= end for start, end in covered):
            continue
        close = _matching(code, match.end() - 1)
        message = code[match.end() : close]
        if re.search(r"kernel|version", message, re.IGNORECASE) and not _FOREIGN.search(message):
            unreadable.append(Unreadable(_line_of(code, match.start()), _snippet(code, match)))
    return guards, sorted(unreadable, key=lambda u: u.line)


def _judge(
    code: str,
    at: int,
    end: int,
    condition: str,
    rejects: bool,
    guards: list[Guard],
    unreadable: list[Unreadable],
) -> None:
    line = _line_of(code, at)
    shown_text = " ".join(code[at:end].split())[:100]
    if _FOREIGN.search(condition) or not _VERSION_WORD.search(condition):
        return
    accepted = parse_condition(condition, negate=rejects)
    if accepted is None:
        unreadable.append(Unreadable(line, shown_text))
    else:
        guards.append(Guard(line, shown_text, accepted))


def parse_condition(condition: str, *, negate: bool = False) -> Optional[KernelRange]:
    """The kernels for which ``condition`` holds (or, ``negate``, does not), None: unreadable."""
    condition = _unwrap(condition.strip())
    if "&&" in condition or "||" in condition or condition.startswith("!"):
        return None
    match = _COMPARE.match(condition)
    if not match:
        return None
    left, op, right = (_unwrap(p.strip()) for p in match.groups())
    left_term, right_term = _term(left), _term(right)
    if left_term and not right_term:
        term, literal = left_term, right
    elif right_term and not left_term:
        term, literal, op = right_term, left, _FLIP[op]
    else:
        return None
    if negate:
        op = _NEGATE[op]
    value = _literal(literal, term)
    if value is None or op == "!=":
        return None
    return _interval(op, value, granularity=term)


def _term(text: str) -> Optional[str]:
    """``major``, ``pair`` (major, minor) or ``code`` (a version code), None: no kernel term."""
    if _FOREIGN.search(text):
        return None
    if text.startswith("("):
        names = [n.strip() for n in _split_top(text[1:-1])]
        if len(names) >= 2 and "major" in names[0].lower() and "minor" in names[1].lower():
            return "pair" if len(names) == 2 else "triple"
        return None
    if not re.fullmatch(r"[A-Za-z_][\w.]*(?:\(\))?", text):
        return None
    last = text.rstrip("()").split(".")[-1].lower()
    if "major" in last:
        return "major"
    if "minor" in last or "patch" in last:
        return None
    if "version" in last or last in ("code", "kernel", "linux_version_code"):
        return "code"
    return None


def _literal(text: str, term: str) -> Optional[Version3]:
    if term == "major":
        number = _int(text)
        return (number, 0, 0) if number is not None else None
    if text.startswith("(") and text.endswith(")"):
        numbers = [_int(p.strip()) for p in _split_top(text[1:-1])]
    else:
        call = _CALL.match(text)
        if call:
            numbers = [_int(p.strip()) for p in _split_top(call.group(1))]
        elif term == "code":
            code = _int(text)
            if code is None or code < 0x10000:
                return None
            return (code >> 16, (code >> 8) & 0xFF, code & 0xFF)
        else:
            return None
    if any(n is None for n in numbers) or not 2 <= len(numbers) <= 3:
        return None
    parts = [n for n in numbers if n is not None] + [0]
    return (parts[0], parts[1], parts[2])


def _interval(op: str, value: Version3, *, granularity: str) -> KernelRange:
    """Kernels whose version (at ``granularity``) compares with ``value`` as ``op`` says."""
    if granularity == "major":
        after = (value[0] + 1, 0, 0)
    elif granularity == "pair":
        after = (value[0], value[1] + 1, 0)
    else:
        after = (value[0], value[1], value[2] + 1)
    if op == "<":
        return KernelRange(high=Bound(value, False))
    if op == "<=":
        return KernelRange(high=Bound(after, False))
    if op == ">":
        return KernelRange(low=Bound(after, True))
    if op == ">=":
        return KernelRange(low=Bound(value, True))
    return KernelRange(Bound(value, True), Bound(after, False))  # ==


# -- text helpers -------------------------------------------------------------------------------
def strip_comments(text: str) -> str:
    """``text`` with Rust comments blanked (newlines kept, so line numbers stay right)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("\n" * text.count("\n", i, end))
            i = end
        elif text[i] == '"':
            end = i + 1
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[i : end + 1])
            i = end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _matching(code: str, open_at: int) -> int:
    """Where the bracket opened at ``open_at`` closes (the end of ``code`` if it never does)."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    opener = code[open_at]
    closer = pairs.get(opener, ")")
    depth = 0
    for index in range(open_at, len(code)):
        if code[index] == opener:
            depth += 1
        elif code[index] == closer:
            depth -= 1
            if depth == 0:
                return index
    return len(code)


def _top_level(body: str) -> str:
    """``body`` without its nested ``{...}`` blocks."""
    out: list[str] = []
    depth = 0
    for char in body:
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(char)
    return "".join(out)


def _split_top(text: str) -> list[str]:
    """``text`` split at commas outside brackets and strings."""
    parts: list[str] = []
    depth, start, quoted = 0, 0, False
    for index, char in enumerate(text):
        if char == '"' and (index == 0 or text[index - 1] != "\\"):
            quoted = not quoted
        elif quoted:
            continue
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _unwrap(text: str) -> str:
    while text.startswith("(") and _matching(text, 0) == len(text) - 1 and "," not in text:
        text = text[1:-1].strip()
    return text


def _int(text: str) -> Optional[int]:
    match = _INT.match(text.strip())
    if not match:
        return None
    digits = match.group(1).replace("_", "")
    return int(digits, 16) if digits.lower().startswith("0x") else int(digits)


def _line_of(code: str, at: int) -> int:
    return code.count("\n", 0, at) + 1


def _snippet(code: str, match: re.Match[str]) -> str:
    end = code.find("\n", match.start())
    return code[match.start() : end if end > 0 else None].strip()[:100]


def debian_releases_in(accepted: KernelRange) -> list[str]:
    """``Debian 11 (bullseye, Linux 5.10)`` for every Debian release whose kernel is in range,
    to name a release whose stock headers are in a range when this machine's archive has none."""
    return [
        f"{release.name} ({release.suite}, Linux {release.series})"
        for release in RELEASES
        if accepted.contains((*release.kernel, 0))
    ]
