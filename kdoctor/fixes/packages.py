"""packages: everything the checks found missing from the distribution, installed in ONE
transaction of its package manager; or, with apt, two, when what the module's Rust sysroot needs
can go first and the sysroot build alongside the second (:mod:`kdoctor.fixes.sysroot_first`).

The package lists are refreshed only when they are stale or a package is unknown to them, and
an installation dpkg left halfway is finished first. A lock held by another package manager is
waited for (bounded, visibly) by apt itself at apply time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Optional, cast

from kdoctor.facts import Facts
from kdoctor.facts.packages import APT_LISTS, has_package_lists, known_packages
from kdoctor.fixes import sysroot_first
from kdoctor.fixes.base import Ask, Decision, Fix, asks_of, register
from kdoctor.i18n import _, ngettext
from kdoctor.knowledge.commands import install_argv
from kdoctor.knowledge.packages import INSTALL
from kdoctor.machine.system import System
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding
from kdoctor.model.need import NEED_TYPES, Package
from kdoctor.model.plan import PlanOptions, Step

DPKG_UPDATES = "/var/lib/dpkg/updates"
#: package lists older than this are refreshed before installing
STALE_AFTER_DAYS = 7
#: how long apt waits for a lock another package manager holds (it says so while waiting)
LOCK_TIMEOUT = 120
LOCK_WAIT = 120.0
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}
REFRESH_TIMEOUT = 600.0


def chosen(need: Package, known: Mapping[str, Optional[bool]]) -> Optional[str]:
    """The candidate to install: the first the package manager knows, else the first."""
    return next((c for c in need.candidates if known.get(c)), need.name)


def optional_unknown(
    per_finding: Sequence[tuple[Finding, Sequence[str]]], known: Mapping[str, Optional[bool]]
) -> list[str]:
    """Packages the package manager does not know that only optional (not required) findings
    ask for: an unknown name fails the whole transaction, and nothing needs these to build."""
    required = {p for f, pkgs in per_finding if f.required for p in pkgs}
    optional = [p for f, pkgs in per_finding if not f.required for p in pkgs]
    return sorted({p for p in optional if p not in required and known.get(p) is False})


def dpkg_interrupted(system: System) -> bool:
    """dpkg left pending records (as apt tells: numbered files in /var/lib/dpkg/updates)."""
    return any(name.isdigit() for name in system.listdir(DPKG_UPDATES))


def apt_lists_stale(system: System, now: float) -> Optional[str]:
    """Why apt's package lists need a refresh (none yet, or older than a week), else None.

    apt dates each list by the mirror's Last-Modified, so the newest list (the ones that change
    daily, such as the security suite's) tells when apt last refreshed."""
    names = system.listdir(APT_LISTS)
    if not any("_Packages" in name for name in names):
        return _("there are no package lists yet ({directory} has no Packages files)").format(
            directory=APT_LISTS
        )
    stamps = [
        system.mtime(f"{APT_LISTS}/{name}")
        for name in names
        if "_Packages" in name or name.endswith("Release")
    ]
    newest = max((s for s in stamps if s is not None), default=None)
    if newest is None:
        return _("the age of the package lists in {directory} is unknown").format(
            directory=APT_LISTS
        )
    days = (now - newest) / 86400
    if days > STALE_AFTER_DAYS:
        return _("the package lists are {days} days old (refreshed after {limit})").format(
            days=int(days), limit=STALE_AFTER_DAYS
        )
    return None


def _missing_why(pairs: Sequence[tuple[Finding, Sequence[str]]]) -> str:
    return _("install what the checks found missing: {needs}").format(
        needs="; ".join(
            _("{check} needs {packages}").format(check=f.id, packages=", ".join(pkgs))
            for f, pkgs in pairs
            if pkgs
        )
    )


@register
class PackagesFix(Fix):
    id = "packages"
    title = "install what is missing from the distribution, in one transaction"
    order = 10
    handles = (Package,)
    #: every need: the sysroot builds early only when the checks it depends on need
    #: nothing but packages and settings (:func:`sysroot_first.blocking`)
    reads = NEED_TYPES

    def plan(self, facts: Facts, asks: Sequence[Ask], options: PlanOptions) -> Decision:
        ctx, system = facts.ctx, facts.system
        mine = asks_of(asks, Package)
        manager = ctx.package_manager
        decision = Decision()
        if not mine:
            return decision
        if manager not in INSTALL:
            wanted = [cast(Package, a.need).words() for a in mine]
            decision.notes.append(
                _(
                    "kdoctor knows no package manager for {distro}; install these "
                    "by hand: {packages}."
                ).format(distro=ctx.distro.name, packages=", ".join(dict.fromkeys(wanted)))
            )
            return decision
        candidates = [c for a in mine for c in cast(Package, a.need).candidates]
        known = known_packages(system, manager, candidates)
        per_finding: dict[str, tuple[Finding, list[str]]] = {}
        for ask in mine:
            name = chosen(cast(Package, ask.need), known)
            entry = per_finding.setdefault(ask.finding.id, (ask.finding, []))
            if name is None:
                decision.notes.append(
                    _(
                        "{check}: kdoctor cannot tell which package fixes this "
                        "({summary}); see its remediation."
                    ).format(check=ask.finding.id, summary=ask.finding.summary)
                )
            elif name not in entry[1]:
                entry[1].append(name)
        pairs = [(f, pkgs) for f, pkgs in per_finding.values() if pkgs]
        names = sorted({n for _f, pkgs in pairs for n in pkgs})
        if not names:
            return decision
        left_out = optional_unknown(pairs, known)
        # with no package lists apt knows no package: what only optional checks ask for is
        # installed on its own once the lists are there (the release may not have it)
        later: list[str] = []
        askers: list[str] = []
        if left_out:
            askers = sorted({f.id for f, pkgs in pairs if set(pkgs) & set(left_out)})
            pairs = [(f, [p for p in pkgs if p not in left_out]) for f, pkgs in pairs]
            names = [n for n in names if n not in left_out]
        if left_out and manager == "apt" and not has_package_lists(system):
            later = left_out
            if not names:
                decision.steps += self._optional(later, askers, system, prepared=False)
                return decision
        elif left_out:
            decision.notes.append(
                ngettext(
                    "{packages} left out of the transaction: {manager} does not know it, and "
                    "only optional checks ({checks}) ask for it (some releases do not package "
                    "it, e.g. Debian 11 has no rustfmt); the module builds without. Rerun "
                    "kdoctor fix once the repository has it.",
                    "{packages} left out of the transaction: {manager} does not know them, and "
                    "only optional checks ({checks}) ask for them (some releases do not package "
                    "it, e.g. Debian 11 has no rustfmt); the module builds without. Rerun "
                    "kdoctor fix once the repository has it.",
                    len(left_out),
                ).format(packages=", ".join(left_out), manager=manager, checks=", ".join(askers))
            )
            if not names:
                return decision
        unknown = [n for n in names if known.get(n) is False]
        missing = (
            _("{manager} does not know {packages} yet").format(
                manager=manager, packages=", ".join(unknown)
            )
            if unknown
            else ""
        )
        checks = tuple(f.id for f, pkgs in pairs if pkgs)
        why = _missing_why(pairs)
        first = None
        if manager == "apt":
            first = sysroot_first.split(ctx, system, pairs, sysroot_first.blocking(asks))
        if first is not None:
            decision.steps += self._sysroot_first(ctx, first, pairs, missing, system)
        else:
            decision.steps += self._steps(manager, names, missing, checks, why, system)
        if later:
            decision.steps += self._optional(later, askers, system, prepared=True)
        if unknown:
            decision.notes.append(
                _(
                    "{manager} does not know {packages} yet: the plan refreshes its "
                    "package lists first; if they are still unknown, the install step says so "
                    "(the repository that has them may need enabling)."
                ).format(manager=manager, packages=", ".join(unknown))
            )
        versioned = [n for f, pkgs in pairs if f.id == "clang" for n in pkgs if n != "clang"]
        if versioned:
            decision.notes.append(
                _(
                    "{packages} installs next to the default clang; run kdoctor fix "
                    "again afterwards so the build uses it (CC and CLANG)."
                ).format(packages=", ".join(versioned))
            )
        return decision

    def _optional(
        self, names: Sequence[str], askers: Sequence[str], system: System, *, prepared: bool
    ) -> list[Step]:
        """apt's install of what only optional checks ask for, on its own after the rest (its
        housekeeping first unless ``prepared``): a package the refreshed lists do not have
        fails this step only, which stops nothing and fails nothing."""
        why = _(
            "install what only optional checks ({checks}) ask for: {packages}; apt knows no "
            "package before its first refresh, and a release may not have it (Debian 11 has no "
            "rustfmt), so it is installed on its own, after the rest"
        ).format(checks=", ".join(askers), packages=", ".join(names))
        missing = _("{manager} does not know {packages} yet").format(
            manager="apt", packages=", ".join(names)
        )
        steps = self._apt(names, missing, tuple(askers), why, system, prepared=prepared)
        return [*steps[:-1], replace(steps[-1], required=False)]

    def _sysroot_first(
        self,
        ctx: Context,
        first: tuple[list[str], list[str]],
        pairs: Sequence[tuple[Finding, Sequence[str]]],
        missing: str,
        system: System,
    ) -> list[Step]:
        """Two transactions, the sysroot building in the background between them."""
        groups = []
        for names in first:
            group = [(f, [p for p in pkgs if p in names]) for f, pkgs in pairs]
            group = [(f, pkgs) for f, pkgs in group if pkgs]
            checks = tuple(f.id for f, _pkgs in group)
            groups.append((names, checks, _missing_why(group)))
        (names_a, checks_a, why_a), (names_b, checks_b, why_b) = groups
        steps = self._apt(names_a, missing, checks_a, why_a, system)
        rest = self._apt(names_b, "", checks_b, why_b, system, prepared=True)
        return [*steps, sysroot_first.sysroot_step(ctx, checks_a), *rest]

    def _steps(
        self,
        manager: str,
        names: Sequence[str],
        missing: str,
        checks: tuple[str, ...],
        why: str,
        system: System,
    ) -> list[Step]:
        """The install step (with a refresh first when ``missing`` says a package is unknown)."""
        if manager == "apt":
            return self._apt(names, missing, checks, why, system)
        steps: list[Step] = []
        install = install_argv(manager, names) or []
        if manager == "pacman" and missing:
            # a refresh alone (-Sy) followed by -S would be a partial upgrade: upgrade with it
            install = ["pacman", "-Syu", "--needed", "--noconfirm", *names]
            why = _(
                "{why}; {missing}, so pacman refreshes and upgrades the system in the same step"
            ).format(why=why, missing=missing)
        elif missing:
            refresh = {
                "dnf": ["dnf", "makecache"],
                "zypper": ["zypper", "--non-interactive", "refresh"],
            }[manager]
            steps.append(self._refresh(refresh, checks, missing))
        steps.append(Step(self.id, checks, why, argv=tuple(install), root=True, network=True))
        return steps

    def _apt(
        self,
        names: Sequence[str],
        missing: str,
        checks: tuple[str, ...],
        why: str,
        system: System,
        *,
        prepared: bool = False,
    ) -> list[Step]:
        """apt's steps: finishing dpkg's interrupted work and refreshing the lists first,
        unless ``prepared`` (an earlier transaction of this plan did)."""
        steps: list[Step] = []
        if not prepared and dpkg_interrupted(system):
            steps.append(
                Step(
                    self.id,
                    checks,
                    _(
                        "a previous installation was interrupted (dpkg left pending records in "
                        "{directory}); dpkg finishes it before anything else is installed"
                    ).format(directory=DPKG_UPDATES),
                    argv=("dpkg", "--configure", "-a"),
                    root=True,
                    env=dict(APT_ENV),
                )
            )
        reasons = [r for r in (missing, apt_lists_stale(system, time.time())) if r]
        if reasons and not prepared:
            steps.append(self._refresh(["apt-get", "update"], checks, "; ".join(reasons)))
        install = install_argv("apt", names, ("-o", f"DPkg::Lock::Timeout={LOCK_TIMEOUT}")) or []
        steps.append(
            Step(
                self.id,
                checks,
                why,
                argv=tuple(install),
                root=True,
                network=True,
                env=dict(APT_ENV),
            )
        )
        return steps

    def _refresh(self, argv: list[str], checks: tuple[str, ...], reason: str) -> Step:
        return Step(
            self.id,
            checks,
            _("refresh the package lists before installing: {reason}").format(reason=reason),
            argv=tuple(argv),
            root=True,
            network=True,
            timeout=REFRESH_TIMEOUT,
            # apt-get update does not honour DPkg::Lock::Timeout: apply waits for the lock
            lock_wait=LOCK_WAIT,
        )
