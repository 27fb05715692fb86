"""packages: everything the checks found missing from the distribution, installed in ONE
transaction of its package manager.

The package lists are refreshed only when they are stale or a package is unknown to them, and
an installation dpkg left halfway is finished first. A lock held by another package manager is
waited for (bounded, visibly) by apt itself at apply time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from kdoctor.fixes.base import Fix, register
from kdoctor.knowledge.packages import INSTALL, PACKAGES, known_packages, package_name
from kdoctor.machine.system import System
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding
from kdoctor.model.plan import Step
from kdoctor.model.report import Report

APT_LISTS = "/var/lib/apt/lists"
DPKG_UPDATES = "/var/lib/dpkg/updates"
#: package lists older than this are refreshed before installing
STALE_AFTER_DAYS = 7
#: how long apt waits for a lock another package manager holds (it says so while waiting)
LOCK_TIMEOUT = 120
LOCK_WAIT = 120.0
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}
REFRESH_TIMEOUT = 600.0


def finding_packages(manager: Optional[str], facts: Mapping[str, Any]) -> list[str]:
    """The packages a finding asks for on ``manager``: its ``missing`` and ``logical`` logical
    names (filled in with ``package_values``), its ``package``, else its concrete ``packages``."""
    values = facts.get("package_values")
    values = values if isinstance(values, Mapping) else {}
    names: list[str] = []
    for logical in _logical(facts):
        name = _map(manager, logical, values)
        if name:
            names.append(name)
    package = facts.get("package")
    if isinstance(package, str) and package:
        names.append(package)
    if not names:
        concrete = facts.get("packages")
        if isinstance(concrete, (list, tuple)):
            names += [p for p in concrete if isinstance(p, str) and p]
    return list(dict.fromkeys(names))


def _logical(facts: Mapping[str, Any]) -> list[str]:
    """Logical package names among ``missing`` and ``logical`` (``missing`` may also list
    files, as kernel-headers' does: only names kdoctor maps to packages count)."""
    found: list[str] = []
    for key in ("missing", "logical"):
        entries = facts.get(key)
        if isinstance(entries, (list, tuple)):
            found += [e for e in entries if isinstance(e, str) and e in PACKAGES]
    return found


def _map(manager: Optional[str], logical: str, values: Mapping[str, Any]) -> Optional[str]:
    try:
        return package_name(manager, logical, **values)
    except (KeyError, IndexError, ValueError):  # a template value the finding did not give
        return None


def optional_unknown(
    per_finding: Sequence[tuple[Finding, Sequence[str]]], known: Mapping[str, Optional[bool]]
) -> list[str]:
    """Packages the package manager does not know that only optional (not required) findings
    ask for: an unknown name fails the whole transaction, and nothing needs these to build."""
    required = {p for f, pkgs in per_finding if f.required for p in pkgs}
    optional = [p for f, pkgs in per_finding if not f.required for p in pkgs]
    return sorted({p for p in optional if p not in required and known.get(p) is False})


def by_hand(facts: Mapping[str, Any]) -> list[str]:
    """What to install, in words, when kdoctor knows no package manager here."""
    values = facts.get("package_values")
    values = values if isinstance(values, Mapping) else {}
    names = [
        f"{logical[:-2]}-{values['n']}" if logical.endswith("-n") and "n" in values else logical
        for logical in _logical(facts)
    ]
    package = facts.get("package")
    if isinstance(package, str) and package:
        names.append(package)
    return names


def dpkg_interrupted(system: System) -> bool:
    """dpkg left pending records (as apt tells: numbered files in /var/lib/dpkg/updates)."""
    return any(name.isdigit() for name in system.listdir(DPKG_UPDATES))


def apt_lists_stale(system: System, now: float) -> Optional[str]:
    """Why apt's package lists need a refresh (none yet, or older than a week), else None.

    apt dates each list by the mirror's Last-Modified, so the newest list (the ones that change
    daily, such as the security suite's) tells when apt last refreshed."""
    names = system.listdir(APT_LISTS)
    if not any("_Packages" in name for name in names):
        return f"there are no package lists yet ({APT_LISTS} has no Packages files)"
    stamps = [
        system.mtime(f"{APT_LISTS}/{name}")
        for name in names
        if "_Packages" in name or name.endswith("Release")
    ]
    newest = max((s for s in stamps if s is not None), default=None)
    if newest is None:
        return f"the age of the package lists in {APT_LISTS} is unknown"
    days = (now - newest) / 86400
    if days > STALE_AFTER_DAYS:
        return f"the package lists are {int(days)} days old (refreshed after {STALE_AFTER_DAYS})"
    return None


@dataclass(frozen=True)
class Decision:
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@register
class PackagesFix(Fix):
    id = "packages"
    title = "install what is missing from the distribution, in one transaction"
    order = 10

    def plan(self, ctx: Context, report: Report, system: System) -> list[Step]:
        return self.decide(ctx, report, system).steps

    def notes(self, ctx: Context, report: Report, system: System) -> list[str]:
        return self.decide(ctx, report, system).notes

    def decide(self, ctx: Context, report: Report, system: System) -> Decision:
        findings = self.mine(report)
        manager = ctx.package_manager
        asked: set[str] = set()
        per_finding: list[tuple[Finding, list[str]]] = []
        notes: list[str] = []
        for finding in findings:
            names = finding_packages(manager, finding.facts)
            per_finding.append((finding, names))
            asked.update(names)
            if not names and manager in INSTALL:
                notes.append(
                    f"{finding.id}: kdoctor cannot tell which package fixes this "
                    f"({finding.summary}); see its remediation."
                )
        if manager not in INSTALL:
            wanted = [n for f in findings for n in by_hand(f.facts)]
            if wanted:
                notes.append(
                    f"kdoctor knows no package manager for {ctx.distro.name}; install these "
                    f"by hand: {', '.join(dict.fromkeys(wanted))}."
                )
            return Decision([], notes)
        if not asked:
            return Decision([], notes)
        names = sorted(asked)
        known = known_packages(system, manager, names)
        left_out = optional_unknown(per_finding, known)
        if left_out:
            askers = sorted({f.id for f, pkgs in per_finding if set(pkgs) & set(left_out)})
            per_finding = [(f, [p for p in pkgs if p not in left_out]) for f, pkgs in per_finding]
            names = [n for n in names if n not in left_out]
            notes.append(
                f"{', '.join(left_out)} left out of the transaction: {manager} does not know "
                f"{'it' if len(left_out) == 1 else 'them'}, and only optional checks "
                f"({', '.join(askers)}) ask for {'it' if len(left_out) == 1 else 'them'} "
                "(some releases do not package it, e.g. Debian 11 has no rustfmt); the module "
                "builds without. Rerun kdoctor fix once the repository has it."
            )
            if not names:
                return Decision([], notes)
        unknown = [n for n in names if known.get(n) is False]
        checks = tuple(dict.fromkeys(f.id for f, pkgs in per_finding if pkgs))
        why = "install what the checks found missing: " + "; ".join(
            f"{f.id} needs {', '.join(pkgs)}" for f, pkgs in per_finding if pkgs
        )
        steps = self._steps(manager, names, unknown, checks, why, system)
        if unknown:
            notes.append(
                f"{manager} does not know {', '.join(unknown)} yet: the plan refreshes its "
                "package lists first; if they are still unknown, the install step says so "
                "(the repository that has them may need enabling)."
            )
        versioned = [n for f, pkgs in per_finding if f.id == "clang" for n in pkgs if n != "clang"]
        if versioned:
            notes.append(
                f"{', '.join(versioned)} installs next to the default clang; run kdoctor fix "
                "again afterwards so the build uses it (CC and CLANG)."
            )
        return Decision(steps, notes)

    def _steps(
        self,
        manager: str,
        names: Sequence[str],
        unknown: Sequence[str],
        checks: tuple[str, ...],
        why: str,
        system: System,
    ) -> list[Step]:
        missing = f"{manager} does not know {', '.join(unknown)} yet" if unknown else ""
        if manager == "apt":
            return self._apt(names, missing, checks, why, system)
        steps: list[Step] = []
        install = [*INSTALL[manager], *names]
        if manager == "pacman" and unknown:
            # a refresh alone (-Sy) followed by -S would be a partial upgrade: upgrade with it
            install = ["pacman", "-Syu", "--needed", "--noconfirm", *names]
            why += f"; {missing}, so pacman refreshes and upgrades the system in the same step"
        elif unknown:
            refresh = {
                "dnf": ["dnf", "makecache"],
                "zypper": ["zypper", "--non-interactive", "refresh"],
            }[manager]
            steps.append(self._refresh(refresh, checks, missing))
        steps.append(Step(self.id, checks, why, argv=tuple(install), root=True, network=True))
        return steps

    def _apt(
        self, names: Sequence[str], missing: str, checks: tuple[str, ...], why: str, system: System
    ) -> list[Step]:
        steps: list[Step] = []
        if dpkg_interrupted(system):
            steps.append(
                Step(
                    self.id,
                    checks,
                    "a previous installation was interrupted (dpkg left pending records in "
                    f"{DPKG_UPDATES}); dpkg finishes it before anything else is installed",
                    argv=("dpkg", "--configure", "-a"),
                    root=True,
                    env=dict(APT_ENV),
                )
            )
        reasons = [r for r in (missing, apt_lists_stale(system, time.time())) if r]
        if reasons:
            steps.append(self._refresh(["apt-get", "update"], checks, "; ".join(reasons)))
        install = (*INSTALL["apt"], "-o", f"DPkg::Lock::Timeout={LOCK_TIMEOUT}", *names)
        steps.append(
            Step(
                self.id,
                checks,
                why,
                argv=install,
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
            f"refresh the package lists before installing: {reason}",
            argv=tuple(argv),
            root=True,
            network=True,
            timeout=REFRESH_TIMEOUT,
            # apt-get update does not honour DPkg::Lock::Timeout: apply waits for the lock
            lock_wait=LOCK_WAIT,
        )
