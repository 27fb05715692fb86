"""A module whose Kbuild links the archive a cargo command run before make leaves in target/
(the 2019 fork: `cargo xbuild` by hand, then make): the module model tells the step, cargo and
kbuild-cmd judge it, and ``kdoctor build`` runs it before make (on the strict fake)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from kdoctor.checks.cargo import CargoCheck
from kdoctor.checks.kbuild_cmd import KbuildCmdCheck
from kdoctor.facts.module import read_module
from kdoctor.model.finding import Status
from kdoctor.model.module import BuildDriver, CargoStep, ModuleKind
from kdoctor.model.need import ByHand
from kdoctor.pipeline.build import build
from kdoctor.pipeline.planner import fix_of
from tests.conftest import make_context, run_check
from tests.fake_system import FakeSystem, Reply
from tests.test_cargo_checks import DISTRO, run
from tests.test_kbuild_cmd_check import kernel

M = "/src/mod"
CACHE = "/home/me/.cache/kdoctor"
ARCHIVE = "target/x86_64-linux-kernel-module/debug/libhello_world.a"
MAKEFILE = f"""\
obj-m := helloworld.o
helloworld-objs := {ARCHIVE}
EXTRA_LDFLAGS += --entry=init_module

all:
\t$(MAKE) -C $(KDIR) M=$(CURDIR) modules
"""
README = "Build:\n\n    cargo xbuild --target x86_64-linux-kernel-module.json\n    make\n"
CARGO_TOML = '[package]\nname = "hello-world"\nversion = "0.1.0"\n'


def files(**extra: str) -> dict[str, str]:
    base = {"Makefile": MAKEFILE, "Cargo.toml": CARGO_TOML, **extra}
    return {f"{M}/{name}": text for name, text in base.items()}


# -- the module model ---------------------------------------------------------------------------
def test_an_archive_beside_a_cargo_toml_that_the_readme_xbuilds_is_a_cargo_step() -> None:
    system = FakeSystem(
        files=files(**{"README.md": README, "x86_64-linux-kernel-module.json": "{}"})
    )
    module = read_module(system, M)
    assert module.kind is ModuleKind.CARGO and module.driver is BuildDriver.CARGO_XBUILD
    assert module.step == CargoStep(
        ("xbuild", "--target", "x86_64-linux-kernel-module.json"),
        M,
        f"{M}/{ARCHIVE}",
        f"{M}/README.md builds it with cargo xbuild",
    )
    assert module.target is not None
    assert module.target.json_path == f"{M}/x86_64-linux-kernel-module.json"
    assert module.cargo_toml == f"{M}/Cargo.toml"
    assert module.to_json()["step"]["args"] == list(module.step.args)


def test_what_the_step_runs_follows_the_module_s_own_files() -> None:
    release = MAKEFILE.replace("/debug/", "/release/")
    xargo = read_module(FakeSystem(files=files(Makefile=release, **{"Xargo.toml": ""})), M)
    assert xargo.step is not None and xargo.step.args == (
        "xbuild",
        "--release",
        "--target",
        "x86_64-linux-kernel-module",
    )
    # a target JSON and no word of cargo-xbuild: what replaced it, the JSON found by its name
    spec = read_module(FakeSystem(files=files(**{"x86_64-linux-kernel-module.json": "{}"})), M)
    assert spec.driver is BuildDriver.CARGO_BUILD_STD and spec.step is not None
    assert spec.step.args == (
        "build",
        "-Z",
        "build-std=core,alloc",
        "--target",
        "x86_64-linux-kernel-module",
    )
    said = "cargo build -Z build-std=core --target x86_64-unknown-none\n"
    builtin = MAKEFILE.replace("x86_64-linux-kernel-module", "x86_64-unknown-none")
    std = read_module(FakeSystem(files=files(Makefile=builtin, **{"README": said})), M)
    assert std.step is not None
    assert std.step.args == ("build", "-Z", "build-std=core", "--target", "x86_64-unknown-none")
    plain = read_module(FakeSystem(files=files(Makefile=builtin)), M)
    assert plain.driver is BuildDriver.CARGO and plain.step is not None
    assert plain.step.args == ("build", "--target", "x86_64-unknown-none")


def test_no_step_without_a_cargo_toml_or_when_a_rule_makes_the_archive() -> None:
    alone = read_module(FakeSystem(files={f"{M}/Makefile": MAKEFILE}), M)
    assert alone.step is None and alone.kind is ModuleKind.UNKNOWN
    ruled = MAKEFILE + f"\n$(src)/{ARCHIVE}: $(src)/prebuilt.a\n\tcp $< $@\n"
    copied = read_module(FakeSystem(files=files(Makefile=ruled)), M)
    assert copied.step is None and copied.driver is BuildDriver.KBUILD


# -- cargo: the step's driver --------------------------------------------------------------------
def test_a_step_whose_xbuild_is_missing_names_the_command_and_why_it_cannot_run_here() -> None:
    step = CargoStep(
        ("xbuild", "--target", "x86_64-linux-kernel-module.json"),
        M,
        f"{M}/{ARCHIVE}",
        f"{M}/README.md builds it with cargo xbuild",
    )
    system = FakeSystem(
        programs={"cargo": "/usr/bin/cargo", "rustc": "/usr/bin/rustc", "curl": "/usr/bin/curl"},
        commands={
            "/usr/bin/cargo --version": "cargo 1.96.0 (30a34c682 2026-05-25)\n",
            "/usr/bin/cargo xbuild --version": Reply(
                stderr="error: no such command: `xbuild`\n", exit_code=101
            ),
            "curl -sS -o /dev/null -I -m 6 https://index.crates.io/config.json": Reply(
                stderr="curl: (6) Could not resolve host: index.crates.io", exit_code=6
            ),
        },
    )
    from tests.test_cargo_checks import module as cargo_module

    mod = cargo_module(BuildDriver.CARGO_XBUILD, step=step)
    finding = run(CargoCheck(), system, mod, DISTRO)
    assert finding.status is Status.FAIL and finding.required
    assert finding.summary == (
        f"the module's {ARCHIVE} is made by `cargo xbuild --target "
        f"x86_64-linux-kernel-module.json` ({M}/README.md builds it with cargo xbuild), which "
        "needs the cargo-xbuild subcommand this cargo lacks (error: no such command: `xbuild`); "
        "no distribution packages cargo-xbuild and crates.io is unreachable here "
        "(https://index.crates.io/config.json did not answer (curl: (6) Could not resolve host: "
        "index.crates.io)), so `cargo install cargo-xbuild` cannot run here"
    )
    assert finding.remediation is not None
    assert finding.remediation.commands == (
        "cargo install cargo-xbuild",
        f"cd {M} && cargo xbuild --target x86_64-linux-kernel-module.json",
    )
    assert fix_of(finding) is None and isinstance(finding.needs[0], ByHand)


# -- kbuild-cmd: an archive made before kbuild runs gets no .cmd --------------------------------
def kbuild_machine(makefile: str, **extra: str) -> FakeSystem:
    return FakeSystem(
        programs={"modpost": "/usr/src/linux-headers-6.1.0-56-amd64/scripts/mod/modpost"},
        files={**kernel(), **files(Makefile=makefile, **extra)},
    )


def test_the_step_s_archive_fails_kbuild_cmd_naming_the_cmd_file_modpost_reads() -> None:
    system = kbuild_machine(MAKEFILE)
    system.programs["modpost"] = f"{make_context().kdir}/scripts/mod/modpost"
    finding = run_check(KbuildCmdCheck(), make_context(module_dir=M), system)
    assert finding.status is Status.FAIL and finding.required
    assert finding.summary == (
        "modpost will stop with `.libhello_world.a.cmd: No such file or directory`: nothing in "
        f"Makefile builds {ARCHIVE} (it is made before kbuild runs), so kbuild records no "
        "command for it"
    )
    assert finding.remediation is not None
    assert finding.remediation.commands == (
        f"touch {M}/target/x86_64-linux-kernel-module/debug/.libhello_world.a.cmd",
    )
    assert fix_of(finding) is None  # no rule to rewrite: the plan says so


def test_a_makefile_that_touches_the_archive_s_cmd_file_first_warns() -> None:
    touching = MAKEFILE.replace(
        "\t$(MAKE)", f"\ttouch {ARCHIVE.replace('libhello', '.libhello')}.cmd\n\t$(MAKE)"
    )
    system = kbuild_machine(touching)
    system.programs["modpost"] = f"{make_context().kdir}/scripts/mod/modpost"
    finding = run_check(KbuildCmdCheck(), make_context(module_dir=M), system)
    assert finding.status is Status.WARN, finding.summary
    assert finding.summary.startswith(
        f"{ARCHIVE} gets .libhello_world.a.cmd only from a `touch` in Makefile"
    )


# -- kdoctor build: the step, then make ----------------------------------------------------------
def machine_with_cargo(cargo_ok: bool) -> tuple[FakeSystem, list[tuple[str, Optional[str]]]]:
    ran: list[tuple[str, Optional[str]]] = []
    system = FakeSystem(
        files=files(), programs={"make": "/usr/bin/make", "/usr/bin/cargo": "/usr/bin/cargo"}
    )

    def cargo(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Any:
        ran.append((" ".join(argv), cwd))
        assert env["RUSTC"] == "/usr/bin/rustc" and env["RUSTC_BOOTSTRAP"] == "1"
        if not cargo_ok:  # a run's stderr comes with its stdout, as the Runner streams them
            return Reply(stdout="error: no such command: `xbuild`\n", exit_code=101)
        system.write_file(f"{M}/{ARCHIVE}", b"!<arch>\n")
        return Reply(stdout="   Compiling hello-world v0.1.0\n")

    def make(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        ran.append((" ".join(argv[:3]), cwd))
        system.write_file(f"{M}/helloworld.ko", b"\x7fELF")
        return Reply(stdout="  LD [M]  helloworld.ko\n")

    system.handlers["/usr/bin/cargo"] = cargo
    if cargo_ok:  # else make must not run at all
        system.handlers["make"] = make
    return system, ran


STEP = CargoStep(
    ("xbuild", "--target", "x86_64-linux-kernel-module.json"), M, f"{M}/{ARCHIVE}", "README.md"
)


def test_kdoctor_build_runs_the_step_where_the_cargo_toml_is_and_then_make() -> None:
    system, ran = machine_with_cargo(cargo_ok=True)
    ctx = make_context(module_dir=M, cache_dir=CACHE)
    result = build(
        ctx,
        system,
        rustc="/usr/bin/rustc",
        toolchain_env={"RUSTC_BOOTSTRAP": "1"},
        log_dir=f"{CACHE}/logs",
        cargo="/usr/bin/cargo",
        step=STEP,
    )
    assert result.ok and result.ko == f"{M}/helloworld.ko"
    assert ran == [
        ("/usr/bin/cargo xbuild --target x86_64-linux-kernel-module.json", M),
        (f"make -C {M}", M),  # make runs in the module directory, as a person's would
    ]
    log = system.read_text(result.log_path) or ""
    assert log.startswith(f"$ cd {M} && ") and "/usr/bin/cargo xbuild" in log.splitlines()[0]


def test_a_failing_step_stops_the_build_before_make_and_is_its_cause() -> None:
    system, ran = machine_with_cargo(cargo_ok=False)
    ctx = make_context(module_dir=M, cache_dir=CACHE)
    result = build(
        ctx,
        system,
        rustc="/usr/bin/rustc",
        toolchain_env={"RUSTC_BOOTSTRAP": "1"},
        log_dir=f"{CACHE}/logs",
        cargo="/usr/bin/cargo",
        step=STEP,
    )
    assert not result.ok and result.ko is None
    assert [command for command, _cwd in ran] == [
        "/usr/bin/cargo xbuild --target x86_64-linux-kernel-module.json"
    ]
    assert result.argv[:2] == ("/usr/bin/cargo", "xbuild")
    assert result.cause == "error: no such command: `xbuild`"
