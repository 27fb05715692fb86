from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

import pytest

from kdoctor.checks.build_tools import BuildToolsCheck
from kdoctor.model.context import DistroInfo
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.model.need import Setting
from kdoctor.pipeline.planner import fix_of
from tests.conftest import KDIR, make_context, run_check
from tests.fake_system import Answer, FakeSystem, Reply

DEBIAN_CONFIG = (
    "#\n# Automatically generated file; DO NOT EDIT.\n"
    'CONFIG_CC_VERSION_TEXT="gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0"\n'
    "CONFIG_CC_IS_GCC=y\nCONFIG_GCC_VERSION=120200\nCONFIG_CLANG_VERSION=0\n"
    "CONFIG_LD_IS_BFD=y\nCONFIG_LD_VERSION=24000\n"
)
GCC_12 = "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0\nCopyright (C) 2022 Free Software Foundation\n"
GCC = "gcc (Debian 12.2.0-14+deb12u1) 12.2.0\nCopyright (C) 2022 Free Software Foundation\n"
MAKE = "GNU Make 4.3\nBuilt for x86_64-pc-linux-gnu\n"
LD = "GNU ld (GNU Binutils for Debian) 2.40\nCopyright (C) 2023 Free Software Foundation, Inc.\n"

ALL = {
    "make": "/usr/bin/make",
    "gcc-12": "/usr/bin/gcc-12",
    "gcc": "/usr/bin/gcc",
    "ld": "/usr/bin/ld",
}
ANSWERS: dict[str, Answer] = {
    "/usr/bin/make --version": MAKE,
    "/usr/bin/gcc-12 --version": GCC_12,
    "/usr/bin/gcc --version": GCC,
    "/usr/bin/ld --version": LD,
}


def machine(
    programs: Optional[Mapping[str, str]] = None,
    answers: Optional[Mapping[str, Answer]] = None,
    config: Optional[str] = DEBIAN_CONFIG,
) -> FakeSystem:
    return FakeSystem(
        programs=ALL if programs is None else programs,
        maybe=ANSWERS,
        commands=answers,
        files={f"{KDIR}/.config": config} if config is not None else {},
    )


def run(system: FakeSystem, **ctx: object) -> Finding:
    return run_check(BuildToolsCheck(), make_context(**ctx), system)


def test_debian_kernel_compiler_present_and_matching() -> None:
    assert run(machine()) == Finding(
        id="build-tools",
        status=Status.OK,
        summary="make 4.3, gcc-12 12.2.0 (as the kernel), ld 2.40",
        found="gcc-12 12.2.0 (/usr/bin/gcc-12)",
        facts={
            "make": "/usr/bin/make",
            "make_version": "4.3",
            "cc": "gcc-12",
            "cc_path": "/usr/bin/gcc-12",
            "cc_version": "12.2.0",
            "cc_text": "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0",
            "kernel_cc_text": "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0",
            "kernel_cc_version": "12.2.0",
            "ld": "/usr/bin/ld",
            "ld_version": "2.40",
            "missing": [],
            "packages": [],
            "package_values": {},
        },
    )


def test_missing_gcc_12_fails_with_the_versioned_package() -> None:
    programs = {k: v for k, v in ALL.items() if k != "gcc-12"}
    finding = run(machine(programs))
    assert finding.status is Status.FAIL
    assert finding.summary == "not installed: gcc-12 (the target kernel was built with gcc-12)"
    assert fix_of(finding) == "packages"
    assert finding.found is None
    assert finding.remediation == Remediation(
        "Install the missing build tools.",
        ("apt-get install -y --no-install-recommends gcc-12",),
    )
    assert finding.facts["missing"] == ["gcc-n"]
    assert finding.facts["packages"] == ["gcc-12"]
    assert finding.facts["package_values"] == {"n": 12}
    assert finding.facts["cc"] == "gcc-12"
    assert finding.facts["cc_path"] is None
    assert finding.facts["kernel_cc_text"] == "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0"


def test_everything_missing_as_a_user_needs_sudo_and_three_packages() -> None:
    finding = run(machine(programs={}), is_root=False)
    assert finding.status is Status.FAIL
    assert finding.summary == (
        "not installed: make, gcc-12, ld (the target kernel was built with gcc-12)"
    )
    assert finding.remediation is not None
    assert finding.remediation.commands == (
        "sudo apt-get install -y --no-install-recommends make gcc-12 binutils",
    )
    assert finding.facts["missing"] == ["make", "gcc-n", "binutils"]
    assert finding.facts["packages"] == ["make", "gcc-12", "binutils"]


def test_compiler_version_differs_from_the_kernels_warns() -> None:
    newer = "gcc-12 (Debian 12.3.0-1) 12.3.0\n"
    finding = run(machine(answers={"/usr/bin/gcc-12 --version": newer}))
    assert finding.status is Status.WARN
    assert finding.summary == (
        "gcc-12 is 12.3.0 but the kernel was built with 12.2.0: the module builds and loads, "
        "kbuild warns about the mismatch"
    )
    assert fix_of(finding) is None
    assert finding.remediation == Remediation(
        "For an exact match install the compiler that built the kernel "
        "(gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0); usually the warning is harmless."
    )
    assert finding.facts["cc_version"] == "12.3.0"
    assert finding.facts["kernel_cc_version"] == "12.2.0"


def test_same_version_different_packaging_is_ok() -> None:
    # kbuild compares the whole text (Debian turns that off); the version is what matters
    other_build = "gcc-12 (Debian 12.2.0-14) 12.2.0\n"
    finding = run(machine(answers={"/usr/bin/gcc-12 --version": other_build}))
    assert finding.status is Status.OK
    assert finding.facts["cc_text"] == "gcc-12 (Debian 12.2.0-14) 12.2.0"


def test_without_headers_the_kernel_compiler_is_unknown_and_plain_gcc_is_checked() -> None:
    programs = {k: v for k, v in ALL.items() if k != "gcc-12"}
    finding = run(machine(programs, config=None), target_kernel="6.18.44-fc-v782")
    assert finding.status is Status.OK
    assert finding.summary == (
        "make 4.3, gcc 12.2.0, ld 2.40; the kernel's compiler is unknown until headers for "
        "6.18.44-fc-v782 are installed (see kernel-headers)"
    )
    assert finding.found == "gcc 12.2.0 (/usr/bin/gcc)"
    assert finding.facts["cc"] == "gcc"
    assert finding.facts["kernel_cc_text"] is None
    assert finding.facts["kernel_cc_version"] is None


def test_without_headers_and_without_gcc_installs_plain_gcc() -> None:
    finding = run(machine({"make": "/usr/bin/make", "ld": "/usr/bin/ld"}, config=None))
    assert finding.status is Status.FAIL
    assert finding.summary == "not installed: gcc"
    assert finding.remediation is not None
    assert finding.remediation.commands == ("apt-get install -y --no-install-recommends gcc",)
    assert finding.facts["missing"] == ["gcc"]
    assert finding.facts["package_values"] == {}


def test_ubuntu_kernel_names_the_triplet_compiler() -> None:
    config = (
        'CONFIG_CC_VERSION_TEXT="x86_64-linux-gnu-gcc-13 (Ubuntu 13.2.0-23ubuntu4) 13.2.0"\n'
        "CONFIG_CC_IS_GCC=y\nCONFIG_GCC_VERSION=130200\n"
    )
    programs = {**ALL, "x86_64-linux-gnu-gcc-13": "/usr/bin/x86_64-linux-gnu-gcc-13"}
    answers = {
        "/usr/bin/x86_64-linux-gnu-gcc-13 --version": (
            "x86_64-linux-gnu-gcc-13 (Ubuntu 13.2.0-23ubuntu4) 13.2.0\n"
        )
    }
    finding = run(machine(programs, answers, config))
    assert finding.status is Status.OK
    assert finding.summary == "make 4.3, x86_64-linux-gnu-gcc-13 13.2.0 (as the kernel), ld 2.40"
    assert finding.facts["cc"] == "x86_64-linux-gnu-gcc-13"

    missing = run(machine(ALL, config=config))  # no gcc-13 to ask
    assert missing.status is Status.FAIL
    assert missing.facts["missing"] == ["gcc-n"]
    assert missing.facts["packages"] == ["gcc-13"]


def test_fedora_kernel_uses_plain_gcc_and_dnf() -> None:
    config = (
        'CONFIG_CC_VERSION_TEXT="gcc (GCC) 14.2.1 20240912 (Red Hat 14.2.1-3)"\n'
        "CONFIG_CC_IS_GCC=y\nCONFIG_GCC_VERSION=140201\n"
    )
    finding = run(
        machine({"make": "/usr/bin/make", "ld": "/usr/bin/ld"}, config=config),
        distro=DistroInfo("fedora", "41", "Fedora Linux 41"),
        package_manager="dnf",
    )
    assert finding.status is Status.FAIL
    assert finding.summary == "not installed: gcc (the target kernel was built with gcc)"
    assert finding.remediation is not None
    assert finding.remediation.commands == ("dnf install -y gcc",)
    assert finding.facts["kernel_cc_version"] == "14.2.1"


def test_old_config_without_version_text_uses_the_number() -> None:
    config = "CONFIG_CC_IS_GCC=y\nCONFIG_GCC_VERSION=120200\n"
    finding = run(machine(config=config))
    assert finding.status is Status.OK
    assert finding.summary == "make 4.3, gcc 12.2.0 (as the kernel), ld 2.40"
    assert finding.facts["kernel_cc_text"] is None
    assert finding.facts["kernel_cc_version"] == "12.2.0"


def test_clang_built_kernel_checks_clang_and_lld() -> None:
    config = (
        'CONFIG_CC_VERSION_TEXT="Ubuntu clang version 18.1.3 (1ubuntu1)"\n'
        "CONFIG_CC_IS_CLANG=y\nCONFIG_CLANG_VERSION=180103\nCONFIG_LD_IS_LLD=y\n"
    )
    programs = {**ALL, "clang": "/usr/bin/clang", "ld.lld": "/usr/bin/ld.lld"}
    answers = {
        "/usr/bin/clang --version": "Ubuntu clang version 18.1.3 (1ubuntu1)\nTarget: x86_64\n",
        "/usr/bin/ld.lld --version": "Ubuntu LLD 18.1.3 (compatible with GNU linkers)\n",
    }
    finding = run(machine(programs, answers, config))
    assert finding.status is Status.OK
    assert finding.summary == "make 4.3, clang 18.1.3 (as the kernel), ld.lld 18.1.3"
    assert finding.facts["cc"] == "clang"
    assert finding.facts["ld"] == "/usr/bin/ld.lld"

    clang_only = {"/usr/bin/clang --version": answers["/usr/bin/clang --version"]}
    without_lld = run(machine({**ALL, "clang": "/usr/bin/clang"}, clang_only, config))
    assert without_lld.status is Status.FAIL
    assert without_lld.summary == "not installed: ld.lld"
    assert without_lld.facts["missing"] == ["lld"]
    assert without_lld.remediation is not None
    assert without_lld.remediation.commands == ("apt-get install -y --no-install-recommends lld",)


def test_clang_kernel_follows_the_clang_env_choice() -> None:
    config = 'CONFIG_CC_VERSION_TEXT="Debian clang version 14.0.6"\nCONFIG_CC_IS_CLANG=y\n'
    finding = run(machine(ALL, config=config), env={"CLANG": "clang-14"})
    assert finding.status is Status.FAIL
    assert finding.summary == "not installed: clang-14 (the target kernel was built with clang-14)"
    assert finding.facts["missing"] == ["clang-n"]
    assert finding.facts["packages"] == ["clang-14"]


def test_tool_that_does_not_run_fails_without_a_package_fix() -> None:
    finding = run(
        machine(
            answers={"/usr/bin/make --version": Reply(stderr="Segmentation fault", exit_code=139)}
        )
    )
    assert finding.status is Status.FAIL
    assert finding.summary == "/usr/bin/make exited with status 139: Segmentation fault"
    assert fix_of(finding) is None
    assert finding.remediation is not None
    assert finding.remediation.text == (
        "These tools are on PATH but do not run; reinstall their packages or fix PATH: "
        "make (/usr/bin/make)."
    )
    assert finding.facts["missing"] == []


def test_hung_linker_is_reported() -> None:
    finding = run(machine(answers={"/usr/bin/ld --version": Reply(timed_out=True)}))
    assert finding.status is Status.FAIL
    assert finding.summary == "/usr/bin/ld did not answer within 10 s (killed)"


@pytest.mark.parametrize(
    ("banner", "said"), [("bmake 20220208\n", "printed 'bmake 20220208'"), ("", "printed nothing")]
)
def test_a_make_whose_version_cannot_be_read_is_present_but_a_warning(
    banner: str, said: str
) -> None:
    finding = run(machine(answers={"/usr/bin/make --version": banner}))
    assert finding.status is Status.WARN  # present (nothing to install), but not vouched for
    assert finding.summary == f"could not read the version of make: make (/usr/bin/make) {said}"
    assert finding.facts["make_version"] is None and finding.facts["missing"] == []


def test_a_cc_naming_nothing_is_the_cause_and_its_origin_says_whose_to_correct() -> None:
    """kdoctor build passes CC to make, so kbuild compiles with it whatever kernel it is: CC
    pointing nowhere fails, never a package to install for it."""
    system = machine()
    system.env = {"PATH": "/usr/bin", "CC": "/nonexistent"}
    mine = run(system, env={"CC": "/nonexistent"})
    assert (mine.status, mine.required, fix_of(mine)) == (Status.FAIL, True, None)
    assert mine.summary == (
        "CC=/nonexistent (from the environment) is not installed: kbuild would compile the "
        "module with it"
    )
    assert mine.remediation == Remediation(
        "CC=/nonexistent comes from your environment: unset it (`unset CC`) (kbuild then uses "
        "the kernel's compiler), or set CC=gcc-12.",
        (),
    )
    assert [n.kind for n in mine.needs] == ["by-hand"]
    # in kdoctor's settings file it is kdoctor's to remove
    kept = run(machine(), env={"CC": "/nonexistent"})
    assert fix_of(kept) == "settings" and kept.needs == (Setting("CC", None),)


def test_a_cc_of_the_kernels_family_from_the_environment_is_the_compiler_checked() -> None:
    system = machine()
    system.env = {"PATH": "/usr/bin", "CC": "gcc"}
    finding = run(system, env={"CC": "gcc"})
    assert finding.status is Status.OK
    assert finding.facts["cc"] == "gcc" and finding.facts["cc_path"] == "/usr/bin/gcc"
