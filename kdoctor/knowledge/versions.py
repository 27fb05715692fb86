"""Version parsing for the banners real tools print (every vendor says it differently)."""

from __future__ import annotations

import re
from typing import Optional

from packaging.version import InvalidVersion, Version

_NUM = r"(\d+(?:\.\d+){0,3})"

# "clang version 14.0.6", "Ubuntu clang version 18.1.3 (1ubuntu1)", "Homebrew clang version
# 17.0.6", "Apple clang version 15.0.0 (clang-1500.1.0.2.5)", "clang version 19.0.0rc3",
# "clang version 18.1.0-rc2", "Debian clang version 11.0.1-2", "Android (...) clang version 9.0.3",
# and before Xcode 10.2 "Apple LLVM version 10.0.0 (clang-1000.11.45.5)"
_CLANG = re.compile(
    r"\b(?:clang|Apple LLVM) version " + _NUM + r"(?:[-.]?(rc\d+|git|svn\w*))?", re.IGNORECASE
)
_GCC = re.compile(r"^(?:\S*gcc|cc)\S*\s+\(.*?\)\s+" + _NUM, re.MULTILINE)
_RUSTC = re.compile(r"^rustc " + _NUM + r"(-(?:nightly|beta(?:\.\d+)?|dev))?", re.MULTILINE)
_COMMIT_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\)")


def parse(text: str) -> Optional[Version]:
    """A version from a dotted string, tolerating suffixes such as ``-rc2`` or ``+dfsg``."""
    match = re.match(r"\s*v?" + _NUM, text)
    if not match:
        return None
    try:
        return Version(match.group(1))
    except InvalidVersion:  # pragma: no cover - _NUM only matches valid numbers
        return None


def clang_version(banner: str) -> Optional[Version]:
    match = _CLANG.search(banner)
    return Version(match.group(1)) if match else None


def is_clang_banner(banner: str) -> bool:
    return _CLANG.search(banner) is not None


def gcc_version(banner: str) -> Optional[Version]:
    match = _GCC.search(banner)
    return Version(match.group(1)) if match else None


def rustc_version(banner: str) -> Optional[Version]:
    match = _RUSTC.search(banner)
    return Version(match.group(1)) if match else None


def rustc_channel(banner: str) -> Optional[str]:
    """``stable``, ``beta`` or ``nightly`` from a ``rustc --version`` line."""
    match = _RUSTC.search(banner)
    if not match:
        return None
    suffix = match.group(2) or ""
    if "nightly" in suffix or "dev" in suffix:
        return "nightly"
    if "beta" in suffix:
        return "beta"
    return "stable"


def rustc_commit_date(banner: str) -> Optional[str]:
    match = _COMMIT_DATE.search(banner)
    return match.group(1) if match else None


def word_version(banner: str, word: str) -> Optional[Version]:
    """The first version after ``word`` (``bindgen 0.60.1``, ``rustup 1.27.1``, ``GNU Make 4.3``,
    ``QEMU emulator version 7.2.0``, ``LLD 14``)."""
    # the word starts a word: "make" must not match inside "bmake"
    pattern = r"(?<!\w)" + re.escape(word) + r"\S*\s+(?:version\s+)?v?" + _NUM
    match = re.search(pattern, banner, re.IGNORECASE)
    return Version(match.group(1)) if match else None


def ld_version(banner: str) -> Optional[Version]:
    """``GNU ld (GNU Binutils for Debian) 2.40`` or ``LLD 14.0.6``."""
    first = banner.strip().splitlines()[0] if banner.strip() else ""
    match = re.search(r"(?:GNU ld|LLD)\b.*?\s" + _NUM + r"(?:\s|$|[-~+])", first + " ")
    return Version(match.group(1)) if match else None


def major(version: Optional[Version]) -> Optional[int]:
    return version.major if version is not None else None


# "libclang-14.so.1", "libclang-14.0.6.so" (Debian), "libclang.so.18.1" (Fedora, Arch)
_LIBCLANG_NAMED = re.compile(r"^libclang-(\d+(?:\.\d+){0,2})\.(?:so|dylib)\b")
_LIBCLANG_SUFFIX = re.compile(r"^libclang\.so\.(\d+\.\d+(?:\.\d+)?)$")
# "/usr/lib/llvm-14/lib", "/usr/lib64/llvm15/lib", "/opt/homebrew/opt/llvm@17/lib"
_LLVM_DIR = re.compile(r"^llvm[-@]?(\d+)$")


def libclang_version(path: str) -> Optional[Version]:
    """LLVM's version as told by a libclang file's name or its ``llvm-N`` directory.

    A lone number after ``.so.`` (``libclang.so.1``, ``libclang.so.13``) is an ABI number, not
    LLVM's version, so it tells nothing.
    """
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    name = parts[-1]
    match = _LIBCLANG_NAMED.match(name) or _LIBCLANG_SUFFIX.match(name)
    if match:
        return Version(match.group(1))
    for directory in reversed(parts[:-1]):
        found = _LLVM_DIR.match(directory)
        if found:
            return Version(found.group(1))
    return None


def kconfig_version(number: str) -> Optional[Version]:
    """A kernel ``.config`` version number (``CONFIG_GCC_VERSION=120200``) as 12.2.0; 0 is none."""
    if not number.strip().isdigit() or int(number) == 0:
        return None
    value = int(number)
    return Version(f"{value // 10000}.{value // 100 % 100}.{value % 100}")
