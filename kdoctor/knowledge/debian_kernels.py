"""Debian's kernels as kdoctor fetches them into its cache: which suite serves a release or a
series, the private apt configuration that reads that suite, what the unpacked packages need
changed to work from the cache, and which of their tools the host can run.

Pure: nothing here runs or reads anything. Measured on Debian 12 (glibc 2.36, gcc-12,
clang-14, rustc 1.96, bindgen 0.60) against bullseye's 5.10.0-46, bookworm's 6.1 and trixie's
6.12.118+deb13, November 2026.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from packaging.version import InvalidVersion, Version

from kdoctor.knowledge.debian_releases import KEYRING, MIRROR, SECURITY, SUPPORTED
from kdoctor.knowledge.kernel_release import release_key

#: suite -> the kernel series it ships (its stable kernel), for the suites kdoctor fetches from
SUITES: dict[str, str] = {r.suite: r.series for r in SUPPORTED}
SERIES: dict[str, str] = {series: suite for suite, series in SUITES.items()}
#: ``debN`` in a release string -> the suite of Debian N
_SUITE_OF_NUMBER: dict[str, str] = {r.number: r.suite for r in SUPPORTED}

_SERIES = re.compile(r"^(\d+)\.(\d+)$")
_RELEASE = re.compile(r"^(\d+\.\d+)(?:\.\d+)?[-.+]")


def is_series(spec: str) -> bool:
    """``5.10``, ``6.1``, ``6.12``: a series, not a release."""
    return bool(_SERIES.match(spec))


def series_of(release: str) -> Optional[str]:
    """``5.10.0-46-amd64`` -> ``5.10``; ``6.12.118+deb13-amd64`` -> ``6.12``."""
    if is_series(release):
        return release
    found = _RELEASE.match(release)
    return found.group(1) if found else None


def suite_of(spec: str) -> Optional[str]:
    """The suite whose archive has ``spec`` (a release or a series); None when none of the
    suites kdoctor fetches from (:data:`SUITES`) does. A bullseye backport
    (``6.1.0-0.deb11.N``) is bullseye's."""
    found = re.search(r"[.+]deb(\d+)", spec)
    if found:
        return _SUITE_OF_NUMBER.get(found.group(1))
    series = series_of(spec)
    return SERIES.get(series) if series else None


def flavour_of(release: str) -> str:
    """``6.1.0-50-amd64`` -> ``amd64``; ``6.1.0-50-cloud-amd64`` -> ``cloud-amd64``."""
    parts = release.split("-")
    tail = [p for p in parts[1:] if not p[:1].isdigit() and "deb" not in p]
    return "-".join(tail) or "amd64"


def apt_config(base: str, arch: str = "amd64") -> str:
    """The private apt configuration (``APT_CONFIG``) of one suite: its own state, cache and
    sources under ``base``; the host's ``sources.list``, ``apt.conf.d`` and dpkg status are
    never read."""
    return (
        f'Dir::State "{base}/state";\n'
        f'Dir::State::status "{base}/state/status";\n'
        f'Dir::Cache "{base}/cache";\n'
        f'Dir::Etc "{base}/etc";\n'
        f'Dir::Etc::sourcelist "{base}/etc/sources.list";\n'
        f'Dir::Etc::sourceparts "{base}/etc/sources.list.d";\n'
        f'Dir::Etc::preferencesparts "{base}/etc/preferences.d";\n'
        f'Dir::Etc::parts "{base}/etc/apt.conf.d";\n'
        f'APT::Architecture "{arch}";\n'
        'APT::Architectures { "' + arch + '"; };\n'
        'Acquire::Languages "none";\n'
    )


def sources_list(suite: str, keyring: str = KEYRING) -> str:
    signed = f"[signed-by={keyring}]"
    return (
        f"deb {signed} {MIRROR} {suite} main\n"
        f"deb {signed} {MIRROR} {suite}-updates main\n"
        f"deb {signed} {SECURITY} {suite}-security main\n"
    )


def releases_in(search_output: str, flavour: str = "amd64") -> list[str]:
    """Kernel releases of ``flavour`` in ``apt-cache search --names-only`` output, newest
    first."""
    found = set()
    for line in search_output.splitlines():
        name = line.split(" - ", 1)[0].strip()
        if not name.startswith("linux-headers-") or not name.endswith(f"-{flavour}"):
            continue
        release = name[len("linux-headers-") :]
        if release[:1].isdigit() and flavour_of(release) == flavour:
            found.add(release)
    return sorted(found, key=lambda r: (release_key(r), r), reverse=True)


def newest_of(releases: list[str], series: str) -> Optional[str]:
    """The newest release of ``series`` that is the suite's own (no backport)."""
    mine = [r for r in releases if series_of(r) == series and ".deb1" not in r]
    return mine[0] if mine else None


@dataclass(frozen=True)
class KernelPackages:
    headers: str
    common: Optional[str]
    kbuild: Optional[str]
    image: str

    def names(self) -> tuple[str, ...]:
        return tuple(n for n in (self.headers, self.common, self.kbuild, self.image) if n)


_DEP = re.compile(r"^\s*\|?Depends:\s*(linux-(?:headers-\S+-common\S*|kbuild-\S+))\s*$", re.M)


def packages_for(release: str, depends_output: str) -> KernelPackages:
    """The packages of ``release`` from ``apt-cache depends linux-headers-<release>``."""
    deps = _DEP.findall(depends_output)
    common = next((d for d in deps if d.startswith("linux-headers-")), None)
    kbuild = next((d for d in deps if d.startswith("linux-kbuild-")), None)
    return KernelPackages(f"linux-headers-{release}", common, kbuild, f"linux-image-{release}")


_INCLUDE = re.compile(r"^include[ \t]+(/usr/src/\S+)[ \t]*$", re.M)


def relocated_makefile(text: str, root: str) -> str:
    """The headers' ``Makefile`` (``include /usr/src/linux-headers-X-common/Makefile``) made
    to include the copy under ``root``."""
    return _INCLUDE.sub(lambda m: f"include {root.rstrip('/')}{m.group(1)}", text)


def relative_link(link: str, target: str) -> str:
    """An absolute symlink target made relative to the link's own directory, both inside
    one unpacked root (``link`` relative to it, ``target`` absolute in the package)."""
    import posixpath

    return posixpath.relpath(target, posixpath.dirname("/" + link.lstrip("/")))


_GLIBC = re.compile(rb"GLIBC_(2\.\d+)")


def glibc_needed(elf: bytes) -> Optional[Version]:
    """The newest ``GLIBC_2.N`` symbol version an ELF file refers to."""
    found = [Version(v.decode()) for v in set(_GLIBC.findall(elf))]
    return max(found) if found else None


def glibc_of(getconf_output: str) -> Optional[Version]:
    """``glibc 2.36`` (``getconf GNU_LIBC_VERSION``) -> 2.36."""
    parts = getconf_output.split()
    try:
        return Version(parts[-1]) if parts else None
    except InvalidVersion:
        return None


def wrapper_script(loader: str, libdir: str, real: str) -> str:
    """A tool that runs ``real`` with the fetched C library's loader: the suite's kbuild tools
    need a newer glibc than the host's (trixie's modpost and objtool: GLIBC_2.38 on a 2.36
    host, measured)."""
    return f'#!/bin/sh\nexec "{loader}" --library-path "{libdir}" "{real}" "$@"\n'


# -- what the host's toolchain needs changed in a foreign kernel's build tree ---------------

#: kernel options whose flags only the kernel's own compiler knows, with the gcc that has them
#: (trixie's 6.12 is built by gcc-14: gcc-12 rejects ``-fmin-function-alignment=16``, measured)
GCC_ONLY_OPTIONS: dict[str, int] = {"CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT": 14}
#: needs pahole (dwarves) on the host: BTF for modules (trixie 6.12's modfinal, measured)
PAHOLE_OPTIONS = ("CONFIG_DEBUG_INFO_BTF_MODULES",)

_KV_CC = re.compile(r"^CC\s*=.*$", re.M)


def host_compiler_variables(text: str, cc: str) -> str:
    """Debian's ``.kernelvariables`` with ``CC`` set to the host's compiler (bullseye names
    gcc-10, trixie gcc-14; the host's gcc-12 builds modules for both, measured)."""
    if _KV_CC.search(text):
        return _KV_CC.sub(f"CC = {cc}", text)
    return text + f"CC = {cc}\n"


def without_options(auto_conf: str, options: tuple[str, ...]) -> str:
    """``include/config/auto.conf`` without the given options (as if not set)."""
    drop = tuple(f"{o}=" for o in options)
    kept = [line for line in auto_conf.splitlines(keepends=True) if not line.startswith(drop)]
    return "".join(kept)
