"""A module's own toolchain pin, and only its own: a module without one is built with what its
environment selects; a pin file that cannot be used fails the toolchain check by name."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import pytest

from kdoctor.checks.rust_src import RustSrcCheck
from kdoctor.checks.rustup import RustupCheck
from kdoctor.checks.toolchain import ToolchainCheck
from kdoctor.facts import Facts
from kdoctor.facts.context import detect
from kdoctor.facts.module import read_module
from kdoctor.model.context import bundled_module_dir
from kdoctor.model.finding import Status
from kdoctor.model.need import Package
from kdoctor.model.report import Report
from kdoctor.model.toolchain_file import PinnedToolchain
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


# -- the pin as rustup looks it up: RUSTUP_TOOLCHAIN, rustup overrides, files up to / ----------
REPO = "/work/repo"
NESTED = f"{REPO}/tests/hello-world"
ROOT_PIN = '[toolchain]\nchannel = "nightly-2024-10-25"\ncomponents = ["rust-src"]\n'
SETTINGS = f"{HOME}/.rustup/settings.toml"


def settings(overrides: dict[str, str]) -> str:
    table = "".join(f'"{path}" = "{name}"\n' for path, name in overrides.items())
    return f'version = "12"\ndefault_toolchain = "{STABLE}"\n\n[overrides]\n{table}'


def looked_up(files: dict[str, str], env: Optional[dict[str, str]] = None) -> Any:
    """detect() on a machine with only ``files``: the pin is read, no command runs, nothing is
    written (rustup itself would write settings.toml into an empty RUSTUP_HOME)."""
    system = FakeSystem(files=files, env={"HOME": HOME, "PATH": "/usr/bin", **(env or {})})
    ctx = detect(system, module_dir=NESTED)
    assert system.calls == [] and system.runs == [] and system.writes == []
    return ctx


def test_a_module_below_a_pinned_repository_root_has_the_root_s_pin() -> None:
    ctx = looked_up({f"{REPO}/rust-toolchain.toml": ROOT_PIN, f"{NESTED}/Kbuild": "obj-m := x.o\n"})
    assert ctx.pin is not None and ctx.pin_problem is None
    assert (ctx.pin.channel, ctx.pin.path, ctx.pin.source) == (
        "nightly-2024-10-25",
        f"{REPO}/rust-toolchain.toml",
        "file",
    )
    assert ctx.pin.components == ("rust-src",)
    assert ctx.to_json()["pin"]["source"] == "file"
    module = read_module(FakeSystem(files={f"{REPO}/rust-toolchain.toml": ROOT_PIN}), NESTED)
    assert module.pin == ctx.pin and module.pin_source == f"{REPO}/rust-toolchain.toml"


def test_the_nearest_file_wins_and_rust_toolchain_beats_its_toml_sibling() -> None:
    files = {
        f"{REPO}/rust-toolchain.toml": ROOT_PIN,
        f"{REPO}/tests/rust-toolchain.toml": '[toolchain]\nchannel = "nightly-2023-01-01"\n',
        f"{REPO}/tests/rust-toolchain": "nightly-2022-02-02\n",
    }
    ctx = looked_up(files)
    assert ctx.pin is not None
    assert (ctx.pin.channel, ctx.pin.path) == ("nightly-2022-02-02", f"{REPO}/tests/rust-toolchain")


def test_a_rustup_override_beats_a_file_of_its_own_directory_and_not_a_nearer_file() -> None:
    files = {f"{REPO}/rust-toolchain.toml": ROOT_PIN, SETTINGS: settings({REPO: STABLE})}
    ctx = looked_up(files)
    assert ctx.pin is not None
    assert (ctx.pin.channel, ctx.pin.source, ctx.pin.directory, ctx.pin.path) == (
        STABLE,
        "override",
        REPO,
        "",
    )
    files[f"{NESTED}/rust-toolchain"] = "nightly-2021-02-12\n"
    nearer = looked_up(files)
    assert nearer.pin is not None and nearer.pin.channel == "nightly-2021-02-12"
    # RUSTUP_HOME is where rustup keeps its settings when it is set
    elsewhere = {
        f"{REPO}/rust-toolchain.toml": ROOT_PIN,
        "/opt/rustup/settings.toml": files[SETTINGS],
    }
    moved = looked_up(elsewhere, env={"RUSTUP_HOME": "/opt/rustup"})
    assert moved.pin is not None and moved.pin.source == "override"


def test_rustup_toolchain_beats_every_override_and_file() -> None:
    files = {f"{REPO}/rust-toolchain.toml": ROOT_PIN, SETTINGS: settings({NESTED: STABLE})}
    ctx = looked_up(files, env={"RUSTUP_TOOLCHAIN": "nightly-2021-02-12"})
    assert ctx.pin is not None
    assert (ctx.pin.channel, ctx.pin.source, ctx.pin.path) == ("nightly-2021-02-12", "env", "")


def test_nothing_anywhere_pins_nothing_and_an_unreadable_settings_file_is_no_override() -> None:
    ctx = looked_up({SETTINGS: "[overrides\n"})
    assert ctx.pin is None and ctx.pin_problem is None


def test_a_parent_s_pin_file_that_cannot_be_used_fails_the_toolchain_check_by_its_path() -> None:
    bad = f"{REPO}/rust-toolchain.toml"
    system = with_rustup_stable()
    system.files[bad] = "[toolchain\nchannel = "
    ctx = detect(system, module_dir=NESTED)
    assert ctx.pin is None and ctx.pin_problem is not None and ctx.pin_problem.startswith(bad)
    finding = run_check(ToolchainCheck(), ctx, system)
    assert finding.status is Status.FAIL and finding.found == bad
    assert finding.facts["pin_file"] == bad


@pytest.mark.parametrize(
    ("env", "files"),
    [
        ({"RUSTUP_TOOLCHAIN": "$(id)"}, {}),
        ({}, {SETTINGS: settings({REPO: "stable; touch /tmp/x"})}),
    ],
    ids=["RUSTUP_TOOLCHAIN", "override"],
)
def test_a_toolchain_name_rustup_would_not_take_is_a_problem_not_a_pin(
    env: dict[str, str], files: dict[str, str]
) -> None:
    system = with_rustup_stable(env=env)
    system.files.update(files)
    ctx = detect(system, module_dir=NESTED)
    assert ctx.pin is None and ctx.pin_problem is not None
    finding = run_check(ToolchainCheck(), ctx, system)
    assert finding.status is Status.FAIL and finding.found is None
    assert finding.summary.endswith("so the toolchain the module pins is unknown")
    assert finding.remediation is not None and "rustup override set" in finding.remediation.text


def test_a_parent_s_pin_that_is_not_installed_is_named_with_its_file() -> None:
    system = machine(pin=False)
    pin = PinnedToolchain(
        "nightly-2024-10-25", ("rust-src",), "minimal", f"{REPO}/rust-toolchain.toml"
    )
    ctx = make_context(module_dir=NESTED, pin=pin)
    finding = run_check(ToolchainCheck(), ctx, system)
    assert finding.status is Status.WARN  # --rust auto: the distribution's rustc builds it
    assert finding.summary.startswith(
        f"nightly-2024-10-25 (pinned by {REPO}/rust-toolchain.toml) is not installed; using the "
        "distribution's rustc 1.96.0"
    )
    refused = run_check(ToolchainCheck(), replace(ctx, rust_mode="pin"), machine(pin=False))
    assert refused.status is Status.FAIL and refused.required
    assert refused.summary == (
        f"nightly-2024-10-25 (pinned by {REPO}/rust-toolchain.toml) is not installed"
    )


def test_a_build_that_bypasses_the_pin_makes_rustup_s_proxies_run_the_chosen_rustc() -> None:
    from kdoctor.facts.rustc import RustToolchain
    from kdoctor.pipeline.provision import proxies_follow

    distro = RustToolchain(
        "distro", DISTRO_RUSTC, "1.96.0", "stable", "/usr", None, None, {}, "", True
    )
    system = machine(pin=False)  # rustup on PATH; nothing is asked
    pin = PinnedToolchain("nightly-2024-10-25", path=f"{REPO}/rust-toolchain.toml")
    facts = Facts(make_context(module_dir=NESTED, pin=pin), system)
    assert proxies_follow(facts, distro) == {"RUSTUP_TOOLCHAIN": "/usr"}
    # nothing to redirect: no pin, the pin itself, or no rustup
    assert proxies_follow(Facts(make_context(module_dir=NESTED, pin=None), system), distro) == {}
    assert proxies_follow(facts, replace(distro, source="pin")) == {}
    bare = Facts(make_context(module_dir=NESTED, pin=pin), machine(rustup=False))
    assert proxies_follow(bare, distro) == {}
