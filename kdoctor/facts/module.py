"""The fact ``module_info``: what the module in ``ctx.module_dir`` is (see
:mod:`kdoctor.model.module`), told from its files without running anything."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import Optional

from kdoctor.facts import Facts
from kdoctor.facts.cargo_config import CargoConfig, read_cargo_config
from kdoctor.facts.cargo_step import cargo_step
from kdoctor.facts.kbuild import Kbuild, read_kbuild
from kdoctor.facts.toolchain_pin import lookup_pin
from kdoctor.i18n import _
from kdoctor.knowledge.cargo_command import (
    CargoCall,
    cargo_invocations,
    names_xbuild,
    parse_cargo,
    runs_cargo,
)
from kdoctor.knowledge.kbuild_call import holds_module
from kdoctor.machine.system import System
from kdoctor.model.context import bundled_module_dir
from kdoctor.model.module import BuildDriver, Module, ModuleKind, RustTarget
from kdoctor.model.toolchain_file import PinnedToolchain

#: the build files whose recipes may run cargo or rustc
BUILD_FILES = ("Kbuild", "Makefile", "makefile", "GNUmakefile")

_BUILD_STD = re.compile(r"-Z\s*build-std\b|build-std\s*=")
_RUSTC = re.compile(r"\$[({]RUSTC[)}]|(?:^|[\s;&|/])rustc(?:\s|$)")


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
    config = read_cargo_config(system, directory, system.env)
    calls = _cargo_calls(kbuild, commands, config)
    step = None
    if not calls and kbuild is not None:  # an archive a cargo step run before make leaves
        made = [m for ms in kbuild.modules().values() for m in ms if kbuild.rule_for(m) is None]
        step = cargo_step(system, directory, made, config.build_std)
        calls = [parse_cargo(step.args, config.aliases)] if step else []
    driver = _driver(commands, calls, config)
    found, problem = pin if pin is not None else lookup_pin(system, directory, system.env)
    where = step.directory if step else directory
    cargo_toml = os.path.join(where, "Cargo.toml")
    target, unread, call = (
        _target(system, where, calls, config) if driver.uses_cargo else (None, None, None)
    )
    files = {**texts, **({"Cargo.toml": ""} if system.is_file(cargo_toml) else {})}
    kind = _kind(system, directory, kbuild, driver, commands) if holds_module(files) else None
    return Module(
        directory=directory,
        kind=kind or ModuleKind.NONE,
        ko_names=tuple(kbuild.modules()) if kbuild else (),
        driver=driver,
        kbuild_file=kbuild.path if kbuild else None,
        target=target,
        pin=found,
        pin_problem=problem,
        cargo_toml=cargo_toml if system.is_file(cargo_toml) else None,
        bundled=_same_dir(directory, bundled_module_dir()),
        target_unread=unread,
        cargo_config=config.files,
        target_call=call.args if call else (),
        cargo_unstable=config.unstable,
        step=step,
    )


def _build_texts(system: System, directory: str) -> dict[str, str]:
    """Recipe-bearing build files of the module, by name (comments dropped)."""
    texts: dict[str, str] = {}
    for name in BUILD_FILES:
        text = system.read_text(os.path.join(directory, name))
        if text is not None:
            texts[name] = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    return texts


def _cargo_calls(kbuild: Optional[Kbuild], commands: str, config: CargoConfig) -> list[CargoCall]:
    """The module's cargo commands, aliases expanded: the recipe lines make expanded (kbuild's
    reading of its file first, then the Makefile ``make -C`` runs), else the build files' text
    as it is."""
    lines = [*kbuild.commands, *kbuild.outer_commands] if kbuild else []
    if not lines:
        lines = [line for line in commands.splitlines() if runs_cargo(line)]
    return [
        parse_cargo(words, config.aliases)
        for line in lines
        for words in cargo_invocations(line)
        if words  # `cargo` alone (`echo cargo`) runs nothing
    ]


def _driver(commands: str, calls: list[CargoCall], config: CargoConfig) -> BuildDriver:
    if any(c.subcommand == "xbuild" for c in calls) or names_xbuild(commands):
        return BuildDriver.CARGO_XBUILD
    if not calls:
        return BuildDriver.KBUILD
    if any(c.builds_std for c in calls) or config.build_std or _BUILD_STD.search(commands):
        return BuildDriver.CARGO_BUILD_STD
    return BuildDriver.CARGO


def _target(
    system: System, directory: str, calls: list[CargoCall], config: CargoConfig
) -> tuple[Optional[RustTarget], Optional[str], Optional[CargoCall]]:
    """The target the cargo commands name (``--target``, an alias's included), else the one
    cargo's configuration sets (``build.target``); a ``--target`` kdoctor could not read (make
    could not expand it); and the command that names it."""
    for call in calls:
        name = call.target
        if not name:
            continue
        if "$" in name:
            return None, name, call
        origin = (
            _("the alias {alias} in {file}").format(
                alias=call.alias, file=config.alias_files.get(call.alias, "")
            )
            if call.alias
            else ""
        )
        return replace(_named_target(system, directory, name), origin=origin), None, call
    configured = config.target_path()
    if calls and configured:
        origin = _("build.target in {file}").format(file=config.target_file)
        named = replace(_named_target(system, directory, configured), origin=origin)
        return named, None, calls[0]
    return None, None, calls[0] if calls else None


def _named_target(system: System, directory: str, name: str) -> RustTarget:
    """A ``--target`` value: a JSON file (by path, relative to the module's directory where
    cargo runs, or ``<name>.json`` there, where rustc looks for a target it has not built in)."""
    for prefix in ("$(CURDIR)/", "$(PWD)/", "$(src)/", "$(M)/", "./"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    candidates = [name] if name.endswith(".json") else [name + ".json"]
    for candidate in candidates:
        path = os.path.normpath(os.path.join(directory, candidate))
        if system.is_file(path):
            stem = os.path.basename(candidate)[: -len(".json")]
            return RustTarget(stem, path, by_path=name.endswith(".json"))
    if name.endswith(".json"):
        path = os.path.normpath(os.path.join(directory, name))
        return RustTarget(os.path.basename(name)[: -len(".json")], path, by_path=True)
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
