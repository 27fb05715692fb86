"""The context of a run, detected once per invocation through the System: the distribution,
the target kernel and its build directory, the module and its own pin, the Rust mode, the
environment and kdoctor's settings (the :class:`~kdoctor.model.context.Context` every check
shares)."""

from __future__ import annotations

import os
from typing import Optional

from kdoctor.facts.distro import OS_RELEASE, read_distro
from kdoctor.facts.toolchain_pin import lookup_pin
from kdoctor.i18n import _
from kdoctor.knowledge.kbuild_call import MAKE_FILES, calls_kbuild
from kdoctor.knowledge.kernel_release import kdir_uts_release
from kdoctor.machine.settings import merged_env, settings_path
from kdoctor.machine.system import System
from kdoctor.model.cache_layout import default_cache_dir
from kdoctor.model.choice import BadValue, ModuleSource, RustMode, TargetSource
from kdoctor.model.context import (
    DISTRO_RUST_CHOICES,
    Context,
    DistroInfo,
    bundled_module_dir,
)

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


def package_manager_for(info: DistroInfo) -> Optional[str]:
    ids = info.family_ids()
    for manager, members in _FAMILIES:
        if any(i in members for i in ids):
            return manager
    return None


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
    cwd: Optional[str] = None,
) -> Context:
    """Everything the checks share, observed through ``system`` alone: its os-release file,
    hardware name, user id, running kernel, environment and kdoctor's settings file. The module
    is ``module_dir``; else the one in ``cwd`` (the directory kdoctor was started in) or above
    it (:func:`find_module_dir`); else the bundled hello-world."""
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
    found = find_module_dir(system, cwd) if cwd and not module_dir else None
    if module_dir:
        mdir, chosen = system.real_path(os.path.abspath(module_dir)), ModuleSource.OPTION
    elif found:
        mdir, chosen = found, ModuleSource.CURRENT
    else:
        mdir, chosen = bundled_module_dir(), ModuleSource.BUNDLED
    # as rustup looks it up for the module's directory: never the bundled module's
    pin, pin_problem = lookup_pin(system, mdir, env)
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
        module_source=chosen,
        kernel_option=kernel,
    )


def find_module_dir(system: System, start: str) -> Optional[str]:
    """The module ``start`` is in, as cargo finds its crate: the nearest directory from
    ``start`` up that holds a ``Kbuild`` or a make file calling kbuild (or declaring
    ``obj-m``), never above a repository's root (a directory with ``.git``) nor the file
    system's; None when there is none."""
    directory = system.real_path(start)
    while True:
        files = {}
        for name in ("Kbuild", *MAKE_FILES):
            text = system.read_text(os.path.join(directory, name))
            if text is not None:
                files[name] = text
        if "Kbuild" in files or any(calls_kbuild(t) for n, t in files.items() if n != "Kbuild"):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory or system.exists(os.path.join(directory, ".git")):
            return None
        directory = parent
