"""Which values kdoctor passes on to make and kbuild, and which it refuses.

make evaluates ``$(...)`` in a variable's value wherever the variable is used (on its command
line and from the environment alike), and recipes hand values to a shell. A value that is not a
plain path or word could therefore run commands, so it is refused, with the reason, before
anything runs: by the check that owns the variable and by ``kdoctor build``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

from kdoctor.i18n import N_, _

#: characters make or a shell treat as syntax, by what they would do
_SYNTAX = {
    "$": N_("make and the shell expand it"),
    "`": N_("the shell runs what it quotes"),
    ";": N_("the shell starts another command after it"),
    "|": N_("the shell pipes into another command"),
    "&": N_("the shell starts another command after it"),
    "<": N_("the shell redirects input"),
    ">": N_("the shell redirects output"),
    "(": N_("the shell or make group with it"),
    ")": N_("the shell or make group with it"),
    "{": N_("the shell expands it"),
    "}": N_("the shell expands it"),
    "'": N_("it is a shell quote"),
    '"': N_("it is a shell quote"),
    "\\": N_("it escapes the next character"),
    "#": N_("make and the shell read a comment from it"),
    "*": N_("the shell expands it as a pattern"),
    "?": N_("the shell expands it as a pattern"),
    "[": N_("the shell expands it as a pattern"),
    "]": N_("the shell expands it as a pattern"),
    "!": N_("the shell expands history with it"),
}

#: variables whose value may be several words (``CC="ccache gcc"`` is a kbuild idiom)
WORD_LISTS = frozenset({"CC"})

#: the name :func:`describe` and :func:`remedy` are given for the module's own directory
MODULE_DIRECTORY = "module directory"

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
    MODULE_DIRECTORY: "kbuild-cmd",
}

#: what a plain value may hold (translate at use: ``_(ALLOWED)``)
# Translators: the characters themselves stay as they are
ALLOWED = N_("letters, digits, and / . _ - + , : @ = ~ %")


def unsafe_reason(value: str, *, words: bool = False) -> Optional[str]:
    """Why ``value`` must not reach make or a shell, or None when it is a plain path or word
    (``words``: spaces between words are allowed too)."""
    for char in value:
        if char in _SYNTAX:
            return _("it contains {char}: {effect}").format(
                char=repr(char), effect=_(_SYNTAX[char])
            )
        if ord(char) < 0x20 or ord(char) == 0x7F:
            return _("it contains a control character ({char})").format(char=repr(char))
        if char.isspace() and not (words and char == " "):
            return _("it contains a space, and kbuild cannot build with a path that has one")
    return None


def describe(name: str, value: str, reason: str, origin: str = "") -> str:
    """One sentence naming the variable, its value, where it came from and the reason."""
    # Translators: the name of a refused value: "module directory='/a b' is refused"
    shown = _("module directory") if name == MODULE_DIRECTORY else name
    sentence = (
        _("{setting} (from {origin}) is refused: {reason}")
        if origin
        else _("{setting} is refused: {reason}")
    )
    return sentence.format(setting=f"{shown}={value!r}", origin=origin, reason=reason)


def remedy(name: str) -> str:
    if name == MODULE_DIRECTORY:
        return _(
            "Move the module to a directory whose path is a plain path ({allowed}), or pass such "
            "a copy with --module-dir."
        ).format(allowed=_(ALLOWED))
    sentence = (
        _(
            "Set {name} to a plain command or path ({allowed}, spaces between words), in the "
            "environment or kdoctor's settings file; for a path with a space, make a symlink "
            "without one and use that."
        )
        if name in WORD_LISTS
        else _(
            "Set {name} to a plain command or path ({allowed}), in the environment or kdoctor's "
            "settings file; for a path with a space, make a symlink without one and use that."
        )
    )
    return sentence.format(name=name, allowed=_(ALLOWED))


def unsafe_items(values: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(name, value, reason)`` of every refused value of ``values``."""
    bad = []
    for name, value in values.items():
        reason = unsafe_reason(value, words=name in WORD_LISTS)
        if reason:
            bad.append((name, value, reason))
    return bad
