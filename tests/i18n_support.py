"""The pseudo-locale the translation tests speak: every message that goes through the catalogs
comes out bracketed, so a sentence that bypasses them shows up unbracketed."""

from __future__ import annotations

OPEN, CLOSE = "⟦", "⟧"


class Pseudo:
    def gettext(self, message: str, /) -> str:
        return f"{OPEN}{message}{CLOSE}"

    def ngettext(self, singular: str, plural: str, n: int, /) -> str:
        return f"{OPEN}{singular if n == 1 else plural}{CLOSE}"


def whole(text: object) -> bool:
    """``text`` is one translated message (its values filled in), not English glued around one."""
    return isinstance(text, str) and text.startswith(OPEN) and text.endswith(CLOSE)
