"""The fixes of cargo-driven modules: the matched cargo and the packaged crates in the one
package transaction, the crate source in kdoctor's own cargo home, CARGO_HOME persisted, what
only the person can change said in the plan; and the build running the matched cargo."""

from __future__ import annotations

from kdoctor.facts import Facts
from kdoctor.knowledge.cargo import (
    cargo_release,
    debian_crate_packages,
    first_error,
    source_replacement,
    unresolved_crate,
)
from kdoctor.knowledge.commands import need_commands
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import ByHand, CargoSource, Package, Setting
from kdoctor.model.plan import Plan
from kdoctor.model.report import Report
from kdoctor.pipeline.build import build_env, make_argv
from kdoctor.pipeline.planner import make_plan
from tests.conftest import make_context
from tests.fake_system import FakeSystem

HOME = "/root/.cache/kdoctor/cargo-home"
VENDOR = "/usr/lib/rustlib/src/rust/library/vendor"
REGISTRY = "/usr/share/cargo/registry"
SOURCE = CargoSource((VENDOR, REGISTRY), HOME)


def plan_for(*findings: Finding, system: FakeSystem) -> Plan:
    ctx = make_context()
    return make_plan(Facts(ctx, system), Report(ctx, findings, 0.0))


def apt_system() -> FakeSystem:
    return FakeSystem(
        programs={"apt-cache": "/usr/bin/apt-cache"},
        commands={
            f"apt-cache policy {n}": f"{n}:\n  Installed: (none)\n  Candidate: 1.0-1\n"
            for n in ("cargo-web", "librust-bitflags-dev")
        },
        dirs={"/var/lib/apt/lists": []},
    )


def test_the_crates_fix_installs_writes_kdoctors_cargo_home_and_persists_cargo_home() -> None:
    crates = Finding(
        "crates",
        Status.FAIL,
        "cargo cannot resolve bitflags",
        needs=(
            Package("crate bitflags", ("librust-bitflags-dev",)),
            SOURCE,
            Setting("CARGO_HOME", HOME),
        ),
    )
    cargo = Finding("cargo", Status.FAIL, "no cargo", needs=(Package("cargo-web", ("cargo-web",)),))
    plan = plan_for(cargo, crates, system=apt_system())
    steps = plan.steps
    installs = [s for s in steps if s.fix == "packages" and "install" in s.argv]
    assert len(installs) == 1
    assert {"cargo-web", "librust-bitflags-dev"} <= set(installs[0].argv)
    mine = [s for s in steps if s.fix == "cargo-source"]
    assert [s.argv for s in mine if s.argv] == [
        ("rm", "-rf", f"{HOME}/crates"),
        ("mkdir", "-p", f"{HOME}/crates"),
        ("cp", "-rsn", f"{VENDOR}/.", f"{HOME}/crates"),
        ("cp", "-rsn", f"{REGISTRY}/.", f"{HOME}/crates"),
    ]
    [edit] = [s.edit for s in mine if s.edit]
    assert edit.path == f"{HOME}/config.toml"
    assert f'directory = "{HOME}/crates"' in edit.text
    assert 'replace-with = "debian-packages"' in edit.text
    assert not any(s.root for s in mine)  # kdoctor's own cache, no root
    # packages first, then the crate source; CARGO_HOME in kdoctor's settings file
    assert steps.index(installs[0]) < steps.index(mine[0])
    [settings] = [s for s in steps if s.settings]
    assert settings.settings == {"CARGO_HOME": HOME}
    assert settings.edit is not None and "export CARGO_HOME=" in settings.edit.text
    # nothing of the person's ~/.cargo
    assert not any(s.edit and s.edit.path.startswith("/root/.cargo") for s in steps)


def test_what_only_the_person_can_change_is_said_in_the_plan() -> None:
    target = Finding(
        "module-target",
        Status.FAIL,
        "no x86_64-linux-kernel",
        needs=(
            ByHand("module-target", "it changes the module's own files", "Pin nightly-2020-11-30."),
        ),
    )
    plan = plan_for(target, system=FakeSystem())
    assert plan.steps == ()
    assert plan.notes == (
        "module-target: kdoctor fix cannot repair this: it changes the module's own files. "
        "Pin nightly-2020-11-30.",
    )


def test_the_crate_source_command_a_person_runs_matches_the_plan() -> None:
    [shown] = need_commands([SOURCE], manager="apt", is_root=True)
    assert shown.startswith(f"rm -rf {HOME}/crates && mkdir -p {HOME}/crates && cp -rsn")
    assert f"> {HOME}/config.toml" in shown


def test_the_build_passes_the_matched_cargo_and_kdoctors_cargo_home() -> None:
    ctx = make_context(env={"CARGO_HOME": HOME})
    argv = make_argv(ctx, "/src/mod", "/usr/bin/rustc", cargo="/usr/bin/cargo")
    assert argv[-2:] == ["RUSTC=/usr/bin/rustc", "CARGO=/usr/bin/cargo"]
    env = build_env(ctx, {"RUSTC_BOOTSTRAP": "1"}, "/usr/bin", "/root/.cargo/bin:/usr/bin")
    assert env["PATH"] == "/usr/bin:/root/.cargo/bin:/usr/bin"
    assert env["CARGO_HOME"] == HOME
    plain = build_env(make_context(), {})
    assert "PATH" not in plain and "CARGO_HOME" not in plain
    assert not any(a.startswith("CARGO=") for a in make_argv(ctx, "/m", "/usr/bin/rustc"))


def test_cargo_knowledge() -> None:
    assert str(cargo_release("cargo 0.66.0")) == "1.65.0"
    assert str(cargo_release("cargo 1.96.0 (30a34c682 2026-05-25)")) == "1.96.0"
    assert debian_crate_packages("linux_kernel_module", "0.54") == (
        "librust-linux-kernel-module-0.54-dev",
        "librust-linux-kernel-module-dev",
    )
    assert debian_crate_packages("bitflags", "1") == (
        "librust-bitflags-1-dev",
        "librust-bitflags-dev",
    )
    line = first_error(
        "warning: x\nerror: error loading target specification: a, expected one of b"
    )
    assert line == "error: a"
    text = (
        'error: failed to select a version for the requirement `bindgen = "^0.54"`\n'
        "candidate versions found which didn't match: 0.60.1\n"
    )
    assert unresolved_crate(text) == ("bindgen", "^0.54", "0.60.1")
    assert 'directory = "/x"' in source_replacement("/x")
