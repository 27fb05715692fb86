from __future__ import annotations

from typing import Optional

from kdoctor.checks.clang import ClangCheck
from kdoctor.fixes.by_hand import note_of
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.model.need import ByHand, Setting
from kdoctor.pipeline.planner import fix_of
from tests.conftest import KDIR, make_context, run_check
from tests.fake_system import FakeSystem, Reply

DEBIAN_14 = "Debian clang version 14.0.6\nTarget: x86_64-pc-linux-gnu\n"
UBUNTU_8 = "clang version 8.0.1-9 (tags/RELEASE_801/final)\nTarget: x86_64-pc-linux-gnu\n"
UBUNTU_10 = "clang version 10.0.0-4ubuntu1\nTarget: x86_64-pc-linux-gnu\n"
UBUNTU_18 = "Ubuntu clang version 18.1.3 (1ubuntu1)\nTarget: x86_64-pc-linux-gnu\n"


def run(system: FakeSystem, **ctx: object) -> Finding:
    return run_check(ClangCheck(), make_context(**ctx), system)


def test_good_default_clang_passes() -> None:
    system = FakeSystem(
        programs={"clang": "/usr/bin/clang"}, commands={"/usr/bin/clang --version": DEBIAN_14}
    )
    assert run(system) == Finding(
        id="clang",
        status=Status.OK,
        summary="clang 14.0.6 (chosen by default)",
        found="14.0.6 (/usr/bin/clang)",
        facts={"path": "/usr/bin/clang", "version": "14.0.6", "source": "default"},
    )


def test_too_old_clang_names_good_versioned_one_on_path() -> None:
    system = FakeSystem(
        programs={"clang": "/usr/bin/clang", "clang-18": "/usr/bin/clang-18"},
        dirs={"/usr/bin": ["clang", "clang-18", "clang-format"]},
        commands={"/usr/bin/clang --version": UBUNTU_8, "/usr/bin/clang-18 --version": UBUNTU_18},
    )
    finding = run(system)
    assert finding.status is Status.FAIL
    assert (
        finding.summary
        == "clang 8.0.1 is too old (no asm goto support); clang-18 on PATH is good enough"
    )
    assert fix_of(finding) == "settings"
    # the kernel's compiler is unknown (no .config): CLANG only, never CC
    assert finding.remediation == Remediation(
        "Build with clang-18: set CLANG for the module build.",
        (
            "export CLANG=clang-18",
            "kdoctor fix   # persists the choice for kdoctor build",
        ),
    )
    assert finding.facts["candidate"] == "/usr/bin/clang-18"


def test_clang_10_warns_and_recommends_11() -> None:
    system = FakeSystem(
        programs={"clang": "/usr/bin/clang"}, commands={"/usr/bin/clang --version": UBUNTU_10}
    )
    finding = run(system)
    assert finding.status is Status.WARN
    assert finding.summary == "clang 10.0.0 works, 11 or newer is recommended"
    assert fix_of(finding) == "packages"


def test_clang_env_wins_over_cc_and_default() -> None:
    system = FakeSystem(
        programs={
            "clang": "/usr/bin/clang",
            "clang-15": "/opt/bin/clang-15",
            "gcc": "/usr/bin/gcc",
        },
        commands={"/opt/bin/clang-15 --version": "clang version 15.0.7\n"},
    )
    finding = run(system, env={"CLANG": "clang-15", "CC": "gcc"})
    assert finding.status is Status.OK
    assert finding.facts["source"] == "CLANG"
    assert finding.found == "15.0.7 (/opt/bin/clang-15)"


def test_cc_used_only_when_it_is_clang() -> None:
    system = FakeSystem(
        programs={
            "clang": "/usr/bin/clang",
            "gcc": "/usr/bin/gcc",
            "clang-16": "/usr/bin/clang-16",
        },
        commands={
            "gcc --version": "gcc (Debian 12.2.0-14) 12.2.0\n",
            "clang-16 --version": "clang version 16.0.6\n",
            "/usr/bin/clang --version": DEBIAN_14,
            "/usr/bin/clang-16 --version": "clang version 16.0.6\n",
        },
    )
    assert run(system, env={"CC": "gcc"}).facts["source"] == "default"
    assert run(system, env={"CC": "ccache clang-16"}).facts["source"] == "CC"


def test_missing_clang_fails_with_install_command() -> None:
    finding = run(FakeSystem(programs={}), is_root=False)
    assert finding.status is Status.FAIL
    assert finding.summary == "clang (default) is not installed"
    assert finding.remediation is not None
    assert finding.remediation.commands == (
        "sudo apt-get install -y --no-install-recommends clang",
    )


def test_garbled_version_output_fails_clearly() -> None:
    system = FakeSystem(
        programs={"clang": "/usr/bin/clang"},
        commands={"/usr/bin/clang --version": "\x00\x01garbage"},
    )
    finding = run(system)
    assert finding.status is Status.FAIL
    assert "unrecognised --version output" in finding.summary


def test_hung_clang_is_reported_as_timeout() -> None:
    system = FakeSystem(
        programs={"clang": "/usr/bin/clang"},
        commands={"/usr/bin/clang --version": Reply(timed_out=True)},
    )
    finding = run(system)
    assert finding.status is Status.FAIL
    assert "did not answer within" in finding.summary


def test_kernel_min_tool_version_raises_the_floor() -> None:
    script = (
        'case "$1" in\nllvm)\n\tif [ "$SRCARCH" = s390 -o "$SRCARCH" = x86 ]; then\n'
        "\t\techo 15.0.0\n"
        '\telif [ "$SRCARCH" = loongarch ]; then\n\t\techo 18.0.0\n'
        "\telse\n\t\techo 13.0.1\n\tfi\n\t;;\nesac\n"
    )
    system = FakeSystem(
        programs={"clang": "/usr/bin/clang"},
        commands={"/usr/bin/clang --version": DEBIAN_14},
        files={f"{KDIR}/scripts/min-tool-version.sh": script},
    )
    finding = run(system)
    assert finding.status is Status.FAIL
    assert finding.summary == "clang 14.0.6 is too old (target kernel needs ≥ 15.0.0)"


# -- what a switch to a better clang persists, and whose variable it is -----------------------
GCC_KERNEL = 'CONFIG_CC_VERSION_TEXT="gcc-12 (Debian 12.2.0-14) 12.2.0"\nCONFIG_CC_IS_GCC=y\n'
CLANG_KERNEL = 'CONFIG_CC_VERSION_TEXT="Debian clang version 16.0.6"\nCONFIG_CC_IS_CLANG=y\n'


def old_clang_and_18(
    config: str = "", env: Optional[dict[str, str]] = None, default: bool = True
) -> FakeSystem:
    """clang 8 as ``clang`` (unless not ``default``), clang 18 on PATH as ``clang-18``."""
    programs = {"clang-18": "/usr/bin/clang-18"}
    commands = {"/usr/bin/clang-18 --version": UBUNTU_18}
    if default:
        programs["clang"] = "/usr/bin/clang"
        commands["/usr/bin/clang --version"] = UBUNTU_8
    return FakeSystem(
        programs=programs,
        dirs={"/usr/bin": list(programs)},
        commands=commands,
        files={f"{KDIR}/.config": config} if config else {},
        env={"PATH": "/usr/bin", **(env or {})},
    )


def test_on_a_gcc_kernel_only_clang_is_persisted_never_cc() -> None:
    """kbuild compiles the module's C code with CC and the gcc-built kernel's flags: clang as
    CC stops on -mfunction-return=thunk-extern, so the switch is bindgen's CLANG only."""
    finding = run(old_clang_and_18(GCC_KERNEL))
    assert finding.needs == (Setting("CLANG", "clang-18"),)
    assert finding.remediation == Remediation(
        "Build with clang-18: set CLANG for bindgen; CC stays the kernel's compiler (the kernel "
        "was built with gcc).",
        ("export CLANG=clang-18", "kdoctor fix   # persists the choice for kdoctor build"),
    )


def test_on_a_clang_kernel_cc_and_clang_are_persisted() -> None:
    finding = run(old_clang_and_18(CLANG_KERNEL))
    assert finding.needs == (Setting("CC", "clang-18"), Setting("CLANG", "clang-18"))
    assert finding.remediation is not None
    assert finding.remediation.text == "Build with clang-18: set CC and CLANG for the module build."


def test_clang_from_the_environment_pointing_nowhere_is_the_persons_to_correct() -> None:
    system = old_clang_and_18(GCC_KERNEL, env={"CLANG": "/nonexistent"}, default=False)
    finding = run(system, env={"CLANG": "/nonexistent"})
    assert finding.status is Status.FAIL
    assert finding.summary == (
        "CLANG=/nonexistent (from the environment) is not installed; clang-18 on PATH is good "
        "enough"
    )
    remedy = (
        "CLANG=/nonexistent comes from your environment: unset it (`unset CLANG`), or set "
        "CLANG=clang-18."
    )
    assert finding.remediation == Remediation(remedy, ())
    [need] = finding.needs
    assert isinstance(need, ByHand) and need.remedy == remedy  # fix --dry-run's note says it
    assert note_of(need) == (
        "clang: kdoctor fix cannot repair this: CLANG is set in your environment, which kdoctor "
        f"does not change. {remedy}"
    )
    assert fix_of(finding) is None  # nothing kdoctor persists would win over the environment


def test_clang_from_kdoctors_settings_pointing_nowhere_is_corrected_there() -> None:
    finding = run(old_clang_and_18(GCC_KERNEL, default=False), env={"CLANG": "/nonexistent"})
    assert finding.summary.startswith(
        "CLANG=/nonexistent (from kdoctor's settings file /root/.config/kdoctor/env) is not "
        "installed"
    )
    assert finding.needs == (Setting("CLANG", "clang-18"),)
    assert fix_of(finding) == "settings"


def test_clang_from_the_environment_and_no_clang_at_all_installs_one_and_says_unset() -> None:
    system = FakeSystem(programs={}, env={"PATH": "/usr/bin", "CLANG": "clang-13"})
    finding = run(system, env={"CLANG": "clang-13"}, is_root=False)
    assert finding.summary == "CLANG=clang-13 (from the environment) is not installed"
    kinds = [n.kind for n in finding.needs]
    assert kinds == ["package", "by-hand"]
    assert finding.remediation is not None
    assert finding.remediation.text == (
        "Install clang 11 or newer from your distribution. CLANG=clang-13 comes from your "
        "environment: unset it (`unset CLANG`)."
    )
