"""The module being built: what kind of out-of-tree Rust module it is, which ``.ko`` files its
Kbuild declares, what drives its build, its target and its own toolchain pin.

Kinds, by generation:

* ``kbuild-rustc`` — kbuild rules call rustc themselves (the bundled hello-world);
* ``cargo`` — the fishinabarrel generation: the Kbuild or Makefile runs ``cargo build -Z
  build-std`` (or ``cargo xbuild``) for a built-in or JSON target and links the static library
  cargo leaves behind; or the Kbuild links ``target/<triple>/<profile>/lib<crate>.a`` beside a
  ``Cargo.toml`` and a cargo step run first makes it (:class:`CargoStep`);
* ``rust-for-linux`` — an ``obj-m`` object whose source is a ``.rs`` file that kbuild compiles
  itself, which only a kernel built with ``CONFIG_RUST=y`` (and its ``rust/`` artefacts) can do;
* ``c`` — a plain C module; ``unknown`` — none of these could be told;
* ``none`` — not a module at all: no Kbuild, no Makefile calling kbuild, no Cargo.toml (an
  empty directory, a repository's root).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Optional

from kdoctor.model.toolchain_file import PinnedToolchain


class ModuleKind(str, Enum):
    KBUILD_RUSTC = "kbuild-rustc"
    CARGO = "cargo"
    RUST_FOR_LINUX = "rust-for-linux"
    C = "c"
    UNKNOWN = "unknown"
    NONE = "none"

    def __str__(self) -> str:
        return self.value


class BuildDriver(str, Enum):
    """What turns the Rust sources into objects kbuild links."""

    #: kbuild's own rules (rustc from a Kbuild recipe, or kbuild's Rust support)
    KBUILD = "kbuild"
    #: ``cargo build`` with ``-Z build-std`` (needs a nightly cargo or ``RUSTC_BOOTSTRAP``)
    CARGO_BUILD_STD = "cargo-build-std"
    #: ``cargo xbuild`` (the cargo-xbuild subcommand)
    CARGO_XBUILD = "cargo-xbuild"
    #: plain ``cargo build``
    CARGO = "cargo"

    def __str__(self) -> str:
        return self.value

    @property
    def uses_cargo(self) -> bool:
        return self is not BuildDriver.KBUILD


@dataclass(frozen=True)
class RustTarget:
    """The target the module's build names: a built-in target or a target JSON file."""

    name: str
    #: the JSON specification file, when the target is one (absolute path)
    json_path: Optional[str] = None
    #: where the build names it when not on its cargo command line (a cargo alias,
    #: ``build.target``), for a sentence
    origin: str = ""
    #: the build names the JSON file by its path (``--target dir/x.json``), not by a name rustc
    #: looks up (``--target x`` with ``x.json`` where rustc looks)
    by_path: bool = False

    @property
    def is_json(self) -> bool:
        return self.json_path is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "json_path": self.json_path,
            "origin": self.origin,
            "by_path": self.by_path,
        }


@dataclass(frozen=True)
class CargoStep:
    """A cargo command the module's build files do not run but its Kbuild needs run first: a
    member ``target/<triple>/<profile>/lib<crate>.a`` with the crate's ``Cargo.toml`` beside
    ``target/`` (the 2019 fork of linux-kernel-module-rust: ``cargo xbuild`` by hand, then
    make). ``kdoctor build`` runs it before make when its driver is there."""

    #: cargo's arguments (``xbuild --target x86_64-linux-kernel-module.json``)
    args: tuple[str, ...]
    #: where it runs (the directory of the ``Cargo.toml``)
    directory: str
    #: the archive it leaves behind, which the Kbuild links (absolute path)
    archive: str
    #: why this command, for a sentence (the module's README names ``cargo xbuild``)
    reason: str

    def shown(self) -> str:
        return " ".join(("cargo", *self.args))

    def to_json(self) -> dict[str, Any]:
        return {
            "args": list(self.args),
            "directory": self.directory,
            "archive": self.archive,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Module:
    directory: str
    kind: ModuleKind
    #: the ``.ko`` files the module's Kbuild declares (``obj-m``), without ``.ko``
    ko_names: tuple[str, ...]
    driver: BuildDriver
    #: the file (Kbuild or Makefile) kbuild reads for the module, if any
    kbuild_file: Optional[str] = None
    target: Optional[RustTarget] = None
    #: the module's toolchain pin as rustup looks it up (never the bundled module's)
    pin: Optional[PinnedToolchain] = None
    #: why what pins the module's toolchain cannot be used (a rust-toolchain file, here or in a
    #: parent directory, RUSTUP_TOOLCHAIN or a rustup override)
    pin_problem: Optional[str] = None
    #: the module's Cargo.toml, when it has one
    cargo_toml: Optional[str] = None
    bundled: bool = False
    #: a ``--target`` its cargo command names that kdoctor could not read (make could not
    #: expand it): the words as written
    target_unread: Optional[str] = None
    #: cargo's configuration files its cargo commands read (``.cargo/config.toml``), nearest first
    cargo_config: tuple[str, ...] = ()
    #: the arguments of the cargo command that names the target (aliases expanded), and the
    #: ``[unstable]`` features cargo's configuration turns on
    target_call: tuple[str, ...] = ()
    cargo_unstable: tuple[str, ...] = ()
    #: the cargo command kdoctor runs before make, when the Kbuild links what it makes
    step: Optional[CargoStep] = None

    @property
    def pin_source(self) -> Optional[str]:
        return self.pin.path if self.pin else None

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "kind": self.kind.value,
            "ko_names": list(self.ko_names),
            "driver": self.driver.value,
            "kbuild_file": self.kbuild_file,
            "target": self.target.to_json() if self.target else None,
            "pin": self.pin.to_json() if self.pin else None,
            "pin_source": self.pin_source,
            "pin_problem": self.pin_problem,
            "cargo_toml": self.cargo_toml,
            "bundled": self.bundled,
            "target_unread": self.target_unread,
            "cargo_config": list(self.cargo_config),
            "target_call": list(self.target_call),
            "cargo_unstable": list(self.cargo_unstable),
            "step": self.step.to_json() if self.step else None,
        }
