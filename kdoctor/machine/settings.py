"""Choices kdoctor persists for later shells and commands (``CC``, ``CLANG``, ``KDIR``, ...).

Stored as a shell-sourceable ``KEY=VALUE`` file (``~/.config/kdoctor/env``) so a person can also
``. ~/.config/kdoctor/env`` in their own shell. The real environment always wins over it.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from typing import Optional

from kdoctor.machine.files import write_atomic
from kdoctor.machine.system import System

#: the variables kdoctor may persist
PERSISTED = (
    "KDIR",
    "CC",
    "CLANG",
    "LLVM",
    "RUSTC",
    "BINDGEN",
    "LIBCLANG_PATH",
    "KDOCTOR_RUST",
    # kdoctor's own cargo home (a source replacement for the packaged crates)
    "CARGO_HOME",
)

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$")


def settings_path(env: Mapping[str, str]) -> str:
    base = env.get("XDG_CONFIG_HOME") or os.path.join(env.get("HOME", "/root"), ".config")
    return env.get("KDOCTOR_CONFIG") or os.path.join(base, "kdoctor", "env")


def parse(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match and match.group(1) in PERSISTED:
            words = shlex.split(match.group(2), comments=True)
            values[match.group(1)] = words[0] if words else ""
    return values


def render(values: Mapping[str, str]) -> str:
    lines = ["# written by kdoctor fix; `. this-file` to use the same choices in a shell"]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in sorted(values.items()) if v]
    return "\n".join(lines) + "\n"


def load(path: str, system: Optional[System] = None) -> dict[str, str]:
    """The persisted values in ``path`` (none when it is missing), read through ``system``.

    Without a System the file is read directly (the planner's merge_settings still does).
    """
    if system is not None:
        text = system.read_text(path)
        return parse(text) if text is not None else {}
    try:
        with open(path, encoding="utf-8") as handle:
            return parse(handle.read())
    except OSError:
        return {}


def merged_env(
    env: Mapping[str, str], path: Optional[str] = None, system: Optional[System] = None
) -> dict[str, str]:
    """The environment with persisted choices filled in where the real environment is silent."""
    merged = dict(load(path or settings_path(env), system))
    merged.update({k: v for k, v in env.items()})
    return merged


def update(
    path: str, changes: Mapping[str, Optional[str]], system: Optional[System] = None
) -> dict[str, str]:
    """Set (or with None, remove) persisted values; written atomically with a backup (through
    ``system`` when given)."""
    values = load(path, system)
    for key, value in changes.items():
        if key not in PERSISTED:
            raise ValueError(f"kdoctor does not persist {key}")
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    if system is not None:
        system.write_file(path, render(values), backup=True)
    else:
        write_atomic(path, render(values), backup=True)
    return values
