"""What the module asks of the target kernel: the kernel range its build scripts declare and the
compiler family its build files force (the rules are in :mod:`kdoctor.knowledge.kernel_range`
and :mod:`kdoctor.knowledge.compiler_family`; this module reads the files)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from kdoctor.facts.module import BUILD_FILES
from kdoctor.knowledge.compiler_family import Override, read_overrides
from kdoctor.knowledge.kernel_range import Guard, KernelRange, Unreadable, read_guards
from kdoctor.knowledge.kernel_release import kdir_release, release_key
from kdoctor.machine.system import System
from kdoctor.model import toml_text

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover - Python < 3.11
    pass

if TYPE_CHECKING:
    from kdoctor.facts import Facts

#: how deep path dependencies are followed (the module, its crate, that crate's crate)
MAX_DEPTH = 3
#: how long asking the package manager for the headers it knows may take
ARCHIVE_TIMEOUT = 20.0


@dataclass(frozen=True)
class RangeReading:
    """The build scripts read, the guards found in them (by script), what could not be read,
    and the kernels all guards accept together (None: no guard)."""

    scripts: tuple[str, ...] = ()
    guards: tuple[tuple[str, Guard], ...] = ()
    unreadable: tuple[tuple[str, Unreadable], ...] = ()
    accepted: Optional[KernelRange] = None

    def to_json(self) -> dict[str, Any]:
        return {
            "scripts": list(self.scripts),
            "guards": [
                {"file": f, "line": g.line, "text": g.text, "accepts": g.accepted.describe()}
                for f, g in self.guards
            ],
            "unreadable": [{"file": f, "line": u.line, "text": u.text} for f, u in self.unreadable],
            "range": self.accepted.to_json() if self.accepted else None,
        }


@dataclass(frozen=True)
class Crate:
    directory: str
    build_script: Optional[str]
    path_dependencies: tuple[str, ...] = field(default_factory=tuple)


def read_crate(system: System, directory: str) -> Optional[Crate]:
    """The crate in ``directory``: its build script and the directories of its path
    dependencies (None: no readable ``Cargo.toml``)."""
    text = system.read_text(os.path.join(directory, "Cargo.toml"))
    if text is None:
        return None
    try:
        data = toml_text.loads(text)
    except toml_text.TOMLDecodeError:
        data = {}
    package = data.get("package") if isinstance(data.get("package"), dict) else {}
    build = package.get("build", "build.rs") if isinstance(package, dict) else "build.rs"
    script = os.path.join(directory, build) if isinstance(build, str) else None
    if script is not None and not system.is_file(script):
        script = None
    tables: list[Any] = [data.get("dependencies"), data.get("build-dependencies")]
    targets = data.get("target")
    if isinstance(targets, dict):
        for spec in targets.values():
            if isinstance(spec, dict):
                tables += [spec.get("dependencies"), spec.get("build-dependencies")]
    paths: list[str] = []
    for table in tables:
        if not isinstance(table, dict):
            continue
        for dependency in table.values():
            if isinstance(dependency, dict) and isinstance(dependency.get("path"), str):
                paths.append(os.path.normpath(os.path.join(directory, dependency["path"])))
    return Crate(directory, script, tuple(dict.fromkeys(paths)))


def build_scripts(system: System, module_dir: str) -> list[str]:
    """The build scripts of the module's crate and of its path dependencies, depth first."""
    scripts: list[str] = []
    seen: set[str] = set()

    def visit(directory: str, depth: int) -> None:
        if directory in seen or depth > MAX_DEPTH:
            return
        seen.add(directory)
        crate = read_crate(system, directory)
        if crate is None:
            if depth == 0 and system.is_file(os.path.join(directory, "build.rs")):
                scripts.append(os.path.join(directory, "build.rs"))
            return
        if crate.build_script:
            scripts.append(crate.build_script)
        for dependency in crate.path_dependencies:
            visit(dependency, depth + 1)

    visit(os.path.normpath(module_dir), 0)
    return scripts


def read_range(system: System, module_dir: str) -> RangeReading:
    scripts = build_scripts(system, module_dir)
    guards: list[tuple[str, Guard]] = []
    unreadable: list[tuple[str, Unreadable]] = []
    for script in scripts:
        found, unread = read_guards(system.read_text(script) or "")
        guards += [(script, g) for g in found]
        unreadable += [(script, u) for u in unread]
    accepted: Optional[KernelRange] = None
    for _, guard in guards:
        accepted = guard.accepted if accepted is None else accepted.intersect(guard.accepted)
    return RangeReading(tuple(scripts), tuple(guards), tuple(unreadable), accepted)


def declared_range(facts: Facts) -> RangeReading:
    """The kernel range the module's build scripts (and its path dependencies') declare."""
    return read_range(facts.system, facts.ctx.module_dir)


def version_of(release: str) -> Optional[tuple[int, int, int]]:
    """``6.1.176`` or ``6.1.0-50-amd64`` as (6, 1, 176) / (6, 1, 0); None when unreadable."""
    numbers = list(release_key(release))[:3]
    if len(numbers) < 2:
        return None
    numbers += [0] * (3 - len(numbers))
    return (numbers[0], numbers[1], numbers[2])


def target_version(facts: Facts) -> tuple[Optional[tuple[int, int, int]], str]:
    """The target kernel's version (from its build directory, else its release) and the text
    it was read from."""
    found = kdir_release(facts.system, facts.ctx.kdir)
    if found and version_of(found):
        return version_of(found), found
    return version_of(facts.ctx.target_kernel), facts.ctx.target_kernel


def archive_header_releases(facts: Facts) -> Optional[list[str]]:
    """The releases whose headers the package manager offers (apt only; None: not asked)."""
    if facts.ctx.package_manager != "apt":
        return None
    probe = facts.system.probe(["apt-cache", "pkgnames", "linux-headers-"], timeout=ARCHIVE_TIMEOUT)
    if not probe.ok:
        return None
    releases = {
        name[len("linux-headers-") :]
        for name in probe.stdout.split()
        if name.startswith("linux-headers-") and name[len("linux-headers-") :][:1].isdigit()
    }
    return sorted(releases, key=lambda r: (release_key(r), r), reverse=True)


# -- compiler family ------------------------------------------------------------------------
def read_compiler_overrides(system: System, module_dir: str) -> list[Override]:
    """Every compiler or linker override in the module's build files."""
    names = [n for n in BUILD_FILES if system.is_file(os.path.join(module_dir, n))]
    kbuild_reads = "Kbuild" if "Kbuild" in names else (names[0] if names else None)
    found: list[Override] = []
    for name in names:
        text = system.read_text(os.path.join(module_dir, name)) or ""
        found += read_overrides(name, text, read_by_kbuild=name == kbuild_reads)
    return found


def compiler_overrides(facts: Facts) -> list[Override]:
    return read_compiler_overrides(facts.system, facts.ctx.module_dir)
