"""The cargo a cargo-driven module's build runs, and what the chosen rustc offers it (its
built-in targets).

The cargo is the one that goes with the chosen toolchain (``rust_toolchain``):
``CARGO`` when set (the fishinabarrel Kbuild honours it), else the ``cargo`` next to that rustc
(a rustup toolchain's own, or the distribution's ``/usr/bin/cargo``), else the first on PATH,
which may be rustup's proxy. It is asked with the toolchain's environment, as the build asks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from kdoctor.facts.rust import rust_toolchain
from kdoctor.facts.rustup import PROBE_ENV, RUSTC_TIMEOUT, has_home, is_rustup_shim
from kdoctor.facts.toolchain_pin import rustup_home
from kdoctor.i18n import _
from kdoctor.knowledge.cargo import cargo_release, first_error, is_nightly_cargo

if TYPE_CHECKING:
    from kdoctor.facts import Facts

CARGO_TIMEOUT = 20.0


@dataclass(frozen=True)
class CargoChoice:
    """The cargo a module build runs, by full path, and what it said about itself."""

    path: Optional[str]
    #: why this one (``CARGO``, next to rustc, on PATH)
    reason: str
    #: its ``--version`` line, when it answered
    version_line: Optional[str] = None
    #: the Rust release it belongs to (``1.96.0``)
    release: Optional[str] = None
    nightly: bool = False
    #: rustup's proxy (``~/.cargo/bin/cargo``), which picks a toolchain itself
    proxy: bool = False
    #: what running it said when it could not answer
    problem: Optional[str] = None
    #: the environment the build runs it with (the toolchain's, ``RUSTC``)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.path is not None and self.problem is None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "reason": self.reason,
            "version": self.version_line,
            "release": self.release,
            "nightly": self.nightly,
            "proxy": self.proxy,
            "problem": self.problem,
        }


def cargo_env(facts: Facts) -> dict[str, str]:
    """The environment the module build gives cargo: the toolchain's, and ``RUSTC``."""
    toolchain = facts.of(rust_toolchain)
    env = dict(toolchain.env)
    if toolchain.rustc:
        env["RUSTC"] = toolchain.rustc
    return env


def chosen_cargo(facts: Facts) -> CargoChoice:
    system = facts.system
    toolchain = facts.of(rust_toolchain)
    path, reason = None, _("no cargo on PATH")
    wanted = facts.ctx.env.get("CARGO") or system.env.get("CARGO")
    sibling = (
        system.which(os.path.join(os.path.dirname(toolchain.rustc), "cargo"))
        if toolchain.rustc
        else None
    )
    if wanted:
        path, reason = system.which(wanted), _("{setting} is set").format(setting=f"CARGO={wanted}")
        if path is None:
            problem = _("{setting}: command not found").format(setting=f"CARGO={wanted}")
            return CargoChoice(None, reason, problem=problem)
    elif sibling:
        path = sibling
        reason = _("next to the chosen rustc ({rustc})").format(rustc=toolchain.rustc)
    else:
        path = system.which("cargo")
        if path is not None:
            reason = (
                _("the first on PATH (none next to {rustc})").format(rustc=toolchain.rustc)
                if toolchain.rustc
                else _("the first on PATH (none next to a rustc)")
            )
    if path is None:
        return CargoChoice(None, reason, problem=_("no cargo was found"))
    env = cargo_env(facts)
    proxy = is_rustup_shim(system, path)
    if proxy and not has_home(system):  # run, rustup's proxy would make rustup's home
        problem = _("{path} is rustup's proxy, and rustup has no toolchain (no {home})").format(
            path=path, home=rustup_home(system.env)
        )
        return CargoChoice(path, reason, proxy=proxy, problem=problem, env=env)
    probe = system.probe([path, "--version"], timeout=CARGO_TIMEOUT, env={**PROBE_ENV, **env})
    line = probe.stdout.strip().splitlines()[0] if probe.ok and probe.stdout.strip() else None
    release = cargo_release(line or "")
    if not probe.ok or release is None:
        problem = first_error(probe.output) if probe.output.strip() else probe.describe_failure()
        return CargoChoice(path, reason, proxy=proxy, problem=problem, env=env)
    return CargoChoice(
        path,
        reason,
        version_line=line,
        release=str(release),
        nightly=is_nightly_cargo(line or ""),
        proxy=proxy,
        env=env,
    )


def cargo_xbuild(facts: Facts) -> tuple[bool, str]:
    """Whether ``cargo xbuild`` runs (the cargo-xbuild subcommand), and what says so."""
    system = facts.system
    cargo = facts.of(chosen_cargo)
    binary = system.which("cargo-xbuild")
    if binary is not None:
        return True, _("cargo-xbuild is at {path}").format(path=binary)
    if not cargo.usable or cargo.path is None:
        return False, _("no usable cargo to ask")
    probe = system.probe(
        [cargo.path, "xbuild", "--version"],
        timeout=CARGO_TIMEOUT,
        env={**PROBE_ENV, **cargo.env},
    )
    if probe.ok:
        # Translators: what says that `cargo xbuild` runs, when it printed nothing
        return True, probe.stdout.strip().splitlines()[0] if probe.stdout.strip() else _("answers")
    return False, first_error(probe.output) or probe.describe_failure()


def target_list(facts: Facts) -> Optional[frozenset[str]]:
    """The chosen rustc's built-in targets (``rustc --print target-list``), None when it could
    not be asked."""
    toolchain = facts.of(rust_toolchain)
    if not toolchain.rustc:
        return None
    probe = facts.system.probe(
        [toolchain.rustc, "--print", "target-list"],
        timeout=RUSTC_TIMEOUT,
        env={**PROBE_ENV, **toolchain.env},
    )
    if not probe.ok:
        return None
    return frozenset(line.strip() for line in probe.stdout.splitlines() if line.strip())
