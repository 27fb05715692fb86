"""The pinned Rust toolchain, read from a module's ``rust-toolchain.toml``."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Optional

from kdoctor.machine.system import System

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.9/3.10
    import tomli as tomllib


@dataclass(frozen=True)
class PinnedToolchain:
    channel: str
    components: tuple[str, ...] = ()
    profile: str = "minimal"
    #: the file it came from
    path: str = ""
    #: why the module's own pin file was not read (then this is the bundled pin), e.g.
    #: "/m/rust-toolchain.toml is a FIFO (named pipe), not a regular file"
    problem: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "channel": self.channel,
            "components": list(self.components),
            "profile": self.profile,
            "path": self.path,
        }
        if self.problem:
            data["problem"] = self.problem
        return data


def parse_pin(text: str, path: str = "") -> Optional[PinnedToolchain]:
    """Parse the TOML form (``[toolchain] channel = ...``) or the legacy one-line form."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
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


def read_pin(system: System, module_dir: str) -> Optional[PinnedToolchain]:
    """The pin of ``module_dir``; None when it has none that can be read (see
    :func:`pin_problem` for why one that is there was not read)."""
    for name in PIN_FILES:
        path = os.path.join(module_dir, name)
        text = system.read_file(path).text()
        if text is not None:
            return parse_pin(text, path)
    return None


def pin_problem(system: System, module_dir: str) -> Optional[str]:
    """Why the first pin file that is there was refused (a FIFO, a device, a directory, larger
    than 1 MiB, unreadable): "<path> is a FIFO (named pipe), not a regular file"."""
    for name in PIN_FILES:
        found = system.read_file(os.path.join(module_dir, name))
        if found.problem is not None:
            return found.describe()
        if found.data is not None:
            return None
    return None
