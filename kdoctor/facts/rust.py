"""The Rust facts every check, fix and ``kdoctor build`` reads: where rustup is, what it says
about the pin, and which toolchain the module build uses.

The knowledge behind them lives in :mod:`kdoctor.facts.rustup` (asking rustup) and
:mod:`kdoctor.facts.rustc` (inspecting a rustc and choosing one); import it from there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from kdoctor.facts.rustc import RustToolchain, resolve
from kdoctor.facts.rustup import PinState, find_rustup, pin_state
from kdoctor.facts.toolchain_root import person_rustc, root_toolchain

if TYPE_CHECKING:
    from kdoctor.facts import Facts


def rustup_location(facts: Facts) -> tuple[Optional[str], bool]:
    """(rustup's full path, whether it is on PATH)."""
    return find_rustup(facts.system)


def pin_status(facts: Facts) -> PinState:
    """What rustup says about the pinned toolchain."""
    return pin_state(facts.ctx, facts.system)


def rust_toolchain(facts: Facts) -> RustToolchain:
    """The toolchain the module build uses (see :func:`kdoctor.facts.rustc.resolve`); for a
    target built in a toolchain root, that root's rustc unless the person's ``RUSTC`` (their
    environment's, not kdoctor's settings) names another."""
    if facts.ctx.toolchain_root:  # the person's own RUSTC counts there, as the build in the
        # root finds it; not one kdoctor persisted for the host's builds
        person = facts.system.env.get("RUSTC")
        if person:
            return person_rustc(facts.ctx, facts.system, person)
        return root_toolchain(facts.ctx, facts.system)
    return resolve(facts.ctx, facts.system, pin=lambda: facts.of(pin_status))
