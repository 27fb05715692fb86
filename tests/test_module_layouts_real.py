"""Module layouts met in third-party repositories (issue 23), for real on this machine:
``kdoctor check``'s verdict and ``kdoctor build``'s outcome agree (check exits 0 only when the
build succeeds; when it cannot, a required check fails naming the cause the build hits first).

* ``pinned-at-root``: the module lives in ``tests/hello-world`` of a repository whose root pins
  ``nightly-2024-10-25`` (not installed here, and not installable offline): kdoctor finds the
  pin as rustup does, in a parent directory; with ``--rust auto`` it builds with the
  distribution's rustc and says why, with ``--rust pin`` check and build both stop on the pin.
* ``target-from-makefile-export``: the Makefile exports the target and the module's name to
  kbuild; the Kbuild's ``--target=$(TARGET_PROFILE)`` is read as make expands it (a removed
  built-in target: module-target fails on it, and so does the build).
* ``target-in-cargo-alias``: the target is in a cargo alias (``.cargo/config.toml``);
  module-target finds it, crates fails while crates.io is unreachable and the build stops on
  the same crates; after kdoctor's crates fix, check passes and the module builds.
* ``missing-target-json``: ``--target`` names a JSON path that does not exist: module-target
  fails naming it, and cargo stops on it; without ``-Zjson-target-spec`` (cargo 1.95+), both
  stop on that flag first.
* ``xbuild-archive-step``: the 2019 fork's layout: the Kbuild links
  ``target/<triple>/debug/libhello_world.a`` beside a ``Cargo.toml``, which ``cargo xbuild``
  (its README) makes before make. cargo-xbuild is packaged nowhere and crates.io is
  unreachable here: check fails naming the command and why, and the build stops on it (where
  plain make stops on "No rule to make target").
* ``cargo-step-build-std``: the same layout made by ``cargo build -Z build-std`` (its README),
  a driver this machine has: kdoctor build runs that step, then make; check passes exactly
  when that builds (after kdoctor's crates fix while crates.io is unreachable).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kdoctor.facts import Facts
from kdoctor.facts.context import detect
from kdoctor.machine.runner import Runner
from kdoctor.pipeline.apply import apply_plan
from kdoctor.pipeline.diagnose import diagnose
from kdoctor.pipeline.planner import make_plan
from tests.real_machine import cannot_run, real_kernel, require_real, require_tools

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "modules"
DISTRO_RUSTC = "/usr/bin/rustc"

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _real_machine() -> None:
    """make and this machine's target kernel, derived the way kdoctor does; else a skip that
    says what to install (a failure under CI=true)."""
    require_tools("make")
    real_kernel()


def environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The person's environment with kdoctor's cache and settings in ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if k not in ("CARGO", "RUSTFLAGS", "RUSTC")}
    env.update(
        KDIR=real_kernel().kdir,
        KDOCTOR_CACHE=str(tmp_path / "cache"),
        KDOCTOR_CONFIG=str(tmp_path / "config" / "env"),
        PYTHONPATH=str(ROOT),
        RUSTUP_AUTO_INSTALL="0",  # looking, and the by-hand build, must never download
    )
    env.pop("RUSTUP_TOOLCHAIN", None)
    env.update(extra)
    return env


def kdoctor(
    command: str, module: Path, env: dict[str, str], *args: str
) -> tuple[int, dict[str, Any], str]:
    """``python -m kdoctor COMMAND --module-dir MODULE ARGS --json``: (exit code, its JSON, its
    stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "kdoctor", command, "--module-dir", str(module), *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    return done.returncode, json.loads(done.stdout), done.stderr


def finding(report: dict[str, Any], check: str) -> dict[str, Any]:
    [found] = [f for f in report["checks"] if f["id"] == check]
    return found


def required_failures(report: dict[str, Any]) -> list[str]:
    return [f["id"] for f in report["checks"] if f["required"] and f["status"] in ("fail", "error")]


def copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    return target


def log_of(built: dict[str, Any]) -> str:
    return Path(built["log"]).read_text(errors="replace")


# -- a pin in a parent directory ------------------------------------------------------------
PINNED = "nightly-2024-10-25"


def _pin_not_installed(env: dict[str, str]) -> None:
    rustup = shutil.which("rustup", path=env.get("PATH"))
    if rustup is None:
        return
    listed = subprocess.run(
        [rustup, "toolchain", "list"], capture_output=True, text=True, env=env, check=False
    )
    if PINNED in listed.stdout:
        pytest.skip(f"{PINNED} is installed here: the module would build with it")


def test_a_pin_at_the_repository_root_is_the_module_s_and_check_and_build_agree(
    tmp_path: Path,
) -> None:
    repo = copy("pinned-at-root", tmp_path)
    module = repo / "tests" / "hello-world"
    env = environ(tmp_path)
    _pin_not_installed(env)
    code, report, _ = kdoctor("check", module, env)
    pin_file = str(repo / "rust-toolchain.toml")
    assert report["context"]["pin"]["channel"] == PINNED
    assert report["context"]["pin"]["path"] == pin_file
    assert report["context"]["module"]["pin_source"] == pin_file
    toolchain = finding(report, "toolchain")
    assert toolchain["summary"].startswith(f"{PINNED} (pinned by {pin_file}) is not installed")

    code_built, built, _ = kdoctor("build", module, env)
    # check exits 0 exactly when the build succeeds
    assert (code == 0) == bool(built.get("ok")), (required_failures(report), built)
    if os.path.isfile(DISTRO_RUSTC):
        assert toolchain["status"] == "warn" and toolchain["facts"]["rustc"] == DISTRO_RUSTC
        assert code == 0, required_failures(report)
        assert code_built == 0 and built["ok"] and built["ko"] == str(module / "hello.ko")
        assert f"RUSTC={DISTRO_RUSTC}" in built["argv"]


def test_a_build_reaching_rustups_proxy_by_name_runs_the_rustc_check_chose(
    tmp_path: Path,
) -> None:
    """The module's recipe runs `rustc` by name from its directory, where rustup's proxy would
    pick the root's pin (not installed): kdoctor's build names the distribution's toolchain to
    rustup (RUSTUP_TOOLCHAIN=<its directory>), so check's verdict holds for the build too."""
    env = environ(tmp_path)
    rustup = shutil.which("rustup", path=env.get("PATH"))
    require_real(
        rustup is not None and os.path.isfile(DISTRO_RUSTC),
        "needs rustup and the distribution's rustc (apt-get install rustc-web)",
    )
    _pin_not_installed(env)
    repo = copy("pinned-at-root", tmp_path)
    module = repo / "tests" / "hello-world"
    kbuild = module / "Kbuild"
    kbuild.write_text(kbuild.read_text().replace("&& $(RUSTC) ", "&& rustc "))
    code, report, _ = kdoctor("check", module, env)
    code_built, built, _ = kdoctor("build", module, env)
    assert (code == 0) == bool(built.get("ok")), (required_failures(report), built)
    assert code == 0 and code_built == 0 and built["ok"], built
    assert built["env"]["RUSTUP_TOOLCHAIN"] == "/usr"


def test_with_rust_pin_check_and_build_stop_on_the_parent_s_pin(tmp_path: Path) -> None:
    repo = copy("pinned-at-root", tmp_path)
    module = repo / "tests" / "hello-world"
    env = environ(tmp_path)
    _pin_not_installed(env)
    code, report, _ = kdoctor("check", module, env, "--rust", "pin")
    toolchain = finding(report, "toolchain")
    assert code != 0 and toolchain["status"] == "fail" and toolchain["required"]
    pin_file = repo / "rust-toolchain.toml"
    assert toolchain["summary"].startswith(f"{PINNED} (pinned by {pin_file}) is not installed")

    code, built, _ = kdoctor("build", module, env, "--rust", "pin")
    assert code != 0 and not built["ok"]
    assert built["error"] == "no usable Rust toolchain"


def test_by_hand_rustup_selects_the_parent_s_pin_in_the_module_s_directory(
    tmp_path: Path,
) -> None:
    """What kdoctor now reads is what rustup does: the module's own build, run by hand with
    rustup's proxy as rustc, stops on the root's pin (the failure measured with a real module
    before kdoctor looked in parent directories)."""
    env = environ(tmp_path)
    rustup = shutil.which("rustup", path=env.get("PATH"))
    rustc = shutil.which("rustc", path=env.get("PATH"))
    if rustup is None or rustc is None or os.path.dirname(rustc) != os.path.dirname(rustup):
        cannot_run(
            "needs rustup's rustc proxy first on PATH (kdoctor fix --allow-rustup-installer)"
        )
    _pin_not_installed(env)
    repo = copy("pinned-at-root", tmp_path)
    module = repo / "tests" / "hello-world"
    done = subprocess.run(
        ["make", "-C", str(module), f"KDIR={env['KDIR']}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0
    assert f"toolchain '{PINNED}" in done.stdout + done.stderr
    assert "is not installed" in done.stdout + done.stderr


# -- the target as the build names it -------------------------------------------------------
def distro_rust() -> None:
    """These modules are measured with the distribution's rustc and cargo (``--rust distro``)."""
    require_real(
        os.path.isfile(DISTRO_RUSTC) and os.path.isfile("/usr/bin/cargo"),
        "needs the distribution's rustc and cargo: apt-get install rustc-web cargo-web "
        "rust-web-src (Debian 12), or rustc cargo rust-src",
    )


def test_a_target_the_makefile_exports_is_the_one_check_and_build_stop_on(
    tmp_path: Path,
) -> None:
    distro_rust()
    module = copy("target-from-makefile-export", tmp_path)
    env = environ(tmp_path)
    code, report, _ = kdoctor("check", module, env, "--rust", "distro")
    context = report["context"]["module"]
    assert context["target"]["name"] == "x86_64-linux-kernel" and not context["target_unread"]
    assert context["ko_names"] == ["helloworld"]  # MODULE_NAME, exported by the Makefile
    assert finding(report, "kbuild-cmd")["facts"]["modules"] == {
        "helloworld": ["hello_world.rust.o"]
    }
    target = finding(report, "module-target")
    assert code != 0 and target["status"] == "fail" and target["required"]
    assert "has no built-in target x86_64-linux-kernel" in target["summary"]

    code, built, _ = kdoctor("build", module, env, "--rust", "distro")
    assert code != 0 and not built["ok"]
    assert built["cause"] == 'could not find specification for target "x86_64-linux-kernel"'


def _apply_crates_fix(env: dict[str, str], module: Path) -> None:
    """kdoctor fix's steps for the crates check only (its cargo home, CARGO_HOME)."""
    system = Runner(env)
    ctx = detect(system, kernel=real_kernel().release, module_dir=str(module), rust_mode="distro")
    facts = Facts(ctx, system)
    plan = make_plan(facts, diagnose(facts))
    mine = tuple(
        s for s in plan.steps if s.fix == "cargo-source" or "CARGO_HOME" in (s.settings or {})
    )
    if any(s.root for s in mine) and os.geteuid() != 0:
        pytest.skip("the crates fix installs packages here, which needs root")
    result = apply_plan(replace(plan, steps=mine), ctx, system, log_dir=env["KDOCTOR_CACHE"])
    assert result.ok, result


def test_a_target_in_a_cargo_alias_is_checked_and_built_with(tmp_path: Path) -> None:
    distro_rust()
    module = copy("target-in-cargo-alias", tmp_path)
    env = environ(tmp_path)
    code, report, _ = kdoctor("check", module, env, "--rust", "distro")
    target = finding(report, "module-target")
    alias = f"the alias kbuild in {module}/.cargo/config.toml"
    assert target["status"] == "ok", target
    assert target["summary"].startswith(f"x86_64-unknown-none ({alias}) is a built-in target")
    assert report["context"]["module"]["driver"] == "cargo-build-std"  # -Z build-std, aliased
    crates = finding(report, "crates")
    code_built, built, _ = kdoctor("build", module, env, "--rust", "distro")
    assert (code == 0) == bool(built["ok"]), (required_failures(report), built)
    if crates["status"] == "fail":  # crates.io is unreachable: both stop on the std's crates
        assert code != 0 and code_built != 0
        assert "crates.io is unreachable" in crates["summary"]
        assert "as a dependency of package" in built["cause"], built["cause"]

        _apply_crates_fix(env, module)
        code, report, _ = kdoctor("check", module, env, "--rust", "distro")
        assert finding(report, "crates")["status"] == "ok", finding(report, "crates")
        code_built, built, _ = kdoctor("build", module, env, "--rust", "distro")
        assert (code == 0) == bool(built["ok"]), (required_failures(report), built)
    assert built["ok"], built
    assert built["ko"] == str(module / "helloworld.ko")
    assert "/usr/bin/cargo kbuild" in log_of(built)
    assert (module / "target" / "x86_64-unknown-none" / "debug" / "libhello_world.a").is_file()


def test_a_missing_target_json_is_named_by_check_and_stops_cargo(tmp_path: Path) -> None:
    distro_rust()
    module = copy("missing-target-json", tmp_path)
    env = environ(tmp_path)
    missing = module / "targets" / "x86_64-linux-kernel-module.json"
    code, report, _ = kdoctor("check", module, env, "--rust", "distro")
    target = finding(report, "module-target")
    assert code != 0 and target["status"] == "fail" and target["required"]
    assert target["summary"] == f"the target JSON {missing} the build names does not exist"

    code, built, _ = kdoctor("build", module, env, "--rust", "distro")
    assert code != 0 and not built["ok"]
    assert built["cause"] == f"error: target path `{missing}` is not a valid file"


def test_a_json_target_without_json_target_spec_stops_check_and_build_on_the_flag(
    tmp_path: Path,
) -> None:
    distro_rust()
    module = copy("missing-target-json", tmp_path)
    kbuild = module / "Kbuild"
    kbuild.write_text(kbuild.read_text().replace(" -Zjson-target-spec", ""))
    env = environ(tmp_path)
    code, report, _ = kdoctor("check", module, env, "--rust", "distro")
    target = finding(report, "module-target")
    cargo_release = target["facts"].get("cargo_release")
    if target["status"] != "fail" or cargo_release is None:
        pytest.skip(f"this cargo loads a .json target without the flag: {target['summary']}")
    assert code != 0 and target["required"]
    assert "only with -Zjson-target-spec on its command line" in target["summary"]

    code, built, _ = kdoctor("build", module, env, "--rust", "distro")
    assert code != 0 and not built["ok"]
    assert "target specs require -Zjson-target-spec" in built["cause"], built["cause"]


# -- an archive a cargo step makes before make ----------------------------------------------
def test_an_xbuild_step_nobody_can_run_here_fails_check_and_build_on_it(tmp_path: Path) -> None:
    distro_rust()
    module = copy("xbuild-archive-step", tmp_path)
    env = environ(tmp_path)
    code, report, _ = kdoctor("check", module, env, "--rust", "distro")
    context = report["context"]["module"]
    assert (context["kind"], context["driver"]) == ("cargo", "cargo-xbuild")
    assert context["step"]["args"] == ["xbuild", "--target", "x86_64-linux-kernel-module.json"]
    cargo = finding(report, "cargo")
    assert code != 0 and cargo["status"] == "fail" and cargo["required"]
    assert cargo["summary"].startswith(
        "the module's target/x86_64-linux-kernel-module/debug/libhello_world.a is made by "
        "`cargo xbuild --target x86_64-linux-kernel-module.json`"
    )
    assert "cargo-xbuild" in cargo["summary"]
    if cargo["facts"]["crates_io_reachable"] is False:
        assert "so `cargo install cargo-xbuild` cannot run here" in cargo["summary"]
    assert (
        f"cd {module} && cargo xbuild --target x86_64-linux-kernel-module.json"
        in (cargo["remediation"]["commands"])
    )
    # what the build would meet after the step: modpost's .cmd file of the archive
    kbuild_cmd = finding(report, "kbuild-cmd")
    assert kbuild_cmd["status"] == "fail"
    assert ".libhello_world.a.cmd: No such file or directory" in kbuild_cmd["summary"]

    code, built, _ = kdoctor("build", module, env, "--rust", "distro")
    assert code != 0 and not built["ok"]
    assert built["argv"][1:] == ["xbuild", "--target", "x86_64-linux-kernel-module.json"]
    assert built["cause"] == "error: no such command: `xbuild`"
    assert not (module / "helloworld.o").exists()  # make did not run

    # without kdoctor's step, the module's own make stops on the archive nothing makes
    done = subprocess.run(
        ["make", "-C", str(module), f"KDIR={env['KDIR']}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0
    assert "No rule to make target" in done.stdout + done.stderr
    assert "libhello_world.a" in done.stdout + done.stderr


def test_a_build_std_step_runs_before_make_and_check_passes_exactly_when_it_builds(
    tmp_path: Path,
) -> None:
    distro_rust()
    module = copy("cargo-step-build-std", tmp_path)
    env = environ(tmp_path)
    code, report, _ = kdoctor("check", module, env, "--rust", "distro")
    step = report["context"]["module"]["step"]
    assert step["args"] == ["build", "-Z", "build-std=core", "--target", "x86_64-unknown-none"]
    assert finding(report, "kbuild-cmd")["status"] == "warn"  # the Makefile's touch
    assert finding(report, "cargo")["status"] == "ok"
    assert finding(report, "module-target")["status"] == "ok"
    crates = finding(report, "crates")
    code_built, built, _ = kdoctor("build", module, env, "--rust", "distro")
    assert (code == 0) == bool(built["ok"]), (required_failures(report), built)
    if crates["status"] == "fail":  # crates.io is unreachable: both stop on the std's crates
        assert code != 0 and code_built != 0
        assert built["argv"][1:3] == ["build", "-Z"]  # the step failed; make never ran
        assert "as a dependency of package" in built["cause"], built["cause"]

        _apply_crates_fix(env, module)
        code, report, _ = kdoctor("check", module, env, "--rust", "distro")
        code_built, built, _ = kdoctor("build", module, env, "--rust", "distro")
        assert (code == 0) == bool(built["ok"]), (required_failures(report), built)
    assert code == 0 and built["ok"], (required_failures(report), built)
    log = log_of(built).splitlines()
    step_line = next(i for i, line in enumerate(log) if "cargo build -Z build-std=core" in line)
    make_line = next(
        i for i, line in enumerate(log) if line.startswith("$ ") and " make -C " in line
    )
    assert log[step_line].startswith(f"$ cd {module} && ") and step_line < make_line
    assert built["ko"] == str(module / "helloworld.ko")
