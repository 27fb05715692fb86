"""The checks of cargo-driven modules: cargo, module-target and crates (on a FakeSystem)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Optional

import pytest

from kdoctor.checks.cargo import CargoCheck
from kdoctor.checks.crates import CratesCheck
from kdoctor.checks.module_target import ModuleTargetCheck
from kdoctor.facts import Facts
from kdoctor.facts.module import module_info
from kdoctor.facts.rust import rust_toolchain
from kdoctor.facts.rustc import RustToolchain
from kdoctor.model.finding import Finding, Status
from kdoctor.model.module import BuildDriver, Module, ModuleKind, RustTarget
from kdoctor.model.need import ByHand, CargoSource, Package, RustComponent, Setting
from kdoctor.pipeline.planner import fix_of
from tests.conftest import make_context
from tests.fake_system import FakeSystem, Reply

M = "/src/mod"
CACHE = "/root/.cache/kdoctor"
LIB = "/usr/lib/rustlib/src/rust/library"
DISTRO = RustToolchain(
    "distro",
    "/usr/bin/rustc",
    "1.96.0",
    "stable",
    "/usr",
    LIB,
    None,
    {"RUSTC_BOOTSTRAP": "1"},
    "the distribution's rustc",
    True,
)
PIN_RUSTC = "/root/.rustup/toolchains/nightly-x86_64-unknown-linux-gnu/bin/rustc"
PINNED = replace(
    DISTRO,
    source="pin",
    rustc=PIN_RUSTC,
    version="1.97.0",
    channel="nightly",
    env={"RUSTUP_TOOLCHAIN": "nightly"},
)
PROXY = "/root/.cargo/bin/cargo"
#: rustup's home (HOME is /root on these machines): its proxies are run only when it is there
RUSTUP_HOME = {"/root/.rustup": []}
NO_TOOLCHAIN = (
    "error: rustup could not choose a version of cargo to run, because one wasn't specified "
    "explicitly, and no default is configured.\nhelp: run 'rustup default stable'"
)


def module(driver: BuildDriver = BuildDriver.CARGO_BUILD_STD, **changes: Any) -> Module:
    base = Module(
        M,
        ModuleKind.CARGO,
        ("helloworld",),
        driver,
        f"{M}/Kbuild",
        RustTarget("x86_64-linux-kernel"),
        cargo_toml=None,
    )
    return replace(base, **changes)


class Seeded(Facts):
    """Facts with some answers given (the toolchain, the module), the rest computed."""

    def __init__(self, system: FakeSystem, seed: dict[Callable[..., Any], Any]) -> None:
        super().__init__(make_context(module_dir=M, cache_dir=CACHE), system)
        self.seed = seed

    def of(self, fact: Any) -> Any:
        return self.seed[fact] if fact in self.seed else super().of(fact)


def run(
    check: Any,
    system: FakeSystem,
    mod: Optional[Module] = None,
    toolchain: RustToolchain = DISTRO,
) -> Finding:
    facts = Seeded(system, {module_info: mod or module(), rust_toolchain: toolchain})
    finding: Finding = check.run(facts)
    return finding


def cargo_system(**commands: Any) -> FakeSystem:
    return FakeSystem(
        programs={"cargo": PROXY, "usr-cargo": "/usr/bin/cargo", "rustc": "/usr/bin/rustc"},
        commands=commands,
    )


# -- cargo ------------------------------------------------------------------------------------
def test_cargo_is_skipped_for_a_module_whose_build_runs_no_cargo() -> None:
    finding = run(CargoCheck(), cargo_system(), module(BuildDriver.KBUILD))
    assert finding.status is Status.SKIP and "does not run cargo" in finding.summary


def test_rustups_proxy_without_a_toolchain_is_no_cargo_and_the_matched_one_is_offered() -> None:
    system = FakeSystem(
        programs={"cargo": PROXY, "rustc": "/usr/bin/rustc"},
        commands={f"{PROXY} --version": Reply(stderr=NO_TOOLCHAIN, exit_code=1)},
        dirs=RUSTUP_HOME,
    )
    finding = run(CargoCheck(), system)
    assert finding.status is Status.FAIL
    assert "rustup's proxy at /root/.cargo/bin/cargo cannot run" in finding.summary
    assert "rustup could not choose a version of cargo to run" in finding.summary
    assert finding.needs == (Package("cargo-web", ("cargo-web",)),)
    assert finding.remediation is not None
    assert any("cargo-web" in c for c in finding.remediation.commands)


def test_rustups_proxy_without_a_rustup_home_is_not_run_and_says_why() -> None:
    system = FakeSystem(programs={"cargo": PROXY, "rustc": "/usr/bin/rustc"})
    finding = run(CargoCheck(), system)  # strict: the proxy was not asked (it makes ~/.rustup)
    assert finding.status is Status.FAIL
    assert (
        f"{PROXY} is rustup's proxy, and rustup has no toolchain (no /root/.rustup)"
        in finding.summary
    )
    assert system.calls == []


def test_a_cargo_of_another_release_than_rustc_fails_naming_both() -> None:
    system = FakeSystem(
        programs={"cargo": PROXY, "rustc": "/usr/bin/rustc"},
        commands={f"{PROXY} --version": "cargo 1.95.0 (f2d3ce0bd 2026-03-21)\n"},
        dirs=RUSTUP_HOME,
    )
    finding = run(CargoCheck(), system)
    assert finding.status is Status.FAIL
    assert "cargo 1.95.0" in finding.summary and "rustc 1.96.0" in finding.summary


def test_the_cargo_next_to_the_chosen_rustc_is_used_and_z_flags_pass_by_bootstrap() -> None:
    system = cargo_system(**{"/usr/bin/cargo --version": "cargo 1.96.0 (30a34c682 2026-05-25)\n"})
    finding = run(CargoCheck(), system)
    assert finding.status is Status.OK, finding.summary
    assert "cargo 1.96.0" in finding.summary and "RUSTC_BOOTSTRAP=1" in finding.summary
    assert finding.facts["cargo"]["path"] == "/usr/bin/cargo"


def test_old_cargo_numbering_matches_its_rustc_release() -> None:
    system = cargo_system(**{"/usr/bin/cargo --version": "cargo 0.66.0\n"})
    finding = run(CargoCheck(), system, toolchain=replace(DISTRO, version="1.65.0"))
    assert finding.status is Status.OK, finding.summary


def test_z_flags_need_nightly_or_bootstrap() -> None:
    system = cargo_system(**{"/usr/bin/cargo --version": "cargo 1.96.0 (x 2026-05-25)\n"})
    finding = run(CargoCheck(), system, toolchain=replace(DISTRO, env={}))
    assert finding.status is Status.FAIL
    assert "-Z flags" in finding.summary and "RUSTC_BOOTSTRAP=1" in finding.summary


def test_a_rustup_toolchain_gets_its_cargo_component() -> None:
    cargo = PIN_RUSTC[: -len("rustc")] + "cargo"
    system = FakeSystem(
        programs={"rustc": PIN_RUSTC, "cargo": PROXY},
        commands={f"{PROXY} --version": "cargo 1.95.0 (x 2026-03-21)\n"},
        dirs=RUSTUP_HOME,
    )
    finding = run(CargoCheck(), system, toolchain=PINNED)
    assert finding.status is Status.FAIL
    assert finding.needs == (RustComponent("nightly", "cargo"),)
    system.programs["tc-cargo"] = cargo
    system.commands[f"{cargo} --version"] = "cargo 1.97.0-nightly (x 2026-05-19)\n"
    finding = run(CargoCheck(), system, toolchain=PINNED)
    assert finding.status is Status.OK and "nightly cargo" in finding.summary


def test_cargo_xbuild_without_the_subcommand_fails_and_says_why_kdoctor_cannot_fix_it() -> None:
    system = cargo_system(
        **{
            "/usr/bin/cargo --version": "cargo 1.96.0 (x 2026-05-25)\n",
            "/usr/bin/cargo xbuild --version": Reply(
                stderr="error: no such command: `xbuild`\n", exit_code=101
            ),
        }
    )
    finding = run(CargoCheck(), system, module(BuildDriver.CARGO_XBUILD))
    assert finding.status is Status.FAIL
    assert "no such command: `xbuild`" in finding.summary
    assert fix_of(finding) is None  # nothing kdoctor fix may do: the plan says why
    assert isinstance(finding.needs[0], ByHand) and "crates.io" in finding.needs[0].why


# -- module-target ----------------------------------------------------------------------------
def target_system(targets: str = "x86_64-unknown-linux-gnu\nx86_64-unknown-none\n") -> FakeSystem:
    return FakeSystem(
        programs={"rustc": "/usr/bin/rustc"},
        commands={"/usr/bin/rustc --print target-list": targets},
    )


def test_a_built_in_target_of_this_rustc_is_ok() -> None:
    mod = module(target=RustTarget("x86_64-unknown-none"))
    assert run(ModuleTargetCheck(), target_system(), mod).status is Status.OK


def test_x86_64_linux_kernel_is_gone_from_later_rustc_and_the_remedy_says_when() -> None:
    finding = run(ModuleTargetCheck(), target_system())
    assert finding.status is Status.FAIL
    assert "has no built-in target x86_64-linux-kernel" in finding.summary
    assert "renamed x86_64-unknown-none-linuxkernel in December 2020" in finding.summary
    assert finding.remediation is not None
    assert "nightly-2020-11-30" in finding.remediation.text
    assert "target JSON" in finding.remediation.text
    assert fix_of(finding) is None and isinstance(finding.needs[0], ByHand)


SPEC_UNSTABLE = (
    "error: error loading target specification: custom targets are unstable and require "
    "`-Zunstable-options`\n  |\n  = help: run `rustc --print target-list`\n"
)
SPEC_FIELD = (
    "error: error loading target specification: eliminate-frame-pointer: unknown field "
    "`eliminate-frame-pointer`, expected one of `llvm-target`, `target-pointer-width`\n"
)


def test_a_target_json_this_rustc_rejects_names_both_errors_and_the_replacement_field() -> None:
    path = f"{M}/x86_64-kernel.json"
    system = FakeSystem(
        programs={"rustc": "/usr/bin/rustc"},
        files={path: "{}"},
        commands={
            f"/usr/bin/rustc --target {path} --print cfg": Reply(stderr=SPEC_UNSTABLE, exit_code=1),
            f"/usr/bin/rustc -Z unstable-options --target {path} --print cfg": Reply(
                stderr=SPEC_FIELD, exit_code=1
            ),
        },
    )
    mod = module(BuildDriver.CARGO_XBUILD, target=RustTarget("x86_64-kernel", path))
    finding = run(ModuleTargetCheck(), system, mod)
    assert finding.status is Status.FAIL
    assert "custom targets are unstable and require `-Zunstable-options`" in finding.summary
    assert "unknown field `eliminate-frame-pointer`" in finding.summary
    assert "expected one of" not in finding.summary
    assert finding.remediation is not None and "frame-pointer" in finding.remediation.text


# -- crates -----------------------------------------------------------------------------------
CARGO_TOML = '[package]\nname = "m"\nversion = "0.1.0"\n\n[dependencies]\nbitflags = "1"\n'
NOT_FOUND = "error: no matching package named `bitflags` found\nlocation searched: registry\n"


def crates_system(cargo_toml: str, answers: dict[str, Any], policy: dict[str, str]) -> FakeSystem:
    files = {f"{M}/Cargo.toml": cargo_toml, f"{M}/src/lib.rs": "#![no_std]\n"}

    def metadata(argv: tuple[str, ...], cwd: Optional[str], env: Any) -> Any:
        if "metadata" not in argv:
            return None
        return answers["replaced" if "--config" in argv else "build"]

    commands: dict[str, Any] = {"/usr/bin/cargo --version": "cargo 1.96.0 (x 2026-05-25)\n"}
    offline = {  # asked when the crates do not resolve
        "curl -sS -o /dev/null -I -m 6 https://index.crates.io/config.json": Reply(
            stderr="curl: (6) Could not resolve host: index.crates.io", exit_code=6
        ),
    }
    for name, version in policy.items():
        commands[f"apt-cache policy {name}"] = (
            f"{name}:\n  Installed: (none)\n  Candidate: {version}\n"
        )
    system = FakeSystem(
        programs={
            "cargo": "/usr/bin/cargo",
            "rustc": "/usr/bin/rustc",
            "curl": "/usr/bin/curl",
            "apt-cache": "/usr/bin/apt-cache",
        },
        files=files,
        dirs={"/usr/share/cargo/registry": []},
        commands=commands,
        maybe=offline,
        handlers={"/usr/bin/cargo": metadata},
    )
    return system


def crates_module(driver: BuildDriver = BuildDriver.CARGO) -> Module:
    return module(driver, cargo_toml=f"{M}/Cargo.toml")


def test_unresolvable_crates_with_crates_io_unreachable_offer_the_packaged_ones() -> None:
    system = crates_system(
        CARGO_TOML,
        {
            "build": Reply(stderr=NOT_FOUND, exit_code=101),
            "replaced": Reply(stderr=NOT_FOUND, exit_code=101),
        },
        {"librust-bitflags-dev": "1.3.2-3"},
    )
    finding = run(CratesCheck(), system, crates_module())
    assert finding.status is Status.FAIL, finding.summary
    assert "bitflags" in finding.summary and "crates.io is unreachable" in finding.summary
    home = f"{CACHE}/cargo-home"
    assert finding.needs == (
        Package("crate bitflags", ("librust-bitflags-dev",)),
        CargoSource(("/usr/share/cargo/registry",), home),
        Setting("CARGO_HOME", home),
    )
    # the module's directory was only read; the scratch copy is gone again
    assert not any(path.startswith(M) for path, _ in system.writes)
    assert not any(p.startswith(f"{CACHE}/scratch/crates-") for p in system.files)


def test_a_packaged_crate_of_another_version_fails_naming_wanted_and_available() -> None:
    toml = CARGO_TOML + '\n[build-dependencies]\nbindgen = "0.54"\n'
    system = crates_system(
        toml,
        {
            "build": Reply(stderr=NOT_FOUND, exit_code=101),
            "replaced": Reply(stderr=NOT_FOUND, exit_code=101),
        },
        {"librust-bitflags-dev": "1.3.2-3", "librust-bindgen-dev": "0.60.1-2+b2"},
    )
    finding = run(CratesCheck(), system, crates_module())
    assert finding.status is Status.FAIL
    assert 'bindgen = "0.54" is wanted, librust-bindgen-dev has 0.60.1' in finding.summary
    assert [type(n) for n in finding.needs] == [ByHand]


def test_crates_that_resolve_offline_are_ok() -> None:
    system = crates_system(CARGO_TOML, {"build": "{}"}, {})
    finding = run(CratesCheck(), system, crates_module())
    assert finding.status is Status.OK, finding.summary


def test_build_std_also_needs_the_standard_librarys_crates() -> None:
    answers = {"build": "{}", "replaced": "{}"}
    system = crates_system(CARGO_TOML, answers, {"librust-bitflags-dev": "1.3.2-3"})
    system.dirs[f"{LIB}/vendor"] = ["cfg-if-1.0.4", "libc-0.2.183"]
    finding = run(CratesCheck(), system, crates_module(BuildDriver.CARGO_BUILD_STD))
    assert finding.status is Status.FAIL, finding.summary
    assert "-Z build-std also builds the standard library's crates" in finding.summary
    source = next(n for n in finding.needs if isinstance(n, CargoSource))
    assert source.directories == (f"{LIB}/vendor", "/usr/share/cargo/registry")


@pytest.mark.parametrize(
    ("requirement", "version", "fits"),
    [
        ("0.54", "0.60.1", False),
        ("1", "1.3.2", True),
        ("^1.2", "1.1.0", False),
        ("~0.3.1", "0.3.9", True),
        (">=1, <3", "2.0.0", True),
        ("=1.2.3", "1.2.4", False),
        ("*", "9.0.0", True),
    ],
)
def test_cargo_requirements(requirement: str, version: str, fits: bool) -> None:
    from packaging.version import Version

    from kdoctor.knowledge.cargo import requirement_matches

    assert requirement_matches(requirement, Version(version)) is fits


# -- module-target: what the build names, before any rustc is asked ---------------------------
CARGO_196 = {"/usr/bin/cargo --version": "cargo 1.96.0 (30a34c682 2026-05-25)\n"}
JSON = f"{M}/targets/x86_64-linux-kernel.json"


def json_module(call: tuple[str, ...] = (), **changes: Any) -> Module:
    target = RustTarget("x86_64-linux-kernel", JSON, by_path=True)
    return module(target=target, **{"target_call": call, **changes})


def test_a_target_kdoctor_could_not_expand_warns_naming_it() -> None:
    mod = module(target=None, target_unread="$(TARGET_PROFILE)")
    system = FakeSystem(files={f"{M}/Kbuild": "obj-m := m.o\n"})
    finding = run(ModuleTargetCheck(), system, mod)
    assert finding.status is Status.WARN
    assert finding.summary.startswith(
        "the module's cargo command names --target $(TARGET_PROFILE), which kdoctor could not "
        "expand (make is not installed"
    )


def test_a_json_path_on_cargo_1_95_or_later_needs_json_target_spec_on_its_command_line() -> None:
    call = ("build", "-Z", "build-std=core", f"--target={JSON}")
    system = cargo_system(**CARGO_196)
    finding = run(ModuleTargetCheck(), system, json_module(call))
    assert finding.status is Status.FAIL and finding.required
    assert finding.summary == (
        "cargo 1.96.0 (/usr/bin/cargo) loads the target JSON x86_64-linux-kernel.json only "
        "with -Zjson-target-spec on its command line (rust-lang/cargo#16557, cargo 1.95.0), "
        "and the module's cargo command does not pass it"
    )
    assert finding.remediation is not None
    assert f"{JSON} does not exist either" in finding.remediation.text
    assert fix_of(finding) is None and isinstance(finding.needs[0], ByHand)


@pytest.mark.parametrize(
    "changes",
    [
        {"target_call": ("build", "-Zjson-target-spec", f"--target={JSON}")},
        {"target_call": ("-Z", "json-target-spec", "build", f"--target={JSON}")},
        {"target_call": ("build", f"--target={JSON}"), "cargo_unstable": ("json-target-spec",)},
    ],
    ids=["-Zflag", "-Z flag", "config"],
)
def test_a_missing_json_path_fails_naming_it_before_any_rustc_is_asked(
    changes: dict[str, Any],
) -> None:
    system = cargo_system()  # neither cargo nor rustc is asked
    finding = run(ModuleTargetCheck(), system, json_module(**changes))
    assert finding.status is Status.FAIL and finding.required
    assert finding.summary == f"the target JSON {JSON} the build names does not exist"
    assert finding.remediation is not None and JSON in finding.remediation.text
    assert isinstance(finding.needs[0], ByHand)


def test_an_older_cargo_loads_a_json_path_without_the_flag() -> None:
    system = cargo_system(**{"/usr/bin/cargo --version": "cargo 1.94.1 (x 2026-02-11)\n"})
    finding = run(
        ModuleTargetCheck(),
        system,
        json_module(("build", f"--target={JSON}")),
        toolchain=replace(DISTRO, version="1.94.1"),
    )
    assert finding.summary == f"the target JSON {JSON} the build names does not exist"


def test_a_json_target_named_without_its_suffix_needs_no_flag() -> None:
    # `--target x86_64-kernel` with x86_64-kernel.json where rustc looks: cargo passes a name
    path = f"{M}/x86_64-kernel.json"
    system = FakeSystem(
        programs={"rustc": "/usr/bin/rustc"},
        files={path: "{}"},
        commands={f"/usr/bin/rustc --target {path} --print cfg": 'target_arch="x86_64"\n'},
    )
    mod = module(target=RustTarget("x86_64-kernel", path), target_call=("build",))
    assert run(ModuleTargetCheck(), system, mod).status is Status.OK


def test_a_target_from_an_alias_is_named_with_where_it_comes_from() -> None:
    origin = f"the alias kbuild in {M}/.cargo/config.toml"
    mod = module(target=RustTarget("x86_64-unknown-none", origin=origin))
    finding = run(ModuleTargetCheck(), target_system(), mod)
    assert finding.status is Status.OK
    assert finding.summary.startswith(f"x86_64-unknown-none ({origin}) is a built-in target")
