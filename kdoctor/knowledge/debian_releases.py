"""Debian's releases as kdoctor knows them: the one table of suite, version number, kernel
series and the toolchain each release packages.

Everything else reads it: the suites kdoctor fetches kernels from
(:mod:`kdoctor.knowledge.debian_kernels`), the releases named for a module's kernel range
(:mod:`kdoctor.knowledge.kernel_range`), which Rust build a release installs by default and
whether it packages rustup (:mod:`kdoctor.knowledge.packages`), and the compatibility matrix's
rows (``scripts/matrix.py``).

Standard library only, Python 3.9: ``scripts/matrix.py`` imports it with the host's python3,
outside kdoctor's virtual environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

#: where Debian's packages come from, and the keyring that signs them
MIRROR = "http://deb.debian.org/debian"
SECURITY = "http://deb.debian.org/debian-security"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


@dataclass(frozen=True)
class Toolchain:
    """The versions a release packages (``x.y``, as ``apt-cache policy`` shows them, shortened)."""

    clang: str
    rustc: str
    bindgen: str
    #: the gcc its kernels are built with (``gcc-N``)
    gcc: str
    #: the ``-web`` Rust build kept new enough for browsers (``rustc-web``), if it has one; it
    #: follows the browsers, so this is what the compatibility matrix last found
    rustc_web: Optional[str] = None


@dataclass(frozen=True)
class DebianRelease:
    number: str
    suite: str
    #: the kernel series it ships (its stable kernel), as (major, minor)
    kernel: tuple[int, int]
    #: kdoctor runs on it: fetches its kernels into the cache, and the matrix onboards it
    supported: bool
    #: what it packages (None: not recorded, for a release kdoctor does not support)
    toolchain: Optional[Toolchain] = None
    #: the distribution's Rust kdoctor installs here by default is the ``-web`` build
    web_rust_default: bool = False
    #: it packages rustup
    rustup_packaged: bool = False

    @property
    def series(self) -> str:
        """``5.10``."""
        return f"{self.kernel[0]}.{self.kernel[1]}"

    @property
    def name(self) -> str:
        """``Debian 11``."""
        return f"Debian {self.number}"


RELEASES: tuple[DebianRelease, ...] = (
    DebianRelease("10", "buster", (4, 19), supported=False),
    DebianRelease(
        "11",
        "bullseye",
        (5, 10),
        supported=True,
        toolchain=Toolchain(clang="11", rustc="1.48", bindgen="0.55", gcc="10"),
    ),
    DebianRelease(
        "12",
        "bookworm",
        (6, 1),
        supported=True,
        toolchain=Toolchain(
            clang="14",
            rustc="1.63",
            bindgen="0.60",
            gcc="12",
            rustc_web="1.9x",
        ),
        web_rust_default=True,
    ),
    DebianRelease(
        "13",
        "trixie",
        (6, 12),
        supported=True,
        toolchain=Toolchain(clang="19", rustc="1.85", bindgen="0.71", gcc="14"),
        rustup_packaged=True,
    ),
)

#: the releases kdoctor runs on, oldest first
SUPPORTED: tuple[DebianRelease, ...] = tuple(r for r in RELEASES if r.supported)


def by_suite(suite: str) -> Optional[DebianRelease]:
    return next((r for r in RELEASES if r.suite == suite), None)


def by_number(number: str) -> Optional[DebianRelease]:
    """The release of a version number (``12`` or ``12.4``)."""
    major = number.split(".")[0]
    return next((r for r in RELEASES if r.number == major), None)


def rustup_packaged_since() -> int:
    """The first Debian release that packages rustup (later ones do too)."""
    return min(int(r.number) for r in RELEASES if r.rustup_packaged)
