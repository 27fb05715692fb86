"""A toolchain root: a minimal Debian root (``debootstrap --variant=minbase``) in kdoctor's cache
holding the suite's own toolchain (rustc, rust-src, bindgen, libclang, gcc), in which kdoctor
builds a Rust-enabled kernel and every module for it, without changing the host.

Made in two resumable stages under the root's lock: debootstrap into a ``.partial-*``
directory, moved into place with one rename (an interrupted one starts again); then apt, inside
the root, installs the toolchain (apt resumes itself; an interrupted dpkg is finished first).
The record ``roots/<name>.json``, written last, marks the root complete and keeps the versions
the root holds. debootstrap checks the suite's Release file against Debian's keyring, apt every
package against its hash. Every command runs in its own mount namespace
(:mod:`kdoctor.knowledge.chroot`), so nothing stays mounted when it ends or is killed.
A root that another user could change is never entered
(:func:`kdoctor.machine.trust.distrust_within`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from kdoctor.facts.toolchain_root import root_versions
from kdoctor.i18n import _
from kdoctor.knowledge.chroot import in_root
from kdoctor.knowledge.debian_releases import KEYRING, MIRROR, SECURITY
from kdoctor.knowledge.rust_kernels import TOOLCHAIN_PACKAGES, RootSuite
from kdoctor.machine.system import System
from kdoctor.machine.trust import distrust_within
from kdoctor.model.cache_layout import toolchain_root, toolchain_root_record, toolchain_roots_dir
from kdoctor.model.finding import Remediation
from kdoctor.pipeline.kernels.archive import ArchiveError
from kdoctor.pipeline.kernels.cache import work_dir
from kdoctor.pipeline.kernels.download import announced

Step = Callable[[str], None]

DEBOOTSTRAP_TIMEOUT = 1800.0
APT_TIMEOUT = 3600.0


@dataclass(frozen=True)
class ToolchainRoot:
    name: str
    path: str
    #: package -> installed version (the :data:`RECORDED` ones)
    versions: dict[str, str] = field(default_factory=dict)


def sources_list(suite: RootSuite) -> str:
    """The root's apt sources: its suite with updates and security, and the extra suites."""
    sign = f"[signed-by={KEYRING}]"
    lines = [
        f"deb {sign} {MIRROR} {suite.suite} main",
        f"deb {sign} {MIRROR} {suite.suite}-updates main",
        f"deb {sign} {SECURITY} {suite.suite}-security main",
    ]
    lines += [f"deb {sign} {MIRROR} {extra} main" for extra in suite.extra]
    return "\n".join(lines) + "\n"


def versions_in(system: System, root: str) -> dict[str, str]:
    """The :data:`RECORDED` packages' versions the root's dpkg database holds (read, not run)."""
    return root_versions(system, root)


def recorded(system: System, cache_dir: str, name: str) -> Optional[ToolchainRoot]:
    """The complete root ``name`` (its record is there), else None."""
    text = system.read_text(toolchain_root_record(cache_dir, name))
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return None
    versions = data.get("versions")
    return ToolchainRoot(
        name,
        toolchain_root(cache_dir, name),
        {str(k): str(v) for k, v in versions.items()} if isinstance(versions, dict) else {},
    )


def ensure(
    system: System, cache_dir: str, suite: RootSuite, on_step: Optional[Step] = None
) -> ToolchainRoot:
    """The toolchain root of ``suite``, made (or finished) when it is not complete."""
    step = on_step or (lambda _t: None)
    path = toolchain_root(cache_dir, suite.name)
    with system.lock(path, on_wait=step):
        problem = distrust_within(system, cache_dir, path)
        if problem is not None:
            raise ArchiveError(
                _("kdoctor will not build in a toolchain root others can change: {problem}").format(
                    problem=problem.sentence()
                ),
                Remediation(
                    _("Repair it: {command} (or remove {path}: kdoctor makes it again).").format(
                        command=problem.command, path=path
                    ),
                    (problem.command,),
                ),
            )
        done = recorded(system, cache_dir, suite.name)
        if done is not None and system.is_file(os.path.join(path, "usr/bin/rustc")):
            return done
        if not system.is_file(os.path.join(path, "usr/bin/apt-get")):
            _bootstrap(system, cache_dir, suite, path, step)
        return _install(system, cache_dir, suite, path, step)


def _bootstrap(system: System, cache_dir: str, suite: RootSuite, path: str, step: Step) -> None:
    if not system.which("debootstrap"):
        raise ArchiveError(
            _("debootstrap is not installed; kdoctor makes its toolchain roots with it"),
            Remediation(
                _("Install it: {command}").format(command="apt install debootstrap"),
                ("apt install debootstrap",),
            ),
        )
    work = work_dir(system, toolchain_roots_dir(cache_dir))
    try:
        target = os.path.join(work, "root")
        step(
            _("making a minimal {suite} root with debootstrap (about {minutes} min)").format(
                suite=suite.suite, minutes=2
            )
        )
        argv = [
            "unshare", "--mount", "--fork", "--kill-child", "--",
            "debootstrap", "--variant=minbase", f"--keyring={KEYRING}",
            suite.suite, target, MIRROR,
        ]  # fmt: skip
        got = system.run(argv, timeout=DEBOOTSTRAP_TIMEOUT, on_output=_retrieving(step))
        if not got.ok:
            raise ArchiveError(
                _("debootstrap of {suite} failed: {error}").format(
                    suite=suite.suite, error=got.describe_failure()
                ),
                Remediation(
                    _("Check that deb.debian.org is reachable, then run the command again.")
                ),
            )
        system.remove_tree(path)
        system.rename(target, path)
    finally:
        system.remove_tree(work)


def _retrieving(step: Step) -> Callable[[str], None]:
    """debootstrap's output, told a package at a time (``I: Retrieving <package> <version>``):
    on a terminal and piped alike, one line per file it downloads."""

    def heard(line: str) -> None:
        words = line.split()
        if len(words) == 4 and words[:2] == ["I:", "Retrieving"]:
            step(_("debootstrap: retrieving {package}").format(package=words[2]))

    return heard


def _downloading(step: Step) -> Callable[[str], None]:
    """apt-get's output in the root, told a package at a time as apt starts downloading it."""

    def heard(line: str) -> None:
        found = announced(line)
        if found is not None:
            step(
                _("downloading {package} ({size} MB)").format(
                    package=found[0], size=f"{found[1] / 1e6:.1f}"
                )
            )

    return heard


def _in_root(
    system: System,
    path: str,
    argv: list[str],
    step: Step,
    timeout: float = APT_TIMEOUT,
    *,
    tell: bool = False,
) -> None:
    """``argv`` run in the root; with ``tell``, each package apt downloads is told."""
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    got = system.run(
        in_root(path, argv, env=env, as_root=system.uid() == 0),
        timeout=timeout,
        on_output=_downloading(step) if tell else lambda line: None,
    )
    if not got.ok:
        raise ArchiveError(
            _("{command} in the toolchain root failed: {error}").format(
                command=" ".join(argv[:3]), error=got.describe_failure()
            ),
            Remediation(_("Check that deb.debian.org is reachable, then run the command again.")),
        )


def _install(
    system: System, cache_dir: str, suite: RootSuite, path: str, step: Step
) -> ToolchainRoot:
    system.write_file(os.path.join(path, "etc/apt/sources.list"), sources_list(suite))
    resolv = system.read_text("/etc/resolv.conf")
    if resolv is not None:
        system.write_file(os.path.join(path, "etc/resolv.conf"), resolv)
    _in_root(system, path, ["dpkg", "--configure", "-a"], step)
    step(_("updating the package lists of the {name} root").format(name=suite.name))
    _in_root(system, path, ["apt-get", "-q", "update"], step)
    step(
        _("installing the toolchain into the {name} root (about {mb} MB)").format(
            name=suite.name, mb=480
        )
    )
    install_packages(system, path, suite, list(TOOLCHAIN_PACKAGES), step)
    versions = versions_in(system, path)
    record: dict[str, Any] = {
        "suite": suite.suite,
        "extra": list(suite.extra),
        "versions": versions,
        "made": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    system.write_file(toolchain_root_record(cache_dir, suite.name), json.dumps(record, indent=1))
    return ToolchainRoot(suite.name, path, versions)


def install_packages(
    system: System, path: str, suite: RootSuite, packages: list[str], step: Step
) -> None:
    """``apt-get install`` in the root, from the suite the root prefers when it has them; the
    downloaded packages are removed afterwards (apt checked them; the root keeps what they
    installed)."""
    prefer = ["-t", suite.prefer] if suite.prefer else []
    argv = ["apt-get", "-q", "-y", "--no-install-recommends", *prefer, "install", *packages]
    _in_root(system, path, argv, step, tell=True)
    _in_root(system, path, ["apt-get", "clean"], step)
