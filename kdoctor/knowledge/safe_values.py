"""Which values kdoctor passes on to make and kbuild, and which it refuses.

make evaluates ``$(...)`` in a variable's value wherever the variable is used (on its command
line and from the environment alike), and recipes hand values to a shell. A value that is not a
plain path or word could therefore run commands, so it is refused, with the reason, before
anything runs: by the check that owns the variable and by ``kdoctor build``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

#: characters make or a shell treat as syntax, by what they would do
_SYNTAX = {
    "$": "make and the shell expand it",
    "`": "the shell runs what it quotes",
    ";": "the shell starts another command after it",
    "|": "the shell pipes into another command",
    "&": "the shell starts another command after it",
    "<": "the shell redirects input",
    ">": "the shell redirects output",
    "(": "the shell or make group with it",
    ")": "the shell or make group with it",
    "{": "the shell expands it",
    "}": "the shell expands it",
    "'": "it is a shell quote",
    '"': "it is a shell quote",
    "\\": "it escapes the next character",
    "#": "make and the shell read a comment from it",
    "*": "the shell expands it as a pattern",
    "?": "the shell expands it as a pattern",
    "[": "the shell expands it as a pattern",
    "]": "the shell expands it as a pattern",
    "!": "the shell expands history with it",
}

#: variables whose value may be several words (``CC="ccache gcc"`` is a kbuild idiom)
WORD_LISTS = frozenset({"CC"})

#: the check that reports a bad value of each variable
OWNER = {
    "KDIR": "kernel-headers",
    "CC": "build-tools",
    "LLVM": "build-tools",
    "CLANG": "clang",
    "LIBCLANG_PATH": "libclang",
    "BINDGEN": "bindgen",
    "RUSTC": "toolchain",
    "RUSTUP_TOOLCHAIN": "toolchain",
    "module directory": "kbuild-cmd",
}

ALLOWED = "letters, digits, and / . _ - + , : @ = ~ %"


def unsafe_reason(value: str, *, words: bool = False) -> Optional[str]:
    """Why ``value`` must not reach make or a shell, or None when it is a plain path or word
    (``words``: spaces between words are allowed too)."""
    for char in value:
        if char in _SYNTAX:
            return f"it contains {char!r}: {_SYNTAX[char]}"
        if ord(char) < 0x20 or ord(char) == 0x7F:
            return f"it contains a control character ({char!r})"
        if char.isspace() and not (words and char == " "):
            return "it contains a space, and kbuild cannot build with a path that has one"
    return None


def describe(name: str, value: str, reason: str, origin: str = "") -> str:
    """One sentence naming the variable, its value, where it came from and the reason."""
    source = f" (from {origin})" if origin else ""
    return f"{name}={value!r}{source} is refused: {reason}"


def remedy(name: str) -> str:
    if name == "module directory":
        return (
            "Move the module to a directory whose path is a plain path "
            f"({ALLOWED}), or pass such a copy with --module-dir."
        )
    return (
        f"Set {name} to a plain command or path ({ALLOWED}"
        + (", spaces between words" if name in WORD_LISTS else "")
        + "), in the environment or kdoctor's settings file; "
        "for a path with a space, make a symlink without one and use that."
    )


def unsafe_items(values: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(name, value, reason)`` of every refused value of ``values``."""
    bad = []
    for name, value in values.items():
        reason = unsafe_reason(value, words=name in WORD_LISTS)
        if reason:
            bad.append((name, value, reason))
    return bad
