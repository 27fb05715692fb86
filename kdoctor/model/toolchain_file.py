"""The pinned Rust toolchain, read from a module's own ``rust-toolchain.toml`` (or the legacy
one-line ``rust-toolchain``). A module without one pins nothing; a file that is there but
cannot be used (not a regular file, not TOML, no ``[toolchain] channel``, a channel that is not
a toolchain name) is a problem to report, never a reason to fall back to another pin."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Optional

from kdoctor.i18n import _
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

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "components": list(self.components),
            "profile": self.profile,
            "path": self.path,
        }


#: what rustup accepts as a toolchain name: a channel (``stable``, ``nightly``, ``beta``), a
#: version (``1.63.0``), either with a date and/or a host triple; nothing a shell would read
#: as anything but one word
_TOOLCHAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")


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


def read_own_pin(
    system: System, module_dir: str
) -> tuple[Optional[PinnedToolchain], Optional[str]]:
    """The module's own pin, or why the pin file it has cannot be used (first file found wins,
    as rustup reads them); (None, None) when the module pins nothing."""
    for name in PIN_FILES:
        path = os.path.join(module_dir, name)
        found = system.read_file(path)
        if found.problem is not None:  # a FIFO, a device, a directory, too big, unreadable
            return None, found.describe()
        text = found.text()
        if text is None:
            continue
        pin = parse_pin(text, path)
        if pin is None:
            return None, _(
                '{path} names no toolchain (expected a [toolchain] table with channel = "..." '
                "as a string)"
            ).format(path=path)
        if not _TOOLCHAIN_NAME.fullmatch(pin.channel):
            return None, _("{path}: channel {channel} is not a rustup toolchain name").format(
                path=path, channel=repr(pin.channel)
            )
        return pin, None
    return None, None
