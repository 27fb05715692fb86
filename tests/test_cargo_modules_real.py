"""The cargo-driven fixtures on this machine's real tools: check's verdict and the real build's
outcome together, and each fixable cause's fix (or the remedy the check names) getting the
build past that cause.

tests/fixtures/modules/cargo-build-std: the fishinabarrel generation (a Kbuild running
``cargo build -Z build-std=core,alloc --target x86_64-linux-kernel``, a crate dependency, a
build.rs kernel version guard). tests/fixtures/modules/xbuild-json: the 2019 fork (``cargo
xbuild`` for a target JSON with a field modern rustc rejects, inside a Makefile conditional).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import pytest

from kdoctor.facts import Facts
from kdoctor.facts.context import detect
from kdoctor.machine.runner import Runner
from kdoctor.pipeline.apply import apply_plan
from kdoctor.pipeline.diagnose import diagnose
from kdoctor.pipeline.planner import make_plan

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "modules"
RUSTC = "/usr/bin/rustc"
KDIRS = sorted(p for p in glob.glob("/lib/modules/*/build") if os.path.isfile(f"{p}/Makefile"))
RELEASE = os.path.basename(os.path.dirname(KDIRS[-1])) if KDIRS else ""
PROXY = os.path.expanduser("~/.cargo/bin/cargo")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not KDIRS, reason="needs kernel headers in /lib/modules/*/build"),
    pytest.mark.skipif(not os.path.isfile(RUSTC), reason=f"needs the distribution's {RUSTC}"),
]


def fixture(tmp_path: Path, name: str) -> Path:
    copy = tmp_path / name
    shutil.copytree(FIXTURES / name, copy)
    return copy


def environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    """kdoctor's settings and cache in ``tmp_path`` (nothing of the person's is touched)."""
    env = {k: v for k, v in os.environ.items() if k not in ("CARGO", "RUSTFLAGS", "KDIR")}
    env.update(
        KDOCTOR_CONFIG=str(tmp_path / "config" / "env"),
        KDOCTOR_CACHE=str(tmp_path / "cache"),
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def kdoctor(command: str, module: Path, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    argv = [sys.executable, "-m", "kdoctor", command, "--module-dir", str(module)]
    # the distribution's rustc-web (and cargo-web): what these tests measure, whatever else
    # rustup has
    argv += ["--kernel", RELEASE, "--rust", "distro", "--json"]
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    return done.returncode, json.loads(done.stdout)


def finding(report: dict[str, Any], check: str) -> dict[str, Any]:
    found: dict[str, Any] = next(f for f in report["checks"] if f["id"] == check)
    return found


def log_of(build: dict[str, Any]) -> str:
    return Path(build["log"]).read_text(errors="replace")


def remedy(found: dict[str, Any]) -> str:
    fix = found.get("remediation") or {}
    return str(fix.get("text", "")) + "\n" + "\n".join(fix.get("commands", []))


def target_json(directory: Path) -> Path:
    """x86_64-linux-kernel's settings for this rustc: its own x86_64-unknown-none, statically
    relocated (what the removed built-in target was)."""
    done = subprocess.run(
        [RUSTC, "-Zunstable-options", "--print=target-spec-json", "--target=x86_64-unknown-none"],
        env={**os.environ, "RUSTC_BOOTSTRAP": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    spec = json.loads(done.stdout)
    spec.pop("metadata", None)
    spec.update(
        {
            "relocation-model": "static",
            "position-independent-executables": False,
            "static-position-independent-executables": False,
        }
    )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "x86_64-linux-kernel.json"
    path.write_text(json.dumps(spec, indent=2))
    return path


def installed(package: str) -> bool:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
    )
    return "install ok installed" in done.stdout


def test_cargo_build_std_check_fails_on_the_removed_target_and_the_build_fails_on_it(
    tmp_path: Path,
) -> None:
    module = fixture(tmp_path, "cargo-build-std")
    env = environ(tmp_path)
    code, report = kdoctor("check", module, env)
    assert code != 0
    assert report["context"]["module"]["driver"] == "cargo-build-std"
    target = finding(report, "module-target")
    assert target["status"] == "fail" and target["required"]
    assert "no built-in target x86_64-linux-kernel" in target["summary"]
    assert "renamed x86_64-unknown-none-linuxkernel in December 2020" in target["summary"]
    assert "nightly-2020-11-30" in remedy(target) and "target JSON" in remedy(target)

    code, build = kdoctor("build", module, env)
    assert code != 0 and not build["ok"]
    assert 'could not find specification for target "x86_64-linux-kernel"' in log_of(build)


def test_xbuild_json_check_fails_on_xbuild_and_the_json_and_the_build_fails(
    tmp_path: Path,
) -> None:
    module = fixture(tmp_path, "xbuild-json")
    env = environ(tmp_path)
    code, report = kdoctor("check", module, env)
    assert code != 0
    assert report["context"]["module"]["driver"] == "cargo-xbuild"
    cargo = finding(report, "cargo")
    assert cargo["status"] == "fail" and cargo["required"]
    assert "xbuild" in cargo["summary"]
    target = finding(report, "module-target")
    assert target["status"] == "fail"
    assert "unknown field `eliminate-frame-pointer`" in target["summary"]
    assert "frame-pointer" in remedy(target)

    code, build = kdoctor("build", module, env)
    assert code != 0 and not build["ok"]
    assert "no such command: `xbuild`" in log_of(build)


@pytest.mark.skipif(not os.path.isfile(PROXY), reason="needs rustup's cargo proxy")
def test_rustups_proxy_without_a_toolchain_is_named_and_the_matched_cargo_gets_past_it(
    tmp_path: Path,
) -> None:
    module = fixture(tmp_path, "cargo-build-std")
    (tmp_path / "empty-rustup").mkdir()
    broken = environ(tmp_path, CARGO=PROXY, RUSTUP_HOME=str(tmp_path / "empty-rustup"))
    code, report = kdoctor("check", module, broken)
    cargo = finding(report, "cargo")
    assert code != 0 and cargo["status"] == "fail"
    assert "rustup could not choose a version of cargo to run" in cargo["summary"]
    assert "apt-get install -y --no-install-recommends cargo-web" in remedy(cargo)
    code, build = kdoctor("build", module, broken)
    assert code != 0 and not build["ok"]
    assert "rustup could not choose a version of cargo to run" in log_of(build)

    # the plan installs the cargo of rustc-web's release
    system = Runner(broken)
    ctx = detect(system, kernel=RELEASE, module_dir=str(module), rust_mode="distro")
    facts = Facts(ctx, system)
    plan = make_plan(facts, diagnose(facts))
    assert any("cargo-web" in s.argv for s in plan.steps if s.fix == "packages")

    if not installed("cargo-web"):
        pytest.skip("cargo-web is not installed (scripts/test.sh installs it)")
    fixed = environ(tmp_path)
    _, report = kdoctor("check", module, fixed)
    assert finding(report, "cargo")["status"] == "ok"
    _, build = kdoctor("build", module, fixed)
    assert "CARGO=/usr/bin/cargo" in build["argv"]
    text = log_of(build)
    assert "rustup could not choose" not in text
    assert "/usr/bin/cargo build -Z build-std=core,alloc" in text
    assert 'could not find specification for target "x86_64-linux-kernel"' in text


def _apply_cargo_source(env: dict[str, str], module: Path) -> Optional[str]:
    system = Runner(env)
    ctx = detect(system, kernel=RELEASE, module_dir=str(module), rust_mode="distro")
    facts = Facts(ctx, system)
    plan = make_plan(facts, diagnose(facts))
    mine = tuple(
        s for s in plan.steps if s.fix == "cargo-source" or "CARGO_HOME" in (s.settings or {})
    )
    assert any(s.edit is not None and s.edit.path.endswith("config.toml") for s in mine)
    result = apply_plan(replace(plan, steps=mine), ctx, system, log_dir=env["KDOCTOR_CACHE"])
    assert result.ok, result
    return Runner(env).read_text(ctx.settings_file)


@pytest.mark.skipif(
    not (installed("cargo-web") and installed("librust-bitflags-dev")),
    reason="needs cargo-web and librust-bitflags-dev (scripts/test.sh installs them)",
)
def test_the_crates_fix_gets_the_build_past_the_crates_to_the_kernel_guard(
    tmp_path: Path,
) -> None:
    module = fixture(tmp_path, "cargo-build-std")
    # the target remedy the check names: x86_64-linux-kernel.json on RUST_TARGET_PATH
    spec = target_json(tmp_path / "targets")
    env = environ(tmp_path, RUST_TARGET_PATH=str(spec.parent), RUSTFLAGS="-Zunstable-options")
    code, report = kdoctor("check", module, env)
    assert code != 0
    assert finding(report, "module-target")["status"] == "ok"
    crates = finding(report, "crates")
    assert crates["status"] == "fail" and crates["required"]
    assert "crates.io is unreachable" in crates["summary"]
    assert {n["kind"] for n in crates["needs"]} >= {"cargo-source", "setting"}
    _, build = kdoctor("build", module, env)
    assert not build["ok"]
    before = log_of(build)
    assert "crates.io" in before or "bitflags" in before
    assert "Please update build.rs" not in before

    settings = _apply_cargo_source(env, module)
    assert settings is not None and "CARGO_HOME=" in settings
    _, report = kdoctor("check", module, env)
    assert finding(report, "crates")["status"] == "ok", finding(report, "crates")["summary"]
    _, build = kdoctor("build", module, env)
    assert not build["ok"]
    after = log_of(build)
    assert "crates.io" not in after and "no matching package" not in after
    # past the crates and the target: the module's own kernel guard (kernel-range) stops it
    assert "Please update build.rs with the last 5.x version" in after


@pytest.mark.skipif(shutil.which("apt-cache") is None, reason="needs apt")
def test_a_crate_no_packaged_version_meets_fails_naming_wanted_and_available(
    tmp_path: Path,
) -> None:
    module = fixture(tmp_path, "cargo-build-std")
    with (module / "Cargo.toml").open("a") as manifest:
        manifest.write('\n[build-dependencies]\nbindgen = "0.54"\n')
    env = environ(tmp_path)
    code, report = kdoctor("check", module, env)
    crates = finding(report, "crates")
    assert code != 0 and crates["status"] == "fail"
    offered = {o["crate"]: o for o in crates["facts"]["offers"]}
    bindgen = offered["bindgen"]
    assert bindgen["wanted"] == "0.54" and not bindgen["fits"]
    available = bindgen["version"].split("-")[0]
    assert f'bindgen = "0.54" is wanted, librust-bindgen-dev has {available}' in crates["summary"]
    assert [n["kind"] for n in crates["needs"]] == ["by-hand"]
    _, build = kdoctor("build", module, env)
    assert not build["ok"]
