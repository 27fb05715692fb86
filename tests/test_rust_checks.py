from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

import pytest

from kdoctor.checks.base import Check, all_checks
from kdoctor.checks.rust_src import RustSrcCheck
from kdoctor.checks.rustfmt import RustfmtCheck
from kdoctor.checks.rustup import RustupCheck
from kdoctor.checks.toolchain import ToolchainCheck
from kdoctor.knowledge.commands import RUSTUP_INSTALLER as INSTALLER
from kdoctor.model.context import DistroInfo
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.model.need import (
    ByHand,
    Need,
    Package,
    RustComponent,
    RustOverride,
    RustToolchain,
    Rustup,
    Setting,
)
from kdoctor.pipeline.planner import fix_of
from tests.conftest import make_context, run_check
from tests.fake_system import FakeSystem, Reply
from tests.test_rust_toolchain import (
    CARGO_BIN,
    DISTRO_LIB,
    DISTRO_RUSTC,
    MODULE,
    PIN,
    PIN_LIB,
    PIN_RUSTC,
    PIN_RUSTFMT,
    RUSTUP,
    STABLE,
    library,
    machine,
)

INSTALL_PIN = (
    "rustup toolchain install nightly-2021-02-12 --profile minimal "
    "--component rust-src --component rustfmt"
)
APT = "apt-get install -y --no-install-recommends"
USING_DISTRO = (
    "nightly-2021-02-12 is not installed; using the distribution's rustc 1.96.0 with "
    "RUSTC_BOOTSTRAP=1 as the kernel does"
)
DISTRO_NOTE = "stable, built with RUSTC_BOOTSTRAP=1 as the kernel does"
PIN_REASON = "nightly-2021-02-12 (pinned by rust-toolchain.toml) is installed"
BOOTSTRAP = {"RUSTC_BOOTSTRAP": "1"}
PIN_ENV = {"RUSTUP_TOOLCHAIN": "nightly-2021-02-12"}
WEB = ["rustc-web", "rust-web-src"]
DEBIAN_11 = DistroInfo("debian", "11", "Debian GNU/Linux 11 (bullseye)", (), "bullseye")


def run(check: Check, system: FakeSystem, **ctx: Any) -> Finding:
    finding = run_check(check, make_context(**ctx), system)
    assert system.runs == []  # a check only looks
    return finding


def facts_toolchain(**changes: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "source": "pin",
        "rustc": PIN_RUSTC,
        "version": "1.52.0",
        "channel": "nightly",
        "reason": PIN_REASON,
        "override": None,
        "active": PIN,
        "pin": PIN,
        "installed": True,
        "env": PIN_ENV,
        "logical": [],
        "packages": [],
    }
    facts.update(changes)
    return facts


def finding(
    id_: str,
    status: Status,
    summary: str,
    *,
    found: Optional[str] = None,
    text: Optional[str] = None,
    commands: tuple[str, ...] = (),
    needs: tuple[Need, ...] = (),
    required: bool = True,
    **facts: Any,
) -> Finding:
    return Finding(
        id=id_,
        status=status,
        summary=summary,
        found=found,
        remediation=Remediation(text, commands) if text else None,
        needs=needs,
        facts=facts,
        required=required,
    )


PIN_NEED = RustToolchain("nightly-2021-02-12", "minimal", ("rust-src", "rustfmt"))
WEB_PKGS = (Package("rustc-web", ("rustc-web",)), Package("rust-web-src", ("rust-web-src",)))


def test_the_rust_checks_are_registered_in_order() -> None:
    rust_checks = [
        c for c in all_checks() if c.id in ("rustup", "toolchain", "rust-src", "rustfmt")
    ]
    assert [(c.id, c.required) for c in rust_checks] == [
        ("rustup", True),
        ("toolchain", True),
        ("rust-src", True),
        ("rustfmt", False),
    ]
    ids = [c.id for c in all_checks()]
    assert ids.index("rustfmt") - ids.index("rustup") == 3  # one after another


# -- rustup -------------------------------------------------------------------------------------
RUSTUP_FACTS: dict[str, Any] = {
    "path": RUSTUP,
    "version": "1.27.1",
    "on_path": True,
    "method": None,
}
MISSING_FACTS: dict[str, Any] = {
    "path": None,
    "version": None,
    "on_path": False,
    "method": "script",
}
SKIPPED_FACTS: dict[str, Any] = {"path": None, "version": None, "on_path": None, "method": None}


@pytest.mark.parametrize("mode", ["pin", "auto"])
def test_rustup_present_is_ok(mode: str) -> None:
    assert run(RustupCheck(), machine(), rust_mode=mode) == finding(
        "rustup", Status.OK, "rustup 1.27.1", found=f"1.27.1 ({RUSTUP})", **RUSTUP_FACTS
    )


def test_rustup_missing_in_pin_mode_fails_with_the_official_installer() -> None:
    assert run(RustupCheck(), machine(rustup=False), rust_mode="pin") == finding(
        "rustup",
        Status.FAIL,
        "rustup is not installed; it is needed to install nightly-2021-02-12",
        text="Your distribution does not package rustup; the official installer downloads and "
        "runs a script from sh.rustup.rs (kdoctor fix runs it only with --allow-rustup-installer).",
        commands=("curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh",),
        needs=(Rustup(),),
        **MISSING_FACTS,
    )
    assert INSTALLER == "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"


def test_rustup_missing_on_ubuntu_22_04_suggests_the_classic_snap() -> None:
    system = machine(rustup=False)
    system.programs["snap"] = "/usr/bin/snap"
    ubuntu = DistroInfo("ubuntu", "22.04", "Ubuntu 22.04.4 LTS", ("debian",), "jammy")
    found = run(RustupCheck(), system, rust_mode="pin", distro=ubuntu, is_root=False)
    assert (found.status, fix_of(found), found.facts["method"]) == (Status.FAIL, "rust", "snap")
    assert found.remediation == Remediation(
        "Your distribution does not package rustup; install the snap (classic confinement).",
        ("sudo snap install rustup --classic",),
    )


def test_rustup_missing_on_debian_13_installs_the_package() -> None:
    trixie = DistroInfo("debian", "13", "Debian GNU/Linux 13 (trixie)", (), "trixie")
    found = run(RustupCheck(), machine(rustup=False), rust_mode="pin", distro=trixie)
    assert (found.status, fix_of(found), found.facts["method"]) == (Status.FAIL, "rust", "package")
    assert found.remediation == Remediation(
        "Install rustup from your distribution.", (f"{APT} rustup",)
    )


def test_rustup_missing_in_auto_mode_with_a_usable_distro_rustc_only_warns() -> None:
    assert run(RustupCheck(), machine(rustup=False)) == finding(
        "rustup",
        Status.WARN,
        "rustup is not installed (needed for nightly-2021-02-12); using the distribution's "
        "rustc 1.96.0 with RUSTC_BOOTSTRAP=1 as the kernel does",
        text="The build works without it. To use the pinned toolchain: Your distribution does "
        "not package rustup; the official installer downloads and runs a script from "
        "sh.rustup.rs (kdoctor fix runs it only with --allow-rustup-installer).",
        commands=(INSTALLER,),
        **MISSING_FACTS,
    )


def test_rustup_missing_in_auto_mode_without_any_rustc_fails() -> None:
    found = run(RustupCheck(), machine(rustup=False, distro=None))
    assert (found.status, fix_of(found)) == (Status.FAIL, "rust")


def test_rustup_without_the_pin_in_auto_mode_warns_that_the_pin_is_not_used() -> None:
    assert run(RustupCheck(), machine(pin=False)) == finding(
        "rustup",
        Status.WARN,
        f"rustup 1.27.1, but {USING_DISTRO}",
        found=f"1.27.1 ({RUSTUP})",
        text="The build works with the distribution's rustc. To use the pinned toolchain "
        "instead, install nightly-2021-02-12 (needs access to static.rust-lang.org).",
        commands=(INSTALL_PIN,),
        **RUSTUP_FACTS,
    )


def test_rustup_is_not_needed_for_the_distro_compiler_or_rustc() -> None:
    system = machine()
    assert run(RustupCheck(), system, rust_mode="distro") == finding(
        "rustup", Status.SKIP, "not needed: --rust distro", required=False, **SKIPPED_FACTS
    )
    assert run(RustupCheck(), system, env={"RUSTC": DISTRO_RUSTC}) == finding(
        "rustup",
        Status.SKIP,
        "not needed: RUSTC=/usr/bin/rustc is used",
        required=False,
        **SKIPPED_FACTS,
    )
    assert system.calls == []


def test_rustup_exiting_non_zero_fails_naming_the_error() -> None:
    system = machine(
        commands={
            "rustup --version": Reply(stderr="error: settings.toml is corrupt\n", exit_code=1)
        }
    )
    assert run(RustupCheck(), system, rust_mode="pin") == finding(
        "rustup",
        Status.FAIL,
        f"rustup at {RUSTUP} is not working: {RUSTUP} exited with status 1: "
        "error: settings.toml is corrupt",
        found=RUSTUP,
        text="Run rustup by hand to see what is wrong; reinstall it if it stays broken.",
        commands=(f"{RUSTUP} --version",),
        **{**RUSTUP_FACTS, "version": None},
    )


def test_rustup_with_garbled_version_fails() -> None:
    system = machine(commands={"rustup --version": "\x7fELF\x02\x01"})
    found = run(RustupCheck(), system, rust_mode="pin")
    assert found.status is Status.FAIL
    assert found.summary == (
        f"rustup at {RUSTUP} is not working: rustup --version printed something unexpected: "
        "'\\x7fELF\\x02\\x01'"
    )


def test_rustup_off_path_is_ok_and_says_so() -> None:
    system = machine(env={"PATH": "/usr/bin:/bin"})
    del system.programs["rustup"]
    system.programs[RUSTUP] = RUSTUP
    assert run(RustupCheck(), system) == finding(
        "rustup",
        Status.OK,
        f"rustup 1.27.1; {CARGO_BIN} is not on PATH",
        found=f"1.27.1 ({RUSTUP})",
        **{**RUSTUP_FACTS, "on_path": False},
    )


# -- toolchain: the pin -------------------------------------------------------------------------
def test_pin_installed_and_selected_in_the_module_directory() -> None:
    assert run(ToolchainCheck(), machine()) == finding(
        "toolchain",
        Status.OK,
        f"nightly-2021-02-12 (rustc 1.52.0) is installed and selected in {MODULE}",
        found=f"1.52.0 ({PIN_RUSTC})",
        **facts_toolchain(),
    )


def test_pin_not_installed_in_pin_mode_fails_with_the_install_command() -> None:
    assert run(ToolchainCheck(), machine(pin=False), rust_mode="pin") == finding(
        "toolchain",
        Status.FAIL,
        "nightly-2021-02-12 is not installed",
        text="Install nightly-2021-02-12 with the components the module needs.",
        commands=(INSTALL_PIN,),
        needs=(PIN_NEED,),
        **facts_toolchain(
            rustc=None,
            version=None,
            reason="nightly-2021-02-12 pinned by rust-toolchain.toml (--rust pin)",
            active=None,
            installed=False,
        ),
    )


def test_pin_without_rustup_says_rustup_comes_first() -> None:
    found = run(ToolchainCheck(), machine(rustup=False), rust_mode="pin")
    assert (found.status, fix_of(found), found.summary) == (
        Status.FAIL,
        "rust",
        "nightly-2021-02-12 is not installed (rustup is missing)",
    )
    assert found.remediation == Remediation(
        "Install nightly-2021-02-12 with the components the module needs. rustup comes first "
        "(see the rustup check).",
        (INSTALL_PIN,),
    )
    assert found.facts["installed"] is None


def test_auto_with_neither_pin_nor_distro_rustc_offers_both() -> None:
    reason = (
        "nightly-2021-02-12 is not installed, and the distribution's rustc is not usable (no "
        "distribution rustc (none on PATH outside ~/.cargo/bin, none at /usr/bin/rustc))"
    )
    assert run(ToolchainCheck(), machine(pin=False, distro=None)) == finding(
        "toolchain",
        Status.FAIL,
        reason,
        text="Install nightly-2021-02-12 with rustup, or the distribution's Rust compiler and "
        "its library sources (then kdoctor uses those).",
        commands=(INSTALL_PIN, f"{APT} rustc-web rust-web-src"),
        needs=(replace(PIN_NEED, alternative=WEB_PKGS),),
        **facts_toolchain(
            rustc=None,
            version=None,
            reason=reason,
            active=None,
            installed=False,
            logical=WEB,
            packages=WEB,
        ),
    )


def test_directory_override_to_stable_fails_naming_it_and_how_to_remove_it() -> None:
    system = machine(
        active=f"{STABLE} (directory override for '{MODULE}')\n",
        overrides=f"{MODULE}                        \t{STABLE}\n",
    )
    assert run(ToolchainCheck(), system) == finding(
        "toolchain",
        Status.FAIL,
        f"nightly-2021-02-12 is installed, but a rustup override for {MODULE} ({STABLE}) makes "
        "rustc in the module directory use another toolchain",
        found=PIN_RUSTC,
        text="Remove the override so that nightly-2021-02-12 from "
        f"{MODULE}/rust-toolchain.toml is used.",
        commands=(f"rustup override unset --path {MODULE}",),
        needs=(RustOverride(STABLE, MODULE),),
        **facts_toolchain(
            override={"kind": "directory", "toolchain": STABLE, "path": MODULE}, active=STABLE
        ),
    )


def test_override_to_an_uninstalled_toolchain_is_found_from_rustups_error() -> None:
    system = machine(
        active=Reply(
            stderr="error: override toolchain 'beta-x86_64-unknown-linux-gnu' is not installed: "
            f"the directory override for '{MODULE}' specifies an uninstalled toolchain\n",
            exit_code=1,
        ),
    )
    found = run(ToolchainCheck(), system)
    assert (found.status, fix_of(found)) == (Status.FAIL, "rust")
    assert found.facts["override"] == {
        "kind": "directory",
        "toolchain": "beta-x86_64-unknown-linux-gnu",
        "path": MODULE,
    }
    assert found.remediation is not None
    assert found.remediation.commands == (f"rustup override unset --path {MODULE}",)


def test_override_found_only_in_the_override_list() -> None:
    system = machine(active=Reply(timed_out=True), overrides=f"{MODULE}\t{STABLE}\n")
    found = run(ToolchainCheck(), system)
    assert (found.status, found.facts["override"], found.facts["active"]) == (
        Status.FAIL,
        {"kind": "directory", "toolchain": STABLE, "path": MODULE},
        None,
    )


def test_rustup_toolchain_variable_pointing_elsewhere_fails() -> None:
    system = machine(active=f"{STABLE} (overridden by environment variable RUSTUP_TOOLCHAIN)\n")
    found = run(ToolchainCheck(), system, env={"RUSTUP_TOOLCHAIN": "stable"})
    assert found == finding(
        "toolchain",
        Status.FAIL,
        "nightly-2021-02-12 is installed, but RUSTUP_TOOLCHAIN=stable makes rustc in the module "
        "directory use another toolchain",
        found=PIN_RUSTC,
        text="Remove the override so that nightly-2021-02-12 from "
        f"{MODULE}/rust-toolchain.toml is used.",
        commands=("unset RUSTUP_TOOLCHAIN",),
        needs=(RustOverride("stable"),),
        **facts_toolchain(
            override={"kind": "env", "toolchain": "stable", "path": None}, active=STABLE
        ),
    )


def test_module_without_a_toolchain_file_warns() -> None:
    found = run(ToolchainCheck(), machine(active=f"{STABLE} (default)\n"))
    assert found == finding(
        "toolchain",
        Status.WARN,
        f"nightly-2021-02-12 is installed, but rustc in {MODULE} selects {STABLE} (default)",
        found=f"1.52.0 ({PIN_RUSTC})",
        text=f"kdoctor build runs {PIN_RUSTC} with RUSTUP_TOOLCHAIN=nightly-2021-02-12; do the "
        "same when building by hand.",
        commands=("export RUSTUP_TOOLCHAIN=nightly-2021-02-12",),
        **facts_toolchain(active=STABLE),
    )


def test_hung_active_toolchain_query_warns_naming_the_hang() -> None:
    found = run(ToolchainCheck(), machine(active=Reply(timed_out=True)))
    assert (found.status, found.summary) == (
        Status.WARN,
        f"nightly-2021-02-12 is installed, but rustup could not say what rustc in {MODULE} "
        f"selects: rustup show active-toolchain: {RUSTUP} did not answer within 15 s (killed)",
    )


def test_hung_toolchain_list_in_pin_mode_fails_without_a_fix() -> None:
    found = run(ToolchainCheck(), machine(toolchains=Reply(timed_out=True)), rust_mode="pin")
    assert found == finding(
        "toolchain",
        Status.FAIL,
        "cannot tell whether nightly-2021-02-12 is installed: rustup toolchain list: "
        f"{RUSTUP} did not answer within 15 s (killed)",
        found=RUSTUP,
        text="rustup is not working; run it by hand to see why, and reinstall it if it stays "
        "broken.",
        commands=(f"{RUSTUP} toolchain list",),
        **facts_toolchain(
            rustc=None,
            version=None,
            reason="nightly-2021-02-12 pinned by rust-toolchain.toml (--rust pin)",
            active=None,
            installed=None,
        ),
    )


def test_installed_pin_whose_rustc_is_broken_fails_with_reinstall() -> None:
    system = machine(
        commands={f"{PIN_RUSTC} --version": Reply(stderr="Illegal instruction", exit_code=132)}
    )
    found = run(ToolchainCheck(), system)
    assert (found.status, fix_of(found), found.summary) == (
        Status.FAIL,
        None,  # kdoctor never removes a toolchain itself: the person reinstalls it
        "nightly-2021-02-12 is installed but its rustc does not work: "
        f"{PIN_RUSTC} exited with status 132: Illegal instruction",
    )
    assert found.remediation == Remediation(
        "Reinstall nightly-2021-02-12 (kdoctor never removes a toolchain itself).",
        ("rustup toolchain uninstall nightly-2021-02-12", INSTALL_PIN),
    )


# -- toolchain: the distribution's rustc and RUSTC ----------------------------------------------
DISTRO_FACTS = facts_toolchain(
    source="distro",
    rustc=DISTRO_RUSTC,
    version="1.96.0",
    channel="stable",
    reason="the distribution's rustc (--rust distro)",
    active=None,
    installed=None,
    env=BOOTSTRAP,
    logical=WEB,
    packages=WEB,
)


def test_distro_mode_reports_the_distro_rustc() -> None:
    assert run(ToolchainCheck(), machine(), rust_mode="distro") == finding(
        "toolchain",
        Status.OK,
        f"the distribution's rustc 1.96.0 ({DISTRO_NOTE})",
        found=f"1.96.0 ({DISTRO_RUSTC})",
        **DISTRO_FACTS,
    )


def test_auto_mode_with_the_distro_rustc_warns_that_the_pin_is_not_used() -> None:
    assert run(ToolchainCheck(), machine(pin=False)) == finding(
        "toolchain",
        Status.WARN,
        USING_DISTRO,
        found=f"1.96.0 ({DISTRO_RUSTC})",
        text=f"The module builds with the distribution's rustc 1.96.0 ({DISTRO_NOTE}). To build "
        "with the pinned toolchain instead, install nightly-2021-02-12 (needs access to "
        "static.rust-lang.org).",
        commands=(INSTALL_PIN,),
        **{**DISTRO_FACTS, "reason": USING_DISTRO, "installed": False},
    )


def test_distro_mode_without_rustc_installs_rustc_web_on_debian_12() -> None:
    reason = "the distribution's rustc (--rust distro)"
    assert run(ToolchainCheck(), machine(distro=None), rust_mode="distro") == finding(
        "toolchain",
        Status.FAIL,
        "no distribution rustc (none on PATH outside ~/.cargo/bin, none at /usr/bin/rustc)",
        text="Install the distribution's Rust compiler (1.48 or newer) and its library sources.",
        commands=(f"{APT} rustc-web rust-web-src",),
        needs=WEB_PKGS,
        **facts_toolchain(
            source="distro",
            rustc=None,
            version=None,
            channel=None,
            reason=reason,
            active=None,
            installed=None,
            env={},
            logical=WEB,
            packages=WEB,
        ),
    )


def test_too_old_distro_rustc_on_debian_11_installs_rustc_and_rust_src() -> None:
    system = machine(distro="rustc 1.41.1\n")
    found = run(ToolchainCheck(), system, rust_mode="distro", distro=DEBIAN_11)
    assert found == finding(
        "toolchain",
        Status.FAIL,
        "rustc 1.41.1 is too old (1.48 or newer is needed)",
        found=f"1.41.1 ({DISTRO_RUSTC})",
        text="Install the distribution's Rust compiler (1.48 or newer) and its library sources.",
        commands=(f"{APT} rustc rust-src",),
        needs=(Package("rustc", ("rustc",)), Package("rust-src", ("rust-src",))),
        **{
            **DISTRO_FACTS,
            "version": "1.41.1",
            "logical": ["rustc", "rust-src"],
            "packages": ["rustc", "rust-src"],
        },
    )


def test_rustc_variable_is_reported_as_is() -> None:
    found = run(ToolchainCheck(), machine(), env={"RUSTC": "/usr/bin/rustc"})
    assert found == finding(
        "toolchain",
        Status.OK,
        f"rustc 1.96.0 from RUSTC ({DISTRO_NOTE})",
        found=f"1.96.0 ({DISTRO_RUSTC})",
        **{
            **DISTRO_FACTS,
            "source": "env",
            "reason": "RUSTC=/usr/bin/rustc is set (the kernel build uses it)",
            "logical": [],
            "packages": [],
        },
    )


def test_rustc_variable_naming_nothing_fails_without_a_fix() -> None:
    """The person's RUSTC: theirs to unset or correct, and fix --dry-run says the same."""
    system = machine(env={"RUSTC": "/opt/rust/bin/rustc"})
    found = run(ToolchainCheck(), system, env={"RUSTC": "/opt/rust/bin/rustc"})
    assert (found.status, fix_of(found), found.summary) == (
        Status.FAIL,
        None,
        "RUSTC=/opt/rust/bin/rustc: command not found",
    )
    remedy = (
        "RUSTC=/opt/rust/bin/rustc comes from your environment: unset it (`unset RUSTC`) (the "
        "build then uses the toolchain kdoctor chooses), or point it at a working rustc 1.48 or "
        "newer."
    )
    assert found.remediation == Remediation(remedy, ())
    [need] = found.needs
    assert isinstance(need, ByHand) and need.remedy == remedy


def test_rustc_in_kdoctors_settings_naming_nothing_is_removed_by_fix() -> None:
    found = run(ToolchainCheck(), machine(), env={"RUSTC": "/opt/rust/bin/rustc"})
    assert (found.status, fix_of(found)) == (Status.FAIL, "settings")
    assert found.needs == (Setting("RUSTC", None),)


# -- rust-src -----------------------------------------------------------------------------------
def src_facts(**changes: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "path": PIN_LIB,
        "expected": PIN_LIB,
        "source": "pin",
        "component": None,
        "toolchain": None,
        "logical": [],
        "packages": [],
    }
    facts.update(changes)
    return facts


def test_rust_src_of_the_pin_is_ok() -> None:
    assert run(RustSrcCheck(), machine()) == finding(
        "rust-src",
        Status.OK,
        "Rust library sources for rustc 1.52.0",
        found=PIN_LIB,
        **src_facts(),
    )


def test_missing_rust_src_component_of_the_pin_fails_with_component_add() -> None:
    assert run(RustSrcCheck(), machine(pin_src=False)) == finding(
        "rust-src",
        Status.FAIL,
        f"the rust-src component of nightly-2021-02-12 is not installed (no Rust library "
        f"sources in {PIN_LIB})",
        text="Add the rust-src component to nightly-2021-02-12.",
        commands=("rustup component add rust-src --toolchain nightly-2021-02-12",),
        needs=(RustComponent("nightly-2021-02-12", "rust-src"),),
        **src_facts(path=None, component="rust-src", toolchain="nightly-2021-02-12"),
    )


def test_rust_src_is_skipped_when_there_is_no_compiler_to_look_at() -> None:
    assert run(RustSrcCheck(), machine(pin=False), rust_mode="pin") == finding(
        "rust-src",
        Status.SKIP,
        "nothing to look at: nightly-2021-02-12 is not installed (see the toolchain check)",
        required=False,
        **src_facts(path=None, expected=None),
    )


def test_rust_src_of_the_distro_rustc_is_ok() -> None:
    found = run(RustSrcCheck(), machine(pin=False))
    assert found == finding(
        "rust-src",
        Status.OK,
        "Rust library sources for rustc 1.96.0",
        found=DISTRO_LIB,
        **src_facts(path=DISTRO_LIB, expected=DISTRO_LIB, source="distro"),
    )


def test_missing_distro_library_sources_install_rust_web_src() -> None:
    found = run(RustSrcCheck(), machine(distro_src=False), rust_mode="distro")
    assert found == finding(
        "rust-src",
        Status.FAIL,
        f"no Rust library sources in {DISTRO_LIB}",
        text="Install the library sources that match rustc 1.96.0.",
        commands=(f"{APT} rust-web-src",),
        needs=(Package("rust-web-src", ("rust-web-src",)),),
        **src_facts(
            path=None,
            expected=DISTRO_LIB,
            source="distro",
            logical=["rust-web-src"],
            packages=["rust-web-src"],
        ),
    )


def test_rustc_variable_naming_a_rustup_toolchain_without_rust_src() -> None:
    root = f"/root/.rustup/toolchains/{STABLE}"
    system = machine()
    system.programs[f"{root}/bin/rustc"] = f"{root}/bin/rustc"
    system.commands[f"{root}/bin/rustc --version"] = "rustc 1.95.0 (59807616e 2026-04-14)\n"
    system.commands[f"{root}/bin/rustc --print sysroot"] = root + "\n"
    found = run(RustSrcCheck(), system, env={"RUSTC": f"{root}/bin/rustc"})
    assert (found.status, fix_of(found), found.facts["toolchain"]) == (Status.FAIL, "rust", STABLE)
    assert found.remediation is not None
    assert found.remediation.commands == (f"rustup component add rust-src --toolchain {STABLE}",)


def test_rustc_variable_naming_a_custom_compiler_without_sources() -> None:
    system = machine()
    system.programs["/opt/rust/bin/rustc"] = "/opt/rust/bin/rustc"
    system.commands["/opt/rust/bin/rustc --version"] = "rustc 1.70.0 (90c541806 2023-05-31)\n"
    system.commands["/opt/rust/bin/rustc --print sysroot"] = "/opt/rust\n"
    found = run(RustSrcCheck(), system, env={"RUSTC": "/opt/rust/bin/rustc"})
    assert found == finding(
        "rust-src",
        Status.FAIL,
        "RUSTC=/opt/rust/bin/rustc has no Rust library sources in "
        "/opt/rust/lib/rustlib/src/rust/library",
        text="Install the library sources that belong to that compiler, or point RUSTC at a "
        "toolchain that has them.",
        **src_facts(path=None, expected="/opt/rust/lib/rustlib/src/rust/library", source="env"),
    )


def test_distro_sources_under_usr_local_are_found() -> None:
    system = machine()
    system.programs["/usr/local/bin/rustc"] = "/usr/local/bin/rustc"
    system.commands["/usr/local/bin/rustc --version"] = "rustc 1.80.0\n"
    system.commands["/usr/local/bin/rustc --print sysroot"] = "/usr/local\n"
    system.files.update(library("/usr/local/lib/rustlib/src/rust/library"))
    found = run(RustSrcCheck(), system, rust_mode="distro")
    assert (found.status, found.found) == (Status.OK, "/usr/local/lib/rustlib/src/rust/library")


# -- rustfmt ------------------------------------------------------------------------------------
def fmt_facts(**changes: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "path": PIN_RUSTFMT,
        "version": "1.4.30",
        "source": "pin",
        "component": None,
        "toolchain": None,
        "logical": [],
        "packages": [],
    }
    facts.update(changes)
    return facts


def test_rustfmt_component_of_the_pin_is_ok() -> None:
    assert run(RustfmtCheck(), machine()) == finding(
        "rustfmt",
        Status.OK,
        "rustfmt 1.4.30",
        found=f"1.4.30 ({PIN_RUSTFMT})",
        required=False,
        **fmt_facts(),
    )


def test_missing_rustfmt_component_warns_with_component_add() -> None:
    assert run(RustfmtCheck(), machine(rustfmt=False)) == finding(
        "rustfmt",
        Status.WARN,
        "the rustfmt component of nightly-2021-02-12 is not installed",
        text="rustfmt only formats code; add the component to have it.",
        commands=("rustup component add rustfmt --toolchain nightly-2021-02-12",),
        needs=(RustComponent("nightly-2021-02-12", "rustfmt"),),
        required=False,
        **fmt_facts(path=None, version=None, component="rustfmt", toolchain="nightly-2021-02-12"),
    )


def test_rustfmt_is_skipped_without_the_pin() -> None:
    found = run(RustfmtCheck(), machine(pin=False), rust_mode="pin")
    assert found == finding(
        "rustfmt",
        Status.SKIP,
        "nothing to look at: nightly-2021-02-12 is not installed (see the toolchain check)",
        required=False,
        **fmt_facts(path=None, version=None),
    )


def test_distro_without_rustfmt_warns_past_rustups_shim() -> None:
    assert run(RustfmtCheck(), machine(pin=False)) == finding(
        "rustfmt",
        Status.WARN,
        f"no rustfmt besides rustup's shim {CARGO_BIN}/rustfmt (it only formats code)",
        text="Install the distribution's rustfmt to format the module's code.",
        commands=(f"{APT} rustfmt-web",),
        needs=(Package("rustfmt-web", ("rustfmt-web",)),),
        required=False,
        **fmt_facts(
            path=None,
            version=None,
            source="distro",
            logical=["rustfmt-web"],
            packages=["rustfmt-web"],
        ),
    )


def test_distro_without_any_rustfmt_on_debian_11() -> None:
    found = run(RustfmtCheck(), machine(rustup=False), distro=DEBIAN_11)
    assert (found.status, found.summary, found.facts["packages"]) == (
        Status.WARN,
        "no rustfmt on PATH (it only formats code)",
        ["rustfmt"],
    )


def test_distro_rustfmt_is_ok() -> None:
    found = run(RustfmtCheck(), machine(distro_rustfmt=True), rust_mode="distro")
    assert found == finding(
        "rustfmt",
        Status.OK,
        "rustfmt 1.8.0",
        found="1.8.0 (/usr/bin/rustfmt)",
        required=False,
        **fmt_facts(path="/usr/bin/rustfmt", version="1.8.0", source="distro"),
    )


def test_hung_rustfmt_warns() -> None:
    system = machine(commands={f"{PIN_RUSTFMT} --version": Reply(timed_out=True)})
    found = run(RustfmtCheck(), system)
    assert (found.status, found.summary, found.required) == (
        Status.WARN,
        f"{PIN_RUSTFMT} does not work: {PIN_RUSTFMT} did not answer within 10 s (killed)",
        False,
    )
