"""The cargo step a module needs run before make, told from its files (see
:class:`kdoctor.model.module.CargoStep`): a Kbuild member ``target/<triple>/<profile>/lib<crate>.a``
whose ``Cargo.toml`` sits beside ``target/``, and that no build file makes.

The command is what made that archive: ``--target <triple>`` (its ``<triple>.json`` by path
when the crate has one), ``--release`` for the release profile, and the driver the module's own
words name: ``cargo xbuild`` when its README says so (or it has cargo-xbuild's ``Xargo.toml``),
``cargo build -Z build-std=core,alloc`` for a target JSON otherwise (what replaced cargo-xbuild),
else ``cargo build``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Optional

from kdoctor.i18n import _
from kdoctor.machine.system import System
from kdoctor.model.module import CargoStep

_ARCHIVE = re.compile(
    r"^(?P<root>(?:.*/)?)target/(?P<triple>[^/$()]+)/(?P<profile>[^/$()]+)/"
    r"lib(?P<crate>[A-Za-z0-9_]+)\.a$"
)
#: the module's own words about how it is built
READMES = ("README.md", "README", "README.rst", "README.txt", "README.markdown")
_SAYS_XBUILD = re.compile(r"\bcargo[ -]xbuild\b")
_SAYS_BUILD_STD = re.compile(r"-Z\s*build-std(=[A-Za-z_,]+)?")
#: cargo-xbuild's own configuration file
XARGO = "Xargo.toml"


def cargo_archive(system: System, directory: str, member: str) -> bool:
    """Whether ``member`` is where cargo leaves a crate's static library, the crate's
    ``Cargo.toml`` beside its ``target/``."""
    match = _ARCHIVE.match(member)
    if match is None:
        return False
    root = os.path.normpath(os.path.join(directory, match.group("root") or "."))
    return system.is_file(os.path.join(root, "Cargo.toml"))


def cargo_step(
    system: System, directory: str, members: Iterable[str], build_std: bool = False
) -> Optional[CargoStep]:
    """The step that makes the first member that is cargo's archive of a crate beside it;
    ``build_std``: cargo's configuration turns ``-Z build-std`` on."""
    for member in members:
        match = _ARCHIVE.match(member)
        if match is None:
            continue
        root = os.path.normpath(os.path.join(directory, match.group("root") or "."))
        if not system.is_file(os.path.join(root, "Cargo.toml")):
            continue
        triple, profile = match.group("triple"), match.group("profile")
        spec = os.path.join(root, f"{triple}.json")
        is_json = system.is_file(spec)
        if profile == "debug":
            chosen: tuple[str, ...] = ()
        elif profile == "release":
            chosen = ("--release",)
        else:
            chosen = ("--profile", profile)
        archive = os.path.normpath(os.path.join(directory, member))
        driver, reason = _driver(system, root, directory, triple, is_json, build_std)
        target = f"{triple}.json" if is_json and driver[0] == "xbuild" else triple
        return CargoStep((*driver, *chosen, "--target", target), root, archive, reason)
    return None


def _driver(
    system: System, root: str, directory: str, triple: str, is_json: bool, build_std: bool
) -> tuple[tuple[str, ...], str]:
    for where in dict.fromkeys((root, directory)):
        for name in READMES:
            path = os.path.join(where, name)
            text = system.read_text(path)
            if text and _SAYS_XBUILD.search(text):
                return ("xbuild",), _("{file} builds it with cargo xbuild").format(file=path)
            said = _SAYS_BUILD_STD.search(text or "")
            if said:
                why = _("{file} builds it with -Z build-std").format(file=path)
                return ("build", "-Z", f"build-std{said.group(1) or '=core,alloc'}"), why
    xargo = os.path.join(root, XARGO)
    if system.is_file(xargo):
        return ("xbuild",), _("{file} is cargo-xbuild's configuration").format(file=xargo)
    if is_json or build_std:
        why = _("{target} needs its core built (-Z build-std, what replaced cargo-xbuild)")
        return ("build", "-Z", "build-std=core,alloc"), why.format(target=triple)
    return ("build",), _("cargo leaves it there for {target}").format(target=triple)
