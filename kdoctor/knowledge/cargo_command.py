"""A cargo command as a module's build runs it: found in a shell line of a recipe (after make
expanded it, see :mod:`kdoctor.facts.kbuild_eval`), its subcommand with cargo's aliases
expanded (``[alias]`` of ``.cargo/config.toml``), the ``--target`` it names and whether it builds
the standard library (``-Z build-std``). Pure: the facts read the files and ask make."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

#: a shell word that runs cargo: ``cargo``, a path to it, or make's ``$(CARGO)`` unexpanded
_CARGO = re.compile(r"(?:^|[\s;&|(])(?:\$[({]CARGO[)}]|(?:[^\s;&|()'\"=]*/)?cargo)(?=\s|$)")
_XBUILD = re.compile(r"\bcargo[\s-]+xbuild\b|\$[({]CARGO[)}]\s+xbuild\b")
#: where a shell command ends (outside quotes)
_END = re.compile(r"""[;&|)>\n]""")
#: cargo's options that take a value before the subcommand (``cargo -Z build-std build``)
_GLOBAL_VALUED = frozenset(("-Z", "--config", "-C", "--color"))
#: how many aliases deep cargo expands (it refuses recursive ones)
_ALIAS_DEPTH = 5


def runs_cargo(line: str) -> bool:
    """Whether a line (a recipe's, or any line of a build file) runs cargo."""
    return _CARGO.search(line) is not None or _XBUILD.search(line) is not None


def names_xbuild(text: str) -> bool:
    """Whether ``text`` runs ``cargo xbuild`` (or ``cargo-xbuild``)."""
    return _XBUILD.search(text) is not None


def _words(text: str) -> list[str]:
    """``text`` up to the end of its shell command, as the shell splits it (plainly when its
    quotes do not pair)."""
    quote = ""
    depth = 0  # inside make's $(...), which make did not expand
    end = len(text)
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(" and text[index - 1 : index] == "$":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif _END.match(char):
            end = index
            break
    try:
        return shlex.split(text[:end])
    except ValueError:
        return text[:end].split()


def cargo_invocations(line: str) -> list[list[str]]:
    """The arguments of each cargo command in a shell line (after ``cargo``)."""
    return [_words(line[match.end() :]) for match in _CARGO.finditer(line)]


@dataclass(frozen=True)
class CargoCall:
    """One cargo command, its aliases expanded."""

    #: the arguments, from the first (global options included), as cargo reads them
    args: tuple[str, ...]
    subcommand: Optional[str]
    #: the alias the command named, when it named one
    alias: Optional[str] = None

    @property
    def target(self) -> Optional[str]:
        """The ``--target`` it names (the first one), if any."""
        for index, word in enumerate(self.args):
            if word == "--target" and index + 1 < len(self.args):
                return self.args[index + 1]
            if word.startswith("--target="):
                return word[len("--target=") :]
        return None

    @property
    def builds_std(self) -> bool:
        """``-Z build-std[=...]`` (or ``-Zbuild-std``) among its arguments."""
        return passes_unstable(self.args, "build-std")

    @property
    def release(self) -> bool:
        return "--release" in self.args or "-r" in self.args


def passes_unstable(args: Sequence[str], flag: str) -> bool:
    """Whether ``args`` pass the unstable flag ``-Z flag`` (``-Zflag``, ``-Z flag=...``)."""
    for index, word in enumerate(args):
        value = word[2:] if word.startswith("-Z") and word != "-Z" else None
        if word == "-Z" and index + 1 < len(args):
            value = args[index + 1]
        if value is not None and (value == flag or value.startswith(flag + "=")):
            return True
    return False


def _subcommand(args: Sequence[str]) -> Optional[int]:
    index = 0
    while index < len(args):
        word = args[index]
        if word.startswith("+"):  # a toolchain for rustup's proxy
            index += 1
        elif word in _GLOBAL_VALUED:
            index += 2
        elif word.startswith("-"):
            index += 1
        else:
            return index
    return None


def parse_cargo(
    args: Sequence[str], aliases: Optional[Mapping[str, Sequence[str]]] = None
) -> CargoCall:
    """The command cargo runs for ``args``: an alias's words put in its place, as cargo does
    (aliases of aliases too, a few levels deep)."""
    aliases = aliases or {}
    words = list(args)
    named: Optional[str] = None
    for _depth in range(_ALIAS_DEPTH):
        at = _subcommand(words)
        if at is None:
            return CargoCall(tuple(words), None, named)
        name = words[at]
        if name not in aliases:
            return CargoCall(tuple(words), name, named)
        named = named or name
        words = [*words[:at], *aliases[name], *words[at + 1 :]]
    at = _subcommand(words)
    return CargoCall(tuple(words), words[at] if at is not None else None, named)


def alias_words(value: object) -> Optional[tuple[str, ...]]:
    """An ``[alias]`` entry as words: a string is split on whitespace (as cargo does), a list
    of strings is taken as it is; anything else is no alias."""
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None
