"""Why a provisioning step failed, in words: held locks, a network that is down, dpkg halfway."""

from __future__ import annotations

import re
from typing import Optional

from kdoctor.i18n import _
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
        return _(
            "A previous package installation was interrupted halfway. Rerun kdoctor fix; it "
            "finishes it first ({command})."
        ).format(command=dpkg.group(1))
    lock = _LOCK.search(output)
    if lock:
        who = _HOLDER.search(output)
        if who is None:
            return _(
                "Another package manager holds the lock and did not release it in time. Wait for "
                "it (an automatic update, or another apt) to finish, then rerun kdoctor fix."
            )
        # Translators: who holds the lock, in parentheses; {name} is a program
        holder = (_("process {pid}, {name}") if who.group(2) else _("process {pid}")).format(
            pid=who.group(1), name=who.group(2) or ""
        )
        return _(
            "Another package manager holds the lock ({holder}) and did not release it in time. "
            "Wait for it (an automatic update, or another apt) to finish, then rerun kdoctor fix."
        ).format(holder=holder)
    rustup = _rustup_download(output, display)
    if rustup:
        return rustup
    net = _NETWORK.search(output)
    if net:
        # Translators: stands where a host name would be: "could not fetch from {source}"
        what = next((g for g in net.groups()[1:] if g), None) or _("the package mirror")
        return _(
            "The network is not reachable: could not fetch from {source} while running "
            "`{command}`. Check the connection or the mirror in your sources, then rerun "
            "kdoctor fix (nothing half-done is left behind)."
        ).format(source=what, command=display)
    unknown = _UNKNOWN_PKG.search(output)
    if unknown:
        return _(
            "The package manager does not know {package}. Refresh the package lists "
            "(kdoctor fix does when a package is unknown) or enable the repository that has it."
        ).format(package=unknown.group(1))
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
    # Translators: stands for a toolchain name: "could not download {toolchain}"
    name = toolchain or _("the toolchain")
    return _(
        "rustup could not download {toolchain} from {host}: the network cannot reach it (while "
        "running `{command}`). Build with the distribution's Rust instead: `kdoctor fix --rust "
        "distro` (or rerun kdoctor fix once the network is back; nothing half-done is left "
        "behind)."
    ).format(toolchain=name, host=host, command=display)
