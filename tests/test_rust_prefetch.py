"""The Rust probes a check run starts at once (kdoctor/facts/rust_prefetch.py, the toolchain
check's prefetch): the same keys the facts and checks ask with, nothing they would not ask in
the usual cases, and the chain (rustup's list, then rustc's version, then its sysroot, then
-Z help, rustfmt and rustup versions) overlapped instead of waited for."""

from __future__ import annotations

import time
from typing import Any, Optional

import pytest

from kdoctor.checks.base import select
from kdoctor.facts import Facts
from kdoctor.facts.rust_prefetch import likely_rust_probes
from kdoctor.pipeline.diagnose import run_checks
from tests.conftest import make_context
from tests.fake_system import FakeSystem
from tests.once import once_per_run
from tests.test_rust_toolchain import DISTRO_RUSTC, PIN_RUSTC, RUSTUP, machine

RUST_CHECKS = ["rustup", "toolchain", "rust-src", "rustfmt", "compat"]
SCENARIOS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("auto, pin installed", {}, {}),
    ("auto, no pin", {"pin": False, "distro_rustfmt": True}, {}),
    ("distro", {"distro_rustfmt": True}, {"rust_mode": "distro"}),
    ("pin", {}, {"rust_mode": "pin"}),
    ("RUSTC", {}, {"env": {"RUSTC": DISTRO_RUSTC}}),
]


def asked(system: FakeSystem) -> list[str]:
    return [" ".join(call) for call in system.calls]


@pytest.mark.parametrize(("name", "kind", "ctx"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_every_prefetched_probe_is_one_the_checks_ask_with_the_same_key(
    name: str, kind: dict[str, Any], ctx: dict[str, Any]
) -> None:
    context = make_context(**ctx)
    system = once_per_run(machine(**kind))
    guessed = {" ".join(a.argv) for a in likely_rust_probes(context, machine(**kind))}
    report = run_checks(select(RUST_CHECKS), Facts(context, system))
    assert all(f.status.value != "error" for f in report.findings), report.findings
    calls = asked(system)
    # a prefetch with another timeout-free key (env, cwd) than its asker is a second call
    assert len(calls) == len(set(calls)), sorted(calls)
    assert guessed <= set(calls), guessed - set(calls)
    assert guessed, "nothing prefetched"


def test_the_guess_follows_the_pin_when_rustup_has_it_and_the_distro_rustc_otherwise() -> None:
    with_pin = {" ".join(a.argv) for a in likely_rust_probes(make_context(), machine())}
    assert f"{RUSTUP} toolchain list" in with_pin
    assert not any(a.startswith(DISTRO_RUSTC) for a in with_pin)
    without = {" ".join(a.argv) for a in likely_rust_probes(make_context(), machine(pin=False))}
    assert {f"{DISTRO_RUSTC} --version", f"{DISTRO_RUSTC} --print sysroot"} <= without
    assert f"{DISTRO_RUSTC} -Z help" in without
    distro = {
        " ".join(a.argv) for a in likely_rust_probes(make_context(rust_mode="distro"), machine())
    }
    assert not any(a.startswith(RUSTUP) for a in distro)  # --rust distro never asks rustup
    assert not any(a.startswith(PIN_RUSTC) for a in with_pin | without | distro)


def slow(seconds: float) -> Any:
    def handler(_argv: Any, _cwd: Optional[str], _env: Any) -> None:
        time.sleep(seconds)
        return None  # then the machine's usual answer

    return handler


def test_the_rust_chain_overlaps_instead_of_waiting_probe_after_probe() -> None:
    delay = 0.4
    system = once_per_run(machine(pin=False, distro_rustfmt=True))
    for key in (
        "rustup toolchain list",
        "rustup --version",
        f"{DISTRO_RUSTC} --version",
        f"{DISTRO_RUSTC} --print sysroot",
        f"{DISTRO_RUSTC} -Z help",
        "/usr/bin/rustfmt --version",
    ):
        system.handlers[key] = slow(delay)
    started = time.monotonic()
    report = run_checks(select(RUST_CHECKS), Facts(make_context(), system))
    took = time.monotonic() - started
    assert report.by_id("toolchain").found and "1.96.0" in str(report.by_id("toolchain").found)
    # one after another: list, then version, then sysroot, then the rest (>= 4 delays)
    assert took < 2.5 * delay, f"{took:.2f} s: the Rust probes waited for each other"


def test_prefetched_probes_get_their_own_threads_and_never_queue_the_checks() -> None:
    from kdoctor.checks.base import Check
    from kdoctor.facts import Facts
    from kdoctor.facts.probe_request import ProbeRequest
    from kdoctor.model.finding import Finding

    delay = 0.4
    names = [f"tool{i}" for i in range(8)]
    system = FakeSystem(
        programs={n: f"/usr/bin/{n}" for n in names},
        commands={f"{n} --version": "1\n" for n in names},
        handlers={n: slow(delay) for n in names},
    )

    class Eager(Check):
        id = "eager"
        title = "eager"

        def prefetch(self, facts: Facts) -> list[ProbeRequest]:
            return [ProbeRequest((n, "--version")) for n in names]

        def run(self, facts: Facts) -> Finding:
            return self.ok("fine")

    started = time.monotonic()
    run_checks([Eager(), Eager()], Facts(make_context(), once_per_run(system)))
    took = time.monotonic() - started
    # on two workers, eight prefetched probes of 0.4 s alone would take 1.6 s
    assert took < 2.5 * delay, f"{took:.2f} s: prefetched probes queued behind each other"


def test_the_facts_guesses_are_the_checks_probe_requests_as_they_are() -> None:
    """One probe-request type (kdoctor.facts.probe_request), from the facts' guesses through a
    check's prefetch to the engine: nothing copied from one shape into another."""
    from kdoctor.checks import base
    from kdoctor.checks.toolchain import ToolchainCheck
    from kdoctor.facts import Facts
    from kdoctor.facts.probe_request import ProbeRequest

    assert base.ProbeRequest is ProbeRequest
    context, system = make_context(), machine()
    guessed = likely_rust_probes(context, system)
    assert guessed and all(type(a) is ProbeRequest for a in guessed)
    assert ToolchainCheck().prefetch(Facts(context, system)) == guessed
