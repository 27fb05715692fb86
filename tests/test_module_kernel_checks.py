"""The checks kernel-range, compiler-family and rust-for-linux on a fake machine, and the
by-hand planner that says in the plan why kdoctor fix cannot repair them."""

from __future__ import annotations

from typing import Any, Optional

import pytest

from kdoctor.checks import compiler_family, kernel_range, rust_for_linux
from kdoctor.facts import Facts
from kdoctor.facts.rustc import RustToolchain
from kdoctor.model.choice import TargetSource
from kdoctor.model.context import DistroInfo, bundled_module_dir
from kdoctor.model.finding import Status
from kdoctor.model.need import ByHand, Package, RustEnabledKernel, Setting
from kdoctor.model.report import Report
from kdoctor.pipeline.planner import fix_of, make_plan, routed
from tests.conftest import KDIR, make_context, run_check
from tests.fake_files import FileData
from tests.fake_system import FakeSystem, apt_unknown

MODULE = "/src/mod"
GCC_CONFIG = (
    'CONFIG_CC_VERSION_TEXT="gcc-12 (Debian 12.2.0-14) 12.2.0"\nCONFIG_CC_IS_GCC=y\n'
    "CONFIG_GCC_VERSION=120200\nCONFIG_LD_IS_BFD=y\nCONFIG_RETHUNK=y\nCONFIG_HAVE_RUST=y\n"
)
CLANG_CONFIG = (
    'CONFIG_CC_VERSION_TEXT="Debian clang version 16.0.6"\nCONFIG_CC_IS_CLANG=y\n'
    "CONFIG_CLANG_VERSION=160006\nCONFIG_LD_IS_LLD=y\n"
)
GUARD = (
    'fn main() {\n    let kdir = std::env::var("KDIR").unwrap();\n'
    "    let (major, minor) = read_version(&kdir);\n"
    '    if major >= 6 {\n        panic!("Please update build.rs with the last 5.x version");\n'
    "    }\n}\n"
)
PKGNAMES = "apt-cache pkgnames linux-headers-"


def machine(files: dict[str, FileData], **kwargs: Any) -> FakeSystem:
    kernel: dict[str, FileData] = {
        f"{KDIR}/Makefile": "include ../common/Makefile\n",
        f"{KDIR}/.config": GCC_CONFIG,
        f"{KDIR}/Module.symvers": "",
        f"{KDIR}/include/config/auto.conf": "",
        f"{KDIR}/include/config/kernel.release": "6.1.176\n",
    }
    programs = {"modpost": f"{KDIR}/scripts/mod/modpost", "apt-cache": "/usr/bin/apt-cache"}
    return FakeSystem(files={**kernel, **files}, programs=programs, **kwargs)


def cargo_module(build_rs: str = GUARD) -> dict[str, FileData]:
    """A module crate whose path dependency's build script holds the guard."""
    return {
        f"{MODULE}/Kbuild": "obj-m := m.o\nm-objs := m.rust.o\n",
        f"{MODULE}/Cargo.toml": '[package]\nname = "m"\n[dependencies]\nglue = { path = "glue" }\n',
        f"{MODULE}/glue/Cargo.toml": '[package]\nname = "glue"\nbuild = "build.rs"\n',
        f"{MODULE}/glue/build.rs": build_rs,
    }


# -- kernel-range -------------------------------------------------------------------------------
def test_a_guard_in_a_path_dependency_rejecting_the_target_fails_with_the_remedy() -> None:
    system = machine(cargo_module(), commands={PKGNAMES: "linux-headers-6.1.0-50-amd64\n"})
    finding = run_check(kernel_range.KernelRangeCheck(), make_context(module_dir=MODULE), system)
    assert finding.status == Status.FAIL and finding.required
    assert finding.found == "glue/build.rs:4"
    assert "accepts only Linux < 6.0" in finding.summary
    assert "Linux 6.1.176" in finding.summary
    [need] = finding.needs
    assert isinstance(need, ByHand)
    assert "Debian 11 (bullseye, Linux 5.10)" in need.why
    assert "archive has none" in need.why
    # Debian's 5.10 series (bullseye) is in range: kdoctor fix --kernel 5.10 fetches it
    assert "`kdoctor fix --kernel 5.10` fetches the headers and image" in need.remedy
    assert "#11" not in need.remedy and "<release>" not in need.remedy
    assert fix_of(finding) is None  # plain kdoctor fix does not repair it: --kernel is a choice
    assert finding.remediation is not None and need.remedy in finding.remediation.text
    assert finding.remediation.commands == ("kdoctor fix --kernel 5.10",)


def test_without_apt_no_debian_series_is_offered() -> None:
    system = machine(cargo_module())
    ctx = make_context(module_dir=MODULE, package_manager="dnf")
    finding = run_check(kernel_range.KernelRangeCheck(), ctx, system)
    assert finding.status == Status.FAIL
    [need] = finding.needs
    assert isinstance(need, ByHand)
    assert "kdoctor fix --kernel <release>` once its headers are on this machine" in need.remedy
    assert finding.remediation is not None and finding.remediation.commands == ()


def test_a_range_no_debian_series_meets_offers_no_fetch() -> None:
    system = machine(
        cargo_module(GUARD.replace("major >= 6", "major < 7")),
        commands={PKGNAMES: "linux-headers-6.1.0-50-amd64\n"},
    )
    finding = run_check(kernel_range.KernelRangeCheck(), make_context(module_dir=MODULE), system)
    assert finding.status == Status.FAIL
    assert "accepts only Linux >= 7.0" in finding.summary
    assert finding.remediation is not None and finding.remediation.commands == ()
    assert "kdoctor fix --kernel <release>" in finding.remediation.text


def test_installed_headers_in_range_are_offered() -> None:
    old = "/lib/modules/5.10.0-30-amd64/build"
    files = {
        **cargo_module(),
        **{f"{old}/{n}": "" for n in ("Makefile", ".config", "Module.symvers")},
        f"{old}/include/config/auto.conf": "",
    }
    system = machine(files)
    system.programs["modpost-old"] = f"{old}/scripts/mod/modpost"
    finding = run_check(kernel_range.KernelRangeCheck(), make_context(module_dir=MODULE), system)
    assert finding.status == Status.FAIL
    assert finding.remediation is not None
    assert finding.remediation.commands == ("kdoctor fix --kernel 5.10.0-30-amd64",)


def test_a_target_in_range_passes() -> None:
    system = machine(cargo_module(GUARD.replace("major >= 6", "major >= 7")))
    finding = run_check(kernel_range.KernelRangeCheck(), make_context(module_dir=MODULE), system)
    assert finding.status == Status.OK
    assert "Linux < 7.0" in finding.summary
    assert system.calls == []  # the package manager is asked only when nothing fits


def test_an_unreadable_guard_is_an_advisory_warning() -> None:
    unreadable = GUARD.replace("major >= 6", "major >= 6 && minor > 0")
    system = machine(cargo_module(unreadable))
    finding = run_check(kernel_range.KernelRangeCheck(), make_context(module_dir=MODULE), system)
    assert finding.status == Status.WARN and not finding.required
    assert finding.summary.startswith("could not read the range: glue/build.rs:4")


def test_no_build_script_no_range() -> None:
    files = {f"{MODULE}/Kbuild": "obj-m := m.o\n", f"{MODULE}/m.c": ""}
    finding = run_check(
        kernel_range.KernelRangeCheck(), make_context(module_dir=MODULE), machine(files)
    )
    assert finding.status == Status.SKIP and not finding.required


# -- compiler-family ----------------------------------------------------------------------------
def c_module(makefile: str, kbuild: str = "obj-m := hello.o\n") -> dict[str, FileData]:
    return {
        f"{MODULE}/Kbuild": kbuild,
        f"{MODULE}/Makefile": makefile,
        f"{MODULE}/hello.c": "int x;\n",
    }


FORCED = "all:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR) CC=clang CONFIG_CC_IS_CLANG=y modules\n"


def test_clang_forced_on_a_gcc_kernel_fails_with_consequence_and_remedy() -> None:
    system = machine(c_module(FORCED))
    finding = run_check(
        compiler_family.CompilerFamilyCheck(), make_context(module_dir=MODULE), system
    )
    assert finding.status == Status.FAIL
    assert finding.found == "Makefile:2"
    assert "`CC=clang CONFIG_CC_IS_CLANG=y`" in finding.summary
    assert "hello.mod.o" in finding.summary
    assert "unknown argument: '-mfunction-return=thunk-extern'" in finding.summary
    assert finding.remediation is not None
    assert "Remove `CC=clang CONFIG_CC_IS_CLANG=y` from Makefile:2" in finding.remediation.text
    assert "CC=gcc-12" in finding.remediation.text
    [need] = finding.needs
    assert isinstance(need, ByHand) and "does not edit it" in need.why


def test_gcc_forced_on_a_clang_kernel_fails_too() -> None:
    system = machine(
        c_module("all:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR)\n", "obj-m := hello.o\nCC = gcc\n")
    )
    system.files[f"{KDIR}/.config"] = CLANG_CONFIG
    finding = run_check(
        compiler_family.CompilerFamilyCheck(), make_context(module_dir=MODULE), system
    )
    assert finding.status == Status.FAIL
    assert finding.found == "Kbuild:2"
    assert "CC=clang" in (finding.remediation.text if finding.remediation else "")


@pytest.mark.parametrize(
    ("makefile", "summary"),
    [
        ("all:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR) modules\n", "force no compiler"),
        ("all:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR) CC=gcc-12\n", "agree with the kernel's"),
    ],
)
def test_no_override_or_the_kernels_own_family_passes(makefile: str, summary: str) -> None:
    finding = run_check(
        compiler_family.CompilerFamilyCheck(),
        make_context(module_dir=MODULE),
        machine(c_module(makefile)),
    )
    assert finding.status == Status.OK
    assert summary in finding.summary


PLAIN = "all:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR) modules\n"


def test_clang_as_cc_from_the_environment_fails_as_the_persons_to_unset() -> None:
    """kdoctor build passes CC to make, and a command-line CC reaches kbuild whatever the
    module's files say: on a gcc-built kernel it fails the first C object."""
    system = machine(c_module(PLAIN), env={"PATH": "/usr/bin", "CC": "clang-14"})
    ctx = make_context(module_dir=MODULE, env={"CC": "clang-14"})
    finding = run_check(compiler_family.CompilerFamilyCheck(), ctx, system)
    assert finding.status == Status.FAIL and finding.required
    assert finding.found == "the environment"
    assert finding.summary.startswith(
        "the environment forces `CC=clang-14` (passed to make by kdoctor build) on 6.1.0-56-amd64"
    )
    assert "unknown argument: '-mfunction-return=thunk-extern'" in finding.summary
    remedy = (
        "CC=clang-14 comes from your environment: unset it (`unset CC`) (kbuild then uses the "
        "kernel's compiler), or set CC=gcc-12."
    )
    assert finding.remediation is not None and finding.remediation.text == remedy
    [need] = finding.needs
    assert isinstance(need, ByHand) and need.remedy == remedy
    plan = make_plan(Facts(ctx, system), Report(ctx, (finding,), 0.0))
    assert plan.empty and any(remedy in note for note in plan.notes)  # fix says the same


def test_clang_as_cc_and_llvm_in_kdoctors_settings_are_removed_by_fix() -> None:
    system = machine(c_module(PLAIN))
    ctx = make_context(module_dir=MODULE, env={"CC": "clang-14", "LLVM": "1"})
    finding = run_check(compiler_family.CompilerFamilyCheck(), ctx, system)
    assert finding.status == Status.FAIL
    assert finding.found == "kdoctor's settings file /root/.config/kdoctor/env"
    assert "`CC=clang-14 LLVM=1`" in finding.summary
    assert finding.needs == (Setting("CC", None), Setting("LLVM", None))
    assert fix_of(finding) == "settings"
    assert finding.remediation is not None
    assert finding.remediation.commands == ("unset CC LLVM",)
    assert "kdoctor fix removes it from there" in finding.remediation.text


def test_the_kernels_own_family_from_the_environment_passes() -> None:
    system = machine(c_module(PLAIN), env={"PATH": "/usr/bin", "CC": "gcc-12"})
    ctx = make_context(module_dir=MODULE, env={"CC": "gcc-12"})
    finding = run_check(compiler_family.CompilerFamilyCheck(), ctx, system)
    assert finding.status == Status.OK
    assert finding.summary.startswith("`CC=gcc-12` (the environment) agree with")


# -- rust-for-linux -----------------------------------------------------------------------------
RFL = {
    f"{MODULE}/Kbuild": "obj-m := rust_out_of_tree.o\n",
    f"{MODULE}/rust_out_of_tree.rs": "use kernel::prelude::*;\n",
}
RUST_MAKEFILE = "KBUILD_RUSTFLAGS := --target=$(objtree)/rust/target.json\n"
RUST_BUILD = "rust_common_cmd = $(RUSTC) --extern alloc --extern kernel -L $(objtree)/rust/\n"
ARTEFACTS = ("rust/target.json", "rust/liballoc.rmeta", "rust/libcore.rmeta", "rust/libmacros.so")


def rust_kernel(rustc: str = "1.78.0") -> FakeSystem:
    files: dict[str, FileData] = {
        **RFL,
        f"{KDIR}/scripts/Makefile.build": RUST_BUILD,
        **{f"{KDIR}/{name}": "" for name in ARTEFACTS},
        f"{KDIR}/rust/libkernel.rmeta": b"rust\x00\x00\x00\x08rustc " + rustc.encode() + b" (x)",
    }
    system = machine(files)
    system.files[f"{KDIR}/Makefile"] = RUST_MAKEFILE
    system.files[f"{KDIR}/.config"] = GCC_CONFIG + "CONFIG_RUST=y\n"
    return system


def toolchain(version: Optional[str]) -> RustToolchain:
    return RustToolchain("env", "/usr/bin/rustc", version, None, None, None, None, {}, "", True)


def test_other_kinds_of_module_are_skipped() -> None:
    finding = run_check(
        rust_for_linux.RustForLinuxCheck(), make_context(module_dir=MODULE), machine(c_module(""))
    )
    assert finding.status == Status.SKIP and "kind: c" in finding.summary


def test_a_kernel_without_rust_fails_naming_the_real_options() -> None:
    """The person chose the kernel (--kernel): kdoctor never switches it, it says how."""
    system = machine(RFL)
    ctx = make_context(module_dir=MODULE, target_source=TargetSource.OPTION)
    finding = run_check(rust_for_linux.RustForLinuxCheck(), ctx, system)
    assert finding.status == Status.FAIL
    assert "built without Rust support" in finding.summary
    assert "CONFIG_RUST is not set" in finding.summary
    assert "CONFIG_HAVE_RUST=y only says" in finding.summary
    assert "no rust/ directory" in finding.summary
    text = finding.remediation.text if finding.remediation else ""
    assert "kernel with CONFIG_RUST=y" in text
    assert "ships the Rust artefacts" in text
    assert "kbuild-rustc style of the bundled module" in text and bundled_module_dir() in text
    assert "kdoctor fix --kernel 6.12+rust" in text
    assert isinstance(finding.needs[0], ByHand)


def test_a_kernel_kdoctor_chose_without_rust_needs_its_rust_enabled_kernel() -> None:
    """The running kernel (or one kdoctor persisted): fix may switch to its Rust-enabled one, and
    the remedy says what that costs."""
    system = machine(RFL)
    finding = run_check(rust_for_linux.RustForLinuxCheck(), make_context(module_dir=MODULE), system)
    assert finding.status == Status.FAIL
    assert "CONFIG_RUST is not set" in finding.summary
    assert "kdoctor fix builds for its Rust-enabled kernel 6.12+rust" in finding.summary
    assert finding.needs == (RustEnabledKernel("6.12+rust"),)
    text = finding.remediation.text if finding.remediation else ""
    assert "kernel with CONFIG_RUST=y" in text and "linux-source-6.12" in text
    assert "MB to download" in text and "GB of disk" in text


LIB_RUST = "linux-lib-rust-6.1.0-56-amd64"
KNOWN = f"{LIB_RUST}:\n  Installed: (none)\n  Candidate: 6.1.0-56.1\n"


def test_missing_artefacts_fail_by_name() -> None:
    system = rust_kernel()
    system.commands.update(apt_unknown(LIB_RUST))  # Debian: no package ships them
    del system.files[f"{KDIR}/rust/libmacros.so"]
    finding = run_check(rust_for_linux.RustForLinuxCheck(), make_context(module_dir=MODULE), system)
    assert finding.status == Status.FAIL
    assert "lacks rust/libmacros.so" in finding.summary
    assert isinstance(finding.needs[0], ByHand)


def test_artefacts_the_distribution_ships_are_installed_by_the_packages_planner() -> None:
    """Ubuntu puts a kernel's Rust artefacts into linux-lib-rust-<release>, beside its headers:
    the packages planner installs it in the plan's one transaction."""
    system = rust_kernel()
    system.commands[f"apt-cache policy {LIB_RUST}"] = KNOWN
    del system.files[f"{KDIR}/rust/libmacros.so"]
    ubuntu = DistroInfo("ubuntu", "24.04", "Ubuntu 24.04", ("debian",), "noble")
    ctx = make_context(module_dir=MODULE, distro=ubuntu)
    finding = run_check(rust_for_linux.RustForLinuxCheck(), ctx, system)
    assert finding.status == Status.FAIL and "lacks rust/libmacros.so" in finding.summary
    assert finding.needs == (Package("rust-artefacts", (LIB_RUST,)),)
    assert fix_of(finding) == "packages"
    plan = make_plan(Facts(ctx, system), Report(ctx, tuple(routed([finding])), 0.0))
    install = plan.steps[-1]  # after refreshing the (fake machine's missing) package lists
    assert install.fix == "packages" and install.argv[:2] == ("apt-get", "install")
    assert install.argv[-1] == LIB_RUST and "rust-for-linux needs" in install.why


def test_the_kernels_rustc_must_be_the_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rust_for_linux, "rust_toolchain", lambda facts: toolchain("1.96.0"))
    monkeypatch.setattr(rust_for_linux, "bindgen_version", lambda facts: None)
    finding = run_check(
        rust_for_linux.RustForLinuxCheck(), make_context(module_dir=MODULE), rust_kernel()
    )
    assert finding.status == Status.FAIL
    assert "compiled by rustc 1.78.0 (rust/libkernel.rmeta)" in finding.summary
    assert "would use rustc 1.96.0" in finding.summary
    assert "rustup toolchain install 1.78.0" in (
        finding.remediation.text if finding.remediation else ""
    )


def test_a_rust_kernel_with_its_rustc_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rust_for_linux, "rust_toolchain", lambda facts: toolchain("1.78.0"))
    monkeypatch.setattr(rust_for_linux, "bindgen_version", lambda facts: None)
    finding = run_check(
        rust_for_linux.RustForLinuxCheck(), make_context(module_dir=MODULE), rust_kernel()
    )
    assert finding.status == Status.OK, finding.summary


# -- the plan says why ----------------------------------------------------------------------
def test_fix_says_why_it_cannot_instead_of_planning_nothing_silently() -> None:
    ctx = make_context(module_dir=MODULE)
    system = machine(c_module(FORCED))
    finding = run_check(compiler_family.CompilerFamilyCheck(), ctx, system)
    plan = make_plan(Facts(ctx, system), Report(ctx, (finding,), 0.0))
    assert plan.empty
    [note] = [n for n in plan.notes if n.startswith("compiler-family:")]
    assert "kdoctor fix cannot repair this" in note
    assert "is the module's own file and kdoctor does not edit it" in note
    assert "Remove `CC=clang CONFIG_CC_IS_CLANG=y` from Makefile:2" in note
    assert routed([finding])[0].to_json()["fix"] is None  # as the diagnosis writes it
    assert finding.to_json()["needs"][0]["kind"] == "by-hand"
