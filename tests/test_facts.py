"""The fact layer: each fact once per Facts, shared by every check of a run."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from kdoctor.checks.base import select
from kdoctor.checks.compat import CompatCheck
from kdoctor.facts import FactCycle, Facts
from kdoctor.facts.clang import ClangChoice, chosen_clang
from kdoctor.facts.rust import pin_status, rust_toolchain
from kdoctor.pipeline.diagnose import run_checks
from tests.conftest import make_context
from tests.fake_system import FakeSystem
from tests.once import once_per_run
from tests.test_rust_toolchain import PIN, RUSTUP, machine

RUST_CHECKS = ["rustup", "toolchain", "rust-src", "rustfmt", "compat"]


def facts_of(system: FakeSystem) -> Facts:
    return Facts(make_context(), system)


def test_a_fact_is_computed_once_however_many_threads_ask_at_once() -> None:
    facts = facts_of(FakeSystem())
    computed: list[int] = []
    started = threading.Barrier(16)

    def slow(_facts: Facts) -> int:
        computed.append(1)
        time.sleep(0.05)  # every other asker arrives while this one computes
        return 42

    def ask(_: int) -> int:
        started.wait()
        return facts.of(slow)

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(ask, range(16)))
    assert answers == [42] * 16
    assert computed == [1]
    assert facts.of(slow) == 42 and computed == [1]
    assert facts.known(slow)


def test_an_exception_reaches_every_asker_and_is_not_recomputed() -> None:
    facts = facts_of(FakeSystem())
    computed: list[int] = []
    started = threading.Barrier(8)

    def broken(_facts: Facts) -> int:
        computed.append(1)
        time.sleep(0.05)
        raise ValueError("garbled")

    def ask(_: int) -> str:
        started.wait()
        try:
            facts.of(broken)
        except ValueError as exc:
            return str(exc)
        return "no exception"

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(ask, range(8))) == ["garbled"] * 8
    with pytest.raises(ValueError, match="garbled"):
        facts.of(broken)
    assert computed == [1]


def test_facts_are_per_instance() -> None:
    system = FakeSystem()
    count: list[int] = []

    def counted(_facts: Facts) -> int:
        count.append(1)
        return len(count)

    assert facts_of(system).of(counted) == 1
    assert facts_of(system).of(counted) == 2


def test_a_fact_that_asks_for_itself_fails_instead_of_hanging() -> None:
    def selfish(facts: Facts) -> int:
        return facts.of(selfish)

    with pytest.raises(FactCycle, match="selfish"):
        facts_of(FakeSystem()).of(selfish)


def test_facts_may_read_other_facts() -> None:
    system = FakeSystem(programs={"clang-15": "/usr/bin/clang-15"})
    facts = Facts(make_context(env={"CLANG": "clang-15"}), system)

    def clang_path(facts: Facts) -> object:
        return facts.system.which(facts.of(chosen_clang).command)

    assert facts.of(clang_path) == "/usr/bin/clang-15"
    assert facts.of(chosen_clang) == ClangChoice("clang-15", "CLANG")


def test_run_checks_resolves_rust_once_for_the_five_rust_checks() -> None:
    system = once_per_run(machine())  # the prefetch and the facts ask with the same key
    report = run_checks(select(RUST_CHECKS), Facts(make_context(), system))
    assert {f.id for f in report.findings} == set(RUST_CHECKS)
    assert all(f.status.value != "error" for f in report.findings), report.findings
    # what resolution asks: the pin's rustc, its sysroot, rustup's toolchains: each once
    asked = [" ".join(call) for call in system.calls]
    assert asked.count(f"{RUSTUP} toolchain list") == 1
    assert asked.count(f"{RUSTUP} which rustc --toolchain {PIN}") == 1
    assert sum(1 for a in asked if a.endswith("rustc --version")) == 1
    assert sum(1 for a in asked if a.endswith("rustc --print sysroot")) == 1


def test_run_checks_gives_every_check_the_same_facts() -> None:
    seen: list[Facts] = []

    class Spy(CompatCheck):
        def run(self, facts: Facts) -> object:  # type: ignore[override]
            seen.append(facts)
            return super().run(facts)

    checks = [Spy(), Spy(), Spy()]
    run_checks(checks, Facts(make_context(), machine()))  # type: ignore[arg-type]
    assert len(seen) == 3 and seen[0] is seen[1] is seen[2]


def test_run_checks_reads_a_shared_facts_when_given_one() -> None:
    system = machine()
    shared = Facts(make_context(), system)
    toolchain = shared.of(rust_toolchain)
    before = len(system.calls)
    report = run_checks(select(["toolchain", "rust-src"]), shared)
    assert report.by_id("toolchain").facts["rustc"] == toolchain.rustc
    asked = [" ".join(call) for call in system.calls[before:]]
    assert not any(a.endswith("rustc --version") for a in asked)  # resolved already
    assert shared.known(pin_status)
