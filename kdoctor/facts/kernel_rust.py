"""The target kernel's Rust support, as its build directory shows it (the rules are in
:mod:`kdoctor.knowledge.rust_for_linux`)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from kdoctor.facts.kernel import target_config
from kdoctor.i18n import N_, _
from kdoctor.knowledge.rust_for_linux import (
    kconfig_bindgen,
    kconfig_rustc,
    macro_keys,
    module_keys,
    needed_artefacts,
    rmeta_rustc,
    rust_enabled,
)
from kdoctor.machine.system import System

if TYPE_CHECKING:
    from kdoctor.facts import Facts

_INCLUDE = re.compile(r"^\s*-?include\s+(\S+)\s*$", re.MULTILINE)
#: where the kernel's rustc was read: its configuration (``rustc_from`` keeps these words in
#: every language; ``rustc_from_text`` is them in the person's), else its crate metadata (a path)
FROM_CONFIG = N_("the kernel's .config")
FROM_RMETA = "rust/libkernel.rmeta"


@dataclass(frozen=True)
class KernelRust:
    """What the target's ``.config`` and build directory say about its Rust support."""

    enabled: bool
    have_rust: bool
    rustc_version_option: Optional[str]
    has_rust_dir: bool
    needed: tuple[str, ...]
    missing: tuple[str, ...]
    #: the rustc that built the kernel's crates (its configuration, else rust/libkernel.rmeta)
    rustc: Optional[str]
    rustc_from: Optional[str]
    bindgen: Optional[str]
    #: the kernel was built with clang (``LLVM=1``): a module for it is built the same way
    llvm: bool = False

    @property
    def rustc_from_text(self) -> Optional[str]:
        """``rustc_from`` as a person reads it (in their language)."""
        return _(FROM_CONFIG) if self.rustc_from == FROM_CONFIG else self.rustc_from

    def to_json(self) -> dict[str, Any]:
        return {
            "config_rust": self.enabled,
            "config_have_rust": self.have_rust,
            "config_rustc_version": self.rustc_version_option,
            "rust_dir": self.has_rust_dir,
            "needed": list(self.needed),
            "missing": list(self.missing),
            "kernel_rustc": self.rustc,
            "kernel_rustc_from": self.rustc_from,
            "kernel_bindgen": self.bindgen,
            "kernel_llvm": self.llvm,
        }


def kbuild_text(system: System, kdir: str, name: str) -> str:
    """A kbuild file of the build directory with the files it includes (Debian's build
    directory ``Makefile`` includes the common source tree's), one level deep."""
    text = system.read_text(os.path.join(kdir, name)) or ""
    for included in _INCLUDE.findall(text):
        if "$" not in included:
            text += "\n" + (system.read_text(os.path.join(kdir, included)) or "")
    return text


def forms(artefact: str) -> tuple[str, ...]:
    """The files that satisfy a needed crate: its metadata, or (a procedural macro crate such as
    ``zerocopy_derive`` in 7.x, passed with ``--extern`` like the others) its shared object."""
    if artefact.endswith(".rmeta"):
        return (artefact, artefact[: -len(".rmeta")] + ".so")
    return (artefact,)


def read_kernel_rust(system: System, kdir: str, config: dict[str, str]) -> KernelRust:
    enabled = rust_enabled(config)
    needed = needed_artefacts(
        kbuild_text(system, kdir, "Makefile"), kbuild_text(system, kdir, "scripts/Makefile.build")
    )
    missing = [n for n in needed if not any(system.exists(os.path.join(kdir, f)) for f in forms(n))]
    rustc, source = kconfig_rustc(config), FROM_CONFIG
    if rustc is None:
        data = system.read_bytes(os.path.join(kdir, "rust/libkernel.rmeta"), limit=4096)
        rustc = rmeta_rustc(data) if data else None
        source = FROM_RMETA
    return KernelRust(
        enabled=enabled,
        have_rust=config.get("CONFIG_HAVE_RUST") == "y",
        rustc_version_option=config.get("CONFIG_RUSTC_VERSION"),
        has_rust_dir=system.is_dir(os.path.join(kdir, "rust")),
        needed=tuple(needed),
        missing=tuple(missing),
        rustc=rustc,
        rustc_from=source if rustc else None,
        bindgen=kconfig_bindgen(config),
        llvm=config.get("CONFIG_CC_IS_CLANG") == "y",
    )


def kernel_rust(facts: Facts) -> KernelRust:
    return read_kernel_rust(facts.system, facts.ctx.kdir, facts.of(target_config))


#: a module's Rust sources read to find its ``module!`` keys: how many files, how much of each
MAX_SOURCES = 64
SOURCE_LIMIT = 1 << 20


@dataclass(frozen=True)
class MacroKeys:
    """The ``module!`` keys the target's macro accepts (None: its source is not in the build
    directory) and those the module's sources use that it does not, by file."""

    known: Optional[frozenset[str]]
    unknown: tuple[tuple[str, str], ...] = ()


def macro_key_check(facts: Facts) -> MacroKeys:
    system, ctx = facts.system, facts.ctx
    text = system.read_text(os.path.join(ctx.kdir, "rust", "macros", "module.rs"))
    known = macro_keys(text) if text else None
    if known is None:
        return MacroKeys(None)
    names = [n for n in system.listdir(ctx.module_dir) if n.endswith(".rs")][:MAX_SOURCES]
    unknown: list[tuple[str, str]] = []
    for name in names:
        source = system.read_text(os.path.join(ctx.module_dir, name), limit=SOURCE_LIMIT) or ""
        unknown += [(name, key) for key in module_keys(source) if key not in known]
    return MacroKeys(known, tuple(unknown))
