"""The facts every check shares, detected once per invocation."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from kdoctor.i18n import _
from kdoctor.knowledge.kernel_release import kdir_uts_release
from kdoctor.machine.settings import merged_env, settings_path
from kdoctor.machine.system import System
from kdoctor.model.choice import BadValue, RustMode, TargetSource
from kdoctor.model.distro_info import OS_RELEASE
from kdoctor.model.distro_info import DistroInfo as DistroInfo  # re-exported
from kdoctor.model.distro_info import read_distro as read_distro  # re-exported
from kdoctor.model.toolchain_file import PinnedToolchain, read_own_pin

#: environment variables the kernel and Rust builds honour, reported and passed through
ENV_VARS = (
    "KDIR",
    "CC",
    "CLANG",
    "LLVM",
    "RUSTC",
    "BINDGEN",
    "LIBCLANG_PATH",
    "RUSTUP_TOOLCHAIN",
    # Debian's plain rustc or its -web build (kdoctor.knowledge.packages.rust_logical)
    "KDOCTOR_DISTRO_RUST",
    # a cargo-driven module's cargo, and its home (kdoctor's when the packaged crates serve)
    "CARGO",
    "CARGO_HOME",
)

#: package manager by distro family, most specific first
_FAMILIES = (
    ("apt", ("debian", "ubuntu", "linuxmint", "pop", "raspbian", "kali", "elementary")),
    ("dnf", ("fedora", "rhel", "centos", "rocky", "almalinux")),
    ("pacman", ("arch", "manjaro", "endeavouros")),
    ("zypper", ("opensuse", "suse", "sles", "opensuse-leap", "opensuse-tumbleweed")),
)

RUST_MODES = RustMode.values()


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
    #: the module's own toolchain pin (its rust-toolchain file); None: it pins nothing, or its
    #: file cannot be used (``pin_problem`` says why)
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
    #: why the module's rust-toolchain file cannot be used (then ``pin`` is None)
    pin_problem: Optional[str] = None

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
            "pin": self.pin.to_json() if self.pin else None,
            "pin_problem": self.pin_problem,
            "rust_mode": self.rust_mode,
            "env": dict(self.env),
            "is_root": self.is_root,
            "cache_dir": self.cache_dir,
            "settings_file": self.settings_file,
            "fresh": self.fresh,
            "dry_run": self.dry_run,
        }


def package_manager_for(info: DistroInfo) -> Optional[str]:
    ids = info.family_ids()
    for manager, members in _FAMILIES:
        if any(i in members for i in ids):
            return manager
    return None


def bundled_module_dir() -> str:
    """The hello-world module shipped with kdoctor (the source tree when run from a checkout).

    kdoctor's own files, not the machine's: found without the System."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "hello_world"
    return str(installed if installed.is_dir() else package.parent / "hello-world")


def default_cache_dir(env: Mapping[str, str]) -> str:
    base = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME", "/root"), ".cache")
    return env.get("KDOCTOR_CACHE") or os.path.join(base, "kdoctor")


#: the values ``KDOCTOR_DISTRO_RUST`` may take (kdoctor.knowledge.packages.web_rust)
DISTRO_RUST_CHOICES = ("rustc", "rustc-web")


def _origin(system: System, name: str, value: str) -> str:
    if system.env.get(name) == value:
        return _("the environment")
    return _("kdoctor's settings file {path}").format(path=settings_path(system.env))


def detect(
    system: System,
    *,
    kernel: Optional[str] = None,
    module_dir: Optional[str] = None,
    rust_mode: Optional[str] = None,
    os_release: str = OS_RELEASE,
    fresh: bool = False,
    dry_run: bool = False,
) -> Context:
    """Everything the checks share, observed through ``system`` alone: its os-release file,
    hardware name, user id, running kernel, environment and kdoctor's settings file."""
    env = merged_env(system.env, system=system)
    wanted = rust_mode or env.get("KDOCTOR_RUST") or "auto"
    if wanted not in RUST_MODES:
        if rust_mode:
            unknown = _("unknown Rust toolchain source {source}").format(source=repr(wanted))
            raise ValueError(unknown)
        raise BadValue("KDOCTOR_RUST", wanted, RUST_MODES, _origin(system, "KDOCTOR_RUST", wanted))
    distro_rust = env.get("KDOCTOR_DISTRO_RUST")
    if distro_rust and distro_rust not in DISTRO_RUST_CHOICES:
        origin = _origin(system, "KDOCTOR_DISTRO_RUST", distro_rust)
        raise BadValue("KDOCTOR_DISTRO_RUST", distro_rust, DISTRO_RUST_CHOICES, origin)
    mode = RustMode(wanted)
    info = read_distro(system, os_release)
    osrelease = system.read_text("/proc/sys/kernel/osrelease")
    running = osrelease.strip() if osrelease else system.kernel_release()
    if kernel:
        target, source = kernel, TargetSource.OPTION
        kdir = f"/lib/modules/{kernel}/build"
    elif env.get("KDIR"):
        kdir, source = env["KDIR"], TargetSource.KDIR
        target = kdir_uts_release(system, kdir) or running
    else:
        target, source = running, TargetSource.RUNNING
        kdir = f"/lib/modules/{running}/build"
    mdir = system.real_path(os.path.abspath(module_dir)) if module_dir else bundled_module_dir()
    pin, pin_problem = read_own_pin(system, mdir)  # the module's own: never the bundled one's
    return Context(
        distro=info,
        package_manager=package_manager_for(info),
        arch=system.arch(),
        running_kernel=running,
        target_kernel=target,
        kdir=kdir,
        target_source=source,
        module_dir=mdir,
        pin=pin,
        pin_problem=pin_problem,
        rust_mode=mode,
        env={k: env[k] for k in ENV_VARS if env.get(k)},
        is_root=system.uid() == 0,
        cache_dir=default_cache_dir(env),
        settings_file=settings_path(system.env),
        fresh=fresh,
        dry_run=dry_run,
    )
