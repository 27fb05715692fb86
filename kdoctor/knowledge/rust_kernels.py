"""Rust-enabled kernels kdoctor builds from Debian's own sources and toolchain: which kernel
target names one (``6.12+rust``, ``rust``), which suite's root builds it, what goes into that
root, and the configuration that keeps ``CONFIG_RUST=y``.

Pure: nothing here runs or reads anything. Measured on Debian 12 against trixie
(``linux-source-6.12`` 6.12.118, rustc 1.85.1, bindgen 0.71.1, gcc 14) and trixie-backports
(``linux-source-7.2``/``7.3``, rustc 1.98.1), December 2026: ``tinyconfig`` plus
:data:`ENABLE` and ``olddefconfig`` keeps ``CONFIG_RUST=y``; ``make bzImage modules`` took
about 3 min with gcc on this 2-core machine (``bench/rust_kernel.py`` measures it again).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from kdoctor.i18n import _
from kdoctor.knowledge.debian_releases import by_number

#: what a kernel target ends with to mean "kdoctor's Rust-enabled build of that series"
SUFFIX = "+rust"
#: the kernel target meaning "the newest series kdoctor can build with Rust"
NEWEST = "rust"
#: what kdoctor appends to the kernel's release (``CONFIG_LOCALVERSION``)
LOCALVERSION = "-kdoctor-rust"

_SERIES = re.compile(r"^(\d+)\.(\d+)$")


@dataclass(frozen=True)
class RootSuite:
    """A toolchain root: a minimal Debian root of ``suite`` with ``extra`` suites enabled and
    the toolchain (and kernel source) taken from ``prefer`` when it has them."""

    name: str
    suite: str
    extra: tuple[str, ...] = ()
    prefer: Optional[str] = None


#: the release whose own toolchain and kernel sources build kdoctor's Rust-enabled kernels (the
#: first whose bindgen is new enough for 6.12: bookworm's 0.60 is not)
_BUILDER = by_number("13")
_SUITE = _BUILDER.suite if _BUILDER else ""
_BACKPORTS = f"{_SUITE}-backports"
#: the roots kdoctor makes: the release's own builds its stable kernel; newer kernels need its
#: backports' rustc
TRIXIE = RootSuite(_SUITE, _SUITE)
TRIXIE_BACKPORTS = RootSuite(_BACKPORTS, _SUITE, extra=(_BACKPORTS,), prefer=_BACKPORTS)
ROOTS: tuple[RootSuite, ...] = (TRIXIE, TRIXIE_BACKPORTS)

#: the series that release itself ships; every newer series comes from its backports
STABLE_SERIES = _BUILDER.series if _BUILDER else ""

#: what a kernel build with Rust needs in the root (gcc builds the C, as Debian's own kernels)
TOOLCHAIN_PACKAGES: tuple[str, ...] = (
    "make",
    "gcc",
    "libc6-dev",
    "bc",
    "bison",
    "flex",
    "libelf-dev",
    "libssl-dev",
    "cpio",
    "xz-utils",
    "python3",
    "rustc",
    "rust-src",
    "bindgen",
    "libclang-dev",
    "clang",
    "lld",
    "llvm",
)

#: the dpkg database of a root, relative to it, and how much of it is read
DPKG_STATUS = "var/lib/dpkg/status"
DPKG_STATUS_LIMIT = 32 << 20

#: the packages whose versions the kernel's record keeps (what a module build must match)
RECORDED = ("rustc", "rust-src", "bindgen", "libclang-dev", "gcc")

#: options set on top of ``tinyconfig``: a 64-bit kernel that boots kdoctor's verification VM
#: (initramfs, serial console, busybox), stamps its log lines (verify tells the module's lines by
#: time) and loads and unloads modules, plus Rust
ENABLE: tuple[str, ...] = (
    "64BIT",
    "MODULES",
    "MODULE_UNLOAD",
    "BLK_DEV_INITRD",
    "RD_GZIP",
    "TTY",
    "SERIAL_8250",
    "SERIAL_8250_CONSOLE",
    "PRINTK",
    "PRINTK_TIME",
    "BINFMT_ELF",
    "BINFMT_SCRIPT",
    "DEVTMPFS",
    "PROC_FS",
    "SYSFS",
    "RUST",
)
#: options ``CONFIG_RUST`` depends on being off (``olddefconfig`` silently drops Rust otherwise)
DISABLE: tuple[str, ...] = ("MODVERSIONS", "RANDSTRUCT", "GCC_PLUGINS", "DEBUG_INFO_BTF")

#: measured cost of one Rust-enabled kernel here (2 cores), shown in the plan
DOWNLOAD_MB = 480
DISK_GB = 4
ROOT_MINUTES = 1
BUILD_MINUTES = 4


def rust_kernel_cost(spec: str) -> str:
    """What building the Rust-enabled kernel ``spec`` takes, in words, for the plan."""
    series = series_of_spec(spec)
    source = source_package(series) if series else _("the newest linux-source")
    root = root_for(series).name if series else TRIXIE_BACKPORTS.name
    return _(
        "kdoctor fix builds it from Debian's {source} with the {root} toolchain in a minimal "
        "root in its cache (nothing is installed on the host): about {mb} MB to download, "
        "{gb} GB of disk, {minutes} min on this 2-core machine the first time; options set "
        "on top of tinyconfig: {enabled}; kept off: {disabled}."
    ).format(
        source=source,
        root=root,
        mb=DOWNLOAD_MB,
        gb=DISK_GB,
        minutes=ROOT_MINUTES + BUILD_MINUTES,
        enabled=", ".join(ENABLE),
        disabled=", ".join(DISABLE),
    )


def configured(config: dict[str, str]) -> bool:
    """A kernel configuration (``CONFIG_X`` -> value) has every option kdoctor sets on and
    every one it keeps off off."""
    return all(config.get(f"CONFIG_{o}") == "y" for o in ENABLE) and not any(
        config.get(f"CONFIG_{o}") == "y" for o in DISABLE
    )


def series_of_spec(spec: str) -> Optional[str]:
    """``6.12+rust`` -> ``6.12``; ``rust`` -> ``""`` (the newest); anything else -> None."""
    if spec == NEWEST:
        return ""
    if not spec.endswith(SUFFIX):
        return None
    series = spec[: -len(SUFFIX)]
    return series if _SERIES.match(series) else None


def is_rust_spec(spec: str) -> bool:
    return series_of_spec(spec) is not None


def spec_of(series: str) -> str:
    """``6.12`` -> ``6.12+rust``."""
    return f"{series}{SUFFIX}"


def root_for(series: str) -> RootSuite:
    """The root whose toolchain builds ``series`` (trixie's own kernel, or a backport)."""
    return TRIXIE if series == STABLE_SERIES else TRIXIE_BACKPORTS


def source_package(series: str) -> str:
    return f"linux-source-{series}"


def series_key(series: str) -> tuple[int, int]:
    found = _SERIES.match(series)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def newest_series(names: list[str]) -> Optional[str]:
    """The newest series among ``linux-source-<series>`` package names."""
    series = [n[len("linux-source-") :] for n in names if n.startswith("linux-source-")]
    series = [s for s in series if _SERIES.match(s)]
    return max(series, key=series_key) if series else None


def upstream_version(package_version: str) -> str:
    """``6.12.118-1`` -> ``6.12.118``; ``1.85.1+dfsg1-1+deb13u1`` -> ``1.85.1``;
    ``1:19.0-63`` -> ``19.0``."""
    version = package_version.split(":", 1)[-1]
    version = version.rsplit("-", 1)[0] if "-" in version else version
    return re.split(r"[+~]", version)[0]


def dpkg_versions(status: str, names: tuple[str, ...]) -> dict[str, str]:
    """The installed versions of ``names`` in a dpkg ``status`` file's text."""
    found: dict[str, str] = {}
    for stanza in status.split("\n\n"):
        fields = dict(
            (line.split(":", 1)[0], line.split(":", 1)[1].strip())
            for line in stanza.splitlines()
            if ":" in line and not line.startswith(" ")
        )
        name = fields.get("Package")
        # "install ok installed", or "hold ok installed" (apt-mark hold): the state is last
        if name in names and fields.get("Status", "").split()[-1:] == ["installed"]:
            found[name] = fields.get("Version", "")
    return found
