"""The JSON contract's schemas, loaded for validation in tests (``schema/*.schema.json``).

The schemas refer to each other by ``$id`` (``fix`` embeds whole ``check`` reports); this
registry resolves those references from the files, never from the network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"


def schemas() -> dict[str, dict[str, Any]]:
    """Every schema by its document name (``check``, ``fix``, ...)."""
    return {
        p.name.split(".")[0]: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(SCHEMA_DIR.glob("*.schema.json"))
    }


def validate(document: str, data: Any) -> None:
    """Raise unless ``data`` is a valid ``document`` (its schema, references resolved)."""
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    loaded = schemas()
    registry = referencing.Registry().with_resources(
        (s["$id"], referencing.Resource.from_contents(s)) for s in loaded.values()
    )
    validator = jsonschema.Draft202012Validator(loaded[document], registry=registry)
    validator.validate(data)
