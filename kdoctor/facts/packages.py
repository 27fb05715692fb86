"""What the package manager can install, and how a person installs it.

The tables and the parsers of what package managers print live in
:mod:`kdoctor.knowledge.packages`; this module asks (through :meth:`System.probe`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Optional

from kdoctor.knowledge.commands import install_shown
from kdoctor.knowledge.packages import (
    kernel_package_names,
    package_name,
    package_needs,
    query_argv,
    read_answers,
)
from kdoctor.machine.system import System
from kdoctor.model.context import Context
from kdoctor.model.need import Package

if TYPE_CHECKING:
    from kdoctor.facts import Facts


def install_command(ctx: Context, logical: Iterable[str], **values: object) -> str:
    """A command line a person can paste to install ``logical`` packages on this distro (what
    a finding with these package needs prints)."""
    manager = ctx.package_manager
    return install_shown(manager, package_needs(manager, logical, **values), ctx.is_root)


def known_packages(
    system: System, manager: Optional[str], names: Iterable[str]
) -> dict[str, Optional[bool]]:
    """Whether the package manager can install each of ``names``, asked in ONE query
    (``apt-cache policy a b c``): True, False, or None when it could not be asked."""
    wanted = list(dict.fromkeys(names))
    unknown: dict[str, Optional[bool]] = {name: None for name in wanted}
    query = query_argv(manager)
    if manager is None or query is None or not wanted:
        return unknown
    prefix, timeout = query
    probe = system.probe([*prefix, *wanted], timeout=timeout)
    if probe.error or probe.timed_out:
        return unknown
    if manager == "apt" and probe.exit_code != 0:
        return unknown
    return read_answers(manager, probe.stdout, wanted)


#: where apt keeps the package lists it knows packages from
APT_LISTS = "/var/lib/apt/lists"


def has_package_lists(system: System) -> bool:
    """Whether apt has package lists (a ``*_Packages`` file in :data:`APT_LISTS`): without any,
    apt knows no package, and "unknown" says nothing about the repository."""
    return any("_Packages" in name for name in system.listdir(APT_LISTS))


def not_packaged(system: System, manager: Optional[str], need: Package) -> bool:
    """Whether the repository has none of ``need``'s candidates, as far as it can be told:
    apt, with package lists, knows none of them (some releases package no rustfmt, e.g. Debian
    11). False whenever that cannot be told (no lists yet, apt not asked, another manager)."""
    if manager != "apt" or not need.candidates or not has_package_lists(system):
        return False
    known = known_packages(system, manager, need.candidates)
    return all(answer is False for answer in known.values())


def known_to_manager(system: System, manager: Optional[str], package: str) -> Optional[bool]:
    """Whether the package manager can install ``package`` (None: could not ask)."""
    return known_packages(system, manager, [package])[package]


def kernel_packages(facts: Facts) -> dict[str, Optional[bool]]:
    """Whether the package manager knows the target kernel's headers and image packages, in
    the one query the kernel-headers and vm checks share."""
    ctx = facts.ctx
    names = kernel_package_names(ctx.package_manager, ctx.target_kernel)
    return known_packages(facts.system, ctx.package_manager, names)


def rust_artefacts_package(facts: Facts) -> Optional[str]:
    """The package that ships the target kernel's Rust artefacts beside its headers (Ubuntu's
    ``linux-lib-rust-<release>``), when the package manager can install it; else None."""
    ctx = facts.ctx
    name = package_name(ctx.package_manager, "rust-artefacts", release=ctx.target_kernel)
    if name is None:
        return None
    return name if known_packages(facts.system, ctx.package_manager, [name]).get(name) else None
