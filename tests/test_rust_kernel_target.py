"""A Rust-enabled kernel as the target: its context (``--kernel 6.12+rust``, ``rust``, a ``KDIR``
in its tree), the toolchain root's facts, the checks that judge it (host tools skipped, the
kernel-headers and rust-for-linux branches), the plan (build-kernel, the retargeted ``KDIR``),
retargeting a Rust-for-Linux module to it, and the module's build wrapped into the root."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

import pytest

from kdoctor.checks import kernel_headers, rust_for_linux
from kdoctor.checks.base import all_checks
from kdoctor.cli import options
from kdoctor.facts import Facts
from kdoctor.facts.rust import rust_toolchain
from kdoctor.facts.toolchain_root import ROOT_RUSTC, root_toolchain, root_versions
from kdoctor.fixes.base import Ask
from kdoctor.fixes.kernel_target import KernelTargetFix
from kdoctor.knowledge import rust_kernels as rk
from kdoctor.knowledge.chroot import BASE_ENV, in_root
from kdoctor.model.cache_layout import (
    kernel_test_dir,
    rust_kernel_dir,
    rust_kernel_image,
    rust_kernel_record,
    rust_kernel_tree,
    toolchain_root,
    toolchain_root_record,
)
from kdoctor.model.choice import TargetSource
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import ByHand, Package, RustEnabledKernel
from kdoctor.model.plan import PlanOptions, Step
from kdoctor.model.report import Report
from kdoctor.pipeline.build import build
from kdoctor.pipeline.diagnose import run_one
from kdoctor.pipeline.kernels.rust_target import attached, known_series, rust_context
from kdoctor.pipeline.planner import make_plan, planner_ids
from kdoctor.pipeline.retarget import retarget
from tests.conftest import KDIR, make_context, run_check
from tests.fake_files import FileData
from tests.fake_system import FakeSystem, Reply
from tests.test_cli_fix import invoke
from tests.test_module_kernel_checks import (
    ARTEFACTS,
    GCC_CONFIG,
    MODULE,
    RFL,
    RUST_BUILD,
    RUST_MAKEFILE,
)
from tests.test_provision import Factory
from tests.test_provision import machine as home_machine
from tests.test_rust_kernel_pipeline import dpkg_status, entered

CACHE = make_context().cache_dir
SPEC = "6.12+rust"
TREE = rust_kernel_tree(CACHE, "6.12")
TRIXIE = toolchain_root(CACHE, "trixie")
BACKPORTS = toolchain_root(CACHE, "trixie-backports")
RELEASE = "6.12.118-kdoctor-rust"
KERNEL_CONFIG = (
    "".join(f"CONFIG_{o}=y\n" for o in rk.ENABLE)
    + 'CONFIG_RUSTC_VERSION_TEXT="rustc 1.85.1 (4eb161250 2025-03-15)"\n'
    + 'CONFIG_BINDGEN_VERSION_TEXT="bindgen 0.71.1"\nCONFIG_CC_IS_GCC=y\n'
)


def record(series: str = "6.12", release: str = RELEASE, root: str = "trixie") -> dict[str, str]:
    return {rust_kernel_record(CACHE, series): json.dumps({"release": release, "root_name": root})}


def made_root(path: str = TRIXIE, rustc: str = "1.85.1+dfsg1-1") -> dict[str, FileData]:
    return {f"{path}/{rk.DPKG_STATUS}": dpkg_status(rustc), f"{path}/usr/bin/rustc": b""}


def built_tree(config: str = KERNEL_CONFIG) -> dict[str, FileData]:
    """The kernel tree, built: what kbuild and a Rust-for-Linux module's build read."""
    return {
        f"{TREE}/Makefile": RUST_MAKEFILE,
        f"{TREE}/.config": config,
        f"{TREE}/Module.symvers": "",
        f"{TREE}/include/config/auto.conf": "",
        f"{TREE}/scripts/Makefile.build": RUST_BUILD,
        **{f"{TREE}/{name}": "" for name in ARTEFACTS},
        f"{TREE}/rust/libkernel.rmeta": "",
    }


def machine(files: Mapping[str, FileData], **kwargs: Any) -> FakeSystem:
    programs = {
        "modpost": f"{TREE}/scripts/mod/modpost",
        "debootstrap": "/usr/sbin/debootstrap",
        **kwargs.pop("programs", {}),
    }
    return FakeSystem(files=dict(files), programs=programs, **kwargs)


def in_tree(**overrides: Any) -> Context:
    """The context targeting the 6.12 Rust-enabled kernel, as --kernel 6.12+rust makes it."""
    base = dict(
        target_kernel=RELEASE,
        kdir=TREE,
        target_source=TargetSource.OPTION,
        toolchain_root=TRIXIE,
        kernel_spec=SPEC,
        module_dir=MODULE,
    )
    return make_context(**{**base, **overrides})


# -- the target's context ---------------------------------------------------------------------
def test_a_series_spec_is_known_without_asking_anything() -> None:
    system = FakeSystem()
    assert known_series(system, CACHE, SPEC) == "6.12"
    assert known_series(system, CACHE, "7.3+rust") == "7.3"
    assert known_series(system, CACHE, "rust") is None  # nothing built, no backports root
    assert system.calls == [] and system.runs == []


def test_rust_is_the_newest_kernel_built_else_the_newest_the_backports_root_lists() -> None:
    built = FakeSystem(files={**record("6.12"), **record("7.3", "7.3.1-kdoctor-rust")})
    assert known_series(built, CACHE, "rust") == "7.3"
    listed: list[tuple[str, ...]] = []

    def pkgnames(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        listed.append(entered(argv).command)
        assert entered(argv).root == BACKPORTS
        return Reply("linux-source-7.2\nlinux-source-7.3\n")

    rooted = FakeSystem(
        files={f"{BACKPORTS}/usr/bin/apt-get": b""},
        programs={"unshare": "/usr/bin/unshare"},
        handlers={"unshare": pkgnames},
    )
    assert known_series(rooted, CACHE, "rust") == "7.3"
    assert listed == [("apt-cache", "pkgnames", "linux-source-")]


def test_a_spec_not_built_yet_targets_its_tree_and_root_by_the_spec() -> None:
    ctx = make_context(env={"KDIR": KDIR, "CC": "gcc-12"}, target_source=TargetSource.OPTION)
    system = FakeSystem()
    got = rust_context(ctx, system, SPEC)
    assert (got.target_kernel, got.kdir, got.toolchain_root) == (SPEC, TREE, TRIXIE)
    assert got.kernel_spec == SPEC and got.target_source == TargetSource.OPTION
    assert got.env == {"CC": "gcc-12"}  # the person's KDIR no longer names the target
    newer = rust_context(ctx, system, "7.3+rust", source=TargetSource.RETARGETED)
    assert newer.kdir == rust_kernel_tree(CACHE, "7.3") and newer.toolchain_root == BACKPORTS
    assert newer.target_source == TargetSource.RETARGETED
    newest = rust_context(ctx, system, "rust")
    assert newest.toolchain_root == BACKPORTS and newest.target_kernel == "rust"
    assert system.calls == [] and system.runs == []


def test_a_built_spec_targets_its_release() -> None:
    system = FakeSystem(files=record())
    assert rust_context(make_context(), system, SPEC).target_kernel == RELEASE
    assert rust_context(make_context(), system, "rust").target_kernel == RELEASE
    assert system.calls == [] and system.runs == []


def test_a_kdir_in_a_rust_kernel_tree_is_attached_to_its_root_keeping_its_source() -> None:
    ctx = make_context(kdir=TREE, target_kernel="6.1.0-56-amd64", target_source=TargetSource.KDIR)
    bare = attached(ctx, FakeSystem())
    assert (bare.toolchain_root, bare.kernel_spec) == (TRIXIE, SPEC)
    assert bare.target_kernel == "6.1.0-56-amd64" and bare.target_source == TargetSource.KDIR
    done = attached(ctx, FakeSystem(files=record(root="trixie-backports")))
    assert done.target_kernel == RELEASE and done.toolchain_root == BACKPORTS
    host = make_context()
    assert attached(host, FakeSystem()) is host
    already = in_tree(toolchain_root=BACKPORTS)
    assert attached(already, FakeSystem()) is already


# -- the root's facts ---------------------------------------------------------------------------
def test_the_root_s_rustc_is_read_from_its_dpkg_database() -> None:
    system = FakeSystem(files=made_root(rustc="1.85.1+dfsg1-1+deb13u1"))
    assert root_versions(system, TRIXIE)["rustc"] == "1.85.1+dfsg1-1+deb13u1"
    got = root_toolchain(in_tree(), system)
    assert (got.source, got.rustc, got.version, got.usable) == ("root", ROOT_RUSTC, "1.85.1", True)
    assert "trixie toolchain root" in got.reason
    missing = root_toolchain(in_tree(), FakeSystem(files={f"{TRIXIE}/{rk.DPKG_STATUS}": ""}))
    assert not missing.usable and missing.version is None
    assert missing.problems == [
        "kdoctor's trixie toolchain root is not made yet (kdoctor fix makes it)"
    ]
    assert system.calls == []


def test_the_build_s_toolchain_is_the_root_s_unless_the_person_sets_rustc() -> None:
    """A RUSTC kdoctor persisted for the host's builds is not the person's choice: the root's
    rustc builds there; the person's own RUSTC is found as the build in the root finds it."""
    system = FakeSystem(files=made_root())
    assert Facts(in_tree(), system).of(rust_toolchain).source == "root"
    persisted = in_tree(env={"RUSTC": "/usr/lib/rust-web/bin/rustc"})
    assert Facts(persisted, system).of(rust_toolchain).source == "root"
    person = FakeSystem(files=made_root(), env={"PATH": "/usr/bin:/bin", "RUSTC": "/nowhere/rustc"})
    named = Facts(in_tree(), person).of(rust_toolchain)
    assert named.source == "env" and not named.usable  # not in the root: the build stops
    assert "RUSTC=/nowhere/rustc is not in kdoctor's trixie toolchain root" in named.problems[0]


# -- checks of host tools ---------------------------------------------------------------------
HOST_TOOLS = {
    "toolchain",
    "rustup",
    "rust-src",
    "rustfmt",
    "bindgen",
    "libclang",
    "clang",
    "compat",
}


def test_checks_of_host_tools_are_skipped_naming_the_root_and_its_versions() -> None:
    system = FakeSystem(files=made_root())
    facts = Facts(in_tree(), system)
    host = [c for c in all_checks() if c.host_tool]
    assert {c.id for c in host} >= HOST_TOOLS
    for check in host:
        finding = run_one(check, facts)
        assert finding.status == Status.SKIP, check.id
        assert "kdoctor's trixie toolchain root" in finding.summary
        assert "rustc 1.85.1" in finding.summary and "bindgen 0.71.1" in finding.summary
        assert finding.facts["toolchain_root"] == TRIXIE
    assert system.calls == [] and system.runs == []  # not one host tool was asked
    fresh = run_one(host[0], Facts(in_tree(), FakeSystem()))
    assert fresh.summary.endswith("(not made yet)")


def test_checks_of_the_target_and_builds_on_the_host_are_not_skipped() -> None:
    facts = Facts(in_tree(), FakeSystem(files=made_root()))
    by_id = {c.id: c for c in all_checks()}
    for name in ("kernel-headers", "rust-for-linux", "vm"):
        assert not by_id[name].host_tool and by_id[name].in_root(facts) is None
    host = Facts(make_context(), FakeSystem())
    assert all(c.in_root(host) is None for c in all_checks())


# -- kernel-headers -----------------------------------------------------------------------------
def headers(ctx: Context, files: Mapping[str, FileData]) -> Finding:
    return run_check(kernel_headers.KernelHeadersCheck(), ctx, machine(files))


def test_a_rust_kernel_not_built_yet_needs_building_at_its_cost() -> None:
    finding = headers(in_tree(target_kernel=SPEC), {})
    assert finding.status == Status.FAIL
    assert finding.summary == (
        f"kdoctor's Rust-enabled kernel {SPEC} is not built yet, or not with every option "
        f"kdoctor sets now ({TREE})"
    )
    assert finding.needs == (RustEnabledKernel(SPEC),)
    assert finding.remediation is not None
    assert finding.remediation.text == rk.rust_kernel_cost(SPEC)
    assert finding.remediation.commands == (f"kdoctor build-kernel {SPEC}",)


def test_debootstrap_comes_first_when_the_toolchain_root_is_still_to_make() -> None:
    system = machine({})
    del system.programs["debootstrap"]
    finding = run_check(kernel_headers.KernelHeadersCheck(), in_tree(target_kernel=SPEC), system)
    assert finding.needs == (Package("debootstrap", ("debootstrap",)), RustEnabledKernel(SPEC))
    system.files[f"{TRIXIE}/usr/bin/apt-get"] = b""  # made before: debootstrap is not needed
    again = run_check(kernel_headers.KernelHeadersCheck(), in_tree(target_kernel=SPEC), system)
    assert again.needs == (RustEnabledKernel(SPEC),)


@pytest.mark.parametrize(
    "broken",
    ["no record", "config lacks an option"],
)
def test_a_half_built_rust_kernel_needs_building_too(broken: str) -> None:
    files = {**built_tree(), **record()}
    if broken == "no record":
        del files[rust_kernel_record(CACHE, "6.12")]
    else:
        files[f"{TREE}/.config"] = KERNEL_CONFIG.replace("CONFIG_PRINTK_TIME=y\n", "")
    finding = headers(in_tree(), files)
    assert finding.status == Status.FAIL and finding.needs == (RustEnabledKernel(SPEC),)


def test_a_built_rust_kernel_passes_and_says_who_chose_it() -> None:
    files = {**built_tree(), **record()}
    chosen = headers(in_tree(), files)
    assert chosen.status == Status.OK and chosen.needs == ()
    assert chosen.summary == f"headers for {RELEASE} (from --kernel) at {TREE}"
    switched = headers(in_tree(target_source=TargetSource.RETARGETED), files)
    assert switched.summary == (
        f"headers for kdoctor's Rust-enabled kernel {RELEASE} (chosen by kdoctor fix) at {TREE}"
    )


# -- rust-for-linux -----------------------------------------------------------------------------
def no_rust_kernel(**kwargs: Any) -> FakeSystem:
    """The running 6.1 kernel's headers, built without Rust, and a Rust-for-Linux module."""
    files = {
        **RFL,
        f"{KDIR}/Makefile": "",
        f"{KDIR}/.config": GCC_CONFIG,
        f"{KDIR}/Module.symvers": "",
        f"{KDIR}/include/config/auto.conf": "",
    }
    programs = {"modpost": f"{KDIR}/scripts/mod/modpost", "debootstrap": "/usr/sbin/debootstrap"}
    return FakeSystem(files=files, programs=programs, **kwargs)


@pytest.mark.parametrize(
    ("source", "process_kdir", "chose"),
    [
        (TargetSource.RUNNING, None, True),
        (TargetSource.RETARGETED, None, True),
        (TargetSource.KDIR, None, True),  # persisted by kdoctor fix in its settings
        (TargetSource.KDIR, KDIR, False),  # the person's environment names it
        (TargetSource.KDIR, "/other/build", True),
        (TargetSource.OPTION, None, False),
    ],
)
def test_kdoctor_chose_the_target_unless_the_person_named_it(
    source: TargetSource, process_kdir: Optional[str], chose: bool
) -> None:
    env = {"PATH": "/usr/bin"} if process_kdir is None else {"KDIR": process_kdir}
    facts = Facts(make_context(target_source=source), FakeSystem(env=env))
    assert rust_for_linux.kdoctor_chose(facts) is chose


def test_a_kernel_without_rust_kdoctor_chose_is_switched_to_its_rust_kernel() -> None:
    ctx = make_context(module_dir=MODULE)
    finding = run_check(rust_for_linux.RustForLinuxCheck(), ctx, no_rust_kernel())
    assert finding.status == Status.FAIL
    assert "built without Rust support" in finding.summary
    assert f"kdoctor fix builds for its Rust-enabled kernel {SPEC} instead" in finding.summary
    assert finding.needs == (RustEnabledKernel(SPEC),)
    assert finding.remediation is not None
    assert finding.remediation.text.endswith(rk.rust_kernel_cost(SPEC))
    assert "kernel with CONFIG_RUST=y" in finding.remediation.text


def test_a_kernel_without_rust_the_person_chose_is_kept_with_the_command_to_switch() -> None:
    for ctx, env in (
        (make_context(module_dir=MODULE, target_source=TargetSource.OPTION), {}),
        (make_context(module_dir=MODULE, target_source=TargetSource.KDIR), {"KDIR": KDIR}),
    ):
        finding = run_check(rust_for_linux.RustForLinuxCheck(), ctx, no_rust_kernel(env=env))
        assert finding.status == Status.FAIL
        [need] = finding.needs
        assert isinstance(need, ByHand)
        assert need.remedy.startswith(
            f"Build for kdoctor's Rust-enabled kernel instead: kdoctor fix --kernel {SPEC}. Or: "
        )


def rust_kernel_in_root(
    root_rustc: str = "1.85.1+dfsg1-1", **kwargs: Any
) -> tuple[Context, FakeSystem]:
    files = {**RFL, **built_tree(), **record(), **made_root(rustc=root_rustc)}
    # bindgen and rustc on the host's PATH: a build in the root uses neither
    programs = {"bindgen": "/usr/bin/bindgen", "rustc": "/usr/bin/rustc"}
    return in_tree(**kwargs), machine(files, programs=programs)


def test_a_rust_kernel_built_in_its_root_passes_without_asking_host_tools() -> None:
    ctx, system = rust_kernel_in_root()
    finding = run_check(rust_for_linux.RustForLinuxCheck(), ctx, system)
    assert finding.status == Status.OK, finding.summary
    assert finding.summary == (
        f"{RELEASE} has CONFIG_RUST=y and its rust/ artefacts, built by rustc 1.85.1 and bindgen "
        "0.71.1 with gcc in kdoctor's trixie toolchain root, where the module builds too"
    )
    assert finding.facts["toolchain_root"] == TRIXIE
    assert finding.facts["bindgen_version"] == "0.71.1"
    assert system.calls == [] and system.runs == []


def test_a_host_rustc_named_by_rustc_fails_naming_both_versions() -> None:
    ctx, system = rust_kernel_in_root()
    system.env = {**system.env, "RUSTC": "/opt/rust/bin/rustc"}
    system.programs["rustc-1.90"] = "/opt/rust/bin/rustc"
    system.commands["/opt/rust/bin/rustc --version"] = "rustc 1.90.0 (1159e78c4 2025-09-14)\n"
    system.commands["/opt/rust/bin/rustc --print sysroot"] = "/opt/rust\n"
    finding = run_check(rust_for_linux.RustForLinuxCheck(), ctx, system)
    assert finding.status == Status.FAIL
    assert "RUSTC=/opt/rust/bin/rustc is not in kdoctor's trixie toolchain root" in finding.summary
    assert "compiled by rustc 1.85.1" in finding.summary
    assert "RUSTC names rustc 1.90.0" in finding.summary
    assert finding.remediation is not None and "Unset RUSTC" in finding.remediation.text


def test_another_rustc_in_the_root_named_by_rustc_fails_naming_both_versions() -> None:
    ctx, system = rust_kernel_in_root()
    other = "/usr/lib/rust-1.84/bin/rustc"
    system.env = {**system.env, "RUSTC": other}
    system.files[f"{TRIXIE}{other}"] = b""
    asked = " ".join(in_root(TRIXIE, [other, "--version"], as_root=False))
    system.commands[asked] = "rustc 1.84.0 (9fc6b4312 2025-01-07)\n"
    system.programs["unshare"] = "/usr/bin/unshare"
    finding = run_check(rust_for_linux.RustForLinuxCheck(), ctx, system)
    assert finding.status == Status.FAIL
    assert "compiled by rustc 1.85.1" in finding.summary
    assert "would use rustc 1.84.0" in finding.summary
    assert finding.remediation is not None and "Unset RUSTC" in finding.remediation.text


def test_the_root_s_own_rustc_of_another_version_fails_too() -> None:
    ctx, system = rust_kernel_in_root(root_rustc="1.85.2+dfsg1-1")
    finding = run_check(rust_for_linux.RustForLinuxCheck(), ctx, system)
    assert finding.status == Status.FAIL and "would use rustc 1.85.2" in finding.summary


# -- the plan ---------------------------------------------------------------------------------
def needs_building(ctx: Context) -> Finding:
    return Finding(
        "kernel-headers",
        Status.FAIL,
        f"kdoctor's Rust-enabled kernel {SPEC} is not built yet",
        needs=(RustEnabledKernel(SPEC),),
    )


BUILD_STEP = Step(
    "kernel-target",
    ("kernel-headers",),
    f"kernel-headers: build kdoctor's Rust-enabled kernel {SPEC}; {rk.rust_kernel_cost(SPEC)}",
    argv=(sys.executable, "-m", "kdoctor", "build-kernel", SPEC),
    label=f"kdoctor build-kernel {SPEC}",
    network=True,
    root=False,
)


def planned(ctx: Context, *findings: Finding) -> tuple[list[Step], list[str]]:
    system = FakeSystem()
    asks = [Ask(f, n) for f in findings for n in f.needs]
    decision = KernelTargetFix().plan(Facts(ctx, system), asks, PlanOptions())
    assert system.calls == [] and system.runs == []
    return decision.steps, decision.notes


def test_the_rust_kernel_need_is_planned_by_kernel_target() -> None:
    assert planner_ids()[RustEnabledKernel] == "kernel-target"


def test_a_rust_kernel_the_person_chose_is_built_and_kdir_left_alone() -> None:
    ctx = in_tree(target_kernel=SPEC)
    assert planned(ctx, needs_building(ctx)) == ([BUILD_STEP], [])
    assert planned(in_tree()) == ([], [])  # built: nothing to do


def test_a_rust_kernel_kdoctor_chose_is_persisted_as_kdir_then_built() -> None:
    ctx = in_tree(target_kernel=SPEC, target_source=TargetSource.RETARGETED)
    steps, _notes = planned(ctx, needs_building(ctx))
    assert [s.settings for s in steps] == [{"KDIR": TREE}, {}]
    assert steps[0].findings == ("rust-for-linux",) and f"KDIR={TREE}" in steps[0].why
    assert steps[1] == BUILD_STEP
    built, _notes = planned(in_tree(target_source=TargetSource.RETARGETED))
    assert [s.settings for s in built] == [{"KDIR": TREE}]  # built already: only persisted


def test_on_the_host_target_the_rust_need_is_a_note_not_a_step() -> None:
    """The plan is made for the retargeted context; the host's own plan only says why."""
    finding = Finding(
        "rust-for-linux", Status.FAIL, "6.1.0-56-amd64 was built without Rust support",
        needs=(RustEnabledKernel(SPEC),),
    )  # fmt: skip
    steps, notes = planned(make_context(), finding)
    assert steps == [] and notes == [finding.summary]


# -- retargeting --------------------------------------------------------------------------------
def test_a_rust_module_on_a_kernel_kdoctor_chose_is_retargeted_then_planned(
    tmp_path: Any,
) -> None:
    settings = str(tmp_path / "env")
    ctx = make_context(module_dir=MODULE, settings_file=settings)
    system = no_rust_kernel()
    first = run_check(rust_for_linux.RustForLinuxCheck(), ctx, system)
    new = retarget(ctx, Report(ctx, (first,), 0.0), system)
    assert new is not None
    assert (new.target_kernel, new.kdir, new.toolchain_root) == (SPEC, TREE, TRIXIE)
    assert new.target_source == TargetSource.RETARGETED and new.kernel_spec == SPEC
    again = run_check(kernel_headers.KernelHeadersCheck(), new, system)  # the recheck
    assert again.needs == (RustEnabledKernel(SPEC),)
    plan = make_plan(Facts(new, system), Report(new, (again,), 0.0))
    mine = [s for s in plan.steps if "kernel-target" in s.fix]
    assert [s.settings for s in mine] == [{"KDIR": TREE}, {}]
    assert mine[0].edit is not None and f"export KDIR={TREE}" in mine[0].edit.text
    assert mine[1].argv == BUILD_STEP.argv
    assert system.runs == []
    assert retarget(new, Report(new, (again,), 0.0), system) is None  # retargeted once


def test_a_target_already_in_a_root_is_not_retargeted() -> None:
    ctx = in_tree()
    report = Report(ctx, (needs_building(ctx),), 0.0)
    assert retarget(ctx, report, FakeSystem()) is None


# -- the module's build in the root -------------------------------------------------------------
def test_the_module_build_runs_in_the_root_with_only_the_cache_and_the_module_bound() -> None:
    seen: list[tuple[tuple[str, ...], Mapping[str, str]]] = []
    system = FakeSystem(
        files={f"{MODULE}/Kbuild": "obj-m := m.o\n"},
        programs={"unshare": "/usr/bin/unshare"},  # no make on the host: the root has one
    )

    def make(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        seen.append((argv, env))
        system.write_file(f"{MODULE}/m.ko", b"\x7fELF")
        return Reply("  RUSTC [M] /src/mod/m.rs\n")

    system.handlers["unshare"] = make
    ctx = in_tree(env={"RUSTC": "/usr/bin/rustc", "CC": "clang"})
    steps: list[str] = []
    result = build(
        ctx, system, rustc="/usr/bin/rustc", toolchain_env={"RUSTC_BOOTSTRAP": "1"},
        log_dir=f"{CACHE}/logs", on_step=steps.append,
    )  # fmt: skip
    assert result.ok and result.ko == f"{MODULE}/m.ko" and steps == ["RUSTC [M] m.rs"]
    [(argv, env)] = seen
    assert env == {}  # nothing of the host's environment
    inside = entered(argv)
    assert inside.root == TRIXIE and inside.binds == (CACHE, MODULE) and inside.cwd == MODULE
    # the root's own tools: no RUSTC, CC or host toolchain variables
    assert inside.command == ("make", "-C", MODULE, f"KDIR={TREE}")
    assert inside.env == {**BASE_ENV, "KDOCTOR_CACHE": CACHE, "PWD": MODULE}
    assert not inside.as_root  # an ordinary user: root is mapped in a user namespace
    assert result.argv == inside.command and dict(result.env) == {
        "KDOCTOR_CACHE": CACHE,
        "PWD": MODULE,
    }
    log = str(system.files[result.log_path])
    assert log.startswith(
        f"# in kdoctor's toolchain root {TRIXIE}\n$ KDOCTOR_CACHE={CACHE} PWD={MODULE} make"
    )


# -- the command line ---------------------------------------------------------------------------
def cli(monkeypatch: pytest.MonkeyPatch, *systems: FakeSystem) -> Factory:
    factory = Factory(*systems)
    monkeypatch.setattr(options, "system_factory", factory)
    return factory


def test_build_kernel_refuses_a_spec_that_is_not_a_rust_kernel_as_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = cli(monkeypatch)
    result = invoke("build-kernel", "6.12")
    assert result.exit_code == 2 and factory.calls == 0
    assert "not a Rust-enabled kernel" in " ".join(w.strip("│ ") for w in result.stderr.split())


def test_build_kernel_as_another_user_says_it_needs_root_and_runs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = home_machine(tmp_path)
    cli(monkeypatch, system)
    result = invoke("build-kernel", SPEC)
    assert result.exit_code == 1
    assert "needs root" in result.stdout and f"sudo kdoctor build-kernel {SPEC}" in result.stdout
    assert system.runs == [] and system.writes == []


def complete_kernel(cache: str) -> dict[str, FileData]:
    """A built 6.12 kernel and its root in ``cache``, every record matching."""
    root = toolchain_root(cache, "trixie")
    versions = rk.dpkg_versions(dpkg_status(), rk.RECORDED)
    kernel = {"release": RELEASE, "root_name": "trixie", "toolchain": versions}
    kernel["image_sha256"] = hashlib.sha256(b"MZ").hexdigest()
    return {
        **made_root(root),
        toolchain_root_record(cache, "trixie"): json.dumps({"versions": versions}),
        rust_kernel_record(cache, "6.12"): json.dumps(kernel),
        rust_kernel_image(cache, "6.12"): b"MZ",
        f"{rust_kernel_tree(cache, '6.12')}/.config": KERNEL_CONFIG,
        f"{kernel_test_dir(cache, RELEASE)}/module/m.ko": b"",
    }


def test_build_kernel_as_root_with_the_kernel_built_says_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = str(tmp_path / "cache")  # nothing there on disk: no root others could change
    system = home_machine(tmp_path, uid=0, files=complete_kernel(cache))
    cli(monkeypatch, system)
    result = invoke("build-kernel", SPEC)
    assert result.exit_code == 0, result.stdout
    tree = rust_kernel_tree(cache, "6.12")
    assert f"✔ {SPEC}: kernel {RELEASE}, KDIR={tree}" in result.stdout
    assert system.runs == [] and system.writes == []


def test_cache_clean_of_a_rust_kernel_removes_it_and_its_test_build_not_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = str(tmp_path / "cache")
    system = home_machine(tmp_path, files=complete_kernel(cache))
    root = toolchain_root(cache, "trixie")
    cli(monkeypatch, system)  # one kernel removed: the sizes are not told
    result = invoke("cache", "clean", "--kernel", SPEC, "--yes")
    assert result.exit_code == 0, result.stdout
    assert f"removed kernel {SPEC}" in result.stdout
    removed = {p for p, kind in system.writes if kind == "remove"}
    assert {rust_kernel_record(cache, "6.12"), rust_kernel_tree(cache, "6.12")} <= removed
    assert kernel_test_dir(cache, RELEASE) in removed  # kdoctor test built under the release
    assert not any(p.startswith(root) for p in removed)
    assert system.is_file(f"{root}/usr/bin/rustc")


def test_cache_size_lists_each_rust_kernel_and_each_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = str(tmp_path / "cache")
    kernel, root = rust_kernel_dir(cache, "6.12"), toolchain_root(cache, "trixie")
    told = {kernel: 3 << 30, root: 1 << 30, kernel_test_dir(cache, RELEASE): 2048}

    def du(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        paths = argv[argv.index("--") + 1 :]
        return Reply(stdout="".join(f"{told.get(p, 4096)}\t{p}\0" for p in paths))

    sizes = home_machine(tmp_path, files=complete_kernel(cache), handlers={"du": du})
    sizes.programs["du"] = "/usr/bin/du"
    cli(monkeypatch, sizes)
    result = invoke("cache", "size", "-v")
    assert result.exit_code == 0, result.stdout
    lines = [line.split(None, 2) for line in result.stdout.splitlines()]
    assert ["3.0", "GiB", "rust-kernels/6.12"] in lines
    assert ["1.0", "GiB", "rust-kernels/roots/trixie"] in lines
    assert ["2.0", "KiB", "test/" + RELEASE] in lines
    # a root's record is counted with its root, never as an item of its own
    assert not any(line[-1] == "rust-kernels/roots/trixie.json" for line in lines)
