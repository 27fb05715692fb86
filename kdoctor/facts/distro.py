"""Which distribution this is, from its ``os-release`` file (read through the System), as a
:class:`~kdoctor.model.context.DistroInfo`.

The parsing follows the ``distro`` library (``distro.LinuxDistribution(include_lsb=False,
include_uname=False)``) so a :class:`DistroInfo` comes out the same: the file is read as shell
words (quotes, escapes, comments), IDs are lower-cased with the same normalisation, the version
falls back to the one in ``PRETTY_NAME`` and then to ``/etc/debian_version`` on Debian-like
systems. Unlike the library it never scans other ``/etc/*-release`` files: a distribution
without ``PRETTY_NAME`` is named by its ID.
"""

from __future__ import annotations

import re
import shlex

from kdoctor.machine.system import System
from kdoctor.model.context import DistroInfo

OS_RELEASE = "/etc/os-release"
DEBIAN_VERSION = "/etc/debian_version"

#: IDs the distro library renames
_NORMALIZED_IDS = {"ol": "oracle", "opensuse-leap": "opensuse"}
#: "<name> [release] <version> [(<codename>)]", matched backwards (the distro library's pattern)
_RELEASE_LINE_REVERSED = re.compile(
    r"(?:[^)]*\)(.*)\()? *(?:STL )?([\d.+\-a-z]*\d) *(?:esaeler *)?(.+)"
)
_CODENAME_IN_VERSION = re.compile(r"\((\D+)\)|,\s*(\D+)")


def parse_os_release(text: str) -> dict[str, str]:
    """``KEY=value`` assignments (keys lower-cased), with ``codename`` derived as the distro
    library does: ``VERSION_CODENAME``, else ``UBUNTU_CODENAME``, else from ``VERSION``."""
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # an unbalanced quote: nothing trustworthy in it
        return {}
    props: dict[str, str] = {}
    for token in tokens:
        if "=" in token:
            key, value = token.split("=", 1)
            props[key.lower()] = value
    if "version" in props:
        match = _CODENAME_IN_VERSION.search(props["version"])
        if match:
            props["codename"] = props["release_codename"] = match.group(1) or match.group(2)
    if "version_codename" in props:
        props["codename"] = props["version_codename"]
    elif "ubuntu_codename" in props:
        props["codename"] = props["ubuntu_codename"]
    return props


def version_in(line: str) -> str:
    """The version in a release line such as ``Debian GNU/Linux 12 (bookworm)`` ("" if none)."""
    match = _RELEASE_LINE_REVERSED.match(line.strip()[::-1])
    return match.group(2)[::-1] if match and match.group(2) else ""


def distro_info(props: dict[str, str], debian_version: str = "") -> DistroInfo:
    """The :class:`DistroInfo` for parsed os-release ``props``; ``debian_version`` is the first
    line of ``/etc/debian_version`` (used only when os-release names no version)."""
    ident = props.get("id", "").lower().replace(" ", "_")
    ident = _NORMALIZED_IDS.get(ident, ident)
    like = props.get("id_like", "")
    version = props.get("version_id", "") or version_in(props.get("pretty_name", ""))
    if not version and (ident == "debian" or "debian" in like.split()):
        version = debian_version
    return DistroInfo(
        id=ident or "unknown",
        version=version,
        name=props.get("pretty_name", "") or ident or "unknown",
        like=tuple(like.split()),
        codename=props.get("codename", ""),
    )


def read_distro(system: System, os_release: str = OS_RELEASE) -> DistroInfo:
    """This machine's distribution (``unknown`` when its os-release file is missing)."""
    text = system.read_text(os_release)
    props = parse_os_release(text) if text else {}
    debian = system.read_text(DEBIAN_VERSION) or ""
    return distro_info(props, debian.splitlines()[0].rstrip() if debian.strip() else "")
