"""libclang: the library bindgen loads to parse kernel headers, found the way bindgen finds it.

bindgen (through clang-sys) looks only at ``LIBCLANG_PATH`` when it is set (a directory, or the
file itself). Otherwise it gathers every libclang in ``llvm-config --libdir``, the loader's
directories and the usual LLVM directories, and loads the newest one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Optional

from packaging.version import Version

from kdoctor.checks.base import Check, register
from kdoctor.facts.tools import versioned_on_path
from kdoctor.knowledge import versions
from kdoctor.knowledge.packages import package_needs
from kdoctor.machine.system import System
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import Setting

from .clang import chosen_clang

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


def clang_major(ctx: Context, system: System) -> Optional[int]:
    """The major version of the clang the build uses (the same probe the clang check runs)."""
    command, _ = chosen_clang(ctx, system)
    path = system.which(command)
    if path is None:
        return None
    probe = system.probe([path, "--version"])
    return versions.major(versions.clang_version(probe.output)) if probe.ok else None


@register
class LibclangCheck(Check):
    id = "libclang"
    title = "libclang for bindgen, the same major version as clang"
    order = 25

    def run(self, ctx: Context, system: System) -> Finding:
        search = find_libclang(ctx, system)
        clang = clang_major(ctx, system)
        chosen = search.chosen
        if chosen is None:
            return self._missing(ctx, system, search, clang)
        facts: dict[str, Any] = {
            "path": chosen.path,
            "dir": chosen.directory,
            "version": str(chosen.version) if chosen.version else None,
            "clang_major": clang,
            "source": chosen.source,
            "candidate": None,
            "missing": [],
        }
        found = f"{chosen.version or '?'} ({chosen.path})"
        if chosen.major is None:
            return self.ok(
                f"libclang found via {chosen.source}, its version is not in its name",
                found=found,
                **facts,
            )
        if clang is None or chosen.major == clang:
            paired = f", same major as clang {clang}" if clang is not None else ""
            return self.ok(
                f"libclang {chosen.version} (via {chosen.source}){paired}", found=found, **facts
            )
        summary = (
            f"bindgen would load libclang {chosen.major} but clang is {clang}: headers are "
            "parsed by a different clang than the one that compiles them"
        )
        match = next((c for c in search.candidates if c.major == clang), None)
        if match is not None:
            return self.finding(
                Status.WARN,
                summary,
                found=found,
                fix_text=f"Point bindgen at libclang {clang} with LIBCLANG_PATH.",
                commands=("kdoctor fix   # persists the choice for kdoctor build",),
                needs=(Setting("LIBCLANG_PATH", match.directory),),
                ctx=ctx,
                **{**facts, "candidate": match.directory},
            )
        return self.finding(
            Status.WARN,
            summary,
            found=found,
            fix_text=(
                f"Install libclang {clang}, then point bindgen at it with LIBCLANG_PATH "
                f"(or use clang {chosen.major} for the whole build)."
            ),
            needs=package_needs(ctx.package_manager, ["libclang-n"], n=clang),
            ctx=ctx,
            **{**facts, "missing": ["libclang-n"], "package_values": {"n": clang}},
        )

    def _missing(
        self, ctx: Context, system: System, search: Search, clang: Optional[int]
    ) -> Finding:
        facts: dict[str, Any] = {
            "path": None,
            "dir": None,
            "version": None,
            "clang_major": clang,
            "source": None,
        }
        if search.env_path:
            elsewhere = find_ignoring_env(ctx, system)
            summary = (
                f"LIBCLANG_PATH={search.env_path} holds no libclang (bindgen looks only there)"
            )
            if elsewhere is not None:
                return self.finding(
                    Status.FAIL,
                    summary,
                    fix_text=(
                        f"Point LIBCLANG_PATH at a directory holding libclang, or unset it "
                        f"(bindgen would then load {elsewhere.path})."
                    ),
                    commands=(f"export LIBCLANG_PATH={elsewhere.directory}",),
                    candidate=elsewhere.directory,
                    missing=[],
                    **facts,
                )
            return self.finding(
                Status.FAIL,
                summary,
                fix_text="Install libclang, then unset LIBCLANG_PATH or point it at libclang.",
                commands=("unset LIBCLANG_PATH",),
                needs=package_needs(ctx.package_manager, ["libclang"]),
                ctx=ctx,
                candidate=None,
                missing=["libclang"],
                **facts,
            )
        return self.finding(
            Status.FAIL,
            "libclang is not installed (bindgen cannot parse headers without it)",
            fix_text="Install libclang (the package with libclang.so).",
            needs=package_needs(ctx.package_manager, ["libclang"]),
            ctx=ctx,
            candidate=None,
            missing=["libclang"],
            **facts,
        )
