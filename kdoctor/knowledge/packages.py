"""Distribution package names per package manager, and the commands that install them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Optional

from kdoctor.i18n import _
from kdoctor.knowledge import debian_releases
from kdoctor.model.context import DISTRO_RUST_CHOICES, Context
from kdoctor.model.need import Package

# logical name -> {manager: package}; "{release}" and "{n}" are filled in by callers
PACKAGES: dict[str, dict[str, str]] = {
    "clang": {"apt": "clang", "dnf": "clang", "pacman": "clang", "zypper": "clang"},
    "clang-n": {"apt": "clang-{n}", "dnf": "clang{n}", "pacman": "clang", "zypper": "clang{n}"},
    "llvm": {"apt": "llvm", "dnf": "llvm", "pacman": "llvm", "zypper": "llvm"},
    "libclang": {
        "apt": "libclang-dev",
        "dnf": "clang-devel",
        "pacman": "clang",
        "zypper": "clang-devel",
    },
    "bindgen": {
        "apt": "bindgen",
        "dnf": "bindgen-cli",
        "pacman": "rust-bindgen",
        "zypper": "rust-bindgen",
    },
    "make": {"apt": "make", "dnf": "make", "pacman": "make", "zypper": "make"},
    "gcc": {"apt": "gcc", "dnf": "gcc", "pacman": "gcc", "zypper": "gcc"},
    # a versioned gcc such as Debian's gcc-12 (what a distro kernel was built with)
    "gcc-n": {"apt": "gcc-{n}", "dnf": "gcc", "pacman": "gcc", "zypper": "gcc{n}"},
    "lld": {"apt": "lld", "dnf": "lld", "pacman": "lld", "zypper": "lld"},
    "libclang-n": {
        "apt": "libclang-{n}-dev",
        "dnf": "clang{n}-devel",
        "pacman": "clang",
        "zypper": "clang{n}-devel",
    },
    "binutils": {"apt": "binutils", "dnf": "binutils", "pacman": "binutils", "zypper": "binutils"},
    "kmod": {"apt": "kmod", "dnf": "kmod", "pacman": "kmod", "zypper": "kmod"},
    #: makes the toolchain roots of kdoctor's Rust-enabled kernels
    "debootstrap": {
        "apt": "debootstrap",
        "dnf": "debootstrap",
        "pacman": "debootstrap",
        "zypper": "debootstrap",
    },
    "headers": {
        "apt": "linux-headers-{release}",
        "dnf": "kernel-devel-{release}",
        "pacman": "linux-headers",
        "zypper": "kernel-default-devel",
    },
    #: the Rust artefacts of a kernel's build, beside its headers (Ubuntu ships them apart)
    "rust-artefacts": {"apt": "linux-lib-rust-{release}"},
    "stock-headers": {
        "apt": "linux-headers-{flavour}",
        "dnf": "kernel-devel",
        "pacman": "linux-headers",
        "zypper": "kernel-default-devel",
    },
    "image": {
        "apt": "linux-image-{release}",
        "dnf": "kernel-core-{release}",
        "pacman": "linux",
        "zypper": "kernel-default",
    },
    "stock-image": {
        "apt": "linux-image-{flavour}",
        "dnf": "kernel-core",
        "pacman": "linux",
        "zypper": "kernel-default",
    },
    "qemu": {
        "apt": "qemu-system-x86",
        "dnf": "qemu-system-x86",
        "pacman": "qemu-system-x86",
        "zypper": "qemu-x86",
    },
    "busybox": {
        "apt": "busybox-static",
        "dnf": "busybox",
        "pacman": "busybox",
        "zypper": "busybox-static",
    },
    "rustup": {"apt": "rustup", "dnf": "rustup", "pacman": "rustup", "zypper": "rustup"},
    "rustc": {"apt": "rustc", "dnf": "rust", "pacman": "rust", "zypper": "rust"},
    "rust-src": {"apt": "rust-src", "dnf": "rust-src", "pacman": "rust-src", "zypper": "rust-src"},
    "rustfmt": {"apt": "rustfmt", "dnf": "rustfmt", "pacman": "rust", "zypper": "rustfmt"},
    # cargo of the distribution's rustc's own release (Arch ships it inside "rust")
    "cargo": {"apt": "cargo", "dnf": "cargo", "pacman": "rust", "zypper": "cargo"},
    # Debian 12's current Rust (the "-web" build kept new enough for browsers)
    "rustc-web": {"apt": "rustc-web"},
    "rust-web-src": {"apt": "rust-web-src"},
    "rustfmt-web": {"apt": "rustfmt-web"},
    "cargo-web": {"apt": "cargo-web"},
}

INSTALL = {
    "apt": ("apt-get", "install", "-y", "--no-install-recommends"),
    "dnf": ("dnf", "install", "-y"),
    "pacman": ("pacman", "-S", "--needed", "--noconfirm"),
    "zypper": ("zypper", "--non-interactive", "install"),
}


def package_name(manager: Optional[str], logical: str, **values: object) -> Optional[str]:
    names = PACKAGES.get(logical, {})
    if manager is None or manager not in names:
        return None
    return names[manager].format(**{k: str(v) for k, v in values.items()})


def stock_flavour(ctx: Context) -> str:
    """The stock kernel's flavour: Ubuntu's ``generic`` (``linux-headers-generic``), else
    Debian's name for the architecture (``amd64`` for x86_64: ``linux-headers-amd64``)."""
    if "ubuntu" in ctx.distro.family_ids():
        return "generic"
    return {"x86_64": "amd64", "aarch64": "arm64", "i686": "686"}.get(ctx.arch, ctx.arch)


#: how to ask each package manager about packages (read only, no root needed); each takes many
#: names at once and answers for each in turn
_QUERY = {
    "apt": (("apt-cache", "policy"), 15.0),
    "dnf": (("dnf", "-q", "list", "--available"), 90.0),
    "pacman": (("pacman", "-Si"), 15.0),
    "zypper": (("zypper", "-q", "info"), 90.0),
}

_NAME_FIELD = re.compile(r"^Name\s*:\s*(\S+)", re.MULTILINE)


def query_argv(manager: Optional[str]) -> Optional[tuple[tuple[str, ...], float]]:
    """How to ask ``manager`` about packages (argv prefix, timeout); None: kdoctor cannot."""
    return _QUERY.get(manager) if manager else None


def read_answers(manager: str, listing: str, wanted: list[str]) -> dict[str, Optional[bool]]:
    """Whether each of ``wanted`` is installable, from what the query of :func:`query_argv`
    printed (``apt-cache policy a b c``, ``dnf list``, ``pacman -Si``, ``zypper info``)."""
    if manager == "apt":
        # an unknown name prints nothing; a virtual or removed one has no candidate
        candidates = apt_candidates(listing)
        return {name: apt_candidate(candidates, name, wanted) != "(none)" for name in wanted}
    if manager == "dnf":
        listed = _dnf_listed(listing)
        return {name: name in listed for name in wanted}
    # pacman and zypper print a "Name : x" field for each package they know; older zypper
    # exits 0 with "package 'x' not found.", pacman exits 1 when any one is unknown
    found = set(_NAME_FIELD.findall(listing))
    return {name: name in found for name in wanted}


def apt_candidates(policy: str) -> dict[str, str]:
    """``apt-cache policy`` output: package -> its candidate version (``(none)``: none)."""
    found: dict[str, str] = {}
    current: Optional[str] = None
    for line in policy.splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            current = line.rstrip()[:-1]
            found[current] = "(none)"
        elif current is not None and line.strip().startswith("Candidate:"):
            found[current] = line.split(":", 1)[1].strip() or "(none)"
    return found


def apt_candidate(candidates: dict[str, str], name: str, wanted: list[str]) -> str:
    """The candidate for ``name``; apt names a package with its architecture (``foo:i386``)
    when it asked for a foreign or qualified one, and answers a one-name question alone."""
    if name in candidates:
        return candidates[name]
    base = name.split(":")[0]
    for section, candidate in candidates.items():
        if section.split(":")[0] == base:
            return candidate
    if len(wanted) == 1 and len(candidates) == 1:
        return next(iter(candidates.values()))
    return "(none)"


def apt_has_candidate(policy: str, name: str) -> bool:
    """Whether ``apt-cache policy NAME`` printed a candidate version for ``name``."""
    return apt_candidate(apt_candidates(policy), name, [name]) != "(none)"


def _dnf_listed(listing: str) -> set[str]:
    """Every name a ``dnf list`` row answers to: ``name``, ``name-version``,
    ``name-version-release`` and ``name-version-release.arch`` (rows may wrap)."""
    words = listing.split()
    found: set[str] = set()
    for index, word in enumerate(words):
        if "." not in word:
            continue
        name, arch = word.rsplit(".", 1)
        found.update((word, name))
        if index + 1 < len(words):
            evr = words[index + 1].split(":")[-1]  # drop an epoch
            version = evr.split("-")[0]
            found.update((f"{name}-{version}", f"{name}-{evr}", f"{name}-{evr}.{arch}"))
    return found


def unpackaged_kernel(release: str) -> Optional[str]:
    """What kind of kernel no distribution package serves, recognised by its release string
    (WSL2's, a cloud microVM's, a self-built one); None for an ordinary release."""
    lowered = release.lower()
    if "microsoft-standard" in lowered or "wsl" in lowered:
        # Translators: a kind of kernel, used as "{kind}, no package provides its headers"
        return _("a WSL2 kernel supplied by Microsoft")
    if "-fc-" in lowered or "firecracker" in lowered:
        return _("a Firecracker/cloud microVM kernel supplied by the host")
    if lowered.endswith("+") or "-dirty" in lowered:
        return _("a self-built kernel")
    return None


def image_package_names(manager: Optional[str], release: str) -> tuple[str, ...]:
    """Packages that ship ``release``'s bootable image (Debian/Ubuntu also name unsigned
    variants), most likely first."""
    if manager == "apt":
        return (
            f"linux-image-{release}",
            f"linux-image-{release}-unsigned",  # Debian's unsigned flavour
            f"linux-image-unsigned-{release}",  # Ubuntu's
        )
    name = package_name(manager, "image", release=release)
    return (name,) if name else ()


def kernel_package_names(manager: Optional[str], release: str) -> list[str]:
    """The headers and image packages of kernel ``release``: what the kernel-headers and vm
    checks ask about, in the one query they share (so the package manager runs once)."""
    headers = package_name(manager, "headers", release=release)
    return [*([headers] if headers else []), *image_package_names(manager, release)]


_WEB_RUST = {
    "rustc": "rustc-web",
    "rust-src": "rust-web-src",
    "rustfmt": "rustfmt-web",
    "cargo": "cargo-web",
}
#: chooses between Debian's two Rust builds: ``rustc`` (the release's own, e.g. 1.63 on
#: Debian 12) or ``rustc-web`` (the newer one kept for browsers); unset: the release's default
DISTRO_RUST_VAR = "KDOCTOR_DISTRO_RUST"


def web_rust(ctx: Context) -> bool:
    """Whether the distribution's Rust is the ``-web`` build here: ``KDOCTOR_DISTRO_RUST``
    when it names one of the two, else Debian 12's default (``rustc-web``)."""
    if ctx.package_manager != "apt":
        return False
    choice = ctx.env.get(DISTRO_RUST_VAR)
    if choice in DISTRO_RUST_CHOICES:
        return choice == "rustc-web"
    if ctx.distro.id != "debian":
        return False
    release = debian_releases.by_number(ctx.distro.version)
    return release is not None and release.web_rust_default


def rust_logical(ctx: Context, part: str) -> str:
    """The logical package for part of the distribution's Rust (``rustc``, ``rust-src``,
    ``rustfmt`` or ``cargo``): on Debian 12 the ``-web`` build (rustc 1.85+), else the plain one;
    ``KDOCTOR_DISTRO_RUST=rustc|rustc-web`` chooses (apt only)."""
    return _WEB_RUST.get(part, part) if web_rust(ctx) else part


def rustup_packaged(ctx: Context) -> bool:
    """Whether the distribution packages rustup (Debian 13+, Ubuntu 24.04+, Fedora, Arch, SUSE)."""
    version = ctx.distro.version
    if ctx.package_manager == "apt":
        if ctx.distro.id == "debian":
            if not version:  # testing and unstable have no version number
                release = debian_releases.by_suite(ctx.distro.codename)
                return release is None or release.rustup_packaged
            major = version.split(".")[0]
            return major.isdigit() and int(major) >= debian_releases.rustup_packaged_since()
        if ctx.distro.id == "ubuntu":
            match = re.match(r"(\d+)\.(\d+)", version)
            return match is not None and (int(match.group(1)), int(match.group(2))) >= (24, 4)
        return False
    if ctx.package_manager == "dnf":
        return ctx.distro.id == "fedora"
    return ctx.package_manager in ("pacman", "zypper")


def package_need(manager: Optional[str], logical: str, **values: object) -> Package:
    """The need for ``logical`` on ``manager`` (its concrete name as the one candidate; none
    when kdoctor knows no package manager). ``clang-n`` with ``n=15`` is called ``clang-15``."""
    name = package_name(manager, logical, **values)
    words = logical
    if logical.endswith("-n") and "n" in values:
        words = f"{logical[:-2]}-{values['n']}"
    return Package(words, (name,) if name else ())


def package_needs(
    manager: Optional[str], logical: Iterable[str], **values: object
) -> tuple[Package, ...]:
    """:func:`package_need` for each of ``logical``."""
    return tuple(package_need(manager, name, **values) for name in logical)
