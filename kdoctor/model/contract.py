"""The machine-readable contract: every ``--json`` document says which kdoctor wrote it and
which version of its schema (``schema/*.schema.json``) it follows.

``schema_version`` changes only for a breaking change (a key removed, renamed or given another
meaning or type); adding a key keeps it, so a consumer must ignore keys it does not know.
"""

from __future__ import annotations

from typing import Any

from kdoctor import __version__

SCHEMA_VERSION = 1

#: the documents kdoctor prints, each with its schema in ``schema/<name>.schema.json``
DOCUMENTS = ("check", "fix", "build", "verify", "list", "error", "cache-size")


def envelope(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` after ``kdoctor_version`` and ``schema_version`` (which it must not carry)."""
    return {"kdoctor_version": __version__, "schema_version": SCHEMA_VERSION, **data}
