"""Distribution package names per package manager, and the commands that install them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

from kdoctor.context import Context

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
    "binutils": {"apt": "binutils", "dnf": "binutils", "pacman": "binutils", "zypper": "binutils"},
    "kmod": {"apt": "kmod", "dnf": "kmod", "pacman": "kmod", "zypper": "kmod"},
    "headers": {
        "apt": "linux-headers-{release}",
        "dnf": "kernel-devel-{release}",
        "pacman": "linux-headers",
        "zypper": "kernel-default-devel",
    },
    "stock-headers": {
        "apt": "linux-headers-{flavour}",
        "dnf": "kernel-devel",
        "pacman": "linux-headers",
        "zypper": "kernel-default-devel",
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


def stock_flavour(arch: str) -> str:
    """Debian's metapackage flavour for the architecture (``amd64`` for x86_64)."""
    return {"x86_64": "amd64", "aarch64": "arm64", "i686": "686"}.get(arch, arch)


def install_argv(manager: Optional[str], packages: Iterable[str]) -> Optional[list[str]]:
    if manager not in INSTALL:
        return None
    return [*INSTALL[manager], *packages]


def install_command(ctx: Context, logical: Iterable[str], **values: object) -> str:
    """A command line a person can paste to install ``logical`` packages on this distro."""
    names = [package_name(ctx.package_manager, name, **values) or name for name in logical]
    argv = install_argv(ctx.package_manager, names)
    if argv is None:
        return f"install {' '.join(names)} with your distribution's package manager"
    return ("" if ctx.is_root else "sudo ") + " ".join(argv)
