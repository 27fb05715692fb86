from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

import pytest

from kdoctor.facts import rustc, rustup
from kdoctor.facts.rustc import RustToolchain
from kdoctor.facts.rustup import Active, Override
from kdoctor.knowledge.packages import rust_logical, rustup_packaged
from kdoctor.machine.system import Probe
from kdoctor.model.context import DistroInfo
from tests.conftest import make_context
from tests.fake_system import Answer, FakeSystem, Reply

HOME = "/root"
CARGO_BIN = f"{HOME}/.cargo/bin"
RUSTUP = f"{CARGO_BIN}/rustup"
SHIM = f"{CARGO_BIN}/rustc"
PIN = "nightly-2021-02-12-x86_64-unknown-linux-gnu"
STABLE = "stable-x86_64-unknown-linux-gnu"
PIN_ROOT = f"{HOME}/.rustup/toolchains/{PIN}"
PIN_RUSTC = f"{PIN_ROOT}/bin/rustc"
PIN_RUSTFMT = f"{PIN_ROOT}/bin/rustfmt"
PIN_LIB = f"{PIN_ROOT}/lib/rustlib/src/rust/library"
PIN_BANNER = "rustc 1.52.0-nightly (07194ffcd 2021-02-10)\n"
DISTRO_RUSTC = "/usr/bin/rustc"
DISTRO_LIB = "/usr/lib/rustlib/src/rust/library"
WEB_BANNER = "rustc 1.96.0 (ac68faa20 2026-05-25) (built from a source tarball)\n"
MODULE = "/src/hello-world"
PATH = f"{CARGO_BIN}:/usr/local/bin:/usr/bin:/bin"

RUSTUP_VERSION = Reply(
    stdout="rustup 1.27.1 (54dd3d00f 2024-04-24)\n",
    stderr="info: This is the version for the rustup toolchain manager, not the rustc compiler.\n"
    "info: The currently active `rustc` version is `rustc 1.95.0 (59807616e 2026-04-14)`\n",
)
PIN_ACTIVE = f"{PIN} (overridden by '{MODULE}/rust-toolchain.toml')\n"
#: what ``RUSTC_BOOTSTRAP=1 rustc -Z help`` lists (the compat check reads it)
Z_HELP = "    -Z unstable-options -- adds unstable command line options to rustc interface\n"
COMPONENTS = "rust-src\nrust-std-x86_64-unknown-linux-gnu\nrustc-x86_64-unknown-linux-gnu\n"

PIN_CHANNEL = "nightly-2021-02-12"


def library(root: str) -> dict[str, str]:
    return {f"{root}/core/src/lib.rs": "", f"{root}/alloc/src/lib.rs": ""}


def machine(
    *,
    rustup: bool = True,
    pin: bool = True,
    rustfmt: bool = True,
    pin_src: bool = True,
    active: Answer = PIN_ACTIVE,
    overrides: Answer = "no overrides\n",
    toolchains: Optional[Answer] = None,
    distro: Optional[Answer] = WEB_BANNER,
    distro_src: bool = True,
    distro_rustfmt: bool = False,
    env: Optional[dict[str, str]] = None,
    commands: Optional[dict[str, Answer]] = None,
) -> FakeSystem:
    """A Debian 12 machine: rustup's shims in ~/.cargo/bin first on PATH, the pin installed
    with rust-src and rustfmt, and Debian's rustc-web 1.96 at /usr/bin/rustc with rust-web-src;
    each keyword takes one of those away or changes what a tool says. The machine's answers
    may go unasked; ``commands`` are the ones a test means to be asked."""
    programs: dict[str, str] = {}
    files: dict[str, str] = {}
    dirs: dict[str, list[str]] = {}
    answers: dict[str, Answer] = {}
    if rustup:
        dirs[f"{HOME}/.rustup"] = []  # rustup's home: without one rustup is never asked
        programs.update(rustup=RUSTUP, rustc=SHIM, rustfmt=f"{CARGO_BIN}/rustfmt")
        programs[SHIM] = SHIM
        programs[f"{CARGO_BIN}/rustfmt"] = f"{CARGO_BIN}/rustfmt"
        listed = f"{STABLE} (default)\n" + (f"{PIN}\n" if pin else "")
        answers.update(
            {
                "rustup --version": RUSTUP_VERSION,
                "rustup toolchain list": toolchains if toolchains is not None else listed,
                "rustup show active-toolchain": active,
                "rustup override list": overrides,
            }
        )
        if pin:
            programs[PIN_RUSTC] = PIN_RUSTC
            answers[f"rustup which rustc --toolchain {PIN}"] = PIN_RUSTC + "\n"
            answers[f"rustup component list --installed --toolchain {PIN}"] = COMPONENTS + (
                "rustfmt-x86_64-unknown-linux-gnu\n" if rustfmt else ""
            )
            answers[f"{PIN_RUSTC} --version"] = PIN_BANNER
            answers[f"{PIN_RUSTC} --print sysroot"] = PIN_ROOT + "\n"
            answers[f"{PIN_RUSTC} -Z help"] = Z_HELP
            if rustfmt:
                programs[PIN_RUSTFMT] = PIN_RUSTFMT
                answers[f"{PIN_RUSTFMT} --version"] = (
                    "rustfmt 1.4.30-nightly (b5f1cba 2021-02-11)\n"
                )
            if pin_src:
                files.update(library(PIN_LIB))
    if distro is not None:
        programs[DISTRO_RUSTC] = DISTRO_RUSTC
        answers[f"{DISTRO_RUSTC} --version"] = distro
        answers[f"{DISTRO_RUSTC} --print sysroot"] = "/usr\n"
        answers[f"{DISTRO_RUSTC} -Z help"] = Z_HELP
        if distro_src:
            files.update(library(DISTRO_LIB))
    if distro_rustfmt:
        programs["/usr/bin/rustfmt"] = "/usr/bin/rustfmt"
        answers["/usr/bin/rustfmt --version"] = "rustfmt 1.8.0-stable (ac68faa20 2026-05-25)\n"
    return FakeSystem(
        programs=programs,
        maybe=answers,
        commands=commands,
        files=files,
        dirs=dirs,
        env={"PATH": PATH, "HOME": HOME, **(env or {})},
    )


def resolve(system: FakeSystem, **ctx: Any) -> RustToolchain:
    return rustc.resolve(make_context(**ctx), system)


PIN_OK = RustToolchain(
    source="pin",
    rustc=PIN_RUSTC,
    version="1.52.0",
    channel="nightly",
    sysroot=PIN_ROOT,
    library_src=PIN_LIB,
    rustfmt=PIN_RUSTFMT,
    env={"RUSTUP_TOOLCHAIN": "nightly-2021-02-12"},
    reason="nightly-2021-02-12 (pinned by rust-toolchain.toml) is installed",
    usable=True,
    problems=[],
)

DISTRO_OK = RustToolchain(
    source="distro",
    rustc=DISTRO_RUSTC,
    version="1.96.0",
    channel="stable",
    sysroot="/usr",
    library_src=DISTRO_LIB,
    rustfmt=None,
    env={"RUSTC_BOOTSTRAP": "1"},
    reason="nightly-2021-02-12 is not installed; using the distribution's rustc 1.96.0 with "
    "RUSTC_BOOTSTRAP=1 as the kernel does",
    usable=True,
    problems=[],
)

PIN_MISSING = RustToolchain(
    source="pin",
    rustc=None,
    version=None,
    channel="nightly",
    sysroot=None,
    library_src=None,
    rustfmt=None,
    env={"RUSTUP_TOOLCHAIN": "nightly-2021-02-12"},
    reason="",
    usable=False,
    problems=["nightly-2021-02-12 is not installed"],
)


# -- auto ---------------------------------------------------------------------------------------
def test_auto_uses_the_pin_when_rustup_has_it() -> None:
    system = machine()
    assert resolve(system) == PIN_OK
    assert system.runs == []


def test_auto_falls_back_to_the_distro_rustc_with_bootstrap_when_the_pin_is_missing() -> None:
    assert resolve(machine(pin=False)) == DISTRO_OK


def test_auto_without_rustup_uses_the_distro_rustc_and_says_why() -> None:
    found = resolve(machine(rustup=False))
    assert found.source == "distro"
    assert found.reason == (
        "rustup is not installed (needed for nightly-2021-02-12); using the distribution's "
        "rustc 1.96.0 with RUSTC_BOOTSTRAP=1 as the kernel does"
    )


def test_auto_with_a_hung_rustup_uses_the_distro_rustc_and_names_the_hang() -> None:
    system = machine(toolchains=Reply(timed_out=True))
    found = rustc.resolve(make_context(), system)
    assert found.source == "distro"
    assert found.reason == (
        "rustup could not say whether nightly-2021-02-12 is installed (rustup toolchain list: "
        f"{RUSTUP} did not answer within 15 s (killed)); using the distribution's rustc 1.96.0 "
        "with RUSTC_BOOTSTRAP=1 as the kernel does"
    )


def test_auto_advises_the_pin_when_the_distro_rustc_is_missing_too() -> None:
    reason = (
        "nightly-2021-02-12 is not installed, and the distribution's rustc is not usable (no "
        "distribution rustc (none on PATH outside ~/.cargo/bin, none at /usr/bin/rustc))"
    )
    assert resolve(machine(pin=False, distro=None)) == replace(PIN_MISSING, reason=reason)


def test_auto_advises_the_pin_when_the_distro_rustc_is_too_old() -> None:
    found = resolve(machine(pin=False, distro="rustc 1.41.1\n"))
    assert (found.source, found.usable) == ("pin", False)
    assert found.reason == (
        "nightly-2021-02-12 is not installed, and the distribution's rustc is not usable "
        "(rustc 1.41.1 is too old (1.48 or newer is needed))"
    )


def test_auto_advises_the_pin_when_the_distro_rustc_has_no_library_sources() -> None:
    found = resolve(machine(pin=False, distro_src=False))
    assert found.source == "pin"
    assert found.reason == (
        "nightly-2021-02-12 is not installed, and the distribution's rustc is not usable "
        f"(no Rust library sources (rust-src) in {DISTRO_LIB})"
    )


# -- pin ----------------------------------------------------------------------------------------
def test_pin_mode_never_falls_back() -> None:
    found = resolve(machine(pin=False), rust_mode="pin")
    assert found == replace(
        PIN_MISSING, reason="nightly-2021-02-12 pinned by rust-toolchain.toml (--rust pin)"
    )


def test_pin_mode_without_rustup() -> None:
    found = resolve(machine(rustup=False), rust_mode="pin")
    assert (found.source, found.usable, found.problems) == (
        "pin",
        False,
        ["rustup is not installed"],
    )


def test_pin_without_rust_src_is_unusable_and_says_where_it_looked() -> None:
    found = resolve(machine(pin_src=False))
    assert (found.source, found.rustc, found.library_src, found.usable) == (
        "pin",
        PIN_RUSTC,
        None,
        False,
    )
    assert found.problems == [f"no Rust library sources (rust-src) in {PIN_LIB}"]


def test_pin_without_rustfmt_is_still_usable() -> None:
    found = resolve(machine(rustfmt=False))
    assert (found.usable, found.rustfmt) == (True, None)


def test_pin_whose_rustup_which_fails_names_the_failure() -> None:
    system = machine(
        commands={
            f"rustup which rustc --toolchain {PIN}": Reply(
                stderr="error: toolchain is broken\n", exit_code=1
            )
        }
    )
    found = resolve(system)
    assert (found.rustc, found.usable) == (None, False)
    assert found.problems == [
        f"rustup which rustc --toolchain {PIN}: {RUSTUP} exited with status 1: "
        "error: toolchain is broken"
    ]


def test_pin_with_a_garbled_toolchain_list_cannot_be_told() -> None:
    system = machine(toolchains="\x00\x01\ufffd\ufffdgarbage\n")
    state = rustup.pin_state(make_context(), system)
    assert state.installed is None
    assert state.problem == (
        "rustup toolchain list printed something unexpected: '\\x00\\x01��garbage'"
    )


def test_coloured_rustup_output_is_read() -> None:
    coloured = f"{STABLE}\x1b[1m\x1b[94m (active, default)\x1b[0m\n{PIN}\x1b[1m\x1b[94m\x1b[0m\n"
    state = rustup.pin_state(make_context(), machine(toolchains=coloured))
    assert (state.installed, state.toolchains) == (True, (STABLE, PIN))


def test_rustup_off_path_is_found_in_cargo_home() -> None:
    system = machine(env={"PATH": "/usr/bin:/bin"})
    del system.programs["rustup"]
    system.programs[RUSTUP] = RUSTUP  # still there, by full path only
    assert system.which("rustup") is None
    assert rustup.find_rustup(system) == (RUSTUP, False)
    assert resolve(system) == PIN_OK


# -- distro -------------------------------------------------------------------------------------
def test_distro_mode_skips_the_rustup_shim_that_shadows_usr_bin_rustc() -> None:
    system = machine()
    assert system.which("rustc") == SHIM
    found = resolve(system, rust_mode="distro")
    assert found == replace(DISTRO_OK, reason="the distribution's rustc (--rust distro)")
    assert not any("rustup" in " ".join(call) for call in system.calls)


def test_distro_rustc_earlier_on_path_wins_over_usr_bin() -> None:
    system = machine()
    system.programs["/usr/local/bin/rustc"] = "/usr/local/bin/rustc"
    system.commands["/usr/local/bin/rustc --version"] = "rustc 1.80.0 (051478957 2024-07-21)\n"
    system.commands["/usr/local/bin/rustc --print sysroot"] = "/usr/local\n"
    system.files.update(library("/usr/local/lib/rustlib/src/rust/library"))
    found = resolve(system, rust_mode="distro")
    assert (found.rustc, found.version, found.usable) == ("/usr/local/bin/rustc", "1.80.0", True)


def test_distro_rustc_off_path_is_found_at_usr_bin() -> None:
    found = resolve(machine(env={"PATH": CARGO_BIN}), rust_mode="distro")
    assert (found.rustc, found.usable) == (DISTRO_RUSTC, True)


def test_distro_rustfmt_next_to_rustc_is_reported() -> None:
    found = resolve(machine(distro_rustfmt=True), rust_mode="distro")
    assert found.rustfmt == "/usr/bin/rustfmt"


@pytest.mark.parametrize(
    ("banner", "usable", "problems"),
    [
        ("rustc 1.48.0\n", True, []),
        ("rustc 1.63.0 (4b91a6ea7 2022-08-08)\n", True, []),
        ("rustc 1.47.0\n", False, ["rustc 1.47.0 is too old (1.48 or newer is needed)"]),
        (
            "segfault\n",
            False,
            ["/usr/bin/rustc --version printed something unexpected: segfault"],
        ),
    ],
)
def test_distro_rustc_version_floor(banner: str, usable: bool, problems: list[str]) -> None:
    found = resolve(machine(distro=banner), rust_mode="distro")
    assert (found.usable, found.problems) == (usable, problems)


def test_nightly_distro_rustc_needs_no_bootstrap() -> None:
    found = resolve(
        machine(distro="rustc 1.80.0-nightly (ada5e2c7b 2024-05-31)\n"), rust_mode="distro"
    )
    assert (found.channel, found.env) == ("nightly", {})


def test_hung_distro_rustc_is_named() -> None:
    found = resolve(machine(distro=Reply(timed_out=True)), rust_mode="distro")
    assert found.problems == ["/usr/bin/rustc did not answer within 10 s (killed)"]


# -- RUSTC --------------------------------------------------------------------------------------
def test_rustc_variable_wins_in_every_mode_and_is_named_by_full_path() -> None:
    for mode in ("auto", "pin", "distro"):
        found = resolve(machine(), rust_mode=mode, env={"RUSTC": DISTRO_RUSTC})
        assert found == replace(
            DISTRO_OK,
            source="env",
            reason="RUSTC=/usr/bin/rustc is set (the kernel build uses it)",
        )


def test_rustc_variable_naming_nothing_is_a_problem() -> None:
    found = resolve(machine(), env={"RUSTC": "rustc-1.99"})
    assert (found.source, found.rustc, found.usable, found.problems) == (
        "env",
        None,
        False,
        ["RUSTC=rustc-1.99: command not found"],
    )


# -- rustup's words -----------------------------------------------------------------------------
def _probe(stdout: str = "", stderr: str = "", exit_code: Optional[int] = 0) -> Probe:
    return Probe(("rustup", "show", "active-toolchain"), exit_code, stdout, stderr)


@pytest.mark.parametrize(
    ("probe", "active"),
    [
        (_probe(PIN_ACTIVE), Active(PIN, "file", f"{MODULE}/rust-toolchain.toml")),
        (
            _probe(f"{STABLE} (directory override for '{MODULE}')\n"),
            Active(STABLE, "directory", MODULE),
        ),
        (_probe(f"{STABLE} (default)\n"), Active(STABLE, "default")),
        (
            _probe("nightly-x86_64-unknown-linux-gnu (environment override by RUSTUP_TOOLCHAIN)"),
            Active("nightly-x86_64-unknown-linux-gnu", "env", "RUSTUP_TOOLCHAIN"),
        ),
        (
            _probe(f"{STABLE} (overridden by environment variable RUSTUP_TOOLCHAIN)\n"),
            Active(STABLE, "env", "RUSTUP_TOOLCHAIN"),
        ),
        (
            _probe(
                stderr=f"error: override toolchain '{PIN}' is not installed: the toolchain file "
                f"at '{MODULE}/rust-toolchain.toml' specifies an uninstalled toolchain\n",
                exit_code=1,
            ),
            Active(
                PIN,
                "file",
                f"{MODULE}/rust-toolchain.toml",
                "rustup exited with status 1: error: override toolchain "
                f"'{PIN}' is not installed: the toolchain file at '{MODULE}/rust-toolchain.toml' "
                "specifies an uninstalled toolchain",
                missing=True,
            ),
        ),
        (
            _probe("\x00\x01garbage\n"),
            Active(
                None,
                "unknown",
                problem="rustup show active-toolchain printed something unexpected: "
                "'\\x00\\x01garbage'",
            ),
        ),
        (
            Probe(("rustup",), None, timed_out=True, timeout=15),
            Active(
                None,
                "unknown",
                problem="rustup show active-toolchain: rustup did not answer within 15 s (killed)",
            ),
        ),
    ],
)
def test_parse_active(probe: Probe, active: Active) -> None:
    assert rustup.parse_active(probe) == active


def test_parse_overrides_reads_padded_tabbed_and_vanished_directories() -> None:
    text = (
        "/tmp/gone dir (not a directory)         \tbeta-x86_64-unknown-linux-gnu\n"
        f"{MODULE}                        \t{STABLE}\n"
        "\n"
    )
    assert rustup.parse_overrides(text) == [
        ("/tmp/gone dir", "beta-x86_64-unknown-linux-gnu"),
        (MODULE, STABLE),
    ]
    assert rustup.parse_overrides("no overrides\n") == []
    assert rustup.parse_overrides(f"{MODULE}   {STABLE}\n") == [(MODULE, STABLE)]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (f"{STABLE} (active, default)\n{PIN}\n", [STABLE, PIN]),
        (f"{STABLE} (default)\n{PIN} (override)\n", [STABLE, PIN]),
        ("no installed toolchains\n", []),
        ("", []),
        ("Segmentation fault\n", None),
    ],
)
def test_parse_toolchain_list(text: str, names: Optional[list[str]]) -> None:
    assert rustup.parse_toolchain_list(text) == names


@pytest.mark.parametrize(
    ("name", "matches"),
    [
        ("nightly-2021-02-12", True),
        (PIN, True),
        ("nightly-2021-02-12-aarch64-unknown-linux-gnu", True),
        ("nightly", False),
        ("nightly-x86_64-unknown-linux-gnu", False),
        ("nightly-2021-02-13-x86_64-unknown-linux-gnu", False),
        (STABLE, False),
    ],
)
def test_names_pin(name: str, matches: bool) -> None:
    assert rustup.names_pin(make_context(), name) is matches


def test_names_and_commands_for_the_pin() -> None:
    ctx = make_context()
    assert rustup.pin_name(ctx) == PIN
    assert rustup.pin_name(make_context(arch="aarch64")) == (
        "nightly-2021-02-12-aarch64-unknown-linux-gnu"
    )
    assert rustup.install_command(ctx) == (
        "rustup toolchain install nightly-2021-02-12 --profile minimal "
        "--component rust-src --component rustfmt"
    )
    wanted = rustup.pin_need(ctx)
    assert (wanted.channel, wanted.components) == (PIN_CHANNEL, ("rust-src", "rustfmt"))


def test_has_component() -> None:
    listed = ["rust-src", "rustfmt-x86_64-unknown-linux-gnu", "rust-std-x86_64-unknown-linux-gnu"]
    assert rustup.has_component(listed, "rust-src")
    assert rustup.has_component(listed, "rustfmt")
    assert rustup.has_component(["rustfmt-preview-x86_64-unknown-linux-gnu"], "rustfmt")
    assert not rustup.has_component(["rust-std-x86_64-unknown-linux-gnu"], "rust-src")


# -- overrides ----------------------------------------------------------------------------------
def _override(system: FakeSystem, active: Optional[Active], **ctx: Any) -> Optional[Override]:
    return rustup.find_override(make_context(**ctx), system, RUSTUP, active)


def test_rustup_toolchain_variable_beats_everything() -> None:
    system = machine(overrides=f"{MODULE}\t{STABLE}\n")
    assert _override(system, None, env={"RUSTUP_TOOLCHAIN": "stable"}) == Override("env", "stable")
    assert _override(system, None, env={"RUSTUP_TOOLCHAIN": "nightly-2021-02-12"}) is None


def test_directory_override_named_by_active_toolchain() -> None:
    active = Active(STABLE, "directory", MODULE)
    assert _override(machine(), active) == Override("directory", STABLE, MODULE)


def test_override_list_finds_the_override_for_the_module_directory() -> None:
    system = machine(overrides=f"/src\tbeta\n{MODULE}\t{STABLE}\n/elsewhere\tbeta\n")
    failed = Active(None, "unknown", problem="rustup show active-toolchain: ...")
    assert _override(system, failed) == Override("directory", STABLE, MODULE)


def test_override_above_the_toolchain_file_does_not_count() -> None:
    system = machine(overrides=f"/src\t{STABLE}\n")
    assert _override(system, None) is None


def test_no_override_when_rustup_says_the_pin_is_active() -> None:
    system = machine(overrides=f"{MODULE}\t{STABLE}\n")
    assert _override(system, Active(PIN, "file", f"{MODULE}/rust-toolchain.toml")) is None


def test_override_rendering() -> None:
    directory = Override("directory", STABLE, MODULE)
    assert directory.command() == f"rustup override unset --path {MODULE}"
    assert directory.to_json() == {"kind": "directory", "toolchain": STABLE, "path": MODULE}
    assert Override("env", "stable").command() == "unset RUSTUP_TOOLCHAIN"
    assert Override("env", "stable").describe() == "RUSTUP_TOOLCHAIN=stable"


# -- packages -----------------------------------------------------------------------------------
def _distro(id_: str, version: str, codename: str = "", manager: str = "apt") -> Any:
    return make_context(distro=DistroInfo(id_, version, id_, (), codename), package_manager=manager)


def test_debian_12_gets_the_web_rust_packages() -> None:
    debian12 = make_context()
    assert [rust_logical(debian12, p) for p in ("rustc", "rust-src", "rustfmt")] == [
        "rustc-web",
        "rust-web-src",
        "rustfmt-web",
    ]
    debian11 = _distro("debian", "11", "bullseye")
    assert [rust_logical(debian11, p) for p in ("rustc", "rust-src")] == ["rustc", "rust-src"]


@pytest.mark.parametrize(
    ("ctx_args", "packaged"),
    [
        (("debian", "12", "bookworm"), False),
        (("debian", "13", "trixie"), True),
        (("debian", "", "sid"), True),
        (("ubuntu", "22.04", "jammy"), False),
        (("ubuntu", "24.04", "noble"), True),
        (("fedora", "40", "", "dnf"), True),
        (("rocky", "9.4", "", "dnf"), False),
        (("arch", "", "", "pacman"), True),
    ],
)
def test_rustup_packaged(ctx_args: tuple[str, ...], packaged: bool) -> None:
    assert rustup_packaged(_distro(*ctx_args)) is packaged
