"""The pinned Rust toolchain, as rustup finds it for the module's directory: ``RUSTUP_TOOLCHAIN``,
a ``rustup override``, or a ``rust-toolchain.toml`` (or the legacy one-line ``rust-toolchain``)
in the module's directory or a parent: the pin, the file names rustup reads and their format.
Looking it up is a fact (:mod:`kdoctor.facts.toolchain_pin`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from kdoctor.model import toml_text

#: where a pin comes from, in rustup's order: the environment, a directory override in rustup's
#: settings, a toolchain file
PIN_SOURCES = ("env", "override", "file")


@dataclass(frozen=True)
class PinnedToolchain:
    channel: str
    components: tuple[str, ...] = ()
    profile: str = "minimal"
    #: the file it came from ("" when it came from the environment or a rustup override)
    path: str = ""
    #: one of :data:`PIN_SOURCES`
    source: str = "file"
    #: the directory a ``rustup override`` is set for (source ``override``)
    directory: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "components": list(self.components),
            "profile": self.profile,
            "path": self.path,
            "source": self.source,
            "directory": self.directory,
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


#: the toolchain files rustup reads in a directory; when both are there, ``rust-toolchain`` wins
PIN_FILES = ("rust-toolchain", "rust-toolchain.toml")
