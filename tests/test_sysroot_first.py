"""The packages the Rust sysroot needs first, then the sysroot in the background while the
rest installs: planned only when it can work, applied concurrently, stopped when the plan
fails, and the ``sysroot`` make target needs none of what the second transaction brings."""

from __future__ import annotations

import io
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from kdoctor.cli.provision import _image_config
from kdoctor.facts import Facts
from kdoctor.fixes.base import Ask
from kdoctor.fixes.packages import PackagesFix
from kdoctor.knowledge.packages import package_need
from kdoctor.model.choice import RustMode, TargetSource
from kdoctor.model.finding import Finding
from kdoctor.model.need import RustToolchain, StockKernel
from kdoctor.model.plan import Plan, PlanOptions, Step
from kdoctor.pipeline.apply import ApplyResult, apply_plan
from kdoctor.pipeline.build import make_argv
from kdoctor.pipeline.planner import merge_settings
from kdoctor.render.apply_text import print_apply
from tests.conftest import make_context, tool
from tests.fake_system import FakeSystem
from tests.test_fix_packages import (
    APT_INSTALL,
    BARE_PACKAGES,
    HEADERS,
    apt,
    apt_machine,
    bare_debian_12,
    policy,
    problem,
    report,
)
from tests.test_runner import runner_for

HELLO_WORLD = Path(__file__).resolve().parent.parent / "hello-world"
MODULE = "/src/hello-world"
SYSROOT_MAKEFILE = "all: modules\n\nsysroot: check-rustc $(KRUST_SYSROOT)/.complete\n"
FIRST = ("rust-web-src", "rustc-web")


def machine(makefile: str = SYSROOT_MAKEFILE) -> FakeSystem:
    system = apt_machine()  # apt knows what a bare Debian 12 lacks, when asked
    system.maybe.update({f"apt-cache policy {name}": policy(name) for name in BARE_PACKAGES})
    system.files[f"{MODULE}/Makefile"] = makefile
    return system


def steps_for(system: FakeSystem, findings: tuple[Finding, ...], **ctx: object) -> list[Step]:
    rep = report(*findings, module_dir=MODULE, **ctx)
    asks = [Ask(f, n) for f in rep.findings for n in f.needs]
    return PackagesFix().plan(Facts(rep.context, system), asks, PlanOptions()).steps


def test_the_sysroot_packages_come_first_and_the_sysroot_builds_while_the_rest_installs() -> None:
    steps = steps_for(machine(), bare_debian_12())
    first, sysroot, rest = steps
    assert first.argv == (*APT_INSTALL, *sorted(FIRST))
    assert first.findings == ("toolchain",) and not first.background
    assert sysroot.background and not sysroot.required and not sysroot.root
    assert sysroot.label == "kdoctor build-sysroot"
    assert sysroot.argv[1:] == ("-m", "kdoctor", "build-sysroot", "--module-dir", MODULE)
    assert rest.argv == (*APT_INSTALL, *sorted(set(BARE_PACKAGES) - set(FIRST)))
    assert "clang needs clang" in rest.why and "toolchain" not in rest.findings
    assert sysroot.to_json()["background"] is True and first.to_json()["background"] is False


def test_the_background_step_builds_for_the_kernel_and_rust_the_person_chose() -> None:
    steps = steps_for(
        machine(),
        bare_debian_12(),
        target_source=TargetSource.RETARGETED,
        target_kernel="6.1.0-56-amd64",
        rust_mode=RustMode.DISTRO,
    )
    assert steps[1].argv[-4:] == ("--kernel", "6.1.0-56-amd64", "--rust", "distro")


@pytest.mark.parametrize(
    "makefile", ["all: modules\n", "sysroot := /opt/x\n", "# sysroot: not a rule\n"]
)
def test_a_module_without_a_sysroot_target_gets_one_transaction(makefile: str) -> None:
    steps = steps_for(machine(makefile), bare_debian_12())
    assert len(steps) == 1 and steps[0].argv == (*APT_INSTALL, *BARE_PACKAGES)


def test_a_kernel_kept_in_kdoctors_cache_gets_one_transaction() -> None:
    """Its tree comes from kdoctor fetch-kernel, not from a package of the first transaction."""
    kept = "/home/me/.cache/kdoctor/kernels/5.10.0-46-amd64/root/usr/src/linux-headers"
    steps = steps_for(
        machine(),
        bare_debian_12(),
        cache_dir="/home/me/.cache/kdoctor",
        kdir=kept,
        target_source=TargetSource.OPTION,
    )
    assert [s.background for s in steps] == [False]


def test_a_toolchain_from_rustup_gets_one_transaction() -> None:
    findings = [f for f in bare_debian_12() if f.id != "toolchain"]
    findings.append(problem("toolchain", "no rustc", RustToolchain("nightly-2021-02-12")))
    steps = steps_for(machine(), tuple(findings))
    assert [s.background for s in steps] == [False]


def test_a_pin_answered_with_the_distribution_rust_is_packages() -> None:
    """Under --rust auto the rust planner may choose the distribution's Rust for a pin: it
    hands its packages on, asked by the toolchain check."""
    findings = [f for f in bare_debian_12() if f.id != "toolchain"]
    alternative = apt("rustc-web", "rust-web-src")
    pin = RustToolchain("1.63.0", alternative=alternative)
    findings.append(problem("toolchain", "no rustc", pin, *alternative))
    steps = steps_for(machine(), tuple(findings))
    assert [s.background for s in steps] == [False, True, False]
    assert "rustc-web" in steps[0].argv


def test_a_retargeted_kernel_is_no_obstacle() -> None:
    """The stock kernel kdoctor switches to is persisted as KDIR (a setting, written before the
    background step starts); its headers come with the rest (the sysroot takes the kernel's
    configuration from its image package)."""
    findings = [f for f in bare_debian_12() if f.id != "kernel-headers"]
    headers = package_need("apt", "headers", release="6.1.0-56-amd64")
    stock = StockKernel("no package serves the running kernel", package="linux-headers-amd64")
    findings.append(problem("kernel-headers", "no headers", headers, stock))
    steps = steps_for(machine(), tuple(findings))
    assert [s.background for s in steps] == [False, True, False]
    assert HEADERS in steps[2].argv


def test_nothing_left_to_install_meanwhile_gets_one_transaction() -> None:
    only = tuple(f for f in bare_debian_12() if f.id == "toolchain")
    steps = steps_for(machine(), only)
    assert len(steps) == 1 and steps[0].argv == (*APT_INSTALL, *sorted(FIRST))


def test_stale_lists_are_refreshed_once_before_the_first_transaction() -> None:
    system = apt_machine(BARE_PACKAGES, lists_age_days=30)
    system.files[f"{MODULE}/Makefile"] = SYSROOT_MAKEFILE
    steps = steps_for(system, bare_debian_12())
    assert [s.argv[:2] for s in steps] == [
        ("apt-get", "update"),
        APT_INSTALL[:2],
        steps[2].argv[:2],
        APT_INSTALL[:2],
    ]
    assert steps[2].background


def test_the_settings_are_written_before_the_background_step_reads_them(tmp_path: Path) -> None:
    system = FakeSystem()
    background = Step("packages", ("toolchain",), "sysroot", argv=("true",), background=True)
    chosen = Step("settings", ("clang",), "use clang-16", settings={"CC": "clang-16"})
    install = Step("packages", ("clang",), "install", argv=("true",))
    merged = merge_settings([install, background, install, chosen], "/home/me/env", system)
    assert [s.edit is not None for s in merged] == [False, True, False, False]
    assert merged[2] is background


def apply(plan: Plan, bin_dir: Path) -> ApplyResult:
    return apply_plan(plan, make_context(is_root=True), runner_for(bin_dir), log_dir=str(bin_dir))


def test_applying_runs_the_background_step_alongside_the_next(bin_dir: Path) -> None:
    spans = bin_dir / "spans"
    tool(
        bin_dir,
        "slow",
        f"echo slow-start >> {spans}; sleep 1; echo slow-end >> {spans}; echo built\n",
    )
    tool(bin_dir, "quick", f"echo quick-start >> {spans}; sleep 0.3; echo installed\n")
    plan = Plan(
        (
            Step("packages", ("toolchain",), "sysroot", argv=("slow",), background=True),
            Step("packages", ("clang",), "install", argv=("quick",)),
        )
    )
    applied = apply(plan, bin_dir)
    marks = spans.read_text().split()
    assert sorted(marks) == ["quick-start", "slow-end", "slow-start"]
    assert marks.index("quick-start") < marks.index("slow-end")  # it ran meanwhile
    assert applied.ok and [r.step.argv for r in applied.results] == [("slow",), ("quick",)]
    log = Path(applied.log_path).read_text()
    assert log.index("installed") < log.index("built")  # its output follows when it ends


def test_a_failing_step_stops_the_background_one(bin_dir: Path) -> None:
    marker = bin_dir / "finished"
    tool(bin_dir, "slow", f"sleep 120; touch {marker}\n")
    tool(bin_dir, "broken", "echo 'E: Unable to locate package nope' >&2; exit 100\n")
    plan = Plan(
        (
            Step("packages", ("toolchain",), "sysroot", argv=("slow",), background=True),
            Step("packages", ("clang",), "install", argv=("broken",)),
        )
    )
    started = time.monotonic()
    applied = apply(plan, bin_dir)
    assert time.monotonic() - started < 60 and not marker.exists()  # stopped, not waited for
    assert applied.stopped == "failed"
    background, failed = applied.results
    assert not background.ok and background.explanation == "stopped: step 2 failed"
    assert not failed.ok and failed.exit_code == 100


def test_a_failing_background_step_fails_the_plan(bin_dir: Path) -> None:
    tool(bin_dir, "slow", "echo 'error: cannot run rustc' >&2; exit 2\n")
    tool(bin_dir, "quick", "echo installed\n")
    plan = Plan(
        (
            Step("packages", ("toolchain",), "sysroot", argv=("slow",), background=True),
            Step("packages", ("clang",), "install", argv=("quick",)),
        )
    )
    applied = apply(plan, bin_dir)
    assert not applied.ok and applied.stopped == "failed"
    assert [r.ok for r in applied.results] == [False, True]
    assert applied.results[0].exit_code == 2


def test_without_headers_the_configuration_comes_from_the_image_package() -> None:
    release = "6.1.0-56-amd64"
    system = FakeSystem(files={f"/boot/vmlinuz-{release}": "", f"/boot/config-{release}": ""})
    ctx = make_context(target_kernel=release, kdir=f"/lib/modules/{release}/build")
    shown = Console(file=io.StringIO(), width=200)
    assert _image_config(ctx, system, shown) == f"/boot/config-{release}"
    del system.files[f"/boot/config-{release}"]
    assert _image_config(ctx, system, shown) is None
    assert f"no configuration of kernel {release} at /boot/config-{release}" in (
        shown.file.getvalue()  # type: ignore[attr-defined]
    )
    argv = make_argv(ctx, MODULE, "/usr/bin/rustc", "sysroot", variables=["KRUST_CONFIG=/c"])
    assert argv[-2:] == ["KRUST_CONFIG=/c", "sysroot"]


def test_a_head_start_that_fails_fails_nothing(bin_dir: Path) -> None:
    tool(bin_dir, "warm", "echo 'no configuration of kernel 6.1.0-56-amd64' >&2; exit 1\n")
    tool(bin_dir, "quick", "echo installed\n")
    warm = Step("packages", ("toolchain",), "sysroot", argv=("warm",), background=True)
    plan = Plan(
        (replace(warm, required=False), Step("packages", ("clang",), "install", argv=("quick",)))
    )
    applied = apply(plan, bin_dir)
    assert applied.ok and applied.stopped is None
    assert [r.ok for r in applied.results] == [False, True]
    shown = Console(file=io.StringIO(), width=200)
    print_apply(applied, shown)
    text = shown.file.getvalue()  # type: ignore[attr-defined]
    assert "! warm" in text and "step failed" not in text
    assert "not needed, the work is done later anyway: no configuration of kernel" in text


@pytest.mark.integration
def test_make_sysroot_needs_no_bindgen_but_the_kernel_configuration(tmp_path: Path) -> None:
    kdir = tmp_path / "kdir"
    (kdir / "include" / "config").mkdir(parents=True)
    (kdir / "include" / "config" / "auto.conf").write_text("CONFIG_X86_64=y\n")
    cache = tmp_path / "cache"
    argv = ["make", "-s", "-C", str(HELLO_WORLD), f"KDIR={kdir}", "BINDGEN=/nonexistent"]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KDOCTOR_CACHE": str(cache)}
    dry = subprocess.run([*argv, "-n", "sysroot"], capture_output=True, text=True, env=env)
    assert dry.returncode == 0, dry.stderr
    assert "build-sysroot.sh" in dry.stdout and str(cache) in dry.stdout
    (kdir / "include" / "config" / "auto.conf").unlink()
    missing = subprocess.run([*argv, "sysroot"], capture_output=True, text=True, env=env)
    assert missing.returncode != 0 and "no kernel configuration" in missing.stderr
    modules = subprocess.run([*argv, "modules"], capture_output=True, text=True, env=env)
    assert modules.returncode != 0 and "cannot run bindgen" in modules.stderr
    config = tmp_path / "config-6.1.0-56-amd64"  # as the image package ships it
    config.write_text("# CONFIG_RETPOLINE is not set\nCONFIG_X86_64=y\n")
    image = [*argv, "-n", f"KRUST_CONFIG={config}", "sysroot"]
    from_image = subprocess.run(image, capture_output=True, text=True, env=env)
    assert from_image.returncode == 0 and "build-sysroot.sh" in from_image.stdout
