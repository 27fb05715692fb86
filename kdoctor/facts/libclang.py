"""The libclang bindgen loads to parse kernel headers, found the way bindgen finds it.

bindgen (through clang-sys) looks only at ``LIBCLANG_PATH`` when it is set (a directory, or the
file itself). Otherwise it gathers every libclang in ``llvm-config --libdir``, the loader's
directories and the usual LLVM directories, and loads the newest one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Optional

from packaging.version import Version

from kdoctor.facts.tools import versioned_on_path
from kdoctor.knowledge import versions
from kdoctor.machine.system import System
from kdoctor.model.context import Context

if TYPE_CHECKING:
    from kdoctor.facts import Facts

#: the file names bindgen accepts: libclang.so, libclang-*.so, libclang.so.*, libclang-*.so.*
LIBCLANG_NAME = re.compile(r"^libclang(?:-[\d.]+)?\.so(?:\.[\d.]+)?$")
#: one line of ``ldconfig -p``: "libclang-14.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/..."
_LDCONFIG_LINE = re.compile(r"^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)\s*$")
#: how ``ldconfig -p`` marks libraries of the machine's own architecture
_LDCONFIG_ARCH = {"x86_64": "x86-64", "aarch64": "AArch64"}


@dataclass(frozen=True)
class Libclang:
    path: str
    version: Optional[Version]
    #: where it was found: LIBCLANG_PATH, llvm-config, ldconfig or search
    source: str

    @property
    def directory(self) -> str:
        return self.path.rsplit("/", 1)[0] or "/"

    @property
    def major(self) -> Optional[int]:
        return versions.major(self.version)


@dataclass(frozen=True)
class Search:
    """Every libclang bindgen could see, and the one it would load."""

    chosen: Optional[Libclang]
    candidates: tuple[Libclang, ...]
    #: LIBCLANG_PATH, when set (bindgen then looks nowhere else)
    env_path: Optional[str] = None


def _in_directory(
    system: System, directory: str, source: str, fallback: Optional[Version] = None
) -> list[Libclang]:
    directory = directory.rstrip("/") or "/"
    return [
        Libclang(
            f"{directory}/{name}",
            versions.libclang_version(f"{directory}/{name}") or fallback,
            source,
        )
        for name in system.listdir(directory)
        if LIBCLANG_NAME.match(name)
    ]


def _llvm_config(system: System) -> Optional[str]:
    plain = system.which("llvm-config")
    if plain:
        return plain
    numbered = versioned_on_path(system, "llvm-config")
    return numbered[0][1] if numbered else None


def _from_llvm_config(system: System) -> list[Libclang]:
    path = _llvm_config(system)
    if path is None:
        return []
    libdir = system.probe([path, "--libdir"])
    if not libdir.ok or not libdir.stdout.strip():
        return []
    told = system.probe([path, "--version"])
    fallback = versions.parse(told.stdout) if told.ok else None
    return _in_directory(system, libdir.stdout.strip().splitlines()[0], "llvm-config", fallback)


def _ldconfig(system: System) -> Optional[str]:
    return system.which("ldconfig") or next(
        (p for p in ("/usr/sbin/ldconfig", "/sbin/ldconfig") if system.exists(p)), None
    )


def parse_ldconfig(text: str, arch: str) -> list[str]:
    """The paths of libclang libraries for ``arch`` in ``ldconfig -p`` output."""
    marker = _LDCONFIG_ARCH.get(arch)
    paths: list[str] = []
    for line in text.splitlines():
        match = _LDCONFIG_LINE.match(line)
        if not match or not LIBCLANG_NAME.match(match.group(1)):
            continue
        if marker and marker not in match.group(2):
            continue
        paths.append(match.group(3))
    return paths


def _from_ldconfig(ctx: Context, system: System) -> list[Libclang]:
    path = _ldconfig(system)
    if path is None:
        return []
    probe = system.probe([path, "-p"])
    if not probe.ok:
        return []
    return [
        Libclang(p, versions.libclang_version(p), "ldconfig")
        for p in parse_ldconfig(probe.stdout, ctx.arch)
    ]


def search_directories(ctx: Context, system: System) -> list[str]:
    """The usual homes of libclang: every LLVM's own lib directory, then the system's."""
    found: list[str] = []
    for base in ("/usr/lib", "/usr/lib64", "/usr/local"):
        for name in system.listdir(base):
            if re.match(r"^llvm(?:[-@]?\d+)?$", name):
                found.append(f"{base}/{name}/lib")
    return [*found, "/usr/local/lib", "/usr/lib64", f"/usr/lib/{ctx.arch}-linux-gnu", "/usr/lib"]


def _best(candidates: list[Libclang]) -> Optional[Libclang]:
    """The newest major; the first found among equals (an unknown version ranks last)."""
    best: Optional[Libclang] = None
    for candidate in candidates:
        if best is None or (candidate.major or -1) > (best.major or -1):
            best = candidate
    return best


def find_libclang(ctx: Context, system: System) -> Search:
    """The libclang bindgen would load here, and every other one it could have."""
    env_path = ctx.env.get("LIBCLANG_PATH")
    if env_path:
        return Search(_best(_at_env_path(system, env_path)), (), env_path)
    candidates = [
        *_from_llvm_config(system),
        *_from_ldconfig(ctx, system),
    ]
    for directory in search_directories(ctx, system):
        candidates.extend(_in_directory(system, directory, "search"))
    return Search(_best(candidates), tuple(candidates))


def find_ignoring_env(ctx: Context, system: System) -> Optional[Libclang]:
    """The libclang bindgen would load if LIBCLANG_PATH were unset."""
    unset = {k: v for k, v in ctx.env.items() if k != "LIBCLANG_PATH"}
    return find_libclang(replace(ctx, env=unset), system).chosen


def _at_env_path(system: System, value: str) -> list[Libclang]:
    directory, _, name = value.rstrip("/").rpartition("/")
    if LIBCLANG_NAME.match(name) and name in system.listdir(directory or "/"):
        return [Libclang(value, versions.libclang_version(value), "LIBCLANG_PATH")]
    return _in_directory(system, value, "LIBCLANG_PATH")


def libclang_search(facts: Facts) -> Search:
    """Every libclang bindgen could load here, and the one it would."""
    return find_libclang(facts.ctx, facts.system)


def libclang_ignoring_env(facts: Facts) -> Optional[Libclang]:
    """The libclang bindgen would load if LIBCLANG_PATH were unset."""
    return find_ignoring_env(facts.ctx, facts.system)
