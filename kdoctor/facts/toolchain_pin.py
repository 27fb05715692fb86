"""A module's own toolchain pin, read from its ``rust-toolchain.toml`` (or the legacy one-line
``rust-toolchain``) through the System. A module without one pins nothing; a file that is there
but cannot be used (not a regular file, not TOML, no ``[toolchain] channel``, a channel that is
not a toolchain name) is a problem to report, never a reason to fall back to another pin. The
pin itself and the file's format are :mod:`kdoctor.model.toolchain_file`."""

from __future__ import annotations

import os
import re
from typing import Optional

from kdoctor.i18n import _
from kdoctor.machine.system import System
from kdoctor.model.toolchain_file import PIN_FILES, PinnedToolchain, parse_pin

#: what rustup accepts as a toolchain name: a channel (``stable``, ``nightly``, ``beta``), a
#: version (``1.63.0``), either with a date and/or a host triple; nothing a shell would read
#: as anything but one word
_TOOLCHAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")


def read_pin(system: System, module_dir: str) -> Optional[PinnedToolchain]:
    """The pin of ``module_dir``; None when it has none that can be read (see
    :func:`read_own_pin` for why one that is there was not read)."""
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
