"""The module's toolchain pin, looked up as rustup looks up the toolchain of a directory, through
the System and without running rustup (any rustup command writes ``settings.toml`` into an
empty ``RUSTUP_HOME``, and looking must change nothing):

1. ``RUSTUP_TOOLCHAIN``;
2. walking up from the module's directory to ``/``, at each level a ``rustup override`` set for
   that directory (the ``[overrides]`` table of ``$RUSTUP_HOME/settings.toml``), then a
   ``rust-toolchain`` or ``rust-toolchain.toml`` file there (``rust-toolchain`` wins when both
   are there), so a module in ``tests/hello-world`` of a repository pinned at its root has the
   root's pin.

A module none of these names pins nothing; a pin file that is there but cannot be used (not a
regular file, not TOML, no ``[toolchain] channel``, a channel that is not a toolchain name) is a
problem to report, as rustup stops on it too, never a reason to fall back to another pin. The
pin itself and the file's format are :mod:`kdoctor.model.toolchain_file`."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Optional

from kdoctor.i18n import _
from kdoctor.machine.system import System
from kdoctor.model import toml_text
from kdoctor.model.toolchain_file import PIN_FILES, PinnedToolchain, parse_pin

#: what rustup accepts as a toolchain name: a channel (``stable``, ``nightly``, ``beta``), a
#: version (``1.63.0``), either with a date and/or a host triple; nothing a shell would read
#: as anything but one word
_TOOLCHAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")


def read_pin(system: System, module_dir: str) -> Optional[PinnedToolchain]:
    """The pin file of ``module_dir`` itself; None when it has none that can be read (see
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
    """The pin file in ``module_dir`` itself, or why the one it has cannot be used (rustup's
    order: ``rust-toolchain`` before ``rust-toolchain.toml``); (None, None) when it has none."""
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


def rustup_home(env: Mapping[str, str]) -> str:
    """Where rustup keeps its settings and toolchains (``RUSTUP_HOME``, else ``~/.rustup``)."""
    return env.get("RUSTUP_HOME") or os.path.join(env.get("HOME", "/root"), ".rustup")


def directory_overrides(system: System, env: Mapping[str, str]) -> dict[str, str]:
    """``rustup override`` directories and their toolchains, read from rustup's
    ``settings.toml`` (keys are canonical paths, as ``rustup override set`` writes them); empty
    when rustup has no settings file or one kdoctor cannot read (rustup itself then says why)."""
    text = system.read_text(os.path.join(rustup_home(env), "settings.toml"))
    if not text:
        return {}
    try:
        table = toml_text.loads(text).get("overrides")
    except toml_text.TOMLDecodeError:
        return {}
    if not isinstance(table, dict):
        return {}
    return {
        os.path.normpath(path): toolchain
        for path, toolchain in table.items()
        if isinstance(path, str) and path.startswith("/") and isinstance(toolchain, str)
    }


def lookup_pin(
    system: System, module_dir: str, env: Mapping[str, str]
) -> tuple[Optional[PinnedToolchain], Optional[str]]:
    """The toolchain rustup would select for ``module_dir`` (short of its default), or why the
    file that names it cannot be used; (None, None) when nothing pins one. ``module_dir`` is a
    real path (as rustup's current directory is)."""
    named = env.get("RUSTUP_TOOLCHAIN")
    if named:
        if not _TOOLCHAIN_NAME.fullmatch(named):
            return None, _("{setting}: {channel} is not a rustup toolchain name").format(
                setting="RUSTUP_TOOLCHAIN", channel=repr(named)
            )
        return PinnedToolchain(named, source="env"), None
    overrides = directory_overrides(system, env)
    directory = os.path.normpath(module_dir)
    while True:
        override = overrides.get(directory)
        if override:
            if not _TOOLCHAIN_NAME.fullmatch(override):
                return None, _(
                    "the rustup override for {path}: {channel} is not a rustup toolchain name"
                ).format(path=directory, channel=repr(override))
            return PinnedToolchain(override, source="override", directory=directory), None
        pin, problem = read_own_pin(system, directory)
        if pin is not None or problem is not None:
            return pin, problem
        parent = os.path.dirname(directory)
        if parent == directory:
            return None, None
        directory = parent


def pin_files(module_dir: str) -> list[str]:
    """Every toolchain file rustup may read for ``module_dir``, nearest first."""
    found: list[str] = []
    directory = os.path.normpath(module_dir)
    while True:
        found += [os.path.join(directory, name) for name in PIN_FILES]
        parent = os.path.dirname(directory)
        if parent == directory:
            return found
        directory = parent


def pin_origin(pin: PinnedToolchain, module_dir: str) -> str:
    """What pins the toolchain, for a sentence: the file's name when it is the module's own,
    its whole path when a parent directory's, ``RUSTUP_TOOLCHAIN`` or the rustup override."""
    if pin.source == "env":
        return "RUSTUP_TOOLCHAIN"
    if pin.source == "override":
        return _("the rustup override for {path}").format(path=pin.directory)
    if not pin.path:
        return "rust-toolchain.toml"
    if os.path.dirname(pin.path) == os.path.normpath(module_dir):
        return os.path.basename(pin.path)
    return pin.path


def pin_label(pin: PinnedToolchain, module_dir: str) -> str:
    """The pin's channel, with what pins it when that is not the module's own file
    (``nightly-2024-10-25 (pinned by /repo/rust-toolchain.toml)``)."""
    if pin.source == "file" and os.path.dirname(pin.path) == os.path.normpath(module_dir):
        return pin.channel
    return _("{toolchain} (pinned by {origin})").format(
        toolchain=pin.channel, origin=pin_origin(pin, module_dir)
    )
