"""Output on a stream whose encoding lacks the report's symbols (``LANG=C``,
``PYTHONIOENCODING=ascii``): the symbols fall back to ASCII instead of crashing the report."""

from __future__ import annotations

import io
from typing import TextIO

#: the report's symbols, for a stream that cannot encode them (LANG=C, PYTHONIOENCODING=ascii)
ASCII_SYMBOLS = str.maketrans(
    {
        "✔": "+",
        "✘": "x",
        "‼": "!!",
        "…": "...",
        "→": "->",
        "│": "|",
        "·": "-",
        "—": "-",
        "\u2013": "-",
        "•": "*",
        "⚠": "!",
    }
)


class AsciiFallback(io.TextIOBase):
    """A text stream in front of one whose encoding lacks the report's symbols: they become
    ASCII (:data:`ASCII_SYMBOLS`), any other character it cannot encode a backslash escape."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self._encoding = getattr(stream, "encoding", None) or "ascii"

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding

    def write(self, text: str) -> int:
        safe = text.translate(ASCII_SYMBOLS).encode(self._encoding, "backslashreplace")
        self._stream.write(safe.decode(self._encoding))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()


def encodable(stream: TextIO) -> TextIO:
    """``stream`` itself when it can encode the report's symbols, else an ASCII fallback."""
    try:
        "✔✘‼…→│·—".encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return AsciiFallback(stream)  # type: ignore[return-value]
    return stream
