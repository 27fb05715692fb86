"""TOML read from a person's files (``rust-toolchain.toml``, ``Cargo.toml``, ``.cargo/config.toml``)
without letting the file crash kdoctor: a byte-order mark is skipped, and nesting deeper than
:data:`MAX_DEPTH` (2 KB of ``[[[[...`` makes Python's parser recurse until it fails) is refused
before parsing, as a decode error like any other malformed file."""

from __future__ import annotations

import sys
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.9/3.10
    import tomli as tomllib


class TOMLDecodeError(ValueError):
    """The one error a malformed (or too deeply nested) file raises."""


#: deeper than any real build file nests its arrays and inline tables
MAX_DEPTH = 32


def loads(text: str) -> dict[str, Any]:
    """The document ``text`` holds; :data:`TOMLDecodeError` when it is malformed or nested
    deeper than :data:`MAX_DEPTH`."""
    text = text.removeprefix("\ufeff")
    if nesting(text) > MAX_DEPTH:
        raise TOMLDecodeError(f"nested deeper than {MAX_DEPTH} levels")
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise TOMLDecodeError(f"nested deeper than {MAX_DEPTH} levels") from None
    except tomllib.TOMLDecodeError as exc:
        raise TOMLDecodeError(str(exc)) from exc


def nesting(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings and comments."""
    depth = deepest = 0
    quote = ""
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\" and quote == '"':
                i += 2
                continue
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
        elif char == "\n" and depth == 0:
            quote = ""
        i += 1
    return deepest
