"""The crates a cargo-driven module depends on, and whether cargo resolves them offline.

Resolution runs ``cargo metadata --offline`` in a scratch copy of the module inside kdoctor's
cache (cargo writes a ``Cargo.lock``; the module's directory is never changed), with the cargo
the build runs and the ``CARGO_HOME`` the build uses. When that fails it tries once more with
the distribution's packaged crates as the source (``cargo --config``: nothing written), asks the
package manager which ``librust-*-dev`` packages serve the module's direct dependencies, and,
unless cargo is told to stay offline, asks crates.io's index once, with a short timeout,
whether it is reachable (the only network contact a check makes).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Optional

from kdoctor.facts.cache_trust import own_cargo_home_distrust
from kdoctor.facts.cargo import CARGO_TIMEOUT, chosen_cargo
from kdoctor.facts.module import module_info
from kdoctor.facts.rust import rust_toolchain
from kdoctor.i18n import _
from kdoctor.knowledge.cargo import (
    CRATES_INDEX,
    DEBIAN_REGISTRY,
    debian_crate_packages,
    first_error,
    requirement_matches,
    source_config_args,
    unresolved_crate,
    upstream_version,
)
from kdoctor.knowledge.packages import apt_candidates
from kdoctor.machine.system import System
from kdoctor.model import toml_text
from kdoctor.model.cache_layout import cargo_home, scratch_dir
from kdoctor.model.module import BuildDriver

if TYPE_CHECKING:
    from kdoctor.facts import Facts

SKIPPED = ("target", ".git")
MAX_FILES = 2000
REACH_TIMEOUT = 6.0
_PATH_VALUE = re.compile(r'(\bpath\s*=\s*")([^"]+)(")')


@dataclass(frozen=True)
class Dependency:
    name: str
    requirement: str
    #: normal, build or dev
    kind: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "requirement": self.requirement, "kind": self.kind}


@dataclass(frozen=True)
class Resolution:
    ok: bool
    #: how many packages the lock file names, when it resolved
    crates: int = 0
    error: Optional[str] = None
    #: (crate, requirement, versions found) cargo could not resolve
    unresolved: Optional[tuple[str, Optional[str], Optional[str]]] = None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "crates": self.crates, "error": self.error}


@dataclass(frozen=True)
class Offer:
    """A distribution package for one direct dependency."""

    dependency: Dependency
    package: Optional[str]
    version: Optional[str]

    @property
    def fits(self) -> bool:
        found = upstream_version(self.version) if self.version else None
        return found is not None and requirement_matches(self.dependency.requirement, found)

    def to_json(self) -> dict[str, Any]:
        return {
            "crate": self.dependency.name,
            "wanted": self.dependency.requirement,
            "package": self.package,
            "version": self.version,
            "fits": self.fits,
        }


@dataclass(frozen=True)
class CrateState:
    manifest: str
    dependencies: tuple[Dependency, ...]
    #: as the build resolves (offline, its CARGO_HOME)
    build: Resolution
    #: with the packaged crates as the source, when the build's resolution failed
    packaged: Optional[Resolution] = None
    offers: tuple[Offer, ...] = ()
    #: whether crates.io answered (None: not asked), and what says so
    reachable: Optional[bool] = None
    reach: str = ""
    cargo_home: Optional[str] = None
    #: for ``-Z build-std``: the standard library's sources, how its crates resolve as the
    #: build would, and from its own vendored crates
    library: Optional[str] = None
    std: Optional[Resolution] = None
    std_vendored: Optional[Resolution] = None

    @property
    def ok(self) -> bool:
        return self.build.ok and (self.std is None or self.std.ok)

    @property
    def vendor(self) -> Optional[str]:
        return os.path.join(self.library, "vendor") if self.library else None


def read_dependencies(text: str) -> tuple[Dependency, ...]:
    """The registry dependencies a Cargo.toml declares (path and git ones need no registry)."""
    try:
        data = toml_text.loads(text)
    except toml_text.TOMLDecodeError:
        return ()
    tables: list[tuple[str, Any]] = []
    for key, kind in (("dependencies", "normal"), ("build-dependencies", "build")):
        tables.append((kind, data.get(key, {})))
    tables.append(("dev", data.get("dev-dependencies", {})))
    for spec in data.get("target", {}).values():
        if isinstance(spec, dict):
            tables += [("normal", spec.get("dependencies", {}))]
            tables += [("build", spec.get("build-dependencies", {}))]
    found: list[Dependency] = []
    for kind, table in tables:
        for name, spec in (table or {}).items():
            if isinstance(spec, str):
                found.append(Dependency(name, spec, kind))
            elif isinstance(spec, dict) and not ({"path", "git"} & set(spec)):
                found.append(
                    Dependency(str(spec.get("package", name)), spec.get("version", "*"), kind)
                )
    return tuple(found)


def scratch_copy(system: System, source: str, parent: str) -> str:
    """The module's files (no ``target``, no ``.git``) copied to a new directory under
    ``parent``, relative ``path =`` values pointing outside it made absolute."""
    scratch = system.make_temp_dir("crates-", parent)
    count = 0
    pending = [""]
    while pending:
        rel = pending.pop()
        for name in system.listdir(os.path.join(source, rel)):
            if name in SKIPPED:
                continue
            here = os.path.join(rel, name)
            full = os.path.join(source, here)
            if system.is_dir(full):
                pending.append(here)
                continue
            data = system.read_bytes(full)
            count += 1
            if data is None or count > MAX_FILES:
                continue
            if name == "Cargo.toml":
                data = _absolute_paths(data.decode("utf-8", "replace"), source, rel).encode()
            system.write_file(os.path.join(scratch, here), data)
    return scratch


def _absolute_paths(text: str, source: str, rel: str) -> str:
    def fix(match: re.Match[str]) -> str:
        value = match.group(2)
        if os.path.isabs(value) or not value.startswith(".."):
            return match.group(0)
        return match.group(1) + os.path.normpath(os.path.join(source, rel, value)) + match.group(3)

    return _PATH_VALUE.sub(fix, text)


def _resolve(
    facts: Facts, scratch: str, extra: list[str], env: dict[str, str], locked: bool = False
) -> Resolution:
    """``cargo metadata --offline`` for the workspace in ``scratch`` (``locked``: its lock file
    must do, nothing is written: the standard library's sources)."""
    cargo = facts.of(chosen_cargo)
    manifest = os.path.join(scratch, "Cargo.toml")
    argv = [cargo.path or "cargo", *extra, "metadata", "--offline", "--format-version", "1"]
    argv += ["--manifest-path", manifest, *(["--locked"] if locked else [])]
    probe = facts.system.probe(argv, timeout=CARGO_TIMEOUT * 3, cwd=scratch, env=env)
    if probe.ok:
        lock = facts.system.read_text(os.path.join(scratch, "Cargo.lock")) or ""
        return Resolution(True, crates=lock.count("[[package]]"))
    text = probe.stderr or probe.output or probe.describe_failure()
    return Resolution(False, error=first_error(text, 300), unresolved=unresolved_crate(text))


def _offers(facts: Facts, dependencies: tuple[Dependency, ...]) -> tuple[Offer, ...]:
    if facts.ctx.package_manager != "apt" or not dependencies:
        return ()
    names = {d: debian_crate_packages(d.name, d.requirement) for d in dependencies}
    wanted = list(dict.fromkeys(n for group in names.values() for n in group))
    probe = facts.system.probe(["apt-cache", "policy", *wanted], timeout=15.0)
    candidates = apt_candidates(probe.stdout) if probe.ok else {}
    offers = []
    for dep, group in names.items():
        real = [(n, candidates.get(n, "(none)")) for n in group]
        chosen = next(((n, v) for n, v in real if v != "(none)"), (None, None))
        offers.append(Offer(dep, chosen[0], chosen[1]))
    return tuple(offers)


def _reachable(facts: Facts, env: dict[str, str]) -> tuple[Optional[bool], str]:
    if env.get("CARGO_NET_OFFLINE", "").lower() in ("1", "true"):
        return False, _("CARGO_NET_OFFLINE tells cargo to stay offline")
    if facts.system.which("curl") is None:
        return None, _("not asked (no curl to reach {url})").format(url=CRATES_INDEX)
    argv = ["curl", "-sS", "-o", "/dev/null", "-I", "-m", str(int(REACH_TIMEOUT)), CRATES_INDEX]
    probe = facts.system.probe(argv, timeout=REACH_TIMEOUT + 2)
    if probe.ok:
        return True, _("{url} answered").format(url=CRATES_INDEX)
    said = first_error(probe.output) or probe.describe_failure()
    return False, _("{url} did not answer ({error})").format(url=CRATES_INDEX, error=said)


def crates_io(facts: Facts) -> tuple[Optional[bool], str]:
    """Whether crates.io answers cargo here (None: not asked), and what says so."""
    return _reachable(facts, dict(facts.of(chosen_cargo).env))


def crate_state(facts: Facts) -> Optional[CrateState]:
    """The module's crates and how they resolve; None without a Cargo.toml or a usable cargo."""
    module = facts.of(module_info)
    cargo = facts.of(chosen_cargo)
    system = facts.system
    if module.cargo_toml is None or not cargo.usable:
        return None
    if facts.of(own_cargo_home_distrust) is not None:  # cargo never runs with it (see crates)
        return None
    text = system.read_text(module.cargo_toml) or ""
    dependencies = read_dependencies(text)
    env = dict(cargo.env)
    home = facts.ctx.env.get("CARGO_HOME")
    if home:
        env["CARGO_HOME"] = home
    std_build = module.driver is BuildDriver.CARGO_BUILD_STD
    library, std, vendored = _std(facts, env) if std_build else (None, None, None)
    scratch = scratch_copy(system, module.directory, scratch_dir(facts.ctx.cache_dir))
    try:
        build = _resolve(facts, scratch, [], env)
        packaged = None
        wanted = not build.ok or (std is not None and not std.ok and dependencies)
        if wanted and system.is_dir(DEBIAN_REGISTRY):
            packaged = _resolve(facts, scratch, source_config_args(), env)
    finally:
        system.remove_tree(scratch)
    state = CrateState(
        module.cargo_toml,
        dependencies,
        build,
        cargo_home=home,
        library=library,
        std=std,
        std_vendored=vendored,
    )
    if state.ok:
        return state
    ours = home == cargo_home(facts.ctx.cache_dir)
    reachable, reach = (None, "") if ours else _reachable(facts, env)
    return replace(
        state,
        packaged=packaged,
        offers=_offers(facts, dependencies),
        reachable=reachable,
        reach=reach,
    )


def _std(
    facts: Facts, env: dict[str, str]
) -> tuple[Optional[str], Optional[Resolution], Optional[Resolution]]:
    """``-Z build-std`` builds the standard library's crates too, resolved (without its tests'
    dev-dependencies) from crates.io unless crates.io is replaced: they resolve offline when
    kdoctor's crate source holds the sources' own ``vendor/`` crates (Debian's rust-src ships
    them; rustup's does not), and could from that ``vendor/``."""
    library = facts.of(rust_toolchain).library_src
    if not library:
        return None, None, None
    system = facts.system
    vendor = os.path.join(library, "vendor")
    crates = system.listdir(vendor)
    home = env.get("CARGO_HOME")
    union = os.path.join(home, "crates") if home else None
    ours = home == cargo_home(facts.ctx.cache_dir)
    held = set(system.listdir(union)) if union and ours else set()
    missing = [c for c in crates if c not in held]
    if crates and not missing:
        std = Resolution(True, crates=len(crates))
    else:
        std = Resolution(
            False,
            error=_(
                "cargo fetches them from crates.io (build-std ignores the sources' vendor/ "
                "unless crates.io is replaced)"
            ),
            unresolved=(missing[0].rsplit("-", 1)[0], None, None) if missing else None,
        )
    vendored = (
        Resolution(True, crates=len(crates))
        if crates
        else Resolution(
            False,
            error=_("{library} has no vendor/ directory (rustup's rust-src)").format(
                library=library
            ),
        )
    )
    return library, std, vendored
