"""What kdoctor knows about cargo-driven modules: cargo's versions, the Rust targets that
disappeared, target-spec fields that changed, crates' version requirements and the
distribution's packaged crates (Debian's ``librust-*-dev`` under ``/usr/share/cargo/registry``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Optional

from packaging.version import InvalidVersion, Version

from kdoctor.i18n import N_, _

#: where Debian's librust-*-dev packages unpack their crates (a cargo directory source)
DEBIAN_REGISTRY = "/usr/share/cargo/registry"
#: the name kdoctor gives that source in the cargo configuration it writes
SOURCE_NAME = "debian-packages"
#: cargo loads a ``.json`` target only with ``-Zjson-target-spec`` on its command line since this
#: release (rust-lang/cargo#16557, after rustc made target JSON unstable: rust-lang/rust#150151)
JSON_TARGET_FLAG_SINCE = Version("1.95.0")
JSON_TARGET_FLAG = "json-target-spec"
#: where crates.io's index answers (what the crates check asks, once, with a short timeout)
CRATES_INDEX = "https://index.crates.io/config.json"


@dataclass(frozen=True)
class GoneTarget:
    """A built-in target later rustc releases no longer have."""

    name: str
    #: what became of it (marked with ``N_()``; in the active language: :attr:`fate`)
    fate_msgid: str
    #: the last stable release that has it, and a nightly old enough to have it
    last_stable: str
    nightly: str

    @property
    def fate(self) -> str:
        return _(self.fate_msgid)


#: built-in targets that were renamed or removed (rust-lang/rust pull requests #77916, #104015)
GONE_TARGETS = {
    t.name: t
    for t in (
        GoneTarget(
            "x86_64-linux-kernel",
            # Translators: follows "it was" in the module-target check: "... it was {fate}"
            N_(
                "renamed x86_64-unknown-none-linuxkernel in December 2020 (rust-lang/rust#77916, "
                "Rust 1.50) and removed altogether in November 2022 (rust-lang/rust#104015, "
                "Rust 1.67)"
            ),
            "1.49.0",
            "nightly-2020-11-30",
        ),
        GoneTarget(
            "x86_64-unknown-none-linuxkernel",
            N_("removed in November 2022 (rust-lang/rust#104015, Rust 1.67)"),
            "1.66.0",
            "nightly-2022-11-01",
        ),
    )
}


class _Translated(Mapping[str, str]):
    """A table of sentences marked with ``N_()``, read in the active language."""

    def __init__(self, table: Mapping[str, str]) -> None:
        self._table = table

    def __getitem__(self, key: str) -> str:
        return _(self._table[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)


#: target-spec JSON fields later rustc rejects, and what replaced them (in the active language)
RENAMED_SPEC_FIELDS: Mapping[str, str] = _Translated(
    {
        # Translators: what replaced a target-spec field, shown in parentheses
        "eliminate-frame-pointer": N_('frame-pointer ("always" where it was false)'),
        "target-c-int-width": N_("an integer, no longer a string"),
        "target-pointer-width": N_("an integer, no longer a string"),
    }
)


def cargo_release(text: str) -> Optional[Version]:
    """The Rust release a ``cargo --version`` belongs to: ``cargo 1.96.0 (...)`` is 1.96.0;
    the old numbering ``cargo 0.66.0`` went with rustc 1.65."""
    match = re.search(r"\bcargo (\d+)\.(\d+)\.(\d+)", text)
    if not match:
        return None
    major, minor, patch = (int(g) for g in match.groups())
    if major == 0:
        return Version(f"1.{minor - 1}.0")
    return Version(f"{major}.{minor}.{patch}")


def same_release(a: Version, b: Version) -> bool:
    return (a.major, a.minor) == (b.major, b.minor)


def is_nightly_cargo(text: str) -> bool:
    return "-nightly" in text or "-dev" in text


def first_error(text: str, limit: int = 200) -> str:
    """The first ``error:`` line of a tool's output (else its first line), shortened: rustc
    lists every known field after an unknown one."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = next((ln for ln in lines if ln.startswith("error")), lines[0] if lines else "")
    line = re.sub(r"error loading target specification: ", "", line)
    line = line.split(", expected one of", 1)[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."


def unknown_spec_field(text: str) -> Optional[str]:
    match = re.search(r"unknown field `([^`]+)`", text)
    return match.group(1) if match else None


# -- crates -------------------------------------------------------------------------------------
def debian_crate_packages(crate: str, requirement: str) -> tuple[str, ...]:
    """Debian's package names for ``crate`` (``librust-<name>-dev``, ``_`` → ``-``), the one with
    the requirement's semver-compatible suffix first (``librust-nom-4-dev``,
    ``librust-bindgen-0.66-dev``), then the unsuffixed one."""
    name = crate.lower().replace("_", "-")
    compat = _compat(requirement)
    suffixed = (f"librust-{name}-{compat}-dev",) if compat else ()
    return (*suffixed, f"librust-{name}-dev")


def _compat(requirement: str) -> Optional[str]:
    match = re.match(r"\s*[\^~=]?\s*(\d+)(?:\.(\d+))?", requirement)
    if not match:
        return None
    major, minor = match.group(1), match.group(2)
    if major != "0":
        return major
    return f"0.{minor}" if minor is not None else None


def upstream_version(debian_version: str) -> Optional[Version]:
    """``0.60.1-2+b2`` → 0.60.1 (epoch and Debian revision dropped)."""
    text = debian_version.split(":", 1)[-1].rsplit("-", 1)[0]
    match = re.match(r"(\d+(?:\.\d+)*)", text)
    try:
        return Version(match.group(1)) if match else None
    except InvalidVersion:
        return None


def requirement_matches(requirement: str, version: Version) -> bool:
    """Whether ``version`` satisfies a Cargo requirement (``"0.54"``, ``"^1.2"``, ``"~0.3"``,
    ``">=1, <3"``, ``"*"``); a bare version means caret."""
    for part in (p.strip() for p in requirement.split(",")):
        if part and not _one(part, version):
            return False
    return True


def _one(part: str, version: Version) -> bool:
    match = re.match(r"(\^|~|=|>=|<=|>|<)?\s*(\d+|\*)(?:\.(\d+|\*))?(?:\.(\d+|\*))?", part)
    if not match or match.group(2) == "*":
        return True
    op = match.group(1) or "^"
    nums = [int(g) for g in match.group(2, 3, 4) if g is not None and g != "*"]
    given = len(nums)
    low = Version(".".join(str(n) for n in [*nums, 0, 0][:3]))
    here = version.release + (0,) * (3 - len(version.release))
    if op in (">=", ">", "<", "<="):
        return {
            ">=": version >= low,
            ">": version > low,
            "<": version < low,
            "<=": version <= low,
        }[op]
    if version < low:
        return False
    if op == "=":
        return tuple(here[:given]) == tuple(nums)
    if op == "~":
        return tuple(here[: min(given, 2)]) == tuple(nums[: min(given, 2)])
    # caret: the leftmost non-zero of the given parts must not change
    significant = next((i for i, n in enumerate(nums) if n != 0), given - 1)
    return tuple(here[: significant + 1]) == tuple(nums[: significant + 1])


def source_replacement(directory: str = DEBIAN_REGISTRY, name: str = SOURCE_NAME) -> str:
    """A cargo configuration that takes crates.io's crates from ``directory``."""
    return (
        "# written by kdoctor fix: crates.io's crates come from crates on this machine\n"
        "[source.crates-io]\n"
        f'replace-with = "{name}"\n\n'
        f"[source.{name}]\n"
        f'directory = "{directory}"\n'
    )


def source_config_args(directory: str = DEBIAN_REGISTRY, name: str = SOURCE_NAME) -> list[str]:
    """The same replacement as ``cargo --config`` arguments (nothing written)."""
    return [
        "--config",
        f'source.crates-io.replace-with="{name}"',
        "--config",
        f'source.{name}.directory="{directory}"',
    ]


def unresolved_crate(text: str) -> Optional[tuple[str, Optional[str], Optional[str]]]:
    """What cargo could not resolve: (crate, requirement, versions it found) from its error."""
    match = re.search(r"no matching package named `([^`]+)` found", text)
    if match:
        return match.group(1), None, None
    match = re.search(
        r"failed to select a version for the requirement `([^ `]+) = \"([^\"]+)\"`", text
    )
    if match:
        found = re.search(r"candidate versions found which didn't match: ([^\n]+)", text)
        return match.group(1), match.group(2), found.group(1).strip() if found else None
    return None
