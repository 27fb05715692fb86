"""The Rust facts: which toolchain the module build uses, and what rustup says about the pin.

The knowledge lives in :mod:`kdoctor.facts.rustup` (asking rustup) and :mod:`kdoctor.facts.rustc`
(inspecting a rustc and choosing one); this module names the facts every check, fix and
``kdoctor build`` reads, and keeps the names the fixes import (``rust.resolve``,
``rust.find_rustup``, ``rust.install_command`` ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from kdoctor.facts.rustc import (
    DISTRO_RUSTC,
    LIBRARY,
    LIBRARY_FILES,
    MIN_RUSTC,
    SOURCES,
    RustToolchain,
    distro_rustc,
    find_rustfmt,
    has_library,
    library_dir,
    resolve,
)
from kdoctor.facts.rustup import (
    PROBE_ENV,
    RUSTC_TIMEOUT,
    RUSTUP_TIMEOUT,
    Active,
    Override,
    PinState,
    active_toolchain,
    find_override,
    find_rustup,
    has_component,
    host_triple,
    install_command,
    installed_components,
    is_rustup_dir,
    is_rustup_shim,
    names_pin,
    on_path,
    parse_active,
    parse_overrides,
    parse_toolchain_list,
    pin_name,
    pin_need,
    pin_state,
    probe_rustup,
    rustup_version,
    strip_ansi,
)

if TYPE_CHECKING:
    from kdoctor.facts import Facts

__all__ = [
    "DISTRO_RUSTC",
    "LIBRARY",
    "LIBRARY_FILES",
    "MIN_RUSTC",
    "PROBE_ENV",
    "RUSTC_TIMEOUT",
    "RUSTUP_TIMEOUT",
    "SOURCES",
    "Active",
    "Override",
    "PinState",
    "RustToolchain",
    "active_toolchain",
    "distro_rustc",
    "find_override",
    "find_rustfmt",
    "find_rustup",
    "has_component",
    "has_library",
    "host_triple",
    "install_command",
    "installed_components",
    "is_rustup_dir",
    "is_rustup_shim",
    "library_dir",
    "names_pin",
    "on_path",
    "parse_active",
    "parse_overrides",
    "parse_toolchain_list",
    "pin_name",
    "pin_need",
    "pin_state",
    "pin_status",
    "probe_rustup",
    "resolve",
    "rust_toolchain",
    "rustup_location",
    "rustup_version",
    "strip_ansi",
]


def rustup_location(facts: Facts) -> tuple[Optional[str], bool]:
    """(rustup's full path, whether it is on PATH)."""
    return find_rustup(facts.system)


def pin_status(facts: Facts) -> PinState:
    """What rustup says about the pinned toolchain."""
    return pin_state(facts.ctx, facts.system)


def rust_toolchain(facts: Facts) -> RustToolchain:
    """The toolchain the module build uses (see :func:`kdoctor.facts.rustc.resolve`)."""
    return resolve(facts.ctx, facts.system, pin=lambda: facts.of(pin_status))
