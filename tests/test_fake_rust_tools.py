"""The Rust checks against the real Runner and fake ``rustup``/``rustc`` executables on PATH.

Each scenario writes small shell scripts (in the spirit of the kernel's
``scripts/rust_is_available_test.py``) into a temporary ``~/.cargo/bin`` and runs the checks
through :class:`kdoctor.machine.runner.Runner`, so timeouts, working directories, exit codes and the
environment rustup sees are the real ones.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from kdoctor.checks.base import Check, select
from kdoctor.facts import Facts, rustc, rustup
from kdoctor.facts.toolchain_pin import read_pin
from kdoctor.machine.runner import Runner
from kdoctor.model.context import Context, bundled_module_dir
from kdoctor.model.finding import Remediation, Status
from kdoctor.model.report import Report
from kdoctor.model.toolchain_file import PinnedToolchain
from kdoctor.pipeline.diagnose import run_checks
from tests.conftest import make_context
from tests.real_machine import require_real

PIN = "nightly-2021-02-12-x86_64-unknown-linux-gnu"
STABLE = "stable-x86_64-unknown-linux-gnu"
INSTALL_PIN = (
    "rustup toolchain install nightly-2021-02-12 --profile minimal "
    "--component rust-src --component rustfmt"
)
RUST_CHECKS = ["rustup", "toolchain", "rust-src", "rustfmt"]
#: rustup commands that download (or change what is installed)
DOWNLOADS = (
    "toolchain install",
    "component add",
    "target add",
    "update",
    "self update",
    "override set",
    "install",
    "default",
)


def script(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


@dataclass
class Machine:
    root: Path
    home: Path
    cargo_bin: Path
    toolchain: Path
    module: Path
    log: Path
    network: Path
    distro_rustc: Path

    @property
    def rustup(self) -> str:
        return str(self.cargo_bin / "rustup")

    def ctx(self, mode: str = "pin") -> Context:
        pin = PinnedToolchain(
            "nightly-2021-02-12",
            ("rust-src", "rustfmt"),
            "minimal",
            str(self.module / "rust-toolchain.toml"),
        )
        return make_context(module_dir=str(self.module), pin=pin, rust_mode=mode)

    def runner(self) -> Runner:
        return Runner(env={"PATH": str(self.cargo_bin), "HOME": str(self.home)})

    def fake_rustup(self, cases: str) -> None:
        """rustup answering ``cases`` (``case "$*"`` arms); it logs every call with its working
        directory and environment, and anything that would download leaves a mark."""
        script(
            self.cargo_bin / "rustup",
            f'echo "$*|$PWD|${{RUSTUP_AUTO_INSTALL-unset}}|${{RUSTUP_TERM_COLOR-unset}}"'
            f" >> {self.log}\n"
            'case "$*" in\n'
            f"  {'|'.join(f'{quoted}*' for quoted in map(repr, DOWNLOADS))})"
            f" : > {self.network}; exit 1 ;;\n"
            f"{cases}"
            '  *) echo "error: fake rustup has no answer for $*" >&2; exit 1 ;;\n'
            "esac\n",
        )

    def rustup_calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        lines = self.log.read_text().splitlines()
        return [line.split("|") for line in lines]

    def run(self, mode: str = "pin", ids: Optional[list[str]] = None) -> Report:
        checks: list[Check] = select(ids or RUST_CHECKS)
        return run_checks(checks, Facts(self.ctx(mode), self.runner()))


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Machine:
    home = tmp_path / "home"
    toolchain = home / ".rustup" / "toolchains" / PIN
    m = Machine(
        root=tmp_path,
        home=home,
        cargo_bin=home / ".cargo" / "bin",
        toolchain=toolchain,
        module=tmp_path / "hello-world",
        log=tmp_path / "rustup.log",
        network=tmp_path / "network-used",
        distro_rustc=tmp_path / "usr" / "bin" / "rustc",
    )
    m.module.mkdir()
    (m.module / "rust-toolchain.toml").write_text(
        '[toolchain]\nchannel = "nightly-2021-02-12"\ncomponents = ["rust-src", "rustfmt"]\n'
        'profile = "minimal"\n'
    )
    # rustup's shim shadowing the distro's rustc, as ~/.cargo/bin/rustc does
    script(m.cargo_bin / "rustc", 'echo "rustc 1.95.0 (59807616e 2026-04-14)"\n')
    # the pinned toolchain's own binaries and library sources
    script(
        toolchain / "bin" / "rustc",
        'case "$1" in\n'
        '  --version) echo "rustc 1.52.0-nightly (07194ffcd 2021-02-10)" ;;\n'
        f'  --print) echo "{toolchain}" ;;\n'
        "esac\n",
    )
    script(toolchain / "bin" / "rustfmt", 'echo "rustfmt 1.4.30-nightly (b5f1cba 2021-02-11)"\n')
    for crate in ("core", "alloc"):
        lib = toolchain / "lib/rustlib/src/rust/library" / crate / "src" / "lib.rs"
        lib.parent.mkdir(parents=True)
        lib.write_text("#![no_std]\n")
    # a curl that would betray any download attempt
    script(m.cargo_bin / "curl", f": > {m.network}\nexit 6\n")
    # the distribution's rustc lives off PATH, like /usr/bin/rustc would behind the shim
    monkeypatch.setattr(rustc, "DISTRO_RUSTC", (str(m.distro_rustc),))
    return m


def installed_cases(m: Machine, active: str, overrides: str = 'echo "no overrides"') -> str:
    return (
        '  "--version") echo "rustup 1.27.1 (54dd3d00f 2024-04-24)"\n'
        '      echo "info: This is the version for the rustup toolchain manager" >&2 ;;\n'
        f'  "toolchain list") echo "{STABLE} (default)"; echo "{PIN}" ;;\n'
        f'  "which rustc --toolchain {PIN}") echo "{m.toolchain}/bin/rustc" ;;\n'
        f'  "component list --installed --toolchain {PIN}")\n'
        "      printf 'rust-src\\nrust-std-x86_64-unknown-linux-gnu\\n"
        "rustfmt-x86_64-unknown-linux-gnu\\n' ;;\n"
        f'  "show active-toolchain") {active} ;;\n'
        f'  "override list") {overrides} ;;\n'
    )


# an active toolchain chosen the way rustup chooses it: by the file in the working directory
BY_FILE = (
    'if [ -f "$PWD/rust-toolchain.toml" ]; then '
    f"echo \"{PIN} (overridden by '$PWD/rust-toolchain.toml')\"; "
    f'else echo "{STABLE} (default)"; fi'
)


def add_distro_rustc(m: Machine) -> None:
    sysroot = m.root / "usr"
    script(
        m.distro_rustc,
        'case "$1" in\n'
        '  --version) echo "rustc 1.96.0 (ac68faa20 2026-05-25) (built from a source tarball)" ;;\n'
        f'  --print) echo "{sysroot}" ;;\n'
        "esac\n",
    )
    for crate in ("core", "alloc"):
        lib = sysroot / "lib/rustlib/src/rust/library" / crate / "src" / "lib.rs"
        lib.parent.mkdir(parents=True)
        lib.write_text("#![no_std]\n")


def test_pin_installed_and_selected(machine: Machine) -> None:
    machine.fake_rustup(installed_cases(machine, BY_FILE))
    report = machine.run()
    rustc = f"{machine.toolchain}/bin/rustc"
    assert [(f.id, f.status, f.summary) for f in report.findings] == [
        ("rustup", Status.OK, "rustup 1.27.1"),
        (
            "toolchain",
            Status.OK,
            f"nightly-2021-02-12 (rustc 1.52.0) is installed and selected in {machine.module}",
        ),
        ("rust-src", Status.OK, "Rust library sources for rustc 1.52.0"),
        ("rustfmt", Status.OK, "rustfmt 1.4.30"),
    ]
    toolchain = report.by_id("toolchain")
    assert (toolchain.found, toolchain.facts["active"], toolchain.facts["rustc"]) == (
        f"1.52.0 ({rustc})",
        PIN,
        rustc,
    )
    assert report.by_id("rust-src").found == f"{machine.toolchain}/lib/rustlib/src/rust/library"
    calls = machine.rustup_calls()
    # every rustup question asked once, never allowed to install, never coloured
    assert Counter(c[0] for c in calls) == {
        "--version": 1,
        "toolchain list": 1,
        f"which rustc --toolchain {PIN}": 1,
        f"component list --installed --toolchain {PIN}": 1,
        "show active-toolchain": 1,
    }
    assert {(c[2], c[3]) for c in calls} == {("0", "never")}
    # the active toolchain is asked about inside the module directory
    assert [c[1] for c in calls if c[0] == "show active-toolchain"] == [str(machine.module)]
    assert not machine.network.exists()


def test_pin_not_installed(machine: Machine) -> None:
    machine.fake_rustup(
        '  "--version") echo "rustup 1.27.1 (54dd3d00f 2024-04-24)" ;;\n'
        f'  "toolchain list") echo "{STABLE} (default)" ;;\n'
    )
    report = machine.run()
    assert [(f.id, f.status) for f in report.findings] == [
        ("rustup", Status.OK),
        ("toolchain", Status.FAIL),
        ("rust-src", Status.SKIP),
        ("rustfmt", Status.SKIP),
    ]
    toolchain = report.by_id("toolchain")
    assert (toolchain.summary, toolchain.fix, toolchain.facts["installed"]) == (
        "nightly-2021-02-12 is not installed",
        "rust",
        False,
    )
    assert toolchain.remediation == Remediation(
        "Install nightly-2021-02-12 with the components the module needs.", (INSTALL_PIN,)
    )
    assert report.exit_code == 1
    assert not machine.network.exists()


def test_directory_override_pointing_to_stable(machine: Machine) -> None:
    module = machine.module
    machine.fake_rustup(
        installed_cases(
            machine,
            f"echo \"{STABLE} (directory override for '$PWD')\"",
            overrides=f"printf '%-40s\\t%s\\n' '{module}' '{STABLE}'",
        )
    )
    toolchain = machine.run(ids=["toolchain"]).by_id("toolchain")
    assert (toolchain.status, toolchain.fix) == (Status.FAIL, "rust")
    assert toolchain.summary == (
        f"nightly-2021-02-12 is installed, but a rustup override for {module} ({STABLE}) makes "
        "rustc in the module directory use another toolchain"
    )
    assert toolchain.remediation is not None
    assert toolchain.remediation.commands == (f"rustup override unset --path {module}",)
    assert toolchain.facts["override"] == {
        "kind": "directory",
        "toolchain": STABLE,
        "path": str(module),
    }
    assert toolchain.facts["active"] == STABLE


def test_garbled_rustup(machine: Machine) -> None:
    machine.fake_rustup("  *) printf '\\377\\376\\000garbage\\033[1m\\n' ;;\n")
    report = machine.run()
    rustup = report.by_id("rustup")
    assert (rustup.status, rustup.fix) == (Status.FAIL, None)
    assert rustup.summary.startswith(
        f"rustup at {machine.rustup} is not working: rustup --version printed something "
        "unexpected: "
    )
    toolchain = report.by_id("toolchain")
    assert (toolchain.status, toolchain.fix) == (Status.FAIL, None)
    assert toolchain.summary.startswith(
        "cannot tell whether nightly-2021-02-12 is installed: rustup toolchain list printed "
        "something unexpected: "
    )
    assert [report.by_id(i).status for i in ("rust-src", "rustfmt")] == [Status.SKIP] * 2


def test_rustup_exiting_non_zero(machine: Machine) -> None:
    machine.fake_rustup("  *) echo 'error: settings.toml: invalid TOML' >&2; exit 1 ;;\n")
    report = machine.run()
    failure = f"{machine.rustup} exited with status 1: error: settings.toml: invalid TOML"
    assert report.by_id("rustup").summary == f"rustup at {machine.rustup} is not working: {failure}"
    assert report.by_id("toolchain").summary == (
        f"cannot tell whether nightly-2021-02-12 is installed: rustup toolchain list: {failure}"
    )
    assert report.by_id("toolchain").remediation == Remediation(
        "rustup is not working; run it by hand to see why, and reinstall it if it stays broken.",
        (f"{machine.rustup} toolchain list",),
    )


def test_hung_rustup_is_cut_short_and_named(
    machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rustup, "RUSTUP_TIMEOUT", 1.0)
    machine.fake_rustup("  *) /bin/sleep 60 ;;\n")
    started = time.monotonic()
    report = machine.run()
    assert time.monotonic() - started < 30  # cut short: not the 60 s it would hang
    hang = f"{machine.rustup} did not answer within 1 s (killed)"
    assert report.by_id("rustup").summary == f"rustup at {machine.rustup} is not working: {hang}"
    assert report.by_id("toolchain").summary == (
        f"cannot tell whether nightly-2021-02-12 is installed: rustup toolchain list: {hang}"
    )
    assert [f.status for f in report.findings] == [
        Status.FAIL,
        Status.FAIL,
        Status.SKIP,
        Status.SKIP,
    ]


def test_hung_rustup_in_auto_mode_falls_back_to_the_distro_rustc(
    machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rustup, "RUSTUP_TIMEOUT", 1.0)
    machine.fake_rustup("  *) /bin/sleep 60 ;;\n")
    add_distro_rustc(machine)
    started = time.monotonic()
    report = machine.run(mode="auto")
    assert time.monotonic() - started < 30  # cut short: not the 60 s it would hang
    toolchain = report.by_id("toolchain")
    assert (toolchain.status, toolchain.facts["source"], toolchain.facts["rustc"]) == (
        Status.WARN,
        "distro",
        str(machine.distro_rustc),
    )
    assert toolchain.summary == (
        "rustup could not say whether nightly-2021-02-12 is installed (rustup toolchain list: "
        f"{machine.rustup} did not answer within 1 s (killed)); using the distribution's rustc "
        "1.96.0 with RUSTC_BOOTSTRAP=1 as the kernel does"
    )
    assert report.by_id("rust-src").status is Status.OK
    assert report.exit_code == 0


def test_checks_never_download(machine: Machine) -> None:
    """With the network down nothing changes: checks only advise installing."""
    machine.fake_rustup(
        '  "--version") echo "rustup 1.27.1 (54dd3d00f 2024-04-24)" ;;\n'
        f'  "toolchain list") echo "{STABLE} (default)" ;;\n'
        f'  "show active-toolchain") echo "error: override toolchain \'{PIN}\' is not '
        'installed" >&2; exit 1 ;;\n'
    )
    runner = machine.runner()
    for mode in ("pin", "auto", "distro"):
        run_checks(select(RUST_CHECKS), Facts(machine.ctx(mode), runner))
    os.remove(machine.cargo_bin / "rustup")  # and with rustup gone: the installer is only named
    runner = machine.runner()
    report = run_checks(select(RUST_CHECKS), Facts(machine.ctx("pin"), runner))
    assert report.by_id("rustup").remediation == Remediation(
        "Your distribution does not package rustup; the official installer downloads and runs "
        "a script from sh.rustup.rs (kdoctor fix runs it only with --allow-rustup-installer).",
        ("curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh",),
    )
    assert not machine.network.exists()
    asked = [call[0] for call in machine.rustup_calls()]
    assert asked and not [a for a in asked if a.startswith(DOWNLOADS)]


# -- this machine -------------------------------------------------------------------------------
@pytest.mark.integration
def test_this_machine_uses_the_distro_rustc_with_bootstrap() -> None:
    """Debian 12 with rustc-web 1.96 at /usr/bin/rustc and rustup's stable shim in front of it;
    the pin nightly-2021-02-12 is not installed."""
    runner = Runner()
    require_real(
        os.path.exists("/usr/bin/rustc") and runner.which("rustup") is not None,
        "needs the distribution's rustc at /usr/bin/rustc and rustup on PATH: "
        "apt-get install rustc-web, and rustup (kdoctor fix --allow-rustup-installer)",
    )
    module = bundled_module_dir()
    pin = read_pin(runner, module)
    assert pin is not None
    ctx = make_context(module_dir=module, pin=pin, rust_mode="auto", env={})
    installed = rustup.pin_state(ctx, runner).installed
    if installed is not False:
        pytest.skip(f"the pin's state here is {installed!r}, not 'not installed'")
    chosen = rustc.resolve(ctx, runner)
    assert (chosen.source, chosen.rustc, chosen.env, chosen.usable) == (
        "distro",
        "/usr/bin/rustc",
        {"RUSTC_BOOTSTRAP": "1"},
        True,
    )
    assert chosen.version is not None and chosen.version.startswith("1.96")
    assert chosen.library_src == "/usr/lib/rustlib/src/rust/library"
    assert chosen.reason == (
        f"nightly-2021-02-12 is not installed; using the distribution's rustc {chosen.version} "
        "with RUSTC_BOOTSTRAP=1 as the kernel does"
    )
    report = run_checks(select(RUST_CHECKS), Facts(ctx, runner))
    toolchain = report.by_id("toolchain")
    assert (toolchain.status, toolchain.summary, toolchain.facts["installed"]) == (
        Status.WARN,
        chosen.reason,
        False,
    )
    assert toolchain.remediation is not None
    assert toolchain.remediation.commands == (INSTALL_PIN,)
    assert report.by_id("rust-src").status is Status.OK
    assert all(p.ok or p.exit_code is not None for p in runner.probes())  # nothing hung
