"""Typed needs: what a finding asks of ``kdoctor fix``, as values, not strings in a dict.

A check that finds a problem kdoctor can repair says what would repair it with needs; the
planners in :mod:`kdoctor.fixes` turn the needs of a whole report into one plan (all packages in
one transaction, the Rust source decided once, all settings in one edit), and the commands a
finding prints for a person are rendered from the same needs (:mod:`kdoctor.knowledge.commands`),
so the advice and the plan cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Optional, Union, get_args


@dataclass(frozen=True)
class Package:
    """A distribution package. ``logical`` is kdoctor's name for what it provides (``clang``,
    ``headers``, ``rustc``); ``candidates`` are the concrete names on this machine's package
    manager that provide it, preferred first (empty when kdoctor knows no package manager)."""

    kind: ClassVar[str] = "package"
    logical: str
    candidates: tuple[str, ...] = ()

    @property
    def name(self) -> Optional[str]:
        return self.candidates[0] if self.candidates else None

    def words(self) -> str:
        """What to install, in words, when no package manager is known."""
        return self.name or self.logical

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "logical": self.logical, "candidates": list(self.candidates)}


@dataclass(frozen=True)
class RustToolchain:
    """A rustup toolchain (the module's pin) with the components the build needs. Under
    ``--rust auto`` the distribution's Rust (``alternative``) may stand in for it: the planner
    decides once which of the two the plan installs."""

    kind: ClassVar[str] = "rust-toolchain"
    channel: str
    profile: str = "minimal"
    components: tuple[str, ...] = ()
    alternative: tuple[Package, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "channel": self.channel,
            "profile": self.profile,
            "components": list(self.components),
            "alternative": [p.to_json() for p in self.alternative],
        }


@dataclass(frozen=True)
class RustComponent:
    """A component (``rust-src``, ``rustfmt``) of an installed rustup toolchain."""

    kind: ClassVar[str] = "rust-component"
    toolchain: str
    component: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "toolchain": self.toolchain, "component": self.component}


@dataclass(frozen=True)
class RustOverride:
    """Something that makes rustc in the module directory pick another toolchain than the
    pin: a rustup directory override for ``path`` (unset by the plan), or, with no path,
    ``RUSTUP_TOOLCHAIN`` in the environment (only the person's shell can unset it)."""

    kind: ClassVar[str] = "rust-override"
    toolchain: str
    path: Optional[str] = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "toolchain": self.toolchain}


@dataclass(frozen=True)
class Rustup:
    """rustup itself: from the distribution's ``package`` when it has one, else the snap, else
    the official installer (only with the person's consent)."""

    kind: ClassVar[str] = "rustup"
    package: Optional[Package] = None
    #: whether the snap can install it (snapd is here)
    snap: bool = False

    @property
    def method(self) -> str:
        """``package``, ``snap`` or ``script`` (the official installer)."""
        return "package" if self.package else "snap" if self.snap else "script"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "method": self.method,
            "package": self.package.to_json() if self.package else None,
        }


@dataclass(frozen=True)
class Setting:
    """A choice persisted in kdoctor's settings file (``CC``, ``KDIR``, ...); None removes it."""

    kind: ClassVar[str] = "setting"
    key: str
    value: Optional[str]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "value": self.value}


@dataclass(frozen=True)
class KbuildCmd:
    """The module's Kbuild must leave the ``.cmd`` files modpost reads for its member objects."""

    kind: ClassVar[str] = "kbuild-cmd"
    module_dir: str
    objects: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "module_dir": self.module_dir, "objects": list(self.objects)}


@dataclass(frozen=True)
class KernelImage:
    """A bootable image of kernel ``release`` for the VM, unpacked from ``package`` into
    kdoctor's cache (never installed into /boot)."""

    kind: ClassVar[str] = "kernel-image"
    release: str
    package: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "release": self.release, "package": self.package}


@dataclass(frozen=True)
class StockKernel:
    """No package can serve the target kernel: build for the distribution's stock kernel
    instead (one whose headers are ``installed``, newest first, else the one ``package``, the
    stock headers metapackage, installs)."""

    kind: ClassVar[str] = "stock-kernel"
    why: str
    package: Optional[str] = None
    installed: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "why": self.why,
            "package": self.package,
            "installed": [{"release": r, "kdir": d} for r, d in self.installed],
        }


@dataclass(frozen=True)
class RustEnabledKernel:
    """A kernel with ``CONFIG_RUST=y`` that kdoctor builds from Debian's own sources and
    toolchain into its cache (``kdoctor build-kernel <spec>``); ``spec`` names it
    (``6.12+rust``)."""

    kind: ClassVar[str] = "rust-kernel"
    spec: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "spec": self.spec}


@dataclass(frozen=True)
class ByHand:
    """Nothing ``kdoctor fix`` may do repairs this: the plan says so, with ``why`` (why kdoctor
    cannot) and ``remedy`` (what a person can do). It repairs nothing, so a finding whose needs
    are all ``ByHand`` has no planner that repairs it (its ``fix`` is None)."""

    kind: ClassVar[str] = "by-hand"
    #: whether planning it changes anything (ByHand only explains)
    repairs: ClassVar[bool] = False
    check: str
    why: str
    remedy: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "check": self.check, "why": self.why, "remedy": self.remedy}


@dataclass(frozen=True)
class CargoSource:
    """Cargo takes crates.io's crates from the crates in ``directories`` (the distribution's
    packaged crates, the standard library's vendored ones for ``-Z build-std``), gathered as
    links in one directory source inside ``cargo_home``: a directory kdoctor owns, whose
    ``config.toml`` holds the replacement and which kdoctor's builds use as ``CARGO_HOME``
    (never the person's own ``~/.cargo``)."""

    kind: ClassVar[str] = "cargo-source"
    directories: tuple[str, ...]
    cargo_home: str

    @property
    def config(self) -> str:
        return f"{self.cargo_home.rstrip('/')}/config.toml"

    @property
    def crates(self) -> str:
        """The directory source: a link for each file of each crate of ``directories``."""
        return f"{self.cargo_home.rstrip('/')}/crates"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "directories": list(self.directories),
            "cargo_home": self.cargo_home,
            "config": self.config,
            "crates": self.crates,
        }


Need = Union[
    Package,
    RustToolchain,
    RustComponent,
    RustOverride,
    Rustup,
    Setting,
    KbuildCmd,
    KernelImage,
    StockKernel,
    RustEnabledKernel,
    ByHand,
    CargoSource,
]

#: every kind of need (the members of :data:`Need`), for the JSON schema and the planners'
#: routing test: each has exactly one planner (``Fix.handles`` in :mod:`kdoctor.fixes`)
NEED_TYPES: tuple[type, ...] = get_args(Need)
