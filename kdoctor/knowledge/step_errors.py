"""Why a provisioning step failed, in words: held locks, a network that is down, dpkg halfway."""

from __future__ import annotations

import re
from typing import Optional

from kdoctor.knowledge.rust_dist import RUST_HOST

_LOCK = re.compile(
    r"Could not get lock |Unable to acquire the dpkg frontend lock|Waiting for cache lock"
)
_HOLDER = re.compile(r"held by process (\d+)(?: \(([^)]+)\))?")
_NETWORK = re.compile(
    r"(Temporary failure resolving '([^']+)'|Could not resolve '?([^'\s]+)'?|"
    r"Failed to fetch (\S+)|Network is unreachable|Could not connect to ([^\s]+)|"
    r"Could not resolve host: (\S+)|Connection timed out)"
)
#: rustup's ways of saying a download failed (its own words, and those of the libraries it uses)
_RUSTUP_DOWNLOAD = re.compile(
    r"could not download file|error sending request|failed to resolve|Could not resolve host|"
    r"network (?:is )?unreachable|connection refused|failed to lookup address",
    re.IGNORECASE,
)
_RUSTUP_TOOLCHAIN = re.compile(r"\btoolchain\s+install\s+(\S+)|--toolchain[= ](\S+)")
_RUSTUP_FOR = re.compile(r"(?:updates for|toolchain) '?([A-Za-z0-9][\w.\-]*)'?")
_URL_HOST = re.compile(r"https?://([A-Za-z0-9.\-]+)")
RUSTUP_HOST = RUST_HOST
_DPKG = re.compile(r"dpkg was interrupted, you must manually run '([^']+)'")
_UNKNOWN_PKG = re.compile(
    r"E: (?:Unable to locate package|Package '?)(\S+?)'? (?:has no installation candidate)?"
)


def lock_held(output: str) -> bool:
    """Did the command fail because another package manager holds its lock?"""
    return _LOCK.search(output) is not None


def explain_step_failure(output: str, display: str) -> Optional[str]:
    """A sentence naming the cause and the next step, or None when the cause is not recognised."""
    dpkg = _DPKG.search(output)
    if dpkg:
        return (
            "A previous package installation was interrupted halfway. Rerun kdoctor fix; it "
            f"finishes it first ({dpkg.group(1)})."
        )
    lock = _LOCK.search(output)
    if lock:
        who = _HOLDER.search(output)
        holder = ""
        if who:
            holder = f" (process {who.group(1)}{', ' + who.group(2) if who.group(2) else ''})"
        return (
            f"Another package manager holds the lock{holder} and did not release it in time. "
            "Wait for it (an automatic update, or another apt) to finish, then rerun kdoctor fix."
        )
    rustup = _rustup_download(output, display)
    if rustup:
        return rustup
    net = _NETWORK.search(output)
    if net:
        what = next((g for g in net.groups()[1:] if g), None) or "the package mirror"
        return (
            f"The network is not reachable: could not fetch from {what} while running "
            f"`{display}`. Check the connection or the mirror in your sources, then rerun "
            "kdoctor fix (nothing half-done is left behind)."
        )
    unknown = _UNKNOWN_PKG.search(output)
    if unknown:
        return (
            f"The package manager does not know {unknown.group(1)}. Refresh the package lists "
            "(kdoctor fix does when a package is unknown) or enable the repository that has it."
        )
    return None


def _rustup_download(output: str, display: str) -> Optional[str]:
    """A rustup command that could not download: name the toolchain, the host and the fallback."""
    words = display.split()
    if not words or words[0].rsplit("/", 1)[-1] != "rustup":
        return None
    if not _RUSTUP_DOWNLOAD.search(output):
        return None
    named = _RUSTUP_TOOLCHAIN.search(display) or _RUSTUP_FOR.search(output)
    toolchain = next((g for g in named.groups() if g), None) if named else None
    host = next((h for h in _URL_HOST.findall(output) if h.endswith("rust-lang.org")), RUSTUP_HOST)
    return (
        f"rustup could not download {toolchain or 'the toolchain'} from {host}: the network "
        f"cannot reach it (while running `{display}`). Build with the distribution's Rust "
        "instead: `kdoctor fix --rust distro` (or rerun kdoctor fix once the network is back; "
        "nothing half-done is left behind)."
    )
