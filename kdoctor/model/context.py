"""The facts every check shares, as plain data: what :func:`kdoctor.facts.context.detect`
observed once per invocation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from kdoctor.model.choice import ModuleSource, RustMode, TargetSource
from kdoctor.model.toolchain_file import PinnedToolchain


@dataclass(frozen=True)
class DistroInfo:
    """Which distribution this is (see :mod:`kdoctor.facts.distro`)."""

    id: str
    version: str
    name: str
    like: tuple[str, ...] = ()
    codename: str = ""

    def family_ids(self) -> tuple[str, ...]:
        return (self.id, *self.like)


@dataclass(frozen=True)
class Context:
    distro: DistroInfo
    package_manager: Optional[str]
    arch: str
    running_kernel: str
    target_kernel: str
    #: the target kernel's build directory (what kbuild calls KDIR)
    kdir: str
    #: how the target was chosen
    target_source: TargetSource
    module_dir: str
    #: the module's toolchain pin as rustup looks it up for its directory (``RUSTUP_TOOLCHAIN``,
    #: a rustup override, a rust-toolchain file there or in a parent); None: nothing pins one,
    #: or what pins it cannot be used (``pin_problem`` says why)
    pin: Optional[PinnedToolchain]
    rust_mode: RustMode = RustMode.AUTO
    env: Mapping[str, str] = field(default_factory=dict)
    is_root: bool = False
    cache_dir: str = ""
    #: kdoctor's persisted choices (see kdoctor.machine.settings)
    settings_file: str = ""
    #: ask every probe again, ignoring answers kept in the cache (``--fresh``)
    fresh: bool = False
    #: change nothing at all, not even kdoctor's own cache (``fix --dry-run``)
    dry_run: bool = False
    #: why what pins the module's toolchain cannot be used (then ``pin`` is None)
    pin_problem: Optional[str] = None
    #: the toolchain root the target kernel was built in, where the module's build runs too
    #: (a Rust-enabled kernel kdoctor builds: ``--kernel 6.12+rust``); None: on the host
    toolchain_root: Optional[str] = None
    #: the kernel target as the person (or kdoctor's retargeting) named it (``6.12+rust``)
    kernel_spec: Optional[str] = None
    #: how ``module_dir`` was chosen
    module_source: ModuleSource = ModuleSource.BUNDLED
    #: ``--kernel`` as the person gave it (None: not given)
    kernel_option: Optional[str] = None

    @property
    def chosen_options(self) -> tuple[str, ...]:
        """The options the person chose the module and the target with (``--module-dir DIR``,
        ``--kernel RELEASE``): every ``kdoctor`` command kdoctor suggests keeps them."""
        words: list[str] = []
        if self.module_source == ModuleSource.OPTION:
            words += ["--module-dir", self.module_dir]
        if self.kernel_option:
            words += ["--kernel", self.kernel_option]
        return tuple(words)

    @property
    def pinned(self) -> PinnedToolchain:
        """The pin, for the code that only runs when there is one (a module without a pin
        never reaches it: its toolchain is the one its environment resolves)."""
        if self.pin is None:
            raise LookupError(f"{self.module_dir} pins no Rust toolchain")
        return self.pin

    def to_json(self) -> dict[str, Any]:
        return {
            "distro": {
                "id": self.distro.id,
                "version": self.distro.version,
                "name": self.distro.name,
                "like": list(self.distro.like),
                "codename": self.distro.codename,
            },
            "package_manager": self.package_manager,
            "arch": self.arch,
            "running_kernel": self.running_kernel,
            "target_kernel": self.target_kernel,
            "kdir": self.kdir,
            "target_source": self.target_source,
            "module_dir": self.module_dir,
            "module_source": self.module_source,
            "pin": self.pin.to_json() if self.pin else None,
            "pin_problem": self.pin_problem,
            "rust_mode": self.rust_mode,
            "env": dict(self.env),
            "is_root": self.is_root,
            "cache_dir": self.cache_dir,
            "settings_file": self.settings_file,
            "fresh": self.fresh,
            "dry_run": self.dry_run,
            "toolchain_root": self.toolchain_root,
            "kernel_spec": self.kernel_spec,
        }


def bundled_module_dir() -> str:
    """The hello-world module shipped with kdoctor (the source tree when run from a checkout).

    kdoctor's own files, not the machine's: found without the System."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "hello_world"
    return str(installed if installed.is_dir() else package.parent / "hello-world")


#: the values ``KDOCTOR_DISTRO_RUST`` may take (kdoctor.knowledge.packages.web_rust)
DISTRO_RUST_CHOICES = ("rustc", "rustc-web")
