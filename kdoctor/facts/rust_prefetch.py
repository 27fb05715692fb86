"""The Rust probes a check will most likely ask, named before any of them has answered.

Resolving the toolchain is a chain: ``rustup toolchain list`` decides between the pin and the
distribution's rustc, whose ``--version`` and ``--print sysroot`` come next, and only then do
``rustc -Z help``, ``rustfmt --version`` and ``rustup --version`` follow (~120 ms one after
another here). The checks hand these guesses to the engine's prefetch, so they all start at
once; the runner keeps each answer, so the chain then reads them instead of waiting. The
guesses use the exact argv, timeout and environment the facts and checks ask with (the
runner's cache key), and only cheap, local reads decide them: a wrong guess costs one probe.
"""

from __future__ import annotations

import os
from typing import Optional

from kdoctor.facts import rustup as _rustup
from kdoctor.facts.probe_request import ProbeRequest
from kdoctor.facts.rustc import distro_rustc, find_rustfmt
from kdoctor.facts.rustup import PROBE_ENV, find_rustup, has_home, names_pin, rustup_env
from kdoctor.facts.toolchain_pin import rustup_home
from kdoctor.machine.system import System
from kdoctor.model.context import Context


def rustc_probes(rustc: str) -> list[ProbeRequest]:
    """What the toolchain fact, the compat check and the rustfmt check ask of ``rustc``."""
    timeout = _rustup.RUSTC_TIMEOUT  # read now: the same timeout the askers use
    return [
        ProbeRequest((rustc, "--version"), timeout, PROBE_ENV),
        ProbeRequest((rustc, "--print", "sysroot"), timeout, PROBE_ENV),
        # compat's question: {**PROBE_ENV, **chosen.env, RUSTC_BOOTSTRAP=1} is this for any
        # rustc that is not the pin's (their env holds RUSTC_BOOTSTRAP=1 or nothing)
        ProbeRequest((rustc, "-Z", "help"), timeout, {**PROBE_ENV, "RUSTC_BOOTSTRAP": "1"}),
    ]


def pin_looks_installed(ctx: Context, system: System) -> bool:
    """Whether rustup's toolchains directory holds the pin (a guess: rustup itself decides)."""
    toolchains = os.path.join(rustup_home(system.env), "toolchains")
    return any(names_pin(ctx, name) for name in system.listdir(toolchains))


def likely_rust_probes(ctx: Context, system: System) -> list[ProbeRequest]:
    """The slow Rust probes this run will ask, in the order they would otherwise chain."""
    asks: list[ProbeRequest] = []
    rustc: Optional[str] = None
    rustc_var = ctx.env.get("RUSTC")
    if rustc_var:
        rustc = system.which(rustc_var)
    else:
        rustup, _ = find_rustup(system)
        if rustup is not None and ctx.rust_mode != "distro":
            timeout = _rustup.RUSTUP_TIMEOUT
            if has_home(system):  # without one rustup is not asked its list (it would make it)
                asks.append(ProbeRequest((rustup, "toolchain", "list"), timeout, PROBE_ENV))
            version_env = rustup_env(system, ("--version",))
            asks.append(ProbeRequest((rustup, "--version"), timeout, version_env))
        if ctx.rust_mode == "distro" or (
            ctx.rust_mode == "auto" and not (rustup and pin_looks_installed(ctx, system))
        ):
            rustc = distro_rustc(system)
    if rustc is not None:
        asks.extend(rustc_probes(rustc))
        rustfmt = find_rustfmt(system, rustc)
        if rustfmt is not None:
            asks.append(ProbeRequest((rustfmt, "--version"), _rustup.RUSTC_TIMEOUT, None))
    return asks
