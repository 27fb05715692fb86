"""What cargo's configuration files say about the module's cargo commands, read as cargo reads
them from the module's directory: ``.cargo/config.toml`` (or the legacy ``.cargo/config``) there
and in every parent directory, then ``$CARGO_HOME/config.toml``; a nearer file's value wins.
kdoctor reads the three settings that decide what a build makes: ``build.target``, the
``[alias]`` table and ``[unstable] build-std``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from kdoctor.knowledge.cargo_command import alias_words
from kdoctor.machine.system import System
from kdoctor.model import toml_text

#: the names of cargo's configuration file in a ``.cargo`` directory, the preferred first
CONFIG_NAMES = ("config.toml", "config")


@dataclass(frozen=True)
class CargoConfig:
    """The settings kdoctor reads, merged as cargo merges them."""

    #: the files read, nearest first
    files: tuple[str, ...] = ()
    #: ``build.target`` (the first, when it lists several) and the file that sets it
    target: Optional[str] = None
    target_file: Optional[str] = None
    #: ``[alias]``: name -> the words it stands for, and the file that defines it
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    alias_files: dict[str, str] = field(default_factory=dict)
    #: ``[unstable] build-std`` is set
    build_std: bool = False
    #: the ``[unstable]`` features it turns on (``json-target-spec = true``)
    unstable: tuple[str, ...] = ()

    def target_path(self) -> Optional[str]:
        """``build.target`` as cargo reads it: a ``.json`` path relative to the directory that
        holds the file's ``.cargo`` directory."""
        if self.target is None or not self.target.endswith(".json") or self.target_file is None:
            return self.target
        base = os.path.dirname(os.path.dirname(self.target_file))
        return os.path.normpath(os.path.join(base, self.target))

    def to_json(self) -> dict[str, Any]:
        return {
            "files": list(self.files),
            "target": self.target,
            "target_file": self.target_file,
            "aliases": {name: list(words) for name, words in self.aliases.items()},
            "build_std": self.build_std,
            "unstable": list(self.unstable),
        }


def config_files(system: System, directory: str, env: Mapping[str, str]) -> list[str]:
    """cargo's configuration files for a command run in ``directory``, nearest first."""
    found: list[str] = []
    current = os.path.normpath(directory)
    while True:
        for name in CONFIG_NAMES:
            path = os.path.join(current, ".cargo", name)
            if system.is_file(path):
                found.append(path)
                break
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    home = env.get("CARGO_HOME") or os.path.join(env.get("HOME", "/root"), ".cargo")
    for name in CONFIG_NAMES:
        path = os.path.join(home, name)
        if system.is_file(path) and path not in found:
            found.append(path)
            break
    return found


def read_cargo_config(system: System, directory: str, env: Mapping[str, str]) -> CargoConfig:
    """The merged settings of every configuration file cargo reads in ``directory`` (a file
    that is not TOML is skipped: cargo itself then stops naming it)."""
    files = config_files(system, directory, env)
    target: Optional[str] = None
    target_file: Optional[str] = None
    aliases: dict[str, tuple[str, ...]] = {}
    alias_files: dict[str, str] = {}
    build_std: Optional[bool] = None
    unstable_on: dict[str, bool] = {}
    for path in files:
        text = system.read_text(path)
        try:
            data = toml_text.loads(text or "")
        except toml_text.TOMLDecodeError:
            continue
        build = data.get("build")
        if target is None and isinstance(build, dict):
            value = build.get("target")
            if isinstance(value, list) and value and isinstance(value[0], str):
                value = value[0]
            if isinstance(value, str) and value:
                target, target_file = value, path
        table = data.get("alias")
        if isinstance(table, dict):
            for name, value in table.items():
                words = alias_words(value)
                if words is not None and name not in aliases:
                    aliases[name], alias_files[name] = words, path
        unstable = data.get("unstable")
        if isinstance(unstable, dict):
            if build_std is None and "build-std" in unstable:
                build_std = bool(unstable.get("build-std"))
            for key, value in unstable.items():
                unstable_on.setdefault(
                    key, value is True or (isinstance(value, list) and bool(value))
                )
    on = tuple(key for key, value in unstable_on.items() if value)
    return CargoConfig(tuple(files), target, target_file, aliases, alias_files, bool(build_std), on)
