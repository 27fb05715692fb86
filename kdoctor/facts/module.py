"""The fact ``module_info``: what the module in ``ctx.module_dir`` is (see
:mod:`kdoctor.model.module`), told from its files without running anything."""

from __future__ import annotations

import os
import re
from typing import Optional

from kdoctor.facts import Facts
from kdoctor.facts.kbuild import Kbuild, read_kbuild
from kdoctor.facts.toolchain_pin import lookup_pin
from kdoctor.machine.system import System
from kdoctor.model.context import bundled_module_dir
from kdoctor.model.module import BuildDriver, Module, ModuleKind, RustTarget
from kdoctor.model.toolchain_file import PinnedToolchain

#: the build files whose recipes may run cargo or rustc
BUILD_FILES = ("Kbuild", "Makefile", "makefile", "GNUmakefile")

_CARGO = re.compile(r"(?:^|[\s;&|(])(?:\$[({]CARGO[)}]|(?:[^\s;&|()]*/)?cargo)(?=\s|$)")
_XBUILD = re.compile(r"\bcargo[\s-]+xbuild\b|\$[({]CARGO[)}]\s+xbuild\b")
_BUILD_STD = re.compile(r"-Z\s*build-std\b|build-std\s*=")
_RUSTC = re.compile(r"\$[({]RUSTC[)}]|(?:^|[\s;&|/])rustc(?:\s|$)")
_TARGET = re.compile(r"--target[= ]\s*([^\s;&|)]+)")


def module_kbuild(facts: Facts) -> Optional[Kbuild]:
    """The module's Kbuild as make evaluates it for the target: read and evaluated once per
    run, for the module model and the kbuild-cmd check alike."""
    ctx = facts.ctx
    return read_kbuild(facts.system, ctx.module_dir, kdir=ctx.kdir, release=ctx.target_kernel)


def module_info(facts: Facts) -> Module:
    ctx = facts.ctx
    pin = (ctx.pin, ctx.pin_problem)
    return read_module(facts.system, ctx.module_dir, kbuild=facts.of(module_kbuild), pin=pin)


def read_module(
    system: System,
    directory: str,
    *,
    kdir: Optional[str] = None,
    release: Optional[str] = None,
    kbuild: Optional[Kbuild] = None,
    pin: Optional[tuple[Optional[PinnedToolchain], Optional[str]]] = None,
) -> Module:
    """The module in ``directory`` as its files describe it (its Kbuild evaluated by make for
    ``kdir``/``release`` when given, see :func:`kdoctor.facts.kbuild.read_kbuild`; or
    ``kbuild`` when the caller has read it already); its pin as rustup looks it up (or ``pin``,
    with its problem, when the caller has looked)."""
    if kbuild is None:
        kbuild = read_kbuild(system, directory, kdir=kdir, release=release)
    texts = _build_texts(system, directory)
    commands = "\n".join(texts.values())
    driver = _driver(commands)
    found, problem = pin if pin is not None else lookup_pin(system, directory, system.env)
    cargo_toml = os.path.join(directory, "Cargo.toml")
    return Module(
        directory=directory,
        kind=_kind(system, directory, kbuild, driver, commands),
        ko_names=tuple(kbuild.modules()) if kbuild else (),
        driver=driver,
        kbuild_file=kbuild.path if kbuild else None,
        target=_target(system, directory, commands) if driver.uses_cargo else None,
        pin=found,
        pin_problem=problem,
        cargo_toml=cargo_toml if system.is_file(cargo_toml) else None,
        bundled=_same_dir(directory, bundled_module_dir()),
    )


def _build_texts(system: System, directory: str) -> dict[str, str]:
    """Recipe-bearing build files of the module, by name (comments dropped)."""
    texts: dict[str, str] = {}
    for name in BUILD_FILES:
        text = system.read_text(os.path.join(directory, name))
        if text is not None:
            texts[name] = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    return texts


def _driver(commands: str) -> BuildDriver:
    if _XBUILD.search(commands):
        return BuildDriver.CARGO_XBUILD
    if not any(_CARGO.search(line) for line in commands.splitlines()):
        return BuildDriver.KBUILD
    if _BUILD_STD.search(commands):
        return BuildDriver.CARGO_BUILD_STD
    return BuildDriver.CARGO


def _target(system: System, directory: str, commands: str) -> Optional[RustTarget]:
    for line in commands.splitlines():
        if not (_CARGO.search(line) or _XBUILD.search(line)):
            continue
        match = _TARGET.search(line)
        if match:
            return _named_target(system, directory, match.group(1).strip("'\""))
    return None


def _named_target(system: System, directory: str, name: str) -> RustTarget:
    """A ``--target`` value: a JSON file (by path, or ``<name>.json`` next to the module)."""
    for prefix in ("$(CURDIR)/", "$(PWD)/", "$(src)/", "$(M)/", "./"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    candidates = [name] if name.endswith(".json") else [name + ".json"]
    for candidate in candidates:
        path = os.path.normpath(os.path.join(directory, candidate))
        if system.is_file(path):
            return RustTarget(os.path.basename(candidate)[: -len(".json")], path)
    if name.endswith(".json"):
        return RustTarget(os.path.basename(name)[: -len(".json")], os.path.join(directory, name))
    return RustTarget(name)


def _kind(
    system: System, directory: str, kbuild: Optional[Kbuild], driver: BuildDriver, commands: str
) -> ModuleKind:
    if driver.uses_cargo:
        return ModuleKind.CARGO
    if kbuild is None:
        return ModuleKind.UNKNOWN
    members = [m for objs in kbuild.modules().values() for m in objs]
    sources = {m: _source_of(system, directory, m) for m in members}
    if any(src == ".rs" and kbuild.rule_for(m) is None for m, src in sources.items()):
        return ModuleKind.RUST_FOR_LINUX
    if _RUSTC.search(commands):
        return ModuleKind.KBUILD_RUSTC
    if members and all(src == ".c" for src in sources.values()):
        return ModuleKind.C
    return ModuleKind.UNKNOWN


def _source_of(system: System, directory: str, obj: str) -> Optional[str]:
    """The suffix of the source kbuild would compile ``obj`` from, when one exists."""
    stem = os.path.join(directory, obj[: -len(".o")] if obj.endswith(".o") else obj)
    for suffix in (".rs", ".c", ".S"):
        if system.is_file(stem + suffix):
            return suffix
    return None


def _same_dir(a: str, b: str) -> bool:
    return os.path.normpath(a) == os.path.normpath(b)
