"""A module's own toolchain pin, and only its own: a module without one is built with what its
environment selects; a pin file that cannot be used fails the toolchain check by name."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kdoctor.checks.rust_src import RustSrcCheck
from kdoctor.checks.rustup import RustupCheck
from kdoctor.checks.toolchain import ToolchainCheck
from kdoctor.facts import Facts
from kdoctor.facts.context import detect
from kdoctor.model.context import bundled_module_dir
from kdoctor.model.finding import Status
from kdoctor.model.need import Package
from kdoctor.model.report import Report
from kdoctor.pipeline.planner import fix_of, make_plan
from tests.conftest import make_context, run_check
from tests.fake_system import FakeSystem, Reply
from tests.test_rust_toolchain import DISTRO_RUSTC, HOME, STABLE, library, machine

MODULE = "/src/mine"
STABLE_ROOT = f"{HOME}/.rustup/toolchains/{STABLE}"
STABLE_RUSTC = f"{STABLE_ROOT}/bin/rustc"


def unpinned(system: FakeSystem, **ctx: Any) -> Any:
    return make_context(module_dir=MODULE, pin=None, **ctx)


def with_rustup_stable(**kw: Any) -> FakeSystem:
    system = machine(pin=False, **kw)
    system.files.update(library(f"{STABLE_ROOT}/lib/rustlib/src/rust/library"))
    system.programs[STABLE_RUSTC] = STABLE_RUSTC
    system.maybe["rustup which rustc"] = STABLE_RUSTC + "\n"
    system.maybe[f"{STABLE_RUSTC} --version"] = "rustc 1.95.0 (59807616e 2026-04-14)\n"
    system.maybe[f"{STABLE_RUSTC} --print sysroot"] = STABLE_ROOT + "\n"
    return system


def test_without_a_pin_the_toolchain_rustup_selects_is_used_and_no_pin_is_named() -> None:
    system = with_rustup_stable()
    ctx = unpinned(system)
    finding = run_check(ToolchainCheck(), ctx, system)
    assert finding.status is Status.OK, finding.summary
    assert finding.facts["source"] == "rustup" and finding.facts["rustc"] == STABLE_RUSTC
    assert "pins no toolchain" in finding.summary and STABLE in finding.summary
    assert "nightly-2021-02-12" not in json.dumps(finding.to_json())
    assert run_check(RustupCheck(), ctx, system).status is Status.OK


def test_without_a_pin_and_without_rustup_the_distribution_s_rustc_is_used() -> None:
    system = machine(rustup=False)
    ctx = unpinned(system)
    finding = run_check(ToolchainCheck(), ctx, system)
    assert finding.status is Status.OK, finding.summary
    assert finding.facts["source"] == "distro" and finding.facts["rustc"] == DISTRO_RUSTC
    rustup = run_check(RustupCheck(), ctx, system)
    assert rustup.status is Status.SKIP and "pins no toolchain" in rustup.summary
    assert not rustup.required
    assert "nightly-2021-02-12" not in json.dumps([finding.to_json(), rustup.to_json()])


def test_without_a_pin_and_without_any_rustc_fix_installs_the_distribution_s() -> None:
    system = machine(rustup=False, distro=None)
    ctx = unpinned(system)
    toolchain = run_check(ToolchainCheck(), ctx, system)
    assert toolchain.status is Status.FAIL
    assert all(isinstance(n, Package) for n in toolchain.needs) and toolchain.needs
    report = Report(ctx, (toolchain, run_check(RustSrcCheck(), ctx, system)), 0.0)
    plan = make_plan(Facts(ctx, system), report)
    [install] = [s for s in plan.steps if s.fix == "packages" and "install" in s.argv]
    assert "rustc-web" in install.argv and "nightly-2021-02-12" not in " ".join(plan.notes)
    assert not [s for s in plan.steps if s.fix == "rust"]  # no rustup, no pin to install


def test_rust_pin_without_a_pin_fails_and_says_why() -> None:
    system = with_rustup_stable()
    finding = run_check(ToolchainCheck(), unpinned(system, rust_mode="pin"), system)
    assert finding.status is Status.FAIL
    assert "pins no toolchain" in finding.summary and "--rust auto" in finding.summary


BAD_PINS = {
    "not toml": "[toolchain\nchannel = ",
    "channel a number": "[toolchain]\nchannel = 3\n",
    "no toolchain table": "[other]\nchannel = 'nightly'\n",
    "shell in the channel": '[toolchain]\nchannel = "nightly; touch /tmp/pwned"\n',
    "command substitution": '[toolchain]\nchannel = "$(id)"\n',
    "legacy with a space": "nightly 2021\nmore\n",
}


@pytest.mark.parametrize("text", BAD_PINS.values(), ids=BAD_PINS.keys())
def test_a_pin_file_that_cannot_be_used_fails_by_name_and_is_never_replaced(text: str) -> None:
    pin_file = f"{MODULE}/rust-toolchain.toml"
    system = with_rustup_stable()
    system.files[pin_file] = text
    ctx = detect(system, module_dir=MODULE)
    assert ctx.pin is None and ctx.pin_problem is not None and pin_file in ctx.pin_problem
    finding = run_check(ToolchainCheck(), ctx, system)
    assert finding.status is Status.FAIL and finding.required
    assert finding.summary.startswith(pin_file)
    assert finding.remediation is not None and "[toolchain]" in finding.remediation.text
    assert finding.needs == () and fix_of(finding) is None  # the module's own file: no step
    for word in ("; touch", "$(id)"):
        if word in text:
            assert all(word not in c for c in finding.remediation.commands)


def test_the_bundled_module_keeps_its_own_pin() -> None:
    system = FakeSystem(files={})
    pin_path = os.path.join(bundled_module_dir(), "rust-toolchain.toml")
    system.files[pin_path] = Path(pin_path).read_text()
    ctx = detect(system)
    assert ctx.pin is not None and ctx.pin.channel == "nightly-2021-02-12"
    assert ctx.pin_problem is None


@pytest.mark.integration
def test_a_real_module_without_a_pin_file_is_never_checked_against_the_bundled_pin(
    tmp_path: Path,
) -> None:
    module = tmp_path / "mine"
    shutil.copytree(bundled_module_dir(), module, ignore=shutil.ignore_patterns("target"))
    (module / "rust-toolchain.toml").unlink()
    env = {**os.environ, "KDOCTOR_CACHE": str(tmp_path / "cache")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run(
        [sys.executable, "-m", "kdoctor", "check", "--json", "--module-dir", str(module)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    data = json.loads(done.stdout)
    assert data["context"]["pin"] is None and data["context"]["pin_problem"] is None
    rust = [c for c in data["checks"] if c["id"] in ("rustup", "toolchain", "rust-src", "rustfmt")]
    assert "nightly-2021-02-12" not in json.dumps(rust)
    [toolchain] = [c for c in rust if c["id"] == "toolchain"]
    assert toolchain["facts"]["source"] in ("rustup", "distro", "env")


def test_rustup_s_toolchain_without_library_sources_gives_way_to_a_usable_distro_one() -> None:
    system = machine(pin=False)
    system.programs[STABLE_RUSTC] = STABLE_RUSTC
    system.maybe["rustup which rustc"] = STABLE_RUSTC + "\n"
    system.maybe[f"{STABLE_RUSTC} --version"] = Reply(stdout="rustc 1.95.0 (x 2026-04-14)\n")
    system.maybe[f"{STABLE_RUSTC} --print sysroot"] = STABLE_ROOT + "\n"
    finding = run_check(ToolchainCheck(), unpinned(system), system)
    assert finding.status is Status.OK and finding.facts["source"] == "distro"
    assert f"rustup's {STABLE} is not usable" in finding.facts["reason"]


def test_the_toolchain_rustup_selects_is_told_through_the_catalogs(pseudo: None) -> None:
    """The summary of an unpinned module's rustup toolchain is one translated sentence."""
    from tests.i18n_support import whole

    system = with_rustup_stable()
    finding = run_check(ToolchainCheck(), unpinned(system), system)
    assert finding.status is Status.OK and whole(finding.summary), finding.summary
    assert "rustc 1.95.0" in finding.summary
