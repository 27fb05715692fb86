"""The pinned Rust toolchain, as a module's own ``rust-toolchain.toml`` (or the legacy one-line
``rust-toolchain``) says it: the pin, the file names rustup reads and their format. Reading a
module's file is a fact (:mod:`kdoctor.facts.toolchain_pin`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from kdoctor.model import toml_text


@dataclass(frozen=True)
class PinnedToolchain:
    channel: str
    components: tuple[str, ...] = ()
    profile: str = "minimal"
    #: the file it came from
    path: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "components": list(self.components),
            "profile": self.profile,
            "path": self.path,
        }


def parse_pin(text: str, path: str = "") -> Optional[PinnedToolchain]:
    """Parse the TOML form (``[toolchain] channel = ...``) or the legacy one-line form."""
    try:
        data = toml_text.loads(text)
    except toml_text.TOMLDecodeError:
        line = text.strip()
        if line and "\n" not in line and " " not in line:
            return PinnedToolchain(channel=line, path=path)
        return None
    table = data.get("toolchain")
    if not isinstance(table, dict) or not isinstance(table.get("channel"), str):
        return None
    components = table.get("components", [])
    profile = table.get("profile", "minimal")
    return PinnedToolchain(
        channel=table["channel"],
        components=tuple(str(c) for c in components) if isinstance(components, list) else (),
        profile=profile if isinstance(profile, str) else "minimal",
        path=path,
    )


PIN_FILES = ("rust-toolchain.toml", "rust-toolchain")
